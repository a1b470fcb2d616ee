"""One line per turn of the given question types, each alone (issue 10, session 20).

A focused training set for a diagnostic run: every turn of ``--types`` in a data engine JSONL
becomes its own line (its question and answer only, no earlier turns), written beside the
source so the motion paths still resolve.

    python scripts/turns_of_type.py artifacts/synth3m/train.jsonl --types bend_compare \
        --out artifacts/synth3m/bend_only.jsonl
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from train.data import Sample, load_jsonl, write_jsonl


def turns_of_type(samples: list[Sample], types: set[str]) -> list[Sample]:
    """Each turn whose ``meta.qtypes`` entry is in ``types``, as a one-turn sample."""
    out = []
    for s in samples:
        qtypes, targets = s.meta.get("qtypes") or [], s.meta.get("targets") or []
        for k, qtype in enumerate(qtypes):
            if qtype in types:
                meta = {**s.meta, "qtypes": [qtype], "targets": targets[k : k + 1]}
                out.append(replace(s, conversations=s.conversations[2 * k : 2 * k + 2], meta=meta))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data", type=Path, help="a data engine JSONL (train.make_dataset)")
    ap.add_argument("--types", nargs="+", required=True, help="question types to keep")
    ap.add_argument("--out", type=Path, required=True, help="JSONL in the same folder")
    a = ap.parse_args()
    if a.out.resolve().parent != a.data.resolve().parent:
        raise SystemExit(f"error: write {a.out.name} into {a.data.parent} so its motions resolve")
    turns = turns_of_type(load_jsonl(a.data), set(a.types))
    if not turns:
        raise SystemExit(f"error: {a.data} has no turn of {a.types}")
    write_jsonl(a.out, turns)
    print(f"{len(turns)} turns of {a.types} in {a.out}")


if __name__ == "__main__":
    main()
