"""The "pose" scorer's skeleton geometry (core.llamo.pose_angles) on real model features."""

from __future__ import annotations

import math

import numpy as np
import torch

from core.analytics.angles import joint_angles
from core.llamo.features import motion_to_features
from core.llamo.pose_angles import NUM_POSE_ANGLES, pose_angles
from core.skeleton import JOINT_ANGLES, Joint
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
