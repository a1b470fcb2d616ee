"""Baseball swing phases from the hands' and feet's paths.

Phases (each event is the frame where the phase starts):

* stance: the clip's start, batter set;
* load: hands at their furthest point back (away from the pitcher) before the swing;
* stride: the front foot starts its last big move before the hands' drive (the last speed
  peak of at least ``step_fraction`` of the largest, before the hands first pass
  ``drive_fraction`` of their peak speed on the way to it; the foot's speed first passes
  ``move_fraction`` of that peak), so neither a leg lift or toe tap before the step nor the
  front foot's turn with the hips during the drive is taken for the stride;
* foot_plant: the front foot lands (its speed falls back below that level after the peak);
* contact: after the stride starts, where the hands drive towards the pitcher fastest;
* follow_through: ends where the hands slow below ``end_fraction`` of their peak speed.

Pose glitches (a frame where the estimator latched onto the catcher or umpire) are dropped
first. The pitcher is on the side away from where the batter holds the hands before the
swing; the front foot is the ankle nearer the pitcher, and the batter is left-handed when it
is the right foot. This needs a side view: a camera behind the pitcher or catcher sees the
feet overlap (less than ``FEET_APART`` torso lengths apart); the front foot is then the one
that travels further (it lifts and steps), and the handedness is reported as unsure.
A PoseTrack uses its 2D image paths (steadier than 3D, and the swing's timing needs no
depth); the ankles are smoothed over a longer window than the hands.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import median_filter

from core.checks import require_number
from core.errors import InputError
from core.motion import Motion, PoseTrack
from core.skeleton import Joint as J

from .angles import Body, body_of, require_joints
from .golf import HandsPath, hands_path
from .signal import smooth

BASEBALL_EVENTS = ("stance", "load", "stride", "foot_plant", "contact", "follow_through")
FEET_APART = 0.4  # torso lengths along the image x: a side view, where the pitcher's side is clear
FRONT_FOOT_TRAVEL = 1.5  # an ankle's path this many times the other's: it lifts and steps


@dataclass(frozen=True)
class BaseballParams:
    """Tunable thresholds of :func:`baseball_swing_phases`."""

    move_fraction: float = 0.25
    step_fraction: float = 0.5
    drive_fraction: float = 0.3
    end_fraction: float = 0.2
    smooth_s: float = 0.1
    # 2D ankles jitter as fast as the step moves; over the hands' 0.1 s the 2D stride start
    # was more than 4 frames off on 193 of 600 swings, now 46 (docs/issue10/session42).
    foot_smooth_s: float = 0.25
    min_hand_speed: float = 2.0  # torso lengths / s a real swing's hands exceed

    def __post_init__(self) -> None:
        for name in ("move_fraction", "step_fraction", "drive_fraction", "end_fraction"):
            require_number(name, getattr(self, name), high=1.0)


@dataclass(frozen=True)
class BaseballSwingPhases:
    """Start frame and time of each swing phase, the batter's side, and confidences."""

    frames: dict[str, int]
    times: dict[str, float]
    front_foot: str
    fps: float
    confidence: dict[str, float] = field(default_factory=dict)  # "phases", "handedness"

    @property
    def handedness(self) -> str:
        """A right-handed batter strides with the left foot towards the pitcher."""
        return "left" if self.front_foot == "right" else "right"

    @property
    def stride_to_contact_s(self) -> float:
        return self.times["contact"] - self.times["stride"]

    def __str__(self) -> str:
        t, f = self.times, self.frames
        return (f"Baseball swing ({self.handedness}-handed batter): load {t['load']:.2f} s "
                f"(frame {f['load']}), stride {t['stride']:.2f} s, foot plant {t['foot_plant']:.2f} s "
                f"(frame {f['foot_plant']}), contact {t['contact']:.2f} s (frame {f['contact']}), "
                f"{self.front_foot} foot in front")  # fmt: skip


