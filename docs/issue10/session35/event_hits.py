"""Session 35: the frame scorer's grounding hits on a held-out set's event-time turns, by the
event asked (recorded speed, or slowed with --slow), for each finished grounding run:

python docs/issue10/session35/event_hits.py artifacts/val46/heldout.jsonl runs/ground-s33 runs/g35a
python docs/issue10/session35/event_hits.py --slow artifacts/val49/heldout.jsonl runs/ground-s35 runs/g36

(``--slow``: every clip played slower by a factor drawn from ``HELDOUT_SLOW``, as the grounding
runs' slowed held-out copies; session 36.)

It reads held-out turns and a scorer; it trains and tunes nothing.
"""

import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repo root, for scripts/
from scripts.event_breakdown import asked_event  # noqa: E402
from train.data import load_jsonl, write_jsonl
from train.evaluate import HIT_GROUPS
from train.grounding import (
    HELDOUT_SLOW,
    build_set,
    example_scores,
    hit,
    load_run,
    question_embedding,
)
from train.pretrain import model_config

CONFIG = Path("train/configs/cpu.yaml")


def event_lines(heldout: Path, out: Path) -> None:
    """Write the lines of ``heldout`` that hold an event-time turn to ``out``."""
    kept = [s for s in load_jsonl(heldout)
            if any(q in HIT_GROUPS["event"] for q in s.meta.get("qtypes", []))]  # fmt: skip
    write_jsonl(out, kept)


def main(heldout: Path, runs: list[Path], slow: tuple[float, float] = (1.0, 1.0)) -> None:
    config, tokenizer, embed = question_embedding(model_config(CONFIG, ["init_from=scratch"]))
    with tempfile.TemporaryDirectory(dir=heldout.parent) as tmp:  # the motions' paths stay short
        path = Path(tmp) / "events.jsonl"
        event_lines(heldout, path)
        table = {}
        for run in runs:
            cfg, encoder, scorer = load_run(run, config)
            gset = build_set(path, cfg, tokenizer, encoder, None, [slow])
            counts: Counter = Counter()
            for ex in gset.examples:
                if ex.qtype not in HIT_GROUPS["event"]:
                    continue
                event = f"{ex.qtype.split('_')[0]} {asked_event(ex.qtype, tokenizer.decode(ex.question))}"
                counts[(event, "n")] += 1
                counts[(event, "hit")] += hit(
                    example_scores(scorer, gset, [ex], embed)[0], ex.windows
                )
            table[run.name] = counts
    names = sorted({e for c in table.values() for e, _ in c})
    print("| event | n | " + " | ".join(table) + " |")
    print("|---|---|" + "---|" * len(table))
    for e in [*names, None]:
        row = [sum(c[(x, "hit")] for x in names) if e is None else c[(e, "hit")]
               for c in table.values()]  # fmt: skip
        n = sum(next(iter(table.values()))[(x, "n")] for x in names if e in (None, x))
        print(f"| {e or 'all'} | {n} | " + " | ".join(str(v) for v in row) + " |")


if __name__ == "__main__":
    slowed = sys.argv[1] == "--slow"
    paths = [Path(p) for p in sys.argv[1 + slowed :]]
    main(paths[0], paths[1:], HELDOUT_SLOW if slowed else (1.0, 1.0))
