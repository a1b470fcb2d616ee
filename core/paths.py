"""Where the project keeps caches and finds its shipped files (and, for development, the
shared real clips)."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_cache_dir


def cache_dir(sub: str = "") -> Path:
    """``$LLAMO_CACHE_DIR`` or the user cache dir, with ``sub`` created under it."""
    root = Path(os.environ.get("LLAMO_CACHE_DIR") or user_cache_dir("llamo-coach"))
    path = root / sub if sub else root
    path.mkdir(parents=True, exist_ok=True)
    return path


PACKAGE_ROOT = Path(__file__).resolve().parent
DEFAULT_MODEL_DIR = PACKAGE_ROOT / "weights" / "default"
# The real clips and labels beside the checkout (../shared/data/real, SOURCES.md there): for
# tests, benchmarks and evaluation scripts only; the app never reads them.
REAL_DATA_DIR = PACKAGE_ROOT.parents[1] / "shared" / "data" / "real"
