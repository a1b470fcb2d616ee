"""Hostile motion files, each made here: bombs, pickles, deep JSON, lying or broken fields.

Each is refused with a message naming the problem, before a big allocation.
"""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from numpy.lib import format as npy_format

from core.limits import MAX_MOTION_FRAMES
from core.motion import Motion, Space
from core.motion_io import load_motion, save_motion

FRAMES = 300_000  # 119 MB once unpacked, 0.1 MB compressed


def write_npz_bomb(path: Path, frames: int = FRAMES) -> Path:
    """A llamo-motion-v1 .npz whose joints unpack to ``frames`` x 33 x 3 float32 zeros,
    written in blocks so the test itself never holds the array."""
    header = {"descr": "<f4", "fortran_order": False, "shape": (frames, 33, 3)}
    small = {"format": np.array("llamo-motion-v1"), "fps": np.array(30.0),
             "visibility": np.ones((frames, 33), np.float32)[:1]}  # fmt: skip
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, arr in small.items():
            buf = io.BytesIO()
            np.save(buf, arr)
            z.writestr(f"{name}.npy", buf.getvalue())
        with z.open("joints.npy", "w", force_zip64=True) as f:
            npy_format.write_array_header_1_0(f, header)
            block = bytes(33 * 3 * 4 * 10_000)
            for _ in range(frames // 10_000):
                f.write(block)
    return path


def _peak_mib(fn) -> float:
    tracemalloc.start()
    try:
        fn()
    except ValueError:
        pass
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def test_npz_bomb_is_refused_from_its_header(tmp_path: Path) -> None:
    bomb = write_npz_bomb(tmp_path / "bomb.npz")
    assert bomb.stat().st_size < 2 * 2**20
    with pytest.raises(ValueError, match=r"'joints' \(300000, 33, 3\) unpacks to 113 MiB"):
        load_motion(bomb)
    assert _peak_mib(lambda: load_motion(bomb)) < 5  # nothing near 113 MiB was allocated


def test_long_npy_is_refused_by_frames_and_by_duration(tmp_path: Path) -> None:
    many = tmp_path / "many.npy"
    np.save(many, np.zeros((MAX_MOTION_FRAMES + 1, 22, 3), np.float32))
    with pytest.raises(ValueError, match=f"{MAX_MOTION_FRAMES + 1} frames.*limit is"):
        load_motion(many)
    long = tmp_path / "long.npy"  # 3,000 frames at HumanML3D's 20 fps = 150 s
    np.save(long, np.zeros((3000, 22, 3), np.float32))
    with pytest.raises(ValueError, match=r"3000 frames at 20 fps is 150 s; the limit is 120 s"):
        load_motion(long)


def test_pickled_npy_and_npz_members_are_refused(tmp_path: Path) -> None:
    obj = tmp_path / "obj.npy"
    np.save(obj, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="Python objects \\(pickle\\), which are never loaded"):
        load_motion(obj)
    npz = tmp_path / "obj.npz"
    np.savez(npz, format=np.array("llamo-motion-v1"), joints=np.array([None], dtype=object))
    with pytest.raises(ValueError, match="'joints' holds Python objects"):
        load_motion(npz)


def test_not_a_zip_npz_gets_no_unsafe_advice(tmp_path: Path) -> None:
    fake = tmp_path / "fake.npz"
    fake.write_bytes(b"this is no zip archive" * 10)
    with pytest.raises(ValueError, match="not a .npz archive") as err:
        load_motion(fake)
    assert "pickle" not in str(err.value) and "unsafe" not in str(err.value)


def test_deep_json_is_refused_without_recursion(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text('{"fps": 30, "space": "world_metres", "joints": ' + "[" * 100_000
                    + "]" * 100_000 + "}")  # fmt: skip
    with pytest.raises(ValueError, match="JSON nested 100001 levels deep"):
        load_motion(deep)
    # brackets inside strings do not count
    ok = tmp_path / "ok.json"
    motion = Motion(np.zeros((3, 33, 3)), np.ones((3, 33)), 30.0, Space.WORLD_METRES,
                    meta={})  # fmt: skip
    save_motion(motion, ok)
    ok.write_text(ok.read_text()[:-1] + ', "note": "[[[[[[[[[[[[[["}')
    assert load_motion(ok).num_frames == 3


def test_broken_fields_name_the_field(tmp_path: Path) -> None:
    motion = Motion(np.zeros((5, 33, 3)), np.ones((5, 33)), 30.0, Space.WORLD_METRES)
    path = save_motion(motion, tmp_path / "m.npz")
    with np.load(path) as z:
        arrays = dict(z)
    np.savez(path, **{**arrays, "fps": np.array(-2.0)})
    with pytest.raises(ValueError, match="field 'fps' must be a positive number"):
        load_motion(path)
    np.savez(path, **{**arrays, "joints": np.full((5, 33, 3), np.nan, np.float32)})
    with pytest.raises(ValueError, match="no joint has a valid position") as err:
        load_motion(path)
    assert "film" not in str(err.value)
    track = tmp_path / "track.npz"
    np.savez(track, format=np.array("llamo-posetrack-v1"), joints3d=np.zeros((5, 33, 3)))
    with pytest.raises(ValueError, match=r"arrays \['vis3d', 'fps', 'start_time'\] are missing"):
        load_motion(track)
    js = tmp_path / "m.json"
    js.write_text('{"fps": "fast", "space": "world_metres", "joints": [[[0, 0, 0]]]}')
    with pytest.raises(ValueError, match="field 'fps'"):
        load_motion(js)
