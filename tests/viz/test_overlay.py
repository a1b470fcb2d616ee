"""viz.overlay: skeleton drawing, H.264 overlay video, thumbnails, on the real golf clip."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

from core.pose.video import iter_frames, probe_video
from tests.conftest import real_path
from viz.overlay import HIGHLIGHT_COLOUR, draw_skeleton, frame_thumbnail, write_overlay

pytestmark = pytest.mark.slow


def _ffmpeg_info(path: Path) -> str:
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)]
    return subprocess.run(cmd, capture_output=True, text=True, check=False).stderr


def test_draw_skeleton_marks_pixels(golf_track) -> None:
    frame = next(iter_frames(real_path("golf_swing_dtl.mp4")))
    drawn = draw_skeleton(frame, golf_track.motion2d.joints[0], golf_track.motion2d.visibility[0])
    changed = np.any(drawn != frame, axis=-1)
    assert drawn.shape == frame.shape and changed.mean() > 0.005
    # Changes lie along the skeleton: inside its bbox (plus line width), not all over.
    xy = golf_track.motion2d.joints[0] * [frame.shape[1], frame.shape[0]]
    ys, xs = np.nonzero(changed)
    assert xs.min() >= xy[:, 0].min() - 8 and xs.max() <= xy[:, 0].max() + 8
    # Nothing is drawn when every joint is invisible; the input is never modified.
    blank = draw_skeleton(frame, golf_track.motion2d.joints[0], np.zeros(33))
    np.testing.assert_array_equal(blank, frame)


def test_write_overlay_h264_same_frame_count(golf_track, tmp_path: Path) -> None:
    src = real_path("golf_swing_dtl.mp4")
    out = write_overlay(src, golf_track, tmp_path / "overlay.mp4", highlight_frames=[5, 110])
    info = _ffmpeg_info(out)
    stream = re.search(r"Stream #0:\d+.*Video: (\w+).*?(yuv420p)", info)
    assert stream is not None and stream.group(1) == "h264", info
    assert probe_video(out).frame_count == probe_video(src).frame_count == 264
    # faststart: the moov atom precedes the media data.
    head = out.read_bytes()[:4096]
    assert b"moov" in head
    frames = list(iter_frames(out))
    assert len(frames) == 264

    # Highlighted frames carry the gold border; the others do not.
    def border_gold(img: np.ndarray) -> float:
        edge = img[2, :, :].astype(int)
        return float(np.mean(np.abs(edge - HIGHLIGHT_COLOUR).sum(-1) < 90))

    assert border_gold(frames[110]) > 0.8 and border_gold(frames[5]) > 0.8
    assert border_gold(frames[50]) < 0.2


def test_overlay_of_big_video_is_downscaled_even(cobra_track, tmp_path: Path) -> None:
    out = write_overlay(real_path("cobra_pushups.mp4"), cobra_track, tmp_path / "c.mp4",
                        max_side=641)  # fmt: skip
    info = probe_video(out)
    assert (info.width % 2, info.height % 2) == (0, 0) and info.width == 640
    assert info.frame_count == 53


def test_frame_thumbnail(golf_track) -> None:
    thumb = frame_thumbnail(real_path("golf_swing_dtl.mp4"), golf_track, 110, size=200)
    assert max(thumb.shape[:2]) == 200 and thumb.dtype == np.uint8
    plain = next(iter_frames(real_path("golf_swing_dtl.mp4"), max_side=200))
    assert np.any(thumb != plain)
    with pytest.raises(ValueError, match=r"frames: each must be in \[0, 264\)"):
        frame_thumbnail(real_path("golf_swing_dtl.mp4"), golf_track, 999)
