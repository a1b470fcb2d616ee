"""core.motion loaders on real data (squat landmark CSV) and their error messages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.motion import Motion, Space
from core.motion_io import load_motion, save_motion
from core.skeleton import SMPL22, Joint
from tests.conftest import real_path


def _knee_angle(motion: Motion) -> np.ndarray:
    """(T,) mean of left and right hip-knee-ankle angles in degrees (2D image points)."""
    angles = []
    for hip, knee, ankle in ((Joint.LEFT_HIP, Joint.LEFT_KNEE, Joint.LEFT_ANKLE),
                             (Joint.RIGHT_HIP, Joint.RIGHT_KNEE, Joint.RIGHT_ANKLE)):  # fmt: skip
        a = motion.joints[:, hip] - motion.joints[:, knee]  # (T, 2)
        b = motion.joints[:, ankle] - motion.joints[:, knee]
        cos = (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
        angles.append(np.degrees(np.arccos(np.clip(cos, -1, 1))))
    return np.mean(angles, axis=0)


def test_squat_csv_knee_angle_separates_labels() -> None:
    motion = load_motion(real_path("squat_landmarks_test.csv"))
    assert motion.space is Space.IMAGE_NORMALIZED and motion.num_frames == 853
    assert motion.fps == 30.0
    labels = np.array(motion.meta["columns"]["label"])
    assert set(labels) == {"up", "down"}
    # Joints the CSV lacks (e.g. wrists) are masked; the ones it has are visible.
    assert motion.visibility[:, Joint.LEFT_WRIST].max() == 0.0
    assert motion.visibility[:, Joint.LEFT_KNEE].mean() > 0.5
    knee = _knee_angle(motion)
    up, down = knee[labels == "up"].mean(), knee[labels == "down"].mean()
    print(f"squat knee angle: up {up:.1f} deg, down {down:.1f} deg")
    assert up - down >= 30.0


def test_csv_fps_override() -> None:
    assert load_motion(real_path("squat_landmarks_test.csv"), fps=25).fps == 25.0


def test_malformed_csv_line(tmp_path: Path) -> None:
    lines = real_path("squat_landmarks_test.csv").read_text().splitlines()[:6]
    lines[3] = lines[3].rsplit(",", 2)[0]  # drop two fields from data row 3 (file line 4)
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"line 4 has \d+ fields, header has \d+"):
        load_motion(bad)


def test_csv_not_a_number(tmp_path: Path) -> None:
    bad = tmp_path / "nan.csv"
    bad.write_text("left_knee_x,left_knee_y\n0.5,0.5\nabc,0.4\n")
    with pytest.raises(ValueError, match=r"line 3, column 'left_knee_x': 'abc' is not a number"):
        load_motion(bad)


def test_csv_without_landmarks(tmp_path: Path) -> None:
    bad = tmp_path / "plain.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="no landmark columns found"):
        load_motion(bad)


def test_bad_json(tmp_path: Path) -> None:
    bad = tmp_path / "m.json"
    bad.write_text('{"fps": 30, "space": ')
    with pytest.raises(ValueError, match=r"invalid JSON at line 1"):
        load_motion(bad)
    bad.write_text('{"fps": 30, "space": "world_metres"}')
    with pytest.raises(ValueError, match=r"missing field 'joints'"):
        load_motion(bad)


def test_wrong_npy_shape(tmp_path: Path) -> None:
    feats = tmp_path / "feats.npy"
    np.save(feats, np.zeros((40, 263), np.float32))
    with pytest.raises(ValueError, match=r"expected joints of shape \(T, J, 3\).*new_joint_vecs"):
        load_motion(feats)
    odd = tmp_path / "odd.npy"
    np.save(odd, np.zeros((10, 17, 3), np.float32))
    with pytest.raises(ValueError, match="17 joints; expected 22"):
        load_motion(odd)


def test_humanml3d_npy_loads_at_20fps(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    joints = rng.normal(size=(60, 22, 3)).astype(np.float32)
    path = tmp_path / "000001.npy"
    np.save(path, joints)
    motion = load_motion(path)
    assert motion.skeleton == SMPL22 and motion.fps == 20.0
    assert motion.space is Space.WORLD_METRES
    np.testing.assert_array_equal(motion.joints, joints)


def test_npz_round_trip_of_real_squat(tmp_path: Path) -> None:
    motion = load_motion(real_path("squat_landmarks_test.csv"))
    path = save_motion(motion.slice_frames(100, 200), tmp_path / "squat.npz")
    back = load_motion(path)
    np.testing.assert_array_equal(back.joints, motion.joints[100:200])
    np.testing.assert_array_equal(back.visibility, motion.visibility[100:200])
    assert back.start_time == pytest.approx(100 / 30.0) and back.space is motion.space


@pytest.mark.slow  # needs the golf pose track
def test_posetrack_npz_loads_as_3d(golf_track, tmp_path: Path) -> None:
    path = golf_track.save(tmp_path / "track.npz")
    motion = load_motion(path)
    assert motion.space is Space.WORLD_METRES
    np.testing.assert_array_equal(motion.joints, golf_track.motion3d.joints)
