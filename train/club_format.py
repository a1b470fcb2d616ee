"""A club's own Q&A file: the training format plus what a coach knows about each answer.

One line per clip dialogue (``"video"``: a clip name in the clips folder)::

    {"video": "anna_driver.mp4",
     "conversations": [
        {"from": "human", "value": "When is the top of my backswing?"},
        {"from": "gpt", "value": "At 3.97 s, the club is parallel...", "frame": 119},
        {"from": "human", "value": "How many practice swings?"},
        {"from": "gpt", "value": "2 swings.", "kind": "count"}],
     "meta": {"activity": "golf_swing"}}

On a ``gpt`` turn a coach may add the moment the answer refers to, in ONE of these keys:
``"time": 3.9`` (seconds), ``"span": [3.8, 4.1]`` (seconds), ``"frame": 118``,
``"frames": [110, 125]`` (frame numbers of the clip, 0 = first), or ``"moments":
[[s, e], ...]`` (seconds, several). ``train.prepare`` turns them into the training format's
``moments`` (seconds, at the clip's own fps): the Cross Talker's grounding targets and what
the evaluation checks the answer's time against. Also optional on a ``gpt`` turn:
``"kind"``: how the evaluation scores it (``count``, ``number``, ``time`` or ``text``;
guessed when absent, see ``guess_kind``) and ``"tolerance"`` (seconds for a time, the
answer's unit for a number). ``meta`` may hold ``activity`` and ``note``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from core.errors import InputError
from train.answers import read_numbers
from train.data import Sample, iter_json_lines, parse_sample

MOMENT_KEYS = ("time", "span", "frame", "frames", "moments")
ANSWER_KINDS = ("count", "number", "time", "text")
CLUB_TURN_KEYS = frozenset({"from", "value", "kind", "tolerance", *MOMENT_KEYS})
CLUB_META_KEYS = frozenset({"activity", "note"})
LINE_KEYS = frozenset({"video", "conversations", "meta"})
# Default tolerances of the evaluation: a time within 0.25 s (about 8 frames at 30 fps) of
# the coach's moment; a number within 10% of the coach's.
TIME_TOLERANCE_S = 0.25
NUMBER_TOLERANCE_REL = 0.10
SECONDS = re.compile(r"\d\s*(?:s\b|sec|second)", re.I)
_HOW_MANY = re.compile(r"\bhow many\b|\bcount\b|\bnumber of\b", re.I)


@dataclass(frozen=True)
class ClubTurn:
    """What the coach said about one answer: its kind, tolerance and moment (as given)."""

    kind: str
    tolerance: float | None
    moment_key: str | None = None
    moment: object = None


@dataclass
class ClubLine:
    sample: Sample  # the training-format sample (no moments yet: they need the clip's fps)
    turns: list[ClubTurn]  # one per gpt turn


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0


def _check_moment(key: str, value: object, where: str) -> None:
    ok = {
        "time": _number(value),
        "frame": isinstance(value, int) and not isinstance(value, bool) and value >= 0,
        "span": isinstance(value, list) and len(value) == 2 and all(map(_number, value))
        and value[0] <= value[1],
        "frames": isinstance(value, list) and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value)
        and value[0] <= value[1],
        "moments": True,  # checked by train.data.check_moments below
    }[key]  # fmt: skip
    if not ok:
        want = {"time": "seconds >= 0", "frame": "a frame number (integer >= 0)",
                "span": "[start_s, end_s]", "frames": "[first_frame, last_frame] (integers)",
                "moments": ""}[key]  # fmt: skip
        raise InputError(f"{where}: '{key}' must be {want}, got {value!r}")


def club_turn(turn: dict, question: str, where: str) -> ClubTurn:
    """Validate and take the coach keys off one gpt turn (``turn`` keeps from/value)."""
    unknown = sorted(set(turn) - CLUB_TURN_KEYS)
    if unknown:
        raise InputError(
            f"{where}: unknown keys {unknown} on an answer; allowed: {sorted(CLUB_TURN_KEYS)} "
            "(a moment goes in ONE of time/span (seconds), frame/frames, moments)"
        )
    given = [k for k in MOMENT_KEYS if k in turn]
    if len(given) > 1:
        raise InputError(f"{where}: give one of {given} for the answer's moment, not several")
    key = given[0] if given else None
    if key:
        _check_moment(key, turn[key], where)
    kind = turn.get("kind") or guess_kind(question, str(turn.get("value", "")), key is not None)
    if kind not in ANSWER_KINDS:
        raise InputError(f"{where}: kind {kind!r} is not one of {list(ANSWER_KINDS)}")
    tol = turn.get("tolerance")
    if tol is not None and (not _number(tol) or tol == 0):
        raise InputError(f"{where}: 'tolerance' must be a positive number, got {tol!r}")
    return ClubTurn(kind, None if tol is None else float(tol), key, turn.get(key) if key else None)


def guess_kind(question: str, answer: str, has_moment: bool) -> str:
    """count for "how many" questions; time when the answer gives seconds or the coach gave
    a moment and the answer has a number; number for other numbers; else free text."""
    numbers = read_numbers(answer)
    if _HOW_MANY.search(question) and numbers:
        return "count"
    if numbers and (has_moment or SECONDS.search(answer)):
        return "time"
    return "number" if numbers else "text"


def parse_club_line(obj: object, clips_dir: Path, where: str) -> ClubLine:
    """One decoded line of a club's QA file -> its sample and per-answer coach info."""
    if not isinstance(obj, dict):
        raise InputError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    unknown = sorted(set(obj) - LINE_KEYS)
    if unknown:
        raise InputError(f"{where}: unknown keys {unknown}; allowed: {sorted(LINE_KEYS)}")
    if "video" not in obj:
        raise InputError(f"{where}: train.prepare expects a 'video' (a clip name in {clips_dir})")
    meta = obj.get("meta", {})
    if isinstance(meta, dict) and set(meta) - CLUB_META_KEYS:
        raise InputError(
            f"{where}: unknown meta keys {sorted(set(meta) - CLUB_META_KEYS)}; allowed: "
            f"{sorted(CLUB_META_KEYS)} (the time an answer refers to goes on its gpt turn: "
            "time, span, frame or frames)"
        )
    conv = obj.get("conversations")
    turns: list[ClubTurn] = []
    plain = conv
    if isinstance(conv, list) and all(isinstance(t, dict) for t in conv):
        plain = []
        for i, turn in enumerate(conv):
            if turn.get("from") == "gpt" and i > 0:
                question = str(conv[i - 1].get("value", ""))
                turns.append(club_turn(turn, question, f"{where}: turn {i}"))
                turn = {k: turn[k] for k in ("from", "value") if k in turn}
            plain.append(turn)
    sample = parse_sample({**obj, "conversations": plain}, clips_dir, where)
    return ClubLine(sample, turns)


