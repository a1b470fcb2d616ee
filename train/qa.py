"""Questions and answers that can be checked against a motion's geometry and timing.

Every answer is recomputed from the motion itself through ``core.analytics`` (angles, reps,
golf events), so it holds for real clips and synthetic ones alike; only fault questions use
the synthesizer's labels (a fault is a coaching judgement the geometry alone does not name).
Elsewhere the labels only veto: an event time or a rep count they contradict is not asked.
Each turn carries a machine-checkable :class:`Target` (a number with a tolerance, a choice,
or a time span in seconds), and :func:`check_answer` scores a model's free text against it.

Question phrasings are split: the first four templates of each type are for training, the
rest are held out (``phrasing_split="heldout"``) to test generalisation to new wording.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from core.analytics import (
    EXERCISES,
    GOLF_EVENTS,
    GOLF_PHASES,
    LEADING_FOOT_ACTIVITIES,
    SIDE_MARGIN_DEG,
    BaseballSwingPhases,
    GolfSwingEvents,
    Rep,
    RepCount,
    baseball_swing_phases,
    count_reps,
    golf_swing_events,
    guess_activity,
    joint_angles,
    leading_foot,
)
from core.analytics.order import BASEBALL_EVENT_WORDS, GOLF_EVENT_WORDS, REP_POINT_WORDS
from core.errors import InputError
from core.motion import Motion, Space
from core.skeleton import ANGLE_PARTS
from core.written_numbers import ORDINALS
from train.answers import read_choice, read_numbers, read_span
from train.synth import FAULTS, SynthLabels

TRAIN_PHRASINGS = 4  # templates [0, 4) are "train", the rest "heldout"
# Questions a single 2D camera view cannot answer reliably (faults seen from behind, which
# foot is in front in a front view): asked of 3D motions only.
VIEW_DEPENDENT = frozenset({"fault_present", "fault_when", "coach", "front_foot"})
SPLITS = ("train", "heldout")
# The body part whose angle makes a rep "deep" (singular, plural); which way is deeper is the
# exercise profile's direction (``RepCount.deepest_first``).
DEPTH_SIGNAL: dict[str, tuple[str, str]] = {
    "squat": ("knee", "knees"),
    "lunge": ("knee", "knees"),
    "push_up": ("elbow", "elbows"),
    "curl": ("elbow", "elbows"),
    "jumping_jack": ("shoulder", "arms"),
}


# -- targets, turns, dialogues -----------------------------------------------------------
@dataclass(frozen=True)
class Target:
    """What a correct answer must contain.

    kind "number": ``value`` within ``tolerance`` (``unit`` "deg", "s" or "" picks which
    number in the text counts); "choice": ``value`` is the first of ``choices`` mentioned;
    "span": ``value`` = [start_s, end_s], each within ``tolerance`` seconds.
    """

    kind: str
    value: float | str | list[float]
    tolerance: float = 0.0
    unit: str = ""
    choices: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in ("number", "choice", "span"):
            raise ValueError(f"kind: expected number, choice or span, got {self.kind!r}")
        if self.kind == "choice" and self.value not in self.choices:
            raise ValueError(f"value: {self.value!r} is not one of choices {self.choices}")

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict) -> Target:
        return cls(data["kind"], data["value"], float(data.get("tolerance", 0.0)),
                   data.get("unit", ""), tuple(data.get("choices", ())))  # fmt: skip


Moments = tuple[tuple[float, float], ...]  # clip seconds (start, end); an instant is (t, t)


@dataclass(frozen=True)
class Turn:
    """One question and its answer; ``moments`` are the clip times the answer depends on
    (the Cross Talker's grounding targets, written as the gpt turn's ``"moments"``)."""

    question: str
    answer: str
    qtype: str
    target: Target
    moments: Moments = ()


@dataclass
class Dialogue:
    """A multi-turn exchange about one motion."""

    turns: list[Turn]

    def conversations(self) -> list[dict[str, str]]:
        out = []
        for t in self.turns:
            gpt: dict = {"from": "gpt", "value": t.answer}
            if t.moments:
                gpt["moments"] = [[round(a, 3), round(b, 3)] for a, b in t.moments]
            out += [{"from": "human", "value": t.question}, gpt]
        return out

    def meta(self) -> dict:
        return {
            "qtypes": [t.qtype for t in self.turns],
            "targets": [t.target.to_dict() for t in self.turns],
        }


# -- facts measured once per motion ------------------------------------------------------
@dataclass
class Facts:
    """Measurements the question makers draw on (all recomputed from the motion)."""

    motion: Motion
    angles: dict[str, np.ndarray]
    activity: str | None
    labels: SynthLabels | None = None
    reps: list[Rep] = field(default_factory=list)
    rep_count: RepCount | None = None  # the count ``reps`` come from (its order of depth)
    golf: GolfSwingEvents | None = None
    baseball: BaseballSwingPhases | None = None
    feet: np.ndarray | None = None

    def t(self, frame: int) -> float:
        return float(self.motion.timestamps[int(frame)])


MIN_GUESS_CONFIDENCE = 0.5


def measure(
    motion: Motion, labels: SynthLabels | None = None, activity: str | None = None
) -> Facts:
    """Angles for every motion; reps, golf events or baseball phases when the activity (the
    labels', the caller's, or a confident ``guess_activity``) calls for them."""
    activity = activity or (labels.activity if labels else None)
    if activity is None:
        guess = guess_activity(motion)
        activity = guess.label if guess.confidence >= MIN_GUESS_CONFIDENCE else None
    facts = Facts(motion, joint_angles(motion), activity, labels)
    if activity in EXERCISES:
        counted = count_reps(motion, activity)
        if _reps_agree_with_labels(counted.reps, labels):
            facts.rep_count, facts.reps = counted, counted.reps
    elif activity == "golf_swing":
        facts.golf = golf_swing_events(motion, handedness=labels.handedness if labels else None)
    elif activity == "baseball_swing":
        try:
            facts.baseball = baseball_swing_phases(motion)
        except InputError:  # no clear swing in this view: just skip the swing questions
            facts.baseball = None
    if activity in LEADING_FOOT_ACTIVITIES:
        facts.feet = leading_foot(motion)
    return facts


def _reps_agree_with_labels(reps: list[Rep], labels: SynthLabels | None) -> bool:
    """Whether the measured reps are the synthesizer's: as many, each deepest point inside
    its labelled rep (True without labels, as for real clips). Reps the labels contradict
    are dropped, as events are (:func:`_agrees_with_labels`), so no rep question is asked of
    that motion: every rep target would be wrong (on synth42, 44 of 278 exercise clips were
    counted wrong, a curl's 8 reps as 2)."""
    if labels is None:
        return True
    return len(reps) == len(labels.reps) and all(
        a <= r.peak_frame <= b for r, (a, b) in zip(reps, labels.reps, strict=True)
    )


# -- question makers ---------------------------------------------------------------------
Made = tuple[dict, Target] | None
SIDES = ("left", "right")


def _at(*times: float) -> Moments:
    """Instants as moments."""
    return tuple((float(t), float(t)) for t in times)


def _finite(x: np.ndarray) -> bool:
    return bool(np.isfinite(x).any())


def _bend_compare(f: Facts, rng: np.random.Generator) -> Made:
    part = str(rng.choice(["knee", "elbow"]))
    mins = {s: f.angles[f"{s}_{part}"] for s in SIDES}
    if not all(_finite(v) for v in mins.values()):
        return None
    lo = {s: min(float(np.nanmin(v)), 180.0) for s, v in mins.items()}
    if abs(lo["left"] - lo["right"]) < SIDE_MARGIN_DEG:  # too close to call from a pose estimate
        return None
    side = "left" if lo["left"] < lo["right"] else "right"
    other = "right" if side == "left" else "left"
    i = int(np.nanargmin(mins[side]))
    vals = {"part": part, "side": side, "other": other, "a1": lo[side], "a2": lo[other],
            "time": f.t(i)}  # fmt: skip
    # every frame near the deeper side's bottom answers it: there that side is still more
    # bent than the other ever is (the sides' bottoms are >= 10 degrees apart)
    return {**vals, "moments": _plateaus(f, mins[side], i)}, Target("choice", side, choices=SIDES)


ANGLE_TOLERANCE = 8.0  # degrees: how far an angle answer may be off


def _plateaus(f: Facts, series: np.ndarray, i: int) -> Moments:
    """Every span where ``series`` stays within ``ANGLE_TOLERANCE`` of its value at frame
    ``i``: any of these frames shows the extreme well enough to answer (a straight knee is
    straight for a second, not one frame, and a squat's knee is as bent at each bottom)."""
    near = np.abs(series - series[i]) <= ANGLE_TOLERANCE  # NaN compares False
    edges = np.flatnonzero(np.diff(np.concatenate([[0], near.astype(np.int8), [0]])))
    return tuple(
        (f.t(int(a)), f.t(int(b) - 1)) for a, b in zip(edges[::2], edges[1::2], strict=True)
    )


def _extreme(f: Facts, rng: np.random.Generator, largest: bool) -> Made:
    side, part = str(rng.choice(SIDES)), str(rng.choice(ANGLE_PARTS))
    series = f.angles[f"{side}_{part}"]
    if not _finite(series):
        return None
    i = int(np.nanargmax(series) if largest else np.nanargmin(series))
    # Smoothing can overshoot a straight limb past 180; an interior angle cannot.
    angle = min(float(series[i]), 180.0)
    vals = {"side": side, "part": part, "angle": angle, "time": f.t(i),
            "moments": _plateaus(f, series, i)}  # fmt: skip
    return vals, Target("number", round(angle, 1), ANGLE_TOLERANCE, "deg")


def _min_angle(f: Facts, rng: np.random.Generator) -> Made:
    return _extreme(f, rng, largest=False)


def _max_angle(f: Facts, rng: np.random.Generator) -> Made:
    return _extreme(f, rng, largest=True)


def _max_lean(f: Facts, rng: np.random.Generator) -> Made:
    lean = f.angles["spine_forward"]
    if not _finite(lean):
        return None
    i = int(np.nanargmax(lean))
    moments = _plateaus(f, lean, i)
    return {"angle": float(lean[i]), "time": f.t(i), "moments": moments}, Target(
        "number", round(float(lean[i]), 1), ANGLE_TOLERANCE, "deg"
    )


def _front_foot(f: Facts, rng: np.random.Generator) -> Made:
    if f.feet is None:
        return None
    half = max(1, int(0.3 * f.motion.fps))
    labels = f.feet
    # Only ask where the answer holds for +-0.3 s, so a small timing slip cannot flip it.
    ok = [i for i in range(half, len(labels) - half)
          if labels[i] in SIDES and np.all(labels[i - half : i + half + 1] == labels[i])]  # fmt: skip
    if not ok:
        return None
    i = int(rng.choice(ok))
    side = str(labels[i])
    vals = {"side": side, "time": f.t(i), "moments": _at(f.t(i))}
    return vals, Target("choice", side, choices=SIDES)


def _rep_count(f: Facts, rng: np.random.Generator) -> Made:
    if f.activity not in EXERCISES or not f.reps:
        return None
    n = len(f.reps)
    vals = {
        "n": n,
        "first": f.reps[0].start_s,
        "last": f.reps[-1].end_s,
        "what": _exercise_name(f.activity),
        # every rep's deepest point: a count needs the model to look at all of them
        "moments": tuple((f.t(r.peak_frame), f.t(r.peak_frame)) for r in f.reps),
    }
    return vals, Target("number", float(n), 0.0, "count")


def _exercise_name(activity: str | None) -> str:
    return (activity or "movement").replace("_", " ")


def _rep_vals(f: Facts, k: int) -> dict:
    rep = f.reps[k]
    return {"k": k + 1, "ord": ORDINALS[k] if k < len(ORDINALS) else f"{k + 1}th", "start": rep.start_s,
            "end": rep.end_s, "dur": rep.duration, "peak": rep.peak_value, "n": len(f.reps),
            "moments": ((rep.start_s, rep.end_s),)}  # fmt: skip


def _slowest_rep(f: Facts, rng: np.random.Generator) -> Made:
    if len(f.reps) < 2 or f.rep_count is None:
        return None
    k, second = f.rep_count.slowest_first()[:2]
    if f.reps[k].duration < 1.1 * f.reps[second].duration:  # no clear slowest rep
        return None
    return _rep_vals(f, k), Target("number", float(k + 1), 0.0, "index")


def _deepest_rep(f: Facts, rng: np.random.Generator) -> Made:
    if len(f.reps) < 2 or f.activity not in DEPTH_SIGNAL or f.rep_count is None:
        return None
    part, plural = DEPTH_SIGNAL[f.activity]
    k, second = f.rep_count.deepest_first()[:2]
    if abs(f.reps[k].peak_value - f.reps[second].peak_value) < 4:  # no clear deepest rep
        return None
    vals = {**_rep_vals(f, k), "part": part, "plural": plural}
    return vals, Target("number", float(k + 1), 0.0, "index")


def _pick_rep(f: Facts, rng: np.random.Generator) -> int | None:
    return int(rng.integers(len(f.reps))) if f.reps and len(f.reps) <= len(ORDINALS) else None


def _rep_span(f: Facts, rng: np.random.Generator) -> Made:
    k = _pick_rep(f, rng)
    if k is None:
        return None
    rep = f.reps[k]
    return _rep_vals(f, k), Target("span", [round(rep.start_s, 2), round(rep.end_s, 2)], 0.35, "s")


def _rep_at(f: Facts, rng: np.random.Generator) -> Made:
    """Which rep a named time falls in. The time stays 0.3 s inside the rep, so a small timing
    slip cannot put it in the pause before or after."""
    k = _pick_rep(f, rng)
    if k is None:
        return None
    rep = f.reps[k]
    if rep.end_s - rep.start_s <= 0.6:
        return None
    vals = _rep_vals(f, k) | {"time": float(rng.uniform(rep.start_s + 0.3, rep.end_s - 0.3))}
    return vals, Target("number", float(k + 1), 0.0, "index")


def _rep_duration(f: Facts, rng: np.random.Generator) -> Made:
    k = _pick_rep(f, rng)
    if k is None:
        return None
    return _rep_vals(f, k), Target("number", round(f.reps[k].duration, 2), 0.35, "s")


def _event_time(
    events: GolfSwingEvents | BaseballSwingPhases | None, words: dict[str, str], f: Facts,
    rng: np.random.Generator,
) -> Made:  # fmt: skip
    """When one of the measured events happens. An event the clip does not show is skipped,
    and so is one the synthesizer's labels put further from the measured time than the
    answer's tolerance: the motion would show another time than the target (on synth3 the
    baseball detector put a foot plant at 0.13 s that the labels put at 2.03 s)."""
    if events is None:
        return None
    tol = max(0.15, 3.0 / f.motion.fps)
    shown = [
        e for e in words if e in events.times and _agrees_with_labels(f, e, events.times[e], tol)
    ]
    if not shown:
        return None
    event = str(rng.choice(shown))
    t = events.times[event]
    vals = {"event": words[event], "time": t, "frame": events.frames[event], "moments": _at(t)}
    return vals, Target("number", round(t, 2), tol, "s")


def _agrees_with_labels(f: Facts, event: str, t: float, tol: float) -> bool:
    """Whether a measured event time is within ``tol`` of the labels' (True where no label
    names the event, as for real clips or the detector's own events like the stride)."""
    if f.labels is None or event not in f.labels.events:
        return True
    return abs(f.t(f.labels.events[event]) - t) <= tol


def _golf_event_time(f: Facts, rng: np.random.Generator) -> Made:
    return _event_time(f.golf, GOLF_EVENT_WORDS, f, rng)


def _golf_tempo(f: Facts, rng: np.random.Generator) -> Made:
    if f.golf is None or f.golf.downswing_s <= 0:
        return None
    g = f.golf
    vals = {
        "tempo": g.tempo,
        "back": g.backswing_s,
        "down": g.downswing_s,
        "moments": _at(g.times["address"], g.times["top"], g.times["impact"]),
    }
    return vals, Target("number", round(g.tempo, 2), 0.5, "ratio")


def _golf_phase(f: Facts, rng: np.random.Generator) -> Made:
    if f.golf is None:
        return None
    fr = f.golf.frames
    options = [(name, a, b) for name, a, b in GOLF_PHASES if fr[b] - fr[a] >= 5]
    if not options:
        return None
    name, a, b = options[int(rng.integers(len(options)))]
    i = int(rng.integers(fr[a] + 2, fr[b] - 1))  # keep clear of the phase boundaries
    vals = {
        "phase": name,
        "time": f.t(i),
        "start": f.t(fr[a]),
        "end": f.t(fr[b]),
        "moments": _at(f.t(i)),
    }
    return vals, Target("choice", name, choices=tuple(p[0] for p in GOLF_PHASES))


def _swing_duration(f: Facts, rng: np.random.Generator) -> Made:
    if f.golf is None:
        return None
    t = f.golf.times
    vals = {
        "dur": t["finish"] - t["address"],
        "start": t["address"],
        "end": t["finish"],
        "moments": _at(t["address"], t["finish"]),
    }
    return vals, Target("number", round(vals["dur"], 2), 0.25, "s")


def _baseball_event_time(f: Facts, rng: np.random.Generator) -> Made:
    return _event_time(f.baseball, BASEBALL_EVENT_WORDS, f, rng)


def _landmarks(f: Facts) -> list[tuple[str, float]]:
    if f.golf is not None:
        return [
            (f"the {GOLF_EVENT_WORDS[e]}", f.golf.times[e])
            for e in GOLF_EVENTS
            if e in f.golf.times
        ]
    if f.baseball is not None:
        return [
            (f"the {w}", f.baseball.times[e])
            for e, w in BASEBALL_EVENT_WORDS.items()
            if e in f.baseball.times
        ]
    out = []
    for k, rep in enumerate(f.reps[: len(ORDINALS)]):
        out += [(f"the {REP_POINT_WORDS['start']} of the {ORDINALS[k]} rep", rep.start_s),
                (f"the {REP_POINT_WORDS['deepest']} of the {ORDINALS[k]} rep", f.t(rep.peak_frame))]  # fmt: skip
    return out


def _before_after(f: Facts, rng: np.random.Generator) -> Made:
    marks = _landmarks(f)
    if not marks:
        return None
    what, t = marks[int(rng.integers(len(marks)))]
    offset = float(rng.uniform(0.3, 1.0)) * (1 if rng.random() < 0.5 else -1)
    ref = t + offset
    if not f.motion.start_time <= ref <= f.motion.timestamps[-1]:
        ref = t - offset
    choice = "before" if t < ref else "after"
    vals = {"what": what, "ref": ref, "time": t, "choice": choice, "moments": _at(t)}
    return vals, Target("choice", choice, choices=("before", "after"))


FAULT_TEXT: dict[str, tuple[str, str]] = {
    # fault -> (what it looks like, what to do about it)
    "early_extension": ("early extension (the hips push towards the ball and the spine stands up "
                        "in the downswing)", "keep your hips back and hold your spine angle through impact"),
    "over_the_top": ("an over-the-top move (the hands and shoulders swing out towards the ball at "
                     "the start of the downswing)", "start the downswing with the lower body and let the hands drop"),
    "reverse_spine": ("a reverse spine angle (the upper body leans towards the target at the top)",
                      "keep your upper body tilted slightly away from the target as you turn back"),
    "sway": ("a sway (the hips slide away from the target in the backswing)",
             "turn around your trail hip instead of sliding off it"),
    "lunging": ("lunging (a long stride that carries the head and weight forward)",
                "keep a shorter stride and let the hips rotate over a stable front leg"),
    "casting": ("casting (the hands drift away from the body before contact)",
                "keep the hands close and the knob pointing at the ball longer"),
    "knees_caving": ("knees caving in (they move towards each other as you go down)",
                     "push your knees out over your toes"),
    "shallow_depth": ("shallow depth (the knees stay well short of 90 degrees)",
                      "sit lower, hips to at least knee height"),
    "heels_rising": ("heels rising off the floor at the bottom", "keep your weight on your mid-foot and heels"),
    "sagging_hips": ("sagging hips (the hips drop below the line from shoulders to ankles)",
                     "brace your core and squeeze your glutes to hold a straight line"),
    "partial_range": ("a partial range of motion (the elbows do not bend through the full range)",
                      "go through the full range on every rep"),
    "forward_lean": ("too much forward lean of the torso", "keep your chest up and your torso upright"),
    "partial_arm_raise": ("arms that stop short of overhead", "reach your hands all the way above your head"),
    "swinging_torso": ("a swinging torso (leaning back to lift the weight)",
                       "keep your torso still and lighten the weight"),
    "limp": ("a limp (one knee bends much less than the other)", "check for pain and even out your stride"),
}  # fmt: skip
FAULT_WORDS: dict[str, tuple[str, ...]] = {
    "early_extension": ("early extension",), "over_the_top": ("over-the-top", "over the top"),
    "reverse_spine": ("reverse spine",), "sway": ("sway",), "lunging": ("lunging", "lunge forward"),
    "casting": ("casting",), "knees_caving": ("knees caving", "knees cave", "caving"),
    "shallow_depth": ("shallow",), "heels_rising": ("heels rising", "heels rise", "heels lift"),
    "sagging_hips": ("sagging", "hips sag"), "partial_range": ("partial range",),
    "forward_lean": ("forward lean", "leaning forward"), "partial_arm_raise": ("partial arm raise", "stop short", "short of overhead"),
    "swinging_torso": ("swinging torso", "swinging"), "limp": ("limp",),
    "none": ("no clear fault", "looks solid", "no major fault"),
}  # fmt: skip
ACTIVITY_WORDS: dict[str, tuple[str, ...]] = {
    "golf_swing": ("golf",), "baseball_swing": ("baseball", "batting"), "squat": ("squat",),
    "push_up": ("push-up", "push up", "pushup"), "lunge": ("lunge",), "jumping_jack": ("jumping jack",),
    "curl": ("curl",), "walking": ("walk",), "standing": ("standing", "stand still"),
}  # fmt: skip
CHOICE_WORDS: dict[str, tuple[str, ...]] = {
    **FAULT_WORDS, **ACTIVITY_WORDS, "follow-through": ("follow-through", "follow through"),
    "yes": ("yes",), "no": ("no",),
}  # fmt: skip


ASK_PRESENT = 0.85
SKIP_CLEAN_COACH = 0.5
SKIP_CLEAN_FAULT = 0.5


def _fault_present(f: Facts, rng: np.random.Generator) -> Made:
    if f.labels is None or not FAULTS.get(f.labels.activity):
        return None
    present = sorted({x.name for x in f.labels.faults})
    absent = [x for x in FAULTS[f.labels.activity] if x not in present]
    # Balance yes / no over the data set (measured: about half the asked clips have a
    # fault): a faulty clip is asked about its fault with odds ASK_PRESENT, else about one it
    # does not show; a clean clip, half the time, about any fault.
    ask_present = bool(present) and (not absent or rng.random() < ASK_PRESENT)
    if not present and rng.random() < SKIP_CLEAN_FAULT:
        return None
    name = str(rng.choice(present if ask_present else absent))
    first = next((x for x in f.labels.faults if x.name == name), None)
    vals = {"fault": FAULT_TEXT[name][0], "short": name.replace("_", " "), "fix": FAULT_TEXT[name][1],
            "start": f.t(first.start_frame) if first else 0.0, "end": f.t(first.end_frame) if first else 0.0}  # fmt: skip
    answer = "yes" if ask_present else "no"
    moments = ((vals["start"], vals["end"]),) if first else ()
    return {**vals, "choice": answer, "moments": moments}, Target(
        "choice", answer, choices=("yes", "no")
    )


def _fault_when(f: Facts, rng: np.random.Generator) -> Made:
    if f.labels is None or not f.labels.faults:
        return None
    x = f.labels.faults[0]
    start, end = f.t(x.start_frame), f.t(min(x.end_frame, f.motion.num_frames - 1))
    vals = {
        "fault": FAULT_TEXT[x.name][0],
        "short": x.name.replace("_", " "),
        "start": start,
        "end": end,
        "moments": ((start, end),),
    }
    return vals, Target("span", [round(start, 2), round(end, 2)], 0.4, "s")


def _evidence(f: Facts) -> str:
    """One measured sentence to cite in open coaching answers."""
    if f.golf is not None:
        g = f.golf
        sp = f.angles["spine_forward"]
        a, i = sp[g.frames["address"]], sp[g.frames["impact"]]
        return (f"Your spine leans {a:.0f}° at address ({g.times['address']:.1f} s) and {i:.0f}° at impact "
                f"({g.times['impact']:.1f} s); tempo {g.tempo:.1f} to 1")  # fmt: skip
    if f.reps and f.activity in DEPTH_SIGNAL and f.rep_count is not None:
        part, _ = DEPTH_SIGNAL[f.activity]
        best = f.reps[f.rep_count.deepest_first()[0]].peak_value
        return f"You did {len(f.reps)} reps; your {part} angle reached {best:.0f}° at its extreme"
    lean = f.angles["spine_forward"]
    return (
        f"Your trunk leans at most {np.nanmax(lean):.0f}° from vertical"
        if _finite(lean)
        else "I measured the clip"
    )


def _coach(f: Facts, rng: np.random.Generator) -> Made:
    if f.labels is None or not FAULTS.get(f.labels.activity):
        return None
    choices = (*FAULTS[f.labels.activity], "none")
    if not f.labels.faults and rng.random() < SKIP_CLEAN_COACH:
        return None  # keeps "none" from dominating the coach answers
    if not f.labels.faults:
        vals = {"evidence": _evidence(f), "fault": "", "fix": "", "start": 0.0, "end": 0.0}
        return {**vals, "none": True}, Target("choice", "none", choices=choices)
    x = f.labels.faults[0]
    vals = {"evidence": _evidence(f), "fault": FAULT_TEXT[x.name][0], "fix": FAULT_TEXT[x.name][1],
            "short": x.name.replace("_", " ").capitalize(),
            "start": f.t(x.start_frame), "end": f.t(min(x.end_frame, f.motion.num_frames - 1)), "none": False}  # fmt: skip
    vals["moments"] = ((vals["start"], vals["end"]),)
    return vals, Target("choice", x.name, choices=choices)


def _activity(f: Facts, rng: np.random.Generator) -> Made:
    if f.activity not in ACTIVITY_WORDS:
        return None
    vals = {
        "what": ACTIVITY_WORDS[f.activity][0],
        "name": f.activity.replace("_", " ").capitalize(),
    }
    return vals, Target("choice", f.activity, choices=tuple(ACTIVITY_WORDS))


# -- registry ----------------------------------------------------------------------------
@dataclass(frozen=True)
class QAType:
    """One kind of question: a fact maker, question phrasings and answer templates.

    ``answers`` maps a variant (the maker's ``vals["variant"]``, default "") to templates.
    """

    make: Callable[[Facts, np.random.Generator], Made]
    questions: tuple[str, ...]
    answers: dict[str, tuple[str, ...]]
    weight: float = 1.0  # sampling weight; generic types that apply to every clip get less

    def __post_init__(self) -> None:
        if len(self.questions) < TRAIN_PHRASINGS + 1:
            raise ValueError(
                f"questions: need at least {TRAIN_PHRASINGS + 1} phrasings for a held-out split"
            )

    def phrasings(self, split: str) -> tuple[str, ...]:
        if split not in SPLITS:
            raise ValueError(f"phrasing_split: expected one of {SPLITS}, got {split!r}")
        return (
            self.questions[:TRAIN_PHRASINGS]
            if split == "train"
            else self.questions[TRAIN_PHRASINGS:]
        )


QA_TYPES: dict[str, QAType] = {
    "bend_compare": QAType(
        _bend_compare,
        (
            "Which {part} bends more, the left or the right?",
            "Is my left or right {part} more bent?",
            "Which side's {part} flexes the most?",
            "Comparing both {part}s, which one bends deeper?",
            "Left {part} or right {part}: which one closes more?",
            "Which {part} reaches the smaller angle?",
        ),
        {"": ("The {side} {part}: {a1:.0f}° against {a2:.0f}°.",)},
    ),
    "min_angle": QAType(
        _min_angle,
        (
            "What is the smallest angle of my {side} {part}?",
            "How far does my {side} {part} bend?",
            "How closed does the {side} {part} get?",
            "What's the minimum {side} {part} angle?",
            "Tell me the tightest angle my {side} {part} reaches.",
            "How much does the {side} {part} flex at most, in degrees?",
        ),
        {"": ("{angle:.0f}° at {time:.1f} s.",)},
        weight=0.4,
    ),
    "max_angle": QAType(
        _max_angle,
        (
            "What is the largest angle of my {side} {part}?",
            "How straight does my {side} {part} get?",
            "What's the maximum {side} {part} angle?",
            "How far does the {side} {part} open?",
            "Tell me the widest angle my {side} {part} reaches.",
            "At its most extended, what is the {side} {part} angle?",
        ),
        {"": ("{angle:.0f}° at {time:.1f} s.",)},
        weight=0.4,
    ),
    "max_lean": QAType(
        _max_lean,
        (
            "How far does my upper body lean?",
            "What is my maximum trunk lean?",
            "How much do I bend forward at the waist?",
            "What's the biggest torso angle from vertical?",
            "How far from upright does my spine get?",
            "By how many degrees does my trunk tilt at most?",
        ),
        {"": ("{angle:.0f}° at {time:.1f} s.",)},
        weight=0.4,
    ),
    "front_foot": QAType(
        _front_foot,
        (
            "Which foot is in front at {time:.1f} s?",
            "At {time:.1f} s, is my left or right foot forward?",
            "Which foot leads at {time:.1f} s?",
            "Looking at {time:.1f} s, which foot is ahead?",
            "At the {time:.1f} second mark, which foot is further forward?",
            "Which leg is in front around {time:.1f} s?",
        ),
        {"": ("The {side} foot.",)},
    ),
    "rep_count": QAType(
        _rep_count,
        (
            "How many reps did I do?",
            "Count my repetitions.",
            "How many {what}s are in this clip?",
            "What's my rep count?",
            "How many times did I repeat the movement?",
            "Tell me the number of reps.",
        ),
        {"": ("{n} reps.",)},
    ),
    "slowest_rep": QAType(
        _slowest_rep,
        (
            "Which rep was the slowest?",
            "Which repetition took the longest?",
            "Which of my reps was slowest?",
            "In which rep did I move the slowest?",
            "Which rep lasted the longest?",
            "Point out my slowest repetition.",
        ),
        {"": ("Rep {k}, {start:.1f} s to {end:.1f} s.",)},
    ),
    "rep_at": QAType(
        _rep_at,
        (
            "Which rep am I in at {time:.1f} s?",
            "At {time:.1f} s, which repetition is it?",
            "Which rep is happening at {time:.1f} s?",
            "What rep number am I on at {time:.1f} s?",
            "Around {time:.1f} s, which rep is that?",
            "Looking at {time:.1f} s, which rep is it?",
        ),
        {"": ("Rep {k}, {start:.1f} s to {end:.1f} s.",)},
    ),
    "deepest_rep": QAType(
        _deepest_rep,
        (
            "Which rep was the deepest?",
            "In which repetition did I go furthest?",
            "Which rep had the most range?",
            "Which of my reps was the deepest one?",
            "Where did I get the most depth, which rep?",
            "Which repetition reached the biggest range of motion?",
        ),
        {"": ("Rep {k}, {peak:.0f}°.",)},
    ),
    "rep_span": QAType(
        _rep_span,
        (
            "When does rep {k} start and end?",
            "What is the time span of the {ord} rep?",
            "From when to when is rep number {k}?",
            "Give me the start and end times of rep {k}.",
            "When did the {ord} repetition begin and finish?",
            "Between which times is rep {k}?",
        ),
        {"": ("{start:.1f} s to {end:.1f} s.",)},
    ),
    "rep_duration": QAType(
        _rep_duration,
        (
            "How long does rep {k} take?",
            "What is the duration of the {ord} rep?",
            "How many seconds is rep {k}?",
            "How long did my {ord} repetition last?",
            "Time for rep {k}?",
            "How much time did I spend on the {ord} rep?",
        ),
        {"": ("{dur:.1f} s.",)},
    ),
    "golf_event_time": QAType(
        _golf_event_time,
        (
            "When is the {event}?",
            "At what time do I reach the {event}?",
            "What's the timestamp of the {event}?",
            "When does the {event} happen?",
            "Tell me when the {event} occurs.",
            "At which second is the {event}?",
        ),
        {"": ("{time:.2f} s.",)},
        weight=2.0,
    ),
    "baseball_event_time": QAType(
        _baseball_event_time,
        (
            "When is the {event} in my swing?",
            "At what time does the {event} happen?",
            "What's the timestamp of the {event}?",
            "When do I reach the {event}?",
            "Tell me the time of the {event}.",
            "At which second is the {event} of the swing?",
        ),
        {"": ("{time:.2f} s.",)},
        weight=2.0,
    ),
    "golf_tempo": QAType(
        _golf_tempo,
        (
            "What's my swing tempo?",
            "What is my backswing to downswing ratio?",
            "How is my tempo?",
            "Give me my tempo ratio.",
            "How much longer is my backswing than my downswing?",
            "What rhythm does my swing have, as a ratio?",
        ),
        {"": ("{tempo:.1f} to 1.",)},
    ),
    "golf_phase": QAType(
        _golf_phase,
        (
            "What part of the swing is happening at {time:.2f} s?",
            "Which phase am I in at {time:.2f} s?",
            "At {time:.2f} s, is it the backswing, downswing or something else?",
            "What swing phase is shown at {time:.2f} s?",
            "Name the swing phase at {time:.2f} s.",
            "Around {time:.2f} s, what am I doing in the swing?",
        ),
        {"": ("The {phase}.",)},
    ),
    "swing_duration": QAType(
        _swing_duration,
        (
            "How long is my swing from address to finish?",
            "How long does the whole swing take?",
            "What is the total swing time?",
            "How many seconds from setup to finish?",
            "Duration of the swing?",
            "How long between address and the finish?",
        ),
        {"": ("{dur:.2f} s.",)},
    ),
    "before_after": QAType(
        _before_after,
        (
            "Does {what} come before or after {ref:.1f} s?",
            "Is {what} before or after {ref:.1f} s?",
            "Relative to {ref:.1f} s, when is {what}: before or after?",
            "Does {what} happen after {ref:.1f} s?",
            "Before or after {ref:.1f} s — when do I reach {what}?",
            "Is {what} earlier or later than {ref:.1f} s?",
        ),
        # choice first: written time first ("At 2.3 s: after 1.6 s."), full-s42b's choice
        # agreed with its own two times on 29 of 59 (docs/issue10/session42/RULE.md, part 3)
        {"": ("{choice}: at {time:.1f} s.",)},
    ),
    "fault_present": QAType(
        _fault_present,
        (
            "Do I have {short}?",
            "Is there any sign of {short}?",
            "Can you see {short} in my form?",
            "Am I showing {short}?",
            "Check my clip for {short}: is it there?",
            "Any {short} in this?",
        ),
        {"yes": ("Yes, from {start:.1f} s to {end:.1f} s.",), "no": ("No.",)},
    ),
    "fault_when": QAType(
        _fault_when,
        (
            "When does the {short} happen?",
            "At what time do you see the {short}?",
            "Where in the clip is the {short}?",
            "Show me when the {short} starts and ends.",
            "Between which times is the {short} visible?",
            "When should I look for the {short}?",
        ),
        {"": ("{start:.1f} s to {end:.1f} s.",)},
    ),
    "coach": QAType(
        _coach,
        (
            "How can I improve?",
            "What should I work on?",
            "Any tips for me?",
            "What's the main fault here?",
            "Give me one thing to fix.",
            "What would a coach tell me about this?",
        ),
        {
            "fault": ("{short}, {start:.1f} s to {end:.1f} s. Fix: {fix}.",),
            "none": ("No clear fault. Keep it consistent.",),
        },
    ),
    "activity": QAType(
        _activity,
        (
            "What am I doing?",
            "What exercise is this?",
            "What movement is shown here?",
            "Which activity is in this clip?",
            "Name the movement.",
            "What kind of motion is this?",
        ),
        {"": ("{name}.",)},
        weight=0.4,
    ),
}
"""Question type name -> maker, phrasings and answer templates."""


def _variant(vals: dict) -> str:
    if "choice" in vals and vals["choice"] in ("yes", "no"):
        return str(vals["choice"])
    if "none" in vals:
        return "none" if vals["none"] else "fault"
    return ""


def make_turn(
    qtype: str, facts: Facts, rng: np.random.Generator, phrasing_split: str = "train"
) -> Turn | None:
    """One question of ``qtype`` about the measured motion, or None when it does not apply."""
    if qtype not in QA_TYPES:
        raise ValueError(f"qtype: {qtype!r} is not one of {sorted(QA_TYPES)}")
    spec = QA_TYPES[qtype]
    if qtype in VIEW_DEPENDENT and facts.motion.space is Space.IMAGE_NORMALIZED:
        return None  # one camera view cannot show it reliably: not answerable
    made = spec.make(facts, rng)
    if made is None:
        return None
    vals, target = made
    moments = tuple((float(a), float(b)) for a, b in vals.pop("moments", ()))
    questions = spec.phrasings(phrasing_split)
    question = questions[int(rng.integers(len(questions)))].format(**vals)
    answers = spec.answers[_variant(vals)]
    answer = answers[int(rng.integers(len(answers)))].format(**vals)
    return Turn(
        question[0].upper() + question[1:], answer[0].upper() + answer[1:], qtype, target, moments
    )


def make_dialogues(
    motion: Motion,
    labels: SynthLabels | None = None,
    rng: np.random.Generator | None = None,
    n: int = 4,
    *,
    phrasing_split: str = "train",
    turns: tuple[int, int] = (2, 3),
    activity: str | None = None,
    facts: Facts | None = None,
) -> list[Dialogue]:
    """``n`` dialogues of 2-3 turns about ``motion``, each turn a different question type
    that applies to it. ``labels`` (synthetic clips) add fault and activity questions;
    ``activity`` names a real clip's activity so reps or golf events are measured."""
    rng = rng if rng is not None else np.random.default_rng()
    facts = facts or measure(motion, labels, activity)
    # Try every type once: the ones that yield a turn are the ones this motion supports.
    usable = [q for q in QA_TYPES if make_turn(q, facts, np.random.default_rng(0), phrasing_split)]
    if not usable:
        raise InputError("no question type applies to this motion; is the body visible?")
    out = []
    for _ in range(n):
        k = int(rng.integers(turns[0], turns[1] + 1))
        made: list[Turn] = []
        w = np.array([QA_TYPES[q].weight for q in usable])
        order = rng.choice(len(usable), size=len(usable), replace=False, p=w / w.sum())
        for q in (usable[i] for i in order):  # a maker may decline with other random picks
            turn = make_turn(str(q), facts, rng, phrasing_split)
            if turn is not None:
                made.append(turn)
            if len(made) == k:
                break
        out.append(Dialogue(made))
    return [d for d in out if d.turns]


# -- answer checking ---------------------------------------------------------------------
def named_choice(target: Target | dict, text: str) -> str | None:
    """The option of a choice ``target`` that ``text`` names first (None: none named)."""
    target = Target.from_dict(target) if isinstance(target, dict) else target
    if target.kind != "choice":
        raise ValueError(f"kind: named_choice needs a choice target, got {target.kind!r}")
    return read_choice(text, target.choices, CHOICE_WORDS)


def check_answer(qtype: str, target: Target | dict, text: str) -> bool:
    """True when the free-text ``text`` states the target (number within tolerance, the
    right choice mentioned first, or both ends of a time span)."""
    if qtype not in QA_TYPES:
        raise ValueError(f"qtype: {qtype!r} is not one of {sorted(QA_TYPES)}")
    target = Target.from_dict(target) if isinstance(target, dict) else target
    if target.kind == "choice":
        return named_choice(target, text) == target.value
    if target.kind == "number":
        values = read_numbers(text, target.unit)
        return bool(values) and abs(values[0] - float(target.value)) <= target.tolerance + 1e-9
    span = read_span(text)
    lo, hi = (float(v) for v in target.value)  # type: ignore[union-attr]
    return (
        span is not None
        and abs(span[0] - lo) <= target.tolerance + 1e-9
        and (abs(span[1] - hi) <= target.tolerance + 1e-9)
    )
