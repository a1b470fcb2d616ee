"""Reading free-text answers: the one parser behind ``train.qa.check_answer`` (accuracy) and
the evaluation's span IoU and count metrics, so one answer is never read two ways.

* numbers in text order; with a unit ("deg", "s", "count", "ratio") the numbers written with
  that unit come first when there are any; "index" reads "rep 3" / "3rd" / "third";
* spans: the first two numbers written in seconds, else the first "A to B" / "A-B" /
  "between A and B" pair, ordered (start, end);
* counts: the first number written before "rep(s)", "repetition(s)" or "times" (two words
  may sit between: "3 squat reps"), else the first number, else a number word up to twenty;
* choices: the choice whose word appears first.
"""

from __future__ import annotations

import re

from core.written_numbers import NUMBER as _NUMBER
from core.written_numbers import ORDINALS, numbers_with_unit
from core.written_numbers import UNIT_AFTER as _UNIT_AFTER

CARDINALS = tuple(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty".split()
)
_UNSIGNED = r"(\d+(?:\.\d+)?)"
_INDEX = re.compile(r"\brep(?:etition)?\s*(?:number\s*|#\s*)?(\d+)|\b(\d+)(?:st|nd|rd|th)\b")
_SPAN = re.compile(
    _UNSIGNED
    + r"\s*(?:s|sec|secs|seconds)?\s*(?:to|until|till|and|-|–|—)\s*(?:t\s*=\s*)?"
    + _UNSIGNED
)


def _words(text: str, vocab: tuple[str, ...], offset: int) -> list[tuple[int, float]]:
    pattern = r"\b(" + "|".join(vocab) + r")\b"
    return [(m.start(), float(vocab.index(m.group(1).lower()) + offset))
            for m in re.finditer(pattern, text, re.I)]  # fmt: skip


def read_numbers(text: str, unit: str = "") -> list[float]:
    """Numbers in text order; those written with ``unit`` first when the text has any."""
    found = [(m.start(), float(m.group()), m.end()) for m in _NUMBER.finditer(text)]
    if unit == "index":
        hits = [(m.start(), float(m.group(1) or m.group(2))) for m in _INDEX.finditer(text)]
        ordinals = _words(text, ORDINALS, 1)
        return [v for _, v in sorted(hits + ordinals)] or [v for _, v, _ in found]
    if unit in _UNIT_AFTER:
        with_unit = [v for _, v, end in found if _UNIT_AFTER[unit].match(text[end:])]
        if with_unit:
            return with_unit
    values = [v for _, v, _ in found]
    return values or [v for _, v in _words(text, CARDINALS, 0)]  # "three reps"


def read_count(text: str) -> float | None:
    """The answer's count (decimals kept: "about 1.6 reps" -> 1.6), or None."""
    values = read_numbers(text, "count")
    return values[0] if values else None


def read_span(text: str) -> tuple[float, float] | None:
    """The answer's time span (start, end) in seconds, or None."""
    with_unit = [abs(v) for v in numbers_with_unit(text, "s")]
    if len(with_unit) >= 2:
        a, b = with_unit[:2]
    else:
        match = _SPAN.search(text)
        if match is None:
            return None
        a, b = float(match.group(1)), float(match.group(2))
    return (min(a, b), max(a, b))


def read_choice(
    text: str, choices: tuple[str, ...], words: dict[str, tuple[str, ...]]
) -> str | None:
    """The choice whose word (``words[choice]``, default the choice itself) comes first."""
    best: tuple[int, str] | None = None
    for choice in choices:
        for word in words.get(choice, (choice.replace("_", " "),)):
            m = re.search(r"\b" + re.escape(word), text, re.I)
            if m and (best is None or m.start() < best[0]):
                best = (m.start(), choice)
    return best[1] if best else None
