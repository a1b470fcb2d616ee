"""3D skeleton pictures: pyrender offscreen (OSMesa by default), matplotlib when GL fails.

``render_skeleton_3d`` returns an RGB array; ``last_backend()`` says which renderer made the
last picture in the calling thread ("pyrender" or "matplotlib"), so the app and tests can tell
whether the GL path works. The view looks at the skeleton from the front-right, slightly
above, with a ground grid under the lowest foot of the whole motion.
"""

from __future__ import annotations

import os
import threading

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from core.motion import Motion, Space
from core.skeleton import EDGES, MEDIAPIPE33, SMPL_EDGES

BACKGROUND = (0.96, 0.96, 0.96)
_STATE = threading.local()
# GL import/context errors that mean "no usable GL here": fall back instead of failing.
_GL_ERRORS = (ImportError, RuntimeError, OSError, AttributeError, ValueError)


def last_backend() -> str | None:
    """ "pyrender" or "matplotlib": the renderer of this thread's last picture (None before)."""
    return getattr(_STATE, "backend", None)


def _display_points(motion: Motion, aspect: float) -> np.ndarray:
    """(T, J, 3) points in metres-like units, y up; 2D motions become a flat z=0 figure."""
    if motion.space is Space.WORLD_METRES:
        return motion.joints.astype(np.float64)
    if motion.space is Space.TORSO_NORMALIZED:
        return motion.joints.astype(np.float64) * 0.5  # a torso is about half a metre
    xy = motion.joints.astype(np.float64) * [aspect, -1.0]  # y down -> up, square pixels
    seen = motion.visibility > 0
    centre = xy[seen].mean(axis=0) if seen.any() else np.zeros(2)
    span = np.ptp(xy[seen][:, 1]) if seen.sum() > 1 else 1.0
    xy = (xy - centre) * (1.7 / max(span, 1e-6))  # whole clip's height ~ a person's height
    return np.concatenate([xy, np.zeros_like(xy[..., :1])], axis=-1)


def _edges(motion: Motion) -> tuple[tuple[int, int], ...]:
    if motion.skeleton == MEDIAPIPE33:
        return tuple((int(a), int(b)) for a, b in EDGES)
    return SMPL_EDGES


def _render_pyrender(pts: np.ndarray, seen: np.ndarray, edges, floor: float, size) -> np.ndarray:
    """Spheres for joints, cylinders for bones, a line grid for the ground."""
    os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")
    import pyrender  # imported late: loading OpenGL is slow and may fail without a platform
    import trimesh

    scene = pyrender.Scene(bg_color=[*BACKGROUND, 1.0], ambient_light=[0.35, 0.35, 0.35])
    joint_mat = pyrender.MetallicRoughnessMaterial(baseColorFactor=[0.9, 0.35, 0.1, 1.0])
    bone_mat = pyrender.MetallicRoughnessMaterial(baseColorFactor=[0.15, 0.45, 0.85, 1.0])
    sphere = trimesh.creation.icosphere(subdivisions=2, radius=0.03)
    poses = np.tile(np.eye(4), (int(seen.sum()), 1, 1))
    poses[:, :3, 3] = pts[seen]
    if len(poses):
        scene.add(pyrender.Mesh.from_trimesh(sphere, material=joint_mat, poses=poses))
    bones = [trimesh.creation.cylinder(radius=0.015, segment=[pts[a], pts[b]], sections=12)
             for a, b in edges if seen[a] and seen[b] and np.linalg.norm(pts[a] - pts[b]) > 1e-4]  # fmt: skip
    if bones:
        scene.add(pyrender.Mesh.from_trimesh(trimesh.util.concatenate(bones), material=bone_mat))
    grid = np.linspace(-1.5, 1.5, 13)
    lines = [[(g, floor, -1.5), (g, floor, 1.5)] for g in grid]
    lines += [[(-1.5, floor, g), (1.5, floor, g)] for g in grid]
    prim = pyrender.Primitive(positions=np.asarray(lines, np.float32).reshape(-1, 3), mode=1,
                              color_0=np.tile([0.55, 0.55, 0.55, 1.0], (len(lines) * 2, 1)))  # fmt: skip
    scene.add(pyrender.Mesh([prim]))
    scene.add(pyrender.DirectionalLight(intensity=3.0), pose=_look_at(np.array([1.0, 2.0, 3.0])))
    centre = np.array([0.0, (floor + pts[seen][:, 1].max()) / 2 if seen.any() else 0.0, 0.0])
    eye = centre + np.array([1.6, 0.8, 3.4])
    scene.add(pyrender.PerspectiveCamera(yfov=np.radians(40), aspectRatio=size[0] / size[1]),
              pose=_look_at(eye, centre))  # fmt: skip
    renderer = pyrender.OffscreenRenderer(size[0], size[1])
    try:
        color, _ = renderer.render(scene)
    finally:
        renderer.delete()
    return np.ascontiguousarray(color[..., :3])


