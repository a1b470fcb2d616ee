"""Where an event a question names lies against a time it names: the line that answers "Is
the finish before or after 1.6 s?" ("The finish (2.33 s) comes after 1.60 s.").

The event phrases here are the one vocabulary of the questions that name an event: the data
engine asks with them (``train.qa``) and the line is written with them. The LLM does not
compare two numbers it reads or writes (``docs/issue10/session42/RULE.md``, part 3), so the
analytics state the comparison.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from core.written_numbers import ORDINALS, moments_in_seconds

GOLF_EVENT_WORDS = {
    "address": "address", "toe_up": "toe-up position", "mid_backswing": "middle of the backswing",
    "top": "top of the backswing", "mid_downswing": "middle of the downswing", "impact": "impact",
    "mid_follow_through": "middle of the follow-through", "finish": "finish",
}  # fmt: skip
BASEBALL_EVENT_WORDS = {
    "load": "load", "stride": "start of the stride", "foot_plant": "front foot plant",
    "contact": "contact", "follow_through": "follow-through",
}  # fmt: skip
# a rep's instants: key -> phrase ("the start of the second rep")
REP_POINT_WORDS = {"start": "start", "deepest": "deepest point"}
_REP_POINT = re.compile(
    rf"\b({'|'.join(REP_POINT_WORDS.values())}) of (?:the |my )?({'|'.join(ORDINALS)}) rep\b"
)


@dataclass(frozen=True)
class NamedEvent:
    """An event a question names: ``key`` of ``GOLF_EVENT_WORDS`` / ``BASEBALL_EVENT_WORDS``,
    or of ``REP_POINT_WORDS`` with ``rep`` (0-based) set."""

    key: str
    phrase: str
    rep: int | None = None


def _phrase_pattern(phrase: str) -> str:
    # "the top of my backswing" names the same event as "the top of the backswing"
    words = ["(?:the|my)" if w == "the" else re.escape(w) for w in phrase.split()]
    return r"\b" + r"\s+".join(words) + r"\b"


def named_events(question: str, words: Mapping[str, str]) -> list[NamedEvent]:
    """The events of ``words`` the question names, in question order, each once; a phrase
    inside a longer named one ("follow-through" in "middle of the follow-through") is not
    named on its own."""
    low = question.lower()
    found: list[tuple[int, int, str]] = []
    for key, phrase in sorted(words.items(), key=lambda kv: -len(kv[1])):
        for m in re.finditer(_phrase_pattern(phrase), low):
            if not any(a <= m.start() < b or a < m.end() <= b for a, b, _ in found):
                found.append((m.start(), m.end(), key))
    keys = list(dict.fromkeys(k for _, _, k in sorted(found)))
    return [NamedEvent(k, words[k]) for k in keys]


def named_rep_points(question: str) -> list[NamedEvent]:
    """The rep instants the question names ("the deepest point of the second rep"), in order."""
    point_of = {phrase: key for key, phrase in REP_POINT_WORDS.items()}
    out = []
    for m in _REP_POINT.finditer(question.lower()):
        rep = ORDINALS.index(m.group(2))
        out.append(NamedEvent(point_of[m.group(1)], f"{m.group(1)} of the {m.group(2)} rep", rep))
    return list(dict.fromkeys(out))


def order_text(event: NamedEvent, event_s: float, t: float) -> str:
    """ "The finish (2.33 s) comes after 1.60 s." (an event at ``t`` itself comes after it,
    as the data engine's targets have it)."""
    side = "before" if event_s < t else "after"
    return f"The {event.phrase} ({event_s:.2f} s) comes {side} {t:.2f} s."


def question_moments(question: str) -> list[float]:
    """The non-negative moments (seconds) the question names, in order, each once."""
    return list(dict.fromkeys(t for t in moments_in_seconds(question) if t >= 0))
