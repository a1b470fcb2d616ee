"""Form checks on synthesized rep exercises whose faults the synthesizer labels."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from core.analytics import FORM_EXERCISES, FormLimits, analyze_motion, asks_form, check_form
from core.analytics.angles import body_of
from core.analytics.form import side_on
from core.analytics.reps import count_reps
from core.llamo.prompts import report_context
from core.skeleton import Joint as J
from train.synth import FAULTS, Camera, synthesize


def _clip(exercise: str, faults: list[str], seed: int = 0, **kw):
    return synthesize(exercise, np.random.default_rng(seed), faults=faults, noise3d=1.0, **kw)


def _labelled_reps(sample, reps) -> set[int]:
    """Counted reps lying mostly inside a labelled fault window."""
    out = set()
    for i, r in enumerate(reps.reps):
        for f in sample.labels.faults:
            if min(r.end, f.end_frame) - max(r.start, f.start_frame) > 0.5 * (r.end - r.start):
                out.add(i)
    return out


def test_each_form_check_names_a_fault_the_synthesizer_knows_for_that_exercise() -> None:
    for exercise, fault in FORM_EXERCISES.items():
        assert fault in FAULTS[exercise]


@pytest.mark.parametrize("exercise", sorted(FORM_EXERCISES))
def test_the_faulty_reps_are_flagged_in_3d_and_a_clean_clip_passes(exercise: str) -> None:
    fault = FORM_EXERCISES[exercise]
    for seed in (0, 1):
        bad = _clip(exercise, [fault], seed)
        reps = count_reps(bad.motion3d, exercise)
        check = check_form(bad.motion3d, reps)
        assert check is not None and check.sure and check.fault == fault
        assert set(check.flagged) == _labelled_reps(bad, reps) != set(), seed
        clean = _clip(exercise, [], seed)
        reps = count_reps(clean.motion3d, exercise)
        passed = check_form(clean.motion3d, reps)
        assert passed is not None and not passed.found, (seed, passed.values)
        assert max(passed.values) < check.limit < max(check.values)


def test_a_stricter_limit_flags_more_and_a_bad_limit_names_its_field() -> None:
    clean = _clip("push_up", [], 0)
    reps = count_reps(clean.motion3d, "push_up")
    values = check_form(clean.motion3d, reps).values
    strict = check_form(clean.motion3d, reps, FormLimits(hip_sag=min(values) - 0.1))
    assert strict.flagged == list(range(reps.count))
    with pytest.raises(ValueError, match="hip_sag"):
        FormLimits(hip_sag=0.0)


def test_a_2d_view_from_the_front_is_unsure_and_from_the_side_sure() -> None:
    side = _clip("lunge", ["forward_lean"], 2, camera=Camera(90.0, 5.0, 4.0, 55.0))
    front = _clip("lunge", ["forward_lean"], 2, camera=Camera(0.0, 5.0, 4.0, 55.0))
    assert side_on(body_of(side.motion2d)) and not side_on(body_of(front.motion2d))
    report = analyze_motion(front.motion2d, "lunge")
    (line,) = report.form_items
    assert not line.trusted and report.form_lines() == []
    (line,) = analyze_motion(side.motion2d, "lunge").form_items
    assert line.trusted and line.text.startswith("Form: the trunk leans forward")


def test_the_form_line_is_shown_but_kept_out_of_the_prompt() -> None:
    bad = _clip("push_up", ["sagging_hips"], 1)
    report = analyze_motion(bad.motion3d, "push_up")
    (line,) = report.form_lines()
    assert line.startswith("Form: the hips sag below the shoulder-to-ankle line on rep")
    assert line in report.facts and line not in report.prompt_facts()
    assert "Form:" not in report_context(report, questions=["Do my hips sag?"])
    clean = analyze_motion(_clip("push_up", [], 1).motion3d, "push_up")
    assert clean.form_lines()[0].startswith("Form: no hip sag past 10 deg on any of the")
    golf = analyze_motion(_clip("golf_swing", [], 1).motion3d)
    assert golf.form_items == []  # no form check for a swing


def test_a_question_about_form_is_told_apart() -> None:
    for q in ("Is my form OK?", "Do my hips sag?", "What am I doing wrong?", "How do I fix it?"):
        assert asks_form(q), q
    for q in ("How many push-ups?", "When is the bottom of rep 2?", "Which rep was slowest?"):
        assert not asks_form(q), q


def test_no_form_line_when_the_joints_it_needs_are_never_seen() -> None:
    """Ankles hidden in every frame: the hip line cannot be drawn, so no line rather than
    one that says "nan"."""
    clip = _clip("push_up", ["sagging_hips"], 0)
    m = clip.motion3d
    joints = m.joints.copy()
    joints[:, [J.LEFT_ANKLE, J.RIGHT_ANKLE]] = np.nan
    hidden = replace(m, joints=joints)
    reps = count_reps(hidden, "push_up")
    assert reps.count > 0 and check_form(hidden, reps) is None
    assert analyze_motion(hidden, "push_up").form_items == []