def read_club_qa(path: str | Path, clips_dir: Path) -> list[ClubLine]:
    """Every line of a club's QA file, validated (errors name the file and line)."""
    path = Path(path)
    lines = [parse_club_line(obj, clips_dir, where) for where, obj in iter_json_lines(path, "QA")]
    if not lines:
        raise InputError(f"{path}: the file has no Q&A lines")
    return lines


def moment_seconds(turn: ClubTurn, fps: float, duration: float, where: str) -> list[list[float]]:
    """The turn's moment as ``[[start_s, end_s], ...]`` (empty without one); frames are
    divided by the clip's fps. A moment past the clip's end is an error naming the line."""
    from train.data import check_moments

    if turn.moment_key is None:
        return []
    value = turn.moment
    spans = {
        "time": lambda: [[value, value]],
        "span": lambda: [list(value)],
        "frame": lambda: [[value / fps, value / fps]],
        "frames": lambda: [[value[0] / fps, value[1] / fps]],
        "moments": lambda: value,
    }[turn.moment_key]()
    out = [[round(float(a), 3), round(float(b), 3)] for a, b in check_moments(spans, where)]
    late = [m for m in out if m[1] > duration + 0.5 / fps]
    if late:
        raise InputError(
            f"{where}: moment {turn.moment_key}={value!r} is past the end of the clip "
            f"({duration:.2f} s, {round(duration * fps)} frames at {fps:g} fps)"
        )
    return out
