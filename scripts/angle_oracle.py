"""Ceiling of the grounding hit rate on extreme-angle turns (issue 10).

An oracle scorer that knows which angle a ``min_angle`` / ``max_angle`` / ``max_lean``
question asks ranks the frames by that angle of the model's own features
(``core.llamo.pose_angles``, as the "pose" scorers see them) and takes the extreme. Its hit
rate (the extreme inside a moment's window, as ``train.grounding`` counts hits) bounds what a
frame scorer can reach against a data set's moments. Sets built before session 8 (synth3-5) mark
one plateau around the extreme of the analytics' smoothed angles; newer ones mark every span
within the answer's tolerance.

    python scripts/angle_oracle.py --data artifacts/synth3 [--config train/configs/cpu.yaml]
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import torch

from core.llamo.pose_angles import NUM_POSE_ANGLES, pose_angles
from core.skeleton import JOINT_ANGLES
from train.evaluate import heldout_path
from train.grounding import GroundingExample, hit, load_examples
from train.pretrain import model_config
from train.qa import ANGLE_PARTS, SIDES

LARGEST = {"min_angle": False, "max_angle": True, "max_lean": True}
ASKED = re.compile(rf"\b({'|'.join(SIDES)}) ({'|'.join(ANGLE_PARTS)})\b")


def asked_channel(qtype: str, question: str) -> int | None:
    """Index of the asked angle in :func:`pose_angles` (the lean is the last one)."""
    if qtype == "max_lean":
        return NUM_POSE_ANGLES - 1
    m = ASKED.search(question.lower())
    return None if m is None else list(JOINT_ANGLES).index(f"{m.group(1)}_{m.group(2)}")


def oracle_hit(feats: torch.Tensor, mask: torch.Tensor, ex: GroundingExample, k: int) -> bool:
    """feats (T, 33, C), mask (T,): does the asked angle's extreme lie in a moment window?"""
    angles = pose_angles(feats[None].float())[0]  # (T, 2 A)
    value, seen = angles[:, k], angles[:, NUM_POSE_ANGLES + k] > 0
    signed = value if LARGEST[ex.qtype] else -value
    return hit(signed.masked_fill(~(mask & seen), -10.0), ex.windows)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="make_dataset folder or JSONL")
    ap.add_argument("--config", type=Path, default=Path("train/configs/cpu.yaml"))
    a = ap.parse_args(argv)
    try:
        data = heldout_path(a.data)
    except ValueError as e:
        ap.error(str(e))
    from core.llamo.llm import load_llm

    config = model_config(a.config, [])
    _, tokenizer = load_llm(config.llm, device="cpu")
    clips, examples = load_examples(data, config, tokenizer)
    hits: dict[str, list[bool]] = {q: [] for q in LARGEST}
    for ex in examples:
        k = asked_channel(ex.qtype, tokenizer.decode(ex.question)) if ex.qtype in LARGEST else None
        if k is None:
            continue
        clip = clips[ex.clip]
        feats, mask = torch.from_numpy(clip.feats), torch.from_numpy(clip.frame_mask)
        hits[ex.qtype].append(oracle_hit(feats, mask, ex, k))
    report = {q: {"hit_rate": sum(v) / len(v), "n": len(v)} for q, v in hits.items() if v}
    print(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
