"""Guess which known movement a clip shows, or say that it is unsure or that the movement is
not supported yet, with a confidence and a reason. The user's choice overrides the guess.

Rules on robust, speed-independent cues (features in torso lengths, degrees, fractions):

* ``horizontal`` / ``upright``: fraction of frames with the trunk more / less than 60 / 50
  degrees from vertical (a push-up is horizontal; swings, squats and curls are upright);
* ``grip``: fraction of frames with the wrists within half a torso in the image (both hands
  on a club or bat);
* ``hands_start`` / ``hands_top`` / ``hands_low``: the hands' height above the hips at the
  start, at their highest and at their lowest (5th percentile), after dropping pose glitches
  (a golfer's hands come down to the hips at address and impact and go above the shoulders
  at the top; a batter starts with them near the shoulders and keeps them above the hips);
* ``motion``: how far the hands and feet move relative to the hips (5th-95th percentile,
  torso lengths), which tells standing from moving at any playback speed;
* reps found with each exercise profile that also fit the exercise's posture (done in place;
  trunk horizontal for push-ups, upright otherwise; both arms raised above 60 deg and the
  feet opening for jumping jacks; upper arms by the sides for curls; feet under the body for
  squats and split for lunges);
* ``burst``: peak over median hand speed; ``golf_found``: a backswing-downswing-finish
  pattern of the hands; ``stride`` / ``travel``: alternating knees and hips moving across.

Each label gets a score in [0, 1], a product of soft gates on those cues, and a periodic
exercise (two or more reps that pass its gates) rules out a swing. The best label is claimed
when its score passes ``MIN_SCORE`` and beats the runner-up by ``MIN_MARGIN``; a clip where
something clearly moves but no label passes is ``not_supported``, and a close call is
``unknown`` (not sure), each with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.errors import InputError
from core.motion import Motion, PoseTrack, Space
from core.skeleton import Joint as J

from .angles import Body, body_of, joint_angles
from .baseball import despiked
from .golf import GolfParams, find_golf_frames, hands_path
from .reps import count_reps, cut_frames, periodic_energy

UNSURE = "unknown"
NOT_SUPPORTED = "not_supported"
ACTIVITIES = ("golf_swing", "baseball_swing", "squat", "push_up", "lunge", "jumping_jack", "curl",
              "walking", "standing", NOT_SUPPORTED, UNSURE)  # fmt: skip
# The activities the analytics can analyse (what a user may choose in the UI or CLI).
SUPPORTED_ACTIVITIES = tuple(a for a in ACTIVITIES if a not in (NOT_SUPPORTED, UNSURE))
MIN_SCORE = 0.5  # a label's score must reach this to be guessed
MIN_MARGIN = 0.2  # ... and beat the runner-up by this much
MIN_MOTION = 0.6  # torso lengths the hands or feet move beyond which "standing" is ruled out
_EXERCISE_REPS = ("squat", "lunge", "push_up", "curl", "jumping_jack")


@dataclass(frozen=True)
class ActivityGuess:
    """Most likely activity (or ``unknown`` / ``not_supported``), its confidence in [0, 1],
    every label's score, the features, and why (for unsure or unsupported clips)."""

    label: str
    confidence: float
    scores: dict[str, float]
    features: dict[str, float] = field(default_factory=dict)
    reason: str = ""

    @property
    def supported(self) -> bool:
        return self.label in SUPPORTED_ACTIVITIES

    def __str__(self) -> str:
        if self.label == UNSURE:
            return f"Not sure which activity this is ({self.reason})"
        if self.label == NOT_SUPPORTED:
            return f"Activity not supported yet ({self.reason})"
        return f"Looks like {self.label.replace('_', ' ')} (confidence {self.confidence:.0%})"


def _features(track_or_motion: PoseTrack | Motion) -> dict[str, float]:
    body = body_of(track_or_motion)
    flat = body_of(track_or_motion, prefer_3d=False, min_visibility=1e-3)
    ang = joint_angles(track_or_motion)
    trunk = np.abs(ang["spine_forward"])
    seen = np.isfinite(trunk)
    f = {
        "horizontal": float(np.mean(trunk[seen] > 60.0)) if seen.any() else 0.0,
        "upright": float(np.mean(trunk[seen] < 50.0)) if seen.any() else 0.0,
        "travel": _travel(track_or_motion, flat),
        "stride": periodic_energy(ang["knee_asymmetry"], body.fps, 0.3, 2.0),
        "motion": _motion(flat),
    }
    f.update(_hand_features(flat))
    for ex in _EXERCISE_REPS:
        f[f"reps_{ex}"] = float(_fitting_reps(track_or_motion, ex, flat, ang))
    return f


