"""train.prepare: pose once per clip, failures reported not fatal, reruns are no-ops."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import InputError
from core.motion import PoseTrack
from core.motion_io import load_motion
from tests.conftest import real_path
from train.data import MotionDataset, load_jsonl
from train.prepare import cli, prepare

CONV = [{"from": "human", "value": "What is this?"}, {"from": "gpt", "value": "A golf swing."}]


def _qa(path: Path, clips: list[str]) -> Path:
    path.write_text("".join(json.dumps({"video": c, "conversations": CONV}) + "\n" for c in clips))
    return path


def test_bad_qa_line_is_named_before_any_pose_work(tmp_path: Path) -> None:
    clips = tmp_path / "clips"
    clips.mkdir()
    (clips / "a.mp4").write_bytes(b"x")
    qa = tmp_path / "qa.jsonl"
    qa.write_text(
        json.dumps({"video": "a.mp4", "conversations": CONV})
        + "\n"
        + json.dumps({"video": "b.mp4", "conversations": CONV})
        + "\n"
    )
    with pytest.raises(InputError, match=r"qa.jsonl:2: video file 'b.mp4' not found"):
        prepare(clips, qa, tmp_path / "out", workers=1)
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_prepare_real_clip_skips_corrupt_one_and_resumes(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    clips = tmp_path / "clips"
    clips.mkdir()
    (clips / "golf.mp4").symlink_to(real_path("golf_swing_dtl.mp4"))
    (clips / "broken.mp4").write_bytes(b"\x00not a video" * 100)
    qa = _qa(tmp_path / "qa.jsonl", ["golf.mp4", "broken.mp4", "golf.mp4"])
    out = tmp_path / "data"

    summary = prepare(clips, qa, out, workers=1, crops=True)
    assert summary.prepared == ["golf.mp4"] and list(summary.failed) == ["broken.mp4"]
    assert summary.lines_written == 2 and summary.lines_skipped == 1
    track = PoseTrack.load(out / "motions" / "golf.npz")
    assert track.num_frames > 200 and track.detection_rate > 0.8
    samples = load_jsonl(out / "train.jsonl")
    assert len(samples) == 2 and samples[0].meta["source_video"] == "golf.mp4"
    ex = MotionDataset(samples)[0]
    assert ex["motion"].num_frames == track.num_frames == ex["video"].shape[0]
    assert ex["video"].shape[1:] == (64, 64, 3)
    assert load_motion(out / "motions" / "golf.npz").space.value == "world_metres"

    # Second run through the CLI: nothing is recomputed, the failure is reported again.
    stamp = (out / "motions" / "golf.npz").stat().st_mtime_ns
    cli([str(clips), "--qa", str(qa), "--out", str(out), "--workers", "2"])
    printed = capsys.readouterr().out
    assert "prepared 0 clip(s), 1 already done, 1 failed" in printed and "broken.mp4" in printed
    assert (out / "motions" / "golf.npz").stat().st_mtime_ns == stamp
