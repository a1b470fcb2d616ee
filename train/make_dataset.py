"""Build a synthetic, checkable training set: motions (.npz) + train.jsonl + heldout.jsonl.

    python -m train.make_dataset --out DIR --n-train 2000 --n-heldout 300 --seed 0

Each motion comes from ``train.synth`` and is saved either as its 3D skeleton or as a 2D
camera view (``--frac-2d``); each gets ``--dialogues`` multi-turn Q&A lines from
``train.qa`` (answers measured from the saved motion, targets in ``meta``). The held-out set
differs from the training set in both motion parameters (body heights, tempos and camera
elevations outside the training ranges) and question phrasings (``phrasing_split``), so an
evaluation on it measures generalisation rather than recall.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from core.analytics import analyze_motion
from core.analytics.report import MotionReport
from core.errors import InputError
from core.llamo.prompts import MAX_PROMPT_FACTS, PromptBudget, report_context
from core.motion import Motion
from core.motion_io import load_motion, save_motion
from train.budget_flags import add_budget_flags, budget_args
from train.data import Sample, write_jsonl
from train.qa import make_dialogues, measure
from train.synth import ACTIVITIES, sample_camera, synthesize


@dataclass(frozen=True)
class SplitSpec:
    """Parameter ranges of one split; each tuple lists (low, high) intervals to draw from."""

    name: str
    heights: tuple[tuple[float, float], ...]
    tempos: tuple[tuple[float, float], ...]
    elevations: tuple[tuple[float, float], ...]
    phrasing: str

    def draw(self, rng: np.random.Generator, intervals: tuple[tuple[float, float], ...]) -> float:
        lo, hi = intervals[int(rng.integers(len(intervals)))]
        return float(rng.uniform(lo, hi))


SPLITS: dict[str, SplitSpec] = {
    "train": SplitSpec("train", ((1.55, 1.88),), ((0.85, 1.15),), ((-5.0, 20.0),), "train"),
    # Held-out motions asked with the training phrasings: the main evaluation.
    "heldout": SplitSpec(
        "heldout",
        ((1.45, 1.55), (1.88, 1.98)),
        ((0.7, 0.85), (1.15, 1.3)),
        ((20.0, 35.0),),
        "train",
    ),
    # Held-out motions and new phrasings: reported separately.
    "heldout_phrasing": SplitSpec(
        "heldout_phrasing",
        ((1.45, 1.55), (1.88, 1.98)),
        ((0.7, 0.85), (1.15, 1.3)),
        ((20.0, 35.0),),
        "heldout",
    ),
}


def prompt_report(motion: Motion) -> MotionReport | None:
    """The analytics report the facts are made from, None when the motion cannot be analysed."""
    try:
        return analyze_motion(motion)
    except InputError:
        return None


def make_samples(
    spec: SplitSpec,
    n_lines: int,
    out: Path,
    rng: np.random.Generator,
    *,
    dialogues: int = 2,
    frac_2d: float = 0.4,
    activities: tuple[str, ...] = tuple(ACTIVITIES),
    prefix: str = "",
    facts_frac: float = 0.5,
    slow_frac: float = 0.0,
    slow_max: float = 3.0,
    budget: PromptBudget = PromptBudget(),
) -> list[Sample]:
    """``n_lines`` JSONL samples (``dialogues`` per synthesized motion) for one split; a
    ``facts_frac`` share of them carry the analytics facts for the prompt (``meta.context``);
    a ``slow_frac`` share of the motions are filmed in slow motion (played 1.5-``slow_max``
    times slower; every answer is measured on the slowed clip); ``budget``: the facts
    block's line budgets."""
    samples: list[Sample] = []
    bar = tqdm(total=n_lines, desc=spec.name, unit="line")
    k = 0
    while len(samples) < n_lines:
        activity = activities[k % len(activities)]
        camera = sample_camera(
            rng, elevation=spec.elevations[int(rng.integers(len(spec.elevations)))]
        )
        s = synthesize(
            activity,
            rng,
            height=spec.draw(rng, spec.heights),
            tempo=spec.draw(rng, spec.tempos),
            camera=camera,
            noise3d=float(rng.uniform(0.0, 0.5)),
        )
        use_2d = rng.random() < frac_2d
        motion = s.motion2d if use_2d else s.motion3d
        slow = 1.0
        if slow_frac > 0 and rng.random() < slow_frac:  # no draw at 0: old datasets unchanged
            slow = float(rng.uniform(1.5, slow_max))
            motion = motion.slow_motion(slow)
        path = save_motion(motion, out / "motions" / f"{prefix}{spec.name}_{k:06d}.npz")
        motion = load_motion(path)  # targets are measured on what the model will read
        k += 1
        try:
            facts = measure(motion, s.labels)
            made = make_dialogues(
                motion, s.labels, rng, n=dialogues, phrasing_split=spec.phrasing, facts=facts
            )
        except InputError as err:  # e.g. a view where the torso is hidden: skip this motion
            tqdm.write(f"skipped {path.name}: {err}")
            path.unlink()
            continue
        report = prompt_report(motion) if facts_frac > 0 else None
        for d in made:
            meta = {**d.meta(), "activity": activity, "split": spec.name, "space": motion.space.value,
                    "labels": s.labels.to_dict(), "slow_motion": round(slow, 3)}  # fmt: skip
            if report is not None and rng.random() < facts_frac:
                asked = [t["value"] for t in d.conversations() if t["from"] == "human"]
                meta["context"] = report_context(report, budget, asked)
            samples.append(Sample(d.conversations(), motion=path, meta=meta))
            bar.update(1)
            if len(samples) == n_lines:
                break
    bar.close()
    return samples


