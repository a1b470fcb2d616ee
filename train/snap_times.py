"""Event-time targets that give a time the prompt shows.

    python -m train.snap_times --model core/weights/default --data artifacts/s37train --out artifacts/s38train

An event-time target is the analytics' time measured on the saved motion, which is seldom the
``t=`` text of any viewpoint in the prompt, so each such step teaches the LLM to write a time of
its own instead of reading its grounding. Here every event-time answer without facts in a set is
rewritten to the most relevant viewpoint's time as the prompt writes it, when that time is within
the answer's tolerance of the target; else to the nearest viewpoint's time within it; else it is
left alone. The viewpoints are ``--model``'s, computed the way training computes them
(``LLaMo.collate``, ``fuse``, ``viewpoint_order``), so a run that freezes the motion modules sees
the same ones. Answers with facts in the prompt copy the facts and stay as they are.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import torch
from tqdm import tqdm

from core.llamo.prompts import timestamp_text
from core.written_numbers import NUMBER
from train.data import MotionDataset, PerTurn, load_jsonl, write_jsonl

EVENT_QTYPES = ("golf_event_time", "baseball_event_time")


def written(seconds: float) -> float:
    """A time as the prompt's ``t=`` text writes it (the prompt registry's template)."""
    return float(NUMBER.search(timestamp_text(seconds)).group())


def snap_time(target: float, tolerance: float, times: Sequence[float]) -> tuple[float, str]:
    """(time, how) for one answer: ``times`` are the viewpoints' times in prompt order, the most
    relevant first. "top": the first is within ``tolerance`` of ``target``; "other": the nearest
    of the rest is; "kept": none is, and ``target`` stays."""
    shown = [written(t) for t in times]
    if shown and abs(shown[0] - target) <= tolerance:
        return shown[0], "top"
    near = [t for t in shown if abs(t - target) <= tolerance]
    if near:
        return min(near, key=lambda t: abs(t - target)), "other"
    return target, "kept"


def prompt_times(model: object, example: dict) -> list[float]:
    """The viewpoints' times of one training example, in the order its prompt gives them."""
    with torch.no_grad():
        batch = model.collate([example])
        fusion = model.fuse(batch)
        order = model.viewpoint_order(fusion, 0)  # (K'',)
        return [float(t) for t in fusion.timestamps[0][order].tolist()]


def snap_set(model: object, path: Path, qtypes: Sequence[str] = EVENT_QTYPES) -> tuple[list, dict]:
    """(samples of ``path`` with their answers rewritten, counts of "top"/"other"/"kept")."""
    samples = load_jsonl(path)
    turns = PerTurn(MotionDataset(samples, load_crops=False))
    counts = {"top": 0, "other": 0, "kept": 0}
    for j, (i, k) in enumerate(tqdm(turns.index, desc=f"{path.name} turns", unit="turn")):
        meta = samples[i].meta
        asked = meta.get("qtypes") or []
        if "context" in meta or k >= len(asked) or asked[k] not in qtypes:
            continue
        target = meta["targets"][k]
        time, how = snap_time(float(target["value"]), float(target["tolerance"]),
                              prompt_times(model, turns[j]))  # fmt: skip
        counts[how] += 1
        if how != "kept":
            answer = [t for t in samples[i].conversations if t["from"] == "gpt"][k]
            answer["value"] = NUMBER.sub(f"{time:.2f}", answer["value"], count=1)
            target["value"] = time
    return samples, counts


def main(model_dir: Path, data: Path, out: Path, qtypes: Sequence[str] = EVENT_QTYPES) -> dict:
    """CLI entry point: ``data``'s train.jsonl rewritten into ``out`` with its dataset.json."""
    from core.llamo.model import LLaMo

    data, out = Path(data), Path(out)
    if not (data / "train.jsonl").is_file() or not (data / "dataset.json").is_file():
        raise SystemExit(f"error: --data {data}: needs train.jsonl and dataset.json there; give "
                         "a folder that train.make_dataset wrote")  # fmt: skip
    if data.resolve() == out.resolve():
        raise SystemExit("error: --out must differ from --data (its set is read, not changed)")
    model = LLaMo.from_pretrained(model_dir, device="cpu")
    model.eval()
    samples, counts = snap_set(model, data / "train.jsonl", qtypes)
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl(out / "train.jsonl", samples)
    info = json.loads((data / "dataset.json").read_text())
    info.update(counts={"train": len(samples), "heldout": 0},
                snapped={"of": str(data), "model": str(model_dir), "qtypes": list(qtypes),
                         "answers": counts})  # fmt: skip
    (out / "dataset.json").write_text(json.dumps(info, indent=1))
    print(f"wrote {len(samples)} lines to {out}; event-time answers without facts: {counts}")
    return counts


def cli(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, required=True, help="saved LLaMo whose viewpoints to use")
    ap.add_argument("--data", type=Path, required=True, help="folder with train.jsonl")
    ap.add_argument("--out", type=Path, required=True, help="new folder for the rewritten set")
    ap.add_argument("--qtypes", nargs="+", default=list(EVENT_QTYPES),
                    help="question types whose answers to rewrite (default: the event times)")  # fmt: skip
    a = ap.parse_args(argv)
    if not (a.model / "config.json").is_file():
        ap.error(f"--model {a.model}: no config.json there; give a saved LLaMo folder")
    main(a.model, a.data, a.out, a.qtypes)


if __name__ == "__main__":
    cli()
