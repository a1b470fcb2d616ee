"""Held-out evaluation of LLaMo checkpoints, with the ablation table in the same run.

    python -m train.evaluate --checkpoint runs/full/model --data data/synth --out report.md \
        [--ablation "text-only=runs/text/model" --ablation "all-frames=runs/allf/model" ...]

Metrics on the held-out split (held-out motion parameters and phrasings):
* accuracy per question type via ``train.qa.check_answer`` (the criterion of each type is
  stated in the report);
* temporal grounding R@1 at IoU 0.5 / 0.7 (MoChat): the answer's first time span
  ("from 1.2 s to 2.3 s") against the target span; no span counts as IoU 0;
* repetition counting OBO (|pred - true| <= 1) and MAE (LLaMo Table 4); an answer without a
  number counts as 0 reps.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from train.answers import read_count, read_span

IOU_THRESHOLDS = (0.5, 0.7)


# -- metrics on single answers --------------------------------------------------------------
def temporal_iou(pred: tuple[float, float] | None, target: tuple[float, float]) -> float:
    """Intersection over union of two time spans (seconds); 0 for a missing prediction."""
    if pred is None:
        return 0.0
    inter = max(0.0, min(pred[1], target[1]) - max(pred[0], target[0]))
    union = max(pred[1], target[1]) - min(pred[0], target[0])
    return inter / union if union > 0 else float(pred == tuple(target))


# -- aggregate metrics ------------------------------------------------------------------------
def recall_at_1(ious: Sequence[float], threshold: float) -> float:
    """R@1 at ``threshold``: the share of questions whose one answer span has IoU >= it."""
    if not ious:
        return float("nan")
    return float(np.mean([iou >= threshold for iou in ious]))


@dataclass(frozen=True)
class CountMetrics:
    """Repetition counting: OBO accuracy, MAE, how many answers had no number."""

    n: int
    obo: float
    mae: float
    unparsed: int


def count_metrics(preds: Sequence[float | None], targets: Sequence[float]) -> CountMetrics:
    """OBO = share with |pred - true| <= 1; MAE = mean |pred - true|; None counts as 0."""
    if len(preds) != len(targets):
        raise ValueError(f"count_metrics: {len(preds)} predictions for {len(targets)} targets")
    if not targets:
        return CountMetrics(0, float("nan"), float("nan"), 0)
    err = np.abs(np.array([p or 0 for p in preds], float) - np.asarray(targets, float))
    unparsed = sum(p is None for p in preds)
    return CountMetrics(len(targets), float(np.mean(err <= 1)), float(err.mean()), unparsed)


@dataclass
class Prediction:
    """One held-out question answered by one model."""

    sample: str
    qtype: str
    question: str
    target: object
    text: str
    correct: bool
    iou: float | None = None
    count: float | None = None


def accuracy_by_type(preds: Iterable[Prediction]) -> dict[str, tuple[int, int]]:
    """qtype -> (correct, total), sorted by qtype."""
    out: dict[str, list[int]] = {}
    for p in preds:
        tally = out.setdefault(p.qtype, [0, 0])
        tally[0] += int(p.correct)
        tally[1] += 1
    return {k: (v[0], v[1]) for k, v in sorted(out.items())}


@dataclass
class ModelScores:
    """Every metric of one model on the held-out set."""

    name: str
    checkpoint: str
    per_type: dict[str, tuple[int, int]]
    accuracy: float
    grounding: dict[str, float]
    mean_iou: float
    counting: CountMetrics
    seconds: float
    predictions: list[Prediction] = field(default_factory=list, repr=False)


def score(name: str, checkpoint: str, preds: list[Prediction], seconds: float = 0.0,
          count_qtypes: Iterable[str] = ()) -> ModelScores:  # fmt: skip
    """Aggregate one model's predictions (``iou`` set on grounding questions, ``count`` and
    a target count on the ``count_qtypes``)."""
    ious = [p.iou for p in preds if p.iou is not None]
    counts = [p for p in preds if p.qtype in set(count_qtypes)]
    per_type = accuracy_by_type(preds)
    n = sum(t for _, t in per_type.values())
    return ModelScores(
        name=name,
        checkpoint=checkpoint,
        per_type=per_type,
        accuracy=sum(c for c, _ in per_type.values()) / n if n else float("nan"),
        grounding={f"R@1 IoU={t}": recall_at_1(ious, t) for t in IOU_THRESHOLDS},
        mean_iou=float(np.mean(ious)) if ious else float("nan"),
        counting=count_metrics([p.count for p in counts], [float(p.target) for p in counts]),
        seconds=seconds,
        predictions=preds,
    )


# -- held-out questions --------------------------------------------------------------------------
@dataclass
class EvalItem:
    """One question of a held-out dialogue, with the true earlier turns as history."""

    index: int  # sample (JSONL line) index
    sample: str
    question: str
    history: list[tuple[str, str]]
    qtype: str
    target: dict


def heldout_path(data: str | Path) -> Path:
    """``data`` itself when it is a JSONL file, else ``data/heldout.jsonl``."""
    path = Path(data)
    path = path if path.suffix == ".jsonl" else path / "heldout.jsonl"
    if not path.is_file():
        raise ValueError(
            f"--data: {path} does not exist; build it with python -m train.make_dataset"
        )
    return path


def eval_items(
    samples: Sequence, limit: int | None = None, per_type: int | None = None
) -> list[EvalItem]:
    """Every (question, target) turn of ``samples`` (``meta.qtypes``/``meta.targets``) in
    file order; at most ``per_type`` of each question type, then the first ``limit``."""
    items: list[EvalItem] = []
    for i, s in enumerate(samples):
        qtypes, targets = s.meta.get("qtypes"), s.meta.get("targets")
        turns = s.conversations
        if (
            not qtypes
            or not targets
            or len(qtypes) != len(turns) // 2
            or len(targets) != len(qtypes)
        ):
            raise ValueError(f"{s.where}: meta needs one qtype and one target per question turn")
        for j, (qtype, target) in enumerate(zip(qtypes, targets, strict=True)):
            history = [(turns[2 * k]["value"], turns[2 * k + 1]["value"]) for k in range(j)]
            items.append(EvalItem(i, s.where, turns[2 * j]["value"], history, qtype, target))
    if per_type:
        seen: dict[str, int] = {}
        kept = []
        for item in items:
            seen[item.qtype] = seen.get(item.qtype, 0) + 1
            if seen[item.qtype] <= per_type:
                kept.append(item)
        items = kept
    return items[:limit] if limit else items


def judge(item: EvalItem, text: str) -> Prediction:
    """Score one answer: ``check_answer``, plus IoU for span targets and the parsed count
    for rep counting."""
    from train.qa import check_answer

    pred = Prediction(item.sample, item.qtype, item.question, item.target["value"], text,
                      bool(check_answer(item.qtype, item.target, text)))  # fmt: skip
    if item.target["kind"] == "span":
        pred.iou = temporal_iou(read_span(text), tuple(item.target["value"]))
    if item.qtype in COUNT_QTYPES:
        pred.count = read_count(text)
    return pred


COUNT_QTYPES = ("rep_count",)


# -- running models -------------------------------------------------------------------------------
def model_kind(checkpoint: Path) -> str:
    """How a checkpoint was trained, from its ``train_config.yaml`` (for the report)."""
    import yaml

    path = Path(checkpoint) / "train_config.yaml"
    if not path.is_file():
        return "unknown recipe (no train_config.yaml)"
    cfg = yaml.safe_load(path.read_text())
    model = cfg.get("model", {})
    parts = [f"fusion={model.get('fusion', 'cross_talker')}",
             f"timestamps={'on' if model.get('use_timestamps', True) else 'off'}"]  # fmt: skip
    if cfg.get("motion_input") == "blank":
        parts = ["text-only: every motion replaced by one fixed pose"] + parts
    steps = "+".join(f"{s['steps']} {s['name']}" for s in cfg.get("stages", []))
    return ", ".join(parts) + f"; {steps} steps"


def answer_items(model, items: Sequence[EvalItem], dataset, *, blank=None,
                 max_new_tokens: int = 48, desc: str = "eval") -> list[Prediction]:  # fmt: skip
    """Greedy answers of ``model`` to every item, judged."""
    from tqdm.auto import tqdm

    preds = []
    for item in tqdm(items, desc=desc, unit="q", dynamic_ncols=True):
        example = dataset[item.index]
        motion = blank if blank is not None else example["motion"]
        video = example["video"] if model.config.use_video and blank is None else None
        answer = model.answer(motion, item.question, video=video, history=item.history,
                              max_new_tokens=max_new_tokens)  # fmt: skip
        preds.append(judge(item, answer.text))
    return preds


def evaluate_checkpoint(name: str, checkpoint: str | Path, items: Sequence[EvalItem], dataset,
                        *, max_new_tokens: int = 48, device: str | None = None) -> ModelScores:  # fmt: skip
    """Load one saved model, answer every item, aggregate."""
    import torch

    from core.llamo.model import LLaMo
    from train.finetune import load_blank_motion

    start = time.perf_counter()
    model = LLaMo.from_pretrained(checkpoint, device=device)
    model.eval()
    with torch.no_grad():
        preds = answer_items(model, items, dataset, blank=load_blank_motion(Path(checkpoint)),
                             max_new_tokens=max_new_tokens, desc=name)  # fmt: skip
    seconds = time.perf_counter() - start
    return score(name, str(checkpoint), preds, seconds, COUNT_QTYPES)


# -- the report -------------------------------------------------------------------------------------
def criterion(target: dict) -> str:
    """How ``check_answer`` judges a target, in words."""
    kind, tol, unit = target["kind"], float(target.get("tolerance", 0.0)), target.get("unit", "")
    if kind == "choice":
        return "choice: the first option named"
    if kind == "span":
        return f"span: both ends within ±{tol:g} s"
    if unit == "index":
        return "number: exact rep index"
    if unit == "count":
        return "number: exact count" if tol == 0 else f"number: count within ±{tol:g}"
    symbol = {"s": " s", "deg": "°"}.get(unit, "")
    return "number: exact" if tol == 0 else f"number: within ±{tol:g}{symbol}"


def _pct(x: float) -> str:
    return "–" if x != x else f"{100 * x:.1f}%"


def _num(x: float) -> str:
    return "–" if x != x else f"{x:.2f}"


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines + [""]


def format_report(scores: Sequence[ModelScores], items: Sequence[EvalItem], *, command: str,
                  data: str, recipes: dict[str, str]) -> str:  # fmt: skip
    """Markdown: models, the ablation summary, accuracy per type, grounding, counting."""
    n_lines = len({i.index for i in items})
    out = ["# LLaMo held-out evaluation", "",
           f"Data: `{data}`: {len(items)} questions from {n_lines} held-out dialogues "
           "(held-out motion parameters and phrasings). Greedy decoding; earlier turns of a "
           "dialogue are given as history with their true answers.", "",
           "```", command, "```", "", "## Models", ""]  # fmt: skip
    out += _table(["model", "checkpoint", "recipe", "eval time"],
                  [(s.name, f"`{s.checkpoint}`", recipes.get(s.name, ""), f"{s.seconds:.0f} s")
                   for s in scores])  # fmt: skip
    out += ["## Summary (ablation)", ""]
    out += _table(
        ["model", "accuracy (all types)", "R@1 IoU=0.5", "R@1 IoU=0.7", "mean IoU",
         "count OBO", "count MAE"],
        [(s.name, _pct(s.accuracy), _pct(s.grounding["R@1 IoU=0.5"]), _pct(s.grounding["R@1 IoU=0.7"]),
          _num(s.mean_iou), _pct(s.counting.obo), _num(s.counting.mae)) for s in scores],
    )  # fmt: skip
    out += ["## Accuracy per question type", "",
            "Scored by `train.qa.check_answer`; the criterion column says how.", ""]  # fmt: skip
    criteria: dict[str, set[str]] = {}
    for item in items:
        criteria.setdefault(item.qtype, set()).add(criterion(item.target))
    rows = []
    for qtype in sorted(criteria):
        n = scores[0].per_type.get(qtype, (0, 0))[1] if scores else 0
        cells = [
            _pct(c / t) if t else "–" for c, t in (s.per_type.get(qtype, (0, 0)) for s in scores)
        ]
        rows.append([qtype, "; ".join(sorted(criteria[qtype])), n, *cells])
    out += _table(["question type", "criterion", "n", *(s.name for s in scores)], rows)
    out += _grounding_section(scores) + _counting_section(scores)
    return "\n".join(out)


def _grounding_section(scores: Sequence[ModelScores]) -> list[str]:
    out = ["## Temporal grounding", "",
           "Questions with a time-span target (rep spans, fault windows). The predicted span is "
           "the answer's first two times in seconds (or its first 'A to B' pair); an answer "
           "without one scores IoU 0. R@1 = share of questions whose single answer span has "
           "IoU >= the threshold (MoChat).", ""]  # fmt: skip
    rows = []
    for s in scores:
        spans = [p for p in s.predictions if p.iou is not None]
        missing = sum(read_span(p.text) is None for p in spans)
        rows.append((s.name, len(spans), _pct(s.grounding["R@1 IoU=0.5"]),
                     _pct(s.grounding["R@1 IoU=0.7"]), _num(s.mean_iou), missing))  # fmt: skip
    return out + _table(["model", "n", "R@1 IoU=0.5", "R@1 IoU=0.7", "mean IoU", "no span"], rows)


def _counting_section(scores: Sequence[ModelScores]) -> list[str]:
    out = ["## Repetition counting", "",
           "`rep_count` questions. OBO = share with |predicted - true| <= 1; MAE = mean "
           "|predicted - true| (LLaMo Table 4). The count is the first number written before "
           "'reps'/'times' (else the answer's first number, else a number word); an answer "
           "without one counts as 0.", ""]  # fmt: skip
    rows = [(s.name, s.counting.n, _pct(s.counting.obo), _num(s.counting.mae), s.counting.unparsed)
            for s in scores]  # fmt: skip
    return out + _table(["model", "n", "OBO", "MAE", "no number"], rows)


def scores_json(scores: Sequence[ModelScores]) -> dict:
    """Everything in the report plus every prediction, for re-analysis."""
    out = {}
    for s in scores:
        data = asdict(s)
        data["counting"] = asdict(s.counting)
        data["per_type"] = {k: list(v) for k, v in s.per_type.items()}
        out[s.name] = data
    return out


# -- CLI ------------------------------------------------------------------------------------------------
def _ablation(text: str) -> tuple[str, str]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=DIR, got {text!r}")
    return name, path


def run(checkpoint: str, data: str, out: str, ablations: Sequence[tuple[str, str]] = (), *,
        limit: int | None = None, per_type: int | None = None, max_new_tokens: int = 48,
        device: str | None = None, name: str = "full", command: str = "") -> list[ModelScores]:  # fmt: skip
    """Evaluate the ablations then the full model on the same items; write the report
    (Markdown) and ``<out>.json`` (metrics and every prediction)."""
    from train.data import MotionDataset

    path = heldout_path(data)
    dataset = MotionDataset.from_jsonl(path)
    items = eval_items(dataset.samples, limit, per_type)
    models = [*ablations, (name, checkpoint)]
    names = [n for n, _ in models]
    if len(set(names)) != len(names):
        raise ValueError(f"--ablation: model names must be unique, got {names}")
    for n, ckpt in models:
        if not (Path(ckpt) / "config.json").is_file():
            raise ValueError(f"{n}: {ckpt} is not a saved LLaMo model (no config.json)")
    scores = [evaluate_checkpoint(n, c, items, dataset, max_new_tokens=max_new_tokens, device=device)
              for n, c in models]  # fmt: skip
    recipes = {n: model_kind(Path(c)) for n, c in models}
    report = format_report(scores, items, command=command, data=str(path), recipes=recipes)
    out_path = Path(out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(report)
    out_path.with_suffix(".json").write_text(json.dumps(scores_json(scores), indent=1, default=str))
    return scores


def main(argv: Sequence[str] | None = None) -> int:
    from train import club_eval

    argv = sys.argv[1:] if argv is None else list(argv)
    if club_eval.wants(argv):  # a club's prepared data: before/after on its own questions
        return club_eval.main(argv)
    parser = argparse.ArgumentParser(
        prog="python -m train.evaluate", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--checkpoint", required=True, help="the full model (save_pretrained folder)"
    )
    parser.add_argument(
        "--data", required=True, help="dataset folder (its heldout.jsonl) or a JSONL file"
    )
    parser.add_argument(
        "--out", required=True, help="Markdown report path (a .json lands beside it)"
    )
    parser.add_argument("--ablation", action="append", type=_ablation, default=[], metavar="NAME=DIR",
                        help="another trained model to compare on the same questions (repeatable)")  # fmt: skip
    parser.add_argument("--limit", type=int, help="only the first N questions")
    parser.add_argument("--per-type", type=int, help="at most N questions of each type (balance)")
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--device", help="cpu or cuda (default: cuda when present)")
    args = parser.parse_args(argv)
    for flag in ("limit", "per_type"):
        if getattr(args, flag) is not None and getattr(args, flag) < 1:
            parser.error(f"--{flag.replace('_', '-')}: must be >= 1")
    command = "python -m train.evaluate " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)
    )
    try:
        scores = run(args.checkpoint, args.data, args.out, args.ablation, limit=args.limit,
                     per_type=args.per_type, max_new_tokens=args.max_new_tokens,
                     device=args.device, command=command)  # fmt: skip
    except ValueError as err:
        parser.error(str(err))
    for s in scores:
        print(f"{s.name}: accuracy {_pct(s.accuracy)}, R@1@0.5 {_pct(s.grounding['R@1 IoU=0.5'])}, "
              f"OBO {_pct(s.counting.obo)}, MAE {_num(s.counting.mae)}")  # fmt: skip
    print(f"report: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
