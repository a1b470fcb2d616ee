"""Facts: plain-language lines about a clip, each with a confidence in [0, 1].

:data:`TRUST_THRESHOLD` is the one threshold: a fact below it is "unsure" - the UI greys it,
the CLI and report mark it " (unsure)", and the model's prompt leaves it out
(``MotionReport.prompt_facts``). What a view cannot show is stated as such (kind "limit"),
never given as a number.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.motion import Motion, PoseTrack
from core.skeleton import JOINT_ANGLES
from core.skeleton import Joint as J

from .baseball import BaseballSwingPhases
from .golf import GOLF_PHASES, REAL_DOWNSWING_S, GolfSwingEvents
from .reps import RepCount

TRUST_THRESHOLD = 0.5
# degrees: two sides' smallest angles closer than this are too close to call "which bends
# more" from a pose estimate (the analytics' comparison lines, the data engine's questions)
SIDE_MARGIN_DEG = 10.0
UNSURE_MARK = " (unsure)"
FACT_KINDS = ("activity", "view", "event", "tempo", "reps", "angle", "limit", "note", "moment",
              "form")  # fmt: skip
ANGLE_WORDS = {
    "lead_elbow_at_top": "the lead arm at the top",
    "shoulder_turn_at_top": "the shoulder turn",
    "hip_turn_at_top": "the hip turn",
}


@dataclass(frozen=True)
class Fact:
    """One line, how sure the analytics are of it, its kind (one of FACT_KINDS) and the clip
    time it is about. ``str()`` is the text, marked " (unsure)" below the threshold."""

    text: str
    confidence: float = 1.0
    kind: str = "note"
    time_s: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in FACT_KINDS:
            raise ValueError(f"kind: expected one of {FACT_KINDS}, got {self.kind!r}")

    @property
    def trusted(self) -> bool:
        return self.confidence >= TRUST_THRESHOLD

    def __str__(self) -> str:
        return self.text if self.trusted else self.text + UNSURE_MARK


def golf_facts(ev: GolfSwingEvents) -> list[Fact]:
    """View, handedness, swings found, slow motion, events, tempo and key angles. Event times
    have two decimals, as the model's answers and the baseball phases do, so an answer taken
    from the facts is the same string (with one decimal the model mixed its own viewpoint
    times with the facts' and once gave impact's time for the top)."""
    c, f, t = ev.confidence, ev.frames, ev.times
    sure = c.get("events", 0.8)
    out = [Fact(f"Filmed {ev.view.replace('_', '-')}.", c.get("view", 1.0), "view"),
           Fact(f"{ev.handedness.capitalize()}-handed golfer.", c.get("handedness", 1.0), "view")]  # fmt: skip
    if ev.swings > 1:
        out.append(Fact(f"{ev.swings} swings in the clip (replays or practice swings); the first "
                        "full-speed one is analysed.", 0.8, "note"))  # fmt: skip
    if ev.slow_motion > 1:
        lo, hi = REAL_DOWNSWING_S
        out.append(Fact(f"Slow motion: the downswing lasts {ev.downswing_s:.2f} s on screen and "
                        f"a real one {lo}-{hi} s, so the clip plays about {ev.slow_motion:.1f}x "
                        "slower than real time; times are clip times.", 0.8, "note"))  # fmt: skip
    if "address" in f:
        out.append(
            Fact(
                f"Address at {t['address']:.2f} s (frame {f['address']}).",
                sure,
                "event",
                t["address"],
            )
        )
    else:
        out.append(Fact("The clip starts after the address (no backswing to time).", 0.8, "limit"))
    out.append(
        Fact(f"Top of backswing at {t['top']:.2f} s (frame {f['top']}).", sure, "event", t["top"])
    )
    end = f"; finish at {t['finish']:.2f} s (frame {f['finish']})" if "finish" in f else ""
    out.append(
        Fact(
            f"Impact at {t['impact']:.2f} s (frame {f['impact']}){end}.", sure, "event", t["impact"]
        )
    )
    out += _tempo_facts(ev, sure) + _swing_facts(ev, sure)
    return out + _golf_angle_facts(ev)


def _tempo_facts(ev: GolfSwingEvents, sure: float) -> list[Fact]:
    if not np.isfinite(ev.tempo):
        return []
    timing = f"(backswing {ev.backswing_s:.2f} s, downswing {ev.downswing_s:.2f} s"
    if ev.slow_motion <= 1:
        return [Fact(f"Tempo {ev.tempo:.1f} : 1 {timing}).", 0.8 * sure, "tempo")]
    return [Fact("Real-time tempo cannot be measured from slow motion: the playback speed may "
                 "change during the swing.", 0.8, "limit"),
            Fact(f"Tempo on screen {ev.tempo:.1f} : 1 {timing} of clip time).", 0.3, "tempo")]  # fmt: skip


def _swing_facts(ev: GolfSwingEvents, sure: float) -> list[Fact]:
    """The phases as spans and the swing's length: what a coach asks ("which phase at 1.2 s?",
    "how long is my swing?"), stated so that no answer needs the model's arithmetic."""
    out = []
    spans = ev.phase_spans()
    if spans:
        text = ", ".join(f"{name} {a:.2f}-{b:.2f} s" for name, a, b in spans)
        out.append(Fact(f"Phases: {text}.", sure, "event", spans[0][1]))
    if np.isfinite(ev.swing_s):
        clock = " of clip time" if ev.slow_motion > 1 else ""
        out.append(Fact(f"Swing {ev.swing_s:.2f} s{clock} from address to finish.", sure, "tempo"))
    return out


