"""Is the rep count in the prompt? (issue 10)

For every ``rep_count`` turn of a ``train.evaluate`` report (its JSON), count the groups of
the turn's viewpoint times (the "t=..s" texts the LLM reads): a new group starts where two
neighbouring times are more than GAP seconds apart. Where the groups match the count, the
Cross Talker has put the count in the prompt, and a wrong answer is the LLM's. The gaps are
a sweep, not a tuned rule: it reads the held-out report it scores.

    python scripts/count_oracle.py core/weights/default/eval_report.json [--gaps 0.3 0.5 0.8]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

COUNT_QTYPE = "rep_count"


def time_groups(times: list[float], gap: float) -> int:
    """Groups of sorted ``times`` whose neighbours are at most ``gap`` s apart."""
    ts = sorted(times)
    return (1 + sum(1 for a, b in zip(ts, ts[1:], strict=False) if b - a > gap)) if ts else 0


def sweep(predictions: list[dict], gaps: list[float]) -> list[dict]:
    """Per gap: exact and within-one shares of groups vs the true count, and the answers'."""
    turns = [p for p in predictions if p["qtype"] == COUNT_QTYPE and p.get("viewpoint_times")]
    n = len(turns)
    said = [p for p in turns if p.get("count") is not None]
    rows = [{"gap_s": "answer", "n": n,
             "exact": sum(float(p["count"]) == float(p["target"]) for p in said) / max(n, 1),
             "obo": sum(abs(float(p["count"]) - float(p["target"])) <= 1 for p in said) / max(n, 1)}]  # fmt: skip
    for gap in gaps:
        diffs = [time_groups(p["viewpoint_times"], gap) - float(p["target"]) for p in turns]
        rows.append({"gap_s": gap, "n": n, "exact": sum(d == 0 for d in diffs) / max(n, 1),
                     "obo": sum(abs(d) <= 1 for d in diffs) / max(n, 1)})  # fmt: skip
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("report", type=Path, help="train.evaluate's JSON report")
    ap.add_argument("--gaps", type=float, nargs="+", default=[0.3, 0.4, 0.5, 0.6, 0.8, 1.0])
    a = ap.parse_args()
    if not a.report.is_file():
        raise SystemExit(f"error: {a.report} is not a file; give train.evaluate's JSON report")
    for name, model in json.loads(a.report.read_text()).items():
        for row in sweep(model["predictions"], a.gaps):
            print(name, json.dumps({k: round(v, 3) if isinstance(v, float) else v
                                    for k, v in row.items()}))  # fmt: skip


if __name__ == "__main__":
    main()
