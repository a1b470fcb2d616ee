"""The one registry of prompt templates (LLaVA-style conversation building).

The motion enters the prompt as the text placeholder ``<motion>`` in the FIRST user turn.
The model wrapper splits the rendered prompt at that string and splices the projected motion
tokens there, so the placeholder is never a real token of the LLM's vocabulary.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.analytics.order import question_moments
from core.checks import require_int
from core.skeleton import ANGLE_PARTS, JOINT_ANGLES

if TYPE_CHECKING:
    from core.analytics.report import MotionReport

MOTION_PLACEHOLDER = "<motion>"
# Analytics facts given to the model (the app's prompt and the training data's): the timed
# facts (events, reps) come first; more lines cost prompt tokens (about 11 s of CPU prefill for
# all of a golf report vs 3 s for none).
MAX_PROMPT_FACTS = 8
# The words a question names the trunk's lean with, and the analytics' angle for it.
TRUNK_WORDS = ("trunk", "torso", "spine", "upper body", "lean", "waist")
TRUNK_ANGLE = "spine_forward"


@dataclass(frozen=True)
class PromptTemplate:
    """A named ``str.format`` template; ``fields`` are the names it needs."""

    name: str
    template: str
    fields: tuple[str, ...] = ()

    def format(self, **values: object) -> str:
        missing = [f for f in self.fields if f not in values]
        if missing:
            raise ValueError(f"prompt {self.name!r}: missing values for {missing}")
        return self.template.format(**values)


PROMPTS: dict[str, PromptTemplate] = {
    t.name: t
    for t in (
        PromptTemplate(
            "system",
            "You are LLaMo, a friendly sports and fitness coach. You see the player's motion "
            "as a skeleton sequence. Answer briefly and concretely, name the moment (in "
            "seconds) you refer to, and give one thing to practise.",
        ),
        PromptTemplate(
            "system_with_context",
            "{system}\nFacts measured from this clip:\n{context}",
            ("system", "context"),
        ),
        # Language guidance for the Cross Talker when a turn has no words of its own.
        PromptTemplate("default_question", "Describe this motion."),
        PromptTemplate("user_motion", MOTION_PLACEHOLDER + "\n{question}", ("question",)),
        # FiGMo-style textual time stamp written before each motion token (timestamp_mode "text").
        PromptTemplate("timestamp", "t={seconds:.2f}s", ("seconds",)),
        # After the viewpoints (viewpoint_group_gap > 0): how many groups their times form.
        PromptTemplate("viewpoint_groups", " ({groups} separate moments)", ("groups",)),
    )
}

# ChatML, used only when a tokenizer ships without a chat template.
FALLBACK_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def clean_text(text: str) -> str:
    """User text with any literal placeholder removed (only the wrapper places it)."""
    return text.replace(MOTION_PLACEHOLDER, "").strip()


def system_prompt(context: str | None = None) -> str:
    """The coach's system prompt, with analytics facts appended when given."""
    system = PROMPTS["system"].format()
    if context and context.strip():
        return PROMPTS["system_with_context"].format(system=system, context=context.strip())
    return system


def build_messages(
    question: str,
    history: Sequence[tuple[str, str]] = (),
    *,
    context: str | None = None,
) -> list[dict[str, str]]:
    """Chat messages for ``question`` after ``history`` ((question, answer) pairs).

    The motion placeholder sits in the first user turn, as during training.
    """
    turns: list[dict[str, str]] = []
    for past_q, past_a in history:
        turns += [{"from": "human", "value": past_q}, {"from": "gpt", "value": past_a}]
    turns.append({"from": "human", "value": question})
    return conversation_to_messages(turns, context=context)


def conversation_to_messages(
    conversations: Sequence[dict[str, str]], *, context: str | None = None
) -> list[dict[str, str]]:
    """Training-data turns ``{"from": "human"|"gpt", "value": ...}`` -> chat messages.

    A literal ``<motion>`` in the data is dropped and the placeholder put at the start of
    the first human turn, so every example has exactly one.
    """
    roles = {"human": "user", "gpt": "assistant"}
    messages = [{"role": "system", "content": system_prompt(context)}]
    placed = False
    for i, turn in enumerate(conversations):
        role = roles.get(turn.get("from", ""))
        if role is None:
            raise ValueError(
                f"conversations[{i}]: 'from' must be 'human' or 'gpt', got {turn.get('from')!r}"
            )
        value = turn.get("value")
        if not isinstance(value, str):
            raise ValueError(f"conversations[{i}]: 'value' must be a string")
        text = clean_text(value) if role == "user" else value.strip()
        if role == "user" and not placed:
            text, placed = PROMPTS["user_motion"].format(question=text), True
        messages.append({"role": role, "content": text})
    if not placed:
        raise ValueError("conversations: needs at least one 'human' turn")
    return messages


@dataclass(frozen=True, kw_only=True)
class PromptBudget:
    """How many lines the facts block gives (:func:`facts_context`): at most ``max_facts`` of
    the analytics' facts, then the range lines of the last ``max_joints`` joints, the lines
    saying which side bends more of the last ``max_sides`` parts whose sides the questions
    compare, the lines about the last ``max_moments`` times the questions name, and the lines
    saying where the last ``max_orders`` events a question names lie against its times. One value,
    from the model's config (``LLaMoConfig.prompt_budget``), for the app, the data engine and
    the evaluation."""

    max_facts: int = MAX_PROMPT_FACTS
    max_moments: int = 0
    max_joints: int = 0
    max_sides: int = 0
    max_orders: int = 0

    def __post_init__(self) -> None:
        for name in BUDGET_LINES:
            require_int(name, getattr(self, name), BUDGET_MINIMUM.get(name, 0))


