"""Procedural 3D motions with known labels, and camera views of them (the data engine's source).

Every motion is built by forward kinematics on a simple bone hierarchy (pelvis -> spine ->
neck/head, shoulders -> upper arm -> forearm -> hand, hips -> thigh -> shin -> foot) driven by
named joint-angle curves ("dofs", degrees). Curves are minimum-jerk or monotone-cubic blends
between key poses, so every angle, event frame and fault window is known exactly and can be
measured back from the skeleton.

Coordinates: FK works in a global frame (metres, y up, the person faces +z at yaw 0, their
left is +x). ``motion3d`` is that skeleton turned into the camera's azimuth and re-centred on
the hip midpoint each frame, like MediaPipe world landmarks (``Space.WORLD_METRES``);
``motion2d`` is the pinhole projection (``Space.IMAGE_NORMALIZED``) with estimator-like noise.

Right-handed motions are built; a left-handed sample is the mirror image (x flipped and
left/right joints swapped), which also balances left/right answers in the Q&A.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from scipy.interpolate import PchipInterpolator
from scipy.ndimage import uniform_filter1d

from core.analytics.golf import GOLF_EVENTS
from core.motion import Motion, Space
from core.paths import REAL_DATA_DIR
from core.skeleton import MIRROR_INDEX, NUM_JOINTS, Joint

J = Joint
GOLFDB_CSV = REAL_DATA_DIR / "golfdb_events.csv"
GOLFDB_FPS = 30.0
# Median GolfDB event offsets from address (frames at 30 fps, 758 non-slow swings); used only
# when the CSV is absent (a fresh clone), so the synthesizer still runs.
GOLFDB_MEDIAN_OFFSETS = (0.0, 13.5, 18.0, 26.0, 31.0, 34.0, 37.0, 55.0)
FAULT_PROB = 0.4  # default chance that a clip has a fault (train.qa balances on it)


# -- curves ------------------------------------------------------------------------------
def min_jerk(u: np.ndarray) -> np.ndarray:
    """Minimum-jerk blend 0 -> 1 on u in [0, 1] (zero velocity and acceleration at both ends)."""
    u = np.clip(u, 0.0, 1.0)
    return u**3 * (10 - 15 * u + 6 * u**2)


def key_curve(frames: np.ndarray, values: np.ndarray, num_frames: int) -> np.ndarray:
    """Monotone cubic through (frame, value) keys, held constant outside them."""
    frames = np.asarray(frames, float)
    t = np.clip(np.arange(num_frames, dtype=float), frames[0], frames[-1])
    return PchipInterpolator(frames, np.asarray(values, float), axis=0)(t)


@dataclass(frozen=True)
class RepSchedule:
    """Per-frame phase in [0, 1] (0 = rest, 1 = deepest) and each rep's frame span."""

    phase: np.ndarray
    reps: list[tuple[int, int]]
    depths: list[float]
    bottoms: list[int]


