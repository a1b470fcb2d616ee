"""Motion files: our ``.npz``/``.json``, raw ``.npy`` arrays (HumanML3D-style), MediaPipe
landmark ``.csv``. Every error names the file and what is wrong with it."""

from __future__ import annotations

import csv
import json
import math
import re
import zipfile
from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format

from core.limits import (
    MAX_JSON_DEPTH,
    MAX_MOTION_ARRAY_BYTES,
    MAX_MOTION_FRAMES,
    MAX_MOTION_SECONDS,
    MAX_MOTION_TEXT_BYTES,
)
from core.motion import HUMANML3D_FPS, Motion, Space
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
    if isinstance(data["joints"], list) and len(data["joints"]) > MAX_MOTION_FRAMES:
        raise ValueError(
            f"{where}: {len(data['joints'])} frames; the limit is {MAX_MOTION_FRAMES}. Trim it"
        )
    fps = data["fps"]
    if (
        isinstance(fps, bool)
        or not isinstance(fps, (int, float))
        or not math.isfinite(fps)
        or fps <= 0
    ):
        raise ValueError(
            f"{where}: field 'fps' must be a positive number of frames per second, got {fps!r}"
        )
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
    HumanML3D's 20 fps for 22 joints and 30 fps otherwise; CSV defaults to 30 fps). The
    limits of ``core.limits`` (frames, seconds, unpacked bytes, JSON depth) are checked from
    the file's headers before anything big is allocated.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such motion file")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".json") and path.stat().st_size > MAX_MOTION_TEXT_BYTES:
        raise ValueError(
            f"{path}: {path.stat().st_size / 2**20:.0f} MiB of text; the limit for {suffix} "
            f"motion files is {MAX_MOTION_TEXT_BYTES / 2**20:.0f} MiB (save it as .npz instead)"
        )
    if suffix == ".npz":
        motion = _load_npz(path)
    elif suffix == ".npy":
        motion = _load_npy(path, fps)
    elif suffix == ".csv":
        motion = load_landmark_csv(path, fps=fps or 30.0)
    elif suffix == ".json":
        motion = motion_from_dict(_read_json(path), str(path))
    else:
        raise ValueError(
            f"{path}: unsupported motion file {suffix!r}; use one of {MOTION_SUFFIXES}"
        )
    return check_motion_limits(motion, str(path))


def check_motion_limits(motion: Motion, where: str) -> Motion:
    """``motion`` if it is within the duration limit and has some usable joint position."""
    if motion.duration > MAX_MOTION_SECONDS:
        raise ValueError(
            f"{where}: {motion.num_frames} frames at {motion.fps:g} fps is "
            f"{motion.duration:.0f} s; the limit is {MAX_MOTION_SECONDS:g} s. Trim it to the "
            "movement you want analysed"
        )
    if not motion.visibility.any():
        raise ValueError(
            f"{where}: no joint has a valid position in any frame (all NaN, infinite or "
            "visibility 0); export the motion again"
        )
    return motion


def _read_json(path: Path) -> object:
    text = path.read_text()
    depth = _json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise ValueError(
            f"{path}: JSON nested {depth} levels deep; a motion file needs 4 (an object of "
            "frames x joints x coordinates). Save it with save_motion"
        )
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: invalid JSON at line {err.lineno}: {err.msg}") from None


def _json_depth(text: str) -> int:
    """Deepest bracket nesting outside strings (counted without parsing, so cheap)."""
    stripped = _JSON_STRING.sub('""', text)  # strings may hold brackets
    b = np.frombuffer(stripped.encode(), np.uint8)
    step = np.isin(b, _OPEN).astype(np.int64) - np.isin(b, _CLOSE)  # (N,)
    return int(np.cumsum(step).max(initial=0))


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_OPEN, _CLOSE = np.frombuffer(b"[{", np.uint8), np.frombuffer(b"]}", np.uint8)


