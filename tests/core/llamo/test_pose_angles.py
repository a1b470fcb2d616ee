"""The "pose" scorer's skeleton geometry (core.llamo.pose_angles) on real model features."""

from __future__ import annotations

import math

import numpy as np
import torch

from core.analytics.angles import joint_angles
from core.llamo.features import motion_to_features
from core.llamo.pose_angles import (
    NUM_POSE_ANGLES,
    pair_angles,
    pose_angles,
    pose_kinematics,
)
from core.skeleton import ANGLE_PARTS, JOINT_ANGLES, Joint
from train.synth import synthesize


def test_a_hand_built_right_angle_and_an_upright_trunk() -> None:
    feats = torch.zeros(1, 1, 33, 4)
    feats[..., 3] = 1.0
    feats[0, 0, Joint.LEFT_HIP, :3] = torch.tensor([0.0, 1.0, 0.0])
    feats[0, 0, Joint.LEFT_KNEE, :3] = torch.tensor([0.0, 0.0, 0.0])
    feats[0, 0, Joint.LEFT_ANKLE, :3] = torch.tensor([1.0, 0.0, 0.0])
    feats[0, 0, Joint.LEFT_SHOULDER, :3] = torch.tensor([-0.2, 2.0, 0.0])
    feats[0, 0, Joint.RIGHT_SHOULDER, :3] = torch.tensor([0.2, 2.0, 0.0])
    feats[0, 0, Joint.RIGHT_HIP, :3] = torch.tensor([0.2, 1.0, 0.0])
    feats[0, 0, Joint.LEFT_HIP, 0] = -0.2
    out = pose_angles(feats)[0, 0]  # (2 A')
    knee = list(JOINT_ANGLES).index("left_knee")
    left_hip = torch.tensor([-0.2, 1.0, 0.0])
    expected = math.acos(float(left_hip @ torch.tensor([1.0, 0.0, 0.0])) / float(left_hip.norm()))
    assert abs(float(out[knee]) - expected / math.pi) < 1e-4
    assert abs(float(out[NUM_POSE_ANGLES - 1])) < 1e-3  # trunk straight up: no lean
    # a hidden ankle: the knee angle is 0 and flagged unseen
    feats[0, 0, Joint.LEFT_ANKLE, 3] = 0.0
    out = pose_angles(feats)[0, 0]
    assert float(out[knee]) == 0.0 and float(out[NUM_POSE_ANGLES + knee]) == 0.0


def test_the_deepest_squat_frames_agree_with_the_analytics() -> None:
    """The same knee minimum as core.analytics, measured on what the model is fed."""
    sample = synthesize("squat", np.random.default_rng(3), reps=3)
    motion = sample.motion3d
    feats, _ = motion_to_features(motion, "v2")
    ours = pose_angles(torch.from_numpy(feats)[None])[0]  # (T, 2 A')
    knee = list(JOINT_ANGLES).index("left_knee")
    theirs = joint_angles(motion, window_s=0.0)["left_knee"]
    assert np.corrcoef(ours[:, knee].numpy(), theirs)[0, 1] > 0.99
    assert abs(int(ours[:, knee].argmin()) - int(np.nanargmin(theirs))) <= 2


