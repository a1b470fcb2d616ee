"""Golf swing events (GolfDB's eight) and tempo from the hands' path.

Method (works for down-the-line and face-on views, 2D or 3D, either handedness, because the
hands' *height* rises and falls the same way in every view):

1. Hands = wrist midpoint; height ``h`` = hands above the hip midpoint in torso lengths, and
   speed in torso lengths per second, both smoothed. A PoseTrack uses its 2D image path
   (image landmarks are steadier than MediaPipe's 3D wrists, and height needs no depth).
2. Swings (:func:`find_swings`): "high" = above 50% of the clip's height range, "low" =
   below 30%. Each fall from a high run to low that is faster than the rise before it is a
   swing (a downswing is shorter than its backswing; the hands lowered after a finish fall
   slowly), and the high run right after a swing's impact is its finish, never a new top.
   The main swing (:func:`main_swing`) is the first one at least half as fast as the
   fastest (a slow-motion replay is slower). A clip may start at the top (no address).
3. Top = the start of the downswing: the last frame before the hands' fastest fall where
   they fall slower than ``top_fall_fraction`` of that speed (in slow motion the hands hover
   at the top while the club finishes loading); impact = lowest hands after the fall.
4. Address = the hands' lowest point between the last still moment before the takeaway
   (hands within ``hold_tolerance`` for half a downswing's duration) and their rise.
5. Finish = in the longest stretch after impact where the hands stay within
   ``hold_tolerance`` torso lengths for half a downswing's duration (the held final pose),
   the first frame with the hands within half that tolerance of the pose's median position.
6. Toe-up / mid-backswing / mid-downswing / mid-follow-through are where the hands pass set
   fractions of their rise (approximations of "shaft parallel" and "lead arm parallel").

Tempo = (top - address) / (impact - top), the backswing : downswing duration ratio (NaN
without an address). Slow motion (:func:`slow_motion_factor`): a real downswing lasts
0.2-0.35 s; a measured one over 0.4 s means the clip plays slower, by about downswing /
0.275 s. View, handedness and the key angles the view can show: ``golf_view.py``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.errors import InputError
from core.motion import Motion, PoseTrack
from core.skeleton import Joint as J

from .angles import Body, body_of, require_joints
from .golf_view import Judgement, handedness_judgement, key_angles, view_judgement
from .signal import runs, smooth

REAL_DOWNSWING_S = (0.2, 0.35)  # top to impact of real golf swings, seconds
# A measured downswing longer than this is slow motion: above the real range with room for the
# detector's error (on synthetic real-time swings it finds 0.17-0.23 s for 0.2-0.3 s).
SLOW_MOTION_MIN_S = 0.4
GOLF_EVENTS = ("address", "toe_up", "mid_backswing", "top", "mid_downswing", "impact",
               "mid_follow_through", "finish")  # fmt: skip
# Each phase runs from its first event to its second (the data engine asks about the same
# spans, so a fact and a question never disagree on where the backswing starts).
GOLF_PHASES = (("setup", "address", "toe_up"), ("backswing", "toe_up", "top"),
               ("downswing", "top", "impact"), ("follow-through", "impact", "finish"))  # fmt: skip


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
    top_fall_fraction: float = 0.05  # the downswing starts when the hands fall this fast

    def __post_init__(self) -> None:
        for name in ("high_fraction", "dip_fraction", "toe_up_fraction",
                     "mid_backswing_fraction", "mid_downswing_fraction", "mid_follow_fraction",
                     "top_fall_fraction"):  # fmt: skip
            if not 0.0 < getattr(self, name) < 1.0:
                raise ValueError(f"{name}: must be in (0, 1), got {getattr(self, name)}")
        if self.hold_tolerance <= 0 or self.smooth_s <= 0:
            raise ValueError("hold_tolerance and smooth_s must be positive")


@dataclass(frozen=True)
class GolfSwingEvents:
    """GolfDB's events of the main swing (those the clip shows), tempo, view, handedness,
    slow motion, key angles, and a confidence in [0, 1] for each of them."""

    frames: dict[str, int]
    times: dict[str, float]
    tempo: float  # backswing : downswing on screen; NaN when the address is not in the clip
    view: str
    handedness: str
    fps: float
    key_angles: dict[str, float] = field(default_factory=dict)
    swings: int = 1  # swings found in the clip (replays and practice swings included)
    slow_motion: float = 1.0  # playback is this many times slower than real time (1: real time)
    confidence: dict[str, float] = field(default_factory=dict)  # "events", "view", ... key angles
    unseen: tuple[str, ...] = ()  # key angles the view cannot show

    @property
    def backswing_s(self) -> float:
        """Address to top, clip seconds (NaN when the address is not in the clip)."""
        return self.times["top"] - self.times.get("address", float("nan"))

    @property
    def downswing_s(self) -> float:
        return self.times["impact"] - self.times["top"]

    @property
    def swing_s(self) -> float:
        """Address to finish, clip seconds (NaN when the clip lacks either)."""
        return self.times.get("finish", float("nan")) - self.times.get("address", float("nan"))

    def phase_spans(self) -> list[tuple[str, float, float]]:
        """(phase, start s, end s) of each of GOLF_PHASES whose two events the clip shows."""
        t = self.times
        return [(name, t[a], t[b]) for name, a, b in GOLF_PHASES if a in t and b in t]

    def __str__(self) -> str:
        f, t = self.frames, self.times
        parts = [f"{k.replace('_', ' ')} {t[k]:.2f} s (frame {f[k]})"
                 for k in ("address", "top", "impact", "finish") if k in f]  # fmt: skip
        speed = f", about {self.slow_motion:.1f}x slow motion" if self.slow_motion > 1 else ""
        return (f"Golf swing ({self.view}, {self.handedness}-handed{speed}): " + ", ".join(parts)
                + f"; tempo {self.tempo:.1f} : 1; {self.swings} swing(s) in the clip")  # fmt: skip


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
    torso = np.nanmedian(body.torso_length())
    rel = (body.mid(J.LEFT_WRIST, J.RIGHT_WRIST) - hip) / torso
    dims = 3 if body.is3d else 2
    pos = np.stack([smooth(rel[:, c], body.fps, smooth_s) for c in range(dims)], axis=1)
    speed = np.linalg.norm(np.gradient(pos, axis=0), axis=1) * body.fps
    return HandsPath(pos[:, 1], smooth(speed, body.fps, smooth_s), pos, body.fps)


@dataclass(frozen=True)
class Swing:
    """One swing found in the hands' path: frames of its top and impact, whether its
    backswing and follow-through are in the clip, and its peak downswing speed."""

    top: int
    impact: int
    rise_start: int | None  # last low frame before the backswing (None: clip starts high)
    follow_start: int | None  # first frame of the high run after impact (None: not seen)
    descent_speed: float  # torso lengths / s, fastest fall of the hands


def find_swings(path: HandsPath, prm: GolfParams) -> list[Swing]:
    """Every swing in the clip, in order: the hands fall from high (above ``high_fraction``
    of their range) to low (below ``dip_fraction``) faster than they rose before it (a
    downswing is shorter than its backswing; a slow lowering after the finish is not), and
    the high run right after a swing's impact is its finish, never the next swing's top."""
    h = path.height
    lo, hi = np.nanpercentile(h, 5), np.nanmax(h)
    rng = hi - lo
    if not np.isfinite(rng) or rng < 0.5:
        raise InputError(
            "no golf swing found: the hands never rise clearly above the hips. Check the clip "
            "shows a full swing with the hands visible."
        )
    filled = np.nan_to_num(h, nan=lo)
    high, low = filled > lo + prm.high_fraction * rng, filled <= lo + prm.dip_fraction * rng
    fall = -np.gradient(filled) * path.fps
    swings: list[Swing] = []
    finish_run = -1  # the high run after a swing's impact is its finish, not a new top
    for k, (a0, a1) in enumerate(runs(high)):
        below = np.flatnonzero(low[a1:])
        if k == finish_run or below.size == 0:
            continue  # a finish (the hands may drop from it), or they never come down again
        down_end = a1 + int(below[0])  # first low frame after the high run
        back = np.flatnonzero(low[:a0])
        rise_start = int(back[-1]) if back.size else None
        if rise_start is not None and (down_end - a1) >= (a0 - rise_start):
            continue  # fell slower than it rose: the hands lowered after a finish
        nxt = np.flatnonzero(high[down_end:])
        stop = down_end + int(nxt[0]) if nxt.size else h.size
        impact = a1 + int(np.nanargmin(h[a1:stop]))
        peak = a0 + int(np.argmax(fall[a0 : impact + 1]))
        top = _downswing_start(fall, a0, peak, prm.top_fall_fraction)
        follow = stop if nxt.size else None
        swings.append(Swing(top, impact, rise_start, follow, float(fall[peak])))
        finish_run = k + 1
    if not swings:
        raise InputError(
            "no complete golf swing found (backswing, downswing and follow-through). Trim the "
            "clip to one whole swing from address to finish."
        )
    return swings


def _downswing_start(fall: np.ndarray, start: int, peak: int, fraction: float) -> int:
    """Top of the backswing: walking back from the fastest fall, the last frame where the
    hands were not yet falling at ``fraction`` of that speed (the club changes direction)."""
    level = fraction * fall[peak]
    i = peak
    while i > start and fall[i - 1] >= level:
        i -= 1
    return i


def main_swing(swings: list[Swing]) -> Swing:
    """The first swing whose downswing is at least half as fast as the fastest (a replay in
    slow motion or a lowering of the club is slower; a repeat at full speed comes later)."""
    fastest = max(s.descent_speed for s in swings)
    return next(s for s in swings if s.descent_speed >= 0.5 * fastest)


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


def _finish(
    path: HandsPath, impact: int, run_start: int, hold: int, prm: GolfParams, end: int
) -> int:
    """Start of the longest still stretch after impact and before ``end`` (the held final
    pose)."""
    n = end
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


def _finish_end(h: np.ndarray, swing: Swing) -> int:
    """Where the finish pose must have ended: the hands back down near address height (a
    replay or the next swing starts there), else the clip's end."""
    if swing.follow_start is None:
        return h.size
    lo = np.nanpercentile(h, 5)
    low = np.flatnonzero(
        np.nan_to_num(h[swing.follow_start :], nan=np.inf) <= lo + 0.3 * (np.nanmax(h) - lo)
    )
    return swing.follow_start + int(low[0]) if low.size else h.size