def _check_array_header(where: str, name: str, shape: tuple, dtype: np.dtype) -> None:
    """Refuse an array whose header promises pickled objects or too much memory."""
    if dtype.hasobject:
        raise ValueError(
            f"{where}: array {name!r} holds Python objects (pickle), which are never loaded; "
            "save plain number arrays"
        )
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > MAX_MOTION_ARRAY_BYTES:
        raise ValueError(
            f"{where}: array {name!r} {tuple(shape)} unpacks to {nbytes / 2**20:.0f} MiB; the "
            f"limit is {MAX_MOTION_ARRAY_BYTES / 2**20:.0f} MiB"
        )
    if len(shape) >= 2 and shape[0] > MAX_MOTION_FRAMES:
        raise ValueError(
            f"{where}: {shape[0]} frames in {name!r}; the limit is {MAX_MOTION_FRAMES} "
            "frames. Trim the motion"
        )


def _read_npy_header(f, where: str, name: str) -> None:
    try:
        version = npy_format.read_magic(f)
        read = npy_format.read_array_header_1_0 if version == (1, 0) else (
            npy_format.read_array_header_2_0)  # fmt: skip
        shape, _, dtype = read(f, max_header_size=10_000)
    except ValueError as err:
        raise ValueError(f"{where}: {name!r} is not a valid .npy array ({err})") from None
    _check_array_header(where, name, shape, dtype)


def _check_npz_headers(path: Path) -> None:
    """Read each member's .npy header (not its data) and check it against the limits."""
    if not zipfile.is_zipfile(path):
        raise ValueError(
            f"{path}: not a .npz archive (a .npz is a zip of .npy arrays); save the motion "
            "with save_motion or numpy.savez"
        )
    try:
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                with z.open(info) as f:
                    _read_npy_header(f, str(path), info.filename[:-4])
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise ValueError(f"{path}: damaged .npz archive ({err})") from None


def _load_npz(path: Path) -> Motion:
    _check_npz_headers(path)
    try:
        z = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise ValueError(f"{path}: not a readable .npz file ({err})") from None
    with z:
        fmt = str(z["format"]) if "format" in z else ""
        if fmt == "llamo-posetrack-v1":
            return _posetrack_motion(path, z)
        if fmt != "llamo-motion-v1":
            raise ValueError(
                f"{path}: .npz lacks the llamo-motion-v1 marker; save it with save_motion"
            )
        _require_keys(path, z, ("joints", "visibility", "fps", "space", "skeleton", "start_time"))
        fps = _fps_field(path, z["fps"])
        try:
            return Motion(z["joints"], z["visibility"], fps, Space(str(z["space"])),
                          str(z["skeleton"]), float(z["start_time"]))  # fmt: skip
        except (KeyError, ValueError, TypeError, zipfile.BadZipFile, EOFError) as err:
            raise ValueError(f"{path}: {err}") from None


def _require_keys(path: Path, z, keys: tuple[str, ...]) -> None:
    missing = [k for k in keys if k not in z]
    if missing:
        raise ValueError(f"{path}: arrays {missing} are missing; save it with save_motion")


def _fps_field(path: Path, value: object) -> float:
    try:
        fps = float(np.asarray(value))
    except (TypeError, ValueError):
        fps = float("nan")
    if not math.isfinite(fps) or fps <= 0:
        raise ValueError(f"{path}: field 'fps' must be a positive number of frames per second")
    return fps


def _posetrack_motion(path: Path, z) -> Motion:
    """The 3D motion of a saved ``PoseTrack``."""
    _require_keys(path, z, ("joints3d", "vis3d", "fps", "start_time"))
    fps = _fps_field(path, z["fps"])
    try:
        return Motion(z["joints3d"], z["vis3d"], fps, Space.WORLD_METRES,
                      start_time=float(z["start_time"]))  # fmt: skip
    except (ValueError, TypeError, zipfile.BadZipFile, EOFError) as err:
        raise ValueError(f"{path}: {err}") from None


def _load_npy(path: Path, fps: float | None) -> Motion:
    with path.open("rb") as f:
        _read_npy_header(f, str(path), path.stem)
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
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
        rows = []
        for row in reader:
            rows.append(row)
            if len(rows) > MAX_MOTION_FRAMES:
                raise ValueError(
                    f"{path}: more than {MAX_MOTION_FRAMES} rows (frames); the limit is "
                    f"{MAX_MOTION_FRAMES}. Trim the motion"
                )
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