def rep_schedule(
    rng: np.random.Generator,
    fps: float,
    reps: int,
    rep_seconds: float,
    depths: list[float],
    pause_s: float = 0.0,
    lead_s: float = 0.6,
    gap_s: float = 0.4,
) -> RepSchedule:
    """Reps of descend (min-jerk) -> optional pause -> ascend, with still gaps between them."""
    chunks: list[np.ndarray] = [np.zeros(int(round(lead_s * fps)))]
    spans, bottoms = [], []
    start = len(chunks[0])
    for i in range(reps):
        dur = rep_seconds * rng.uniform(0.85, 1.15)
        half = max(3, int(round(0.5 * dur * fps)))
        hold = int(round(pause_s * fps * rng.uniform(0.8, 1.2)))
        down = depths[i] * min_jerk(np.linspace(0, 1, half))
        rep = np.concatenate([down, np.full(hold, depths[i]), down[::-1]])
        spans.append((start, start + len(rep) - 1))
        bottoms.append(start + half - 1 + hold // 2)
        gap = np.zeros(int(round(gap_s * fps * rng.uniform(0.7, 1.3))))
        chunks += [rep, gap]
        start += len(rep) + len(gap)
    chunks.append(np.zeros(int(round(lead_s * fps))))
    return RepSchedule(np.concatenate(chunks), spans, list(depths), bottoms)


# -- body and forward kinematics ---------------------------------------------------------
@dataclass(frozen=True)
class Body:
    """Segment lengths in metres (proportions of height after Winter's anthropometric table)."""

    height: float = 1.75
    thigh: float = 0.245 * 1.75
    shin: float = 0.246 * 1.75
    upper_arm: float = 0.186 * 1.75
    forearm: float = 0.146 * 1.75
    torso: float = 0.29 * 1.75
    hip_half: float = 0.05 * 1.75
    shoulder_half: float = 0.065 * 1.75
    neck: float = 0.09 * 1.75

    def __post_init__(self) -> None:
        if not 1.0 <= self.height <= 2.3:
            raise ValueError(f"height: expected 1.0..2.3 m, got {self.height}")

    @classmethod
    def sample(cls, rng: np.random.Generator, height: tuple[float, float] = (1.5, 1.95)) -> Body:
        """A random height with each proportion jittered by up to 5 %."""
        h = float(rng.uniform(*height))
        ratios = np.array([0.245, 0.246, 0.186, 0.146, 0.29, 0.05, 0.065, 0.09])
        lengths = h * ratios * rng.uniform(0.95, 1.05, ratios.size)
        return cls(h, *(float(v) for v in lengths))


DOF_NAMES = (
    "root_yaw", "root_pitch", "root_x", "root_z", "root_y",
    "trunk_flex", "trunk_side", "trunk_rot", "head_pitch",
    "l_shoulder_flex", "l_shoulder_abd", "l_elbow", "r_shoulder_flex", "r_shoulder_abd", "r_elbow",
    "l_hip_flex", "l_hip_abd", "l_knee", "l_heel_raise", "l_valgus",
    "r_hip_flex", "r_hip_abd", "r_knee", "r_heel_raise", "r_valgus",
)  # fmt: skip


def _rot(axis: int, deg: np.ndarray) -> np.ndarray:
    """(T, 3, 3) rotations about x (0), y (1) or z (2) by ``deg`` degrees."""
    a = np.radians(np.asarray(deg, float))
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    rows = {
        0: ((o, z, z), (z, c, -s), (z, s, c)),
        1: ((c, z, s), (z, o, z), (-s, z, c)),
        2: ((c, -s, z), (s, c, z), (z, z, o)),
    }[axis]
    return np.stack([np.stack(r, -1) for r in rows], -2)


def _apply(r: np.ndarray, v: np.ndarray | tuple) -> np.ndarray:
    """Rotate vectors: (T, 3, 3) x (3,) or (T, 3) -> (T, 3)."""
    v = np.broadcast_to(np.asarray(v, float), (r.shape[0], 3))
    return np.einsum("tij,tj->ti", r, v)


@dataclass
class Pose:
    """Dof curves (degrees, metres for root_x/z/y) plus optional IK hand targets."""

    num_frames: int
    dofs: dict[str, np.ndarray] = field(default_factory=dict)
    hand_targets: dict[str, np.ndarray] = field(default_factory=dict)  # side -> (T, 3) trunk frame
    feet_flat: bool = True
    legs_follow_yaw: bool = True

    def set(self, name: str, value: np.ndarray | float) -> None:
        if name not in DOF_NAMES:
            raise ValueError(f"dof {name!r} is not one of {DOF_NAMES}")
        self.dofs[name] = np.broadcast_to(np.asarray(value, float), (self.num_frames,)).copy()

    def get(self, name: str) -> np.ndarray:
        return self.dofs.get(name, np.zeros(self.num_frames))


# Head landmarks in the head frame, metres for a 1.75 m person (x = person's left).
_FACE = {
    J.NOSE: (0.0, 0.0, 0.10), J.LEFT_EYE_INNER: (0.015, 0.03, 0.09),
    J.LEFT_EYE: (0.033, 0.03, 0.085), J.LEFT_EYE_OUTER: (0.048, 0.03, 0.08),
    J.RIGHT_EYE_INNER: (-0.015, 0.03, 0.09), J.RIGHT_EYE: (-0.033, 0.03, 0.085),
    J.RIGHT_EYE_OUTER: (-0.048, 0.03, 0.08), J.LEFT_EAR: (0.075, 0.0, 0.0),
    J.RIGHT_EAR: (-0.075, 0.0, 0.0), J.MOUTH_LEFT: (0.025, -0.035, 0.085),
    J.MOUTH_RIGHT: (-0.025, -0.035, 0.085),
}  # fmt: skip


def _two_bone(shoulder, target, a, b, pole) -> tuple[np.ndarray, np.ndarray]:
    """Elbow and wrist reaching ``target`` with bone lengths a, b, bending towards ``pole``."""
    d_vec = target - shoulder
    dist = np.linalg.norm(d_vec, axis=-1, keepdims=True)
    unit = d_vec / np.maximum(dist, 1e-9)
    d = np.clip(dist, abs(a - b) + 1e-3, a + b - 1e-4)
    x = (a * a - b * b + d * d) / (2 * d)
    h = np.sqrt(np.maximum(a * a - x * x, 0.0))
    perp = pole - (pole * unit).sum(-1, keepdims=True) * unit
    perp /= np.maximum(np.linalg.norm(perp, axis=-1, keepdims=True), 1e-9)
    elbow = shoulder + x * unit + h * perp
    return elbow, shoulder + d * unit


def _hand(
    out: np.ndarray, side: str, elbow: np.ndarray, wrist: np.ndarray, lateral: np.ndarray, s: float
) -> None:
    """Pinky, index and thumb around the wrist, along the forearm direction."""
    fwd = wrist - elbow
    fwd /= np.maximum(np.linalg.norm(fwd, axis=-1, keepdims=True), 1e-9)
    sign = 1.0 if side == "l" else -1.0
    names = {"l": (J.LEFT_WRIST, J.LEFT_PINKY, J.LEFT_INDEX, J.LEFT_THUMB),
             "r": (J.RIGHT_WRIST, J.RIGHT_PINKY, J.RIGHT_INDEX, J.RIGHT_THUMB)}[side]  # fmt: skip
    out[:, names[0]] = wrist
    out[:, names[1]] = wrist + s * (0.08 * fwd + sign * 0.025 * lateral)
    out[:, names[2]] = wrist + s * (0.09 * fwd - sign * 0.015 * lateral)
    out[:, names[3]] = wrist + s * (0.05 * fwd - sign * 0.04 * lateral)


def _arms(out: np.ndarray, pose: Pose, body: Body, r_trunk: np.ndarray, neck: np.ndarray) -> None:
    s = body.height / 1.75
    for side, sign, sh_j, el_j in (("l", 1.0, J.LEFT_SHOULDER, J.LEFT_ELBOW),
                                   ("r", -1.0, J.RIGHT_SHOULDER, J.RIGHT_ELBOW)):  # fmt: skip
        shoulder = neck + _apply(r_trunk, (sign * body.shoulder_half, 0.0, 0.0))
        if side in pose.hand_targets:
            target = neck + _apply(r_trunk, pose.hand_targets[side])
            pole = _apply(r_trunk, (sign * 0.4, -1.0, -0.3))
            elbow, wrist = _two_bone(shoulder, target, body.upper_arm, body.forearm, pole)
            lateral = _apply(r_trunk, (1.0, 0.0, 0.0))
        else:
            r_ua = (
                r_trunk
                @ _rot(2, sign * pose.get(f"{side}_shoulder_abd"))
                @ _rot(0, -pose.get(f"{side}_shoulder_flex"))
            )
            r_fa = r_ua @ _rot(0, -pose.get(f"{side}_elbow"))
            elbow = shoulder + _apply(r_ua, (0.0, -body.upper_arm, 0.0))
            wrist = elbow + _apply(r_fa, (0.0, -body.forearm, 0.0))
            lateral = _apply(r_fa, (1.0, 0.0, 0.0))
        out[:, sh_j], out[:, el_j] = shoulder, elbow
        _hand(out, side, elbow, wrist, lateral, s)


def _legs(out: np.ndarray, pose: Pose, body: Body, r_pelvis: np.ndarray, r_yaw: np.ndarray) -> None:
    """Legs hang from the hips; with ``legs_follow_yaw`` off (golf, baseball) the pelvis turns
    over planted legs, the way a real hip rotates in its socket."""
    s = body.height / 1.75
    r_leg = r_pelvis if pose.legs_follow_yaw else _rot(0, pose.get("root_pitch"))
    r_foot = r_yaw if pose.legs_follow_yaw else _rot(1, np.zeros(pose.num_frames))
    for side, sign in (("l", 1.0), ("r", -1.0)):
        names = {"l": (J.LEFT_HIP, J.LEFT_KNEE, J.LEFT_ANKLE, J.LEFT_HEEL, J.LEFT_FOOT_INDEX),
                 "r": (J.RIGHT_HIP, J.RIGHT_KNEE, J.RIGHT_ANKLE, J.RIGHT_HEEL,
                       J.RIGHT_FOOT_INDEX)}[side]  # fmt: skip
        valgus = pose.get(f"{side}_valgus")
        hip = _apply(r_pelvis, (sign * body.hip_half, 0.0, 0.0))
        abd = sign * (pose.get(f"{side}_hip_abd") - valgus)
        # Flex first, then abduct in the flexed frame, so knees track out over the toes.
        r_th = r_leg @ _rot(0, -pose.get(f"{side}_hip_flex")) @ _rot(2, abd)
        # Valgus turns the thigh in and the shin back out, so knees cave while feet stay put.
        r_sh = r_th @ _rot(2, sign * 2 * valgus) @ _rot(0, pose.get(f"{side}_knee"))
        knee = hip + _apply(r_th, (0.0, -body.thigh, 0.0))
        ankle = knee + _apply(r_sh, (0.0, -body.shin, 0.0))
        base = (r_foot @ _rot(1, sign * 8.0)) if pose.feet_flat else r_sh
        r_ft = base @ _rot(0, pose.get(f"{side}_heel_raise"))  # + tips the toes down
        heel = ankle + _apply(r_ft, (0.0, -0.06 * s, -0.05 * s))
        toe = ankle + _apply(r_ft, (0.0, -0.06 * s, 0.16 * s))
        for j, p in zip(names, (hip, knee, ankle, heel, toe), strict=True):
            out[:, j] = p


def forward_kinematics(pose: Pose, body: Body) -> np.ndarray:
    """(T, 33, 3) joint positions, pelvis centre at the origin (before ground placement)."""
    t = pose.num_frames
    out = np.zeros((t, NUM_JOINTS, 3))
    r_yaw = _rot(1, pose.get("root_yaw"))
    r_pelvis = r_yaw @ _rot(0, pose.get("root_pitch"))
    # Flex about the pelvis' left axis, then side bend, then twist about the bent spine (golf).
    r_trunk = (
        r_pelvis
        @ _rot(0, pose.get("trunk_flex"))
        @ _rot(2, -pose.get("trunk_side"))
        @ _rot(1, pose.get("trunk_rot"))
    )
    neck = _apply(r_trunk, (0.0, body.torso, 0.0))
    r_head = r_trunk @ _rot(0, pose.get("head_pitch"))
    head = neck + _apply(r_head, (0.0, body.neck, 0.0))
    s = body.height / 1.75
    for j, off in _FACE.items():
        out[:, j] = head + _apply(r_head, np.array(off) * s)
    _arms(out, pose, body, r_trunk, neck)
    _legs(out, pose, body, r_pelvis, r_yaw)
    return out


FOOT_JOINTS = (J.LEFT_HEEL, J.LEFT_FOOT_INDEX, J.RIGHT_HEEL, J.RIGHT_FOOT_INDEX)


def place(joints: np.ndarray, pose: Pose, contacts: tuple[Joint, ...] = FOOT_JOINTS,
          anchor: tuple[Joint, ...] | None = (J.LEFT_ANKLE, J.RIGHT_ANKLE)) -> np.ndarray:  # fmt: skip
    """Global positions: lowest contact joint on the floor (y = 0) plus root_y (jumps); the
    anchor joints' mean keeps its first-frame x/z (planted feet) plus root_x/root_z."""
    out = joints.copy()
    out[..., 1] -= out[:, list(contacts), 1].min(axis=1, keepdims=True)
    out[..., 1] += pose.get("root_y")[:, None]
    if anchor is not None:
        drift = out[:, list(anchor)][:, :, [0, 2]].mean(axis=1)  # (T, 2)
        out[..., 0] -= (drift[:, 0] - drift[0, 0])[:, None]
        out[..., 2] -= (drift[:, 1] - drift[0, 1])[:, None]
    out[..., 0] += pose.get("root_x")[:, None]
    out[..., 2] += pose.get("root_z")[:, None]
    return out


# -- labels and samples ------------------------------------------------------------------
@dataclass(frozen=True)
class Fault:
    """A named fault visible between two frames (inclusive)."""

    name: str
    start_frame: int
    end_frame: int


@dataclass
class SynthLabels:
    """What the synthesizer knows: reps (start, end) frames, event frames, faults, params."""

    activity: str
    handedness: str
    reps: list[tuple[int, int]] = field(default_factory=list)
    events: dict[str, int] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    params: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "activity": self.activity,
            "handedness": self.handedness,
            "reps": [list(r) for r in self.reps],
            "events": dict(self.events),
            "faults": [[f.name, f.start_frame, f.end_frame] for f in self.faults],
            "params": self.params,
        }

    @classmethod
    def from_dict(cls, data: dict) -> SynthLabels:
        return cls(
            data["activity"],
            data["handedness"],
            [tuple(r) for r in data.get("reps", [])],
            dict(data.get("events", {})),
            [Fault(str(n), int(a), int(b)) for n, a, b in data.get("faults", [])],
            dict(data.get("params", {})),
        )