# the lines each of PromptBudget's fields counts (the data engine's and the evaluation's flags)
BUDGET_LINES = {
    "max_facts": "facts lines",
    "max_moments": "lines about the times the questions name",
    "max_joints": "range lines of the joints the questions name",
    "max_sides": "lines saying which side bends more, of the parts whose sides the questions compare",
    "max_orders": "lines saying where an event a question names lies against a time it names",
}
BUDGET_MINIMUM = {"max_facts": 1}  # the others may be 0 (none of those lines)


def facts_context(
    activity: str,
    facts: Sequence[str],
    budget: PromptBudget = PromptBudget(),
    moments: Sequence[str] = (),
    joints: Sequence[str] = (),
    sides: Sequence[str] = (),
    orders: Sequence[str] = (),
) -> str:
    """The facts block of the system prompt, exactly as the app and the training data give it:
    the first ``budget.max_facts`` lines (evaluations and data engine runs may try another
    budget), then the last ``budget.max_joints`` of ``joints``, the range lines of the joints
    the questions name, that those lines lack, the last ``budget.max_sides`` of ``sides``, the
    lines saying which side of a compared part bends more, then the last
    ``budget.max_moments`` of ``moments``, the analytics' lines about the times the questions
    name, then the last ``budget.max_orders`` of ``orders``, the lines saying where a named
    event lies against a named time (all outside the facts budget: the user asked about
    them)."""
    lines = list(facts[: budget.max_facts])
    named = list(joints)[-budget.max_joints :] if budget.max_joints else []
    lines += [j for j in named if j not in lines]
    lines += list(sides)[-budget.max_sides :] if budget.max_sides else []
    lines += list(moments)[-budget.max_moments :] if budget.max_moments else []
    lines += list(orders)[-budget.max_orders :] if budget.max_orders else []
    return f"Activity: {activity.replace('_', ' ')}.\n" + "\n".join(lines)


def question_joints(questions: Sequence[str]) -> list[str]:
    """The joints the questions name ("my left knee" -> "left_knee"; the trunk's lean ->
    "spine_forward"), in order, each once."""
    out: list[str] = []
    for q in questions:
        low = q.lower()
        named = [(low.find(n.replace("_", " ")), n) for n in JOINT_ANGLES]
        trunk = [m.start() for w in TRUNK_WORDS for m in re.finditer(rf"\b{w}", low)]
        named.append((min(trunk, default=-1), TRUNK_ANGLE))
        out += [n for at, n in sorted(named) if at >= 0 and n not in out]
    return out


def compared_parts(questions: Sequence[str]) -> list[str]:
    """The parts (``ANGLE_PARTS``: "knee", "elbow", ...) whose two sides the questions compare,
    in order, each once: the only part a question names, with both sides ("Is my left or right
    knee more bent?"), or "which knee", "which side's knee", "both knees"."""
    out: list[str] = []
    for q in questions:
        low = q.lower()
        named = {p: m.start() for p in ANGLE_PARTS if (m := re.search(rf"\b{p}s?\b", low))}
        both = len(named) == 1 and all(re.search(rf"\b{s}\b", low) for s in ("left", "right"))
        asked = [p for p in named if re.search(rf"\bwhich (side's )?{p}\b|\bboth {p}s\b", low)]
        out += [p for p in sorted(named, key=named.get) if (both or p in asked) and p not in out]
    return out


def question_times(questions: Sequence[str]) -> list[float]:
    """The moments the questions name in seconds ("at 1.8 s", "the 2 second mark"), in order,
    each once; lengths ("longer than 1 s") are not moments."""
    return list(dict.fromkeys(t for q in questions for t in question_moments(q)))


def report_context(
    report: MotionReport,
    budget: PromptBudget = PromptBudget(),
    questions: Sequence[str] = (),
    activity: str | None = None,
) -> str:
    """A report's facts block as the model's prompt gets it (the app's chat and the data
    engine's training lines alike): ``activity`` by name (default: the report's guess when
    supported, else why not), the report's trusted facts within ``budget``, then the lines
    about the joints, the compared sides and the times the ``questions`` so far name, and where
    the events they name lie against those times."""
    if activity is None:
        guess = report.activity
        activity = guess.label if guess.supported else str(guess)
    return facts_context(
        activity,
        report.prompt_facts(),
        budget,
        moments=report.prompt_moments(question_times(questions)),
        joints=report.prompt_joints(question_joints(questions)),
        sides=report.side_lines(compared_parts(questions)),
        orders=report.prompt_orders(questions),
    )


def timestamp_text(seconds: float) -> str:
    """'t=1.23s' (FiGMo-style textual time of one motion token)."""
    return PROMPTS["timestamp"].format(seconds=seconds)


def time_groups(times: Sequence[float], gap: float, min_size: int = 1) -> int:
    """Groups of the sorted ``times`` whose neighbours are at most ``gap`` seconds apart,
    counting only the groups of at least ``min_size`` times."""
    ts = sorted(times)
    sizes: list[int] = []
    for i, t in enumerate(ts):
        if i == 0 or t - ts[i - 1] > gap:
            sizes.append(0)
        sizes[-1] += 1
    return sum(n >= min_size for n in sizes)


def viewpoint_groups_text(times: Sequence[float], gap: float) -> str:
    """' (3 separate moments)': the group count written after the viewpoint tokens."""
    return PROMPTS["viewpoint_groups"].format(groups=time_groups(times, gap))
