"""Pose types: MediaPipe's 33-joint skeleton, its edges and joint groups, and the 22-joint
HumanML3D/SMPL order.

Conventions used everywhere in this project:

* ``image_normalized`` (2D): x to the right, y *down*, both in [0, 1] of the frame.
* ``world_metres`` (3D): metres, origin at the hip midpoint, x to the camera's right, y *up*,
  z towards the camera (right-handed). MediaPipe's world landmarks are y-down and z-away, so
  ``core.pose`` flips y and z when it builds a ``Motion``.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class Joint(IntEnum):
    """MediaPipe Pose Landmarker's 33 landmarks, in its index order."""

    NOSE = 0
    LEFT_EYE_INNER = 1
    LEFT_EYE = 2
    LEFT_EYE_OUTER = 3
    RIGHT_EYE_INNER = 4
    RIGHT_EYE = 5
    RIGHT_EYE_OUTER = 6
    LEFT_EAR = 7
    RIGHT_EAR = 8
    MOUTH_LEFT = 9
    MOUTH_RIGHT = 10
    LEFT_SHOULDER = 11
    RIGHT_SHOULDER = 12
    LEFT_ELBOW = 13
    RIGHT_ELBOW = 14
    LEFT_WRIST = 15
    RIGHT_WRIST = 16
    LEFT_PINKY = 17
    RIGHT_PINKY = 18
    LEFT_INDEX = 19
    RIGHT_INDEX = 20
    LEFT_THUMB = 21
    RIGHT_THUMB = 22
    LEFT_HIP = 23
    RIGHT_HIP = 24
    LEFT_KNEE = 25
    RIGHT_KNEE = 26
    LEFT_ANKLE = 27
    RIGHT_ANKLE = 28
    LEFT_HEEL = 29
    RIGHT_HEEL = 30
    LEFT_FOOT_INDEX = 31
    RIGHT_FOOT_INDEX = 32


NUM_JOINTS = len(Joint)


_ANGLE_VERTICES = {
    "knee": ("HIP", "KNEE", "ANKLE"),
    "elbow": ("SHOULDER", "ELBOW", "WRIST"),
    "hip": ("SHOULDER", "HIP", "KNEE"),
    "shoulder": ("HIP", "SHOULDER", "ELBOW"),
}
ANGLE_PARTS = tuple(_ANGLE_VERTICES)  # each has a left and a right angle in JOINT_ANGLES


def _joint_angles() -> dict[str, tuple[Joint, Joint, Joint]]:
    """Interior angles (vertex in the middle): one table for the analytics and the model."""
    return {
        f"{side}_{part}": tuple(Joint[f"{side.upper()}_{j}"] for j in joints)
        for side in ("left", "right")
        for part, joints in _ANGLE_VERTICES.items()
    }


JOINT_ANGLES = _joint_angles()
MEDIAPIPE33 = "mediapipe33"
SMPL22 = "smpl22"

