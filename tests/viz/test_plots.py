"""viz.plots: Figures with the expected lines, markers and labels (real squat angles)."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from core.motion_io import load_motion
from core.skeleton import Joint
from tests.conftest import real_path
from viz.plots import plot_frame_relevance, plot_joint_angles


def _knee_angles() -> dict[str, np.ndarray]:
    m = load_motion(real_path("squat_landmarks_test.csv"))
    out = {}
    for side in ("LEFT", "RIGHT"):
        hip, knee, ankle = (m.joints[:, Joint[f"{side}_{p}"]] for p in ("HIP", "KNEE", "ANKLE"))
        a, b = hip - knee, ankle - knee
        cos = (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
        out[f"{side.lower()} knee"] = np.degrees(np.arccos(np.clip(cos, -1, 1)))
    return out


def test_plot_joint_angles_lines_events_highlight(tmp_path) -> None:
    angles = _knee_angles()
    fig = plot_joint_angles(angles, 30.0, events={"bottom": 120, "top": 200}, highlight=[50, 60])
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert "left knee" in labels and "right knee" in labels
    left = next(line for line in ax.get_lines() if line.get_label() == "left knee")
    np.testing.assert_allclose(left.get_ydata(), angles["left knee"])
    assert left.get_xdata()[30] == pytest.approx(1.0)  # seconds on x
    # Two dashed event lines, two highlight spans, annotations naming the events.
    dashed = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert len(dashed) == 2
    assert len(ax.patches) == 2
    assert {t.get_text() for t in ax.texts} == {"bottom", "top"}
    fig.savefig(tmp_path / "angles.png")
    assert (tmp_path / "angles.png").stat().st_size > 5000


def test_plot_frame_relevance_marks_viewpoints() -> None:
    t = np.arange(90)
    scores = np.exp(-0.5 * ((t - 40) / 6.0) ** 2)
    fig = plot_frame_relevance(scores, 30.0, [38, 40, 45, 80])
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), scores)
    markers = ax.collections[-1].get_offsets()
    np.testing.assert_allclose(np.asarray(markers)[:, 0], np.array([38, 40, 45, 80]) / 30.0)
    # 38, 40 and 45 are one moment (labelled at its peak, frame 40); 80 is another.
    assert [tx.get_text() for tx in ax.texts] == ["1.33s", "2.67s"]
    assert len(ax.patches) == 1  # the shaded span of the merged moment
    with pytest.raises(ValueError, match=r"viewpoint_frames: \[90\] outside"):
        plot_frame_relevance(scores, 30.0, [90])


def test_plot_errors() -> None:
    with pytest.raises(ValueError, match="fps"):
        plot_joint_angles({"knee": np.zeros(5)}, 0)
    with pytest.raises(ValueError, match=r"angles\['knee'\]"):
        plot_joint_angles({"knee": np.zeros((5, 2))}, 30)
