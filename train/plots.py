"""Training plots: the loss curve of a run (``plot_loss_curve`` never shows, only returns)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: training runs headless

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


def smooth(values: Sequence[float], window: int) -> np.ndarray:
    """Trailing moving average (the first points average what they have)."""
    x = np.asarray(values, dtype=np.float64)
    if window <= 1 or x.size == 0:
        return x
    csum = np.cumsum(np.insert(x, 0, 0.0))
    out = np.empty_like(x)
    for i in range(x.size):
        lo = max(0, i + 1 - window)
        out[i] = (csum[i + 1] - csum[lo]) / (i + 1 - lo)
    return out


def plot_loss_curve(history: Sequence[dict], title: str = "LLaMo training loss") -> Figure:
    """Per-step loss (faint), its moving average, and a shaded band per stage."""
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    if not history:
        ax.text(0.5, 0.5, "no steps yet", ha="center", va="center", transform=ax.transAxes)
        return fig
    steps = np.array([row["step"] for row in history])
    loss = np.array([row["loss"] for row in history], dtype=np.float64)
    ax.plot(steps, loss, color="tab:blue", alpha=0.3, lw=1, label="loss per step")
    window = max(1, len(loss) // 25)
    ax.plot(steps, smooth(loss, window), color="tab:blue", lw=2, label=f"mean of {window}")
    colours = {"align": "tab:orange", "lora": "tab:green"}
    for stage in dict.fromkeys(row["stage"] for row in history):
        mine = steps[[row["stage"] == stage for row in history]]
        ax.axvspan(mine.min() - 0.5, mine.max() + 0.5, color=colours.get(stage, "grey"),
                   alpha=0.08, label=f"stage {stage}")  # fmt: skip
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("answer-token cross-entropy")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig


def save_loss_curve(history: Sequence[dict], path: str | Path) -> Path:
    """Write :func:`plot_loss_curve` as a PNG and close the figure."""
    path = Path(path)
    fig = plot_loss_curve(history)
    try:
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path
