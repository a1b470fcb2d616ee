"""Q&A answers are recomputed from the motion and machine-checkable."""

from __future__ import annotations

import zlib
from dataclasses import replace

import numpy as np
import pytest

from core.analytics import count_reps
from tests.conftest import real_path
from train.answers import read_numbers
from train.qa import (
    CHOICE_WORDS,
    QA_TYPES,
    TRAIN_PHRASINGS,
    Target,
    check_answer,
    make_dialogues,
    make_turn,
    measure,
)
from train.synth import ACTIVITIES, synthesize


def _perturbed(target: Target) -> str:
    """An answer that states a wrong value for ``target``."""
    if target.kind == "choice":
        wrong = next(c for c in target.choices if c != target.value)
        return f"I think it is {CHOICE_WORDS.get(wrong, (wrong,))[0]}."
    unit = {"deg": "°", "s": " s"}.get(target.unit, "")
    if target.unit == "index":
        return f"Rep {int(target.value) + 1}."
    if target.kind == "number":
        return f"About {float(target.value) + 2 * target.tolerance + 1.5:.2f}{unit}."
    lo, hi = target.value
    shift = 2 * target.tolerance + 0.5
    return f"From {lo + shift:.2f}{unit} to {hi + shift:.2f}{unit}."


@pytest.mark.parametrize("activity", sorted(ACTIVITIES))
@pytest.mark.parametrize("view", ["3d", "2d"])
def test_generated_answers_check_and_perturbed_ones_do_not(activity: str, view: str) -> None:
    rng = np.random.default_rng(zlib.crc32(f"{activity}-{view}".encode()))
    s = synthesize(activity, rng)
    motion = s.motion3d if view == "3d" else s.motion2d
    dialogues = make_dialogues(motion, s.labels, rng, n=6)
    assert dialogues and all(2 <= len(d.turns) <= 3 for d in dialogues)
    for d in dialogues:
        conv = d.conversations()
        assert [c["from"] for c in conv] == ["human", "gpt"] * len(d.turns)
        for turn in d.turns:
            assert check_answer(turn.qtype, turn.target, turn.answer), (turn.question, turn.answer)
            assert not check_answer(turn.qtype, turn.target, _perturbed(turn.target)), turn
            assert check_answer(turn.qtype, turn.target.to_dict(), turn.answer)  # JSON round trip


def test_every_question_type_is_made_somewhere_and_checks() -> None:
    rng = np.random.default_rng(0)
    seen: set[str] = set()
    for activity in ACTIVITIES:
        for _ in range(2):
            s = synthesize(activity, rng, fault_prob=0.5)
            facts = measure(s.motion3d, s.labels)
            for q in QA_TYPES:
                turn = make_turn(q, facts, rng)
                if turn is not None:
                    seen.add(q)
                    assert check_answer(q, turn.target, turn.answer)
    assert seen == set(QA_TYPES)


def test_answers_are_measured_from_the_motion_not_the_labels() -> None:
    rng = np.random.default_rng(3)
    s = synthesize("squat", rng, reps=4, faults=[])
    facts = measure(s.motion3d, s.labels)
    turn = make_turn("rep_count", facts, rng)
    assert turn is not None and turn.target.value == count_reps(s.motion3d, "squat").count == 4
    # Mirroring the motion flips left/right answers (this is how answers stay balanced).
    golf = synthesize("golf_swing", np.random.default_rng(4), handedness="right", faults=[])
    facts_r = measure(golf.motion3d, golf.labels)
    facts_l = measure(golf.motion3d.mirrored(), None, activity="golf_swing")
    # The same seed picks the same joint (knee or elbow) for both; try until one differs.
    pairs = [(make_turn("bend_compare", facts_r, np.random.default_rng(i)),
              make_turn("bend_compare", facts_l, np.random.default_rng(i))) for i in range(8)]  # fmt: skip
    r, m = next(p for p in pairs if p[0] is not None)
    assert r is not None and m is not None and {r.target.value, m.target.value} == {"left", "right"}


