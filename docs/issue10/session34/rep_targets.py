"""Session 34 §1: the rep turns of saved evaluation reports, scored apart by whether their
clip's measured reps agree with the synthesizer's labels (sets built before a59798b asked
rep questions of clips the analytics counted wrong):

python docs/issue10/session34/rep_targets.py REPORT.json [REPORT.json ...]
"""

import json
import sys
from collections import Counter
from functools import cache
from pathlib import Path

from core.analytics import EXERCISES
from core.motion_io import load_motion
from train.data import Sample, load_jsonl
from train.qa import measure
from train.synth import SynthLabels

REP_TYPES = ("rep_count", "rep_span", "rep_duration", "rep_at", "slowest_rep", "deepest_rep",
             "before_after")  # fmt: skip


@cache
def samples_by_place(path: str) -> dict[str, Sample]:
    """A held-out file's lines by their "file:line", as the reports name them."""
    return {s.where: s for s in load_jsonl(path)}


@cache
def reps_agree(sample: str) -> bool | None:
    """None for a clip that is not an exercise; else whether its reps agree with its labels."""
    s = samples_by_place(sample.rsplit(":", 1)[0])[sample]
    if s.meta["activity"] not in EXERCISES:
        return None
    return (
        measure(load_motion(s.motion), SynthLabels.from_dict(s.meta["labels"])).rep_count
        is not None
    )


def main(reports: list[str]) -> None:
    for report in reports:
        for name, run in json.loads(Path(report).read_text()).items():
            right, total, obo = Counter(), Counter(), Counter()
            for p in run["predictions"]:
                if p["qtype"] in REP_TYPES and (agree := reps_agree(p["sample"])) is not None:
                    key = ("agree" if agree else "disagree", p["qtype"])
                    total[key] += 1
                    right[key] += bool(p["correct"])
                    obo[key] += p["count"] is not None and abs(p["count"] - float(p["target"])) <= 1
            cells = [f"{g} {sum(right[k] for k in total if k[0] == g)}/"
                     f"{sum(total[k] for k in total if k[0] == g)}" for g in ("agree", "disagree")]  # fmt: skip
            count = {g: f"{right[(g, 'rep_count')]} right, {obo[(g, 'rep_count')]} OBO of "
                        f"{total[(g, 'rep_count')]}" for g in ("agree", "disagree")}  # fmt: skip
            print(f"{report} | {name} | rep turns: {', '.join(cells)} | rep_count: {count}")


if __name__ == "__main__":
    main(sys.argv[1:])
