"""Probe (session 29, RULE.md §2; no gain, nothing in the model): the frame at the time a
question names becomes its first viewpoint, scored just above the clip's peak, untrained.

    python scripts/named_time_probe.py on|off -- <train.evaluate arguments>
"""

from __future__ import annotations

import sys

import core.llamo.model as model_mod
from core.llamo.cross_talker import LEAD_MARGIN, CrossTalker
from core.llamo.prompts import question_times
from train import evaluate

NEAREST_S = 0.5  # the named frame must lie this close to the named time
_STATE: dict = {"on": False, "times": [], "seconds": None}
_batch = model_mod.LLaMo._inference_batch
_forward = CrossTalker.forward
_scores = CrossTalker.frame_scores


def inference_batch(self, motion, question, video, history, context):  # noqa: ANN001, ANN201
    _STATE["times"] = question_times([question])
    return _batch(self, motion, question, video, history, context)


def forward(self, motion, frame_mask, text, text_mask, timestamps, pose=None):  # noqa: ANN001, ANN201
    _STATE["seconds"] = timestamps  # (B, T)
    return _forward(self, motion, frame_mask, text, text_mask, timestamps, pose)


def frame_scores(self, motion, frame_mask, text, text_mask, pose=None, with_event=True):  # noqa: ANN001, ANN201
    scores, attn, event = _scores(self, motion, frame_mask, text, text_mask, pose, with_event)
    seconds = _STATE["seconds"]
    if not (_STATE["on"] and _STATE["times"] and seconds is not None and scores.shape[0] == 1):
        return scores, attn, event
    gap = (seconds[0] - _STATE["times"][0]).abs().masked_fill(~frame_mask[0].bool(), 1e9)  # (T,)
    j = int(gap.argmin())
    if float(gap[j]) < NEAREST_S:
        scores = scores.clone()  # (1, T)
        scores[0, j] = scores.amax() * LEAD_MARGIN
    return scores, attn, event


if __name__ == "__main__":
    _STATE["on"] = sys.argv[1] == "on"
    model_mod.LLaMo._inference_batch = inference_batch
    CrossTalker.forward = forward
    CrossTalker.frame_scores = frame_scores
    sys.exit(evaluate.main(sys.argv[3:]))