def _golf_angle_facts(ev: GolfSwingEvents) -> list[Fact]:
    k, c = ev.key_angles, ev.confidence
    out = []
    if "spine_forward_at_address" in k and "spine_forward_at_impact" in k:
        conf = min(c.get("spine_forward_at_address", 0.5), c.get("spine_forward_at_impact", 0.5))
        out.append(Fact(f"Spine tilt {k['spine_forward_at_address']:.0f} deg at address and "
                        f"{k['spine_forward_at_impact']:.0f} deg at impact.", conf, "angle"))  # fmt: skip
    if "lead_elbow_at_top" in k:
        out.append(Fact(f"Lead arm at the top: elbow {k['lead_elbow_at_top']:.0f} deg (180 = straight).",
                        c.get("lead_elbow_at_top", 0.5), "angle"))  # fmt: skip
    if "shoulder_turn_at_top" in k and "hip_turn_at_top" in k:
        out.append(Fact(f"At the top the shoulders turned {k['shoulder_turn_at_top']:.0f} deg and the "
                        f"hips {k['hip_turn_at_top']:.0f} deg (X-factor {k['x_factor_at_top']:.0f} deg).",
                        c.get("shoulder_turn_at_top", 0.5), "angle"))  # fmt: skip
    if ev.unseen:
        what = ", ".join(ANGLE_WORDS.get(u, u.replace("_", " ")) for u in ev.unseen)
        view = ev.view.replace("_", "-")
        out.append(Fact(f"Not measurable from a {view} view: {what}.", 1.0, "limit"))
    return out


def baseball_facts(ph: BaseballSwingPhases) -> list[Fact]:
    """Phases and the batter's side."""
    side = Fact(f"{ph.handedness.capitalize()}-handed batter ({ph.front_foot} foot in front).",
                ph.confidence.get("handedness", 0.5), "view")  # fmt: skip
    return [
        side,
        Fact(str(ph) + ".", ph.confidence.get("phases", 0.7), "event", ph.times["contact"]),
    ]


# how sure the rep lines are (the counter gives no confidence of its own)
REP_SURE = 0.8


def rep_facts(rc: RepCount, sure: float = REP_SURE) -> list[Fact]:
    """The count, one line per rep, and with two or more reps the slowest and the deepest."""
    out = [Fact(str(rc) + ".", sure, "reps")]
    signal = rc.signal.replace("_", " ")
    for n, r in enumerate(rc.reps, start=1):
        out.append(Fact(f"Rep {n}: {r.start_s:.1f}-{r.end_s:.1f} s (frames {r.start}-{r.end}), "
                        f"{r.duration:.1f} s, range of motion {r.range_of_motion:.0f} deg, extreme "
                        f"{signal} {r.peak_value:.0f} deg at frame {r.peak_frame}.",
                        sure, "reps", r.start_s))  # fmt: skip
    if rc.count >= 2:
        slow, deep = rc.slowest_first()[0], rc.deepest_first()[0]
        s, d = rc.reps[slow], rc.reps[deep]
        out.append(Fact(f"Slowest rep: rep {slow + 1} ({s.duration:.1f} s). Deepest rep: rep "
                        f"{deep + 1} (extreme {signal} {d.peak_value:.0f} deg).", sure, "reps"))  # fmt: skip
    return out


