"""Analytics on real clips (pose from core.pose.estimate_pose) against labels made by eye;
see tests/data/golf_swing_dtl_labels.json and tests/data/sports2d_jumping_jacks.json for how
they were made."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from core.analytics import (
    SUPPORTED_ACTIVITIES,
    analyze_motion,
    count_reps,
    golf_swing_events,
    golfdb_tempo_stats,
    guess_activity,
    joint_angles,
    squat_stage,
)
from core.motion import Motion, PoseTrack, Space, load_motion
from tests.conftest import real_path

DATA = Path(__file__).resolve().parents[1] / "data"
GOLF = json.loads((DATA / "golf_swing_dtl_labels.json").read_text())
JACKS = json.loads((DATA / "sports2d_jumping_jacks.json").read_text())

pytestmark = pytest.mark.slow  # the first test of a session runs pose estimation


def test_golf_events_match_labels(golf_track: PoseTrack) -> None:
    ev = golf_swing_events(golf_track)
    tol = GOLF["tolerance_frames"]
    for name, frame in GOLF["events"].items():
        assert abs(ev.frames[name] - frame) <= tol, (name, ev.frames[name], frame)
    order = [ev.frames[k] for k in ("address", "toe_up", "mid_backswing", "top", "mid_downswing",
                                    "impact", "mid_follow_through", "finish")]  # fmt: skip
    assert order == sorted(order)
    assert ev.view == GOLF["view"] and ev.handedness == GOLF["handedness"]
    assert ev.times["top"] == pytest.approx(ev.frames["top"] / golf_track.fps)
    labelled = (GOLF["events"]["top"] - GOLF["events"]["address"]) / (
        GOLF["events"]["impact"] - GOLF["events"]["top"]
    )
    assert ev.tempo == pytest.approx(labelled, abs=0.5)
    assert "tempo" in str(ev) and "\n" not in str(ev)


def test_golf_events_from_2d_mirrored_and_3d(golf_track: PoseTrack) -> None:
    flipped = golf_swing_events(golf_track.motion2d.mirrored())
    assert flipped.handedness == "left"
    for name, frame in GOLF["events"].items():
        assert abs(flipped.frames[name] - frame) <= GOLF["tolerance_frames"], name
    # 3D wrists from MediaPipe are noisier: a looser bound, to notice if it breaks entirely.
    ev3 = golf_swing_events(golf_track.motion3d)
    assert ev3.handedness == "right"
    for name, frame in GOLF["events"].items():
        assert abs(ev3.frames[name] - frame) <= 10, (name, ev3.frames[name], frame)


def test_golf_face_on_copy_of_the_real_swing(golf_track: PoseTrack) -> None:
    """The real 3D swing turned 90 degrees about the vertical reads as face-on, same events."""
    m = golf_track.motion3d
    r = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]])  # 90 deg about y
    turned = Motion(m.joints @ r.T, m.visibility, m.fps, Space.WORLD_METRES)
    a, b = golf_swing_events(m), golf_swing_events(turned)
    assert a.view == "down_the_line" and b.view == "face_on"
    assert b.handedness == a.handedness
    assert all(abs(a.frames[k] - b.frames[k]) <= 2 for k in a.frames)


def test_golfdb_tempo_from_csv() -> None:
    path = real_path("golfdb_events.csv")
    stats = golfdb_tempo_stats(path)
    with path.open(newline="") as f:
        n_real_time = sum(1 for row in csv.DictReader(f) if row["slow"] == "0")
    assert stats.n_swings == n_real_time
    assert 2.0 < stats.median_tempo < 5.0
    assert stats.iqr_tempo[0] < stats.median_tempo < stats.iqr_tempo[1]
    fr = list(stats.event_fractions.values())
    assert fr[0] == 0.0 and fr[-1] == 1.0 and fr == sorted(fr)
    assert 0.5 < stats.median_address_to_finish_s < 5.0
    slow = golfdb_tempo_stats(path, slow=True)
    assert slow.n_swings > 0 and slow.n_swings + stats.n_swings <= 1400


def test_jumping_jacks_counted_and_later_scenes_add_none(sports2d_track: PoseTrack) -> None:
    scene, later = JACKS["jumping_jack_scene"], JACKS["later_part"]
    first = count_reps(
        sports2d_track.motion2d.slice_frames(scene["start"], scene["stop"]), "jumping_jack"
    )
    assert first.count == JACKS["jumping_jacks"]
    for rep, peak in zip(first.reps, JACKS["rep_peaks_arms_up"], strict=True):
        assert rep.start < peak < rep.end
    assert count_reps(sports2d_track, "jumping_jack").count == JACKS["jumping_jacks"]
    assert count_reps(sports2d_track.motion3d, "jumping_jack").count == JACKS["jumping_jacks"]
    rest = sports2d_track.motion2d.slice_frames(later["start"], later["stop"])
    assert count_reps(rest, "jumping_jack").count == later["jumping_jacks"]


def test_squat_stage_agrees_with_human_labels() -> None:
    motion = load_motion(real_path("squat_landmarks_test.csv"))
    labels = np.array(motion.meta["columns"]["label"])
    stage = squat_stage(motion)
    agreement = float(np.mean(stage == labels))
    assert agreement >= 0.90, agreement


def test_activity_guess_on_real_clips(
    golf_track: PoseTrack, sports2d_track: PoseTrack, cobra_track: PoseTrack
) -> None:
    golf = guess_activity(golf_track)
    assert golf.label == "golf_swing" and golf.confidence > 0.3
    jacks = guess_activity(sports2d_track.motion2d.slice_frames(0, 100))
    assert jacks.label == "jumping_jack"
    assert guess_activity(cobra_track).label == "push_up"
    assert set(golf.scores) == set(SUPPORTED_ACTIVITIES) and golf.reason == ""


def test_analyze_motion_facts(golf_track: PoseTrack, sports2d_track: PoseTrack) -> None:
    report = analyze_motion(golf_track)
    assert report.golf is not None and report.reps is None
    top = report.golf.frames["top"]
    assert any(
        f"Top of backswing at {top / golf_track.fps:.1f} s (frame {top})" in f for f in report.facts
    )
    assert all(isinstance(f, str) and "\n" not in f for f in report.facts)
    forced = analyze_motion(sports2d_track, activity="jumping_jack")
    assert forced.reps is not None and forced.reps.count == JACKS["jumping_jacks"]
    assert any("Rep 2:" in f for f in forced.facts)


def test_real_angles_are_plausible(golf_track: PoseTrack) -> None:
    a = joint_angles(golf_track)
    addr = GOLF["events"]["address"]
    # A driver address: knees flexed a little, trunk bent forward 25-50 degrees.
    assert 130 < a["left_knee"][addr] < 178 and 130 < a["right_knee"][addr] < 178
    assert 25 < a["spine_forward"][addr] < 50
    a2 = joint_angles(golf_track.motion2d)
    assert 25 < a2["spine_forward"][addr] < 50
