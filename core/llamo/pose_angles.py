"""Per-frame skeleton geometry for the frame scorer's keys (scorer "pose").

The interior joint angles of ``core.skeleton.JOINT_ANGLES`` and the trunk's lean from
vertical, computed from the model features themselves (root-centred, y up; 2D motions have
z = 0), so "when is the knee most bent" has a per-frame quantity to rank. Torch, no weights.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from core.llamo.features import MIN_VISIBILITY
from core.skeleton import JOINT_ANGLES, Joint

TRUNK = (Joint.LEFT_SHOULDER, Joint.RIGHT_SHOULDER, Joint.LEFT_HIP, Joint.RIGHT_HIP)
NUM_POSE_ANGLES = len(JOINT_ANGLES) + 1  # + the trunk lean
POSE_ANGLE_DIM = 2 * NUM_POSE_ANGLES  # each angle / pi and whether it is seen


def _angle(u: Tensor, v: Tensor) -> Tensor:
    """Unsigned angle between (..., 3) vectors in radians (0 for zero-length vectors)."""
    cos = (u * v).sum(-1) / (u.norm(dim=-1) * v.norm(dim=-1)).clamp_min(1e-6)
    return torch.acos(cos.clamp(-1.0 + 1e-6, 1.0 - 1e-6))


def pose_angles(feats: Tensor) -> Tensor:
    """feats (B, T, 33, C) with channels (x, y, z, visibility, ...) -> (B, T, POSE_ANGLE_DIM):
    the angles / pi (0 where a joint is not seen), then a 0/1 seen flag for each."""
    xyz, vis = feats[..., :3].float(), feats[..., 3].float()
    idx = torch.tensor([list(j) for j in JOINT_ANGLES.values()], device=feats.device)  # (A, 3)
    a, b, c = (xyz[..., idx[:, i], :] for i in range(3))  # (B, T, A, 3) each
    joints = _angle(a - b, c - b)  # (B, T, A)
    seen = (vis[..., idx] >= MIN_VISIBILITY).all(dim=-1)  # (B, T, A)
    ls, rs, lh, rh = (xyz[..., int(j), :] for j in TRUNK)  # (B, T, 3) each
    up = torch.tensor([0.0, 1.0, 0.0], device=feats.device).expand_as(ls)
    lean = _angle(0.5 * (ls + rs) - 0.5 * (lh + rh), up)  # (B, T)
    lean_seen = (vis[..., list(map(int, TRUNK))] >= MIN_VISIBILITY).all(dim=-1)  # (B, T)
    angles = torch.cat([joints, lean[..., None]], dim=-1) / math.pi  # (B, T, A + 1)
    seen = torch.cat([seen, lean_seen[..., None]], dim=-1).float()  # (B, T, A + 1)
    return torch.cat([angles * seen, seen], dim=-1)  # (B, T, 2 (A + 1))
