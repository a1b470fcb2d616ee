"""deepest_rep answers of a ``train.evaluate`` report scored against the stored targets and
against the fixed engine's (issue 10, session 24: until then a dip's "deepest" rep was its
shallowest, so every stored set holds that target for squats, lunges, push-ups and curls):

    python scripts/deepest_rep_fixed.py REPORT.json:MODEL [REPORT.json:MODEL ...]

For each turn the fixed target is ``train.qa``'s, remade from the turn's motion; a turn the
fixed engine would not ask (no rep clearly deepest) is counted apart.
"""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path

import numpy as np


@cache
def dataset_lines(path: str) -> list[str]:
    """A JSONL file's lines, read once however many of its turns a report holds."""
    return Path(path).read_text().splitlines()


def fixed_target(sample: str) -> float | None:
    """The fixed engine's deepest rep (1-based) for ``sample`` ("FILE.jsonl:LINE")."""
    from core.motion_io import load_motion
    from train.qa import make_turn, measure

    path, _, number = sample.rpartition(":")
    line = json.loads(dataset_lines(path)[int(number) - 1])  # "FILE.jsonl:LINE" is 1-based
    motion = load_motion(Path(path).parent / line["motion"])
    facts = measure(motion, activity=line["meta"]["activity"])
    turn = make_turn("deepest_rep", facts, np.random.default_rng(0))
    return None if turn is None else float(turn.target.value)


def score(predictions: list[dict]) -> dict:
    """Counts of deepest_rep turns right against the stored and the fixed targets."""
    from train.answers import read_numbers

    out = {"n": 0, "stored_right": 0, "fixed_asked": 0, "fixed_right": 0}
    for p in predictions:
        if p["qtype"] != "deepest_rep":
            continue
        out["n"] += 1
        out["stored_right"] += bool(p["correct"])
        target = fixed_target(p["sample"])
        if target is None:
            continue
        out["fixed_asked"] += 1
        said = read_numbers(p["text"], "index")
        out["fixed_right"] += bool(said) and said[0] == target
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        raise SystemExit(__doc__)
    from train.evaluate import load_predictions

    for spec in args:
        model, predictions = load_predictions(spec)
        print(model, json.dumps(score(predictions)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
