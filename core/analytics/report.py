"""One call that runs the right analysis for a clip and phrases the results as facts.

``analyze_motion`` guesses the activity (unless given), then adds golf events, baseball
phases or reps as applicable, summaries of the key joint angles, and ``facts``: short
plain-language lines with times that the app shows and the LLM prompt can include.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.errors import InputError
from core.motion import Motion, PoseTrack

from .activity import ACTIVITIES, ActivityGuess, guess_activity
from .angles import body_of, joint_angles
from .baseball import BaseballSwingPhases, baseball_swing_phases
from .golf import GolfSwingEvents, golf_swing_events
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


@dataclass(frozen=True)
class MotionReport:
    """Everything the analytics know about one clip."""

    activity: ActivityGuess
    duration_s: float
    golf: GolfSwingEvents | None = None
    baseball: BaseballSwingPhases | None = None
    reps: RepCount | None = None
    angles: dict[str, AngleSummary] = field(default_factory=dict)
    facts: list[str] = field(default_factory=list)

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


def golf_facts(ev: GolfSwingEvents) -> list[str]:
    f, t = ev.frames, ev.times
    lines = [
        f"{ev.handedness.capitalize()}-handed golf swing filmed {ev.view.replace('_', '-')}.",
        f"Address at {t['address']:.1f} s (frame {f['address']}).",
        f"Top of backswing at {t['top']:.1f} s (frame {f['top']}); tempo {ev.tempo:.1f} : 1 "
        f"(backswing {ev.backswing_s:.2f} s, downswing {ev.downswing_s:.2f} s).",
        f"Impact at {t['impact']:.1f} s (frame {f['impact']}); finish at {t['finish']:.1f} s (frame {f['finish']}).",
    ]
    k = ev.key_angles
    if "spine_forward_at_address" in k and "spine_forward_at_impact" in k:
        lines.append(f"Spine tilt {k['spine_forward_at_address']:.0f} deg at address and "
                     f"{k['spine_forward_at_impact']:.0f} deg at impact.")  # fmt: skip
    if "lead_elbow_at_top" in k:
        lines.append(
            f"Lead arm at the top: elbow {k['lead_elbow_at_top']:.0f} deg (180 = straight)."
        )
    if "shoulder_turn_at_top" in k:
        lines.append(f"At the top the shoulders turned {k['shoulder_turn_at_top']:.0f} deg and the hips "
                     f"{k['hip_turn_at_top']:.0f} deg (X-factor {k['x_factor_at_top']:.0f} deg).")  # fmt: skip
    return lines


def rep_facts(rc: RepCount) -> list[str]:
    lines = [str(rc) + "."]
    for n, r in enumerate(rc.reps, start=1):
        lines.append(f"Rep {n}: {r.start_s:.1f}-{r.end_s:.1f} s (frames {r.start}-{r.end}), "
                     f"{r.duration:.1f} s, range of motion {r.range_of_motion:.0f} deg, "
                     f"extreme {rc.signal.replace('_', ' ')} {r.peak_value:.0f} deg at frame {r.peak_frame}.")  # fmt: skip
    return lines


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
    facts = [f"{guess} over {duration:.1f} s ({body.num_frames} frames at {body.fps:.0f} fps)."]
    golf = baseball = reps = None
    try:
        if guess.label == "golf_swing":
            golf = golf_swing_events(track_or_motion)
            facts += golf_facts(golf)
        elif guess.label == "baseball_swing":
            baseball = baseball_swing_phases(track_or_motion)
            facts.append(str(baseball) + ".")
        elif guess.label in EXERCISES:
            reps = count_reps(track_or_motion, guess.label)
            facts += rep_facts(reps)
    except InputError as err:
        facts.append(f"Could not analyse the {guess.label.replace('_', ' ')}: {err}")
    angles = summarize_angles(joint_angles(track_or_motion), KEY_ANGLES.get(guess.label, DEFAULT_KEY_ANGLES),
                              body.fps, body.start_time)  # fmt: skip
    facts += [str(a).capitalize() + "." for a in angles.values()]
    return MotionReport(guess, duration, golf, baseball, reps, angles, facts)
