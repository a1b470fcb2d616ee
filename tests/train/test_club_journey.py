"""The club's journey end to end on two real clips: prepare -> finetune (from the shipped
model, a few steps) -> evaluate (before/after table) -> the fine-tuned model in ``Coach``.

The coach's answers use the labels of ../shared/data/real/SOURCES.md and
tests/data/golf_swing_dtl_labels.json (golf: top frame 119, impact 143 at 29.97 fps;
push-ups: 5 reps, first bottom about frame 99 at 30 fps).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.conftest import real_path

REPO = Path(__file__).resolve().parents[2]
GOLF, PUSHUPS = "golf_swing_dtl.mp4", "pushups_side_5reps.mp4"


def _club_qa(path: Path) -> Path:
    def turn(role: str, value: str, **extra: object) -> dict:
        return {"from": role, "value": value, **extra}

    lines = [
        {"video": GOLF, "meta": {"activity": "golf_swing"}, "conversations": [
            turn("human", "When is the top of the backswing?"),
            turn("gpt", "The top of the backswing is at 3.97 s.", frame=119),
            turn("human", "And impact?"), turn("gpt", "Impact is at 4.77 s.", time=4.77)]},
        {"video": PUSHUPS, "meta": {"activity": "push_up"}, "conversations": [
            turn("human", "How many push-ups did I do?"), turn("gpt", "You did 5 push-ups."),
            turn("human", "When is the bottom of the first one?"),
            turn("gpt", "The first push-up bottoms out at 3.3 s.", frames=[95, 103])]},
    ]  # fmt: skip
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


@pytest.mark.slow
def test_club_journey_from_the_shipped_model(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from app.coach import Coach
    from train import evaluate, finetune
    from train.data import load_jsonl, turn_moments
    from train.prepare import prepare

    clips = tmp_path / "clips"
    clips.mkdir()
    for name in (GOLF, PUSHUPS):
        (clips / name).symlink_to(real_path(name))
    data, run = tmp_path / "data", tmp_path / "runs" / "club"

    # 1. prepare: one clip for training, the other held out (by clip), moments in seconds
    summary = prepare(clips, _club_qa(tmp_path / "qa.jsonl"), data, workers=1,
                      heldout_clips=[PUSHUPS])  # fmt: skip
    assert summary.written["train"][2] == [GOLF] and summary.written["heldout"][2] == [PUSHUPS]
    (golf,) = load_jsonl(data / "train.jsonl")
    assert "crops" not in golf.meta  # the shipped model reads no video
    assert turn_moments(golf.conversations) == [
        [(pytest.approx(119 / 29.97, abs=2e-3),) * 2], [(4.77, 4.77)]]  # fmt: skip
    (held,) = load_jsonl(data / "heldout.jsonl")
    assert [a["kind"] for a in held.meta["answers"]] == ["count", "time"]

    # 2. finetune from the shipped model: 2 steps, a validation loss on the held-out clip
    code = finetune.main(["--config", str(REPO / "train/configs/club.yaml"), "--out", str(run),
                          "--set", f"train_data={data / 'train.jsonl'}",
                          "--set", f"eval_data={data / 'heldout.jsonl'}",
                          "--set", "stages.0.steps=2", "--set", "save_every=2"])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "step 0 (the starting model): validation loss" in printed
    assert "step 2: validation loss" in printed and "held-out lines" in printed
    with (run / "loss.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 and float(rows[-1]["val_loss"]) > 0
    info = json.loads((run / "model" / "model_info.json").read_text())
    assert info["name"] == "club" and info["source"].startswith("fine-tuned from default")

    # 3. evaluate: the before/after table on the held-out clip, every prediction listed
    report = tmp_path / "eval.md"
    assert evaluate.main(["--checkpoint", str(run / "model"), "--data", str(data),
                          "--out", str(report), "--max-new-tokens", "12"]) == 0  # fmt: skip
    text = report.read_text()
    assert "## Before / after" in text and "| measure | n | shipped | fine-tuned |" in text
    assert "| counts: exact | 1 |" in text and "| times: within tolerance" in text
    predictions = text.split("## Every prediction")[1]  # both models' answer to each question
    assert predictions.count("| shipped | ") == 2 and predictions.count("| fine-tuned | ") == 2
    assert "moment: 3.17-3.43 s (frames 95-103)" in text

    # 4. the app: the fine-tuned model loads in Coach and says which model it is
    coach = Coach.load(run / "model", threads=2)
    try:
        assert coach.warning is None and coach.loaded
        assert coach.model_label.startswith("club (fine-tuned from default on ")
        assert coach.model.config.hidden_size == 128  # the shipped architecture
    finally:
        coach.close()
