"""Golf swing events (GolfDB's eight) and tempo from the hands' path.

Method (works for down-the-line and face-on views, 2D or 3D, either handedness, because the
hands' *height* rises and falls the same way in every view):

1. Hands = wrist midpoint; height ``h`` = hands above the hip midpoint in torso lengths, and
   speed in torso lengths per second, both smoothed. A PoseTrack uses its 2D image path
   (image landmarks are steadier than MediaPipe's 3D wrists, and height needs no depth).
2. "High" = above 50% of the clip's height range. The swing is a high run (backswing top)
   followed by a dip (impact) and another high run (finish); with several candidates (practice
   swings) the one with the fastest hands in the dip wins.
3. Top = highest hands in the first run; impact = lowest hands in the dip.
4. Address = the hands' lowest point between the last still moment before the takeaway
   (hands within ``hold_tolerance`` for half a downswing's duration) and their rise.
5. Finish = in the longest stretch after impact where the hands stay within
   ``hold_tolerance`` torso lengths for half a downswing's duration (the held final pose),
   the first frame with the hands within half that tolerance of the pose's median position.
6. Toe-up / mid-backswing / mid-downswing / mid-follow-through are where the hands pass set
   fractions of their rise (approximations of "shaft parallel" and "lead arm parallel").

Tempo = (top - address) / (impact - top), the backswing : downswing duration ratio.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.errors import InputError
from core.motion import Motion, PoseTrack
from core.skeleton import Joint as J

from .angles import Body, body_of, joint_angles, require_joints
from .signal import runs, smooth

GOLF_EVENTS = ("address", "toe_up", "mid_backswing", "top", "mid_downswing", "impact",
               "mid_follow_through", "finish")  # fmt: skip


@dataclass(frozen=True)
class GolfParams:
    """Tunable thresholds of :func:`golf_swing_events` (see module doc)."""

    high_fraction: float = 0.5
    dip_fraction: float = 0.3
    hold_tolerance: float = 0.08
    toe_up_fraction: float = 0.3
    mid_backswing_fraction: float = 0.6
    mid_downswing_fraction: float = 0.6
    mid_follow_fraction: float = 0.3
    smooth_s: float = 0.12

    def __post_init__(self) -> None:
        for name in ("high_fraction", "dip_fraction", "toe_up_fraction",
                     "mid_backswing_fraction", "mid_downswing_fraction", "mid_follow_fraction"):  # fmt: skip
            if not 0.0 < getattr(self, name) < 1.0:
                raise ValueError(f"{name}: must be in (0, 1), got {getattr(self, name)}")
        if self.hold_tolerance <= 0 or self.smooth_s <= 0:
            raise ValueError("hold_tolerance and smooth_s must be positive")


@dataclass(frozen=True)
class GolfSwingEvents:
    """The eight GolfDB events of one swing, with tempo and key angles."""

    frames: dict[str, int]
    times: dict[str, float]
    tempo: float
    view: str
    handedness: str
    fps: float
    key_angles: dict[str, float] = field(default_factory=dict)

    @property
    def backswing_s(self) -> float:
        return self.times["top"] - self.times["address"]

    @property
    def downswing_s(self) -> float:
        return self.times["impact"] - self.times["top"]

    def __str__(self) -> str:
        f, t = self.frames, self.times
        return (f"Golf swing ({self.view}, {self.handedness}-handed): address {t['address']:.2f} s "
                f"(frame {f['address']}), top {t['top']:.2f} s (frame {f['top']}), impact "
                f"{t['impact']:.2f} s (frame {f['impact']}), finish {t['finish']:.2f} s "
                f"(frame {f['finish']}); tempo {self.tempo:.1f} : 1")  # fmt: skip


@dataclass(frozen=True)
class HandsPath:
    """Smoothed hands height (torso lengths above the hips) and speed (torso lengths / s)."""

    height: np.ndarray
    speed: np.ndarray
    pos: np.ndarray  # (T, 2 or 3) hands relative to the hips, torso lengths
    fps: float


def hands_path(body: Body, smooth_s: float = 0.12) -> HandsPath:
    """Hands (wrist midpoint) relative to the hip midpoint, scaled by the torso length."""
    require_joints(body, (J.LEFT_WRIST, J.RIGHT_WRIST, J.LEFT_HIP, J.RIGHT_HIP,
                          J.LEFT_SHOULDER, J.RIGHT_SHOULDER), "the hands' path")  # fmt: skip
    hip = body.mid(J.LEFT_HIP, J.RIGHT_HIP)
    torso = np.nanmedian(np.linalg.norm(body.mid(J.LEFT_SHOULDER, J.RIGHT_SHOULDER) - hip, axis=1))
    rel = (body.mid(J.LEFT_WRIST, J.RIGHT_WRIST) - hip) / torso
    dims = 3 if body.is3d else 2
    pos = np.stack([smooth(rel[:, c], body.fps, smooth_s) for c in range(dims)], axis=1)
    speed = np.linalg.norm(np.gradient(pos, axis=0), axis=1) * body.fps
    return HandsPath(pos[:, 1], smooth(speed, body.fps, smooth_s), pos, body.fps)


def _swing_core(path: HandsPath, prm: GolfParams) -> tuple[int, int, int]:
    """(top, impact, index after which the finish run starts) of the most vigorous swing."""
    h = path.height
    lo, hi = np.nanpercentile(h, 5), np.nanmax(h)
    rng = hi - lo
    if not np.isfinite(rng) or rng < 0.5:
        raise InputError(
            "no golf swing found: the hands never rise clearly above the hips. Check the clip "
            "shows a full swing with the hands visible."
        )
    high = runs(np.nan_to_num(h, nan=lo) > lo + prm.high_fraction * rng)
    best: tuple[float, int, int, int] | None = None
    for (a0, a1), (b0, _) in zip(high[:-1], high[1:], strict=True):
        dip = np.arange(a1, b0)
        if dip.size == 0 or np.nanmin(h[dip]) > lo + prm.dip_fraction * rng:
            continue  # the hands never came back down: not a downswing
        top = a0 + int(np.nanargmax(h[a0:a1]))
        impact = a1 + int(np.nanargmin(h[a1:b0]))
        vigour = float(np.nanmax(path.speed[top : impact + 1]))
        if best is None or vigour > best[0]:
            best = (vigour, top, impact, b0)
    if best is None:
        raise InputError(
            "no complete golf swing found (backswing, downswing and follow-through). Trim the "
            "clip to one whole swing from address to finish."
        )
    return best[1], best[2], best[3]


def _still(pos: np.ndarray, i: int, j: int, tol: float) -> bool:
    """True when the hands stay within ``tol`` of their position at ``i`` over ``[i, j]``."""
    lo, hi = min(i, j), max(i, j)
    window = pos[max(0, lo) : hi + 1]
    return bool(np.isfinite(window).all() and np.linalg.norm(window - pos[i], axis=1).max() < tol)


def _address(path: HandsPath, top: int, hold: int, prm: GolfParams) -> int:
    """Lowest hands between the last still moment before the takeaway and the rise."""
    h = path.height
    lo = np.nanpercentile(h, 5)
    low_level = lo + prm.dip_fraction * (h[top] - lo)
    rise = top
    while rise > 0 and not h[rise] <= low_level:  # back down to address height
        rise -= 1
    still = rise
    while still > 0 and not _still(path.pos, still, still - hold, prm.hold_tolerance):
        still -= 1
    start = max(0, still - hold)  # the hands may sink a little as the club starts back
    seg = h[start : rise + 1]
    return start + int(np.nanargmin(seg)) if np.isfinite(seg).any() else still


def _finish(path: HandsPath, impact: int, run_start: int, hold: int, prm: GolfParams) -> int:
    """Start of the longest still stretch after impact (the held final pose)."""
    n = path.height.size
    still = np.array([_still(path.pos, i, min(n - 1, i + hold), prm.hold_tolerance)
                      for i in range(run_start, n)])  # fmt: skip
    stretches = runs(still)
    if not stretches:
        peak = run_start + int(np.nanargmax(path.height[run_start:]))
        return max(peak, impact + 1)
    start, stop = max(stretches, key=lambda r: r[1] - r[0])
    start, stop = run_start + start, min(n, run_start + stop + hold)
    # The hands drift into the pose: finish is when they reach the held position itself.
    ref = np.nanmedian(path.pos[start:stop], axis=0)
    near = np.linalg.norm(path.pos[start:stop] - ref, axis=1) < prm.hold_tolerance / 2
    return start + int(np.argmax(near)) if near.any() else start


def _crossing(h: np.ndarray, start: int, stop: int, level: float, rising: bool) -> int:
    """First frame in [start, stop) where ``h`` passes ``level`` (up or down)."""
    for i in range(start, stop):
        if (h[i] >= level) if rising else (h[i] <= level):
            return i
    return stop


def find_golf_frames(path: HandsPath, prm: GolfParams) -> dict[str, int]:
    """Frame index of each GolfDB event from the hands' path."""
    top, impact, run_start = _swing_core(path, prm)
    hold = max(2, (impact - top) // 2)
    address = _address(path, top, hold, prm)
    finish = _finish(path, impact, run_start, hold, prm)
    h = path.height
    rise = h[top] - h[address]
    follow = np.nanmax(h[impact : finish + 1]) - h[impact]
    return {
        "address": address,
        "toe_up": _crossing(h, address, top, h[address] + prm.toe_up_fraction * rise, True),
        "mid_backswing": _crossing(
            h, address, top, h[address] + prm.mid_backswing_fraction * rise, True
        ),
        "top": top,
        "mid_downswing": _crossing(
            h, top, impact, h[address] + prm.mid_downswing_fraction * rise, False
        ),
        "impact": impact,
        "mid_follow_through": _crossing(
            h, impact, finish, h[impact] + prm.mid_follow_fraction * follow, True
        ),
        "finish": finish,
    }


def detect_view(track_or_motion: PoseTrack | Motion) -> str:
    """``"face_on"`` or ``"down_the_line"``: how the body faces the camera at the start.

    3D: the body's forward axis points at the camera (face-on) or across it. 2D: shoulders
    look wide (face-on) or narrow relative to the torso.
    """
    body = body_of(track_or_motion)
    n = max(3, body.num_frames // 5)  # the opening fifth: address / stance
    ls, rs = body.p[:n, J.LEFT_SHOULDER], body.p[:n, J.RIGHT_SHOULDER]
    lh, rh = body.p[:n, J.LEFT_HIP], body.p[:n, J.RIGHT_HIP]
    lat = np.nanmedian((ls - rs) + (lh - rh), axis=0)
    if body.is3d:
        return "face_on" if abs(lat[0]) > abs(lat[2]) else "down_the_line"
    torso = np.nanmedian(np.linalg.norm(0.5 * (ls + rs - lh - rh), axis=1))
    width = np.nanmedian(np.linalg.norm(ls - rs, axis=1))
    return "face_on" if width > 0.45 * torso else "down_the_line"


def detect_handedness(track_or_motion: PoseTrack | Motion, top: int, view: str) -> str:
    """``"right"`` or ``"left"``-handed golfer.

    3D: the hands sit on the body's right (trail) side at the top of the backswing. 2D
    face-on: the same seen in the image (the golfer's right is the image's left). 2D
    down-the-line: a right-hander faces the image's right (target away from the camera).
    """
    body = body_of(track_or_motion)
    n = max(3, body.num_frames // 5)
    if not body.is3d and view == "down_the_line":
        face = body.p[:n, J.NOSE, 0] - body.mid(J.LEFT_SHOULDER, J.RIGHT_SHOULDER)[:n, 0]
        return "right" if np.nanmedian(face) > 0 else "left"
    hip = body.mid(J.LEFT_HIP, J.RIGHT_HIP)
    hands = body.mid(J.LEFT_WRIST, J.RIGHT_WRIST)
    lo, hi = max(0, top - 2), min(body.num_frames, top + 3)
    offset = np.nanmedian(hands[lo:hi] - hip[lo:hi], axis=0)
    if not body.is3d:
        return "right" if offset[0] < 0 else "left"
    lat = body.p[:n, J.LEFT_SHOULDER] - body.p[:n, J.RIGHT_SHOULDER]
    left_axis = np.nanmedian(lat, axis=0)  # the body's left at address, before it turns
    left_axis[1] = 0.0  # only the horizontal left-right direction tells the sides apart
    return "left" if offset @ left_axis > 0 else "right"


def golf_swing_events(
    track_or_motion: PoseTrack | Motion,
    *,
    view: str | None = None,
    handedness: str | None = None,
    params: GolfParams | None = None,
) -> GolfSwingEvents:
    """GolfDB's eight swing events, tempo and key angles of the main swing in a clip."""
    prm = params or GolfParams()
    if view not in (None, "face_on", "down_the_line"):
        raise InputError(f"view must be 'face_on' or 'down_the_line', got {view!r}")
    if handedness not in (None, "left", "right"):
        raise InputError(f"handedness must be 'left' or 'right', got {handedness!r}")
    path_body = body_of(track_or_motion, prefer_3d=False, min_visibility=1e-3)
    frames = find_golf_frames(hands_path(path_body, prm.smooth_s), prm)
    view = view or detect_view(track_or_motion)
    handedness = handedness or detect_handedness(track_or_motion, frames["top"], view)
    times = {k: path_body.seconds(v) for k, v in frames.items()}
    tempo = (frames["top"] - frames["address"]) / max(1, frames["impact"] - frames["top"])
    return GolfSwingEvents(frames, times, float(tempo), view, handedness, path_body.fps,
                           _key_angles(track_or_motion, frames, handedness))  # fmt: skip


def _key_angles(
    track_or_motion: PoseTrack | Motion, frames: dict[str, int], handedness: str
) -> dict[str, float]:
    """Spine angle at address and impact, lead arm at top, and (3D) turns at top."""
    ang = joint_angles(track_or_motion)
    lead = "left" if handedness == "right" else "right"
    out = {
        "spine_forward_at_address": float(ang["spine_forward"][frames["address"]]),
        "spine_forward_at_impact": float(ang["spine_forward"][frames["impact"]]),
        "lead_elbow_at_top": float(ang[f"{lead}_elbow"][frames["top"]]),
        "lead_knee_at_address": float(ang[f"{lead}_knee"][frames["address"]]),
    }
    if "shoulder_rotation" in ang:
        a, t = frames["address"], frames["top"]
        for part in ("shoulder", "hip"):
            turn = ang[f"{part}_rotation"][t] - ang[f"{part}_rotation"][a]
            out[f"{part}_turn_at_top"] = float(abs((turn + 180.0) % 360.0 - 180.0))
        out["x_factor_at_top"] = out["shoulder_turn_at_top"] - out["hip_turn_at_top"]
    return {k: v for k, v in out.items() if np.isfinite(v)}


@dataclass(frozen=True)
class GolfDBTempoStats:
    """Timing statistics of GolfDB's annotated swings."""

    n_swings: int
    median_tempo: float
    iqr_tempo: tuple[float, float]
    # median time of each event as a fraction of address -> finish
    event_fractions: dict[str, float]
    median_address_to_finish_s: float
    slow_motion: bool = False

    def __str__(self) -> str:
        kind = "slow-motion" if self.slow_motion else "real-time"
        return (f"GolfDB ({self.n_swings} {kind} swings): median tempo {self.median_tempo:.2f} : 1 "
                f"(IQR {self.iqr_tempo[0]:.2f}-{self.iqr_tempo[1]:.2f}), address to finish "
                f"{self.median_address_to_finish_s:.2f} s")  # fmt: skip


def golfdb_tempo_stats(
    csv_path: str | Path, *, slow: bool = False, fps: float = 30.0
) -> GolfDBTempoStats:
    """Tempo and event spacing from GolfDB's ``events`` column (real-time swings by default).

    ``events`` holds start, the eight events and end as frame numbers; durations in seconds
    assume GolfDB's ``fps`` (30).
    """
    path = Path(csv_path)
    if not path.is_file():
        raise InputError(f"{path}: GolfDB events CSV not found")
    with path.open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if r.get("slow", "").strip() == ("1" if slow else "0")]
    if not rows:
        raise InputError(f"{path}: no rows with slow == {int(slow)} (expected GolfDB's columns)")
    ev = np.array([[float(x) for x in r["events"].split()] for r in rows])  # (N, 10)
    if ev.ndim != 2 or ev.shape[1] != 10:
        raise InputError(f"{path}: 'events' must hold 10 numbers per row, got shape {ev.shape}")
    a, top, imp, fin = ev[:, 1], ev[:, 4], ev[:, 6], ev[:, 8]
    tempo = (top - a) / (imp - top)
    frac = (ev[:, 1:9] - a[:, None]) / (fin - a)[:, None]
    return GolfDBTempoStats(
        n_swings=len(rows),
        median_tempo=float(np.median(tempo)),
        iqr_tempo=(float(np.percentile(tempo, 25)), float(np.percentile(tempo, 75))),
        event_fractions={
            k: float(v) for k, v in zip(GOLF_EVENTS, np.median(frac, axis=0), strict=True)
        },
        median_address_to_finish_s=float(np.median(fin - a) / fps),
        slow_motion=slow,
    )
