"""``Answer``: what LLaMo says about a motion and which moments it looked at (torch-free)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Moment:
    """A run of nearby viewpoint frames: one thing the model looked at."""

    start_frame: int
    end_frame: int
    peak_frame: int  # the run's most relevant frame
    start: float  # clip seconds
    end: float
    peak: float

    @property
    def label(self) -> str:
        """'3.70 s (frame 111)', plus the span when the moment covers several frames."""
        text = f"{self.peak:.2f} s (frame {self.peak_frame})"
        if self.end_frame > self.start_frame:
            text += f", {self.start:.2f}-{self.end:.2f} s"
        return text


def group_moments(
    frames: list[int], seconds: list[float], scores: np.ndarray, max_gap_s: float = 0.25
) -> list[Moment]:
    """Merge viewpoint frames less than ``max_gap_s`` apart into moments (time order).

    Top-K selection often picks runs of adjacent frames around one peak; showing each as its
    own thumbnail repeats the same picture, so the app shows one per run.
    """
    order = np.argsort(np.asarray(seconds, dtype=np.float64), kind="stable")
    runs: list[list[int]] = []
    for i in order:
        if runs and seconds[i] - seconds[runs[-1][-1]] <= max_gap_s:
            runs[-1].append(int(i))
        else:
            runs.append([int(i)])
    moments = []
    for run in runs:

        def score(i: int) -> float:
            return float(scores[frames[i]]) if 0 <= frames[i] < len(scores) else 0.0

        peak = max(run, key=score)
        first, last = run[0], run[-1]
        moments.append(Moment(frames[first], frames[last], frames[peak], seconds[first],
                              seconds[last], seconds[peak]))  # fmt: skip
    return moments


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

    def moments(self, max_gap_s: float = 0.25) -> list[Moment]:
        """Viewpoint frames merged into distinct moments (see :func:`group_moments`)."""
        return group_moments(self.viewpoint_frames, self.timestamps, self.frame_scores, max_gap_s)

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
