"""Shared fixtures: real clips from ../shared/data/real and one cache dir per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.paths import REAL_DATA_DIR

pytest_plugins = ["tests.conftest_tracks"]

REAL_DIR = REAL_DATA_DIR
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")


def real_path(name: str) -> Path:
    """Path of a real test file; skip when absent, fail when REQUIRE_REAL_DATA=1."""
    path = REAL_DIR / name
    if not path.is_file():
        msg = f"real test data {path} is missing (see ../shared/data/real/SOURCES.md)"
        if os.environ.get("REQUIRE_REAL_DATA") == "1":
            pytest.fail(msg + " and REQUIRE_REAL_DATA=1")
        pytest.skip(msg)
    return path


@pytest.fixture(scope="session", autouse=True)
def _session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Keep caches of a test run apart from the user's (unless LLAMO_CACHE_DIR is set)."""
    if "LLAMO_CACHE_DIR" not in os.environ:
        os.environ["LLAMO_CACHE_DIR"] = str(tmp_path_factory.mktemp("llamo-cache"))
    return Path(os.environ["LLAMO_CACHE_DIR"])
