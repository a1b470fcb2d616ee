"""viz.render3d: both backends draw a visible skeleton for 3D and 2D motions."""

from __future__ import annotations

import numpy as np
import pytest

import viz.render3d as render3d
from viz.render3d import BACKGROUND, last_backend, render_skeleton_3d

pytestmark = pytest.mark.slow


def _skeleton_pixels(img: np.ndarray) -> float:
    """Fraction of strongly coloured pixels (joints orange, bones blue; grid and bg are grey)."""
    rgb = img.astype(int)
    return float(np.mean(rgb.max(-1) - rgb.min(-1) > 60))


def test_pyrender_backend(golf_track) -> None:
    img = render_skeleton_3d(golf_track.motion3d, 110, size=(320, 240))
    assert last_backend() == "pyrender", "OSMesa offscreen rendering should work here"
    assert img.shape == (240, 320, 3) and img.dtype == np.uint8
    assert _skeleton_pixels(img) > 0.005
    # The background colour dominates (the skeleton is not smeared over the picture).
    bg = np.round(np.array(BACKGROUND) * 255)
    assert np.mean(np.abs(img.astype(int) - bg).sum(-1) < 10) > 0.5
    # A different frame of the swing gives a different picture.
    assert np.any(render_skeleton_3d(golf_track.motion3d, 0, size=(320, 240)) != img)


def test_matplotlib_fallback_when_gl_fails(golf_track, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_gl(*args, **kwargs):
        raise ImportError("no GL platform")

    monkeypatch.setattr(render3d, "_render_pyrender", no_gl)
    img = render_skeleton_3d(golf_track.motion3d, 110, size=(300, 300))
    assert last_backend() == "matplotlib"
    assert img.shape == (300, 300, 3)
    assert _skeleton_pixels(img) > 0.005
    with pytest.raises(ImportError):
        render_skeleton_3d(golf_track.motion3d, 110, backend="pyrender")


def test_2d_motion_drawn_flat(golf_track) -> None:
    for backend in ("auto", "matplotlib"):
        img = render_skeleton_3d(golf_track.motion2d, 50, aspect=354 / 492, backend=backend)
        assert _skeleton_pixels(img) > 0.003, backend


def test_smpl22_motion(golf_track) -> None:
    img = render_skeleton_3d(golf_track.motion3d.to_smpl22(), 0, backend="matplotlib")
    assert _skeleton_pixels(img) > 0.003


def test_bad_arguments(golf_track) -> None:
    with pytest.raises(ValueError, match=r"frame: must be in \[0, 264\)"):
        render_skeleton_3d(golf_track.motion3d, 264)
    with pytest.raises(ValueError, match="backend"):
        render_skeleton_3d(golf_track.motion3d, 0, backend="vulkan")