def test_no_rep_question_where_the_labels_count_other_reps() -> None:
    """Reps the synthesizer's labels contradict (another count, or a deepest point outside
    its labelled rep) ask no rep question: every target would be wrong. Without labels, as
    for a real clip, the measured reps are asked."""
    rng = np.random.default_rng(3)
    s = synthesize("squat", rng, reps=4, faults=[])
    labelled = s.labels.reps
    shifted = [(b + 1, b + 2) for _, b in labelled]  # same count, every bottom outside
    rep_types = ("rep_count", "rep_span", "rep_at", "slowest_rep", "before_after")
    for labels in (replace(s.labels, reps=labelled[:-1]), replace(s.labels, reps=shifted)):
        facts = measure(s.motion3d, labels)
        assert facts.reps == [] and facts.rep_count is None
        assert all(make_turn(q, facts, np.random.default_rng(i)) is None
                   for q in rep_types for i in range(4))  # fmt: skip
    for labels, activity in ((s.labels, None), (None, "squat")):
        turn = make_turn("rep_count", measure(s.motion3d, labels, activity), rng)
        assert turn is not None and turn.target.value == 4


def test_left_right_answers_are_balanced() -> None:
    rng = np.random.default_rng(12)
    answers = []
    for i in range(24):
        activity = ("golf_swing", "lunge", "walking", "baseball_swing")[i % 4]
        s = synthesize(activity, rng)
        facts = measure(s.motion3d, s.labels)
        for q in ("bend_compare", "front_foot"):
            turn = make_turn(q, facts, rng)
            if turn is not None:
                answers.append(turn.target.value)
    share = answers.count("left") / len(answers)
    assert len(answers) >= 15 and 0.3 <= share <= 0.7, (len(answers), share)


def test_check_answer_reads_free_text() -> None:
    side = Target("choice", "left", choices=("left", "right"))
    assert check_answer("bend_compare", side, "The left knee bends more than the right one.")
    assert not check_answer("bend_compare", side, "Right, clearly more than the left.")
    assert not check_answer("bend_compare", side, "I can't tell.")
    count = Target("number", 3.0, 0.0, "count")
    assert check_answer("rep_count", count, "You did three reps.")
    assert check_answer("rep_count", count, "3 reps")
    assert not check_answer("rep_count", count, "4 reps")
    index = Target("number", 3.0, 0.0, "index")
    assert check_answer("slowest_rep", index, "The third rep, at 2.1 s to 4.0 s, was the slowest.")
    assert check_answer("slowest_rep", index, "Rep 3 took 2.0 s.")
    assert not check_answer("slowest_rep", index, "The 2nd one.")
    angle = Target("number", 95.0, 8.0, "deg")
    assert check_answer("min_angle", angle, "At 1.2 s your knee closes to 99 degrees.")
    assert not check_answer("min_angle", angle, "At 1.2 s your knee closes to 120°.")
    span = Target("span", [1.0, 2.5], 0.35, "s")
    assert check_answer("rep_span", span, "It runs from 1.2 s to 2.4 s.")
    assert not check_answer("rep_span", span, "It runs from 1.2 s to 3.4 s.")
    coach = Target(
        "choice", "knees_caving", choices=("knees_caving", "shallow_depth", "heels_rising", "none")
    )
    assert check_answer("coach", coach, "Your knees cave in at the bottom; push them out.")
    assert not check_answer("coach", coach, "It looks solid: no clear fault.")


def test_phrasings_are_split_and_many() -> None:
    for name, spec in QA_TYPES.items():
        train, held = spec.phrasings("train"), spec.phrasings("heldout")
        assert len(spec.questions) >= 5 and len(train) == TRAIN_PHRASINGS and held, name
        assert not set(train) & set(held), name
    s = synthesize("squat", np.random.default_rng(2), reps=3)
    held_templates = {q for spec in QA_TYPES.values() for q in spec.phrasings("heldout")}
    train_templates = {q for spec in QA_TYPES.values() for q in spec.phrasings("train")}
    for d in make_dialogues(
        s.motion3d, s.labels, np.random.default_rng(0), n=8, phrasing_split="heldout"
    ):
        for turn in d.turns:
            spec = QA_TYPES[turn.qtype]
            assert any(_matches(turn.question, t) for t in spec.phrasings("heldout"))
            assert not any(_matches(turn.question, t) for t in spec.phrasings("train"))
    assert held_templates and train_templates
    with pytest.raises(ValueError, match="phrasing_split"):
        make_dialogues(s.motion3d, s.labels, np.random.default_rng(0), phrasing_split="test")


def _matches(question: str, template: str) -> bool:
    """Does ``question`` come from ``template`` (placeholders match anything)?"""
    import re

    parts = re.split(r"\{[^}]*\}", template)
    pattern = ".*".join(re.escape(p) for p in parts)
    return re.fullmatch(pattern, question[0].lower() + question[1:], re.I) is not None


