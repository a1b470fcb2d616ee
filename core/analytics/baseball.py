"""Baseball swing phases from the hands' and feet's paths.

Phases (each event is the frame where the phase starts):

* stance: the clip's start, batter set;
* load: hands at their furthest point back (away from the pitcher) before the swing;
* stride: the front foot starts moving (its speed first passes ``move_fraction`` of its peak);
* foot_plant: the front foot lands (its speed falls back below that level after the peak);
* contact: the hands' peak speed (the bat's fastest moment is at or just after it);
* follow_through: ends where the hands slow below ``end_fraction`` of their peak speed.

The front foot is the ankle that travels furthest before contact; the pitcher lies in the
direction from the back ankle to the front ankle. A PoseTrack uses its 2D image paths
(steadier than 3D, and the swing's timing needs no depth).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.errors import InputError
from core.motion import Motion, PoseTrack
from core.skeleton import Joint as J

from .angles import body_of, require_joints
from .golf import hands_path
from .signal import smooth

BASEBALL_EVENTS = ("stance", "load", "stride", "foot_plant", "contact", "follow_through")


@dataclass(frozen=True)
class BaseballParams:
    """Tunable thresholds of :func:`baseball_swing_phases`."""

    move_fraction: float = 0.25
    end_fraction: float = 0.2
    smooth_s: float = 0.1
    min_hand_speed: float = 2.0  # torso lengths / s a real swing's hands exceed

    def __post_init__(self) -> None:
        for name in ("move_fraction", "end_fraction"):
            if not 0.0 < getattr(self, name) < 1.0:
                raise ValueError(f"{name}: must be in (0, 1), got {getattr(self, name)}")


@dataclass(frozen=True)
class BaseballSwingPhases:
    """Start frame and time of each swing phase."""

    frames: dict[str, int]
    times: dict[str, float]
    front_foot: str
    fps: float

    @property
    def stride_to_contact_s(self) -> float:
        return self.times["contact"] - self.times["stride"]

    def __str__(self) -> str:
        t, f = self.times, self.frames
        return (f"Baseball swing: load {t['load']:.2f} s (frame {f['load']}), stride "
                f"{t['stride']:.2f} s, foot plant {t['foot_plant']:.2f} s (frame {f['foot_plant']}), "
                f"contact {t['contact']:.2f} s (frame {f['contact']}), {self.front_foot} foot in front")  # fmt: skip


def baseball_swing_phases(
    track_or_motion: PoseTrack | Motion, *, params: BaseballParams | None = None
) -> BaseballSwingPhases:
    """Stance, load, stride, foot plant, contact and follow-through of the main swing."""
    prm = params or BaseballParams()
    body = body_of(track_or_motion, prefer_3d=False, min_visibility=1e-3)
    require_joints(body, (J.LEFT_ANKLE, J.RIGHT_ANKLE), "baseball_swing_phases")
    path = hands_path(body, prm.smooth_s)
    peak = float(np.nanmax(path.speed)) if np.isfinite(path.speed).any() else 0.0
    if peak < prm.min_hand_speed:
        raise InputError(
            f"no swing found: the hands peak at {peak:.1f} torso lengths/s (a swing exceeds "
            f"{prm.min_hand_speed}). Check the clip shows the whole swing with the hands visible."
        )
    contact = int(np.nanargmax(path.speed))
    end = contact
    while end < body.num_frames - 1 and not path.speed[end] < prm.end_fraction * peak:
        end += 1

    hip = body.mid(J.LEFT_HIP, J.RIGHT_HIP)
    torso = np.nanmedian(np.linalg.norm(body.mid(J.LEFT_SHOULDER, J.RIGHT_SHOULDER) - hip, axis=1))
    ankles = {s: np.stack([smooth(body.p[:, J[f"{s.upper()}_ANKLE"], c], body.fps, prm.smooth_s)
                           for c in range(2)], axis=1) / torso for s in ("left", "right")}  # fmt: skip
    travel = {
        s: np.nansum(np.linalg.norm(np.diff(a[: contact + 1], axis=0), axis=1))
        for s, a in ankles.items()
    }
    front = max(travel, key=travel.get)
    back = "right" if front == "left" else "left"
    speed = np.linalg.norm(np.gradient(ankles[front], axis=0), axis=1) * body.fps
    fpeak = int(np.nanargmax(speed[: contact + 1]))
    level = prm.move_fraction * speed[fpeak]
    stride = fpeak
    while stride > 0 and not speed[stride - 1] < level:
        stride -= 1
    plant = fpeak
    while plant < contact and not speed[plant] < level:
        plant += 1

    to_pitcher = ankles[front][plant] - ankles[back][plant]
    to_pitcher = to_pitcher / (np.linalg.norm(to_pitcher) + 1e-9)
    hands_fwd = (path.pos[: contact + 1, :2]) @ to_pitcher
    load = int(np.nanargmin(hands_fwd)) if np.isfinite(hands_fwd).any() else stride
    frames = {"stance": 0, "load": min(load, contact), "stride": min(stride, contact),
              "foot_plant": min(plant, contact), "contact": contact, "follow_through": end}  # fmt: skip
    times = {k: body.seconds(v) for k, v in frames.items()}
    return BaseballSwingPhases(frames, times, front, body.fps)
