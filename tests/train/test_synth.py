"""The synthesizer makes valid motions whose labels core.analytics measures back."""

from __future__ import annotations

import numpy as np
import pytest

from core.analytics import count_reps, golf_swing_events, golfdb_tempo_stats, joint_angles
from core.motion import Space
from core.skeleton import NUM_JOINTS
from core.skeleton import Joint as J
from tests.conftest import real_path
from train.synth import (
    ACTIVITIES,
    FAULTS,
    GOLF_EVENTS,
    Camera,
    golfdb_offsets,
    project_to_camera,
    synthesize,
)

FRONT = Camera(azimuth_deg=0.0, elevation_deg=5.0, distance_m=4.0)
SIDE = Camera(azimuth_deg=90.0, elevation_deg=5.0, distance_m=4.0)


@pytest.mark.parametrize("activity", sorted(ACTIVITIES))
def test_every_activity_gives_valid_motions_and_labels(activity: str) -> None:
    s = synthesize(activity, np.random.default_rng(1))
    m3, m2 = s.motion3d, s.motion2d
    assert m3.space is Space.WORLD_METRES and m2.space is Space.IMAGE_NORMALIZED
    assert m3.joints.shape == (m2.num_frames, NUM_JOINTS, 3) and m3.num_frames > 30
    # Hip-centred like MediaPipe world landmarks; body at human scale (metres, y up).
    hips = m3.joints[:, [J.LEFT_HIP, J.RIGHT_HIP]].mean(axis=1)
    assert np.abs(hips).max() < 1e-5
    assert 0.3 < m3.torso_length() < 0.7
    # The 2D view keeps the person in the frame and mostly visible.
    seen = m2.visibility > 0.5
    assert seen.mean() > 0.8
    assert m2.joints[seen].min() > -0.05 and m2.joints[seen].max() < 1.05
    assert m2.meta["frame_size"] == (s.camera.width, s.camera.height)
    t = m3.num_frames
    for a, b in s.labels.reps:
        assert 0 <= a < b < t
    for f in s.labels.faults:
        assert f.name in FAULTS[activity] and 0 <= f.start_frame <= f.end_frame < t


def test_same_seed_same_motion_and_left_handed_is_the_mirror() -> None:
    a = synthesize(
        "golf_swing", np.random.default_rng(7), handedness="right", camera=FRONT, noise=0
    )
    b = synthesize(
        "golf_swing", np.random.default_rng(7), handedness="right", camera=FRONT, noise=0
    )
    c = synthesize("golf_swing", np.random.default_rng(7), handedness="left", camera=FRONT, noise=0)
    np.testing.assert_array_equal(a.motion3d.joints, b.motion3d.joints)
    np.testing.assert_allclose(c.motion3d.joints, a.motion3d.mirrored().joints, atol=1e-5)
    assert a.labels.events == c.labels.events


@pytest.mark.parametrize("reps", [2, 4, 5])
def test_count_reps_measures_the_synthesized_squat_reps(reps: int) -> None:
    s = synthesize("squat", np.random.default_rng(reps), reps=reps, faults=[], camera=SIDE)
    assert len(s.labels.reps) == reps
    assert count_reps(s.motion3d, "squat").count == reps
    measured = count_reps(s.motion3d, "squat").reps
    for rep, (a, b) in zip(measured, s.labels.reps, strict=True):
        assert a - 6 <= rep.peak_frame <= b + 6  # each measured rep lies in its labelled span


def test_golf_swing_events_land_near_the_labelled_events() -> None:
    rng = np.random.default_rng(11)
    errors = []
    for _ in range(6):
        s = synthesize("golf_swing", rng, faults=[])
        g = golf_swing_events(s.motion3d)
        errors.append([g.frames[e] - s.labels.events[e] for e in GOLF_EVENTS])
        assert g.handedness == s.labels.handedness
    err = np.abs(np.array(errors))
    assert np.all(err[:, 1:7] <= 4), err  # toe-up .. mid-follow-through
    # Address and finish are holds: the moment motion starts/stops is softer, so looser.
    assert np.median(err[:, [0, 7]], axis=0).max() <= 8, err


