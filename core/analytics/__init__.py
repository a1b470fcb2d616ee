"""Coaching analytics: joint angles, golf swing events, baseball phases, reps, activity.

Deterministic, torch-free functions of a ``Motion`` or ``PoseTrack``; every result is a
typed dataclass with frame indices, seconds and a one-line ``str()``, and the report's facts
carry confidences (``Fact``, ``TRUST_THRESHOLD``). See docs/analytics.md.
"""

from .activity import (
    ACTIVITIES,
    NOT_SUPPORTED,
    SUPPORTED_ACTIVITIES,
    UNSURE,
    ActivityGuess,
    guess_activity,
)
from .angles import (
    LEADING_FOOT_ACTIVITIES,
    CameraExtremes,
    camera_extremes,
    front_foot,
    joint_angles,
    leading_foot,
)
from .baseball import BASEBALL_EVENTS, BaseballParams, BaseballSwingPhases, baseball_swing_phases
from .facts import SIDE_MARGIN_DEG, TRUST_THRESHOLD, Fact
from .form import FORM_EXERCISES, FormCheck, FormLimits, asks_form, check_form
from .golf import (
    GOLF_EVENTS,
    GOLF_PHASES,
    GolfDBTempoStats,
    GolfParams,
    GolfSwingEvents,
    find_swings,
    golf_swing_events,
    golfdb_tempo_stats,
    slow_motion_factor,
)
from .golf_view import detect_view
from .report import AngleSummary, MotionReport, analyze_motion
from .reps import EXERCISES, ExerciseProfile, Rep, RepCount, RepParams, count_reps, squat_stage

__all__ = [
    "ACTIVITIES", "BASEBALL_EVENTS", "EXERCISES", "FORM_EXERCISES", "GOLF_EVENTS", "GOLF_PHASES",
    "LEADING_FOOT_ACTIVITIES", "NOT_SUPPORTED", "SIDE_MARGIN_DEG",
    "SUPPORTED_ACTIVITIES", "TRUST_THRESHOLD", "UNSURE", "ActivityGuess", "AngleSummary",
    "BaseballParams", "BaseballSwingPhases", "CameraExtremes", "ExerciseProfile", "Fact",
    "FormCheck", "FormLimits", "GolfDBTempoStats", "GolfParams", "GolfSwingEvents",
    "MotionReport", "Rep", "RepCount", "RepParams", "analyze_motion", "asks_form",
    "baseball_swing_phases", "camera_extremes", "check_form", "count_reps",
    "detect_view", "find_swings", "front_foot", "golf_swing_events", "golfdb_tempo_stats",
    "guess_activity", "joint_angles", "leading_foot", "slow_motion_factor", "squat_stage",
]  # fmt: skip
