"""Which events are missed, and are their targets the motion's? (issue 10)

For every golf and baseball event-time turn of a ``train.evaluate`` report (its JSON): the
asked event (the question's words, from ``train.qa``'s vocabularies) and whether the turn's
target agrees with the synthesizer's label for that event, within the answer's tolerance.
"no label" marks the analytics' own events that the synthesizer does not label, such as the
baseball follow-through (and the start of the stride in sets built before session 36). The table gives the turns, grounding hits and correct answers for each
event and each agreement. It reads a held-out report; it tunes nothing.

    python scripts/event_breakdown.py docs/issue10/session11/report_full-s13.json
        [--data artifacts/synth3m/heldout.jsonl]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from core.analytics.order import BASEBALL_EVENT_WORDS, GOLF_EVENT_WORDS
from train.evaluate import HIT_GROUPS, heldout_path

WORDS = {"golf_event_time": GOLF_EVENT_WORDS, "baseball_event_time": BASEBALL_EVENT_WORDS}
AGREEMENTS = ("agrees", "disagrees", "no label")


def asked_event(qtype: str, question: str) -> str:
    """The event whose words the question holds (the longest: "start of the stride" over
    "stride"); ValueError when it holds none."""
    text = question.lower()
    found = [(len(w), e) for e, w in WORDS[qtype].items() if w in text]
    if not found:
        raise ValueError(f"question: no {qtype} event words in {question!r}")
    return max(found)[1]


def agreement(row: dict, question: str, event: str) -> str:
    """Whether the turn's target time is within its tolerance of the labelled event time."""
    meta = row["meta"]
    asked = [t["value"] for t in row["conversations"] if t["from"] == "human"]
    target = meta["targets"][asked.index(question)]
    labels = meta.get("labels") or {}
    if event not in labels.get("events", {}):
        return "no label"
    seconds = labels["events"][event] / labels["params"]["fps"] * meta.get("slow_motion", 1.0)
    return "agrees" if abs(seconds - target["value"]) <= target["tolerance"] else "disagrees"


def breakdown(predictions: list[dict], rows: list[dict]) -> Counter:
    """(qtype, event, agreement) -> turns, hits and correct answers; ``rows`` the held-out
    JSONL lines the report's ``sample`` ("path:N", N counted from 1) points into."""
    out: Counter = Counter()
    for p in predictions:
        if p["qtype"] not in HIT_GROUPS["event"]:
            continue
        row = rows[int(p["sample"].rsplit(":", 1)[1]) - 1]
        event = asked_event(p["qtype"], p["question"])
        key = (p["qtype"], event, agreement(row, p["question"], event))
        out[(*key, "n")] += 1
        out[(*key, "hit")] += bool(p["hit"])
        out[(*key, "correct")] += bool(p["correct"])
    return out


def table(counts: Counter) -> str:
    lines = ["| type | event | target vs label | n | hit | correct |", "|---|---|---|---|---|---|"]
    keys = sorted({k[:3] for k in counts}, key=lambda k: (k[0], k[1], AGREEMENTS.index(k[2])))
    for key in keys:
        n, h, c = (counts[(*key, m)] for m in ("n", "hit", "correct"))
        lines.append(f"| {key[0]} | {key[1]} | {key[2]} | {n} | {h} | {c} |")
    return "\n".join(lines)


def held_out_file(data: Path) -> Path:
    """The held-out JSONL (``train.evaluate.heldout_path``), or one line saying what to pass."""
    try:
        return heldout_path(data)
    except ValueError as err:
        raise SystemExit(f"{err}; or pass --data with the report's held-out JSONL") from None


def main(report: Path, data: Path | None = None) -> str:
    runs = json.loads(report.read_text())
    parts = []
    for name, run in runs.items():
        path = held_out_file(data or Path(run["predictions"][0]["sample"].rsplit(":", 1)[0]))
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        parts.append(f"{name}\n\n{table(breakdown(run['predictions'], rows))}")
    return "\n\n".join(parts)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("report", type=Path, help="a train.evaluate JSON report")
    ap.add_argument(
        "--data", type=Path, help="its held-out JSONL or dataset folder (default: the report's)"
    )
    a = ap.parse_args()
    print(main(a.report, a.data))
