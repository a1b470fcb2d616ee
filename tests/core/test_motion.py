"""Motion: validation, NaN policy, slicing, resampling, normalization, mirroring, files."""

import json

import numpy as np
import pytest

from core.motion import Motion, PoseTrack, Space
from core.motion_io import load_motion, motion_from_dict, motion_to_dict, save_motion
from core.skeleton import SMPL22, Joint


def make_motion(t: int = 40, fps: float = 20.0, dims: int = 3, seed: int = 0) -> Motion:
    rng = np.random.default_rng(seed)
    joints = rng.normal(size=(t, 33, dims)).astype(np.float32)
    # A readable torso: shoulders 0.5 above the hips.
    joints[:, [Joint.LEFT_HIP, Joint.RIGHT_HIP], 1] = 0.0
    joints[:, [Joint.LEFT_SHOULDER, Joint.RIGHT_SHOULDER], 1] = 0.5
    joints[:, [Joint.LEFT_HIP, Joint.LEFT_SHOULDER], 0] = -0.1
    joints[:, [Joint.RIGHT_HIP, Joint.RIGHT_SHOULDER], 0] = 0.1
    if dims == 3:
        joints[:, [11, 12, 23, 24], 2] = 0.0
    space = Space.WORLD_METRES if dims == 3 else Space.IMAGE_NORMALIZED
    return Motion(joints, np.ones((t, 33), np.float32), fps, space)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"joints": np.zeros((5, 33))}, "joints"),
        ({"joints": np.zeros((0, 33, 3))}, "joints"),
        ({"joints": np.zeros((5, 30, 3))}, "joints"),
        ({"visibility": np.ones((4, 33))}, "visibility"),
        ({"fps": 0.0}, "fps"),
        ({"fps": float("nan")}, "fps"),
        ({"space": "pixels"}, "space"),
        ({"skeleton": "coco17"}, "skeleton"),
    ],
)
def test_invalid_motion_names_the_field(kwargs, field):
    args = {"joints": np.zeros((5, 33, 3)), "visibility": np.ones((5, 33)), "fps": 30.0,
            "space": Space.WORLD_METRES}  # fmt: skip
    args.update(kwargs)
    with pytest.raises(ValueError, match=f"^{field}"):
        Motion(**args)


def test_space_must_match_channel_count():
    with pytest.raises(ValueError, match="needs C=2"):
        Motion(np.zeros((3, 33, 3)), np.ones((3, 33)), 30.0, Space.IMAGE_NORMALIZED)


def test_nan_joints_become_masked_zeros():
    m = make_motion()
    joints = m.joints.copy()
    joints[3, Joint.LEFT_KNEE, 1] = np.nan
    m2 = Motion(joints, m.visibility, m.fps, m.space)
    assert np.isfinite(m2.joints).all()
    assert m2.visibility[3, Joint.LEFT_KNEE] == 0.0 and m2.visibility[4, Joint.LEFT_KNEE] == 1.0
    assert np.isnan(m2.joint(Joint.LEFT_KNEE)[3]).all()
    assert np.isfinite(m2.joint(Joint.LEFT_KNEE)[4]).all()


def test_timestamps_and_slicing_keep_clip_time():
    m = make_motion(t=40, fps=20.0)
    assert m.duration == pytest.approx(2.0)
    part = m.slice_time(0.5, 1.0)
    assert part.num_frames == 10
    assert part.timestamps[0] == pytest.approx(0.5)
    np.testing.assert_array_equal(part.joints, m.joints[10:20])
    assert part.frame_at(0.75) == 5
    with pytest.raises(ValueError, match="holds no frame"):
        m.slice_time(5.0, 6.0)


def test_slow_motion_stretches_every_clip_time():
    m = make_motion(t=40, fps=20.0).slice_frames(10, 40)  # starts at 0.5 s
    slow = m.slow_motion(2.5)
    np.testing.assert_array_equal(slow.joints, m.joints)
    np.testing.assert_allclose(slow.timestamps, m.timestamps * 2.5)
    assert slow.duration == pytest.approx(m.duration * 2.5)
    with pytest.raises(ValueError, match="factor"):
        m.slow_motion(0.0)


def test_resample_interpolates_and_keeps_gaps_missing():
    t = np.arange(30, dtype=np.float32)
    joints = np.zeros((30, 33, 3), np.float32)
    joints[:, :, 0] = t[:, None]  # x grows by 1 per source frame
    vis = np.ones((30, 33), np.float32)
    vis[10, 0] = 0.0
    m = Motion(joints, vis, 30.0, Space.WORLD_METRES)
    up = m.resample(60.0)
    assert up.num_frames == 60 and up.fps == 60.0
    assert up.joints[3, 5, 0] == pytest.approx(1.5)
    assert up.visibility[20, 0] == 0.0 and up.visibility[19, 0] == 0.0
    assert up.visibility[20, 1] == 1.0
    down = m.resample(10.0)
    assert down.num_frames == 10 and down.joints[1, 0, 0] == pytest.approx(3.0)


