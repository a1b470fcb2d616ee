"""NaN-aware 1-D signal helpers shared by the analytics modules.

A NaN sample means "not measured" (joint hidden or person missing). Smoothing fills short
gaps by linear interpolation, smooths, then puts NaN back where the gap was too long to trust.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import savgol_filter


def fill_nan(x: np.ndarray, max_gap: int | None = None) -> np.ndarray:
    """Linear interpolation over NaN runs of at most ``max_gap`` samples (all when None).

    Leading and trailing NaN runs are filled with the nearest value only when they are short
    enough too; an all-NaN signal is returned unchanged.
    """
    x = np.asarray(x, dtype=np.float64)
    ok = np.isfinite(x)
    if ok.all() or not ok.any():
        return x.copy()
    idx = np.arange(x.size)
    out = np.interp(idx, idx[ok], x[ok])
    if max_gap is not None:
        for start, stop in runs(~ok):
            if stop - start > max_gap:
                out[start:stop] = np.nan
    return out


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` of the True runs in a boolean mask (stop exclusive)."""
    m = np.concatenate([[False], np.asarray(mask, bool), [False]])
    edges = np.flatnonzero(np.diff(m.astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def smooth(x: np.ndarray, fps: float, window_s: float = 0.2, max_gap_s: float = 0.5) -> np.ndarray:
    """Savitzky-Golay smoothing (order 2) over ``window_s`` seconds, NaN-aware.

    Gaps up to ``max_gap_s`` are bridged; longer gaps stay NaN. Each finite stretch is
    smoothed on its own so values never leak across a long gap.
    """
    filled = fill_nan(x, max_gap=int(round(max_gap_s * fps)))
    out = np.full_like(filled, np.nan)
    win = max(3, int(round(window_s * fps)) | 1)  # odd window of at least 3 samples
    for start, stop in runs(np.isfinite(filled)):
        seg = filled[start:stop]
        if seg.size >= win:
            out[start:stop] = savgol_filter(seg, win, 2, mode="interp")
        else:
            out[start:stop] = seg
    return out


def smooth_points(p: np.ndarray, fps: float, window_s: float = 0.2) -> np.ndarray:
    """Smooth a (T, C) trajectory coordinate by coordinate."""
    return np.stack([smooth(p[:, c], fps, window_s) for c in range(p.shape[1])], axis=1)


def angle_at(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """(T,) angle ABC at vertex ``b`` in degrees; NaN where any point is missing."""
    return vector_angle(a - b, c - b)


def vector_angle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(T,) unsigned angle between (T, C) vectors in degrees, NaN for zero-length vectors."""
    nu = np.linalg.norm(u, axis=-1)
    nv = np.linalg.norm(v, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.sum(u * v, axis=-1) / (nu * nv)
    cos = np.where((nu > 1e-9) & (nv > 1e-9), cos, np.nan)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def wrap_degrees(x: np.ndarray) -> np.ndarray:
    """Angles wrapped into [-180, 180)."""
    return (np.asarray(x) + 180.0) % 360.0 - 180.0


def nan_argmax(x: np.ndarray) -> int | None:
    """Index of the largest finite value, or None when nothing is finite."""
    return None if not np.isfinite(x).any() else int(np.nanargmax(x))


def nan_argmin(x: np.ndarray) -> int | None:
    """Index of the smallest finite value, or None when nothing is finite."""
    return None if not np.isfinite(x).any() else int(np.nanargmin(x))
