"""Motion files: our ``.npz``/``.json``, raw ``.npy`` arrays (HumanML3D-style), MediaPipe
landmark ``.csv``. Every error names the file and what is wrong with it."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from core.motion import HUMANML3D_FPS, Motion, PoseTrack, Space
from core.skeleton import MEDIAPIPE33, NUM_JOINTS, SMPL22, Joint, SMPLJoint

MOTION_SUFFIXES = (".npz", ".npy", ".csv", ".json")


# -- files -------------------------------------------------------------------------------
def save_motion(motion: Motion, path: str | Path) -> Path:
    """Write our ``.npz`` (or ``.json`` when the suffix says so)."""
    path = Path(path)
    if path.suffix == ".json":
        path.write_text(json.dumps(motion_to_dict(motion)))
        return path
    if path.suffix != ".npz":
        raise ValueError(f"{path}: save_motion writes .npz or .json, not {path.suffix!r}")
    np.savez_compressed(
        path,
        format=np.array("llamo-motion-v1"),
        joints=motion.joints,
        visibility=motion.visibility,
        fps=np.array(motion.fps),
        space=np.array(motion.space.value),
        skeleton=np.array(motion.skeleton),
        start_time=np.array(motion.start_time),
    )
    return path


def motion_to_dict(motion: Motion) -> dict:
    return {
        "format": "llamo-motion-v1",
        "fps": motion.fps,
        "space": motion.space.value,
        "skeleton": motion.skeleton,
        "start_time": motion.start_time,
        "joints": np.round(motion.joints, 5).tolist(),
        "visibility": np.round(motion.visibility, 4).tolist(),
    }


def motion_from_dict(data: object, where: str = "motion") -> Motion:
    """Inverse of :func:`motion_to_dict`; errors name the missing or malformed field."""
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(data).__name__}")
    for key in ("fps", "space", "joints"):
        if key not in data:
            raise ValueError(f"{where}: missing field {key!r}")
    try:
        joints = np.asarray(data["joints"], dtype=np.float32)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"{where}: field 'joints' is not a rectangular number array ({err})"
        ) from None
    if joints.ndim != 3:
        raise ValueError(f"{where}: field 'joints' must be (T, J, C), got shape {joints.shape}")
    vis = data.get("visibility")
    vis = np.ones(joints.shape[:2], np.float32) if vis is None else np.asarray(vis, np.float32)
    skeleton = data.get("skeleton") or (SMPL22 if joints.shape[1] == 22 else MEDIAPIPE33)
    try:
        return Motion(joints, vis, float(data["fps"]), Space(data["space"]), skeleton,
                      float(data.get("start_time", 0.0)))  # fmt: skip
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None


def load_motion(path: str | Path, *, fps: float | None = None) -> Motion:
    """Load ``.npz`` (ours or a PoseTrack's 3D), ``.npy`` (T, J, 3), MediaPipe CSV or JSON.

    ``fps`` overrides the rate for formats that do not store one (``.npy`` defaults to
    HumanML3D's 20 fps for 22 joints and 30 fps otherwise; CSV defaults to 30 fps).
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such motion file")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return _load_npz(path)
    if suffix == ".npy":
        return _load_npy(path, fps)
    if suffix == ".csv":
        return load_landmark_csv(path, fps=fps or 30.0)
    if suffix == ".json":
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: invalid JSON at line {err.lineno}: {err.msg}") from None
        return motion_from_dict(data, str(path))
    raise ValueError(f"{path}: unsupported motion file {suffix!r}; use one of {MOTION_SUFFIXES}")


def _load_npz(path: Path) -> Motion:
    try:
        z = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: not a readable .npz file ({err})") from None
    with z:
        fmt = str(z["format"]) if "format" in z else ""
        if fmt == "llamo-posetrack-v1":
            return PoseTrack.load(path).motion3d
        if fmt != "llamo-motion-v1":
            raise ValueError(
                f"{path}: .npz lacks the llamo-motion-v1 marker; save it with save_motion"
            )
        try:
            return Motion(z["joints"], z["visibility"], float(z["fps"]), Space(str(z["space"])),
                          str(z["skeleton"]), float(z["start_time"]))  # fmt: skip
        except (KeyError, ValueError) as err:
            raise ValueError(f"{path}: {err}") from None


def _load_npy(path: Path, fps: float | None) -> Motion:
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: not a readable .npy array ({err})") from None
    if arr.ndim != 3 or arr.shape[-1] != 3:
        hint = (
            " (HumanML3D new_joint_vecs (T, 263) are features, not joints; use new_joints)"
            if (arr.ndim == 2 and arr.shape[-1] == 263)
            else ""
        )
        raise ValueError(f"{path}: expected joints of shape (T, J, 3), got {arr.shape}{hint}")
    j = arr.shape[1]
    if j == len(SMPLJoint):
        skeleton, default_fps = SMPL22, HUMANML3D_FPS
    elif j == NUM_JOINTS:
        skeleton, default_fps = MEDIAPIPE33, 30.0
    else:
        raise ValueError(f"{path}: {j} joints; expected 22 (HumanML3D/SMPL) or 33 (MediaPipe)")
    vis = np.ones(arr.shape[:2], np.float32)
    return Motion(arr, vis, fps or default_fps, Space.WORLD_METRES, skeleton)


def load_landmark_csv(path: str | Path, *, fps: float = 30.0) -> Motion:
    """MediaPipe landmark CSV (``<joint>_x, _y, _z, _v`` columns, any subset of joints).

    Joints without columns are masked (visibility 0). Extra non-landmark columns (e.g. a
    ``label``) are kept in ``meta["columns"]`` as lists of strings.
    """
    path = Path(path)
    with path.open(newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if not header:
            raise ValueError(f"{path}: empty CSV, expected a header row")
        rows = list(reader)
    if not rows:
        raise ValueError(f"{path}: CSV has a header but no data rows")
    cols = {name.strip().lower(): i for i, name in enumerate(header)}
    present = [jt for jt in Joint if f"{jt.name.lower()}_x" in cols]
    if not present:
        raise ValueError(
            f"{path}: no landmark columns found; expected names like 'left_knee_x', 'left_knee_y'"
        )
    t = len(rows)
    joints = np.zeros((t, NUM_JOINTS, 2), np.float32)
    vis = np.zeros((t, NUM_JOINTS), np.float32)
    for r, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise ValueError(f"{path}: line {r} has {len(row)} fields, header has {len(header)}")
    for jt in present:
        name = jt.name.lower()
        for axis, suffix in enumerate(("x", "y")):
            key = f"{name}_{suffix}"
            if key not in cols:
                raise ValueError(f"{path}: column {name}_x present but {key} missing")
            joints[:, jt, axis] = _csv_column(path, rows, cols[key], key)
        vkey = f"{name}_v" if f"{name}_v" in cols else f"{name}_visibility"
        vis[:, jt] = _csv_column(path, rows, cols[vkey], vkey) if vkey in cols else 1.0
    landmark_cols = {i for jt in present for i, n in enumerate(header)
                     if n.strip().lower().startswith(jt.name.lower() + "_")}  # fmt: skip
    extra = {
        header[i]: [row[i] for row in rows] for i in range(len(header)) if i not in landmark_cols
    }
    return Motion(joints, vis, fps, Space.IMAGE_NORMALIZED, meta={"columns": extra})


def _csv_column(path: Path, rows: list[list[str]], idx: int, name: str) -> np.ndarray:
    out = np.empty(len(rows), np.float32)
    for r, row in enumerate(rows):
        try:
            out[r] = float(row[idx])
        except ValueError:
            raise ValueError(
                f"{path}: line {r + 2}, column {name!r}: {row[idx]!r} is not a number"
            ) from None
    return out
