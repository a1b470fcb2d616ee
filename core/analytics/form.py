"""Form checks: the posture faults a coach names, measured on each counted rep.

Each check reads one signal over each rep ``count_reps`` found and flags the reps where it
passes a coaching limit (``FormLimits``, degrees). The limits are common coaching cues, fixed
before they were measured on synthesized clips (``docs/analytics.md``, "Form checks"):

* push_up ``sagging_hips``: the hips drop below the shoulder-to-ankle line by more than
  ``hip_sag`` degrees (the bend at the hip, signed by gravity) at some frame of the rep;
* lunge ``forward_lean``: the trunk leans more than ``lunge_lean`` from vertical at the
  rep's bottom;
* curl ``swinging_torso``: the trunk's lean changes by more than ``curl_swing`` within the rep.

A 2D clip shows these only from the side (the shoulders nearly overlap in the image); from
the front or the head end the check is reported unsure. So is every check on a video's pose
estimate until a labelled real clip validates it (``VIDEO_CHECKED``). Depth faults (a squat
short of parallel, a push-up's or a curl's partial range, arms short of overhead) are not
checked: ``count_reps`` does not count a rep that stops that short, so there is no rep to flag.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core.checks import require_number
from core.motion import Motion, PoseTrack
from core.skeleton import Joint as J

from .angles import Body, body_of, joint_angles
from .facts import Fact
from .reps import RepCount
from .signal import smooth

FORM_EXERCISES = {"push_up": "sagging_hips", "lunge": "forward_lean", "curl": "swinging_torso"}
# words of a question about form: it gets the check's line beside the answer
FORM_WORDS = ("fault", "wrong", "form", "mistake", "fix", "improve", "technique", "correct",
              "sag", "lean", "swing", "posture", "straight", "cheat")  # fmt: skip
# Checks validated on labelled real video. None is yet: on the one real push-up clip (no form
# label; by eye a near-straight plank) the pose estimate's hips read 9-16 deg low, so from a
# video every check is reported unsure (docs/analytics.md, "Form checks").
VIDEO_CHECKED: frozenset[str] = frozenset()
SIDE_ON_WIDTH = 0.3  # 2D: shoulders this narrow against the torso = within ~30 deg of side-on


def asks_form(question: str) -> bool:
    """The question is about form ("Is my form OK?", "Do my hips sag?")."""
    return re.search(rf"\b({'|'.join(FORM_WORDS)})", question.lower()) is not None


@dataclass(frozen=True)
class FormLimits:
    """Coaching limits of the form checks, degrees."""

    hip_sag: float = 10.0
    lunge_lean: float = 20.0
    curl_swing: float = 10.0

    def __post_init__(self) -> None:
        for name in ("hip_sag", "lunge_lean", "curl_swing"):
            require_number(name, getattr(self, name), high=90.0)


@dataclass(frozen=True)
class FormCheck:
    """One fault checked on every rep: the measured value per rep and the reps past the limit."""

    fault: str
    values: list[float]  # per rep, degrees
    limit: float
    flagged: list[int]  # rep indices past the limit
    windows: list[tuple[float, float]]  # (start_s, end_s) of each flagged rep
    sure: bool  # the view shows it (3D, or a 2D side view) and, from a video, it is checked

    @property
    def found(self) -> bool:
        return bool(self.flagged)


def check_form(
    track_or_motion: PoseTrack | Motion,
    reps: RepCount,
    limits: FormLimits | None = None,
    angles: dict[str, np.ndarray] | None = None,
) -> FormCheck | None:
    """The form check of ``reps``' exercise (None when it has none, no rep was counted or the
    joints it needs are not seen in any rep). ``angles``: the clip's ``joint_angles`` when
    the caller has them already."""
    fault = FORM_EXERCISES.get(reps.exercise)
    if fault is None or not reps.reps:
        return None
    lim = limits or FormLimits()
    body = body_of(track_or_motion)
    spec = _SPECS[fault]
    limit = float(getattr(lim, spec.limit))
    values = spec.measure(
        body, angles if angles is not None else joint_angles(track_or_motion), reps
    )
    if not np.isfinite(values).any():
        return None  # the joints it needs are never seen during a rep
    flagged = [i for i, v in enumerate(values) if np.isfinite(v) and v > limit]
    windows = [(reps.reps[i].start_s, reps.reps[i].end_s) for i in flagged]
    seen = body.is3d or side_on(body)
    checked = not isinstance(track_or_motion, PoseTrack) or fault in VIDEO_CHECKED
    return FormCheck(fault, values, limit, flagged, windows, seen and checked)


def side_on(body: Body) -> bool:
    """2D: the camera sees the body from the side (the shoulders nearly overlap)."""
    width = np.linalg.norm(body.p[:, J.LEFT_SHOULDER] - body.p[:, J.RIGHT_SHOULDER], axis=1)
    torso = body.torso_length()
    ok = np.isfinite(width) & np.isfinite(torso)
    return bool(ok.any() and np.median(width[ok]) < SIDE_ON_WIDTH * np.median(torso[ok]))


def hip_sag(body: Body) -> np.ndarray:
    """(T,) degrees the hips sit below the shoulder-to-ankle line (negative: above, a pike):
    the bend at the hip between shoulder->hip and hip->ankle, signed by the hip's height
    against the line, smoothed over 0.15 s like every joint angle."""
    sh = body.mid(J.LEFT_SHOULDER, J.RIGHT_SHOULDER)
    hip = body.mid(J.LEFT_HIP, J.RIGHT_HIP)
    ank = body.mid(J.LEFT_ANKLE, J.RIGHT_ANKLE)
    a, b = hip - sh, ank - hip  # (T, 3)
    with np.errstate(all="ignore"):
        cos = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
        bend = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
        line = ank - sh
        t = np.sum((hip - sh) * line, axis=1) / np.sum(line * line, axis=1)
        below = (sh + t[:, None] * line)[:, 1] - hip[:, 1]  # y is up: > 0 = hips low
    return smooth(np.where(below >= 0, bend, -bend), body.fps, 0.15)


def _per_rep(
    signal: np.ndarray, reps: RepCount, pick: Callable[[np.ndarray], float]
) -> list[float]:
    out = []
    for r in reps.reps:
        seg = signal[r.start : r.end + 1]
        out.append(float(pick(seg[np.isfinite(seg)])) if np.isfinite(seg).any() else float("nan"))
    return out


def _sag(body: Body, _angles: dict[str, np.ndarray], reps: RepCount) -> list[float]:
    return _per_rep(hip_sag(body), reps, np.max)


def _lean(_body: Body, angles: dict[str, np.ndarray], reps: RepCount) -> list[float]:
    lean = angles["spine_forward"]
    return [float(lean[r.peak_frame]) for r in reps.reps]


def _swing(_body: Body, angles: dict[str, np.ndarray], reps: RepCount) -> list[float]:
    return _per_rep(angles["spine_forward"], reps, np.ptp)


Measure = Callable[[Body, dict[str, np.ndarray], RepCount], list[float]]


@dataclass(frozen=True)
class _Spec:
    """How one fault is measured, its ``FormLimits`` field, and how the facts line says it."""

    measure: Measure
    limit: str
    what: str
    short: str


_SPECS = {
    "sagging_hips": _Spec(_sag, "hip_sag", "the hips sag below the shoulder-to-ankle line", "hip sag"),
    "forward_lean": _Spec(_lean, "lunge_lean", "the trunk leans forward at the bottom", "trunk lean"),
    "swinging_torso": _Spec(_swing, "curl_swing", "the trunk swings during the curl", "trunk swing"),
}  # fmt: skip


def form_fact(check: FormCheck, reps: RepCount) -> Fact:
    """The check as one facts line: the reps past the limit with their times, or that none is."""
    what, short = _SPECS[check.fault].what, _SPECS[check.fault].short
    n = reps.count
    worst = max((v for v in check.values if np.isfinite(v)), default=float("nan"))
    sure = 1.0 if check.sure else 0.4
    if not check.found:
        text = (f"Form: no {short} past {check.limit:.0f} deg on any of the {n} reps "
                f"(at most {worst:.0f} deg).")  # fmt: skip
        return Fact(text, sure, "form")
    which = ", ".join(str(i + 1) for i in check.flagged)
    spans = ", ".join(f"{a:.1f}-{b:.1f} s" for a, b in check.windows)
    text = (f"Form: {what} on rep{'s' if len(check.flagged) > 1 else ''} {which} of {n} "
            f"({spans}; up to {worst:.0f} deg, limit {check.limit:.0f}).")  # fmt: skip
    return Fact(text, sure, "form", check.windows[0][0])