@dataclass(frozen=True)
class Camera:
    """Pinhole camera looking at the person (FiGMo appendix A.11 style parameters).

    azimuth_deg: 0 = in front of the person, 90 = on their left, 180 = behind.
    """

    azimuth_deg: float = 0.0
    elevation_deg: float = 5.0
    distance_m: float = 4.0
    fov_deg: float = 55.0
    width: int = 1280
    height: int = 720

    def __post_init__(self) -> None:
        if self.distance_m <= 0.5:
            raise ValueError(f"distance_m: must be > 0.5 m, got {self.distance_m}")
        if not 10.0 <= self.fov_deg <= 120.0:
            raise ValueError(f"fov_deg: expected 10..120 degrees, got {self.fov_deg}")
        if self.width < 16 or self.height < 16:
            raise ValueError(f"width/height: too small ({self.width}x{self.height})")


def sample_camera(
    rng: np.random.Generator,
    azimuth: tuple[float, float] = (-180.0, 180.0),
    elevation: tuple[float, float] = (-5.0, 25.0),
    distance: tuple[float, float] = (3.0, 7.0),
    fov: tuple[float, float] = (40.0, 70.0),
) -> Camera:
    """A random camera; landscape 16:9 or portrait 9:16 with equal odds."""
    size = (1280, 720) if rng.random() < 0.5 else (720, 1280)
    return Camera(float(rng.uniform(*azimuth)), float(rng.uniform(*elevation)),
                  float(rng.uniform(*distance)), float(rng.uniform(*fov)), *size)  # fmt: skip


@dataclass
class SynthSample:
    """One synthetic clip: the 3D skeleton, a camera view of it, and its labels."""

    motion3d: Motion
    motion2d: Motion
    labels: SynthLabels
    camera: Camera
    world: np.ndarray  # (T, 33, 3) global positions before re-centring (for checks and views)


@dataclass
class Built:
    """What an activity builder returns (right-handed, facing +z)."""

    pose: Pose
    reps: list[tuple[int, int]] = field(default_factory=list)
    events: dict[str, int] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    params: dict = field(default_factory=dict)
    contacts: tuple[Joint, ...] = FOOT_JOINTS
    anchor: tuple[Joint, ...] | None = (J.LEFT_ANKLE, J.RIGHT_ANKLE)
    level: tuple[Joint, ...] | None = None  # joints to bring to one height by pitching the body
    planted_gait: bool = False  # walking: the stance foot carries the body forward


@dataclass
class Ctx:
    """Builder inputs: rng, frame rate, body and the caller's overrides."""

    rng: np.random.Generator
    fps: float
    body: Body
    opts: dict

    def opt(self, name: str, default: Callable[[], object]) -> object:
        return self.opts[name] if name in self.opts else default()

    def faults(self, names: tuple[str, ...]) -> list[str]:
        """Caller's ``faults`` list, else each fault with probability ``fault_prob`` (one max)."""
        if "faults" in self.opts:
            chosen = list(self.opts["faults"])
            unknown = [f for f in chosen if f not in names]
            if unknown:
                raise ValueError(f"faults: {unknown} not known for this activity; use {names}")
            return chosen
        p = float(self.opts.get("fault_prob", FAULT_PROB))
        if names and self.rng.random() < p:
            return [str(self.rng.choice(names))]
        return []


