"""Model input from a ``Motion``: FiGMo's unified pose encoder idea, one layout for 2D and 3D.

``motion_to_features`` gives (T, 33, 4) channels ``(x, y, z, visibility)``: root-centred per
frame (hip midpoint), scaled so the median torso length is 1, y up (as ``Motion.normalized``).
2D motions get ``z = 0``. The 2D/3D choice travels separately as ``is_3d`` (see
:func:`motion_is_3d`); the motion encoder adds a *learned* 2D/3D embedding from it, so the
same weights serve both kinds and still know which came in. torch-free.
"""

from __future__ import annotations

import numpy as np

from core.motion import Motion, Space
from core.skeleton import Joint

BODY_JOINTS = np.arange(Joint.LEFT_SHOULDER, len(Joint))  # 22 joints below the face
MIN_VISIBILITY = 0.5
MIN_BODY_FRACTION = 0.5
FEATURE_CLIP = 10.0  # torso lengths; a joint further out is a tracking glitch
# A standing body spans about three torso lengths; used only when no torso is ever seen.
BODY_HEIGHT_IN_TORSOS = 3.0
FEATURE_SETS = ("v1", "v2")
VELOCITY_SCALE = 0.2  # torso lengths per second -> about unit size for brisk movements


def motion_is_3d(motion: Motion) -> bool:
    """True for metric 3D motions, False for image-space 2D ones."""
    return motion.space is not Space.IMAGE_NORMALIZED and motion.dims == 3


def frame_mask(motion: Motion) -> np.ndarray:
    """(T,) bool: True where at least half the tracked body joints are visible.

    "Tracked" = body joints the clip shows at all, so sources with a joint subset (e.g. a
    landmark CSV with only hips, knees and ankles) are not masked wholesale."""
    vis = motion.visibility[:, BODY_JOINTS]  # (T, 22)
    tracked = (vis > 0).any(axis=0)  # (22,)
    if not tracked.any():
        return np.zeros(motion.num_frames, dtype=bool)
    seen = vis[:, tracked] >= MIN_VISIBILITY  # (T, n_tracked)
    return seen.mean(axis=1) >= MIN_BODY_FRACTION


def feature_channels(feature_set: str) -> int:
    """Channels per joint: v1 (x, y, z, visibility); v2 adds the velocity (vx, vy, vz)."""
    if feature_set not in FEATURE_SETS:
        raise ValueError(f"feature_set: {feature_set!r} is not one of {list(FEATURE_SETS)}")
    return 4 if feature_set == "v1" else 7


def motion_to_features(motion: Motion, feature_set: str = "v1") -> tuple[np.ndarray, np.ndarray]:
    """(T, 33, C) float32 features (C from :func:`feature_channels`) and (T,) bool frame
    mask; never NaN.

    Like ``Motion.normalized()``, but a frame whose hips are hidden borrows the root of the
    nearest frames that show them (interpolated), since a zero-filled hip would shift it.
    ``"v2"`` also turns 3D motions to a canonical facing (the clip's mean hip line along +x,
    so the camera's azimuth does not change the input) and appends joint velocities in
    torso lengths per second (scaled by ``VELOCITY_SCALE``).
    """
    channels = feature_channels(feature_set)
    motion = motion.to_mediapipe33()
    vis = motion.visibility  # (T, 33)
    joints = motion.joints.astype(np.float64)  # (T, 33, C)
    if motion.dims == 2:
        joints = joints * np.array([1.0, -1.0])  # image y points down; make +y up
    root = _root_trajectory(joints, vis)  # (T, C)
    scale = _scale(motion, joints, vis, root)
    xyz = (joints - root[:, None, :]) / scale  # (T, 33, C)
    if motion.dims == 2:
        xyz = np.concatenate([xyz, np.zeros_like(xyz[..., :1])], axis=-1)  # (T, 33, 3)
    elif channels > 4:
        xyz = _canonical_facing(xyz, vis)
    xyz = np.where(vis[..., None] > 0, np.clip(xyz, -FEATURE_CLIP, FEATURE_CLIP), 0.0)
    parts = [xyz, vis[..., None]]
    if channels > 4:
        parts.append(_velocity(xyz, vis, motion.fps))
    feats = np.concatenate(parts, axis=-1).astype(np.float32)  # (T, 33, C)
    return np.nan_to_num(feats), frame_mask(motion)


def _canonical_facing(xyz: np.ndarray, vis: np.ndarray) -> np.ndarray:
    """Rotate about the vertical (y) axis so the mean left-to-right hip line is +x."""
    seen = (vis[:, [Joint.LEFT_HIP, Joint.RIGHT_HIP]] > 0).all(axis=1)  # (T,)
    if not seen.any():
        return xyz
    across = (xyz[seen, Joint.LEFT_HIP] - xyz[seen, Joint.RIGHT_HIP]).mean(axis=0)  # (3,)
    angle = np.arctan2(across[2], across[0])
    c, s = np.cos(angle), np.sin(angle)
    rot = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])  # maps `across` onto +x
    return xyz @ rot.T


def _velocity(xyz: np.ndarray, vis: np.ndarray, fps: float) -> np.ndarray:
    """(T, 33, 3) central-difference velocity, zero where a joint is hidden nearby."""
    if xyz.shape[0] < 2:
        return np.zeros_like(xyz)
    vel = np.gradient(xyz, axis=0) * fps * VELOCITY_SCALE  # (T, 33, 3)
    hidden = vis <= 0  # (T, 33)
    # A frame's difference reads only its own neighbours: np.roll wrapped the last frame's
    # mask onto the first (and back), zeroing an edge frame for a joint hidden at the other end.
    near = hidden.copy()
    near[1:] |= hidden[:-1]
    near[:-1] |= hidden[1:]
    return np.where(near[..., None], 0.0, np.clip(vel, -FEATURE_CLIP, FEATURE_CLIP))


def _root_trajectory(joints: np.ndarray, vis: np.ndarray) -> np.ndarray:
    """(T, C) hip midpoint; interpolated where hips are hidden, else visible-joint mean."""
    t = joints.shape[0]
    hips_ok = (vis[:, [Joint.LEFT_HIP, Joint.RIGHT_HIP]] > 0).all(axis=1)  # (T,)
    hips = 0.5 * (joints[:, Joint.LEFT_HIP] + joints[:, Joint.RIGHT_HIP])  # (T, C)
    if hips_ok.all():
        return hips
    if hips_ok.any():
        frames = np.nonzero(hips_ok)[0]
        cols = [np.interp(np.arange(t), frames, hips[frames, c]) for c in range(joints.shape[2])]
        return np.stack(cols, axis=1)  # (T, C)
    weights = (vis > 0).astype(np.float64)  # (T, 33)
    total = np.maximum(weights.sum(axis=1, keepdims=True), 1.0)
    return (joints * weights[..., None]).sum(axis=1) / total  # (T, C)


def _scale(motion: Motion, joints: np.ndarray, vis: np.ndarray, root: np.ndarray) -> float:
    """Median torso length, or a body-extent guess when shoulders and hips never show."""
    try:
        scale = motion.torso_length()
    except ValueError:
        seen = vis > 0  # (T, 33)
        dist = np.linalg.norm(joints - root[:, None, :], axis=-1)  # (T, 33)
        extent = np.where(seen, dist, 0.0).max(axis=1)[seen.any(axis=1)]
        scale = float(np.median(extent)) * 2.0 / BODY_HEIGHT_IN_TORSOS if extent.size else 0.0
    return scale if scale > 1e-6 else 1.0
