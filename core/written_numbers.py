"""Numbers as people and the model write them ("1.8 s", "95°", "3 reps"): the one reader
behind answer scoring (``train.answers``) and the times a question names
(``core.llamo.prompts.question_times``), so a time is never read two ways."""

from __future__ import annotations

import re

# A "-" right after a digit is a range ("2.1-2.9 s"), not a minus sign.
NUMBER = re.compile(r"(?<![\d.])-?\d+(?:\.\d+)?")
UNIT_AFTER = {
    "deg": re.compile(r"^\s*(°|deg|degree)"),
    "s": re.compile(r"^\s*(s\b|sec|second)"),
    "count": re.compile(r"^\s*(?:[a-z-]+\s+){0,2}(reps?\b|repetitions?\b|times\b)", re.I),
    "ratio": re.compile(r"^\s*(:|to)\s*1\b"),
}


def numbers_with_unit(text: str, unit: str) -> list[float]:
    """The numbers of ``text`` written with ``unit`` (a key of ``UNIT_AFTER``), in text order."""
    after = UNIT_AFTER[unit]
    return [float(m.group()) for m in NUMBER.finditer(text) if after.match(text[m.end() :])]
