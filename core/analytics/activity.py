"""Guess which known movement a clip shows, with a confidence, so the app can pick the
analysis (the user can override it).

Heuristic features, each a number in torso lengths, degrees or counts:

* ``energy``: median joint speed (torso lengths / s) - standing still is low;
* ``travel``: how far the hips move across the image (2D only) in torso lengths;
* ``stride``: periodic energy of left-minus-right knee angle (legs alternating: walking);
* ``horizontal``: fraction of frames with the trunk more than 60 degrees from vertical;
* ``grip``: fraction of frames with the wrists closer than half a torso (both hands on a club
  or bat);
* reps found with each exercise profile (squat, lunge, push_up, curl, jumping_jack);
* ``swing``: peak hands speed, hands' height range, and whether golf events are found;
  golf addresses the ball with the hands below the hips, baseball starts with them high.

Each label gets a score in [0, 1] from these features; confidence is the best score's share of
all scores, shrunk by how clear the winner is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.errors import InputError
from core.motion import Motion, PoseTrack, Space
from core.skeleton import Joint as J

from .angles import Body, body_of, joint_angles
from .golf import GolfParams, find_golf_frames, hands_path
from .reps import count_reps, cut_frames, periodic_energy

ACTIVITIES = ("golf_swing", "baseball_swing", "squat", "push_up", "lunge", "jumping_jack", "curl",
              "walking", "standing", "unknown")  # fmt: skip


@dataclass(frozen=True)
class ActivityGuess:
    """Most likely activity, its confidence in [0, 1], and every label's score."""

    label: str
    confidence: float
    scores: dict[str, float]
    features: dict[str, float] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"Looks like {self.label.replace('_', ' ')} (confidence {self.confidence:.0%})"


def _features(track_or_motion: PoseTrack | Motion) -> dict[str, float]:
    body = body_of(track_or_motion)
    flat = body_of(track_or_motion, prefer_3d=False, min_visibility=1e-3)
    hip = flat.mid(J.LEFT_HIP, J.RIGHT_HIP)
    torso = float(
        np.nanmedian(np.linalg.norm(flat.mid(J.LEFT_SHOULDER, J.RIGHT_SHOULDER) - hip, axis=1))
    )
    rel = (flat.p - hip[:, None]) / torso
    speed = np.linalg.norm(np.diff(rel, axis=0), axis=-1) * flat.fps  # (T-1, J)
    ang = joint_angles(track_or_motion)
    wrists = np.linalg.norm(flat.p[:, J.LEFT_WRIST] - flat.p[:, J.RIGHT_WRIST], axis=1) / torso
    is_image = isinstance(track_or_motion, PoseTrack) or (
        isinstance(track_or_motion, Motion) and track_or_motion.space is Space.IMAGE_NORMALIZED
    )
    travel = 0.0
    if is_image:
        bounds = [0, *cut_frames(track_or_motion), flat.num_frames]
        travel = max(float(np.nanmax(hip[a:b, 0]) - np.nanmin(hip[a:b, 0])) / torso
                     for a, b in zip(bounds[:-1], bounds[1:], strict=True) if np.isfinite(hip[a:b, 0]).any())  # fmt: skip
    f = {
        "energy": _median_speed(speed),
        "travel": travel,
        "stride": periodic_energy(ang["knee_asymmetry"], body.fps, 0.3, 2.0),
        "horizontal": float(np.nanmean(np.abs(ang["spine_forward"]) > 60.0)),
        "grip": float(np.mean(wrists < 0.5)),
        "split_knees": _split_knees(ang),
    }
    f.update(_swing_features(flat))
    for ex in ("squat", "lunge", "push_up", "curl", "jumping_jack"):
        f[f"reps_{ex}"] = float(count_reps(track_or_motion, ex).count)
    return f