def _look_at(eye: np.ndarray, target: np.ndarray | None = None) -> np.ndarray:
    """4x4 camera/light pose at ``eye`` looking at ``target`` (OpenGL: looks down -z)."""
    target = np.zeros(3) if target is None else target
    forward = eye - target
    forward /= np.linalg.norm(forward)
    right = np.cross([0.0, 1.0, 0.0], forward)
    right /= np.linalg.norm(right)
    up = np.cross(forward, right)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = right, up, forward, eye
    return pose


def _render_matplotlib(pts: np.ndarray, seen: np.ndarray, edges, floor: float, size) -> np.ndarray:
    """The same picture with matplotlib's 3D axes (no GL needed)."""
    dpi = 100
    fig = Figure(figsize=(size[0] / dpi, size[1] / dpi), dpi=dpi, facecolor=BACKGROUND)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1), projection="3d", facecolor=BACKGROUND)
    # Matplotlib's 3D "up" is z: plot (x, -z, y) so our y-up stays up.
    for g in np.linspace(-1.5, 1.5, 13):
        ax.plot([g, g], [-1.5, 1.5], [floor, floor], color="0.6", lw=0.6)
        ax.plot([-1.5, 1.5], [g, g], [floor, floor], color="0.6", lw=0.6)
    for a, b in edges:
        if seen[a] and seen[b]:
            seg = pts[[a, b]]  # (2, 3)
            ax.plot(seg[:, 0], -seg[:, 2], seg[:, 1], color=(0.15, 0.45, 0.85), lw=3)
    p = pts[seen]
    ax.scatter(p[:, 0], -p[:, 2], p[:, 1], color=(0.9, 0.35, 0.1), s=18, depthshade=False)
    ax.set(xlim=(-1, 1), ylim=(-1, 1), zlim=(floor, floor + 2.0))
    ax.set_box_aspect((1, 1, 1))
    ax.view_init(elev=12, azim=-65)
    ax.set_axis_off()
    canvas.draw()
    img = np.asarray(canvas.buffer_rgba())[..., :3].copy()  # (H, W, 3)
    return img


def render_skeleton_3d(
    motion: Motion,
    frame: int,
    size: tuple[int, int] = (480, 480),
    *,
    backend: str = "auto",
    aspect: float = 1.0,
) -> np.ndarray:
    """(H, W, 3) uint8 picture of ``motion``'s skeleton at ``frame``; ``size`` is (W, H).

    backend: "auto" (pyrender, else matplotlib), "pyrender" or "matplotlib". 2D motions are
    drawn flat (z = 0); ``aspect`` is the source frame's width / height for them.
    """
    if backend not in ("auto", "pyrender", "matplotlib"):
        raise ValueError(f"backend: expected 'auto', 'pyrender' or 'matplotlib', got {backend!r}")
    if not 0 <= frame < motion.num_frames:
        raise ValueError(f"frame: must be in [0, {motion.num_frames}), got {frame}")
    all_pts = _display_points(motion, aspect)
    seen_all = motion.visibility > 0
    floor = float(all_pts[..., 1][seen_all].min()) if seen_all.any() else -1.0
    pts, seen, edges = all_pts[frame], seen_all[frame], _edges(motion)
    if backend != "matplotlib":
        try:
            img = _render_pyrender(pts, seen, edges, floor, size)
            _STATE.backend = "pyrender"
            return img
        except _GL_ERRORS:
            if backend == "pyrender":
                raise
    img = _render_matplotlib(pts, seen, edges, floor, size)
    _STATE.backend = "matplotlib"
    return img
