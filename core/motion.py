"""``Motion``: a skeleton sequence that names its coordinate space; ``PoseTrack``: what the
motion estimator returns. Reading and writing motion files is in ``core.motion_io``.

NaN policy: a NaN coordinate marks a missing joint. On construction such joints get
visibility 0 and coordinates 0, so arrays never carry NaN into models; analytics that want
NaN for missing joints call :meth:`Motion.positions`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path

import numpy as np

from core.skeleton import (
    MEDIAPIPE33,
    MIRROR_INDEX,
    MP33_TO_SMPL22,
    NUM_JOINTS,
    SMPL22,
    SMPL22_TO_MP33,
    Joint,
    SMPLJoint,
)


class Space(str, Enum):
    """Coordinate space of ``Motion.joints`` (see ``core.skeleton`` for axis conventions)."""

    IMAGE_NORMALIZED = "image_normalized"  # (x, y) in [0, 1], y down
    WORLD_METRES = "world_metres"  # (x, y, z) metres, y up, hip-centred per frame
    TORSO_NORMALIZED = "torso_normalized"  # root-centred, median torso length = 1


SKELETON_JOINTS = {MEDIAPIPE33: NUM_JOINTS, SMPL22: len(SMPLJoint)}
HUMANML3D_FPS = 20.0


@dataclass(frozen=True)
class Motion:
    """A skeleton sequence.

    joints: (T, J, C) float32, C = 2 for ``image_normalized`` and 3 otherwise.
    visibility: (T, J) float32 in [0, 1]; 0 means the joint is missing in that frame.
    fps: frames per second (> 0). start_time: seconds of frame 0 in the source clip.
    """

    joints: np.ndarray
    visibility: np.ndarray
    fps: float
    space: Space
    skeleton: str = MEDIAPIPE33
    start_time: float = 0.0
    meta: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        joints = np.asarray(self.joints, dtype=np.float32)
        if joints.ndim != 3:
            raise ValueError(f"joints: expected shape (T, J, C), got {joints.shape}")
        t, j, c = joints.shape
        if t < 1:
            raise ValueError("joints: a motion needs at least one frame (T >= 1)")
        try:
            space = Space(self.space)
        except ValueError:
            valid = ", ".join(s.value for s in Space)
            raise ValueError(f"space: {self.space!r} is not one of {valid}") from None
        want_c = 2 if space is Space.IMAGE_NORMALIZED else 3
        if c != want_c:
            raise ValueError(f"joints: space {space.value} needs C={want_c}, got C={c}")
        if self.skeleton not in SKELETON_JOINTS:
            raise ValueError(f"skeleton: {self.skeleton!r} is not one of {list(SKELETON_JOINTS)}")
        if j != SKELETON_JOINTS[self.skeleton]:
            raise ValueError(
                f"joints: skeleton {self.skeleton} has {SKELETON_JOINTS[self.skeleton]} joints, got J={j}"
            )
        vis = np.asarray(self.visibility, dtype=np.float32)
        if vis.shape != (t, j):
            raise ValueError(f"visibility: expected shape {(t, j)}, got {vis.shape}")
        if not np.isfinite(self.fps) or self.fps <= 0:
            raise ValueError(f"fps: must be a positive number, got {self.fps}")
        if not np.isfinite(self.start_time):
            raise ValueError(f"start_time: must be finite, got {self.start_time}")
        missing = ~np.isfinite(joints).all(axis=-1) | ~np.isfinite(vis)
        vis = np.where(missing, 0.0, np.clip(vis, 0.0, 1.0)).astype(np.float32)
        joints = np.where(missing[..., None], 0.0, joints).astype(np.float32)
        object.__setattr__(self, "joints", joints)
        object.__setattr__(self, "visibility", vis)
        object.__setattr__(self, "space", space)
        object.__setattr__(self, "fps", float(self.fps))
        object.__setattr__(self, "start_time", float(self.start_time))

    # -- basic facts -------------------------------------------------------------------
    @property
    def num_frames(self) -> int:
        return self.joints.shape[0]

    def __len__(self) -> int:
        return self.num_frames

    @property
    def num_joints(self) -> int:
        return self.joints.shape[1]

    @property
    def dims(self) -> int:
        return self.joints.shape[2]

    @property
    def duration(self) -> float:
        """Seconds covered, ``T / fps``."""
        return self.num_frames / self.fps

    @property
    def timestamps(self) -> np.ndarray:
        """(T,) seconds of each frame in the source clip."""
        return self.start_time + np.arange(self.num_frames, dtype=np.float64) / self.fps

    def frame_at(self, seconds: float) -> int:
        """Index of the frame nearest to ``seconds`` (clip time), clamped to the motion."""
        i = int(round((seconds - self.start_time) * self.fps))
        return min(max(i, 0), self.num_frames - 1)

    def positions(self, min_visibility: float = 0.5) -> np.ndarray:
        """(T, J, C) copy with NaN where visibility < ``min_visibility``."""
        out = self.joints.astype(np.float64)
        out[self.visibility < min_visibility] = np.nan
        return out

    def joint(self, joint: Joint | int, min_visibility: float = 0.5) -> np.ndarray:
        """(T, C) trajectory of one joint, NaN where missing."""
        return self.positions(min_visibility)[:, int(joint)]

    # -- transforms ----------------------------------------------------------------------
    def slice_time(self, start: float, end: float) -> Motion:
        """Frames whose clip time lies in ``[start, end)`` seconds."""
        if end <= start:
            raise ValueError(f"slice_time: end ({end}) must be after start ({start})")
        ts = self.timestamps
        keep = np.nonzero((ts >= start - 1e-9) & (ts < end - 1e-9))[0]
        if keep.size == 0:
            raise ValueError(
                f"slice_time: [{start}, {end}) s holds no frame of a motion spanning "
                f"{ts[0]:.2f}-{ts[-1]:.2f} s"
            )
        return self.slice_frames(int(keep[0]), int(keep[-1]) + 1)

    def slice_frames(self, start: int, stop: int) -> Motion:
        """Frames ``start:stop``; timestamps keep their clip time."""
        if not 0 <= start < stop <= self.num_frames:
            raise ValueError(f"slice_frames: need 0 <= start < stop <= {self.num_frames}")
        return replace(
            self,
            joints=self.joints[start:stop],
            visibility=self.visibility[start:stop],
            start_time=self.start_time + start / self.fps,
        )

    def slow_motion(self, factor: float) -> Motion:
        """The same frames played ``factor`` times slower, as a slow-motion camera films
        them: every clip time (``start_time`` included) is multiplied by ``factor``."""
        if not np.isfinite(factor) or factor <= 0:
            raise ValueError(f"factor: must be a positive number, got {factor}")
        return replace(self, fps=self.fps / factor, start_time=self.start_time * factor)

    def resample(self, fps: float) -> Motion:
        """Linear resampling to ``fps``; a frame missing on either side stays missing."""
        if fps <= 0:
            raise ValueError(f"fps: must be positive, got {fps}")
        n = max(1, int(round(self.duration * fps)))
        src = np.arange(n) * self.fps / fps  # fractional source frame of each new frame
        src = np.clip(src, 0, self.num_frames - 1)
        lo = np.floor(src).astype(int)
        hi = np.minimum(lo + 1, self.num_frames - 1)
        w = (src - lo)[:, None, None].astype(np.float32)
        joints = (1 - w) * self.joints[lo] + w * self.joints[hi]  # (n, J, C)
        vis = np.minimum(self.visibility[lo], self.visibility[hi])  # (n, J)
        return replace(self, joints=joints, visibility=vis, fps=float(fps))

    def root(self) -> np.ndarray:
        """(T, C) root trajectory: the hip midpoint (pelvis for SMPL)."""
        if self.skeleton == SMPL22:
            return self.joints[:, SMPLJoint.PELVIS]
        return 0.5 * (self.joints[:, Joint.LEFT_HIP] + self.joints[:, Joint.RIGHT_HIP])

    def torso_length(self) -> float:
        """Median hip-midpoint to shoulder-midpoint distance over frames where both are seen."""
        if self.skeleton == SMPL22:
            top, vis_top = self.joints[:, SMPLJoint.NECK], self.visibility[:, SMPLJoint.NECK]
            bottom = self.joints[:, SMPLJoint.PELVIS]
            vis_ok = (vis_top > 0) & (self.visibility[:, SMPLJoint.PELVIS] > 0)
        else:
            sh = [Joint.LEFT_SHOULDER, Joint.RIGHT_SHOULDER]
            hp = [Joint.LEFT_HIP, Joint.RIGHT_HIP]
            top = self.joints[:, sh].mean(axis=1)
            bottom = self.joints[:, hp].mean(axis=1)
            vis_ok = (self.visibility[:, sh + hp] > 0).all(axis=1)
        if not vis_ok.any():
            raise ValueError("torso_length: shoulders and hips are never visible together")
        return float(np.median(np.linalg.norm(top - bottom, axis=-1)[vis_ok]))

    def normalized(self) -> Motion:
        """Root-centred per frame and scaled so the median torso length is 1."""
        scale = self.torso_length()
        if scale <= 1e-6:
            raise ValueError("normalized: torso length is zero; is the skeleton degenerate?")
        joints = self.joints.copy()
        if self.dims == 2:
            # Image y points down; flip so 'up' is +y like the 3D spaces.
            joints = joints * np.array([1.0, -1.0], dtype=np.float32)
        root = (
            0.5 * (joints[:, Joint.LEFT_HIP] + joints[:, Joint.RIGHT_HIP])
            if (self.skeleton == MEDIAPIPE33)
            else joints[:, SMPLJoint.PELVIS]
        )
        joints = (joints - root[:, None, :]) / scale  # (T, J, C)
        if self.dims == 2:
            joints = np.concatenate([joints, np.zeros_like(joints[..., :1])], axis=-1)
        return replace(self, joints=joints, space=Space.TORSO_NORMALIZED)

    def mirrored(self) -> Motion:
        """Left/right mirror image: x flipped and left/right joints swapped."""
        if self.skeleton != MEDIAPIPE33:
            raise ValueError("mirrored: only the mediapipe33 skeleton is supported")
        joints = self.joints[:, MIRROR_INDEX].copy()
        if self.space is Space.IMAGE_NORMALIZED:
            joints[..., 0] = 1.0 - joints[..., 0]
        else:
            joints[..., 0] = -joints[..., 0]
        return replace(self, joints=joints, visibility=self.visibility[:, MIRROR_INDEX])

    def to_smpl22(self) -> Motion:
        """The 22-joint HumanML3D order (see ``core.skeleton.SMPL_APPROXIMATED``)."""
        if self.skeleton == SMPL22:
            return self
        joints = np.einsum("sj,tjc->tsc", MP33_TO_SMPL22, self.joints)  # (T, 22, C)
        used = MP33_TO_SMPL22 > 0
        vis = np.stack([self.visibility[:, row].min(axis=1) for row in used], axis=1)  # (T, 22)
        return replace(self, joints=joints, visibility=vis, skeleton=SMPL22)

    def to_mediapipe33(self) -> Motion:
        """MediaPipe layout from SMPL-22 (face, hands and heels approximated)."""
        if self.skeleton == MEDIAPIPE33:
            return self
        joints = np.einsum("ms,tsc->tmc", SMPL22_TO_MP33, self.joints)  # (T, 33, C)
        used = SMPL22_TO_MP33 != 0
        vis = np.stack([self.visibility[:, row].min(axis=1) for row in used], axis=1)  # (T, 33)
        return replace(self, joints=joints, visibility=vis, skeleton=MEDIAPIPE33)


@dataclass(frozen=True)
class PoseTrack:
    """What the motion estimator returns for one clip.

    motion2d: image-normalized skeleton; motion3d: world-metres skeleton (same frames).
    detected: (T,) True where the person was found in that frame (not interpolated).
    frame_size: (width, height) of the source video in pixels.
    """

    motion2d: Motion
    motion3d: Motion
    detected: np.ndarray
    fps: float
    frame_size: tuple[int, int]
    source: str = ""

    def __post_init__(self) -> None:
        det = np.asarray(self.detected, dtype=bool)
        if det.shape != (self.motion2d.num_frames,) or self.motion3d.num_frames != det.shape[0]:
            raise ValueError(
                f"detected: expected ({self.motion2d.num_frames},) matching both motions, "
                f"got {det.shape} and motion3d T={self.motion3d.num_frames}"
            )
        object.__setattr__(self, "detected", det)

    @property
    def num_frames(self) -> int:
        return self.motion2d.num_frames

    @property
    def detection_rate(self) -> float:
        return float(self.detected.mean())

    def save(self, path: str | Path) -> Path:
        """One ``.npz`` holding both motions and the detection mask."""
        path = Path(path)
        np.savez_compressed(
            path,
            format=np.array("llamo-posetrack-v1"),
            joints2d=self.motion2d.joints,
            vis2d=self.motion2d.visibility,
            joints3d=self.motion3d.joints,
            vis3d=self.motion3d.visibility,
            detected=self.detected,
            fps=np.array(self.fps),
            frame_size=np.array(self.frame_size),
            start_time=np.array(self.motion2d.start_time),
            source=np.array(self.source),
        )
        return path

    @classmethod
    def load(cls, path: str | Path) -> PoseTrack:
        with np.load(Path(path), allow_pickle=False) as z:
            if "format" not in z or str(z["format"]) != "llamo-posetrack-v1":
                raise ValueError(f"{path}: not a PoseTrack file (no llamo-posetrack-v1 marker)")
            fps, t0 = float(z["fps"]), float(z["start_time"])
            m2 = Motion(z["joints2d"], z["vis2d"], fps, Space.IMAGE_NORMALIZED, start_time=t0)
            m3 = Motion(z["joints3d"], z["vis3d"], fps, Space.WORLD_METRES, start_time=t0)
            size = tuple(int(v) for v in z["frame_size"])
            return cls(m2, m3, z["detected"], fps, (size[0], size[1]), str(z["source"]))
