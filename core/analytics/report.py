"""One call that runs the right analysis for a clip and phrases the results as facts.

``analyze_motion`` guesses the activity (unless given), then adds golf events, baseball
phases or reps as applicable (only for that activity: no golf facts for a push-up), summaries
of the key joint angles, and ``fact_items``: short plain-language lines with times, each with
a confidence (see ``facts.py``). ``facts`` lists them as text with unsure ones marked;
``prompt_facts()`` keeps only the trusted ones for the model's prompt.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from core.errors import InputError
from core.motion import Motion, PoseTrack
from core.skeleton import ANGLE_PARTS, JOINT_ANGLES

from .activity import ACTIVITIES, ActivityGuess, guess_activity
from .angles import LEADING_FOOT_ACTIVITIES, body_of, joint_angles, leading_foot
from .baseball import BaseballSwingPhases, baseball_swing_phases
from .facts import (
    REP_SURE,
    SIDE_MARGIN_DEG,
    TRUST_THRESHOLD,
    Fact,
    angle_confidence,
    baseball_facts,
    baseball_moment,
    foot_moment,
    golf_facts,
    golf_moment,
    moment_fact,
    rep_facts,
    rep_moment,
)
from .form import check_form, form_fact
from .golf import GolfSwingEvents, golf_swing_events
from .order import (
    BASEBALL_EVENT_WORDS,
    GOLF_EVENT_WORDS,
    NamedEvent,
    named_events,
    named_rep_points,
    order_text,
    question_moments,
)
from .reps import EXERCISES, RepCount, count_reps

# Angles worth summarising for each activity (the rest stay in joint_angles()).
KEY_ANGLES: dict[str, tuple[str, ...]] = {
    "golf_swing": (
        "spine_forward",
        "left_elbow",
        "right_elbow",
        "left_knee",
        "right_knee",
        "x_factor",
    ),
    "baseball_swing": (
        "spine_forward",
        "left_knee",
        "right_knee",
        "left_elbow",
        "right_elbow",
        "x_factor",
    ),
    "squat": ("left_knee", "right_knee", "left_hip", "right_hip", "spine_forward"),
    "lunge": ("left_knee", "right_knee", "left_hip", "right_hip", "spine_forward"),
    "push_up": ("left_elbow", "right_elbow", "spine_forward", "left_hip", "right_hip"),
    "curl": ("left_elbow", "right_elbow", "spine_forward"),
    "jumping_jack": ("left_shoulder", "right_shoulder", "left_knee", "right_knee"),
}
DEFAULT_KEY_ANGLES = ("left_knee", "right_knee", "left_elbow", "right_elbow", "spine_forward")


@dataclass(frozen=True)
class AngleSummary:
    """Range of one angle over the clip, with when its extremes happen."""

    name: str
    min: float
    max: float
    mean: float
    min_frame: int
    max_frame: int
    min_s: float
    max_s: float

    def __str__(self) -> str:
        label = self.name.replace("_", " ")
        return (f"{label}: {self.min:.0f} to {self.max:.0f} deg (smallest at {self.min_s:.1f} s, "
                f"largest at {self.max_s:.1f} s)")  # fmt: skip


def _sure_texts(facts: Iterable[Fact], threshold: float) -> list[str]:
    """The texts of the ``facts`` at least ``threshold`` sure, in order (the prompt's and the
    lines shown beside an answer: unsure ones left out)."""
    return [f.text for f in facts if f.confidence >= threshold]


@dataclass(frozen=True)
class MotionReport:
    """Everything the analytics know about one clip; ``fact_items`` carry confidences."""

    activity: ActivityGuess
    duration_s: float
    golf: GolfSwingEvents | None = None
    baseball: BaseballSwingPhases | None = None
    reps: RepCount | None = None
    angles: dict[str, AngleSummary] = field(default_factory=dict)
    fact_items: list[Fact] = field(default_factory=list)
    fps: float = 30.0
    start_s: float = 0.0
    # (T,) ``leading_foot`` ("left", "right", "" = neither) where the activity has one
    feet: np.ndarray | None = None
    # the range line of every ``JOINT_ANGLES`` joint and the trunk's lean, key or not, for the
    # questions that name one
    joint_items: dict[str, Fact] = field(default_factory=dict)
    # per part (``ANGLE_PARTS``) which side bends more, shown beside an answer that compares
    # the sides (not in the prompt: the model answered its side prior even with it there)
    side_items: dict[str, Fact] = field(default_factory=dict)
    # the rep exercise's form check (``form.check_form``): shown, not in the prompt (the
    # model was never trained with it there)
    form_items: list[Fact] = field(default_factory=list)

    @property
    def shown_items(self) -> list[Fact]:
        """Every fact the app shows: the prompt's facts, then the form check."""
        return [*self.fact_items, *self.form_items]

    @property
    def facts(self) -> list[str]:
        """Every shown fact as a line, low-confidence ones marked " (unsure)" (CLI, report)."""
        return [str(f) for f in self.shown_items]

    def form_lines(self, threshold: float = TRUST_THRESHOLD) -> list[str]:
        """The form check's line when sure: "Form: the hips sag ... on reps 2, 4 of 5 ..." """
        return _sure_texts(self.form_items, threshold)

    def prompt_facts(self, threshold: float = TRUST_THRESHOLD) -> list[str]:
        """The facts sure enough for the model's prompt (unsure ones left out)."""
        return _sure_texts(self.fact_items, threshold)

    def moment_facts(self, times: Sequence[float]) -> list[Fact]:
        """A line for each time (seconds), saying what the analysis found there: the swing
        phase and the events around it, the rep, the leading foot."""
        out = []
        for t in times:
            fact = self._moment(float(t))
            if fact is not None:
                out.append(fact)
        return out

    def prompt_moments(
        self, times: Sequence[float], threshold: float = TRUST_THRESHOLD
    ) -> list[str]:
        """``moment_facts`` sure enough for the model's prompt."""
        return _sure_texts(self.moment_facts(times), threshold)

    def prompt_joints(self, names: Sequence[str], threshold: float = TRUST_THRESHOLD) -> list[str]:
        """The range lines of the ``names``d joints ("left_knee"), in order, sure ones only:
        "Left knee: 143 to 161 deg (smallest at 2.4 s, largest at 0.4 s)." """
        return _sure_texts((self.joint_items[n] for n in names if n in self.joint_items), threshold)

    def side_lines(self, parts: Sequence[str], threshold: float = TRUST_THRESHOLD) -> list[str]:
        """Which side of each part ("knee") bends more, sure ones only: "The left knee bends
        more than the right knee: smallest 95 deg against 120 deg." """
        return _sure_texts((self.side_items[p] for p in parts if p in self.side_items), threshold)

    def order_facts(self, question: str) -> list[Fact]:
        """For each event the analysis timed and ``question`` names, and each time it names,
        where the event lies: "The finish (2.33 s) comes after 1.60 s." """
        times = question_moments(question)
        if not times:
            return []
        out = []
        for event, event_s, sure in self._named_timed_events(question):
            out += [Fact(order_text(event, event_s, t), sure, "moment", event_s) for t in times]
        return out

    def prompt_orders(
        self, questions: Sequence[str], threshold: float = TRUST_THRESHOLD
    ) -> list[str]:
        """``order_facts`` of the ``questions`` sure enough for the model's prompt."""
        return _sure_texts((f for q in questions for f in self.order_facts(q)), threshold)

    def _named_timed_events(self, question: str) -> list[tuple[NamedEvent, float, float]]:
        """(event, its time, how sure) for each event ``question`` names that was timed."""
        out = []
        if self.golf is not None:
            sure = self.golf.confidence.get("events", 0.8)
            named = named_events(question, GOLF_EVENT_WORDS)
            out += [(e, self.golf.times[e.key], sure) for e in named if e.key in self.golf.times]
        if self.baseball is not None:
            sure, times = self.baseball.confidence.get("phases", 0.7), self.baseball.times
            named = named_events(question, BASEBALL_EVENT_WORDS)
            out += [(e, times[e.key], sure) for e in named if e.key in times]
        if self.reps is not None:
            reps = self.reps.reps
            for e in named_rep_points(question):
                if e.rep is not None and e.rep < len(reps):
                    r = reps[e.rep]
                    at = r.start_s if e.key == "start" else r.peak_s(self.reps.fps)
                    out.append((e, at, REP_SURE))
        return out

    def _moment(self, t: float) -> Fact | None:
        end = self.start_s + self.duration_s
        if not self.start_s <= t <= end:
            where = "before the start" if t < self.start_s else "after the end"
            return Fact(f"At {t:.2f} s: {where} of the clip ({self.start_s:.2f}-{end:.2f} s).",
                        1.0, "moment", t)  # fmt: skip
        parts = []
        if self.golf is not None:
            parts.append(golf_moment(self.golf, t))
        if self.baseball is not None:
            parts.append(baseball_moment(self.baseball, t))
        if self.reps is not None and self.reps.reps:
            parts.append(rep_moment(self.reps, t))
        if self.feet is not None and len(self.feet):
            i = min(max(round((t - self.start_s) * self.fps), 0), len(self.feet) - 1)
            if self.feet[i]:  # said only where one foot is clearly ahead
                parts.append(foot_moment(str(self.feet[i]), t))
        return moment_fact(t, parts)

    def __str__(self) -> str:
        return f"{self.activity}; " + (self.facts[1] if len(self.facts) > 1 else "no further facts")


