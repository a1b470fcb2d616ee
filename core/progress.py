"""One progress-callback shape for the CLI (tqdm) and the UI (``gr.Progress``)."""

from __future__ import annotations

from collections.abc import Callable

ProgressFn = Callable[[float, str], None]
"""``progress(fraction_done, description)``; ``gr.Progress()`` instances fit this shape."""


def report(progress: ProgressFn | None, fraction: float, desc: str) -> None:
    if progress is not None:
        progress(min(max(fraction, 0.0), 1.0), desc)
