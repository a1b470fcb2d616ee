"""Repetition counting for periodic exercises, from 2D or 3D motions.

Each exercise has a driving signal (degrees) and a direction (a rep is a dip or a rise):

* squat: mean knee angle, dips;   lunge: the more bent knee, dips;
* push_up / curl: mean elbow angle, dips;
* jumping_jack: arm elevation (the lower of the two shoulder angles, so both arms must go up)
  plus 40 degrees per hip width the ankles spread beyond one, rises;
* unknown: the joint-angle signal with the most periodic energy (standard deviation times the
  best autocorrelation at a lag of ``min_rep_s``..``max_rep_s``), direction away from rest.

Counting: the clip is split at camera cuts (the 2D hip midpoint jumps) and long gaps. In each
piece the rest level is the 10th percentile and the peak level the 95th percentile of the
(direction-normalised) signal. A rep enters above ``enter`` of that range and ends below
``exit``; its start and end are the nearest near-rest frames on either side. Reps must span
``min_range`` degrees and last ``min_rep_s``..``max_rep_s``, so a walk-in, pauses and small
fidgets add nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.errors import InputError
from core.motion import Motion, PoseTrack, Space
from core.skeleton import Joint as J

from .angles import Body, body_of, joint_angles, leg_spread, require_joints
from .signal import fill_nan, smooth

EXERCISES = ("squat", "push_up", "lunge", "jumping_jack", "curl", "unknown")


@dataclass(frozen=True)
class ExerciseProfile:
    """How reps of one exercise show in the motion."""

    signal: str  # "knees", "knee_min", "elbows", "jumping_jack" or an angle name
    direction: int  # -1: a rep is a dip of the signal, +1: a rise
    min_range: float  # degrees a rep must span
    extreme: float | None = None  # the rep's extreme must pass this value (below for dips)
    min_rep_s: float | None = None  # shortest rep, seconds (None: RepParams.min_rep_s)

    def __post_init__(self) -> None:
        if self.direction not in (-1, 1):
            raise ValueError(f"direction: must be -1 or 1, got {self.direction}")
        if self.min_range <= 0:
            raise ValueError(f"min_range: must be positive, got {self.min_range}")


def default_profiles() -> dict[str, ExerciseProfile]:
    """Driving signal of each known exercise."""
    return {
        # A squat or lunge takes most people over 0.8 s; walking's knee bends are shorter.
        "squat": ExerciseProfile("knees", -1, 35.0, extreme=135.0, min_rep_s=0.8),
        "lunge": ExerciseProfile("knee_min", -1, 35.0, extreme=135.0, min_rep_s=0.8),
        "push_up": ExerciseProfile("elbows", -1, 30.0, extreme=135.0, min_rep_s=0.6),
        "curl": ExerciseProfile("elbows", -1, 45.0, extreme=100.0, min_rep_s=0.6),
        "jumping_jack": ExerciseProfile("jumping_jack", 1, 60.0, extreme=150.0),
    }


@dataclass(frozen=True)
class RepParams:
    """Tunable thresholds of :func:`count_reps` (see module doc)."""

    enter: float = 0.5
    exit: float = 0.3
    rest: float = 0.1
    min_rep_s: float = 0.4
    max_rep_s: float = 8.0
    cut_jump: float = 0.5  # hip jump between frames, torso lengths, that marks a camera cut
    unknown_min_range: float = 30.0
    profiles: dict[str, ExerciseProfile] = field(default_factory=default_profiles)

    def __post_init__(self) -> None:
        if not 0 < self.rest < self.exit < self.enter < 1:
            raise ValueError(
                f"need 0 < rest < exit < enter < 1, got {self.rest}, {self.exit}, {self.enter}"
            )
        if not 0 < self.min_rep_s < self.max_rep_s:
            raise ValueError(
                f"need 0 < min_rep_s < max_rep_s, got {self.min_rep_s}, {self.max_rep_s}"
            )


@dataclass(frozen=True)
class Rep:
    """One repetition: frames, clip seconds, and the driving signal's excursion."""

    start: int
    end: int
    start_s: float
    end_s: float
    range_of_motion: float  # degrees between the rep's extreme and its rest level
    peak_value: float  # the signal at the rep's extreme (e.g. deepest knee angle)
    peak_frame: int

    @property
    def duration(self) -> float:
        return self.end_s - self.start_s

    def peak_s(self, fps: float) -> float:
        """Clip seconds of the rep's extreme (its deepest point)."""
        return self.start_s + (self.peak_frame - self.start) / fps

    def __str__(self) -> str:
        return (f"rep {self.start_s:.1f}-{self.end_s:.1f} s (frames {self.start}-{self.end}), "
                f"{self.duration:.1f} s, range {self.range_of_motion:.0f} deg")  # fmt: skip