def _rep_setup(ctx: Ctx, reps: tuple[int, int], secs: tuple[float, float], depth: float,
               fault_names: tuple[str, ...]) -> tuple[RepSchedule, list[str], set[int], np.ndarray]:  # fmt: skip
    """Schedule with per-rep depths; returns (schedule, faults, faulty rep ids, rep index)."""
    rng = ctx.rng
    n = int(ctx.opt("reps", lambda: rng.integers(reps[0], reps[1] + 1)))
    if n < 1:
        raise ValueError(f"reps: need at least 1, got {n}")
    tempo = float(ctx.opt("tempo", lambda: 1.0))
    faults = ctx.faults(fault_names)
    faulty = set(range(n)) if n < 3 else {i for i in range(n) if rng.random() < 0.6} or {0}
    depths = [float(np.clip(depth * rng.uniform(0.85, 1.0), 0.05, 1.0)) for _ in range(n)]
    pause = float(ctx.opt("pause", lambda: rng.choice([0.0, 0.0, rng.uniform(0.2, 0.8)])))
    sched = rep_schedule(rng, ctx.fps, n, rng.uniform(*secs) / tempo, depths, pause)
    index = np.full(len(sched.phase), -1)
    for i, (a, b) in enumerate(sched.reps):
        index[a : b + 1] = i
    return sched, faults, faulty, index


def _unit_phase(sched: RepSchedule, index: np.ndarray, reps: set[int]) -> np.ndarray:
    """Phase divided by each rep's depth (0..1 within every rep), zero outside ``reps``."""
    out = np.zeros_like(sched.phase)
    for i in reps:
        m = index == i
        out[m] = sched.phase[m] / sched.depths[i]
    return out


def _rep_faults(name: str, sched: RepSchedule, reps: set[int]) -> list[Fault]:
    return [Fault(name, *sched.reps[i]) for i in sorted(reps)]


# -- activity builders -------------------------------------------------------------------
def _rest_arms(pose: Pose, rng: np.random.Generator) -> None:
    for side in ("l", "r"):
        pose.set(f"{side}_shoulder_abd", rng.uniform(4, 10))
        pose.set(f"{side}_elbow", rng.uniform(5, 15))
    pose.set("l_hip_abd", 4.0)
    pose.set("r_hip_abd", 4.0)


def build_standing(ctx: Ctx) -> Built:
    """Quiet standing with a slow sway and a weight shift."""
    rng = ctx.rng
    t = int(round(float(ctx.opt("duration", lambda: rng.uniform(2.5, 5.0))) * ctx.fps))
    pose = Pose(t)
    _rest_arms(pose, rng)
    time = np.arange(t) / ctx.fps
    pose.set("trunk_side", 1.5 * np.sin(2 * np.pi * time / rng.uniform(2.5, 4.0)))
    pose.set("root_x", 0.02 * np.sin(2 * np.pi * time / rng.uniform(3.0, 5.0)))
    pose.set("head_pitch", rng.uniform(-5, 5))
    return Built(pose, params={"duration_s": t / ctx.fps})


def build_squat(ctx: Ctx) -> Built:
    """Bodyweight squats; faults: knees_caving, shallow_depth, heels_rising."""
    rng = ctx.rng
    names = ("knees_caving", "shallow_depth", "heels_rising")
    sched, faults, faulty, index = _rep_setup(ctx, (2, 6), (1.8, 3.2), 1.0, names)
    pose = Pose(len(sched.phase))
    _rest_arms(pose, rng)
    knee_max = float(ctx.opt("depth", lambda: rng.uniform(100, 125)))  # knee flexion, degrees
    scale = np.ones_like(sched.phase)
    if "shallow_depth" in faults:
        scale[np.isin(index, list(faulty))] = rng.uniform(40, 52) / knee_max
    knee = knee_max * sched.phase * scale
    pose.set("l_knee", knee)
    pose.set("r_knee", knee)
    pose.set("l_hip_flex", 0.9 * knee)
    pose.set("r_hip_flex", 0.9 * knee)
    pose.set("trunk_flex", 0.35 * knee)
    pose.set("head_pitch", -0.2 * knee)
    for side in ("l", "r"):
        pose.set(f"{side}_shoulder_flex", 10 + 70 * sched.phase / max(sched.depths))
        pose.set(f"{side}_hip_abd", 10.0)
    unit = _unit_phase(sched, index, faulty)
    if "knees_caving" in faults:
        pose.set("l_valgus", rng.uniform(12, 18) * unit)
        pose.set("r_valgus", pose.get("l_valgus"))
    if "heels_rising" in faults:
        pose.set("l_heel_raise", rng.uniform(18, 28) * unit)
        pose.set("r_heel_raise", pose.get("l_heel_raise"))
    fl = [f for name in faults for f in _rep_faults(name, sched, faulty)]
    return Built(pose, sched.reps, faults=fl, params={"knee_flexion_max": knee_max})


def build_pushup(ctx: Ctx) -> Built:
    """Push-ups; faults: sagging_hips, partial_range."""
    rng = ctx.rng
    sched, faults, faulty, index = _rep_setup(
        ctx, (2, 6), (1.4, 2.6), 1.0, ("sagging_hips", "partial_range")
    )
    pose = Pose(len(sched.phase), feet_flat=False)
    elbow_max = float(ctx.opt("depth", lambda: rng.uniform(85, 105)))
    scale = np.ones_like(sched.phase)
    if "partial_range" in faults:
        scale[np.isin(index, list(faulty))] = rng.uniform(28, 42) / elbow_max
    elbow = elbow_max * sched.phase * scale
    pose.set("root_pitch", 90.0)
    pose.set("head_pitch", -15.0)
    for side in ("l", "r"):
        pose.set(f"{side}_elbow", elbow)
        # Upper arm swings back as the elbow bends, keeping the forearm near vertical.
        pose.set(f"{side}_shoulder_flex", 90 - 0.8 * elbow)
        pose.set(f"{side}_shoulder_abd", 20 + 0.2 * elbow)
        pose.set(f"{side}_hip_abd", 3.0)
    if "sagging_hips" in faults:
        window = np.isin(index, list(faulty)).astype(float)
        sag = rng.uniform(18, 28) * np.convolve(window, np.ones(5) / 5, mode="same")
        pose.set("l_hip_flex", -sag)
        pose.set("r_hip_flex", -sag)
    fl = [f for name in faults for f in _rep_faults(name, sched, faulty)]
    contacts = (J.LEFT_WRIST, J.RIGHT_WRIST, J.LEFT_INDEX, J.RIGHT_INDEX, J.LEFT_PINKY,
                J.RIGHT_PINKY, J.LEFT_FOOT_INDEX, J.RIGHT_FOOT_INDEX)  # fmt: skip
    return Built(pose, sched.reps, faults=fl, params={"elbow_flexion_max": elbow_max},
                 contacts=contacts, anchor=(J.LEFT_WRIST, J.RIGHT_WRIST),
                 level=(J.LEFT_WRIST, J.RIGHT_WRIST, J.LEFT_FOOT_INDEX, J.RIGHT_FOOT_INDEX))  # fmt: skip