def _fitting_reps(
    track_or_motion: PoseTrack | Motion, exercise: str, flat: Body, ang: dict[str, np.ndarray]
) -> int:
    """Reps of ``exercise`` done in place with the exercise's posture: the hips move less
    than a torso sideways, the trunk is horizontal (push-up) or upright (the rest), both arms
    rise and the legs open (jumping jack), the upper arms stay by the sides (curl), the
    feet stay under the body (squat) or split far apart (lunge)."""
    try:
        reps = count_reps(track_or_motion, exercise).reps
    except InputError:  # too short for a rep (e.g. a 0.7 s swing): no reps
        return 0
    torso = _torso(flat)
    hip_x = flat.mid(J.LEFT_HIP, J.RIGHT_HIP)[:, 0] / torso
    feet = np.linalg.norm(flat.p[:, J.LEFT_ANKLE] - flat.p[:, J.RIGHT_ANKLE], axis=1) / torso
    trunk = np.abs(ang["spine_forward"])
    arms_up = np.fmin(ang["left_shoulder"], ang["right_shoulder"])
    arms_out = np.fmax(ang["left_shoulder"], ang["right_shoulder"])
    n = 0
    for r in reps:
        sl, p = slice(r.start, r.end + 1), r.peak_frame
        lean = _median(trunk[sl])
        checks = {
            "push_up": lean > 60.0,
            "jumping_jack": arms_up[p] > 60.0 and _span(feet[sl]) > 0.3,
            "curl": lean < 50.0 and _median(arms_out[sl]) < 45.0,
            "squat": lean < 50.0 and feet[p] < 1.4,
            "lunge": lean < 50.0 and feet[p] >= 1.4,
        }
        n += bool(_span(hip_x[sl]) < 1.0 and checks[exercise])
    return n


def _median(x: np.ndarray) -> float:
    return float(np.nanmedian(x)) if np.isfinite(x).any() else float("nan")


def _span(x: np.ndarray) -> float:
    return float(np.nanmax(x) - np.nanmin(x)) if np.isfinite(x).any() else 0.0


def _torso(flat: Body) -> float:
    hip = flat.mid(J.LEFT_HIP, J.RIGHT_HIP)
    sh = flat.mid(J.LEFT_SHOULDER, J.RIGHT_SHOULDER)
    return float(np.nanmedian(np.linalg.norm(sh - hip, axis=1)))


def _travel(track_or_motion: PoseTrack | Motion, flat: Body) -> float:
    """Largest sideways hip travel within one camera shot, torso lengths (-1 for a 3D motion:
    it is centred on the hips, so travel is not seen)."""
    is_image = (
        isinstance(track_or_motion, PoseTrack) or track_or_motion.space is Space.IMAGE_NORMALIZED
    )
    if not is_image:
        return -1.0
    hip = flat.mid(J.LEFT_HIP, J.RIGHT_HIP)[:, 0] / _torso(flat)
    bounds = [0, *cut_frames(track_or_motion), flat.num_frames]
    return max((float(np.nanmax(hip[a:b]) - np.nanmin(hip[a:b]))
                for a, b in zip(bounds[:-1], bounds[1:], strict=True) if np.isfinite(hip[a:b]).any()),
               default=0.0)  # fmt: skip


def _motion(flat: Body) -> float:
    """How far the wrists and ankles move relative to the hips (largest 5-95 % range)."""
    hip = flat.mid(J.LEFT_HIP, J.RIGHT_HIP)
    rel = (
        flat.p[:, [J.LEFT_WRIST, J.RIGHT_WRIST, J.LEFT_ANKLE, J.RIGHT_ANKLE], :2] - hip[:, None, :2]
    ) / _torso(flat)
    if not np.isfinite(rel).any():
        return 0.0
    lo, hi = np.nanpercentile(rel, [5, 95], axis=0)  # (4, 2)
    return float(np.nanmax(np.linalg.norm(hi - lo, axis=-1)))


