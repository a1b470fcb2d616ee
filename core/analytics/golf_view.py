"""Camera view and handedness of a golf swing, and the key angles the view can show.

* View: face-on when the shoulders look wide (2D: shoulder width over torso length above
  ``FACE_ON_WIDTH``; 3D: the body's left-right axis lies across the image), else
  down-the-line; measured around address (or the opening fifth).
* Handedness, from the 2D image when there is one (steadier than MediaPipe's 3D wrists).
  Down-the-line: a right-hander faces the image's right, so at address the trunk leans,
  the hands reach and the nose points to the right. Face-on: a right-hander's hands are on
  the image's left at the top and on its right at the finish. Each cue votes; the
  confidence is how clearly they agree. 3D only: the side of the body the hands are on at
  the top.
* Key angles: spine tilt at address and impact (a forward bend, seen down-the-line or in
  3D), lead knee at address, and face-on only: the lead elbow at the top (a straight arm
  looks straight in any projection, so the image angle is used) and the shoulder and hip
  turn at the top (2D: how much narrower the shoulders / hips look than at address). Down
  the line the lead arm hides behind the body and turns point along the camera axis: those
  are listed in ``unseen`` instead of being given as numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.motion import Motion, PoseTrack
from core.skeleton import Joint as J

from .angles import Body, body_of, joint_angles

FACE_ON_WIDTH = 0.45  # 2D shoulder width / torso length above which the view is face-on
UNSEEN_DTL = ("lead_elbow_at_top", "shoulder_turn_at_top", "hip_turn_at_top")


@dataclass(frozen=True)
class Judgement:
    """A categorical answer and how sure it is, in [0, 1]."""

    value: str
    confidence: float


@dataclass(frozen=True)
class KeyAngles:
    """Key angles (degrees) with a confidence each, and the ones the view cannot show."""

    values: dict[str, float] = field(default_factory=dict)
    confidence: dict[str, float] = field(default_factory=dict)
    unseen: tuple[str, ...] = ()


def _window(body: Body, around: int | None) -> slice:
    if around is None:
        return slice(0, max(3, body.num_frames // 5))  # the opening fifth: address / stance
    return slice(max(0, around - 3), min(body.num_frames, around + 4))


def view_judgement(track_or_motion: PoseTrack | Motion, around: int | None = None) -> Judgement:
    """``face_on`` or ``down_the_line`` around frame ``around`` (see the module doc)."""
    body = body_of(track_or_motion, prefer_3d=not isinstance(track_or_motion, PoseTrack))
    w = _window(body, around)
    ls, rs = body.p[w, J.LEFT_SHOULDER], body.p[w, J.RIGHT_SHOULDER]
    lh, rh = body.p[w, J.LEFT_HIP], body.p[w, J.RIGHT_HIP]
    if body.is3d:
        lat = np.nanmedian((ls - rs) + (lh - rh), axis=0)
        across = abs(lat[0]) / (abs(lat[0]) + abs(lat[2]) + 1e-9)
        view = "face_on" if across > 0.5 else "down_the_line"
        return Judgement(view, round(min(1.0, abs(across - 0.5) / 0.25), 3))
    torso = np.nanmedian(np.linalg.norm(0.5 * (ls + rs - lh - rh), axis=1))
    ratio = float(np.nanmedian(np.linalg.norm(ls - rs, axis=1)) / torso)
    view = "face_on" if ratio > FACE_ON_WIDTH else "down_the_line"
    return Judgement(view, round(min(1.0, abs(ratio - FACE_ON_WIDTH) / 0.2), 3))


def detect_view(track_or_motion: PoseTrack | Motion, around: int | None = None) -> str:
    """``"face_on"`` or ``"down_the_line"`` (see :func:`view_judgement`)."""
    return view_judgement(track_or_motion, around).value


def _x_at(body: Body, joint_a: J, joint_b: J, w: slice) -> float:
    return float(np.nanmedian(body.mid(joint_a, joint_b)[w, 0]))


def _votes_2d(flat: Body, frames: dict[str, int], view: str) -> list[float]:
    """+1 votes for a right-hander, -1 for a left-hander (module doc)."""
    votes = []
    if view == "down_the_line":
        ref = frames.get("address", frames["impact"])
        w = _window(flat, ref)
        hip = _x_at(flat, J.LEFT_HIP, J.RIGHT_HIP, w)
        votes += [_x_at(flat, J.LEFT_SHOULDER, J.RIGHT_SHOULDER, w) - hip,
                  _x_at(flat, J.LEFT_WRIST, J.RIGHT_WRIST, w) - hip,
                  float(np.nanmedian(flat.p[w, J.NOSE, 0])) - _x_at(flat, J.LEFT_EAR, J.RIGHT_EAR, w)]  # fmt: skip
    else:  # the hands go to the trail side in the backswing, to the lead side after impact
        for event, sign in (("mid_backswing", -1.0), ("top", -1.0), ("mid_follow_through", 1.0)):
            if event in frames:
                w = _window(flat, frames[event])
                off = _x_at(flat, J.LEFT_WRIST, J.RIGHT_WRIST, w) - _x_at(
                    flat, J.LEFT_HIP, J.RIGHT_HIP, w
                )
                votes.append(sign * off)
    return [float(np.sign(v)) for v in votes if np.isfinite(v)]


def handedness_judgement(
    track_or_motion: PoseTrack | Motion, frames: dict[str, int], view: str
) -> Judgement:
    """``right`` or ``left``-handed golfer (see the module doc)."""
    flat = body_of(track_or_motion, prefer_3d=False, min_visibility=1e-3)
    if flat.is3d:
        return _handedness_3d(flat, frames["top"])
    votes = _votes_2d(flat, frames, view)
    total = sum(votes)
    if not votes or total == 0:
        return Judgement("right", 0.0)  # no clear cue: the common case, with no confidence
    return Judgement("right" if total > 0 else "left", round(abs(total) / len(votes), 3))


def _handedness_3d(body: Body, top: int) -> Judgement:
    """The hands sit on the body's right (trail) side at the top of a right-hander's swing."""
    n = max(3, body.num_frames // 5)
    hip = body.mid(J.LEFT_HIP, J.RIGHT_HIP)
    hands = body.mid(J.LEFT_WRIST, J.RIGHT_WRIST)
    lo, hi = max(0, top - 2), min(body.num_frames, top + 3)
    offset = np.nanmedian(hands[lo:hi] - hip[lo:hi], axis=0)
    left_axis = np.nanmedian(body.p[:n, J.LEFT_SHOULDER] - body.p[:n, J.RIGHT_SHOULDER], axis=0)
    left_axis[1] = 0.0  # only the horizontal left-right direction tells the sides apart
    side = float(offset @ left_axis / (np.linalg.norm(left_axis) + 1e-9))
    conf = min(1.0, abs(side) / 0.15)  # metres to the side of the hips
    return Judgement("left" if side > 0 else "right", round(conf, 3))


def detect_handedness(track_or_motion: PoseTrack | Motion, top: int, view: str) -> str:
    """``"right"`` or ``"left"``-handed golfer from the top alone (see the module doc)."""
    return handedness_judgement(track_or_motion, {"top": top, "impact": top}, view).value


def _width(body: Body, a: J, b: J, frame: int) -> float:
    w = _window(body, frame)
    return float(np.nanmedian(np.linalg.norm(body.p[w, a, :2] - body.p[w, b, :2], axis=1)))


def _turn_2d(flat: Body, a: J, b: J, address: int, top: int) -> float:
    """Face-on turn (degrees): a line of width w at address looks w cos(turn) wide."""
    ratio = _width(flat, a, b, top) / _width(flat, a, b, address)
    return float(np.degrees(np.arccos(np.clip(ratio, 0.0, 1.0))))


def key_angles(
    track_or_motion: PoseTrack | Motion, frames: dict[str, int], handedness: str, view: str
) -> KeyAngles:
    """Spine tilt, lead knee, and face-on lead elbow and turns, each with a confidence."""
    ang = joint_angles(track_or_motion)
    flat = body_of(track_or_motion, prefer_3d=False, min_visibility=1e-3)
    lead = "left" if handedness == "right" else "right"
    vals: dict[str, float] = {}
    conf: dict[str, float] = {}
    # A forward bend shows down-the-line; face-on only 3D depth (MediaPipe's, rough) has it.
    tilt_conf = 0.8 if view == "down_the_line" else (0.5 if "spine_side" in ang else 0.0)
    for event in ("address", "impact"):
        if event in frames and tilt_conf > 0:
            vals[f"spine_forward_at_{event}"] = float(ang["spine_forward"][frames[event]])
            conf[f"spine_forward_at_{event}"] = tilt_conf
    if "address" in frames:
        vals["lead_knee_at_address"] = float(ang[f"{lead}_knee"][frames["address"]])
        conf["lead_knee_at_address"] = 0.7
    if view == "down_the_line":
        return _finite(KeyAngles(vals, conf, UNSEEN_DTL))
    top = frames["top"]
    elbow3 = float(ang[f"{lead}_elbow"][top])
    if flat.is3d:
        vals["lead_elbow_at_top"], conf["lead_elbow_at_top"] = elbow3, 0.5
    else:
        elbow2 = float(joint_angles(_motion2d(track_or_motion))[f"{lead}_elbow"][top])
        vals["lead_elbow_at_top"] = elbow2
        conf["lead_elbow_at_top"] = 0.8 if abs(elbow2 - elbow3) < 25.0 else 0.6
    if "address" in frames:
        vals.update(_turns(track_or_motion, flat, ang, frames["address"], top))
        for k in ("shoulder_turn_at_top", "hip_turn_at_top", "x_factor_at_top"):
            if k in vals:
                conf[k] = 0.6 if _plausible_turns(vals) else 0.2
    return _finite(KeyAngles(vals, conf, ()))


def _motion2d(track_or_motion: PoseTrack | Motion) -> PoseTrack | Motion:
    return track_or_motion.motion2d if isinstance(track_or_motion, PoseTrack) else track_or_motion


def _turns(track_or_motion: PoseTrack | Motion, flat: Body, ang: dict[str, np.ndarray],
           address: int, top: int) -> dict[str, float]:  # fmt: skip
    """Shoulder and hip turn at the top: 2D width ratio when there is an image, else 3D."""
    if not flat.is3d:
        out = {"shoulder_turn_at_top": _turn_2d(flat, J.LEFT_SHOULDER, J.RIGHT_SHOULDER, address, top),
               "hip_turn_at_top": _turn_2d(flat, J.LEFT_HIP, J.RIGHT_HIP, address, top)}  # fmt: skip
    elif "shoulder_rotation" in ang:
        out = {}
        for part in ("shoulder", "hip"):
            turn = ang[f"{part}_rotation"][top] - ang[f"{part}_rotation"][address]
            out[f"{part}_turn_at_top"] = float(abs((turn + 180.0) % 360.0 - 180.0))
    else:
        return {}
    out["x_factor_at_top"] = out["shoulder_turn_at_top"] - out["hip_turn_at_top"]
    return out


def _plausible_turns(vals: dict[str, float]) -> bool:
    """A golfer turns the shoulders at most about 130 deg and the hips about 90 deg."""
    return (
        vals.get("shoulder_turn_at_top", 0.0) <= 130.0
        and 0.0 <= vals.get("hip_turn_at_top", 0.0) <= 90.0
    )


def _finite(k: KeyAngles) -> KeyAngles:
    keep = {n: v for n, v in k.values.items() if np.isfinite(v)}
    return KeyAngles(keep, {n: c for n, c in k.confidence.items() if n in keep}, k.unseen)