def build_lunge(ctx: Ctx) -> Built:
    """Alternating forward lunges (right leg first); fault: forward_lean."""
    rng = ctx.rng
    sched, faults, faulty, index = _rep_setup(ctx, (2, 6), (1.8, 3.0), 1.0, ("forward_lean",))
    pose = Pose(len(sched.phase))
    _rest_arms(pose, rng)
    flex = float(ctx.opt("depth", lambda: rng.uniform(80, 100)))
    front = {"l": np.zeros_like(sched.phase), "r": np.zeros_like(sched.phase)}
    for i in range(len(sched.reps)):
        front["r" if i % 2 == 0 else "l"][index == i] = 1.0
    for side, other in (("l", "r"), ("r", "l")):
        fp, bp = front[side] * sched.phase, front[other] * sched.phase
        pose.set(f"{side}_hip_flex", flex * fp - 15 * bp)
        pose.set(f"{side}_knee", flex * sched.phase)
        pose.set(f"{side}_heel_raise", 45 * bp)
    lean = rng.uniform(25, 35) if "forward_lean" in faults else 0.0
    pose.set("trunk_flex", 5 * sched.phase + lean * _unit_phase(sched, index, faulty))
    fl = [f for name in faults for f in _rep_faults(name, sched, faulty)]
    leads = ["right" if i % 2 == 0 else "left" for i in range(len(sched.reps))]
    return Built(pose, sched.reps, faults=fl, params={"knee_flexion_max": flex, "lead_legs": leads})


def build_jumping_jack(ctx: Ctx) -> Built:
    """Jumping jacks; fault: partial_arm_raise (hands never overhead)."""
    rng = ctx.rng
    sched, faults, faulty, index = _rep_setup(ctx, (3, 8), (0.8, 1.3), 1.0, ("partial_arm_raise",))
    pose = Pose(len(sched.phase))
    top = np.full_like(sched.phase, float(ctx.opt("depth", lambda: rng.uniform(160, 172))))
    if "partial_arm_raise" in faults:
        top[np.isin(index, list(faulty))] = rng.uniform(70, 95)
    for side in ("l", "r"):
        pose.set(f"{side}_shoulder_abd", 8 + (top - 8) * sched.phase)
        pose.set(f"{side}_elbow", 10.0)
        pose.set(f"{side}_hip_abd", 4 + 14 * sched.phase)
        pose.set(f"{side}_knee", 8.0)
    pose.set("root_y", 0.05 * np.abs(np.sin(np.pi * sched.phase)))
    fl = [f for name in faults for f in _rep_faults(name, sched, faulty)]
    return Built(pose, sched.reps, faults=fl, anchor=None)


def build_curl(ctx: Ctx) -> Built:
    """Standing biceps curls with both arms; faults: swinging_torso, partial_range."""
    rng = ctx.rng
    sched, faults, faulty, index = _rep_setup(
        ctx, (3, 8), (1.6, 2.8), 1.0, ("swinging_torso", "partial_range")
    )
    pose = Pose(len(sched.phase))
    _rest_arms(pose, rng)
    top = np.full_like(sched.phase, float(ctx.opt("depth", lambda: rng.uniform(125, 140))))
    if "partial_range" in faults:
        top[np.isin(index, list(faulty))] = rng.uniform(60, 80)
    for side in ("l", "r"):
        pose.set(f"{side}_elbow", 12 + (top - 12) * sched.phase)
        pose.set(f"{side}_shoulder_flex", 5 * sched.phase)
    if "swinging_torso" in faults:
        pose.set("trunk_flex", -rng.uniform(12, 18) * _unit_phase(sched, index, faulty))
    fl = [f for name in faults for f in _rep_faults(name, sched, faulty)]
    return Built(pose, sched.reps, faults=fl)


def _wrap(phase: np.ndarray, centre: float) -> np.ndarray:
    """Signed distance from ``centre`` on the unit gait cycle, in [-0.5, 0.5)."""
    return (phase - centre + 0.5) % 1.0 - 0.5


def _bump(phase: np.ndarray, centre: float, width: float) -> np.ndarray:
    return np.exp(-((_wrap(phase, centre) / width) ** 2))


def build_walking(ctx: Ctx) -> Built:
    """Walking towards +z with textbook sagittal gait curves (cycle from heel strike: hip
    flexion 28 -> -12 deg, knee 15 deg loading bump and 60 deg in swing, heel off before toe
    off); the stance foot stays planted. Reps are gait cycles (left heel strike to the next);
    fault: limp (one knee barely bends in swing)."""
    rng = ctx.rng
    tempo = float(ctx.opt("tempo", lambda: 1.0))
    cycle = rng.uniform(1.0, 1.2) / tempo
    n = int(ctx.opt("reps", lambda: rng.integers(2, 5)))
    lead = int(round(rng.uniform(0.2, 0.6) * ctx.fps))
    t = lead + int(round(n * cycle * ctx.fps)) + int(round(0.2 * ctx.fps))
    pose = Pose(t)
    time = np.arange(t) / ctx.fps
    p = np.clip((time - lead / ctx.fps) / cycle, 0.0, None)  # gait cycles done
    stiff = rng.uniform(0.2, 0.4) if "limp" in ctx.faults(("limp",)) else 1.0
    for side, shift, amp in (("l", 0.0, 1.0), ("r", 0.5, stiff)):
        phase = (p + shift) % 1.0
        pose.set(f"{side}_hip_flex", 8 + 20 * np.cos(2 * np.pi * phase))
        pose.set(
            f"{side}_knee", 5 + 12 * _bump(phase, 0.15, 0.08) + amp * 55 * _bump(phase, 0.72, 0.1)
        )
        pose.set(f"{side}_heel_raise", 22 * _bump(phase, 0.55, 0.07) - 12 * _bump(phase, 0.0, 0.05))
        pose.set(f"{side}_shoulder_flex", -18 * np.cos(2 * np.pi * phase))
        pose.set(f"{side}_elbow", 15 + 8 * (1 - np.cos(2 * np.pi * phase)))
        pose.set(f"{side}_shoulder_abd", 6.0)
    reps = [(lead + int(round(i * cycle * ctx.fps)), lead + int(round((i + 1) * cycle * ctx.fps)) - 1)
            for i in range(n)]  # fmt: skip
    faults = [Fault("limp", lead, t - 1)] if stiff < 1.0 else []
    return Built(
        pose, reps, faults=faults, params={"cycle_s": cycle}, anchor=None, planted_gait=True
    )


