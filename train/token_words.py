"""Word targets of the motion tokens (``TrainConfig.token_words``, issue 10).

Each frame of a synthetic clip gets two words, the activity ("golf") and the moment
("top", "impact", "bottom", else its phase: "backswing", "down", ...); the token of a
viewpoint on that frame is trained to read as both through the LLM's own word embeddings
(``core.llamo.fusion.token_word_loss``). The words come from the synthesizer's labels, so
only ``train.make_dataset`` data has them; other examples train without.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from core.llamo.inputs import IGNORE_INDEX
from core.motion import Motion
from train.pretrain import PHASES, frame_phases
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


class WithWordTargets:
    """A view of training examples that adds ``word_targets`` where ``meta`` has synthetic
    labels (computed once per motion)."""

    def __init__(self, examples: Sequence[dict], tokenizer: object, model_fps: float) -> None:
        self.examples, self.tokenizer, self.model_fps = examples, tokenizer, model_fps
        # id -> (motion, targets): holding the motion keeps its id from being reused
        self._cache: dict[int, tuple[Motion, np.ndarray | None]] = {}

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
        return {**ex, "word_targets": self._cache[key][1]}
