"""Answer: viewpoint frames merged into moments."""

import numpy as np
import pytest

from core.answer import Answer, group_moments


def test_adjacent_viewpoint_frames_merge_into_one_moment_with_its_peak():
    scores = np.zeros(200, np.float32)
    scores[[10, 11, 12, 50, 120]] = [0.5, 0.9, 0.4, 0.3, 0.8]
    answer = Answer("x", [10, 11, 12, 50, 120], scores, [0.33, 0.37, 0.40, 1.67, 4.0])
    moments = answer.moments()
    assert [(m.start_frame, m.end_frame, m.peak_frame) for m in moments] == [
        (10, 12, 11), (50, 50, 50), (120, 120, 120)
    ]  # fmt: skip
    assert moments[0].label == "0.37 s (frame 11), 0.33-0.40 s"
    assert moments[1].label == "1.67 s (frame 50)"


def test_gap_threshold_and_unsorted_input():
    scores = np.ones(10, np.float32)
    frames, secs = [4, 0, 2], [0.4, 0.0, 0.2]
    assert len(group_moments(frames, secs, scores, max_gap_s=0.25)) == 1
    assert len(group_moments(frames, secs, scores, max_gap_s=0.1)) == 3
    assert group_moments([], [], scores) == []


def test_answer_rejects_mismatched_timestamps():
    with pytest.raises(ValueError, match="timestamps"):
        Answer("x", [1, 2], np.zeros(5), [0.1])
