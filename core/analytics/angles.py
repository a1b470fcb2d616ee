"""Joint angles and body geometry per frame, from 2D or 3D motions.

Conventions (all angles in degrees, smoothed, NaN where the joints are not seen):

* ``left_knee`` / ``right_knee``: interior angle hip-knee-ankle (180 = straight leg).
* ``left_elbow`` / ``right_elbow``: interior angle shoulder-elbow-wrist (180 = straight arm).
* ``left_hip`` / ``right_hip``: interior angle shoulder-hip-knee (180 = standing tall,
  about 90 = seated or deep squat). Hip flexion is ``180 - angle``.
* ``left_shoulder`` / ``right_shoulder``: angle between the trunk (shoulder to hip) and the
  upper arm (shoulder to elbow): 0 = arm by the side, 90 = level, 180 = overhead.
* ``spine_forward``: trunk lean from vertical. In 3D it is signed, measured in the body's
  sagittal plane (+ = leaning forward). In 2D only the image plane is seen, so it is the
  unsigned lean from the image vertical: a forward bend from a side (down-the-line) view, a
  side bend from a front view.
* ``spine_side`` (3D only): trunk lean in the frontal plane, + = towards the body's left.
* ``shoulder_rotation`` / ``hip_rotation`` (3D only): heading of the shoulder / hip line seen
  from above, 0 when the body faces the camera, + = turning counter-clockwise seen from above.
  ``x_factor`` is shoulder minus hip rotation.
* ``*_asymmetry``: left minus right for knee, elbow, hip and shoulder.

2D motions are ``image_normalized`` (y down); the geometry flips y and scales x by the
frame's aspect ratio (``motion.meta["frame_size"]`` or the ``aspect`` argument, default 1)
so angles are measured in square pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.errors import InputError
from core.motion import Motion, PoseTrack, Space
from core.skeleton import JOINT_ANGLES, MEDIAPIPE33, Joint

from .signal import angle_at, fill_nan, smooth, wrap_degrees

J = Joint
UP = np.array([0.0, 1.0, 0.0])
MIN_FRAMES = 3


@dataclass(frozen=True)
class Body:
    """Joint positions in a y-up frame, ready for geometry.

    p: (T, 33, 3) float64, NaN where the joint is missing (z = 0 for 2D motions).
    is3d: True for ``world_metres`` / ``torso_normalized`` input.
    """

    p: np.ndarray
    fps: float
    start_time: float
    is3d: bool

    @property
    def num_frames(self) -> int:
        return self.p.shape[0]

    def mid(self, a: Joint, b: Joint) -> np.ndarray:
        """(T, 3) midpoint of two joints."""
        return 0.5 * (self.p[:, a] + self.p[:, b])

    def torso_length(self) -> np.ndarray:
        """(T,) distance from the hips' midpoint to the shoulders' midpoint."""
        trunk = self.mid(J.LEFT_SHOULDER, J.RIGHT_SHOULDER) - self.mid(J.LEFT_HIP, J.RIGHT_HIP)
        return np.linalg.norm(trunk, axis=1)

    def seconds(self, frame: int) -> float:
        """Clip time of a frame index."""
        return self.start_time + frame / self.fps


def to_motion(track_or_motion: PoseTrack | Motion, *, prefer_3d: bool = True) -> Motion:
    """The motion to analyse: a PoseTrack gives its 3D (or 2D) motion with the frame size
    recorded in ``meta``; SMPL-22 motions are converted to the MediaPipe layout."""
    if isinstance(track_or_motion, PoseTrack):
        track = track_or_motion
        motion = track.motion3d if prefer_3d else track.motion2d
        return Motion(motion.joints, motion.visibility, motion.fps, motion.space,
                      motion.skeleton, motion.start_time,
                      {**motion.meta, "frame_size": track.frame_size})  # fmt: skip
    if not isinstance(track_or_motion, Motion):
        raise InputError(
            f"expected a Motion or PoseTrack, got {type(track_or_motion).__name__}; "
            "load one with core.motion_io.load_motion or core.pose.estimate_pose"
        )
    if track_or_motion.skeleton != MEDIAPIPE33:
        return track_or_motion.to_mediapipe33()
    return track_or_motion


def body_of(
    track_or_motion: PoseTrack | Motion,
    *,
    prefer_3d: bool = True,
    aspect: float | None = None,
    min_visibility: float = 0.5,
) -> Body:
    """Build a :class:`Body` (y up, NaN for missing joints) from a Motion or PoseTrack."""
    motion = to_motion(track_or_motion, prefer_3d=prefer_3d)
    if motion.num_frames < MIN_FRAMES:
        raise InputError(
            f"the motion has {motion.num_frames} frame(s); analytics need at least "
            f"{MIN_FRAMES}. Use a longer clip."
        )
    pos = motion.positions(min_visibility)  # (T, J, C)
    if motion.space is Space.IMAGE_NORMALIZED:
        if aspect is None:
            size = motion.meta.get("frame_size")
            aspect = float(size[0]) / float(size[1]) if size else 1.0
        p = np.zeros(pos.shape[:2] + (3,))
        p[..., 0] = pos[..., 0] * aspect
        p[..., 1] = -pos[..., 1]  # image y points down; geometry wants y up
        p[np.isnan(pos[..., 0])] = np.nan
        return Body(p, motion.fps, motion.start_time, is3d=False)
    return Body(pos, motion.fps, motion.start_time, is3d=True)


def require_joints(
    body: Body, joints: tuple[Joint, ...], what: str, min_fraction: float = 0.3
) -> None:
    """Raise InputError when the joints ``what`` needs are seen in too few frames."""
    seen = np.isfinite(body.p[:, list(joints), 0]).all(axis=1).mean()
    if seen < min_fraction:
        names = ", ".join(j.name.lower() for j in joints)
        raise InputError(
            f"{what} needs {names} visible in at least {min_fraction:.0%} of frames, but they "
            f"are seen together in {seen:.0%}. Film the whole body, well lit, from the side or front."
        )


def _body_axes(body: Body) -> tuple[np.ndarray, np.ndarray]:
    """(T, 3) unit left and forward axes in the horizontal plane (3D only)."""
    lat = (
        body.p[:, J.LEFT_HIP]
        - body.p[:, J.RIGHT_HIP]
        + body.p[:, J.LEFT_SHOULDER]
        - body.p[:, J.RIGHT_SHOULDER]
    )
    lat = lat - np.outer(lat @ UP, UP)
    lat = lat / np.linalg.norm(lat, axis=1, keepdims=True)
    fwd = np.cross(lat, UP)  # left x up = forward for a right-handed, y-up frame
    return lat, fwd


def heading(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """(T,) heading in degrees of the right->left line seen from above (0 = facing camera)."""
    v = left - right
    return np.degrees(np.arctan2(-v[:, 2], v[:, 0]))


def _smooth_heading(raw: np.ndarray, fps: float, window_s: float) -> np.ndarray:
    """Smooth an angle that may wrap at +-180 by unwrapping first."""
    filled = fill_nan(raw, max_gap=int(round(0.5 * fps)))
    ok = np.isfinite(filled)
    if not ok.any():
        return filled
    unwrapped = filled.copy()
    unwrapped[ok] = np.degrees(np.unwrap(np.radians(filled[ok])))
    return wrap_degrees(smooth(unwrapped, fps, window_s))


def raw_angles(body: Body) -> dict[str, np.ndarray]:
    """Unsmoothed per-frame angles (see module docstring for definitions)."""
    p = body.p
    out = {name: angle_at(p[:, a], p[:, b], p[:, c]) for name, (a, b, c) in JOINT_ANGLES.items()}
    trunk = body.mid(J.LEFT_SHOULDER, J.RIGHT_SHOULDER) - body.mid(J.LEFT_HIP, J.RIGHT_HIP)
    if body.is3d:
        lat, fwd = _body_axes(body)
        up = trunk @ UP
        out["spine_forward"] = np.degrees(np.arctan2(np.sum(trunk * fwd, axis=1), up))
        out["spine_side"] = np.degrees(np.arctan2(np.sum(trunk * lat, axis=1), up))
        out["shoulder_rotation"] = heading(p[:, J.LEFT_SHOULDER], p[:, J.RIGHT_SHOULDER])
        out["hip_rotation"] = heading(p[:, J.LEFT_HIP], p[:, J.RIGHT_HIP])
    else:
        out["spine_forward"] = np.degrees(np.abs(np.arctan2(trunk[:, 0], trunk[:, 1])))
    return out


def joint_angles(
    track_or_motion: PoseTrack | Motion,
    *,
    window_s: float = 0.15,
    aspect: float | None = None,
) -> dict[str, np.ndarray]:
    """Smoothed per-frame angles in degrees, NaN where unseen (keys in the module doc).

    A PoseTrack is measured in 3D (world metres), which adds rotations and the X-factor.
    """
    body = body_of(track_or_motion, aspect=aspect)
    require_joints(
        body, (J.LEFT_SHOULDER, J.RIGHT_SHOULDER, J.LEFT_HIP, J.RIGHT_HIP), "joint_angles"
    )
    raw = raw_angles(body)
    out: dict[str, np.ndarray] = {}
    for name, series in raw.items():
        if name.endswith("_rotation"):
            out[name] = _smooth_heading(series, body.fps, window_s)
        else:
            out[name] = smooth(series, body.fps, window_s)
    if body.is3d:
        out["x_factor"] = wrap_degrees(out["shoulder_rotation"] - out["hip_rotation"])
    for part in ("knee", "elbow", "hip", "shoulder"):
        out[f"{part}_asymmetry"] = out[f"left_{part}"] - out[f"right_{part}"]
    return out


def leg_spread(body: Body) -> np.ndarray:
    """(T,) ankle distance over hip width (about 1 with feet under the hips), smoothed."""
    ankles = np.linalg.norm(body.p[:, J.LEFT_ANKLE] - body.p[:, J.RIGHT_ANKLE], axis=1)
    hips = np.linalg.norm(body.p[:, J.LEFT_HIP] - body.p[:, J.RIGHT_HIP], axis=1)
    width = np.nanmedian(hips) if np.isfinite(hips).any() else np.nan
    return smooth(ankles / width, body.fps, 0.15)


def front_foot(track_or_motion: PoseTrack | Motion) -> np.ndarray:
    """(T,) ``"left"``, ``"right"`` or ``""`` (unknown): the foot further along the way the
    body faces. 3D uses the hips' normal; 2D assumes a side view and takes the facing
    direction from the nose relative to the ears."""
    body = body_of(track_or_motion)
    p = body.p
    diff = p[:, J.LEFT_ANKLE] - p[:, J.RIGHT_ANKLE]
    if body.is3d:
        _, fwd = _body_axes(body)
        ahead = np.sum(diff * fwd, axis=1)
    else:
        facing = np.sign(p[:, J.NOSE, 0] - body.mid(J.LEFT_EAR, J.RIGHT_EAR)[:, 0])
        ahead = diff[:, 0] * facing
    ahead = smooth(ahead, body.fps, 0.15)
    return np.where(np.isnan(ahead), "", np.where(ahead > 0, "left", "right"))


# The only activities with a clearly leading foot (a lunge's front leg, a walking stride).
LEADING_FOOT_ACTIVITIES = ("lunge", "walking")


def feet_apart(motion: Motion) -> np.ndarray:
    """(T,) True where the ankles are clearly split front-to-back (3D: >= 0.15 m along the
    facing direction; 2D: horizontal gap >= 40 % of the torso, which assumes a side view)."""
    p = motion.positions()
    gap = p[:, Joint.LEFT_ANKLE] - p[:, Joint.RIGHT_ANKLE]
    if motion.dims == 3:
        across = p[:, Joint.LEFT_HIP] - p[:, Joint.RIGHT_HIP]
        facing = np.cross(across, [0.0, 1.0, 0.0])
        facing /= np.linalg.norm(facing, axis=1, keepdims=True)
        ahead = np.abs(np.sum(gap * facing, axis=1))
        return np.nan_to_num(ahead) >= 0.15
    torso = np.linalg.norm(
        p[:, [Joint.LEFT_SHOULDER, Joint.RIGHT_SHOULDER]].mean(1)
        - p[:, [Joint.LEFT_HIP, Joint.RIGHT_HIP]].mean(1),
        axis=1,
    )
    return np.nan_to_num(np.abs(gap[:, 0])) >= 0.4 * np.nan_to_num(torso, nan=np.inf)


def leading_foot(track_or_motion: PoseTrack | Motion) -> np.ndarray:
    """(T,) ``"left"`` or ``"right"`` where that foot is clearly ahead (:func:`feet_apart`),
    else ``""``."""
    motion = to_motion(track_or_motion)
    return np.where(feet_apart(motion), front_foot(motion), "")


@dataclass(frozen=True)
class CameraExtremes:
    """Per frame, the joint nearest to and furthest from the camera (3D only)."""

    closest: np.ndarray  # (T,) joint index, -1 where unknown
    furthest: np.ndarray

    def at(self, frame: int) -> tuple[str, str]:
        """Names of the closest and furthest joint in one frame."""
        c, f = int(self.closest[frame]), int(self.furthest[frame])
        return (
            J(c).name.lower() if c >= 0 else "unknown",
            J(f).name.lower() if f >= 0 else "unknown",
        )

    def __str__(self) -> str:
        c = np.bincount(self.closest[self.closest >= 0], minlength=len(J))
        f = np.bincount(self.furthest[self.furthest >= 0], minlength=len(J))
        return (f"Most often closest to the camera: {J(int(c.argmax())).name.lower()}; "
                f"furthest: {J(int(f.argmax())).name.lower()}")  # fmt: skip


def camera_extremes(track_or_motion: PoseTrack | Motion) -> CameraExtremes:
    """Closest / furthest joint to the camera per frame (z points towards the camera)."""
    body = body_of(track_or_motion)
    if not body.is3d:
        raise InputError("camera_extremes needs a 3D motion (world_metres); 2D has no depth")
    z = body.p[..., 2]  # (T, J)
    seen = np.isfinite(z).any(axis=1)
    zz = np.where(np.isfinite(z), z, np.nan)
    closest = np.full(body.num_frames, -1)
    furthest = np.full(body.num_frames, -1)
    closest[seen] = np.nanargmax(zz[seen], axis=1)
    furthest[seen] = np.nanargmin(zz[seen], axis=1)
    return CameraExtremes(closest, furthest)