@dataclass(frozen=True)
class RepCount:
    """Reps found in a clip and the signal that drove the count."""

    exercise: str
    signal: str
    reps: list[Rep]
    fps: float
    direction: int = -1  # the exercise profile's: -1 a rep is a dip of the signal, +1 a rise

    @property
    def count(self) -> int:
        return len(self.reps)

    @property
    def mean_duration(self) -> float:
        return float(np.mean([r.duration for r in self.reps])) if self.reps else float("nan")

    def slowest_first(self) -> list[int]:
        """Rep indices, the longest rep first (an earlier rep first on a tie)."""
        return sorted(range(self.count), key=lambda i: -self.reps[i].duration)

    def deepest_first(self) -> list[int]:
        """Rep indices, the rep whose extreme goes furthest first: the lowest knee or elbow
        angle of a dip (squat, push-up), the highest arms of a rise (jumping jack)."""
        return sorted(range(self.count), key=lambda i: -self.direction * self.reps[i].peak_value)

    def __str__(self) -> str:
        if not self.reps:
            return f"No {self.exercise.replace('_', ' ')} reps found (signal: {self.signal})"
        return (f"{self.count} {self.exercise.replace('_', ' ')} rep(s), {self.mean_duration:.1f} s each "
                f"on average, from {self.reps[0].start_s:.1f} s to {self.reps[-1].end_s:.1f} s")  # fmt: skip


def exercise_signals(track_or_motion: PoseTrack | Motion) -> dict[str, np.ndarray]:
    """The driving signals (degrees, smoothed) of every exercise, plus all joint angles."""
    angles = joint_angles(track_or_motion)
    body = body_of(track_or_motion)
    out = dict(angles)
    knees = np.stack([angles["left_knee"], angles["right_knee"]])
    elbows = np.stack([angles["left_elbow"], angles["right_elbow"]])
    with np.errstate(all="ignore"):
        out["knees"] = _nanmean0(knees)
        if not body.is3d:
            # Seen from the front, bent knees look straight in 2D; the hips' drop does not.
            out["knees"] = np.fmin(out["knees"], hip_height_knee(body, cut_frames(track_or_motion)))
        out["knee_min"] = np.where(
            np.isnan(knees).all(0), np.nan, np.nanmin(np.nan_to_num(knees, nan=np.inf), 0)
        )
        out["elbows"] = _nanmean0(elbows)
        arms = np.fmax(np.minimum(angles["left_shoulder"], angles["right_shoulder"]), 0.0)
        out["jumping_jack"] = arms + 40.0 * np.clip(leg_spread(body) - 1.0, 0.0, 2.5)
    return out


def hip_height_knee(body: Body, cuts: list[int]) -> np.ndarray:
    """(T,) knee angle implied by the hips' height above the ankles (2D, any view).

    With thigh and shin of equal length at equal angles to the vertical, the hip height is
    ``H = H_stand * cos(theta)`` and the knee angle ``180 - 2 * theta``. ``H`` is scaled by
    the median torso length of each shot; ``H_stand`` is its 95th percentile over the clip.
    """
    hip = body.mid(J.LEFT_HIP, J.RIGHT_HIP)
    height = hip[:, 1] - body.mid(J.LEFT_ANKLE, J.RIGHT_ANKLE)[:, 1]
    torso = body.torso_length()
    rel = np.full(body.num_frames, np.nan)
    bounds = [0, *cuts, body.num_frames]
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        if np.isfinite(torso[lo:hi]).any():
            rel[lo:hi] = height[lo:hi] / np.nanmedian(torso[lo:hi])
    if not np.isfinite(rel).any():
        return rel
    ratio = np.clip(rel / np.nanpercentile(rel, 95), 0.0, 1.0)
    return smooth(180.0 - 2.0 * np.degrees(np.arccos(ratio)), body.fps, 0.15)