def despiked(body: Body, max_jump: float = 0.3) -> Body:
    """The body with frames dropped (NaN) where the hips, shoulders or ankles leave the
    median of their 5-frame neighbourhood by more than ``max_jump`` torso lengths: the pose
    estimator briefly latched onto someone else (a catcher, an umpire)."""
    core = [J.LEFT_HIP, J.RIGHT_HIP, J.LEFT_SHOULDER, J.RIGHT_SHOULDER, J.LEFT_ANKLE, J.RIGHT_ANKLE]
    torso = np.nanmedian(body.torso_length())
    pts = body.p[:, core, :2]
    med = median_filter(np.nan_to_num(pts), size=(5, 1, 1), mode="nearest")
    dev = np.fmax.reduce(np.linalg.norm(pts - med, axis=-1), axis=1) / torso  # NaN: unseen
    p = body.p.copy()
    p[dev > max_jump] = np.nan
    return Body(p, body.fps, body.start_time, body.is3d)


def baseball_swing_phases(
    track_or_motion: PoseTrack | Motion, *, params: BaseballParams | None = None
) -> BaseballSwingPhases:
    """Stance, load, stride, foot plant, contact and follow-through of the main swing."""
    prm = params or BaseballParams()
    body = despiked(body_of(track_or_motion, prefer_3d=False, min_visibility=1e-3))
    require_joints(body, (J.LEFT_ANKLE, J.RIGHT_ANKLE), "baseball_swing_phases")
    path = hands_path(body, prm.smooth_s)
    peak = float(np.nanmax(path.speed)) if np.isfinite(path.speed).any() else 0.0
    if peak < prm.min_hand_speed:
        raise InputError(
            f"no swing found: the hands peak at {peak:.1f} torso lengths/s (a swing exceeds "
            f"{prm.min_hand_speed}). Check the clip shows the whole swing with the hands visible."
        )
    fastest = int(np.nanargmax(path.speed))
    ankles = _ankles(body, prm)
    to_pitcher = _pitcher_side(path, fastest)
    front, apart = _front_foot(ankles, fastest, to_pitcher)
    stride, plant = _stride(ankles[front], body.fps, _drive_start(path, fastest, prm), prm)
    forward = path.pos[:, 0] * to_pitcher  # hands towards the pitcher, torso lengths
    contact = _contact(forward, body.fps, stride, prm)
    end = _fall(path.speed, contact, prm.end_fraction * peak, body.num_frames - 1)
    load = (
        int(np.nanargmin(forward[: contact + 1]))
        if np.isfinite(forward[: contact + 1]).any()
        else stride
    )
    frames = {"stance": 0, "load": min(load, contact), "stride": min(stride, contact),
              "foot_plant": min(plant, contact), "contact": contact, "follow_through": end}  # fmt: skip
    times = {k: body.seconds(v) for k, v in frames.items()}
    conf = {"phases": 0.7, "handedness": 0.9 if apart >= FEET_APART else 0.3}
    return BaseballSwingPhases(frames, times, front, body.fps, conf)


def _ankles(body: Body, prm: BaseballParams) -> dict[str, np.ndarray]:
    """Smoothed 2D ankle paths in torso lengths."""
    torso = np.nanmedian(body.torso_length())
    return {s: np.stack([smooth(body.p[:, J[f"{s.upper()}_ANKLE"], c], body.fps, prm.foot_smooth_s)
                         for c in range(2)], axis=1) / torso for s in ("left", "right")}  # fmt: skip


def _pitcher_side(path: HandsPath, fastest: int) -> float:
    """+1 when the pitcher is towards +x (image right), -1 towards -x: before the swing a
    batter holds the hands back, behind the hips, away from the pitcher."""
    before = path.pos[: max(3, fastest - 2), 0]
    return -1.0 if np.nanmedian(before) > 0 else 1.0


