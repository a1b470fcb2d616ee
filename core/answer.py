"""``Answer``: what LLaMo says about a motion and which moments it looked at (torch-free)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Answer:
    """One reply of the model.

    text: the generated answer (the text so far while streaming).
    viewpoint_frames: frame indices of the ORIGINAL motion the answer drew on, in time order.
    frame_scores: (T,) relevance of each original frame in [0, 1] (Cross Talker Eq. 2).
    timestamps: clip seconds of each viewpoint frame (same order as ``viewpoint_frames``).
    done: False while a stream is still writing the text.
    """

    text: str
    viewpoint_frames: list[int]
    frame_scores: np.ndarray = field(repr=False)
    timestamps: list[float]
    done: bool = True

    def __post_init__(self) -> None:
        self.viewpoint_frames = [int(i) for i in self.viewpoint_frames]
        self.timestamps = [float(t) for t in self.timestamps]
        self.frame_scores = np.asarray(self.frame_scores, dtype=np.float32).reshape(-1)
        if len(self.viewpoint_frames) != len(self.timestamps):
            raise ValueError(
                f"timestamps: {len(self.timestamps)} values for "
                f"{len(self.viewpoint_frames)} viewpoint frames"
            )

    def describe(self, max_items: int = 6) -> str:
        """'looked at t=1.23 s (frame 37), ...' listing at most ``max_items`` moments."""
        if not self.viewpoint_frames:
            return "looked at no particular moment"
        items = [
            f"t={t:.2f} s (frame {i})"
            for i, t in zip(
                self.viewpoint_frames[:max_items], self.timestamps[:max_items], strict=True
            )
        ]
        more = len(self.viewpoint_frames) - max_items
        suffix = f", and {more} more" if more > 0 else ""
        return "looked at " + ", ".join(items) + suffix

    def __str__(self) -> str:
        return f"{self.text}\n[{self.describe()}]"