def _nanmean0(x: np.ndarray) -> np.ndarray:
    n = np.isfinite(x).sum(0)
    return np.where(n > 0, np.nansum(x, 0) / np.maximum(n, 1), np.nan)


def cut_frames(track_or_motion: PoseTrack | Motion, cut_jump: float = 0.5) -> list[int]:
    """Frames where a new shot (or person) starts: the 2D hip midpoint jumps."""
    if isinstance(track_or_motion, PoseTrack):
        src: PoseTrack | Motion = track_or_motion.motion2d
    elif isinstance(track_or_motion, Motion) and track_or_motion.space is Space.IMAGE_NORMALIZED:
        src = track_or_motion
    else:
        return []  # 3D motions are hip-centred: a cut shows only as a gap
    body = body_of(src, min_visibility=1e-3)
    hip = body.mid(J.LEFT_HIP, J.RIGHT_HIP)
    torso = body.torso_length()
    scale = np.nanmedian(torso)
    step = np.linalg.norm(np.diff(fill_nan_rows(hip), axis=0), axis=1) / scale
    return [int(i) + 1 for i in np.flatnonzero(step > cut_jump)]


def fill_nan_rows(p: np.ndarray) -> np.ndarray:
    return np.stack([fill_nan(p[:, c]) for c in range(p.shape[1])], axis=1)


def periodic_energy(x: np.ndarray, fps: float, min_lag_s: float, max_lag_s: float) -> float:
    """Standard deviation times the best autocorrelation at a lag of a plausible rep length."""
    v = fill_nan(x)
    if not np.isfinite(v).all() or v.size < 4:
        return 0.0
    v = v - v.mean()
    std = v.std()
    if std < 1e-9:
        return 0.0
    lo, hi = max(1, int(min_lag_s * fps)), min(v.size - 2, int(max_lag_s * fps))
    if hi <= lo:
        return 0.0
    ac = [float(np.dot(v[:-k], v[k:]) / (np.dot(v, v) + 1e-12)) for k in range(lo, hi + 1)]
    return float(std * max(0.0, max(ac)))


def pick_unknown_signal(
    signals: dict[str, np.ndarray], fps: float, prm: RepParams
) -> ExerciseProfile:
    """The joint-angle signal with the most periodic energy, rep direction away from rest."""
    names = [k for k in signals if k.startswith(("left_", "right_")) or k in ("knees", "elbows")]
    best = max(names, key=lambda k: periodic_energy(signals[k], fps, prm.min_rep_s, prm.max_rep_s))
    x = signals[best][np.isfinite(signals[best])]
    lo, hi = np.percentile(x, [5, 95]) if x.size else (0.0, 0.0)
    direction = -1 if np.median(x) > 0.5 * (lo + hi) else 1  # rest sits where the signal dwells
    return ExerciseProfile(best, direction, prm.unknown_min_range)


def _rep_bounds(s: np.ndarray, i_in: int, i_out: int, level: float) -> tuple[int, int]:
    """Walk out from the crossings while the signal keeps falling; once near rest, stop at
    the first flat step so a pause at rest is not swallowed."""
    a = i_in
    while a > 0 and np.isfinite(s[a - 1]) and s[a - 1] < s[a] - (1e-3 if s[a] < level else 0.0):
        a -= 1
    b = i_out
    while (
        b < s.size - 1
        and np.isfinite(s[b + 1])
        and s[b + 1] < s[b] - (1e-3 if s[b] < level else 0.0)
    ):
        b += 1
    return a, b


