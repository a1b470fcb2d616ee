"""Session-wide pose tracks of the real clips, computed once per test run.

Registered for the whole suite by ``pytest_plugins`` in ``tests/conftest.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.motion import PoseTrack
from tests.conftest import real_path


def _track(name: str) -> PoseTrack:
    from core.pose import estimate_pose

    return estimate_pose(real_path(name))


@pytest.fixture(scope="session")
def golf_track(_session_cache: Path) -> PoseTrack:
    """golf_swing_dtl.mp4: one driver swing, down-the-line view, 264 frames."""
    return _track("golf_swing_dtl.mp4")


@pytest.fixture(scope="session")
def sports2d_track(_session_cache: Path) -> PoseTrack:
    """sports2d_demo.mp4: 1768x994 compilation with camera cuts, 230 frames."""
    return _track("sports2d_demo.mp4")


@pytest.fixture(scope="session")
def cobra_track(_session_cache: Path) -> PoseTrack:
    """cobra_pushups.mp4: 1080p exercise clip on a mat, 53 frames."""
    return _track("cobra_pushups.mp4")
