"""Session 39: a saved model's answers with facts, again, on only the held-out turns whose facts
block this session's analytics change (the baseball stride and foot plant), plus a few unchanged
turns as a check that answering again gives the same words. Greedy answers depend only on the
prompt, so the report's other turns stand as they are.

python docs/issue10/session39/refacts/reanswer.py --model runs/full-s38b/model \
    --report docs/issue10/session38/all/s38bf_47.json --data artifacts/synth47 \
    --out docs/issue10/session39/refacts/s38bf_47.json

It trains and tunes nothing. The facts each turn had before are read back from the report's
model with the code of its commit: ``--old-facts`` is a JSON of "index:question" -> facts block
written by ``--dump-facts`` under that commit.
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[4]))  # the repo root
from train.data import MotionDataset  # noqa: E402
from train.evaluate import (  # noqa: E402
    eval_items,
    evaluate_checkpoint,
    heldout_path,
    item_facts,
    prompt_budget,
)

SAME_CHECKS = 4  # unchanged turns answered again to show the words repeat


def facts_blocks(dataset: MotionDataset, model: str, per_type: int) -> dict[str, str | None]:
    """ "index:question" -> the facts block each turn's prompt gets with this code."""
    budget = prompt_budget(model)
    out = {}
    for it in eval_items(dataset.samples, per_type=per_type):
        asked = [q for q, _ in it.history] + [it.question]
        out[f"{it.index}:{it.question}"] = item_facts(dataset, it.index, budget, asked)[0]
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--per-type", type=int, default=24)
    p.add_argument("--dump-facts", help="only write this code's facts blocks to this JSON")
    p.add_argument("--old-facts", help="the facts blocks of the report's code (--dump-facts)")
    p.add_argument("--report", help="the report (JSON) made with the old facts")
    p.add_argument("--out")
    args = p.parse_args()
    dataset = MotionDataset.from_jsonl(heldout_path(args.data))
    new = facts_blocks(dataset, args.model, args.per_type)
    if args.dump_facts:
        Path(args.dump_facts).write_text(json.dumps(new))
        return
    old = json.loads(Path(args.old_facts).read_text())
    report = next(iter(json.loads(Path(args.report).read_text()).values()))
    items = eval_items(dataset.samples, per_type=args.per_type)
    keys = [f"{it.index}:{it.question}" for it in items]
    if [p["question"] for p in report["predictions"]] != [it.question for it in items]:
        raise SystemExit(
            f"--report: its turns are not {args.data}'s with --per-type {args.per_type}"
        )
    changed = [i for i, k in enumerate(keys) if old[k] != new[k]]
    same = [i for i, k in enumerate(keys) if old[k] == new[k]][:SAME_CHECKS]
    picked = changed + same
    scores = evaluate_checkpoint("again", args.model, [items[i] for i in picked], dataset,
                                 max_new_tokens=24, facts=True)  # fmt: skip
    rows = []
    for i, pred in zip(picked, scores.predictions, strict=True):
        before = report["predictions"][i]
        rows.append({"turn": keys[i], "qtype": items[i].qtype, "facts_changed": i in changed,
                     "before": before["text"], "before_right": before["correct"],
                     "again": pred.text, "again_right": pred.correct})  # fmt: skip
    right = sum(p["correct"] for p in report["predictions"])
    delta = sum(r["again_right"] - r["before_right"] for r in rows if r["facts_changed"])
    summary = {"turns": len(items), "facts_changed": len(changed), "right_before": right,
               "right_again": right + delta,
               "unchanged_repeat": all(r["again"] == r["before"] for r in rows
                                       if not r["facts_changed"])}  # fmt: skip
    Path(args.out).write_text(json.dumps({"summary": summary, "rows": rows}, indent=1))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
