"""Session 39: the baseball detector's stride start and foot plant against the synthesizer's
labels on the first N baseball motions of a data-engine set (frames, as saved):

python docs/issue10/session39/stride/stride_on_data.py artifacts/s38train/train.jsonl 150

It trains and tunes nothing. Prints, per event, how many lie within 4 frames of the label and
how many are more than 4 frames early or late.
"""

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[4]))  # the repo root
from core.analytics.baseball import baseball_swing_phases  # noqa: E402
from core.errors import InputError  # noqa: E402
from core.motion import Motion  # noqa: E402
from core.motion_io import load_motion  # noqa: E402

EVENTS = ("stride", "foot_plant")
NEAR_FRAMES = 4


def baseball_motions(path: Path, limit: int) -> Iterator[tuple[Motion, dict]]:
    """(motion, synthesizer labels) of the first ``limit`` baseball motions of a set."""
    seen: set[str] = set()
    for line in path.read_text().splitlines():
        sample = json.loads(line)
        labels = sample["meta"].get("labels") or {}
        if labels.get("activity") != "baseball_swing" or sample["motion"] in seen:
            continue
        seen.add(sample["motion"])
        yield load_motion(path.parent / sample["motion"]), labels
        if len(seen) >= limit:
            break


def errors(path: Path, limit: int) -> dict[str, list[int]]:
    """Event -> detected frame minus labelled frame, one per baseball motion."""
    out: dict[str, list[int]] = {e: [] for e in EVENTS}
    for motion, labels in baseball_motions(path, limit):
        try:
            phases = baseball_swing_phases(motion)
        except InputError:
            continue
        for e in EVENTS:
            out[e].append(phases.frames[e] - labels["events"][e])
    return out


def main(path: str, limit: int) -> None:
    for event, errs in errors(Path(path), limit).items():
        e = np.array(errs)
        print(f"{event}: n {len(e)}, within {NEAR_FRAMES} frames {int((abs(e) <= NEAR_FRAMES).sum())}, "
              f"early {int((e < -NEAR_FRAMES).sum())}, late {int((e > NEAR_FRAMES).sum())}")  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