def test_real_motion_answers_are_measured_and_check() -> None:
    from core.analytics import joint_angles
    from core.motion_io import load_motion

    motion = load_motion(real_path("squat_landmarks_test.csv"))
    angles = joint_angles(motion)
    dialogues = make_dialogues(motion, None, np.random.default_rng(0), n=8, activity="squat")
    kinds = set()
    for d in dialogues:
        for turn in d.turns:
            kinds.add(turn.qtype)
            assert check_answer(turn.qtype, turn.target, turn.answer)
            assert not check_answer(turn.qtype, turn.target, _perturbed(turn.target))
            assert turn.qtype not in ("coach", "fault_present", "fault_when")  # no labels
            if turn.qtype == "min_angle":  # the target is the minimum of a measured angle
                mins = [min(np.nanmin(v), 180.0) for v in angles.values() if np.isfinite(v).any()]
                assert min(abs(m - turn.target.value) for m in mins) < 0.06
    assert len(kinds) >= 3


def test_units_pick_the_right_number_in_longer_answers() -> None:
    count = Target("number", 4.0, 0.0, "count")
    assert check_answer("rep_count", count, "Between 1.5 s and 9.0 s you did 4 squat reps.")
    assert not check_answer("rep_count", count, "Between 1.5 s and 9.0 s you did 5 squat reps.")
    tempo = Target("number", 3.0, 0.5, "ratio")
    assert check_answer("golf_tempo", tempo, "Backswing 0.90 s, downswing 0.30 s: 3.1 to 1.")
    assert not check_answer("golf_tempo", tempo, "Backswing 0.90 s, downswing 0.20 s: 4.5:1.")
    when = Target("number", 2.1, 0.15, "s")
    assert check_answer("golf_event_time", when, "Frame 63, which is 2.1 seconds in.")


@pytest.mark.parametrize("qtype", ["max_angle", "min_angle", "max_lean"])
def test_extreme_angle_moments_span_the_frames_that_answer_it(qtype: str) -> None:
    """The moments of an extreme-angle turn are the spans whose angle stays within the
    answer's tolerance of the extreme: every frame in them answers the question and every
    frame that does lies in one (a 3-rep squat is as deep at each of its bottoms)."""
    s = synthesize("squat", np.random.default_rng(5), reps=3)
    facts = measure(s.motion3d, s.labels)
    times = s.motion3d.timestamps
    spans = []
    for seed in range(6):
        turn = make_turn(qtype, facts, np.random.default_rng(seed))
        assert turn is not None and turn.moments
        name = "spine_forward" if qtype == "max_lean" else None
        if name is None:
            name = next(k for k in facts.angles if k.endswith(("knee", "elbow", "hip", "shoulder"))
                        and f"{k.split('_')[0]} {k.split('_')[1]}" in turn.question)  # fmt: skip
        series = facts.angles[name]
        inside = np.zeros(len(times), dtype=bool)
        for a, b in turn.moments:
            inside |= (times >= a - 1e-6) & (times <= b + 1e-6)
        value = float(turn.target.value)
        extreme = np.nanmax(series) if qtype != "min_angle" else np.nanmin(series)
        assert abs(min(extreme, 180.0) - value) < 0.1
        near = np.abs(series - extreme) <= turn.target.tolerance
        assert np.array_equal(inside, near)
        spans.append(len(turn.moments))
    if qtype == "min_angle":  # knees and hips bottom out once per rep
        assert max(spans) >= 3


def test_bend_compare_moments_span_the_deeper_sides_bottoms() -> None:
    """The question "which knee bends more" is answered on every frame where the deeper
    side is within the angle tolerance of its bottom, not only at its deepest frame: the
    moments are those spans, and on each of their frames that side is more bent than the
    other ever is."""
    from train.qa import ANGLE_TOLERANCE

    s = synthesize("golf_swing", np.random.default_rng(4), handedness="right", faults=[])
    facts = measure(s.motion3d, s.labels)
    times = s.motion3d.timestamps
    turns = [make_turn("bend_compare", facts, np.random.default_rng(i)) for i in range(8)]
    turns = [t for t in turns if t is not None]
    assert turns
    for turn in turns:
        part = "knee" if "knee" in turn.question else "elbow"
        side, other = (facts.angles[f"{s}_{part}"] for s in
                       (turn.target.value, "right" if turn.target.value == "left" else "left"))  # fmt: skip
        inside = np.zeros(len(times), dtype=bool)
        for a, b in turn.moments:
            inside |= (times >= a - 1e-6) & (times <= b + 1e-6)
        assert np.array_equal(inside, np.abs(side - np.nanmin(side)) <= ANGLE_TOLERANCE)
        assert inside.sum() > 1 and float(np.nanmax(side[inside])) < float(np.nanmin(other))