def plant_stance_foot(world: np.ndarray) -> np.ndarray:
    """Move the body so the lower ankle (the stance foot) never slides: each frame undoes the
    stance ankle's horizontal step, which carries the walker forward."""
    ankles = world[:, [J.LEFT_ANKLE, J.RIGHT_ANKLE]]  # (T, 2, 3)
    stance = np.argmin(ankles[..., 1], axis=1)  # (T,)
    idx = np.arange(1, len(world))
    step = ankles[idx, stance[idx]] - ankles[idx - 1, stance[idx]]  # (T-1, 3)
    offset = np.concatenate([np.zeros((1, 3)), -np.cumsum(step, axis=0)])
    offset[:, 1] = 0.0
    return world + offset[:, None, :]


def golfdb_offsets(csv_path: Path = GOLFDB_CSV) -> np.ndarray:
    """(N, 8) GolfDB event frames relative to address (30 fps) for real-speed swings."""
    if not csv_path.is_file():
        return np.array([GOLFDB_MEDIAN_OFFSETS])
    rows = []
    with csv_path.open(newline="") as f:
        for row in csv.DictReader(f):
            if row["slow"] != "0":
                continue
            ev = np.array([int(v) for v in row["events"].split()], float)[1:9]
            if np.all(np.diff(ev) > 0):
                rows.append(ev - ev[0])
    if not rows:
        raise ValueError(f"{csv_path}: no real-speed swings with increasing event frames")
    return np.array(rows)


def _golf_keys(rng: np.random.Generator, faults: list[str]) -> dict[str, np.ndarray]:
    """Dof values at the 8 GolfDB events (right-handed golfer, target on their left, +x)."""
    spine = rng.uniform(33, 45)
    keys = {
        "swing": np.array([0, 35, 80, 135, 85, 0, -75, -145]) * rng.uniform(0.93, 1.05),
        "root_yaw": np.array([0, -10, -25, -45, -15, 30, 60, 80]) * rng.uniform(0.8, 1.1),
        "trunk_rot": np.array([0, -25, -40, -48, -25, -5, 15, 20]) * rng.uniform(0.85, 1.1),
        "trunk_flex": np.array([1, 1, 1, 1, 1, 0.95, 0.6, 0.25]) * spine,
        "trunk_side": np.array([0, -2, -4, -6, -3, -10, -12, -8.0]),
        "root_x": np.zeros(8),
        "root_z": np.zeros(8),
        "lead_knee": np.array([20, 22, 25, 27, 20, 12, 8, 5.0]),
        "trail_knee": np.array([20, 18, 16, 15, 22, 25, 30, 35.0]),
        # Grip distance from the lead shoulder (share of the arm's reach): both arms stay long
        # through the follow-through and fold into the finish (lead elbow about 60-105 deg).
        "reach": np.r_[np.full(7, 0.995), rng.uniform(0.5, 0.8)],
    }
    if "early_extension" in faults:  # stands up and pushes the hips towards the ball
        keys["trunk_flex"][4:] -= np.array([4, 16, 12, 5]) * rng.uniform(0.9, 1.3)
        keys["root_z"][4:] += np.array([0.04, 0.1, 0.1, 0.08]) * rng.uniform(0.9, 1.2)
    if "reverse_spine" in faults:  # upper body leans towards the target at the top
        keys["trunk_side"][2:5] = np.array([6, 14, 8]) * rng.uniform(0.9, 1.3)
    if "sway" in faults:  # hips slide away from the target in the backswing
        keys["root_x"][1:6] = -np.array([0.04, 0.08, 0.11, 0.06, 0.02]) * rng.uniform(0.9, 1.3)
    if "over_the_top" in faults:  # shoulders open early, hands thrown out towards the ball
        keys["trunk_rot"][4] = -5
        keys["hand_out"] = np.array([0, 0, 0, 0.02, 0.2, 0.05, 0, 0]) * rng.uniform(0.9, 1.2)
    keys.setdefault("hand_out", np.zeros(8))
    return keys


def _golf_hands(
    pose: Pose, body: Body, swing: np.ndarray, hand_out: np.ndarray, reach_share: np.ndarray
) -> None:
    """Hands on an arc in the trunk frame: down-forward at address, towards the trail side
    (-x) in the backswing and the lead side (+x) in the follow-through; ``reach_share`` (T,)
    of the arm's length from the lead shoulder (under 1 folds the arms)."""
    reach = body.upper_arm + body.forearm
    down = np.array([0.0, -0.77, 0.64])  # arms hang vertically when the spine is bent ~40 deg
    a = np.radians(swing)[:, None]
    direction = np.cos(a) * down + np.sin(a) * np.array([-1.0, 0.0, 0.0])
    # Past 90 degrees the hands rise above the shoulders and close in towards the head.
    lift = np.clip((np.abs(swing) - 60) / 80, 0, 1)[:, None]
    direction = direction + lift * np.array([0.0, 0.35, -0.45])
    direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
    # The lead (left) arm swings from its own shoulder, nearly straight until it folds into the
    # finish; the trail hand sits lower on the grip, so the trail elbow folds when the hands go
    # to its side.
    grip = reach_share[:, None] * reach * direction + np.array([body.shoulder_half, 0.0, 0.0])
    grip[:, 2] += hand_out
    pose.hand_targets = {"l": grip, "r": grip + 0.07 * direction}


def build_golf(ctx: Ctx) -> Built:
    """A golf swing timed like a real GolfDB swing; faults: early_extension, over_the_top,
    reverse_spine, sway. Events are the 8 GolfDB events."""
    rng = ctx.rng
    table = golfdb_offsets(Path(ctx.opt("golfdb_csv", lambda: GOLFDB_CSV)))
    offsets = table[rng.integers(len(table))] * ctx.fps / GOLFDB_FPS
    offsets = offsets / float(ctx.opt("tempo", lambda: 1.0))
    lead = int(round(rng.uniform(0.4, 1.0) * ctx.fps))
    frames = np.round(lead + offsets).astype(int)
    for i in range(1, 8):  # PCHIP needs strictly increasing keys (low fps can merge events)
        frames[i] = max(frames[i], frames[i - 1] + 1)
    t = int(frames[-1] + round(rng.uniform(0.4, 0.9) * ctx.fps))
    faults = ctx.faults(("early_extension", "over_the_top", "reverse_spine", "sway"))
    keys = _golf_keys(rng, faults)
    pose = Pose(t, legs_follow_yaw=False)
    curve = {name: key_curve(frames, vals, t) for name, vals in keys.items()}
    for name in ("root_yaw", "trunk_rot", "trunk_flex", "trunk_side", "root_x", "root_z"):
        pose.set(name, curve[name])
    pose.set("l_knee", curve["lead_knee"])
    pose.set("r_knee", curve["trail_knee"])
    for side in ("l", "r"):
        pose.set(f"{side}_hip_flex", curve["trunk_flex"] * 0.0 + 20.0)
        pose.set(f"{side}_hip_abd", 9.0)
    pose.set("head_pitch", -0.6 * curve["trunk_flex"])
    _golf_hands(pose, ctx.body, curve["swing"], curve["hand_out"], curve["reach"])
    events = {name: int(f) for name, f in zip(GOLF_EVENTS, frames, strict=True)}
    windows = {"early_extension": ("mid_downswing", "mid_follow_through"),
               "over_the_top": ("top", "impact"), "reverse_spine": ("mid_backswing", "mid_downswing"),
               "sway": ("toe_up", "top")}  # fmt: skip
    fl = [Fault(f, events[windows[f][0]], events[windows[f][1]]) for f in faults]
    return Built(
        pose, events=events, faults=fl, params={"spine_angle": float(keys["trunk_flex"][0])}
    )


