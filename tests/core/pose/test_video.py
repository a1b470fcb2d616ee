"""core.pose.video on real clips and on broken inputs made in tmp_path."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np
import pytest

from core.errors import InputError
from core.pose.video import _crop_boxes, iter_frames, person_crops, probe_video
from tests.conftest import real_path

# Frame counts and sizes stated in ../shared/data/real/SOURCES.md.
CLIPS = {
    "golf_swing_dtl.mp4": (264, 354, 492, 29.97),
    "sports2d_demo.mp4": (230, 1768, 994, 30.0),
    "cobra_pushups.mp4": (53, 1920, 1080, 25.0),
}


def _ffmpeg(*args: str) -> None:
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", *args], check=True)


@pytest.mark.parametrize("name", sorted(CLIPS))
def test_probe_matches_sources(name: str) -> None:
    frames, width, height, fps = CLIPS[name]
    info = probe_video(real_path(name))
    assert (info.frame_count, info.width, info.height) == (frames, width, height)
    assert info.fps == pytest.approx(fps, abs=0.01)
    assert info.duration == pytest.approx(frames / fps, rel=1e-3)


def test_iter_frames_counts_and_downscales() -> None:
    path = real_path("cobra_pushups.mp4")
    frames = list(iter_frames(path, max_side=320))
    assert len(frames) == probe_video(path).frame_count
    assert frames[0].shape == (180, 320, 3) and frames[0].dtype == np.uint8
    # Real picture content, not a blank decode.
    assert frames[0].std() > 10


def test_iter_frames_full_size() -> None:
    path = real_path("golf_swing_dtl.mp4")
    first = next(iter_frames(path))
    assert first.shape == (492, 354, 3)


def test_not_a_video_suffix(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    with pytest.raises(InputError, match=r"notes\.txt is not a video.*Use a video file"):
        probe_video(notes)


def test_image_renamed_to_mp4(tmp_path: Path) -> None:
    jpg = tmp_path / "photo.jpg"
    _ffmpeg("-f", "lavfi", "-i", "color=c=red:s=64x64:d=1", "-frames:v", "1", str(jpg))
    renamed = tmp_path / "photo.mp4"
    renamed.write_bytes(jpg.read_bytes())
    with pytest.raises(InputError, match=r"photo\.mp4 is a JPEG image renamed"):
        probe_video(renamed)


def test_text_renamed_to_mp4(tmp_path: Path) -> None:
    fake = tmp_path / "fake.mp4"
    fake.write_text("this is not a video\n" * 50)
    with pytest.raises(InputError, match=r"fake\.mp4 could not be read as a video.*damaged"):
        probe_video(fake)


def test_random_bytes_mp4(tmp_path: Path) -> None:
    fake = tmp_path / "noise.mp4"
    fake.write_bytes(np.random.default_rng(0).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    with pytest.raises(InputError, match=r"noise\.mp4 could not be read as a video"):
        probe_video(fake)


def test_truncated_mp4(tmp_path: Path) -> None:
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(real_path("golf_swing_dtl.mp4").read_bytes()[:200_000])
    with pytest.raises(InputError, match=r"cut\.mp4 could not be read.*incomplete"):
        probe_video(cut)


def test_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match=r"empty\.mp4 is empty"):
        probe_video(empty)


def test_zero_frames(tmp_path: Path) -> None:
    # An AVI keeps its video stream header even with no frames in it.
    zero = tmp_path / "zero.avi"
    _ffmpeg("-f", "lavfi", "-i", "color=c=red:s=64x64:d=1", "-frames:v", "0", str(zero))
    with pytest.raises(InputError, match=r"zero\.avi has no video frames"):
        probe_video(zero)


def test_audio_only(tmp_path: Path) -> None:
    audio = tmp_path / "voice.mp4"
    _ffmpeg("-f", "lavfi", "-i", "sine=d=1", str(audio))
    with pytest.raises(InputError, match=r"voice\.mp4 has no video stream"):
        probe_video(audio)


def test_too_long() -> None:
    with pytest.raises(InputError, match=r"8\.8 s long; the limit is 2 s.*Trim"):
        probe_video(real_path("golf_swing_dtl.mp4"), max_seconds=2)


def test_too_large_resolution_and_bytes() -> None:
    path = real_path("cobra_pushups.mp4")
    with pytest.raises(InputError, match=r"1920x1080; the largest side allowed is 1280"):
        probe_video(path, max_side=1280)
    with pytest.raises(InputError, match=r"the limit is 0 MiB"):
        probe_video(path, max_bytes=1000)


@pytest.mark.slow  # needs the golf pose track
def test_person_crops_follow_the_player(golf_track) -> None:
    crops = person_crops(real_path("golf_swing_dtl.mp4"), golf_track, size=64)
    assert crops.shape == (golf_track.num_frames, 64, 64, 3) and crops.dtype == np.uint8
    # The crops show the player (varied content), and the swing makes them change over time.
    assert crops.reshape(len(crops), -1).std(axis=1).min() > 15
    motion = np.abs(np.diff(crops.astype(np.int16), axis=0)).mean(axis=(1, 2, 3))
    assert motion.max() > 3 * motion.min()
    # The boxes sit on the skeleton: centre inside its bbox, side about pad x its long side.
    boxes = _crop_boxes(golf_track, pad=1.3, smooth_s=0.2)
    xy = golf_track.motion2d.joints[0] * np.array(golf_track.frame_size)  # (33, 2) pixels
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    assert (lo < boxes[0, :2]).all() and (boxes[0, :2] < hi).all()
    assert boxes[0, 2] == pytest.approx(1.3 * (hi - lo).max(), rel=0.1)
    assert boxes[0, 2] < 0.9 * max(golf_track.frame_size)


@pytest.mark.slow
def test_person_crops_undetected_use_frame_centre(golf_track) -> None:
    blind = replace(golf_track.motion2d, visibility=np.zeros_like(golf_track.motion2d.visibility))
    track = replace(golf_track, motion2d=blind, detected=np.zeros(golf_track.num_frames, bool))
    crops = person_crops(real_path("golf_swing_dtl.mp4"), track, size=32)
    # Whole-frame centre with the short side: the centre square of the frame itself.
    frame = next(iter_frames(real_path("golf_swing_dtl.mp4")))
    h, w = frame.shape[:2]
    top = (h - w) // 2
    centre = cv2.resize(frame[top : top + w], (32, 32), interpolation=cv2.INTER_AREA)
    assert np.abs(crops[0].astype(int) - centre.astype(int)).mean() < 12


def test_rotated_phone_video(tmp_path: Path) -> None:
    # A portrait phone clip: landscape pixels plus a 90 degree display-rotation tag.
    rotated = tmp_path / "portrait.mp4"
    _ffmpeg("-display_rotation", "90", "-i", str(real_path("cobra_pushups.mp4")), "-c", "copy",
            str(rotated))  # fmt: skip
    info = probe_video(rotated)
    assert (info.width, info.height, info.rotation) == (1080, 1920, 90)
    frame = next(iter_frames(rotated, max_side=480))
    assert frame.shape == (480, 270, 3)
