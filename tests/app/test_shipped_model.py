"""The shipped default model (``core/weights/default``) loads and answers, checked with the
evaluation's own checker: this fails if the weights stop loading (the untrained fallback
warns, and does not count the reps)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.coach import Coach
from core.paths import DEFAULT_MODEL_DIR
from tests.conftest import real_path
from train.answers import read_numbers
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


@pytest.mark.slow
def test_with_facts_the_slowest_and_deepest_rep_are_the_facts_ones_on_real_clips() -> None:
    """The app's default (facts in the prompt) on two real exercise clips: the answer names the
    rep the facts name. With the facts before session 24 (each rep's length and depth, but no
    summary line) this model named rep 2 all four times, right on none."""
    coach = Coach.load(threads=2)
    try:
        for clip in ("pushups_side_5reps.mp4", "squats_3reps_holds.mp4"):
            session = coach.analyze(real_path(clip))
            try:
                rc = session.report.reps
                assert rc is not None and rc.count >= 2, clip
                asked = {"Which rep was the slowest?": rc.slowest_first()[0] + 1,
                         "Which rep was the deepest?": rc.deepest_first()[0] + 1}  # fmt: skip
                for question, rep in asked.items():
                    text = session.ask(question).text
                    assert read_numbers(text, "index")[:1] == [rep], (clip, question, text)
            finally:
                session.close()
    finally:
        coach.close()