def _median_speed(speed: np.ndarray) -> float:
    """Median over frames of the mean speed of the joints seen in that frame."""
    ok = np.isfinite(speed)
    per_frame = np.where(ok, speed, 0.0).sum(axis=1) / np.maximum(ok.sum(axis=1), 1)
    seen = ok.any(axis=1)
    return float(np.median(per_frame[seen])) if seen.any() else 0.0


def _split_knees(ang: dict[str, np.ndarray]) -> float:
    """Median left-right knee difference while a knee is bent past 135 degrees (lunges
    bend one knee far more than the other; squats bend both alike)."""
    bent = np.fmin(ang["left_knee"], ang["right_knee"]) < 135.0
    diff = np.abs(ang["knee_asymmetry"][bent])
    diff = diff[np.isfinite(diff)]
    return float(np.median(diff)) if diff.size else 0.0


def _swing_features(flat: Body) -> dict[str, float]:
    """Hands' peak speed, height range and starting height; whether golf events are found."""
    out = {"hand_speed": 0.0, "hand_range": 0.0, "hands_start": 0.0, "golf_found": 0.0}
    try:
        path = hands_path(flat)
    except InputError:
        return out  # hands not seen (e.g. a legs-only landmark file): no swing features
    out["hand_speed"] = float(np.nanmax(path.speed))
    out["hand_range"] = float(np.nanmax(path.height) - np.nanmin(path.height))
    out["hands_start"] = float(np.nanmedian(path.height[: max(3, flat.num_frames // 6)]))
    try:
        find_golf_frames(path, GolfParams())
        out["golf_found"] = 1.0
    except InputError:
        pass  # no backswing-downswing-finish pattern: not a golf swing
    return out


def _clip01(x: float) -> float:
    return float(min(1.0, max(0.0, x)))


def _scores(f: dict[str, float]) -> dict[str, float]:
    upright = 1.0 - f["horizontal"]
    # Both hands on a club or bat most of the clip, and fast hands at some moment.
    swing = _clip01((f["grip"] - 0.4) / 0.4) * _clip01(f["hand_speed"] / 6.0)
    s = {
        "golf_swing": swing * f["golf_found"] * _clip01((0.3 - f["hands_start"]) / 0.4 + 0.5),
        "baseball_swing": swing
        * _clip01((f["hands_start"] - 0.3) / 0.4 + 0.5)
        * _clip01(f["hand_range"] / 0.8 + 0.2),
        "squat": _clip01(f["reps_squat"] / 2) * upright * (1.0 - _clip01(f["reps_jumping_jack"])),
        "lunge": _clip01(f["reps_lunge"] / 2) * upright * _clip01(f["split_knees"] / 30.0),
        "push_up": _clip01(f["horizontal"] / 0.5) * (0.5 + 0.5 * _clip01(f["reps_push_up"] / 2)),
        "curl": _clip01(f["reps_curl"] / 2)
        * upright
        * (1.0 - _clip01(f["reps_squat"]))
        * (1.0 - f["grip"] * 0.5),
        "jumping_jack": _clip01(f["reps_jumping_jack"] / 2),
        "walking": _clip01(f["stride"] / 15.0)
        * _clip01(f["travel"] / 2.0 + 0.3)
        * (1.0 - _clip01(f["reps_jumping_jack"])),
        "standing": _clip01(1.0 - f["energy"] / 0.4),
        "unknown": 0.15,
    }
    return {k: round(float(v), 4) for k, v in s.items()}


def guess_activity(track_or_motion: PoseTrack | Motion) -> ActivityGuess:
    """Most likely activity among :data:`ACTIVITIES` from heuristic features (module doc)."""
    f = _features(track_or_motion)
    scores = _scores(f)
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    (best, s1), (_, s2) = ranked[0], ranked[1]
    total = sum(scores.values())
    confidence = (s1 / total) * _clip01(0.5 + (s1 - s2)) if total > 0 else 0.0
    return ActivityGuess(best, round(float(confidence), 3), scores, f)
