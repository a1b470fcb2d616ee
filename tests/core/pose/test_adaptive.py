"""Adaptive frame rate (skipped frames interpolated) and overlay segments written by workers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import core.pose.estimate as pose
from core.pose.overlay import SegmentWriter, join_segments
from core.pose.video import iter_frames, probe_video
from core.skeleton import NUM_JOINTS

SIZE = (200, 100)  # (width, height) of the synthetic frames


def _one_person(n: int, step_px: float) -> pose.Candidates:
    """A 100 px tall person that moves ``step_px`` to the right each frame."""
    c = pose.Candidates.empty(n, 2)
    ys = np.linspace(0.0, 1.0, NUM_JOINTS, dtype=np.float32)  # body spans the frame height
    for t in range(n):
        c.image[t, 0, :, 0] = 0.25 + t * step_px / SIZE[0]
        c.image[t, 0, :, 1] = ys
        c.world[t, 0, :, 0] = t * 0.01
        c.visibility[t, 0] = 0.9
    c.count[:] = 1
    return c


def test_slower_motion_skips_more_frames_fast_motion_none() -> None:
    """k frames are skipped while the limbs move under skip_speed / k body sizes a frame."""
    tau = 0.03
    for step_px, skip in ((0.5, pose.MAX_SKIP), (1.2, 2), (2.5, 1), (3.5, 0), (20.0, 0)):
        c = _one_person(2, step_px)  # the body is 100 px tall: step_px / 100 body sizes
        assert pose._frames_to_skip(c, 0, 1, SIZE, tau) == skip, step_px
    slow = _one_person(5, 0.5)
    # The speed is per frame: the same displacement over more frames is slower.
    slow.image[4] = _one_person(2, 2.0).image[1]
    assert pose._frames_to_skip(slow, 0, 4, SIZE, tau) == pose.MAX_SKIP
    assert pose._frames_to_skip(_one_person(2, 2.0), 0, 1, SIZE, tau) == 1
    # Off, no earlier measured frame, or two people: every frame is measured.
    assert pose._frames_to_skip(slow, 0, 1, SIZE, 0.0) == 0
    assert pose._frames_to_skip(slow, -1, 1, SIZE, tau) == 0
    slow.count[1] = 2
    assert pose._frames_to_skip(slow, 0, 1, SIZE, tau) == 0


def test_skipped_frames_are_interpolated_linearly() -> None:
    true = _one_person(4, 3.0)
    c = _one_person(4, 3.0)
    for arr in (c.image, c.world, c.visibility):
        arr[1:3] = 0  # frames 1 and 2 were skipped
    c.count[1:3] = 0
    pose._interpolate(c, 0, 3)
    np.testing.assert_allclose(c.image, true.image, atol=1e-6)
    np.testing.assert_allclose(c.world, true.world, atol=1e-6)
    np.testing.assert_array_equal(c.count, [1, 1, 1, 1])
    np.testing.assert_array_equal(c.skipped, [False, True, True, False])
    # Nobody at one end: left empty for the track's gap filling, still marked skipped.
    c = _one_person(3, 3.0)
    c.count[1:] = 0
    pose._interpolate(c, 0, 2)
    assert c.count[1] == 0 and c.skipped[1]


def _frames(n: int) -> list[np.ndarray]:
    return [np.full((SIZE[1], SIZE[0], 3), 40 + 5 * t, np.uint8) for t in range(n)]


def test_segments_join_to_one_frame_per_input_frame(tmp_path: Path) -> None:
    xy = np.stack([np.full(NUM_JOINTS, 0.5), np.linspace(0.1, 0.9, NUM_JOINTS)], axis=1)
    vis = np.ones(NUM_JOINTS)
    parts = []
    for k, (start, keep, stop) in enumerate([(0, 0, 12), (8, 12, 25)]):
        writer = SegmentWriter(tmp_path / f"part{k}.mp4", SIZE, 25.0, keep, max_gap=3)
        for t in range(start, stop):
            writer.add(t, _frames(25)[t], xy, vis)
        writer.close()
        assert writer.frames_written == stop - keep  # warm-up frames are not written
        parts.append(writer.path)
    out = join_segments(parts, tmp_path / "overlay.mp4")
    assert probe_video(out).frame_count == 25
    assert b"moov" in out.read_bytes()[:4096]  # faststart
    assert not (tmp_path / "overlay.segments.txt").exists()


def test_segment_fills_short_gaps_only(tmp_path: Path) -> None:
    """Frames without landmarks get interpolated ones across gaps of at most max_gap."""
    xy = np.stack([np.full(NUM_JOINTS, 0.5), np.linspace(0.1, 0.9, NUM_JOINTS)], axis=1)
    vis = np.ones(NUM_JOINTS)
    found = [True, False, True, False, False, False, True]  # a 1-frame gap, then a 3-frame gap
    writer = SegmentWriter(tmp_path / "seg.mp4", SIZE, 25.0, 0, max_gap=2)
    frames = [np.zeros((SIZE[1], SIZE[0], 3), np.uint8) for _ in found]
    for t, on in enumerate(found):
        writer.add(t, frames[t], xy if on else None, vis if on else None)
    writer.close()
    drawn = [bool((f.max(axis=-1) > 60).mean() > 0.01) for f in iter_frames(writer.path)]
    assert drawn == [True, True, True, False, False, False, True]


@pytest.mark.slow
def test_golf_skips_slow_frames_and_measures_the_downswing() -> None:
    from tests.conftest import real_path

    info = probe_video(real_path("golf_swing_dtl.mp4"))
    opts = {"num_poses": 2, "max_side": 960, "skip_speed": pose.SKIP_SPEED}
    raw = pose._run_landmarker(info, pose.default_model_path(), opts=opts, progress=None)
    print(f"golf: {raw.skipped.mean():.1%} of frames interpolated")
    skipped = raw.skipped
    assert 0.4 < skipped.mean() < 0.8  # measured 0.64
    assert skipped[:60].mean() > 0.6  # standing still before the swing: mostly interpolated
    # The downswing (top 119, impact 143; a slow-motion clip) is mostly measured, its
    # fastest part on every frame; the top itself is slow (the hands turn) and may be skipped.
    assert skipped[125:144].mean() < 0.5 and not skipped[130:138].any()
    assert raw.detected.all()


@pytest.mark.slow
def test_estimate_pose_writes_the_overlay_from_its_own_frames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """2 workers, one H.264 overlay frame per clip frame, no segment left; a cache hit draws
    nothing (no frame was decoded), so the caller writes the overlay then."""
    from tests.conftest import real_path

    monkeypatch.setenv("LLAMO_CACHE_DIR", str(tmp_path / "cache"))
    clip = real_path("golf_swing_dtl.mp4")
    out = tmp_path / "golf-skeleton.mp4"
    track = pose.estimate_pose(clip, workers=2, overlay_path=out)
    assert probe_video(out).frame_count == track.num_frames == 264
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", out.name]
    # The skeleton is drawn: the overlay differs from the clip around the joints.
    src = next(iter_frames(clip, 960))
    drawn = next(iter_frames(out))
    h, w = drawn.shape[:2]
    x, y = (track.motion2d.joints[0, 0] * [w, h]).astype(int)  # the nose, first frame
    diff = np.abs(
        drawn[y - 3 : y + 4, x - 3 : x + 4].astype(int) - src[y - 3 : y + 4, x - 3 : x + 4]
    )
    assert diff.mean() > 20
    again = tmp_path / "again.mp4"
    pose.estimate_pose(clip, workers=2, overlay_path=again)
    assert not again.exists()