J = Joint
EDGES: tuple[tuple[Joint, Joint], ...] = (
    (J.NOSE, J.LEFT_EYE_INNER), (J.LEFT_EYE_INNER, J.LEFT_EYE), (J.LEFT_EYE, J.LEFT_EYE_OUTER),
    (J.LEFT_EYE_OUTER, J.LEFT_EAR), (J.NOSE, J.RIGHT_EYE_INNER),
    (J.RIGHT_EYE_INNER, J.RIGHT_EYE), (J.RIGHT_EYE, J.RIGHT_EYE_OUTER),
    (J.RIGHT_EYE_OUTER, J.RIGHT_EAR), (J.MOUTH_LEFT, J.MOUTH_RIGHT),
    (J.LEFT_SHOULDER, J.RIGHT_SHOULDER), (J.LEFT_SHOULDER, J.LEFT_ELBOW),
    (J.LEFT_ELBOW, J.LEFT_WRIST), (J.LEFT_WRIST, J.LEFT_PINKY), (J.LEFT_WRIST, J.LEFT_INDEX),
    (J.LEFT_WRIST, J.LEFT_THUMB), (J.LEFT_PINKY, J.LEFT_INDEX),
    (J.RIGHT_SHOULDER, J.RIGHT_ELBOW), (J.RIGHT_ELBOW, J.RIGHT_WRIST),
    (J.RIGHT_WRIST, J.RIGHT_PINKY), (J.RIGHT_WRIST, J.RIGHT_INDEX),
    (J.RIGHT_WRIST, J.RIGHT_THUMB), (J.RIGHT_PINKY, J.RIGHT_INDEX),
    (J.LEFT_SHOULDER, J.LEFT_HIP), (J.RIGHT_SHOULDER, J.RIGHT_HIP), (J.LEFT_HIP, J.RIGHT_HIP),
    (J.LEFT_HIP, J.LEFT_KNEE), (J.RIGHT_HIP, J.RIGHT_KNEE), (J.LEFT_KNEE, J.LEFT_ANKLE),
    (J.RIGHT_KNEE, J.RIGHT_ANKLE), (J.LEFT_ANKLE, J.LEFT_HEEL), (J.RIGHT_ANKLE, J.RIGHT_HEEL),
    (J.LEFT_HEEL, J.LEFT_FOOT_INDEX), (J.RIGHT_HEEL, J.RIGHT_FOOT_INDEX),
    (J.LEFT_ANKLE, J.LEFT_FOOT_INDEX), (J.RIGHT_ANKLE, J.RIGHT_FOOT_INDEX),
)  # fmt: skip

# MoChat-style joint groups: each becomes one spatial token in the grouped motion encoder.
# Shoulders and hips appear in both a limb group and the trunk, since both need them.
JOINT_GROUPS: dict[str, tuple[Joint, ...]] = {
    "arms": (J.LEFT_SHOULDER, J.LEFT_ELBOW, J.LEFT_WRIST, J.LEFT_PINKY, J.LEFT_INDEX,
             J.LEFT_THUMB, J.RIGHT_SHOULDER, J.RIGHT_ELBOW, J.RIGHT_WRIST, J.RIGHT_PINKY,
             J.RIGHT_INDEX, J.RIGHT_THUMB),
    "legs": (J.LEFT_HIP, J.LEFT_KNEE, J.LEFT_ANKLE, J.LEFT_HEEL, J.LEFT_FOOT_INDEX,
             J.RIGHT_HIP, J.RIGHT_KNEE, J.RIGHT_ANKLE, J.RIGHT_HEEL, J.RIGHT_FOOT_INDEX),
    "trunk": (*(Joint(i) for i in range(J.MOUTH_RIGHT + 1)), J.LEFT_SHOULDER, J.RIGHT_SHOULDER,
              J.LEFT_HIP, J.RIGHT_HIP),
    "global": tuple(Joint),
}  # fmt: skip


def _mirror_index() -> np.ndarray:
    idx = np.arange(NUM_JOINTS)
    for joint in Joint:
        name = joint.name
        if name.startswith("LEFT_"):
            idx[joint] = Joint[name.replace("LEFT_", "RIGHT_", 1)]
        elif name.startswith("RIGHT_"):
            idx[joint] = Joint[name.replace("RIGHT_", "LEFT_", 1)]
        elif name == "MOUTH_LEFT":
            idx[joint] = Joint.MOUTH_RIGHT
        elif name == "MOUTH_RIGHT":
            idx[joint] = Joint.MOUTH_LEFT
    return idx


MIRROR_INDEX: np.ndarray = _mirror_index()
"""``joints[:, MIRROR_INDEX]`` swaps every left joint with its right twin."""


class SMPLJoint(IntEnum):
    """The 22-joint HumanML3D / SMPL order (``new_joints`` arrays)."""

    PELVIS = 0
    LEFT_HIP = 1
    RIGHT_HIP = 2
    SPINE1 = 3
    LEFT_KNEE = 4
    RIGHT_KNEE = 5
    SPINE2 = 6
    LEFT_ANKLE = 7
    RIGHT_ANKLE = 8
    SPINE3 = 9
    LEFT_FOOT = 10
    RIGHT_FOOT = 11
    NECK = 12
    LEFT_COLLAR = 13
    RIGHT_COLLAR = 14
    HEAD = 15
    LEFT_SHOULDER = 16
    RIGHT_SHOULDER = 17
    LEFT_ELBOW = 18
    RIGHT_ELBOW = 19
    LEFT_WRIST = 20
    RIGHT_WRIST = 21


