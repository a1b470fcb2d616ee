"""The shipped default model (``core/weights/default``) loads and answers, checked with the
evaluation's own checker: this fails if the weights stop loading (the untrained fallback
warns, and does not count the reps)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.coach import Coach
from core.paths import DEFAULT_MODEL_DIR
from train.qa import check_answer, make_turn, measure

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "inputs" / "squat_synthetic.npz"


@pytest.mark.slow
def test_default_model_loads_without_warning_and_counts_the_example_reps() -> None:
    assert (DEFAULT_MODEL_DIR / "config.json").is_file(), DEFAULT_MODEL_DIR
    coach = Coach.load(threads=2)
    assert coach.warning is None
    session = coach.analyze(EXAMPLE)
    try:
        turn = make_turn("rep_count", measure(session.motion, activity="squat"),
                         np.random.default_rng(0))  # fmt: skip
        assert turn is not None and turn.target.value >= 2
        answer = session.ask(turn.question)
        assert check_answer("rep_count", turn.target, answer.text), (turn.question, answer.text)
    finally:
        session.close()
        coach.close()
