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
from scripts.event_breakdown import asked_event  # noqa: E402
from train.data import load_jsonl


def stride_turns(heldout: Path, report: Path | None) -> Counter:
    """(agrees | disagrees, hit | miss | -) -> turns."""
    hits: dict[tuple[int, str], bool] = {}
    if report is not None:
        for run in json.loads(report.read_text()).values():
            for p in run["predictions"]:
                hits[(int(p["sample"].rsplit(":", 1)[1]), p["question"])] = bool(p["hit"])
    out: Counter = Counter()
    for n, s in enumerate(load_jsonl(heldout, check_files=False), start=1):
        asked = [t["value"] for t in s.conversations if t["from"] == "human"]
        for q, qtype, target in zip(asked, s.meta["qtypes"], s.meta["targets"], strict=False):
            if qtype != "baseball_event_time" or asked_event(qtype, q) != "stride":
                continue
            labels = s.meta["labels"]
            frame = labels["events"].get("stride", labels["events"]["load"])
            seconds = frame / labels["params"]["fps"] * s.meta.get("slow_motion", 1.0)
            agrees = abs(seconds - target["value"]) <= target["tolerance"]
            hit = {True: "hit", False: "miss", None: "-"}[hits.get((n, q))]
            out[("agrees" if agrees else "disagrees", hit)] += 1
    return out


def main(args: list[str]) -> None:
    print("| set | target vs label | most relevant frame | turns |\n|---|---|---|---|")
    for arg in args:
        heldout, _, report = arg.partition(":")
        for (agree, hit), n in sorted(
            stride_turns(Path(heldout), Path(report) if report else None).items()
        ):
            print(f"| {heldout} | {agree} | {hit} | {n} |")


if __name__ == "__main__":
    main(sys.argv[1:])
