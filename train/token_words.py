"""Word targets of the motion tokens (``TrainConfig.token_words``, issue 10).

Each frame of a synthetic clip gets two words, the activity ("golf") and the moment
("top", "impact", "bottom", else its phase: "backswing", "down", ...); the token of a
viewpoint on that frame is trained to read as both through the LLM's own word embeddings
(``core.llamo.fusion.token_word_loss``). The words come from the synthesizer's labels, so
only ``train.make_dataset`` data has them; other examples train without.

With ``sides`` (``TrainConfig.token_side_words``, session 20), the turns that compare the two
sides' bends add a third word per frame: "left" or "right", the side whose asked joint is more
bent in that frame (measured on the skeleton, as the answer is). The tokens carry that side (a
linear probe reads it) but the LLM did not read it, as it did not read the activity before
the activity words.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

from core.analytics.angles import joint_angles
from core.llamo.inputs import IGNORE_INDEX
from core.motion import Motion
from train.pretrain import PHASES, frame_phases
from train.qa import ANGLE_PARTS, SIDES
from train.synth import ACTIVITIES, SynthLabels

ACTIVITY_WORDS = {
    "golf_swing": "golf", "baseball_swing": "baseball", "squat": "squat", "push_up": "push",
    "lunge": "lunge", "jumping_jack": "jumping", "curl": "curl", "walking": "walking",
    "standing": "standing",
}  # fmt: skip
PHASE_WORDS = {
    "other": "still", "setup": "address", "backswing": "backswing", "downswing": "downswing",
    "follow_through": "follow", "bb_load": "load", "bb_swing": "swing", "bb_follow": "follow",
    "rep_down": "down", "rep_up": "up",
}  # fmt: skip
# Events named in questions; the others (mid_backswing, ...) keep their phase's word.
EVENT_WORDS = {
    "address": "address", "toe_up": "toe", "top": "top", "impact": "impact", "finish": "finish",
    "stance": "stance", "load": "load", "foot_plant": "plant", "contact": "contact",
}  # fmt: skip
BOTTOM_WORD = "bottom"
# Activities whose frames have no moment the labels know (walking has no phases).
NO_MOMENT = frozenset({"walking"})
SLOTS = ("activity", "moment")
SIDE_QTYPES = ("bend_compare",)
SIDE_MARGIN = 5.0  # degrees: closer than this, a frame shows neither side more bent
ASKED_PART = re.compile(rf"\b({'|'.join(ANGLE_PARTS)})s?\b")

if set(ACTIVITY_WORDS) != set(ACTIVITIES) or set(PHASE_WORDS) != set(PHASES):
    raise RuntimeError("train.token_words: the word tables do not cover the synthesizer's labels")


def word_id(tokenizer: object, word: str) -> int:
    """The LLM token id a word starts with, as it follows a space."""
    return int(tokenizer(" " + word, add_special_tokens=False)["input_ids"][0])


def frame_words(motion: Motion, labels: SynthLabels, model_fps: float) -> list[list[str | None]]:
    """[activity word, moment word or None] for every frame of ``motion``. An event's word
    covers the frames within half a model frame of it, so the model frame nearest to it
    has it."""
    phase, bottoms = frame_phases(labels, motion, int, motion.num_frames)
    moment = [PHASE_WORDS[PHASES[p]] for p in phase]
    half = max(1, math.ceil(motion.fps / (2.0 * model_fps)))
    marks = [(f, EVENT_WORDS[e]) for e, f in labels.events.items() if e in EVENT_WORDS]
    for frame, word in marks + [(b, BOTTOM_WORD) for b in bottoms]:
        for f in range(max(0, frame - half), min(motion.num_frames, frame + half + 1)):
            moment[f] = word
    activity = ACTIVITY_WORDS[labels.activity]
    return [[activity, None if labels.activity in NO_MOMENT else m] for m in moment]


def word_targets(
    motion: Motion, labels: SynthLabels, model_fps: float, tokenizer: object
) -> np.ndarray:
    """(T0, len(SLOTS)) LLM token ids of :func:`frame_words` (IGNORE_INDEX for None)."""
    ids: dict[str | None, int] = {None: IGNORE_INDEX}
    rows = frame_words(motion, labels, model_fps)
    for row in rows:
        for w in row:
            if w not in ids:
                ids[w] = word_id(tokenizer, w)
    out = np.array([[ids[w] for w in row] for row in rows], dtype=np.int64)
    return out.reshape(len(rows), len(SLOTS))


def asked_part(question: str) -> str | None:
    """The joint ("knee", "elbow") a side-comparing question names, or None."""
    m = ASKED_PART.search(question.lower())
    return None if m is None else m.group(1)


def side_words(motion: Motion, part: str, tokenizer: object) -> np.ndarray:
    """(T0,) LLM token id of the side whose ``part`` is more bent in each frame, by at least
    ``SIDE_MARGIN`` degrees (IGNORE_INDEX elsewhere and where a side is unseen)."""
    angles = joint_angles(motion)
    left, right = angles[f"left_{part}"], angles[f"right_{part}"]  # (T0,) degrees, NaN unseen
    out = np.full(len(left), IGNORE_INDEX, dtype=np.int64)
    out[left < right - SIDE_MARGIN] = word_id(tokenizer, SIDES[0])  # NaN compares False
    out[right < left - SIDE_MARGIN] = word_id(tokenizer, SIDES[1])
    return out


def last_turn(example: dict) -> tuple[str | None, str]:
    """(question type, question) of the example's last question, the one its viewpoints answer."""
    turns = example["conversations"]
    k = sum(t["from"] == "gpt" for t in turns) - 1
    qtypes = (example.get("meta") or {}).get("qtypes") or []
    asked = [t["value"] for t in turns if t["from"] != "gpt"]
    return (qtypes[k] if 0 <= k < len(qtypes) else None), (asked[k] if 0 <= k < len(asked) else "")


