"""Numbers as people and the model write them ("1.8 s", "95°", "3 reps"): the one reader
behind answer scoring (``train.answers``) and the times a question names
(``core.llamo.prompts.question_times``), so a time is never read two ways."""

from __future__ import annotations

import re

ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
            "tenth")  # fmt: skip
# A "-" right after a digit is a range ("2.1-2.9 s"), not a minus sign.
NUMBER = re.compile(r"(?<![\d.])-?\d+(?:\.\d+)?")
UNIT_AFTER = {
    "deg": re.compile(r"^\s*(°|deg|degree)"),
    "s": re.compile(r"^\s*(s\b|sec|second)"),
    "count": re.compile(r"^\s*(?:[a-z-]+\s+){0,2}(reps?\b|repetitions?\b|times\b)", re.I),
    "ratio": re.compile(r"^\s*(:|to)\s*1\b"),
}


# A time right after these words is a length, not a moment: "longer than 1 s", "for 3 s",
# "takes about 2 s". "Earlier or later than 1.3 s" and "around 1.8 s" stay moments.
LENGTH_BEFORE = re.compile(
    r"\b(?:(?:longer|shorter|more|less|quicker|faster|slower)\s+than|over|under|for|within|"
    r"in|takes?|took|lasts?|lasted|every)\s+(?:about\s+|around\s+|roughly\s+)?$",
    re.I,
)
# ... or right before these: "a 2 s hold", "3 seconds long".
LENGTH_AFTER = re.compile(r"^\s*(?:s\b|sec\w*)[\s-]*(?:long|hold|pause|rest|break)\b", re.I)


def _with_unit(text: str, unit: str) -> list[re.Match[str]]:
    after = UNIT_AFTER[unit]
    return [m for m in NUMBER.finditer(text) if after.match(text[m.end() :])]


def numbers_with_unit(text: str, unit: str) -> list[float]:
    """The numbers of ``text`` written with ``unit`` (a key of ``UNIT_AFTER``), in text order."""
    return [float(m.group()) for m in _with_unit(text, unit)]


def moments_in_seconds(text: str) -> list[float]:
    """The times ``text`` names as moments ("at 1.8 s", "the 3 second mark"), in text order;
    lengths ("longer than 1 s", "for 3 s", "a 2 s hold") are left out."""
    return [
        float(m.group())
        for m in _with_unit(text, "s")
        if not LENGTH_BEFORE.search(text[: m.start()]) and not LENGTH_AFTER.match(text[m.end() :])
    ]
