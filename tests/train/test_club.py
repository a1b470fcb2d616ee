"""A club's QA format (moments in seconds or frames), the split by clip, the club scoring,
init_from and the model's identity: fast checks without any model run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import InputError
from core.model_info import read_model_info, write_model_info
from core.paths import DEFAULT_MODEL_DIR
from train import finetune
from train.club_eval import ClubItem, score_answer, summary_rows, term_overlap
from train.club_format import moment_seconds, read_club_qa
from train.prepare import split_clips

REPO = Path(__file__).resolve().parents[2]


def _qa(tmp_path: Path, *lines: dict) -> tuple[Path, Path]:
    clips = tmp_path / "clips"
    clips.mkdir(exist_ok=True)
    (clips / "swing.mp4").write_bytes(b"x")
    qa = tmp_path / "qa.jsonl"
    qa.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return qa, clips


def _line(**gpt: object) -> dict:
    return {"video": "swing.mp4", "conversations": [
        {"from": "human", "value": "When is the top?"},
        {"from": "gpt", "value": "At 3.97 s.", **gpt}]}  # fmt: skip


@pytest.mark.parametrize(
    ("keys", "want"),
    [({"time": 3.9}, [[3.9, 3.9]]), ({"span": [3.8, 4.1]}, [[3.8, 4.1]]),
     ({"frame": 119}, [[3.971, 3.971]]), ({"frames": [110, 125]}, [[3.670, 4.171]]),
     ({}, [])],
)  # fmt: skip
def test_moments_in_seconds_or_frames_become_seconds(tmp_path: Path, keys: dict, want) -> None:
    qa, clips = _qa(tmp_path, _line(**keys))
    (line,) = read_club_qa(qa, clips)
    assert "time" not in line.sample.conversations[1]  # coach keys leave the training turn
    (turn,) = line.turns
    assert turn.kind == "time"  # an answer in seconds
    got = moment_seconds(turn, 29.97, 8.8, "x")
    assert [pytest.approx(m, abs=1e-3) for m in want] == got


@pytest.mark.parametrize(
    ("line", "match"),
    [({**_line(), "meta": {"key_frames": [119]}}, r"qa.jsonl:1: unknown meta keys \['key_frames'\]"),
     (_line(timestamps=[3.9]), r"unknown keys \['timestamps'\] on an answer"),
     (_line(time=3.9, frame=119), "give one of"),
     (_line(frames=[125, 110]), "'frames' must be"),
     (_line(kind="essay"), "kind 'essay'")],
)  # fmt: skip
def test_club_qa_mistakes_are_named(tmp_path: Path, line: dict, match: str) -> None:
    qa, clips = _qa(tmp_path, line)
    with pytest.raises(InputError, match=match):
        read_club_qa(qa, clips)


def test_a_moment_past_the_clip_end_is_refused(tmp_path: Path) -> None:
    qa, clips = _qa(tmp_path, _line(frame=400))
    (line,) = read_club_qa(qa, clips)
    with pytest.raises(InputError, match="past the end of the clip"):
        moment_seconds(line.turns[0], 29.97, 263 / 29.97, "qa.jsonl:1")


def test_split_is_by_clip_and_holds_out_at_least_one() -> None:
    clips = [f"c{i}.mp4" for i in range(7)]
    split = split_clips(clips, 0.2, None, seed=0)
    held = [c for c, s in split.items() if s == "heldout"]
    assert len(held) == 1 and set(split) == set(clips)
    assert split == split_clips(list(reversed(clips)), 0.2, None, seed=0)  # order-free
    assert list(split_clips(["a", "b"], 0.2, None, 0).values()).count("heldout") == 1
    assert set(split_clips(["a"], 0.2, None, 0).values()) == {"train"}  # never all
    assert split_clips(clips, 0.2, ["c3.mp4"], 0)["c3.mp4"] == "heldout"


def _item(kind: str, reference: str, moments=()) -> ClubItem:
    return ClubItem(0, "clip.mp4", "x:1", "q", [], reference, kind, None, list(moments))


def test_club_scoring_counts_times_numbers_and_text() -> None:
    count = _item("count", "You did 5 push-ups.")
    assert score_answer(count, "5 reps.").correct
    near = score_answer(count, "I count 4 reps.")
    assert not near.correct and near.off_by_one
    assert not score_answer(count, "Good form.").off_by_one
    top = _item("time", "The top is at 3.97 s.", [(3.97, 3.97)])
    hit = score_answer(top, "The top of the backswing is at 4.1 s.", looked_at=[1.0, 4.0])
    assert hit.correct and hit.time_error == pytest.approx(0.13) and hit.looked_at_moment
    miss = score_answer(top, "The top is 6.6 seconds after the impact.", looked_at=[0.5])
    assert not miss.correct and miss.time_error == pytest.approx(2.63)
    assert score_answer(top, "Knees at 90°, about 1.1 reps.").answer_times == []  # not times
    assert miss.looked_at_moment is False
    assert score_answer(_item("number", "Your spine leans 40°."), "About 43° at address").correct
    assert not score_answer(_item("number", "Your spine leans 40°."), "55° at address").correct
    text = _item("text", "Keep your chest up and push your knees out.")
    assert term_overlap(text.reference, "Push the knees out, chest up!") == 1.0
    assert score_answer(text, "Nice swing.").overlap == 0.0
    rows = {label: vals for label, _, vals in summary_rows(
        [count, top], [[score_answer(count, "5 reps"), hit], [near, miss]])}  # fmt: skip
    assert rows["counts: exact"] == ["100%", "0%"]
    assert rows["counts: off by at most one"] == ["100%", "100%"]


def test_init_from_resolves_the_shipped_model_run_folders_and_scratch(tmp_path: Path) -> None:
    assert finetune.resolve_init("default") == DEFAULT_MODEL_DIR
    assert finetune.resolve_init("scratch") is None
    (tmp_path / "run" / "model").mkdir(parents=True)
    (tmp_path / "run" / "model" / "config.json").write_text("{}")
    assert finetune.resolve_init(str(tmp_path / "run")) == tmp_path / "run" / "model"
    base = ["train_data=x.jsonl", "init_from=default"]
    cfg = finetune.TrainConfig.from_yaml(REPO / "train/configs/club.yaml", base)
    assert cfg.llamo_config().hidden_size == 128 and not cfg.llamo_config().use_video
    with pytest.raises(ValueError, match=r"^model.hidden_size: the starting model \(default\)"):
        finetune.TrainConfig.from_yaml(REPO / "train/configs/club.yaml",
                                       [*base, "model.hidden_size=64"])  # fmt: skip
    # the shipped model's recipe repeats the shipped architecture: allowed
    finetune.TrainConfig.from_yaml(REPO / "train/configs/cpu.yaml", base)
    with pytest.raises(ValueError, match=r"^model.timestamp_mode: the starting model \(default\)"):
        finetune.TrainConfig.from_yaml(REPO / "train/configs/cpu.yaml",
                                       [*base, "model.timestamp_mode=embedding"])  # fmt: skip


def test_resume_problems_are_one_line_errors(capsys: pytest.CaptureFixture) -> None:
    code = finetune.main(["--config", str(REPO / "train/configs/club.yaml"),
                          "--set", "train_data=x.jsonl", "--resume", str(DEFAULT_MODEL_DIR)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "is a trained model, not a checkpoint" in err and "--init-from" in err


def test_short_stage_works_with_the_recipe_warmup() -> None:
    stage = finetune.StageConfig("lora", steps=3, lr=1e-3, warmup_steps=5)
    assert stage.effective_warmup == 1
    factors = [finetune.lr_factor(s, stage.effective_warmup, 3, 0.1) for s in range(3)]
    assert factors[0] == 1.0 and factors[-1] < factors[0]


def test_model_info_names_the_model_and_falls_back_on_the_folder(tmp_path: Path) -> None:
    shipped = read_model_info(DEFAULT_MODEL_DIR)
    assert shipped.name == "default" and "shipped" in shipped.source
    write_model_info(tmp_path, "club", "fine-tuned from default on d.jsonl", "2026-11-30T12:00Z")
    assert (
        read_model_info(tmp_path)
        .label()
        .startswith("club (fine-tuned from default on d.jsonl; trained 2026-11-30 12:00 UTC)")
    )
    (tmp_path / "model_info.json").unlink()
    assert read_model_info(tmp_path).name == tmp_path.name
