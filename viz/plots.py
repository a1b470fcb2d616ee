"""Plots for the app: joint angles over time and the model's per-frame relevance.

Figures are built with ``matplotlib.figure.Figure`` on the Agg canvas (no pyplot state, no
window); callers save or embed them and never need ``show()``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from core.answer import group_moments

HIGHLIGHT_COLOUR = "#f5b700"


def _new_figure(size: tuple[float, float]) -> Figure:
    fig = Figure(figsize=size, dpi=100, layout="constrained")
    FigureCanvasAgg(fig)  # attaches an Agg canvas so savefig/draw work headless
    return fig


def plot_joint_angles(
    angles: Mapping[str, np.ndarray],
    fps: float,
    *,
    events: Mapping[str, int] | None = None,
    highlight: Sequence[int] | None = None,
    title: str = "Joint angles",
) -> Figure:
    """One line per joint angle (degrees) against seconds.

    events: name -> frame, drawn as labelled dashed vertical lines (e.g. swing phases).
    highlight: frames to shade (e.g. the model's viewpoint frames).
    """
    if fps <= 0:
        raise ValueError(f"fps: must be positive, got {fps}")
    if not angles:
        raise ValueError("angles: need at least one named series")
    fig = _new_figure((8.0, 3.6))
    ax = fig.add_subplot()
    for name, series in angles.items():
        values = np.asarray(series, np.float64)
        if values.ndim != 1:
            raise ValueError(f"angles[{name!r}]: expected shape (T,), got {values.shape}")
        ax.plot(np.arange(len(values)) / fps, values, label=name, lw=1.6)
    for name, frame in (events or {}).items():
        ax.axvline(frame / fps, color="0.35", ls="--", lw=1)
        ax.annotate(name, (frame / fps, 1.0), xycoords=("data", "axes fraction"), rotation=90,
                    va="top", ha="right", fontsize=8, color="0.25")  # fmt: skip
    for frame in highlight or ():
        ax.axvspan((frame - 0.5) / fps, (frame + 0.5) / fps, color=HIGHLIGHT_COLOUR, alpha=0.45)
    ax.set(xlabel="time (s)", ylabel="angle (degrees)", title=title)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    return fig


def plot_frame_relevance(
    scores: np.ndarray, fps: float, viewpoint_frames: Sequence[int], *, title: str = ""
) -> Figure:
    """Per-frame relevance (0..1) over time with the viewpoint frames marked and timed."""
    scores = np.asarray(scores, np.float64)
    if scores.ndim != 1 or len(scores) == 0:
        raise ValueError(f"scores: expected a non-empty (T,) array, got shape {scores.shape}")
    if fps <= 0:
        raise ValueError(f"fps: must be positive, got {fps}")
    bad = [f for f in viewpoint_frames if not 0 <= f < len(scores)]
    if bad:
        raise ValueError(f"viewpoint_frames: {bad} outside [0, {len(scores)})")
    fig = _new_figure((8.0, 2.8))
    ax = fig.add_subplot()
    t = np.arange(len(scores)) / fps
    ax.plot(t, scores, color="#1f6fd1", lw=1.6, label="relevance")
    ax.fill_between(t, scores, color="#1f6fd1", alpha=0.15)
    frames = np.asarray(sorted(int(f) for f in viewpoint_frames), dtype=int)
    if len(frames):
        ax.scatter(frames / fps, scores[frames], color=HIGHLIGHT_COLOUR, edgecolor="black",
                   zorder=3, s=45, label="viewpoint frames")  # fmt: skip
        # One label per moment: adjacent viewpoint frames would print on top of each other.
        for m in group_moments(list(frames), list(frames / fps), scores):
            if m.end > m.start:
                ax.axvspan(m.start, m.end, color=HIGHLIGHT_COLOUR, alpha=0.25, lw=0)
            ax.annotate(f"{m.peak:.2f}s", (m.peak, scores[m.peak_frame]), textcoords="offset points",
                        xytext=(0, 7), ha="center", fontsize=7)  # fmt: skip
    ax.set(xlabel="time (s)", ylabel="relevance", ylim=(0, 1.12), xlim=(0, max(t[-1], 1 / fps)),
           title=title or "Where the model looked")  # fmt: skip
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right", fontsize=8)
    return fig