def summarize_angles(
    angles: dict[str, np.ndarray], names: tuple[str, ...], fps: float, start: float
) -> dict[str, AngleSummary]:
    """Min / max / mean of the named angles where they were seen."""
    out = {}
    for name in names:
        a = angles.get(name)
        if a is None or not np.isfinite(a).any():
            continue
        i, j = int(np.nanargmin(a)), int(np.nanargmax(a))
        out[name] = AngleSummary(name, float(a[i]), float(a[j]), float(np.nanmean(a)), i, j,
                                 start + i / fps, start + j / fps)  # fmt: skip
    return out


def _activity_fact(
    guess: ActivityGuess, chosen: bool, duration: float, frames: int, fps: float
) -> Fact:
    span = f"over {duration:.1f} s ({frames} frames at {fps:.0f} fps)."
    if chosen:
        return Fact(
            f"{guess.label.replace('_', ' ').capitalize()} (chosen) {span}", 1.0, "activity"
        )
    conf = guess.confidence if guess.supported else 1.0  # "not sure" is itself a sure statement
    return Fact(f"{guess} {span}", conf, "activity")


def _analysis_facts(track_or_motion: PoseTrack | Motion, label: str) -> tuple[list[Fact], dict]:
    """Facts and results of the analysis matching the activity (none for the others)."""
    parts: dict = {}
    try:
        if label == "golf_swing":
            parts["golf"] = golf_swing_events(track_or_motion)
            return golf_facts(parts["golf"]), parts
        if label == "baseball_swing":
            parts["baseball"] = baseball_swing_phases(track_or_motion)
            return baseball_facts(parts["baseball"]), parts
        if label in EXERCISES:
            parts["reps"] = count_reps(track_or_motion, label)
            return rep_facts(parts["reps"]), parts
    except InputError as err:
        return [
            Fact(f"Could not analyse the {label.replace('_', ' ')}: {err}", 1.0, "limit")
        ], parts
    return [], parts