def test_golf_timing_follows_golfdb() -> None:
    table = golfdb_offsets(real_path("golfdb_events.csv"))
    assert table.shape[1] == 8 and len(table) > 500
    s = synthesize("golf_swing", np.random.default_rng(3), tempo=1.0, fps=30.0)
    ev = np.array([s.labels.events[e] for e in GOLF_EVENTS])
    offsets = ev - ev[0]
    # The swing's event spacing is one real GolfDB swing's spacing.
    assert np.any(np.all(np.abs(table - offsets) <= 1, axis=1))


@pytest.mark.parametrize("hand", ["right", "left"])
def test_golf_arms_stay_long_through_impact_and_fold_into_the_finish(hand: str) -> None:
    """A real finish folds the lead elbow (hands over the lead shoulder); a straight-armed
    finish with the hands high would only look like a top to the frame scorer."""
    lead, trail = ("left", "right") if hand == "right" else ("right", "left")
    for seed in range(3):
        s = synthesize("golf_swing", np.random.default_rng(seed), handedness=hand, noise=0)
        ev, ang = s.labels.events, joint_angles(s.motion3d)
        for event in ("address", "top", "impact", "mid_follow_through"):
            assert ang[f"{lead}_elbow"][ev[event]] > 150, (seed, event)
        assert 50 < ang[f"{lead}_elbow"][ev["finish"]] < 115, seed
        assert ang[f"{trail}_elbow"][ev["finish"]] < ang[f"{trail}_elbow"][ev["impact"]]


def test_synthesized_tempo_matches_golfdb_statistics() -> None:
    stats = golfdb_tempo_stats(real_path("golfdb_events.csv"))
    rng = np.random.default_rng(21)
    tempos = []
    for _ in range(120):  # 40 swings' median moved by up to 17% between seeds
        ev = synthesize("golf_swing", rng, tempo=1.0, noise=0).labels.events
        tempos.append((ev["top"] - ev["address"]) / (ev["impact"] - ev["top"]))
    assert abs(np.median(tempos) / stats.median_tempo - 1) < 0.15, (np.median(tempos), stats)


def _golf_measures(fault: list[str]) -> dict[str, float]:
    """Fault signatures in the golfer's own frame (facing +z, target at +x, right-handed)."""
    s = synthesize(
        "golf_swing", np.random.default_rng(4), faults=fault, handedness="right", noise=0
    )
    w, ev = s.world, s.labels.events
    hip = w[:, [J.LEFT_HIP, J.RIGHT_HIP]].mean(axis=1)
    shoulders = w[:, [J.LEFT_SHOULDER, J.RIGHT_SHOULDER]].mean(axis=1)
    hands = w[:, [J.LEFT_WRIST, J.RIGHT_WRIST]].mean(axis=1)
    a, top, imp = ev["address"], ev["top"], ev["impact"]
    spine = golf_swing_events(s.motion3d).key_angles
    return {
        "hip_slide_at_top": float(hip[top, 0] - hip[a, 0]),
        "lean_at_top": float(shoulders[top, 0] - hip[top, 0]),
        "hands_out": float(hands[ev["mid_downswing"], 2] - hands[ev["mid_backswing"], 2]),
        "hips_to_ball": float(hip[imp, 2] - hip[a, 2]),
        "spine_loss": spine["spine_forward_at_address"] - spine["spine_forward_at_impact"],
    }


def test_golf_faults_show_in_the_geometry() -> None:
    clean = _golf_measures([])
    assert abs(clean["hip_slide_at_top"]) < 0.03 and abs(clean["hips_to_ball"]) < 0.03
    assert clean["spine_loss"] < 4
    assert _golf_measures(["sway"])["hip_slide_at_top"] < -0.08  # away from the target
    assert _golf_measures(["reverse_spine"])["lean_at_top"] > clean["lean_at_top"] + 0.1
    assert _golf_measures(["over_the_top"])["hands_out"] > clean["hands_out"] + 0.15
    early = _golf_measures(["early_extension"])
    assert early["hips_to_ball"] > 0.07 and early["spine_loss"] > 10