def _front_foot(ankles: dict[str, np.ndarray], until: int, to_pitcher: float) -> tuple[str, float]:
    """The front foot, and how clearly the feet are apart along the image x in torso lengths.
    The front foot lifts and steps while the back foot only pivots, so where one ankle's path
    up to ``until`` is ``FRONT_FOOT_TRAVEL`` times the other's, it is that one. Otherwise,
    feet apart (a side view): the ankle nearer the pitcher in the stance; feet overlapping (a
    camera behind the pitcher or catcher, where "nearer the pitcher" is a coin toss): the
    ankle whose path is longer (on 337 such views of fresh synthesized swings: right on 312,
    where the pitcher's side was on 165; docs/issue10/session37/front_foot). The pitcher's
    side was wrong on 8 of 88 data-engine 3D swings whose hands were held near the hips'
    line (docs/issue10/session41/stride)."""
    n = max(3, until // 2)
    x = {s: float(np.nanmedian(a[:n, 0])) for s, a in ankles.items()}
    apart = abs(x["left"] - x["right"])
    path = {s: float(np.nansum(np.linalg.norm(np.diff(a[: until + 1], axis=0), axis=1)))
            for s, a in ankles.items()}  # fmt: skip
    longer = max(path, key=lambda s: path[s])
    clear = path[longer] >= FRONT_FOOT_TRAVEL * min(path.values())
    if apart >= FEET_APART and not clear:
        return max(x, key=lambda s: x[s] * to_pitcher), apart
    return longer, apart


def _drive_start(path: HandsPath, fastest: int, prm: BaseballParams) -> int:
    """The first frame of the swing's drive: the hands move at least ``drive_fraction`` of their
    peak speed from there to ``fastest``. The front foot turns with the hips during the drive,
    and that move was taken for the stride (late on 44 of 150 data-engine swings;
    docs/issue10/session41/stride)."""
    return _rise(path.speed, fastest, prm.drive_fraction * path.speed[fastest])


def _rise(speed: np.ndarray, frame: int, level: float) -> int:
    """Back from ``frame`` to the first frame of its run with ``speed`` at or above ``level``."""
    while frame > 0 and not speed[frame - 1] < level:
        frame -= 1
    return frame


def _fall(speed: np.ndarray, frame: int, level: float, stop: int) -> int:
    """On from ``frame`` to the first frame with ``speed`` below ``level`` (``stop`` at the
    latest)."""
    while frame < stop and not speed[frame] < level:
        frame += 1
    return frame


def _stride(front: np.ndarray, fps: float, until: int, prm: BaseballParams) -> tuple[int, int]:
    """(stride start, foot plant) around the front ankle's last speed peak before ``until``
    that reaches ``step_fraction`` of its largest: where its speed rises past ``move_fraction``
    of that peak, and where it falls back below it. A leg lift before the step is often the
    faster move, and the largest peak took it for the stride (docs/issue10/session39/stride)."""
    speed = np.linalg.norm(np.gradient(front, axis=0), axis=1) * fps
    fpeak = _last_peak(np.nan_to_num(speed[: until + 1]), prm.step_fraction)
    level = prm.move_fraction * speed[fpeak]
    return _rise(speed, fpeak, level), _fall(speed, fpeak, level, until)


def _last_peak(speed: np.ndarray, fraction: float) -> int:
    """The last local maximum of ``speed`` that reaches ``fraction`` of its largest (0 if
    empty)."""
    if not len(speed):
        return 0
    big = speed >= fraction * speed.max()
    rising = np.r_[True, speed[1:] >= speed[:-1]]
    falling = np.r_[speed[:-1] >= speed[1:], True]
    return int(np.flatnonzero(big & rising & falling)[-1])


def _contact(forward: np.ndarray, fps: float, stride: int, prm: BaseballParams) -> int:
    """Contact: after the stride starts, the frame where the hands drive towards the pitcher
    fastest (the bat meets the ball in that drive, before the hands wrap around)."""
    drive = np.gradient(smooth(forward, fps, prm.smooth_s)) * fps
    after = drive[stride:]
    if not np.isfinite(after).any():
        return stride
    return stride + int(np.nanargmax(after))