SMPL_EDGES: tuple[tuple[int, int], ...] = (
    (0, 1), (0, 2), (0, 3), (1, 4), (2, 5), (3, 6), (4, 7), (5, 8), (6, 9), (7, 10), (8, 11),
    (9, 12), (9, 13), (9, 14), (12, 15), (13, 16), (14, 17), (16, 18), (17, 19), (18, 20),
    (19, 21),
)  # fmt: skip

# SMPL joints with no MediaPipe twin are approximated; these are the ones (documented so
# nobody mistakes them for measurements).
SMPL_APPROXIMATED: dict[SMPLJoint, str] = {
    SMPLJoint.PELVIS: "midpoint of the hips (SMPL's pelvis sits a little higher)",
    SMPLJoint.SPINE1: "hip midpoint + 0.25 of the way to the shoulder midpoint",
    SMPLJoint.SPINE2: "hip midpoint + 0.50 of the way to the shoulder midpoint",
    SMPLJoint.SPINE3: "hip midpoint + 0.75 of the way to the shoulder midpoint",
    SMPLJoint.NECK: "midpoint of the shoulders",
    SMPLJoint.LEFT_COLLAR: "halfway between the shoulder midpoint and the left shoulder",
    SMPLJoint.RIGHT_COLLAR: "halfway between the shoulder midpoint and the right shoulder",
    SMPLJoint.HEAD: "midpoint of the ears",
    SMPLJoint.LEFT_FOOT: "left foot index (toe) landmark",
    SMPLJoint.RIGHT_FOOT: "right foot index (toe) landmark",
}


def _mp_to_smpl_matrix() -> np.ndarray:
    """(22, 33) weights W so that ``smpl = W @ mediapipe`` per frame."""
    w = np.zeros((len(SMPLJoint), NUM_JOINTS), dtype=np.float32)
    hips = {J.LEFT_HIP: 0.5, J.RIGHT_HIP: 0.5}
    shoulders = {J.LEFT_SHOULDER: 0.5, J.RIGHT_SHOULDER: 0.5}

    def lerp(a: dict, b: dict, t: float) -> dict:
        out: dict = {}
        for k, v in a.items():
            out[k] = out.get(k, 0.0) + (1 - t) * v
        for k, v in b.items():
            out[k] = out.get(k, 0.0) + t * v
        return out

    rows: dict[SMPLJoint, dict] = {
        SMPLJoint.PELVIS: hips,
        SMPLJoint.LEFT_HIP: {J.LEFT_HIP: 1.0},
        SMPLJoint.RIGHT_HIP: {J.RIGHT_HIP: 1.0},
        SMPLJoint.SPINE1: lerp(hips, shoulders, 0.25),
        SMPLJoint.LEFT_KNEE: {J.LEFT_KNEE: 1.0},
        SMPLJoint.RIGHT_KNEE: {J.RIGHT_KNEE: 1.0},
        SMPLJoint.SPINE2: lerp(hips, shoulders, 0.5),
        SMPLJoint.LEFT_ANKLE: {J.LEFT_ANKLE: 1.0},
        SMPLJoint.RIGHT_ANKLE: {J.RIGHT_ANKLE: 1.0},
        SMPLJoint.SPINE3: lerp(hips, shoulders, 0.75),
        SMPLJoint.LEFT_FOOT: {J.LEFT_FOOT_INDEX: 1.0},
        SMPLJoint.RIGHT_FOOT: {J.RIGHT_FOOT_INDEX: 1.0},
        SMPLJoint.NECK: shoulders,
        SMPLJoint.LEFT_COLLAR: lerp(shoulders, {J.LEFT_SHOULDER: 1.0}, 0.5),
        SMPLJoint.RIGHT_COLLAR: lerp(shoulders, {J.RIGHT_SHOULDER: 1.0}, 0.5),
        SMPLJoint.HEAD: {J.LEFT_EAR: 0.5, J.RIGHT_EAR: 0.5},
        SMPLJoint.LEFT_SHOULDER: {J.LEFT_SHOULDER: 1.0},
        SMPLJoint.RIGHT_SHOULDER: {J.RIGHT_SHOULDER: 1.0},
        SMPLJoint.LEFT_ELBOW: {J.LEFT_ELBOW: 1.0},
        SMPLJoint.RIGHT_ELBOW: {J.RIGHT_ELBOW: 1.0},
        SMPLJoint.LEFT_WRIST: {J.LEFT_WRIST: 1.0},
        SMPLJoint.RIGHT_WRIST: {J.RIGHT_WRIST: 1.0},
    }
    for s, weights in rows.items():
        for j, v in weights.items():
            w[s, j] += v
    return w


