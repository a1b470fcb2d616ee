"""Pose types: joints, edges, groups, mirror and SMPL mappings."""

import numpy as np
import pytest

from core.skeleton import (
    EDGES,
    JOINT_GROUPS,
    MIRROR_INDEX,
    MP33_TO_SMPL22,
    NUM_JOINTS,
    SMPL22_TO_MP33,
    SMPL_APPROXIMATED,
    Joint,
    SMPLJoint,
    joint_index,
)


def test_joint_enum_matches_mediapipe_order():
    assert NUM_JOINTS == 33
    assert Joint.LEFT_SHOULDER == 11 and Joint.RIGHT_FOOT_INDEX == 32 and Joint.NOSE == 0


def test_edges_connect_every_joint_once_into_one_body():
    seen = {j for edge in EDGES for j in edge}
    assert seen == set(Joint)
    assert len(set(EDGES)) == len(EDGES)


def test_groups_cover_the_body_and_global_is_everything():
    assert set(JOINT_GROUPS) == {"arms", "legs", "trunk", "global"}
    limbs = set(JOINT_GROUPS["arms"]) | set(JOINT_GROUPS["legs"]) | set(JOINT_GROUPS["trunk"])
    assert Joint.LEFT_WRIST in JOINT_GROUPS["arms"] and Joint.RIGHT_KNEE in JOINT_GROUPS["legs"]
    assert set(JOINT_GROUPS["global"]) == set(Joint)
    assert limbs == set(Joint)


def test_mirror_index_swaps_left_and_right_and_is_an_involution():
    assert MIRROR_INDEX[Joint.LEFT_KNEE] == Joint.RIGHT_KNEE
    assert MIRROR_INDEX[Joint.MOUTH_LEFT] == Joint.MOUTH_RIGHT
    assert MIRROR_INDEX[Joint.NOSE] == Joint.NOSE
    np.testing.assert_array_equal(MIRROR_INDEX[MIRROR_INDEX], np.arange(NUM_JOINTS))


def test_smpl_mapping_rows_are_convex_and_exact_joints_are_copied():
    np.testing.assert_allclose(MP33_TO_SMPL22.sum(axis=1), 1.0, atol=1e-6)
    assert MP33_TO_SMPL22[SMPLJoint.LEFT_KNEE, Joint.LEFT_KNEE] == 1.0
    pts = np.random.default_rng(0).normal(size=(NUM_JOINTS, 3))
    smpl = MP33_TO_SMPL22 @ pts
    np.testing.assert_allclose(smpl[SMPLJoint.PELVIS], pts[[23, 24]].mean(0), atol=1e-6)
    assert SMPLJoint.PELVIS in SMPL_APPROXIMATED and SMPLJoint.LEFT_KNEE not in SMPL_APPROXIMATED


def test_smpl_round_trip_keeps_body_joints():
    pts = np.random.default_rng(1).normal(size=(NUM_JOINTS, 3))
    back = SMPL22_TO_MP33 @ (MP33_TO_SMPL22 @ pts)
    for j in (Joint.LEFT_SHOULDER, Joint.RIGHT_ELBOW, Joint.LEFT_HIP, Joint.RIGHT_ANKLE):
        np.testing.assert_allclose(back[j], pts[j], atol=1e-6)


def test_joint_index_names_valid_joints_on_error():
    assert joint_index("left_knee") is Joint.LEFT_KNEE
    with pytest.raises(ValueError, match="unknown joint 'left_kne'.*left_knee"):
        joint_index("left_kne")
