"""Per-frame skeleton geometry for the frame scorer's keys (scorer "pose").

The interior joint angles of ``core.skeleton.JOINT_ANGLES`` and the trunk's lean from
vertical, computed from the model features themselves (root-centred, y up; 2D motions have
z = 0), so "when is the knee most bent" has a per-frame quantity to rank; and the hands' and
feet's positions and speeds (``pose_kinematics``) for the events angles do not show. Torch,
no weights.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from core.analytics.baseball import BaseballParams
from core.llamo.features import MIN_VISIBILITY
from core.skeleton import ANGLE_PARTS, JOINT_ANGLES, Joint

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


PAIR_DIM = 2 * len(ANGLE_PARTS)  # each part's deeper angle / pi and whether a side is seen
_SIDE_INDEX = {name: k for k, name in enumerate(JOINT_ANGLES)}


def pair_angles(angles: Tensor) -> Tensor:
    """``pose_angles``' output (B, T, POSE_ANGLE_DIM) -> (B, T, PAIR_DIM): for each of
    ANGLE_PARTS the smaller of the left and right angle / pi over the sides seen (0 where
    neither is), then whether either side is seen. "Which knee bends more" is answered where
    the deeper of the two bends most, a min over two angles that a linear key of the two
    cannot rank (their sum found that frame on 43 of val11's 97 turns, the min on 70)."""
    seen_at = NUM_POSE_ANGLES
    lo, seen = [], []
    for part in ANGLE_PARTS:
        sides = [_SIDE_INDEX[f"{s}_{part}"] for s in ("left", "right")]
        value, flag = angles[..., sides], angles[..., [seen_at + i for i in sides]] > 0
        lo.append(value.masked_fill(~flag, float("inf")).amin(dim=-1))  # (B, T)
        seen.append(flag.any(dim=-1))  # (B, T)
    deeper = torch.stack(lo, dim=-1)  # (B, T, P)
    deeper = torch.where(torch.isinf(deeper), torch.zeros_like(deeper), deeper)
    return torch.cat([deeper, torch.stack(seen, dim=-1).to(angles.dtype)], dim=-1)


KINEMATIC_DIM = 10  # see pose_kinematics
KINEMATIC_SMOOTH = 5  # frames averaged before differencing (tracking jitter at 20-30 fps)
# a movement starts when its speed passes this share of its peak (the analytics' stride start)
RUN_LEVEL = BaseballParams.move_fraction
HANDS = [int(Joint.LEFT_WRIST), int(Joint.RIGHT_WRIST)]
ANKLES = [int(Joint.LEFT_ANKLE), int(Joint.RIGHT_ANKLE)]


def _smooth(x: Tensor, seen: Tensor) -> Tensor:
    """x (B, T, D), seen (B, T) -> the mean of the seen frames in a KINEMATIC_SMOOTH window."""
    w = seen.float()[..., None]  # (B, T, 1)
    num, den = (F.avg_pool1d(v.transpose(1, 2), KINEMATIC_SMOOTH, 1, KINEMATIC_SMOOTH // 2,
                             count_include_pad=False) for v in (x * w, w))  # fmt: skip
    return (num / den.clamp_min(1e-6)).transpose(1, 2)  # (B, T, D)


def _speed(pos: Tensor) -> Tensor:
    """pos (B, T, ..., 3) -> (B, T, ...) central-difference speed per frame (0 if T < 2)."""
    if pos.shape[1] < 2:
        return torch.zeros(pos.shape[:-1], device=pos.device)
    return torch.gradient(pos, dim=1)[0].norm(dim=-1)


def _of_peak(speed: Tensor, seen: Tensor) -> Tensor:
    """speed (B, T) -> speed over the clip's peak."""
    speed = speed * seen
    return speed / speed.amax(dim=1, keepdim=True).clamp_min(1e-6)


def _run_to_peak(speed: Tensor, seen: Tensor, until: Tensor) -> tuple[Tensor, Tensor]:
    """speed (B, T), until (B, 1) frame -> speed over its peak at or before ``until``
    (clamped to [0, 2]), and 1 on the frames of the run around that peak where the speed
    stays at or above RUN_LEVEL of it (its first frame: when the movement starts)."""
    t = torch.arange(speed.shape[1], device=speed.device)[None]  # (1, T)
    speed = speed * seen
    p = speed.masked_fill(t > until, -1.0).argmax(dim=1, keepdim=True)  # (B, 1)
    rel = speed / speed.gather(1, p).clamp_min(1e-6)  # (B, T)
    below = (rel < RUN_LEVEL).long()
    c = below.cumsum(dim=1)  # (B, T) how many frames below the level so far
    cp = c.gather(1, p)
    run = ((t <= p) & (cp - c + below == 0)) | ((t >= p) & (c == cp))  # (B, T)
    return rel.clamp(0.0, 2.0), run.float()


def _mean_over(x: Tensor, seen: Tensor) -> Tensor:
    """x (B, T), seen (B, T) -> (B, 1) mean over the seen frames (0 if none)."""
    return (x * seen).sum(dim=1, keepdim=True) / seen.sum(dim=1, keepdim=True).clamp_min(1.0)


def _range01(x: Tensor, seen: Tensor) -> Tensor:
    """x (B, T) -> x within its range over the seen frames, in [0, 1] (0 where unseen)."""
    lo = x.masked_fill(~seen, float("inf")).amin(dim=1, keepdim=True)
    hi = x.masked_fill(~seen, float("-inf")).amax(dim=1, keepdim=True)
    out = torch.nan_to_num((x - lo) / (hi - lo).clamp_min(1e-6), nan=0.0, posinf=0.0, neginf=0.0)
    return out * seen


def pose_kinematics(feats: Tensor, frame_mask: Tensor) -> Tensor:
    """feats (B, T, 33, C), frame_mask (B, T) -> (B, T, KINEMATIC_DIM): where the hands
    (wrist midpoint) are and how fast the hands and feet move, for events defined by
    position and speed rather than by a joint angle (a swing's load: the hands furthest
    back before they drive; a stride's start: the front foot speeding up).

    Lateral positions are turned so the side the hands start on (the first third of the
    clip) is +x: "furthest back" is then the clip's largest value for either handedness.
    The front ankle is the one further from that side at the start. Speeds are scale-free
    (over a peak). Channels: hands x, y, x within its clip range, hands speed, "at or
    before the hands' fastest frame", front ankle speed over its peak before then and the
    run around that peak (:func:`_run_to_peak`), back ankle speed, hands seen, ankles
    seen; zero on frames not seen."""
    xyz, vis = feats[..., :3].float(), feats[..., 3].float()
    seen = vis >= MIN_VISIBILITY  # (B, T, 33)
    hands_seen = seen[..., HANDS].all(dim=-1) & frame_mask  # (B, T)
    ankles_seen = seen[..., ANKLES].all(dim=-1) & frame_mask  # (B, T)
    hands = _smooth(xyz[..., HANDS, :].mean(dim=2), hands_seen)  # (B, T, 3)
    ankles = _smooth(xyz[..., ANKLES, :].flatten(2), ankles_seen)  # (B, T, 6)
    ankles = ankles.unflatten(2, (2, 3))  # (B, T, 2, 3)
    hs, fs = hands_seen.float(), ankles_seen.float()
    t = torch.arange(feats.shape[1], device=feats.device)
    early = (t < max(1, feats.shape[1] // 3)).float()  # (T,)
    side = torch.where(_mean_over(hands[..., 0], hs * early) < 0, -1.0, 1.0)  # (B, 1)
    x = hands[..., 0] * side  # (B, T)
    hand_speed = _of_peak(_speed(hands), hs)  # (B, T)
    fastest = hand_speed.argmax(dim=1, keepdim=True)  # (B, 1)
    ankle_x = torch.stack([_mean_over(ankles[..., i, 0] * side, fs * early) for i in (0, 1)])
    front = (ankle_x[1] < ankle_x[0]).long()[..., None].expand(-1, feats.shape[1], 1)
    speeds = _speed(ankles)  # (B, T, 2)
    front_speed, front_run = _run_to_peak(speeds.gather(2, front)[..., 0], fs, fastest)
    back_speed = _of_peak(speeds.gather(2, 1 - front)[..., 0], fs)
    before = (t[None] <= fastest).float()  # (B, T)
    out = [x.clamp(-3, 3) * hs, hands[..., 1].clamp(-3, 3) * hs, _range01(x, hands_seen),
           hand_speed, before, front_speed, front_run, back_speed, hs, fs]  # fmt: skip
    return torch.stack(out, dim=-1)  # (B, T, KINEMATIC_DIM)