MP33_TO_SMPL22: np.ndarray = _mp_to_smpl_matrix()


def _smpl_to_mp_matrix() -> np.ndarray:
    """(33, 22) weights placing MediaPipe joints from SMPL ones (face/hand/heel approximated)."""
    s = SMPLJoint
    w = np.zeros((NUM_JOINTS, len(SMPLJoint)), dtype=np.float32)
    direct = {
        J.LEFT_SHOULDER: s.LEFT_SHOULDER, J.RIGHT_SHOULDER: s.RIGHT_SHOULDER,
        J.LEFT_ELBOW: s.LEFT_ELBOW, J.RIGHT_ELBOW: s.RIGHT_ELBOW,
        J.LEFT_WRIST: s.LEFT_WRIST, J.RIGHT_WRIST: s.RIGHT_WRIST,
        J.LEFT_HIP: s.LEFT_HIP, J.RIGHT_HIP: s.RIGHT_HIP, J.LEFT_KNEE: s.LEFT_KNEE,
        J.RIGHT_KNEE: s.RIGHT_KNEE, J.LEFT_ANKLE: s.LEFT_ANKLE, J.RIGHT_ANKLE: s.RIGHT_ANKLE,
        J.LEFT_FOOT_INDEX: s.LEFT_FOOT, J.RIGHT_FOOT_INDEX: s.RIGHT_FOOT,
        J.LEFT_HEEL: s.LEFT_ANKLE, J.RIGHT_HEEL: s.RIGHT_ANKLE,
    }  # fmt: skip
    for m, sj in direct.items():
        w[m, sj] = 1.0
    # Hand landmarks sit on the wrist: SMPL-22 has no fingers.
    for m in (J.LEFT_PINKY, J.LEFT_INDEX, J.LEFT_THUMB):
        w[m, s.LEFT_WRIST] = 1.0
    for m in (J.RIGHT_PINKY, J.RIGHT_INDEX, J.RIGHT_THUMB):
        w[m, s.RIGHT_WRIST] = 1.0
    # Face landmarks: the head joint (ears pushed a little towards the collars for width).
    for m in range(J.NOSE, J.MOUTH_RIGHT + 1):
        w[m, s.HEAD] = 1.0
    w[J.LEFT_EAR] = 0.0
    w[J.LEFT_EAR, s.HEAD], w[J.LEFT_EAR, s.LEFT_COLLAR], w[J.LEFT_EAR, s.NECK] = 1.0, 0.3, -0.3
    w[J.RIGHT_EAR] = 0.0
    w[J.RIGHT_EAR, s.HEAD], w[J.RIGHT_EAR, s.RIGHT_COLLAR], w[J.RIGHT_EAR, s.NECK] = 1.0, 0.3, -0.3
    return w


SMPL22_TO_MP33: np.ndarray = _smpl_to_mp_matrix()
"""(33, 22): approximate MediaPipe layout from SMPL joints, so HumanML3D data feeds the model.
Face landmarks collapse onto the head joint, hand landmarks onto the wrist, heels onto the
ankle; only the 14 body joints with a direct twin are exact."""


def joint_index(name: str) -> Joint:
    """``"left_knee"`` -> ``Joint.LEFT_KNEE``; raises ``ValueError`` naming valid joints."""
    try:
        return Joint[name.upper()]
    except KeyError:
        valid = ", ".join(j.name.lower() for j in Joint)
        raise ValueError(f"unknown joint {name!r}; expected one of: {valid}") from None