def _angle_facts(angles: dict[str, AngleSummary], lines: dict[str, Fact],
                 golf: GolfSwingEvents | None) -> list[Fact]:  # fmt: skip
    """The key ``angles``' facts lines (``lines`` holds every summarised angle's)."""
    out = []
    for name in angles:
        fact = lines[name]
        if name == "x_factor":
            if golf is not None and golf.view == "down_the_line":
                continue  # rotation is not seen down-the-line; golf_facts says so
            fact = replace(fact, confidence=fact.confidence * 0.5)  # rough from one camera
        out.append(fact)
    return out


def _side_comparisons(summaries: dict[str, AngleSummary],
                      lines: dict[str, Fact]) -> dict[str, Fact]:  # fmt: skip
    """Per part with both sides summarised, which side bends more (the smaller smallest
    angle), as sure as the less sure side; within ``SIDE_MARGIN_DEG``, about as much."""
    out = {}
    for part in ANGLE_PARTS:
        left, right = summaries.get(f"left_{part}"), summaries.get(f"right_{part}")
        if left is None or right is None:
            continue
        deep, shallow = (left, right) if left.min <= right.min else (right, left)
        if shallow.min - deep.min < SIDE_MARGIN_DEG:
            text = (f"The left and right {part} bend about as much: smallest {left.min:.0f} "
                    f"deg and {right.min:.0f} deg.")  # fmt: skip
        else:
            sides = [a.name.split("_", 1)[0] for a in (deep, shallow)]
            text = (f"The {sides[0]} {part} bends more than the {sides[1]} {part}: "
                    f"smallest {deep.min:.0f} deg against {shallow.min:.0f} deg.")  # fmt: skip
        sure = min(lines[left.name].confidence, lines[right.name].confidence)
        out[part] = Fact(text, sure, "angle", deep.min_s)
    return out


