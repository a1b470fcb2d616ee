"""Session 41: the shipped scorer's grounding hit rate pooled over every held-out set built
since the stride targets are checked (session 36), with the 95% Wilson interval:

python docs/issue10/session41/pooled_hits.py REPORT.json:MODEL [...]

It trains and tunes nothing; it reads the ``hit`` of each saved prediction.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repo root
from train.evaluate import HIT_GROUPS, load_predictions, wilson  # noqa: E402


def main(specs: list[str]) -> None:
    total = {g: [0, 0] for g in HIT_GROUPS}
    print("| report | " + " | ".join(f"hit {g}" for g in HIT_GROUPS) + " |")
    print("|---" * (len(HIT_GROUPS) + 1) + "|")
    for spec in specs:
        _, preds = load_predictions(spec)
        row = []
        for group, qtypes in HIT_GROUPS.items():
            hits = [p["hit"] for p in preds if p["qtype"] in qtypes and p["hit"] is not None]
            total[group][0] += sum(hits)
            total[group][1] += len(hits)
            row.append(f"{sum(hits)} / {len(hits)}")
        print(f"| {spec.split(':')[0]} | " + " | ".join(row) + " |")
    cells = []
    for k, n in total.values():
        lo, hi = wilson(k, n)
        cells.append(f"**{k} / {n} = {100 * k / n:.1f}%** [{100 * lo:.1f}, {100 * hi:.1f}]")
    print("| pooled | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