def _hand_features(flat: Body) -> dict[str, float]:
    """Grip, the hands' starting and top height, their burstiness, and the golf pattern."""
    out = {"grip": 0.0, "hands_start": 0.0, "hands_top": 0.0, "hands_low": 0.0, "burst": 0.0,
           "golf_found": 0.0}  # fmt: skip
    try:
        path = hands_path(despiked(flat))
    except InputError:
        return out  # hands not seen (e.g. a legs-only landmark file): no swing features
    wrists = np.linalg.norm(flat.p[:, J.LEFT_WRIST] - flat.p[:, J.RIGHT_WRIST], axis=1)
    out["grip"] = float(np.mean(wrists / _torso(flat) < 0.5))
    out["hands_start"] = float(np.nanmedian(path.height[: max(3, flat.num_frames // 6)]))
    out["hands_top"] = float(np.nanmax(path.height))
    out["hands_low"] = float(np.nanpercentile(path.height, 5))
    speed = path.speed[np.isfinite(path.speed)]
    if speed.size:
        out["burst"] = float(np.max(speed) / (np.median(speed) + 0.05 * np.max(speed)))
    try:
        find_golf_frames(path, GolfParams())
        out["golf_found"] = 1.0
    except InputError:
        pass  # no backswing-downswing-finish pattern: not a golf swing
    return out


def _ramp(x: float, lo: float, hi: float) -> float:
    """0 below ``lo``, 1 above ``hi``, linear between."""
    return float(min(1.0, max(0.0, (x - lo) / (hi - lo))))


def _exercise_scores(f: dict[str, float]) -> dict[str, float]:
    upright = 1.0 - _ramp(f["horizontal"], 0.2, 0.5)
    reps = {ex: _ramp(f[f"reps_{ex}"], 1.0, 2.0) for ex in _EXERCISE_REPS}
    return {
        "squat": reps["squat"] * upright,
        "lunge": reps["lunge"] * upright,
        "push_up": _ramp(f["horizontal"], 0.3, 0.6) * (0.6 + 0.4 * reps["push_up"]),
        "curl": reps["curl"] * upright,
        "jumping_jack": reps["jumping_jack"],
    }


def _scores(f: dict[str, float]) -> dict[str, float]:
    """Score in [0, 1] of every supported activity (see the module doc)."""
    s = _exercise_scores(f)
    upright = 1.0 - _ramp(f["horizontal"], 0.2, 0.5)
    one_off = upright * (1.0 - max(s.values()))  # swings and walks are not periodic exercises
    # Golf: the ball lies on the ground, so the hands come down to the hips at address and
    # impact, and go above the shoulders at the top. Baseball: the ball comes at the body, so
    # the hands stay above the hips, starting near the shoulders (not over the head).
    s["golf_swing"] = (one_off * f["golf_found"] * _ramp(f["grip"], 0.3, 0.6)
                       * _ramp(0.6 - f["hands_low"], 0.0, 0.3) * _ramp(f["hands_top"], 1.0, 1.3))  # fmt: skip
    s["baseball_swing"] = (one_off * _ramp(f["grip"], 0.25, 0.45) * _ramp(f["hands_start"], 0.3, 0.6)
                           * (1.0 - _ramp(f["hands_start"], 1.5, 1.8)) * _ramp(f["hands_low"], 0.0, 0.3)
                           * _ramp(f["motion"], 1.0, 1.5) * _ramp(f["burst"], 1.5, 3.0))  # fmt: skip
    moved = 1.0 if f["travel"] < 0 else _ramp(f["travel"], 1.0, 2.0)  # < 0: 3D, travel unseen
    free_hands = 1.0 - _ramp(f["grip"], 0.3, 0.6)  # a walker does not hold a club or bat
    s["walking"] = one_off * _ramp(f["stride"], 5.0, 12.0) * moved * free_hands
    s["standing"] = upright * (1.0 - _ramp(f["motion"], 0.3, MIN_MOTION))
    return {k: round(float(v), 4) for k, v in s.items()}


def _decide(scores: dict[str, float], f: dict[str, float]) -> tuple[str, float, str]:
    """(label, confidence, reason) from the scores (see the module doc)."""
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    (best, s1), (second, s2) = ranked[0], ranked[1]
    name = {k: k.replace("_", " ") for k in scores}
    if s1 >= MIN_SCORE and s1 - s2 >= MIN_MARGIN:
        return best, round(max(0.0, s1 - 0.5 * s2), 3), ""
    if s1 >= MIN_SCORE:
        why = f"{name[best]} {s1:.0%} vs {name[second]} {s2:.0%}; choose the activity"
        return UNSURE, round(1.0 - (s1 - s2) / MIN_MARGIN, 3), why
    if f["motion"] >= MIN_MOTION:
        why = (f"the body moves but matches no supported activity (closest: {name[best]} "
               f"{s1:.0%}); throwing, running, lifting and other sports are not analysed yet")  # fmt: skip
        return NOT_SUPPORTED, round(1.0 - s1, 3), why
    return (
        UNSURE,
        round(1.0 - s1, 3),
        "little movement and no supported pattern; choose the activity",
    )


def guess_activity(track_or_motion: PoseTrack | Motion) -> ActivityGuess:
    """Most likely activity among :data:`ACTIVITIES`, or unsure / not supported (module doc)."""
    f = _features(track_or_motion)
    scores = _scores(f)
    label, confidence, reason = _decide(scores, f)
    return ActivityGuess(label, confidence, scores, f, reason)