def find_golf_frames(
    path: HandsPath, prm: GolfParams, swings: list[Swing] | None = None
) -> dict[str, int]:
    """Frame index of each GolfDB event of the main swing (see :func:`main_swing`); events
    the clip does not show (a clip that starts at the top has no address) are left out."""
    swings = swings if swings is not None else find_swings(path, prm)
    swing = main_swing(swings)
    top, impact, h = swing.top, swing.impact, path.height
    end = _finish_end(h, swing)
    hold = max(2, (impact - top) // 2)
    out = {"top": top, "impact": impact}
    base = h[impact]
    if swing.rise_start is not None:
        address = _address(path, top, hold, prm)
        base, rise = h[address], h[top] - h[address]
        out["address"] = address
        out["toe_up"] = _crossing(h, address, top, base + prm.toe_up_fraction * rise, True)
        out["mid_backswing"] = _crossing(
            h, address, top, base + prm.mid_backswing_fraction * rise, True
        )
    level = base + prm.mid_downswing_fraction * (h[top] - base)
    out["mid_downswing"] = _crossing(h, top, impact, level, False)
    if swing.follow_start is not None and swing.follow_start < end:
        finish = _finish(path, impact, swing.follow_start, hold, prm, end)
        follow = np.nanmax(h[impact : finish + 1]) - h[impact]
        level = h[impact] + prm.mid_follow_fraction * follow
        out["mid_follow_through"] = _crossing(h, impact, finish, level, True)
        out["finish"] = finish
    return {k: out[k] for k in GOLF_EVENTS if k in out}


def slow_motion_factor(downswing_s: float) -> float:
    """How many times slower than real time the clip plays, from its downswing: a real one
    lasts ``REAL_DOWNSWING_S`` (0.2-0.35 s). 1.0 when the downswing fits real time."""
    lo, hi = REAL_DOWNSWING_S
    if not np.isfinite(downswing_s) or downswing_s <= SLOW_MOTION_MIN_S:
        return 1.0
    return round(float(downswing_s / (0.5 * (lo + hi))), 1)


def golf_swing_events(
    track_or_motion: PoseTrack | Motion,
    *,
    view: str | None = None,
    handedness: str | None = None,
    params: GolfParams | None = None,
) -> GolfSwingEvents:
    """GolfDB's swing events, tempo, view, handedness, slow motion and key angles of the main
    swing in a clip (see :func:`find_swings`, :func:`main_swing`, ``golf_view``)."""
    prm = params or GolfParams()
    if view not in (None, "face_on", "down_the_line"):
        raise InputError(f"view must be 'face_on' or 'down_the_line', got {view!r}")
    if handedness not in (None, "left", "right"):
        raise InputError(f"handedness must be 'left' or 'right', got {handedness!r}")
    path_body = body_of(track_or_motion, prefer_3d=False, min_visibility=1e-3)
    path = hands_path(path_body, prm.smooth_s)
    swings = find_swings(path, prm)
    frames = find_golf_frames(path, prm, swings)
    seen_view = (
        Judgement(view, 1.0) if view else view_judgement(track_or_motion, frames.get("address"))
    )
    hand = (Judgement(handedness, 1.0) if handedness
            else handedness_judgement(track_or_motion, frames, seen_view.value))  # fmt: skip
    times = {k: path_body.seconds(v) for k, v in frames.items()}
    down = frames["impact"] - frames["top"]
    tempo = (
        (frames["top"] - frames["address"]) / max(1, down) if "address" in frames else float("nan")
    )
    angles = key_angles(track_or_motion, frames, hand.value, seen_view.value)
    complete = "address" in frames and "finish" in frames
    conf = {"events": round((0.8 if complete else 0.5) * (1.0 if len(swings) == 1 else 0.8), 3),
            "view": seen_view.confidence, "handedness": hand.confidence, **angles.confidence}  # fmt: skip
    return GolfSwingEvents(frames, times, float(tempo), seen_view.value, hand.value, path_body.fps,
                           angles.values, len(swings), slow_motion_factor(down / path_body.fps),
                           conf, angles.unseen)  # fmt: skip


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