def test_normalized_is_root_centred_with_unit_torso():
    m = make_motion()
    scaled = Motion(m.joints * 3.0 + 5.0, m.visibility, m.fps, m.space)
    a, b = m.normalized(), scaled.normalized()
    assert a.space is Space.TORSO_NORMALIZED
    np.testing.assert_allclose(a.joints, b.joints, atol=1e-4)
    assert a.torso_length() == pytest.approx(1.0, rel=1e-4)
    np.testing.assert_allclose(a.root(), 0.0, atol=1e-5)


def test_normalized_2d_flips_y_up_and_adds_zero_depth():
    m = make_motion(dims=2)
    n = m.normalized()
    assert n.dims == 3 and np.all(n.joints[..., 2] == 0)
    # Shoulders have larger image y (further down) than hips in make_motion, so after the
    # y-up flip they sit below the root.
    assert n.joints[0, Joint.LEFT_SHOULDER, 1] < 0


def test_mirrored_swaps_sides_and_flips_x():
    m = make_motion()
    mm = m.mirrored()
    np.testing.assert_allclose(
        mm.joints[:, Joint.LEFT_WRIST, 0], -m.joints[:, Joint.RIGHT_WRIST, 0]
    )
    np.testing.assert_allclose(mm.mirrored().joints, m.joints)
    m2 = make_motion(dims=2)
    np.testing.assert_allclose(
        m2.mirrored().joints[:, Joint.LEFT_KNEE, 0], 1.0 - m2.joints[:, Joint.RIGHT_KNEE, 0]
    )


def test_smpl_conversion_round_trip_shapes_and_visibility():
    m = make_motion()
    vis = m.visibility.copy()
    vis[:, Joint.LEFT_EAR] = 0.0
    m = Motion(m.joints, vis, m.fps, m.space)
    s = m.to_smpl22()
    assert s.skeleton == SMPL22 and s.joints.shape == (40, 22, 3)
    assert s.visibility[0, 15] == 0.0  # the head needs both ears
    back = s.to_mediapipe33()
    np.testing.assert_allclose(
        back.joints[:, Joint.LEFT_KNEE], m.joints[:, Joint.LEFT_KNEE], atol=1e-5
    )


@pytest.mark.parametrize("suffix", [".npz", ".json"])
def test_save_load_round_trip(tmp_path, suffix):
    m = make_motion().slice_frames(5, 25)
    path = save_motion(m, tmp_path / f"m{suffix}")
    back = load_motion(path)
    np.testing.assert_allclose(back.joints, m.joints, atol=1e-4)
    assert back.fps == m.fps and back.space is m.space and back.start_time == pytest.approx(0.25)


def test_dict_errors_name_the_problem():
    with pytest.raises(ValueError, match="missing field 'fps'"):
        motion_from_dict({"space": "world_metres", "joints": []}, "line 3")
    d = motion_to_dict(make_motion())
    d["joints"] = [[[0, 0, 0]], [[1, 1]]]
    with pytest.raises(ValueError, match="line 3: field 'joints'"):
        motion_from_dict(d, "line 3")


def test_posetrack_round_trip_and_shape_check(tmp_path):
    m3 = make_motion(t=12)
    m2 = make_motion(t=12, dims=2)
    det = np.ones(12, bool)
    det[4] = False
    track = PoseTrack(m2, m3, det, 20.0, (640, 480), "clip.mp4")
    back = PoseTrack.load(track.save(tmp_path / "t.npz"))
    assert back.frame_size == (640, 480) and back.detection_rate == pytest.approx(11 / 12)
    np.testing.assert_allclose(back.motion3d.joints, m3.joints)
    assert load_motion(tmp_path / "t.npz").space is Space.WORLD_METRES
    with pytest.raises(ValueError, match="detected"):
        PoseTrack(m2, m3, det[:5], 20.0, (640, 480))


def test_unsupported_suffix_and_missing_file(tmp_path):
    bad = tmp_path / "m.txt"
    bad.write_text("x")
    with pytest.raises(ValueError, match="unsupported motion file '.txt'"):
        load_motion(bad)
    with pytest.raises(ValueError, match="no such motion file"):
        load_motion(tmp_path / "nope.npz")
    (tmp_path / "bad.json").write_text("{oops")
    with pytest.raises(ValueError, match="invalid JSON at line 1"):
        load_motion(tmp_path / "bad.json")
    (tmp_path / "m.json").write_text(json.dumps({"fps": 30}))
    with pytest.raises(ValueError, match="missing field 'space'"):
        load_motion(tmp_path / "m.json")