def test_event_turns_skip_events_the_labels_put_elsewhere() -> None:
    """A baseball swing whose labels agree with the measured events gets foot-plant
    questions; once its label puts the foot plant 1 s away from the measured one, no
    question asks for it, and the others still come."""
    from dataclasses import replace

    s = synthesize("baseball_swing", np.random.default_rng(6), faults=[])
    facts = measure(s.motion3d, s.labels)
    assert facts.baseball is not None and "foot_plant" in s.labels.events
    plant = facts.baseball.times["foot_plant"]

    def asked(f) -> set[float]:
        turns = [make_turn("baseball_event_time", f, np.random.default_rng(i)) for i in range(40)]
        return {float(t.target.value) for t in turns if t is not None}

    assert round(plant, 2) in asked(facts)
    moved = dict(s.labels.events)
    moved["foot_plant"] = int(
        np.clip(moved["foot_plant"] + s.motion3d.fps, 0, s.motion3d.num_frames - 1)
    )
    shifted = replace(facts, labels=replace(s.labels, events=moved))
    left = asked(shifted)
    assert round(plant, 2) not in left and len(left) >= 3


@pytest.mark.parametrize(("handedness", "asked"), [("left", True), ("right", False)])
def test_stride_start_is_asked_only_where_the_detector_finds_the_labelled_one(
    handedness: str, asked: bool
) -> None:
    """The detector's stride start is checked against the synthesizer's (until session 36
    it had no label and was always asked). On this swing it is found 1 frame after the
    label for a left-handed batter and 12 frames after it for a right-handed one."""
    s = synthesize("baseball_swing", np.random.default_rng(0), faults=[], handedness=handedness)
    facts = measure(s.motion3d, s.labels)
    assert facts.baseball is not None
    off = abs(facts.baseball.frames["stride"] - s.labels.events["stride"])
    assert (off <= 3) is asked
    turns = [make_turn("baseball_event_time", facts, np.random.default_rng(i)) for i in range(40)]
    strides = [t for t in turns if t is not None and "stride" in t.question]
    assert bool(strides) is asked and sum(t is not None for t in turns) - len(strides) >= 30
    assert all(t.target.value == round(facts.baseball.times["stride"], 2) for t in strides)


@pytest.mark.parametrize(("activity", "lowest"), [("squat", True), ("push_up", True),
                                                   ("jumping_jack", False)])  # fmt: skip
def test_deepest_rep_is_the_lowest_dip_or_the_highest_rise(activity: str, lowest: bool) -> None:
    """A squat's deepest rep has the smallest knee angle, a jumping jack's the highest arms
    (until session 24 a dip's target was its shallowest rep)."""
    rng = np.random.default_rng(zlib.crc32(activity.encode()))
    made = 0
    for _ in range(12):
        s = synthesize(activity, rng)
        facts = measure(s.motion3d, s.labels)
        turn = make_turn("deepest_rep", facts, rng)
        if turn is None:
            continue
        peaks = [r.peak_value for r in facts.reps]
        best = min(peaks) if lowest else max(peaks)
        assert peaks[int(turn.target.value) - 1] == best, (peaks, turn.answer)
        made += 1
    assert made >= 3


def test_golf_phase_targets_lie_in_the_facts_phase_spans() -> None:
    """The phase a question names is the one the analytics' facts give that time (one table,
    ``core.analytics.GOLF_PHASES``, behind both)."""
    rng = np.random.default_rng(7)
    checked = 0
    for _ in range(6):
        s = synthesize("golf_swing", rng)
        facts = measure(s.motion3d, s.labels)
        spans = {name: (a, b) for name, a, b in facts.golf.phase_spans()}
        turn = make_turn("golf_phase", facts, rng)
        if turn is None:
            continue
        t = read_numbers(turn.question, "s")[0]
        a, b = spans[turn.target.value]
        assert a < t < b, (turn.question, turn.target.value, spans)
        checked += 1
    assert checked >= 3