def build_baseball(ctx: Ctx) -> Built:
    """A baseball swing (right-handed batter facing +z, pitcher on their left); events
    stance, load, stride (its start), foot_plant, contact, finish; faults: lunging, casting."""
    rng = ctx.rng
    tempo = float(ctx.opt("tempo", lambda: 1.0))
    gaps = np.array([rng.uniform(0.5, 1.0), rng.uniform(0.25, 0.4), rng.uniform(0.15, 0.22),
                     rng.uniform(0.35, 0.5)]) / tempo  # fmt: skip
    lead = rng.uniform(0.3, 0.8)
    frames = np.round((lead + np.r_[0, np.cumsum(gaps)]) * ctx.fps).astype(int)
    t = int(frames[-1] + round(rng.uniform(0.4, 0.8) * ctx.fps))
    faults = ctx.faults(("lunging", "casting"))
    stride = 0.35 if "lunging" in faults else 0.15
    cast = 0.18 if "casting" in faults else 0.0
    # The lead leg abducts to step towards the pitcher; the trail foot stays planted.
    step = float(np.degrees(np.arcsin(stride / (ctx.body.thigh + ctx.body.shin))))
    k = {
        "root_yaw": [0, -10, -5, 60, 95], "trunk_rot": [0, -15, -20, 25, 40],
        "trunk_side": [0, -3, 0, -10, -5], "l_hip_abd": [10, 8, 10 + 0.6 * step, 10 + step, 10 + step],
        "l_hip_flex": [10, 35, 10, 5, 5], "l_knee": [20, 45, 20, 10, 8],
        "r_knee": [20, 25, 25, 30, 35], "trunk_flex": [15, 15, 18 + 60 * (stride - 0.15), 15, 10],
    }  # fmt: skip
    pose = Pose(t, legs_follow_yaw=False)
    for name, vals in k.items():
        pose.set(name, key_curve(frames, np.array(vals, float), t))
    pose.set("r_hip_flex", 12.0)
    pose.set("r_hip_abd", 10.0)
    hands = np.array([[-0.18, 0.05, 0.18], [-0.28, 0.1, 0.08], [-0.25, 0.05 - cast, 0.1 + 2 * cast],
                      [0.05, -0.2, 0.5], [0.35, 0.05, -0.05]])  # fmt: skip
    grip = key_curve(frames, hands, t)
    pose.hand_targets = {"r": grip, "l": grip + np.array([0.0, -0.07, 0.0])}
    events = dict(
        zip(("stance", "load", "foot_plant", "contact", "finish"), map(int, frames), strict=True)
    )
    # The lead leg's angles peak at the load (the monotone cubic keeps a peak key flat), so the
    # front foot rests there and its step towards the pitcher starts from there.
    events["stride"] = events["load"]
    win = {"lunging": ("foot_plant", "finish"), "casting": ("load", "contact")}
    fl = [Fault(f, events[win[f][0]], events[win[f][1]]) for f in faults]
    return Built(
        pose, events=events, faults=fl, params={"stride_m": stride}, anchor=(J.RIGHT_ANKLE,)
    )


ACTIVITIES: dict[str, Callable[[Ctx], Built]] = {
    "golf_swing": build_golf,
    "baseball_swing": build_baseball,
    "squat": build_squat,
    "push_up": build_pushup,
    "lunge": build_lunge,
    "jumping_jack": build_jumping_jack,
    "curl": build_curl,
    "walking": build_walking,
    "standing": build_standing,
}
"""Activity name -> builder. Each builder reads only the overrides it understands."""
FAULTS: dict[str, tuple[str, ...]] = {
    "golf_swing": ("early_extension", "over_the_top", "reverse_spine", "sway"),
    "baseball_swing": ("lunging", "casting"),
    "squat": ("knees_caving", "shallow_depth", "heels_rising"),
    "push_up": ("sagging_hips", "partial_range"),
    "lunge": ("forward_lean",),
    "jumping_jack": ("partial_arm_raise",),
    "curl": ("swinging_torso", "partial_range"),
    "walking": ("limp",),
    "standing": (),
}


# -- views -------------------------------------------------------------------------------
def _level(joints: np.ndarray, level: tuple[Joint, ...]) -> np.ndarray:
    """Pitch the body about x so the first and second half of ``level`` are at one height
    (hands and toes on the floor in a push-up)."""
    half = len(level) // 2
    a = joints[:, list(level[:half])].mean(axis=1)
    b = joints[:, list(level[half:])].mean(axis=1)
    d = b - a
    # Rx(angle) zeroes the height difference: cos(a) dy = sin(a) dz; arctan keeps it small.
    angle = np.degrees(np.arctan(d[:, 1] / np.where(np.abs(d[:, 2]) < 1e-9, 1e-9, d[:, 2])))
    return np.einsum("tij,tkj->tki", _rot(0, angle), joints)