_TORSO = (J.LEFT_SHOULDER, J.RIGHT_SHOULDER, J.LEFT_HIP, J.RIGHT_HIP)


def angle_confidence(track_or_motion: PoseTrack | Motion, name: str) -> float:
    """Share of frames where the joints an angle needs are clearly seen (visibility >= 0.5);
    a joint hidden behind the body is guessed by the pose estimator."""
    motion = track_or_motion.motion2d if isinstance(track_or_motion, PoseTrack) else track_or_motion
    joints = list(JOINT_ANGLES.get(name, _TORSO))
    if motion.num_joints != len(J):
        return 0.8  # another skeleton (e.g. SMPL-22 from a motion file): no visibility per joint
    seen = (motion.visibility[:, joints] >= 0.5).all(axis=1)
    return round(float(seen.mean()), 3)


# -- the moment a question names ("Which foot is forward at 1.8 s?") --------------------------
# The golf events the facts state; a moment is placed between two of them.
MOMENT_GOLF_EVENTS = ("address", "top", "impact", "finish")


def _between(marks: list[tuple[str, float]], t: float, fmt: str = ".2f") -> str:
    """Where ``t`` lies among named instants: "between the top (1.43 s) and the impact (1.80 s)"."""
    marks = sorted(marks, key=lambda m: m[1])
    before = [m for m in marks if m[1] <= t]
    after = [m for m in marks if m[1] > t]
    if not before:
        return f"before the {after[0][0]} ({after[0][1]:{fmt}} s)"
    if not after:
        return f"after the {before[-1][0]} ({before[-1][1]:{fmt}} s)"
    (a, ta), (b, tb) = before[-1], after[0]
    return f"between the {a} ({ta:{fmt}} s) and the {b} ({tb:{fmt}} s)"


def golf_moment(ev: GolfSwingEvents, t: float) -> Fact:
    """The swing phase at ``t`` and the events around it."""
    times = ev.times
    marks = [(e.replace("_", " "), times[e]) for e in MOMENT_GOLF_EVENTS if e in times]
    phase = [name for name, a, b in GOLF_PHASES if a in times and b in times
             and times[a] <= t < times[b]]  # fmt: skip
    text = (f"the {phase[0]}, " if phase else "") + _between(marks, t)
    return Fact(text, ev.confidence.get("events", 0.8), "moment", t)


def baseball_moment(ph: BaseballSwingPhases, t: float) -> Fact:
    """The swing's phases around ``t``."""
    marks = [(e.replace("_", " "), s) for e, s in ph.times.items()]
    return Fact(_between(marks, t), ph.confidence.get("phases", 0.7), "moment", t)


def rep_moment(rc: RepCount, t: float, sure: float = REP_SURE) -> Fact:
    """Which rep ``t`` falls in and whether before or after its deepest point, else the reps
    around it (sure as ``rep_facts``)."""
    for n, r in enumerate(rc.reps, start=1):
        if r.start_s <= t <= r.end_s:
            peak = r.peak_s(rc.fps)
            side = "before" if t < peak else "after"
            return Fact(f"rep {n} of {rc.count} ({r.start_s:.1f}-{r.end_s:.1f} s), {side} its "
                        f"deepest point ({peak:.1f} s)", sure, "moment", t)  # fmt: skip
    starts = [(f"start of rep {n}", r.start_s) for n, r in enumerate(rc.reps, start=1)]
    ends = [(f"end of rep {n}", r.end_s) for n, r in enumerate(rc.reps, start=1)]
    return Fact(_between(starts + ends, t, ".1f") + ", not in a rep", sure, "moment", t)


def foot_moment(side: str, t: float) -> Fact:
    """The foot that leads at ``t`` (``side``: "left" or "right", from ``angles.leading_foot``)."""
    return Fact(f"{side} foot forward", 1.0, "moment", t)


def moment_fact(t: float, parts: list[Fact]) -> Fact | None:
    """One line "At 1.80 s: ...; ..." from the parts, as sure as the least sure of them."""
    if not parts:
        return None
    text = f"At {t:.2f} s: " + "; ".join(p.text for p in parts) + "."
    return Fact(text, min(p.confidence for p in parts), "moment", t)
