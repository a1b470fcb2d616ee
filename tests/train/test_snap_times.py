"""train.snap_times: event-time answers rewritten to the time of a viewpoint the prompt shows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from train import make_dataset, snap_times

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "core" / "weights" / "default"


def test_snap_time_prefers_the_most_relevant_viewpoint_then_the_nearest_within_tolerance() -> None:
    # Times as the prompt writes them (two decimals); the first is the most relevant.
    assert snap_times.snap_time(1.73, 0.15, [1.651, 1.80, 2.5]) == (1.65, "top")
    assert snap_times.snap_time(1.73, 0.15, [2.5, 1.60, 1.80]) == (1.80, "other")
    assert snap_times.snap_time(1.73, 0.15, [2.5, 0.9]) == (1.73, "kept")
    assert snap_times.snap_time(1.73, 0.15, []) == (1.73, "kept")


@pytest.fixture(scope="module")
def snapped(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("snap")
    make_dataset.main(root / "data", n_train=24, n_heldout=0, seed=3, facts_frac=0.5)
    counts = snap_times.main(SHIPPED, root / "data", root / "out")
    read = [
        [json.loads(line) for line in (root / d / "train.jsonl").open()] for d in ("data", "out")
    ]
    return {"root": root, "counts": counts, "before": read[0], "after": read[1]}


def _answers(line: dict) -> list[str]:
    return [t["value"] for t in line["conversations"] if t["from"] == "gpt"]


def test_only_event_time_answers_without_facts_change_and_stay_right(snapped: dict) -> None:
    """On the shipped model's viewpoints: each such answer is now a viewpoint's time within the
    target's tolerance; every other answer, and every line with facts, is as it was."""
    from core.llamo.model import LLaMo
    from core.motion_io import load_motion

    model = LLaMo.from_pretrained(SHIPPED, device="cpu")
    seen, changed = 0, 0
    for old, new in zip(snapped["before"], snapped["after"], strict=True):
        assert Path(new["motion"]).name == Path(old["motion"]).name
        meta = old["meta"]
        for k, (a, b) in enumerate(zip(_answers(old), _answers(new), strict=True)):
            if "context" in meta or meta["qtypes"][k] not in snap_times.EVENT_QTYPES:
                assert a == b
                continue
            seen += 1
            changed += a != b
            said, target = float(b.split()[0]), meta["targets"][k]
            assert abs(said - target["value"]) <= target["tolerance"] + 1e-9
            question = [t["value"] for t in old["conversations"] if t["from"] == "human"][k]
            shown = model.viewpoints(load_motion(new["motion"]), question)["timestamps"]
            # Source-frame times of the viewpoints (the prompt's are the model frames', <= 1 apart)
            assert min(abs(said - t) for t in shown) <= 0.05 or b == a
    assert seen == sum(snapped["counts"].values()) >= 2
    assert changed >= 1  # measured times are seldom a viewpoint's written one
    info = json.loads((snapped["root"] / "out" / "dataset.json").read_text())
    assert info["snapped"]["answers"] == snapped["counts"]


def test_cli_refuses_a_folder_without_a_set_and_writing_over_its_input(
    snapped: dict, capsys: pytest.CaptureFixture
) -> None:
    data = snapped["root"] / "data"
    for argv, word in (
        (["--model", str(SHIPPED), "--data", str(data), "--out", str(data)], "--out"),
        (["--model", str(SHIPPED), "--data", str(snapped["root"]), "--out", "x"], "--data"),
        (["--model", str(data), "--data", str(data), "--out", "x"], "--model"),
    ):
        with pytest.raises(SystemExit) as stop:
            snap_times.cli(argv)
        # main's checks exit with one line; argparse prints its usage and then one error line
        code = stop.value.code
        line = code if isinstance(code, str) else capsys.readouterr().err.strip().splitlines()[-1]
        assert "\n" not in line and line.startswith(("error:", "__main__")) and word in line
    assert not Path("x").exists()
