"""The prompt registry's text helpers: the times and joints a question names, the facts block."""

from __future__ import annotations

import pytest

from core.llamo.prompts import (
    PromptBudget,
    compared_parts,
    facts_context,
    question_joints,
    question_times,
)


def test_question_times_reads_the_times_people_write_and_nothing_else() -> None:
    asked = [
        "At 1.8 s, is my left or right foot forward?",
        "What swing phase is shown at 2.05 s?",
        "At the 3 second mark, which foot is further forward?",
        "How long did my second repetition last?",  # "second" with no number: no time
        "Is my knee angle 95° at the top?",  # degrees, not seconds
        "Does impact come before or after 1.8 s?",  # named before: kept once
    ]
    assert question_times(asked) == [1.8, 2.05, 3.0]
    assert question_times(["Between 1.2 s and 3.4 sec, how many reps?"]) == [1.2, 3.4]


def test_question_times_leave_out_lengths() -> None:
    lengths = [
        "Is my backswing longer than 1 s?",
        "Does rep 2 take more than 2.5 seconds?",
        "Do I hold the bottom for 2 s?",
        "Does the downswing take about 0.3 s?",
        "Is that a 3 second hold?",
    ]
    assert question_times(lengths) == []
    moments = [
        "Is the contact earlier or later than 1.3 s?",  # a data-engine template
        "Which leg is in front around 1.8 s?",
        "Is there a 2 s pause after 4.5 s?",
    ]
    assert question_times(moments) == [1.3, 1.8, 4.5]


def test_facts_block_keeps_the_last_moment_lines_outside_the_facts_budget() -> None:
    facts = [f"fact {i}" for i in range(12)]
    moments = ["At 1.00 s: a.", "At 2.00 s: b.", "At 3.00 s: c."]
    block = facts_context(
        "golf_swing", facts, PromptBudget(max_facts=10, max_moments=2), moments
    ).splitlines()
    assert block == ["Activity: golf swing.", *facts[:10], "At 2.00 s: b.", "At 3.00 s: c."]
    assert facts_context(
        "golf_swing", facts, PromptBudget(max_facts=10, max_moments=0), moments
    ) == facts_context("golf_swing", facts, PromptBudget(max_facts=10))
    with pytest.raises(ValueError, match="max_moments"):
        PromptBudget(max_facts=10, max_moments=-1)
    with pytest.raises(ValueError, match="max_facts"):
        PromptBudget(max_facts=0)


def test_facts_block_puts_the_compared_sides_between_the_joints_and_the_moments() -> None:
    facts = ["fact 1", "fact 2"]
    joints, moments = ["Left knee: 90 to 170 deg."], ["At 1.00 s: a."]
    sides = ["The left knee bends more than ...", "The right elbow bends more than ..."]
    budget = PromptBudget(max_facts=10, max_moments=1, max_joints=1, max_sides=1)
    block = facts_context("squat", facts, budget, moments, joints, sides).splitlines()
    assert block[3:] == [joints[0], sides[1], moments[0]]  # the last compared part's line
    without = PromptBudget(max_facts=10, max_moments=1, max_joints=1)
    assert facts_context("squat", facts, without, moments, joints, sides) == facts_context(
        "squat", facts, without, moments, joints
    )
    with pytest.raises(ValueError, match="max_sides"):
        PromptBudget(max_sides=-1)


def test_facts_block_puts_the_order_lines_last_within_their_budget() -> None:
    facts, moments = ["fact 1"], ["At 1.00 s: a."]
    orders = ["The finish (2.33 s) comes after 1.60 s.", "The top (1.20 s) comes before 1.60 s."]
    budget = PromptBudget(max_facts=10, max_moments=1, max_orders=1)
    block = facts_context("golf_swing", facts, budget, moments, orders=orders).splitlines()
    assert block[1:] == [facts[0], moments[0], orders[1]]  # the last named event's line
    without = PromptBudget(max_facts=10, max_moments=1)  # the shipped model's prompt: unchanged
    assert facts_context("golf_swing", facts, without, moments, orders=orders) == facts_context(
        "golf_swing", facts, without, moments
    )
    with pytest.raises(ValueError, match="max_orders"):
        PromptBudget(max_orders=-1)


def test_question_joints_reads_the_joints_a_question_names_in_order() -> None:
    asked = [
        "How straight does my left knee get?",  # a data-engine template
        "Is my right elbow bent more than my left knee?",  # the knee named before: kept once
        "What's the minimum RIGHT HIP angle?",
        "Which knee bends more?",  # no side: no one joint
        "Is the cleaning done?",  # "lean" inside a word is no lean
        "How far does my torso lean?",  # the trunk's lean
        "What is my maximum trunk lean?",  # named before: kept once
    ]
    assert question_joints(asked) == ["left_knee", "right_elbow", "right_hip", "spine_forward"]
    assert question_joints(["Do I lean forward while my left knee bends?"]) == [
        "spine_forward",
        "left_knee",
    ]


def test_facts_block_adds_the_asked_joints_lines_it_lacks_before_the_moments() -> None:
    facts = [f"fact {i}" for i in range(11)] + ["Left knee: 90 to 170 deg."]
    joints = ["Left knee: 90 to 170 deg.", "Right hip: 40 to 170 deg.", "Left elbow: 5 to 9 deg."]
    moments = ["At 1.00 s: a."]
    block = facts_context(
        "squat", facts, PromptBudget(max_facts=12, max_moments=1, max_joints=2), moments, joints
    ).splitlines()
    # the knee's line is in the block already: only the last two named, less what is there
    assert block[-3:] == ["Right hip: 40 to 170 deg.", "Left elbow: 5 to 9 deg.", "At 1.00 s: a."]
    assert len(block) == 1 + 12 + 2 + 1
    cut = facts_context(
        "squat", facts, PromptBudget(max_facts=10, max_moments=1, max_joints=3), moments, joints
    ).splitlines()
    assert cut[11:] == [*joints, "At 1.00 s: a."]  # cut by the budget: the knee's line comes back
    plain = facts_context("squat", facts, PromptBudget(max_facts=10))
    assert (
        facts_context(
            "squat", facts, PromptBudget(max_facts=10, max_moments=0, max_joints=0), (), joints
        )
        == plain
    )
    with pytest.raises(ValueError, match="max_joints"):
        PromptBudget(max_facts=10, max_moments=0, max_joints=-1)


def test_compared_parts_reads_the_questions_that_compare_a_parts_two_sides() -> None:
    compared = [  # the data engine's bend_compare templates, then a user's wording
        "Which knee bends more, the left or the right?",
        "Is my left or right elbow more bent?",
        "Which side's knee flexes the most?",
        "Comparing both elbows, which one bends deeper?",
        "Left knee or right knee: which one closes more?",
        "Which elbow reaches the smaller angle?",
        "my left hip or my right hip, which is tighter",
    ]
    assert [compared_parts([q]) for q in compared] == [
        ["knee"], ["elbow"], ["knee"], ["elbow"], ["knee"], ["elbow"], ["hip"]
    ]  # fmt: skip
    one_side = [
        "What is the smallest angle of my left knee?",
        "Is my right elbow bent more than my left knee?",  # two parts, one side each
        "Do my knees cave in?",  # a part, nothing compared
        "Which rep has sagging hips?",
    ]
    assert compared_parts(one_side) == []
    assert compared_parts(compared[:3]) == ["knee", "elbow"]  # in order, each once
