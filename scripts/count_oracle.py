"""Is the rep count in the prompt? (issue 10)

For every ``rep_count`` turn of a ``train.evaluate`` report (its JSON), count the groups of
the turn's viewpoint times (the "t=..s" texts the LLM reads): a new group starts where two
neighbouring times are more than GAP seconds apart. Where the groups match the count, the
Cross Talker has put the count in the prompt, and a wrong answer is the LLM's. The gaps are
a sweep, not a tuned rule: it reads the held-out report it scores.

    python scripts/count_oracle.py core/weights/default/eval_report.json [--gaps 0.3 0.5 0.8]
        [--min-sizes 1 2]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from core.llamo.prompts import time_groups
from train.evaluate import count_metrics

COUNT_QTYPE = "rep_count"


def sweep(predictions: list[dict], gaps: list[float], min_sizes: tuple[int, ...] = (1,)
          ) -> list[dict]:  # fmt: skip
    """Per gap and smallest counted group: exact share and ``train.evaluate.count_metrics``
    (OBO, MAE) of the groups vs the true count, after the answers' own."""
    turns = [p for p in predictions if p["qtype"] == COUNT_QTYPE and p.get("viewpoint_times")]
    targets = [float(p["target"]) for p in turns]
    counts = [(("answer", None), [p.get("count") for p in turns])]
    counts += [((gap, k), [time_groups(p["viewpoint_times"], gap, k) for p in turns])
               for gap in gaps for k in min_sizes]  # fmt: skip
    rows = []
    for (gap, k), said in counts:
        m = count_metrics(said, targets)
        exact = sum(c is not None and float(c) == t for c, t in zip(said, targets, strict=True))
        rows.append({"gap_s": gap, "min_size": k, "n": m.n, "exact": exact / max(m.n, 1),
                     "obo": m.obo, "mae": m.mae})  # fmt: skip
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("report", type=Path, help="train.evaluate's JSON report")
    ap.add_argument("--gaps", type=float, nargs="+", default=[0.3, 0.4, 0.5, 0.6, 0.8, 1.0])
    ap.add_argument("--min-sizes", type=int, nargs="+", default=[1],
                    help="count only groups of at least this many viewpoints (a sweep)")  # fmt: skip
    a = ap.parse_args()
    if not a.report.is_file():
        raise SystemExit(f"error: {a.report} is not a file; give train.evaluate's JSON report")
    for name, model in json.loads(a.report.read_text()).items():
        for row in sweep(model["predictions"], a.gaps, tuple(a.min_sizes)):
            print(name, json.dumps({k: round(v, 3) if isinstance(v, float) else v
                                    for k, v in row.items()}))  # fmt: skip


if __name__ == "__main__":
    main()