def test_pair_angles_take_the_deeper_side_and_skip_a_hidden_one() -> None:
    """On a synthetic golf swing (the trail elbow folds at the top, the lead one at the
    finish) each pair channel is the smaller of the two sides' angles, its minimum is the
    deeper side's; a hidden side leaves the other's angle, two hidden sides a 0 flagged
    unseen."""
    sample = synthesize("golf_swing", np.random.default_rng(4))
    feats = torch.from_numpy(motion_to_features(sample.motion3d, "v2")[0])[None]  # (1, T, 33, C)
    angles = pose_angles(feats)
    names, elbow = list(JOINT_ANGLES), ANGLE_PARTS.index("elbow")
    left, right = (angles[0, :, names.index(f"{s}_elbow")] for s in ("left", "right"))
    pairs = pair_angles(angles)[0]  # (T, PAIR_DIM)
    assert torch.equal(pairs[:, elbow], torch.minimum(left, right))
    assert float((left - right).abs().max()) > 0.2  # the two sides do differ
    deeper = left if float(left.min()) < float(right.min()) else right
    assert int(pairs[:, elbow].argmin()) == int(deeper.argmin())
    feats[0, :10, Joint.LEFT_WRIST, 3] = 0.0  # the left elbow unseen
    feats[0, :5, Joint.RIGHT_WRIST, 3] = 0.0  # and the right one too
    pairs = pair_angles(pose_angles(feats))[0]
    seen_at = len(ANGLE_PARTS) + elbow
    assert torch.equal(pairs[5:10, elbow], right[5:10]) and bool((pairs[5:10, seen_at] == 1).all())
    assert bool((pairs[:5, elbow] == 0).all()) and bool((pairs[:5, seen_at] == 0).all())


def _swing_feats(mirror: bool) -> torch.Tensor:
    """(1, 60, 33, 4) 2D-like features of a hand-built swing: the hands go back to their
    furthest at frame 25 and drive through from frame 30 (fastest near 40); the front (left)
    ankle steps from frame 30 to 38. ``mirror`` flips x (the other handedness)."""
    t = torch.arange(60, dtype=torch.float32)
    feats = torch.zeros(1, 60, 33, 4)
    feats[..., 3] = 1.0
    back = 1.2 - 0.4 * (t - 25).abs() / 25  # 0.8 -> 1.2 at frame 25 -> back down
    drive = torch.clamp((t - 30) / 15, 0.0, 1.0)
    hands_x = back - 2.2 * (3 * drive**2 - 2 * drive**3)  # smooth drive to -1.0 by frame 45
    for j in (Joint.LEFT_WRIST, Joint.RIGHT_WRIST):
        feats[0, :, j, 0], feats[0, :, j, 1] = hands_x, 1.5
    step = torch.clamp((t - 30) / 8, 0.0, 1.0)
    feats[0, :, Joint.LEFT_ANKLE, 0] = -0.3 - 0.5 * (3 * step**2 - 2 * step**3)
    feats[0, :, Joint.RIGHT_ANKLE, 0] = 0.3
    feats[0, :, [Joint.LEFT_ANKLE, Joint.RIGHT_ANKLE], 1] = -2.0
    if mirror:
        feats[..., 0] = -feats[..., 0]
    return feats


def test_kinematics_find_a_swings_load_and_stride_for_either_handedness() -> None:
    """The hands' furthest-back frame before their fastest is the load (25), the front
    ankle's run to its peak starts at the step (30, earlier by the smoothing at most), and
    the mirrored swing (other handedness) gives the same channels."""
    mask = torch.ones(1, 60, dtype=torch.bool)
    kin = pose_kinematics(_swing_feats(mirror=False), mask)[0]  # (T, K)
    before = kin[:, 4] > 0
    assert 36 <= int(before.nonzero().max()) <= 42  # the hands' fastest frame
    load = int(torch.where(before, kin[:, 2], -1.0).argmax())
    assert abs(load - 25) <= 1
    stride = int(kin[:, 6].nonzero().min())
    assert 28 <= stride <= 31
    assert float(kin[:, 7].max()) == 0.0  # the back ankle never moves
    mirrored = pose_kinematics(_swing_feats(mirror=True), mask)[0]
    assert torch.allclose(kin, mirrored, atol=1e-5)
    # a clip whose hands are never seen: zeros there, nothing NaN
    hidden = _swing_feats(mirror=False)
    hidden[0, :, [Joint.LEFT_WRIST, Joint.RIGHT_WRIST], 3] = 0.0
    out = pose_kinematics(hidden, mask)[0]
    assert torch.isfinite(out).all() and float(out[:, [0, 1, 2, 3, 8]].abs().max()) == 0.0