def test_baseball_faults_show_in_the_geometry() -> None:
    def measures(fault: list[str]) -> tuple[float, float]:
        s = synthesize("baseball_swing", np.random.default_rng(3), faults=fault, handedness="right")
        w, ev = s.world, s.labels.events
        feet = np.linalg.norm(w[:, J.LEFT_ANKLE] - w[:, J.RIGHT_ANKLE], axis=1)
        hands = w[:, [J.LEFT_WRIST, J.RIGHT_WRIST]].mean(axis=1)
        reach = np.linalg.norm(hands - w[:, J.RIGHT_SHOULDER], axis=1)
        stride = feet[ev["foot_plant"]] - feet[ev["stance"]]
        return float(stride), float(reach[(ev["load"] + ev["contact"]) // 2])

    clean, lunge, cast = measures([]), measures(["lunging"]), measures(["casting"])
    assert lunge[0] > clean[0] + 0.08  # longer stride
    assert cast[1] > clean[1] + 0.12  # hands away from the body before contact
    assert abs(cast[0] - clean[0]) < 0.01 and abs(lunge[1] - clean[1]) < 0.01


@pytest.mark.parametrize("handedness", ["right", "left"])
def test_baseball_stride_label_is_where_the_front_foot_starts_its_step(handedness: str) -> None:
    """The labelled stride start is the top of the lead leg's lift: the front ankle is at its
    highest and near rest there; the lift barely spreads the feet, the step after it does."""
    s = synthesize("baseball_swing", np.random.default_rng(4), faults=[], handedness=handedness)
    ev, w, fps = s.labels.events, s.world, s.motion3d.fps
    front, back = (J.LEFT_ANKLE, J.RIGHT_ANKLE)[:: 1 if handedness == "right" else -1]
    stance, stride, plant = ev["stance"], ev["stride"], ev["foot_plant"]
    assert stance < stride < plant
    speed = np.linalg.norm(np.gradient(w[:, front], axis=0), axis=1) * fps  # m/s
    assert speed[stride] < 0.15 * float(speed[stride : plant + 1].max())
    assert abs(stance + int(np.argmax(w[stance : plant + 1, front, 1])) - stride) <= 1
    gap = np.linalg.norm(w[:, front] - w[:, back], axis=1)  # m
    assert abs(gap[stride] - gap[stance]) < 0.02 and gap[plant] - gap[stride] > 0.05


def _knee_gap_ratio(s, frame: int) -> float:
    p = s.motion3d.joints
    knees = np.linalg.norm(p[frame, J.LEFT_KNEE] - p[frame, J.RIGHT_KNEE])
    ankles = np.linalg.norm(p[frame, J.LEFT_ANKLE] - p[frame, J.RIGHT_ANKLE])
    return float(knees / ankles)


def test_knees_caving_shows_in_knee_distance() -> None:
    good = synthesize("squat", np.random.default_rng(5), reps=2, faults=[], camera=FRONT)
    bad = synthesize(
        "squat", np.random.default_rng(5), reps=2, faults=["knees_caving"], camera=FRONT
    )
    fault = bad.labels.faults[0]
    bottom = (fault.start_frame + fault.end_frame) // 2
    assert _knee_gap_ratio(bad, bottom) < 0.85 * _knee_gap_ratio(good, bottom)
    assert abs(_knee_gap_ratio(bad, 0) - _knee_gap_ratio(good, 0)) < 0.05  # same at rest


def test_shallow_depth_shows_in_knee_angle() -> None:
    good = synthesize("squat", np.random.default_rng(6), reps=2, faults=[])
    bad = synthesize("squat", np.random.default_rng(6), reps=2, faults=["shallow_depth"])
    assert np.nanmin(joint_angles(good.motion3d)["left_knee"]) < 85
    assert np.nanmin(joint_angles(bad.motion3d)["left_knee"]) > 120


def test_heels_rising_and_sagging_hips_are_visible() -> None:
    s = synthesize("squat", np.random.default_rng(8), reps=1, faults=["heels_rising"])
    a, b = s.labels.reps[0]
    heel_lift = s.world[(a + b) // 2, J.LEFT_HEEL, 1] - s.world[(a + b) // 2, J.LEFT_FOOT_INDEX, 1]
    assert heel_lift > 0.03  # metres above the toes at the bottom
    rng_args = {"reps": 2, "camera": SIDE}
    sag = synthesize("push_up", np.random.default_rng(9), faults=["sagging_hips"], **rng_args)
    ok = synthesize("push_up", np.random.default_rng(9), faults=[], **rng_args)

    def hip_line(s) -> float:
        p = s.motion3d.joints.astype(float)
        u = p[:, J.LEFT_SHOULDER] - p[:, J.LEFT_HIP]
        v = p[:, J.LEFT_ANKLE] - p[:, J.LEFT_HIP]
        cos = (u * v).sum(-1) / np.linalg.norm(u, axis=-1) / np.linalg.norm(v, axis=-1)
        return float(np.median(np.degrees(np.arccos(np.clip(cos, -1, 1)))))

    assert hip_line(ok) > 170 and hip_line(sag) < 165


def test_projection_puts_left_and_right_where_a_camera_would() -> None:
    s = synthesize("standing", np.random.default_rng(2), camera=FRONT, noise=0)
    assert s.camera.azimuth_deg == 0.0  # distance may grow so the whole body fits
    front = project_to_camera(s.world, s.camera)
    back = project_to_camera(s.world, Camera(azimuth_deg=180.0))
    # Facing the camera, the person's left hip appears on the image's right.
    assert front.joints[0, J.LEFT_HIP, 0] > front.joints[0, J.RIGHT_HIP, 0]
    assert back.joints[0, J.LEFT_HIP, 0] < back.joints[0, J.RIGHT_HIP, 0]
    assert front.joints[0, J.NOSE, 1] < front.joints[0, J.LEFT_ANKLE, 1]  # y points down
    np.testing.assert_allclose(s.motion2d.joints, front.joints, atol=1e-6)


def test_bad_overrides_are_named() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="unknown overrides"):
        synthesize("squat", rng, depht=90)
    with pytest.raises(ValueError, match="activity"):
        synthesize("yoga", rng)
    with pytest.raises(ValueError, match="faults"):
        synthesize("squat", rng, faults=["sway"])


def test_walking_plants_the_stance_foot_and_swings_once_per_labelled_cycle() -> None:
    s = synthesize("walking", np.random.default_rng(2), reps=3, faults=[], handedness="right")
    w = s.world
    ankles = w[:, [J.LEFT_ANKLE, J.RIGHT_ANKLE]]
    speed = (
        np.linalg.norm(np.diff(ankles[..., [0, 2]], axis=0), axis=-1) * s.motion3d.fps
    )  # (T-1, 2)
    stance = np.argmin(ankles[1:, :, 1], axis=1)
    assert np.median(speed[np.arange(len(stance)), stance]) < 0.02  # the stance foot stays put
    swinging = speed[:, 0] > 1.5  # the left foot swings forward once per gait cycle
    swings = int(np.sum(swinging[1:] & ~swinging[:-1]) + swinging[0])
    assert swings == len(s.labels.reps) == 3
    assert np.nanmin(joint_angles(s.motion3d)["left_knee"]) < 130  # ~55-60 deg of swing flexion
    hips = w[:, [J.LEFT_HIP, J.RIGHT_HIP]].mean(axis=1)
    assert hips[-1, 2] - hips[0, 2] > 1.5  # three strides carry the walker forward