def refresh_facts(source: Path, out: Path, budget: PromptBudget) -> dict[str, int]:
    """``source``'s set with every facts block rebuilt within ``budget`` by today's analytics,
    written to ``out``: the same motions (not copied), dialogues and lines with facts, so a
    model trained further on it differs from one trained on ``source`` only by the new lines
    (a motion the analytics can no longer read keeps its block)."""
    from train.data import load_jsonl

    source, out = Path(source), Path(out)
    if not (source / "dataset.json").is_file():
        raise SystemExit(f"error: --facts-of {source}: no dataset.json there; give a folder "
                         "that train.make_dataset wrote")  # fmt: skip
    if source.resolve() == out.resolve():
        raise SystemExit("error: --out must differ from --facts-of (its set is read, not changed)")
    counts: dict[str, int] = {}
    for name in SPLITS:
        if not (path := source / f"{name}.jsonl").is_file():
            continue
        samples = load_jsonl(path) if path.read_text().strip() else []  # --n-train 0: empty
        for s in tqdm(samples, desc=f"{name} facts", unit="line"):
            report = prompt_report(load_motion(s.motion)) if "context" in s.meta else None
            if report is not None:
                asked = [t["value"] for t in s.conversations if t["from"] == "human"]
                s.meta["context"] = report_context(report, budget, asked)
        write_jsonl(out / path.name, samples)
        counts[name] = len(samples)
    info = json.loads((source / "dataset.json").read_text())
    info.update(asdict(budget), counts=counts, facts_of=str(source))
    (out / "dataset.json").write_text(json.dumps(info, indent=1))
    return counts


def main(out: Path, n_train: int = 2000, n_heldout: int = 300, seed: int = 0, dialogues: int = 2,
         frac_2d: float = 0.4, facts_frac: float = 0.5, n_heldout_phrasing: int = 0,
         slow_frac: float = 0.0, slow_max: float = 3.0,
         max_facts: int = MAX_PROMPT_FACTS, max_moments: int = 0,
         max_joints: int = 0, max_sides: int = 0, max_orders: int = 0,
         facts_of: Path | None = None) -> None:  # fmt: skip
    """CLI entry point (see module doc)."""
    if n_train < 0 or n_heldout < 0:
        raise SystemExit("error: --n-train and --n-heldout must be >= 0")
    if not 0.0 <= slow_frac <= 1.0 or slow_max < 1.5:
        raise SystemExit("error: --slow-frac must be in [0, 1] and --slow-max at least 1.5")
    try:
        budget = PromptBudget(max_facts=max_facts, max_moments=max_moments, max_joints=max_joints,
                              max_sides=max_sides, max_orders=max_orders)  # fmt: skip
    except ValueError as err:
        raise SystemExit(f"error: --{str(err).replace('_', '-')}") from None
    if facts_of is not None:
        counts = refresh_facts(facts_of, out, budget)
        lines = ", ".join(f"{n} {name}" for name, n in counts.items())
        print(f"wrote {lines} lines with {facts_of}'s motions and dialogues to {out}")
        return
    out = Path(out)
    (out / "motions").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    counts = {}
    for name, n in (("train", n_train), ("heldout", n_heldout),
                    ("heldout_phrasing", n_heldout_phrasing)):  # fmt: skip
        if n == 0 and name == "heldout_phrasing":
            continue
        samples = make_samples(SPLITS[name], n, out, rng, dialogues=dialogues, frac_2d=frac_2d,
                               facts_frac=facts_frac, slow_frac=slow_frac, slow_max=slow_max,
                               budget=budget)  # fmt: skip
        write_jsonl(out / f"{name}.jsonl", samples)
        counts[name] = len(samples)
    info = {"seed": seed, "counts": counts, "slow_frac": slow_frac, "slow_max": slow_max,
            **asdict(budget), "splits": {k: v.__dict__ for k, v in SPLITS.items()}}  # fmt: skip
    (out / "dataset.json").write_text(json.dumps(info, indent=1))
    print(f"wrote {counts['train']} train and {counts['heldout']} held-out lines to {out}")


def cli(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        prog="python -m train.make_dataset", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--n-train", type=int, default=2000)
    ap.add_argument("--n-heldout", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dialogues", type=int, default=2, help="Q&A lines per synthesized motion")
    ap.add_argument("--frac-2d", type=float, default=0.4, help="share of motions saved as 2D views")
    ap.add_argument(
        "--n-heldout-phrasing",
        type=int,
        default=0,
        help="lines of held-out motions asked with new phrasings (reported apart)",
    )
    ap.add_argument(
        "--facts-frac",
        type=float,
        default=0.5,
        help="share of lines with the analytics facts in the prompt",
    )
    ap.add_argument(
        "--slow-frac", type=float, default=0.0, help="share of motions filmed in slow motion"
    )
    ap.add_argument(
        "--slow-max", type=float, default=3.0, help="slow motion plays 1.5-SLOW_MAX times slower"
    )
    add_budget_flags(ap, per_model=False)
    ap.add_argument("--facts-of", type=Path, metavar="DIR",
                    help="rebuild DIR's facts blocks with these --max-* budgets instead of "
                         "synthesizing: the same motions, dialogues and lines with facts")  # fmt: skip
    a = ap.parse_args(argv)
    main(
        a.out,
        a.n_train,
        a.n_heldout,
        a.seed,
        a.dialogues,
        a.frac_2d,
        a.facts_frac,
        a.n_heldout_phrasing,
        a.slow_frac,
        a.slow_max,
        facts_of=a.facts_of,
        **budget_args(a),
    )


if __name__ == "__main__":
    cli()
