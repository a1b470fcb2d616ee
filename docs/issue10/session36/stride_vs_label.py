"""Session 36: each start-of-the-stride turn of held-out sets, its target against the
synthesizer's stride start (the load keyframe; sets built before session 36 lack the ``stride``
label, so the load's frame stands in), and, given the model's report on the set, whether its most
relevant frame hit:

python docs/issue10/session36/stride_vs_label.py artifacts/synth44/heldout.jsonl[:REPORT.json]...

It reads held-out turns and reports; it trains and tunes nothing.
"""

import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repo root, for scripts/
from scripts.event_breakdown import agreement, asked_event, breakdown  # noqa: E402

KEY = ("baseball_event_time", "stride")


def labelled_rows(heldout: Path) -> list[dict]:
    """The set's lines, each baseball swing's labels given the stride start where they lack it."""
    rows = [json.loads(line) for line in heldout.read_text().splitlines()]
    for row in rows:
        events = (row["meta"].get("labels") or {}).get("events", {})
        if "load" in events:
            events.setdefault("stride", events["load"])
    return rows


def every_turn(rows: list[dict]) -> Counter:
    """(agreement, "-") -> the set's stride turns, with no report to say which were hit."""
    out: Counter = Counter()
    for row in rows:
        asked = [t["value"] for t in row["conversations"] if t["from"] == "human"]
        for q, qtype in zip(asked, row["meta"]["qtypes"], strict=False):
            if qtype == KEY[0] and asked_event(qtype, q) == KEY[1]:
                out[(agreement(row, q, KEY[1]), "-")] += 1
    return out


def reported_turns(rows: list[dict], report: Path) -> Counter:
    """(agreement, hit | miss) -> the report's stride turns."""
    out: Counter = Counter()
    for run in json.loads(report.read_text()).values():
        counts = breakdown(run["predictions"], rows)
        for agree in ("agrees", "disagrees"):
            n, hit = (counts[(*KEY, agree, m)] for m in ("n", "hit"))
            out[(agree, "hit")] += hit
            out[(agree, "miss")] += n - hit
    return +out


def main(args: list[str]) -> None:
    print("| set | target vs label | most relevant frame | turns |\n|---|---|---|---|")
    for arg in args:
        heldout, _, report = arg.partition(":")
        rows = labelled_rows(Path(heldout))
        counts = reported_turns(rows, Path(report)) if report else every_turn(rows)
        for (agree, hit), n in sorted(counts.items()):
            print(f"| {heldout} | {agree} | {hit} | {n} |")


if __name__ == "__main__":
    main(sys.argv[1:])
