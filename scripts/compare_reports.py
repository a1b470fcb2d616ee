"""Paired comparison of two models evaluated on the same turns by ``train.evaluate``:

    python scripts/compare_reports.py A.json:MODEL B.json:MODEL

prints each model's correct count, the turns only one of them got right and the exact
McNemar p (``train.evaluate.mcnemar``); for reports made with facts, the same for event-time
answers that give another event's time than the asked one (``train.evaluate.facts_use``);
for reports made without, the same for event-time answers that give the most relevant
viewpoint's time (``train.evaluate.viewpoint_use``, recomputed, so older reports count too).
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from train.evaluate import HIT_GROUPS, load_predictions, mcnemar, viewpoint_use

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        raise SystemExit(__doc__)
    (a_name, a), (b_name, b) = load_predictions(args[0]), load_predictions(args[1])
    if [p["question"] for p in a] != [p["question"] for p in b]:
        raise SystemExit("error: the two reports were not made on the same turns")
    only_a, only_b, p = mcnemar([x["correct"] for x in a], [x["correct"] for x in b])
    print(f"n={len(a)}  {a_name}: {sum(x['correct'] for x in a)} right  "
          f"{b_name}: {sum(x['correct'] for x in b)} right  only {a_name}: {only_a}  "
          f"only {b_name}: {only_b}  exact McNemar p={p:.3f}")  # fmt: skip
    uses = [(x.get("facts_use"), y.get("facts_use")) for x, y in zip(a, b, strict=True)]
    uses = [(x, y) for x, y in uses if x is not None and y is not None]
    if uses:
        wrong_a, wrong_b = [x == "another" for x, _ in uses], [y == "another" for _, y in uses]
        only_a, only_b, p = mcnemar(wrong_a, wrong_b)
        print(f"event times with facts (n={len(uses)}), another event's time: {a_name} "
              f"{sum(wrong_a)}, {b_name} {sum(wrong_b)}  only {a_name}: {only_a}  "
              f"only {b_name}: {only_b}  exact McNemar p={p:.3f}")  # fmt: skip
    tops = [(x, y) for x, y in zip(a, b, strict=True)
            if x["qtype"] in HIT_GROUPS["event"] and {x.get("facts_use"), y.get("facts_use")} == {None}
            and x.get("top_time") is not None and y.get("top_time") is not None]  # fmt: skip
    if tops:
        read_a, read_b = ([viewpoint_use(p["text"], p["top_time"], p["viewpoint_times"]) == "top"
                           for p in side] for side in zip(*tops, strict=True))  # fmt: skip
        only_a, only_b, p = mcnemar(read_a, read_b)
        print(f"event times without facts (n={len(tops)}), the most relevant viewpoint's time: "
              f"{a_name} {sum(read_a)}, {b_name} {sum(read_b)}  only {a_name}: {only_a}  "
              f"only {b_name}: {only_b}  exact McNemar p={p:.3f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