class WithWordTargets:
    """A view of training examples that adds ``word_targets`` where ``meta`` has synthetic
    labels (computed once per motion)."""

    def __init__(
        self, examples: Sequence[dict], tokenizer: object, model_fps: float, sides: bool = False
    ) -> None:
        self.examples, self.tokenizer, self.model_fps = examples, tokenizer, model_fps
        self.sides = sides
        # id -> (motion, targets): holding the motion keeps its id from being reused
        self._cache: dict[int, tuple[Motion, np.ndarray | None]] = {}
        self._side_cache: dict[tuple[int, str], tuple[Motion, np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, i: int) -> dict:
        ex = self.examples[i]
        key = id(ex["motion"])  # the datasets keep each motion object cached
        if key not in self._cache:
            labels = (ex.get("meta") or {}).get("labels")
            targets = None if labels is None else word_targets(
                ex["motion"], SynthLabels.from_dict(labels), self.model_fps, self.tokenizer
            )  # fmt: skip
            self._cache[key] = (ex["motion"], targets)
        targets = self._cache[key][1]
        if self.sides and targets is not None:  # every labelled example gets the slot
            targets = np.concatenate([targets, self._side(ex, key)[:, None]], axis=1)
        return {**ex, "word_targets": targets}

    def _side(self, ex: dict, key: int) -> np.ndarray:
        """(T0,) side words of a side-comparing turn; IGNORE_INDEX for every other turn."""
        qtype, question = last_turn(ex)
        part = asked_part(question) if qtype in SIDE_QTYPES else None
        if part is None:
            return np.full(ex["motion"].num_frames, IGNORE_INDEX, dtype=np.int64)
        if (key, part) not in self._side_cache:
            words = side_words(ex["motion"], part, self.tokenizer)
            self._side_cache[(key, part)] = (ex["motion"], words)
        return self._side_cache[(key, part)][1]