def find_reps(
    s: np.ndarray, fps: float, min_range: float, prm: RepParams, min_rep_s: float | None = None
) -> list[tuple[int, int, int]]:
    """(start, peak, end) of each rep in a signal where reps are rises above rest."""
    ok = np.isfinite(s)
    if ok.sum() < 3:
        return []
    rest, top = np.percentile(s[ok], [10, 95])
    rng = top - rest
    if rng < min_range:
        return []
    enter, leave, near = (rest + f * rng for f in (prm.enter, prm.exit, prm.rest))
    out: list[tuple[int, int, int]] = []
    i, n = 0, s.size
    while i < n:
        if not (ok[i] and s[i] > enter):
            i += 1
            continue
        j = i
        while j < n and not (ok[j] and s[j] < leave):
            j += 1
        if j >= n:
            break  # the clip ends mid-rep: not a complete repetition
        a, b = _rep_bounds(s, i, j, near)
        if a == 0 and s[0] > leave:
            i = j  # already mid-rep when the shot starts: its start is unseen
            continue
        peak = a + int(np.nanargmax(s[a : b + 1]))
        span = s[peak] - max(np.nanmin(s[a : peak + 1]), np.nanmin(s[peak : b + 1]))
        dur = (b - a) / fps
        if span >= min_range and (min_rep_s or prm.min_rep_s) <= dur <= prm.max_rep_s:
            out.append((a, peak, b))
        i = j
    return out


def count_reps(
    track_or_motion: PoseTrack | Motion,
    exercise: str | None = None,
    *,
    params: RepParams | None = None,
) -> RepCount:
    """Count repetitions of ``exercise`` (one of EXERCISES). ``None`` (auto) takes the
    exercise :func:`~core.analytics.activity.guess_activity` sees, as the app does, and
    falls back to "unknown" (the most periodic joint angle) when it sees no exercise."""
    prm = params or RepParams()
    exercise = exercise or _guessed_exercise(track_or_motion)
    if exercise not in EXERCISES:
        raise InputError(f"unknown exercise {exercise!r}; choose one of {', '.join(EXERCISES)}")
    body: Body = body_of(track_or_motion)
    require_joints(body, (J.LEFT_HIP, J.RIGHT_HIP, J.LEFT_SHOULDER, J.RIGHT_SHOULDER), "count_reps")
    if body.num_frames < prm.min_rep_s * body.fps * 2:
        raise InputError(
            f"the clip is {body.num_frames / body.fps:.1f} s long; too short to count reps"
        )
    signals = exercise_signals(track_or_motion)
    profile = (
        prm.profiles[exercise]
        if exercise != "unknown"
        else pick_unknown_signal(signals, body.fps, prm)
    )
    raw = signals[profile.signal]
    s = profile.direction * raw
    bounds = [0, *cut_frames(track_or_motion, prm.cut_jump), body.num_frames]
    reps: list[Rep] = []
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        for a, p, b in find_reps(s[lo:hi], body.fps, profile.min_range, prm, profile.min_rep_s):
            a, p, b = a + lo, p + lo, b + lo
            if profile.extreme is not None and profile.direction * (raw[p] - profile.extreme) < 0:
                continue  # a real rep reaches this depth / height; smaller swings are fidgets
            rest = profile.direction * min(s[a], s[b])
            reps.append(
                Rep(
                    a,
                    b,
                    body.seconds(a),
                    body.seconds(b),
                    float(abs(raw[p] - rest)),
                    float(raw[p]),
                    p,
                )
            )
    return RepCount(exercise, profile.signal, reps, body.fps, profile.direction)


def _guessed_exercise(track_or_motion: PoseTrack | Motion) -> str:
    """The guessed activity when it is an exercise, else "unknown"."""
    from .activity import guess_activity  # activity builds on count_reps: import when used

    label = guess_activity(track_or_motion).label
    return label if label in EXERCISES else "unknown"


def squat_stage(
    track_or_motion: PoseTrack | Motion, *, params: RepParams | None = None
) -> np.ndarray:
    """(T,) ``"up"`` / ``"down"`` per frame: down while the squat knee signal (see
    :func:`exercise_signals`) is below the midpoint of its 5th and 95th percentiles."""
    prm = params or RepParams()
    knees = exercise_signals(track_or_motion)["knees"]
    knees = smooth(knees, body_of(track_or_motion).fps, 0.2)
    out = np.full(knees.size, "up", dtype=object)
    if not np.isfinite(knees).any():
        return out.astype(str)
    deep, tall = np.nanpercentile(knees, [5, 95])
    if tall - deep >= prm.profiles["squat"].min_range:  # else no real squat: all "up"
        out[knees < 0.5 * (deep + tall)] = "down"
    return out.astype(str)
