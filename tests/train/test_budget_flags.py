"""train.budget_flags: one ``--max-*`` flag per prompt budget, the same in the data engine and
the evaluation."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import pytest

from core.llamo.config import PROMPT_BUDGET_FIELDS
from core.llamo.prompts import BUDGET_LINES, PromptBudget
from train import evaluate, make_dataset


def test_every_budget_has_its_words_config_field_and_flag(capsys) -> None:
    names = [f.name for f in fields(PromptBudget)]
    assert list(BUDGET_LINES) == names and list(PROMPT_BUDGET_FIELDS) == names
    for cli in (make_dataset.cli, evaluate.main):
        with pytest.raises(SystemExit):
            cli(["--help"])
        text = capsys.readouterr().out
        for name in names:
            assert f"--{name.replace('_', '-')} N" in text
            assert PROMPT_BUDGET_FIELDS[name] in text  # the config field it goes with


def test_the_data_engine_builds_with_the_flags_budget(tmp_path: Path) -> None:
    make_dataset.cli(["--out", str(tmp_path / "d"), "--n-train", "0", "--n-heldout", "2",
                      "--max-facts", "10", "--max-orders", "1", "--max-sides", "1"])  # fmt: skip
    info = json.loads((tmp_path / "d" / "dataset.json").read_text())
    budget = {name: info[name] for name in BUDGET_LINES}
    assert budget == {"max_facts": 10, "max_moments": 0, "max_joints": 0, "max_sides": 1,
                      "max_orders": 1}  # fmt: skip


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [("--max-facts", "0", "must be >= 1, got 0"), ("--max-orders", "-1", "must be >= 0, got -1"),
     ("--max-moments", "two", "must be a whole number, got 'two'")],
)  # fmt: skip
def test_a_bad_budget_is_one_line_naming_the_flag_and_nothing_is_written(
    tmp_path: Path, capsys, flag: str, value: str, message: str
) -> None:
    out = tmp_path / "d"
    with pytest.raises(SystemExit):
        make_dataset.cli(["--out", str(out), "--n-train", "0", "--n-heldout", "2", flag, value])
    with pytest.raises(SystemExit):
        evaluate.main(["--checkpoint", str(tmp_path), "--data", str(out),
                       "--out", str(tmp_path / "r.md"), flag, value])  # fmt: skip
    errors = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert errors == [f"python -m {prog}: error: argument {flag}: {message}"
                      for prog in ("train.make_dataset", "train.evaluate")]  # fmt: skip
    assert not out.exists() and not (tmp_path / "r.md").exists()


def test_the_flags_of_a_saved_model_give_its_budgets(tmp_path: Path, capsys) -> None:
    """``python -m train.budget_flags [MODEL]`` (the GPU recipe's data set) prints the flags
    that rebuild the model's own prompt budgets; a folder without a config is one line."""
    from core.paths import DEFAULT_MODEL_DIR
    from train.budget_flags import main

    saved = json.loads((DEFAULT_MODEL_DIR / "config.json").read_text())
    assert main([]) == 0
    parts = capsys.readouterr().out.split()
    given = dict(zip(parts[::2], map(int, parts[1::2]), strict=True))
    assert given == {f"--{name.replace('_', '-')}": saved.get(field, 0 if name != "max_facts" else 8)
                     for name, field in PROMPT_BUDGET_FIELDS.items()}  # fmt: skip
    with pytest.raises(SystemExit):
        main([str(tmp_path)])
    assert "no config.json here; give a saved LLaMo model folder" in capsys.readouterr().err