def _angle_fact(track_or_motion: PoseTrack | Motion, a: AngleSummary) -> Fact:
    """An angle's range as a facts line, as sure as the joints it is measured on."""
    return Fact(str(a).capitalize() + ".", angle_confidence(track_or_motion, a.name), "angle",
                a.min_s)  # fmt: skip


def analyze_motion(
    track_or_motion: PoseTrack | Motion, activity: str | None = None
) -> MotionReport:
    """Guess (or take) the activity and run the matching analysis; see module doc."""
    if activity is not None and activity not in ACTIVITIES:
        raise InputError(f"unknown activity {activity!r}; choose one of {', '.join(ACTIVITIES)}")
    guess = guess_activity(track_or_motion)
    if activity is not None:
        guess = ActivityGuess(activity, 1.0, guess.scores, guess.features)
    body = body_of(track_or_motion)
    duration = body.num_frames / body.fps
    facts = [_activity_fact(guess, activity is not None, duration, body.num_frames, body.fps)]
    found, parts = _analysis_facts(track_or_motion, guess.label)
    facts += found
    names = KEY_ANGLES.get(guess.label, DEFAULT_KEY_ANGLES)
    joints = (*JOINT_ANGLES, "spine_forward")  # any of them may be asked about
    wanted = tuple(dict.fromkeys(names + joints))
    all_angles = joint_angles(track_or_motion)
    summaries = summarize_angles(all_angles, wanted, body.fps, body.start_time)
    lines = {n: _angle_fact(track_or_motion, a) for n, a in summaries.items()}
    angles = {n: summaries[n] for n in names if n in summaries}
    facts += _angle_facts(angles, lines, parts.get("golf"))
    joint_items = {n: lines[n] for n in joints if n in lines}
    # a golfer's or a batter's split stance is not a leading foot: said only where one leads
    feet = leading_foot(track_or_motion) if guess.label in LEADING_FOOT_ACTIVITIES else None
    reps = parts.get("reps")
    check = check_form(track_or_motion, reps, angles=all_angles) if reps is not None else None
    form = [form_fact(check, reps)] if check is not None else []
    return MotionReport(guess, duration, parts.get("golf"), parts.get("baseball"), reps, angles,
                        facts, body.fps, body.start_time, feet, joint_items,
                        _side_comparisons(summaries, lines), form)  # fmt: skip