def _camera_frame(camera: Camera, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Camera centre (3,) and rows right/up/forward (3, 3) for a camera aimed at ``target``."""
    az, el = np.radians(camera.azimuth_deg), np.radians(camera.elevation_deg)
    centre = target + camera.distance_m * np.array([np.sin(az) * np.cos(el), np.sin(el),
                                                    np.cos(az) * np.cos(el)])  # fmt: skip
    fwd = (target - centre) / np.linalg.norm(target - centre)
    right = np.cross(fwd, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    return centre, np.stack([right, np.cross(right, fwd), fwd])


def project_to_camera(
    motion3d: Motion | np.ndarray, camera: Camera, *, fps: float = 30.0
) -> Motion:
    """Pinhole view of global positions (T, 33, 3) (or a Motion's joints) as an
    ``image_normalized`` Motion; joints behind the camera or off the frame get low visibility.

    The camera aims at the mean hip midpoint; a hip-centred Motion is viewed as if the person
    stayed in place.
    """
    if isinstance(motion3d, Motion):
        if motion3d.space is not Space.WORLD_METRES:
            raise ValueError(
                f"project_to_camera: needs a world_metres motion, got {motion3d.space.value}"
            )
        joints, vis, fps = motion3d.joints.astype(float), motion3d.visibility, motion3d.fps
    else:
        joints, vis = np.asarray(motion3d, float), np.ones(np.shape(motion3d)[:2], np.float32)
    hips = joints[:, [J.LEFT_HIP, J.RIGHT_HIP]].mean(axis=(0, 1))
    centre, axes = _camera_frame(camera, hips)
    cam = np.einsum("ij,tkj->tki", axes, joints - centre)  # (T, 33, 3) right, up, forward
    depth = np.maximum(cam[..., 2], 1e-3)
    f = 0.5 * camera.width / np.tan(np.radians(camera.fov_deg) / 2)  # pixels
    u = (0.5 * camera.width + f * cam[..., 0] / depth) / camera.width
    v = (0.5 * camera.height - f * cam[..., 1] / depth) / camera.height
    inside = (u > 0) & (u < 1) & (v > 0) & (v < 1) & (cam[..., 2] > 0.1)
    vis = np.where(inside, vis, 0.0)
    meta = {"camera": camera.__dict__.copy(), "frame_size": (camera.width, camera.height)}
    return Motion(np.stack([u, v], -1), vis, fps, Space.IMAGE_NORMALIZED, meta=meta)


def fit_distance(world: np.ndarray, camera: Camera, margin: float = 0.9) -> float:
    """Smallest camera distance at which every joint of every frame stays in the picture
    (a sphere around the aim point that holds the whole motion fits the narrower field)."""
    hips = world[:, [J.LEFT_HIP, J.RIGHT_HIP]].mean(axis=(0, 1))
    radius = float(np.linalg.norm(world - hips, axis=-1).max())
    half = np.radians(camera.fov_deg) / 2
    narrow = np.arctan(np.tan(half) * min(camera.width, camera.height) / camera.width)
    return radius + radius / (margin * np.tan(narrow))


def _occlusion(world: np.ndarray, camera: Camera) -> np.ndarray:
    """(T, 33) MediaPipe-like visibility: joints farther from the camera than the torso score
    lower (the body hides them)."""
    hips = world[:, [J.LEFT_HIP, J.RIGHT_HIP]].mean(axis=(0, 1))
    centre, axes = _camera_frame(camera, hips)
    depth = np.einsum("j,tkj->tk", axes[2], world - centre)
    torso = depth[:, [J.LEFT_SHOULDER, J.RIGHT_SHOULDER, J.LEFT_HIP, J.RIGHT_HIP]].mean(
        1, keepdims=True
    )
    # Hidden joints score about 0.65: MediaPipe keeps guessing them, with less confidence.
    return 0.97 - 0.32 / (1 + np.exp(-(depth - torso - 0.08) / 0.04))


def estimator_noise(motion: Motion, rng: np.random.Generator, level: float = 1.0) -> Motion:
    """Pose-estimator-like corruption: per-joint jitter, slow drift, dropped joints and
    whole dropped frames (visibility 0). ``level`` 0 returns the motion unchanged."""
    if level <= 0:
        return motion
    t, j, c = motion.joints.shape
    unit = 0.003 if motion.space is Space.IMAGE_NORMALIZED else 0.01  # image fraction / metres
    jitter = rng.normal(0, unit * level * rng.uniform(0.3, 1.0), (t, j, c))
    drift = uniform_filter1d(rng.normal(0, 2 * unit * level, (t, j, c)), 9, axis=0)
    vis = motion.visibility * rng.uniform(0.9, 1.0, (t, j))
    vis[rng.random((t, j)) < 0.01 * level] = 0.0
    vis[rng.random(t) < 0.015 * level] = 0.0
    return replace(motion, joints=motion.joints + jitter + drift, visibility=vis)


OVERRIDES = frozenset({
    "fps", "handedness", "height", "body", "reps", "tempo", "depth", "pause", "faults",
    "fault_prob", "camera", "noise", "noise3d", "duration", "golfdb_csv",
})  # fmt: skip


def _mirror(world: np.ndarray, built: Built) -> np.ndarray:
    """Left-handed version: x flipped, left/right joints swapped, side names in params swapped."""
    swap = {"left": "right", "right": "left"}
    if "lead_legs" in built.params:
        built.params["lead_legs"] = [swap[s] for s in built.params["lead_legs"]]
    return world[:, MIRROR_INDEX] * np.array([-1.0, 1.0, 1.0])


def _to_world_metres(world: np.ndarray, camera: Camera, fps: float) -> Motion:
    """MediaPipe-world-like 3D: turned to the camera's azimuth and hip-centred per frame."""
    rot = _rot(1, np.array([-camera.azimuth_deg]))[0]
    local = world @ rot.T
    local = local - local[:, [J.LEFT_HIP, J.RIGHT_HIP]].mean(axis=1, keepdims=True)
    return Motion(local, np.ones(local.shape[:2], np.float32), fps, Space.WORLD_METRES)


def synthesize(activity: str, rng: np.random.Generator, **overrides: object) -> SynthSample:
    """One labelled synthetic clip of ``activity`` (a key of ``ACTIVITIES``).

    Overrides (all optional): fps, handedness ("right"/"left"), height (m) or body (Body),
    reps, tempo (speed factor), depth (activity's main angle, degrees), pause (s at the
    bottom), faults (list of names from ``FAULTS``) or fault_prob, camera (Camera),
    noise (2D estimator noise level, default 1), noise3d (default 0), duration (s).
    """
    if activity not in ACTIVITIES:
        raise ValueError(f"activity: {activity!r} is not one of {sorted(ACTIVITIES)}")
    unknown = set(overrides) - OVERRIDES
    if unknown:
        raise ValueError(
            f"unknown overrides {sorted(unknown)}; expected some of {sorted(OVERRIDES)}"
        )
    fps = float(overrides.get("fps", 30.0))
    body = overrides.get("body") or Body.sample(rng, _pair(overrides.get("height"), (1.5, 1.95)))
    handed = str(overrides.get("handedness") or rng.choice(["right", "left"]))
    if handed not in ("right", "left"):
        raise ValueError(f"handedness: expected 'right' or 'left', got {handed!r}")
    built = ACTIVITIES[activity](Ctx(rng, fps, body, dict(overrides)))
    joints = forward_kinematics(built.pose, body)
    if built.level is not None:
        joints = _level(joints, built.level)
    world = place(joints, built.pose, built.contacts, built.anchor)
    if built.planted_gait:
        world = plant_stance_foot(world)
    if handed == "left":
        world = _mirror(world, built)
    camera = overrides.get("camera") or sample_camera(rng)
    camera = replace(camera, distance_m=max(camera.distance_m, fit_distance(world, camera)))
    motion3d = estimator_noise(
        _to_world_metres(world, camera, fps), rng, float(overrides.get("noise3d", 0.0))
    )
    view = project_to_camera(world, camera, fps=fps)
    view = replace(view, visibility=np.minimum(view.visibility, _occlusion(world, camera)))
    motion2d = estimator_noise(view, rng, float(overrides.get("noise", 1.0)))
    params = {"fps": fps, "height_m": round(body.height, 3), "camera": camera.__dict__.copy(),
              "tempo": float(overrides.get("tempo", 1.0)), **built.params}  # fmt: skip
    labels = SynthLabels(
        activity, handed, list(built.reps), dict(built.events), list(built.faults), params
    )
    return SynthSample(motion3d, motion2d, labels, camera, world)


def _pair(value: object, default: tuple[float, float]) -> tuple[float, float]:
    """A height override may be one number or a (low, high) range."""
    if value is None:
        return default
    if isinstance(value, int | float):
        return (float(value), float(value))
    lo, hi = value  # type: ignore[misc]
    return (float(lo), float(hi))
