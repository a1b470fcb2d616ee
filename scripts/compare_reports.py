"""Paired comparison of two models evaluated on the same turns by ``train.evaluate``:

    python scripts/compare_reports.py A.json:MODEL B.json:MODEL [A2.json:MODEL B2.json:MODEL ...]
        [--without QTYPE ... | --only QTYPE ...]

prints each model's correct count, the turns only one of them got right, the exact McNemar p
(``train.evaluate.mcnemar``) and B's accuracy minus A's with its paired 95% interval
(``train.evaluate.paired_difference``); more pairs (other held-out sets) are pooled,
``--without`` leaves question types out and ``--only`` keeps only those. For reports made with
facts, the same for event-time answers that give another event's time than the asked one
(``train.evaluate.facts_use``); for reports made without, the same for event-time answers that
give the most relevant viewpoint's time (``train.evaluate.viewpoint_use``, recomputed, so older
reports count too).
"""

from __future__ import annotations

import argparse
import sys


def pooled(
    specs: list[str], without: list[str], only: list[str] | None = None
) -> tuple[tuple[str, str], list[dict], list[dict]]:
    """The model names of the first pair and both models' predictions over every pair, the
    turns of the ``without`` question types left out (with ``only``, every other type's)."""
    from train.evaluate import load_predictions

    if not specs or len(specs) % 2:
        raise SystemExit("error: give the reports in pairs: A.json:MODEL B.json:MODEL [...]")
    names, a, b = None, [], []
    for spec_a, spec_b in zip(specs[::2], specs[1::2], strict=True):
        (a_name, pa), (b_name, pb) = load_predictions(spec_a), load_predictions(spec_b)
        if [p["question"] for p in pa] != [p["question"] for p in pb]:
            raise SystemExit(f"error: {spec_a} and {spec_b} were not made on the same turns")
        names = names or (a_name, b_name)
        keep = [i for i, p in enumerate(pa)
                if p["qtype"] not in without and (not only or p["qtype"] in only)]  # fmt: skip
        a += [pa[i] for i in keep]
        b += [pb[i] for i in keep]
    return names, a, b


def main(argv: list[str] | None = None) -> int:
    from train.evaluate import HIT_GROUPS, mcnemar, paired_difference, viewpoint_use

    parser = argparse.ArgumentParser(prog="compare_reports.py", description=__doc__.split(":")[0])
    parser.add_argument("reports", nargs="*", help="A.json:MODEL B.json:MODEL, one pair a set")
    kept = parser.add_mutually_exclusive_group()
    kept.add_argument("--without", nargs="+", default=[], metavar="QTYPE",
                      help="leave these question types out")  # fmt: skip
    kept.add_argument("--only", nargs="+", default=[], metavar="QTYPE",
                      help="keep only these question types")  # fmt: skip
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    (a_name, b_name), a, b = pooled(args.reports, args.without, args.only)
    a_right, b_right = [x["correct"] for x in a], [x["correct"] for x in b]
    only_a, only_b, p = mcnemar(a_right, b_right)
    print(f"n={len(a)}  {a_name}: {sum(a_right)} right  {b_name}: {sum(b_right)} right  "
          f"only {a_name}: {only_a}  only {b_name}: {only_b}  exact McNemar p={p:.3f}")  # fmt: skip
    diff, low, high = paired_difference(a_right, b_right)
    print(f"{b_name} - {a_name}: {100 * diff:+.1f} points, paired 95% interval "
          f"[{100 * low:+.1f}, {100 * high:+.1f}]")  # fmt: skip
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
