"""Held-out evaluation of LLaMo checkpoints, with the ablation table in the same run.

    python -m train.evaluate --checkpoint runs/full/model --data data/synth --out report.md \
        [--ablation "text-only=runs/text/model" --ablation "all-frames=runs/allf/model" ...]

Metrics on the held-out split (held-out motion parameters and phrasings):
* accuracy per question type via ``train.qa.check_answer`` (the criterion of each type is
  stated in the report);
* temporal grounding R@1 at IoU 0.5 / 0.7 (MoChat): the answer's first time span
  ("from 1.2 s to 2.3 s") against the target span; no span counts as IoU 0;
* repetition counting OBO (|pred - true| <= 1) and MAE (LLaMo Table 4); an answer without a
  number counts as 0 reps;
* grounding hit rate: share of turns with moments (``"moments"`` of the gpt turn) whose most
  relevant frame (argmax of ``Answer.frame_scores``) lies in a moment's window (+- 0.1 s);
  for count questions also the share of rep bottoms with a viewpoint frame within 0.15 s;
* event-time answers: with facts, the time given is the asked event's or another's
  (``facts_use``); without, the most relevant viewpoint's or another's (``viewpoint_use``);
* token diagnostics: motion-token norm / mean LLM word-embedding norm, and the mean cosine
  between different clips' mean motion tokens (near 1 = the tokens ignore the clip).

Variants: ``--ablation NAME=DIR`` adds a model; ``NAME=DIR@facts`` evaluates it with the
analytics facts in the prompt (as the app sends them), e.g. ``facts-only=runs/text-only/model@facts``
and ``full+facts=runs/full/model@facts``; ``@blank`` (or ``@blank+facts``) replaces every
motion by one fixed pose at test time (the motion ablated from a model trained with it,
cheaper than training a text-only model); ``@flat`` gives every viewpoint of a clip the clip's
mean motion token, times and order kept (does the LLM read what the tokens carry?).
Accuracies carry 95% Wilson intervals.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from core.llamo.prompts import PromptBudget
from train.answers import read_count, read_span
from train.budget_flags import add_budget_flags, budget_args

IOU_THRESHOLDS = (0.5, 0.7)
HIT_TOLERANCE_S = 0.1  # as train.grounding's windows
BOTTOM_TOLERANCE_S = 0.15
FACTS_SAME_S = 0.005  # two times written with two decimals are the same time
# An answer within a frame at 30 fps of a viewpoint's written time gives that viewpoint's time
# (the LLM rounds 6.91 s to 6.90 s); viewpoints are at least 2 frames apart.
VIEWPOINT_SAME_S = 0.03
# Question groups of the grounding target (hit rate >= 80%).
HIT_GROUPS = {
    "event": ("golf_event_time", "baseball_event_time"),
    "fault": ("fault_when", "fault_present", "coach"),
    "extreme-angle": ("min_angle", "max_angle", "max_lean", "bend_compare"),
}


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a proportion k/n ((nan, nan) for n = 0)."""
    if n == 0:
        return float("nan"), float("nan")
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(centre - half), float(centre + half)


def mcnemar(a_correct: Sequence[bool], b_correct: Sequence[bool]) -> tuple[int, int, float]:
    """Paired comparison of two models on the same turns: (only A right, only B right, exact
    two-sided McNemar p, i.e. the binomial test of the discordant turns)."""
    from math import comb

    if len(a_correct) != len(b_correct):
        raise ValueError(
            f"mcnemar: {len(a_correct)} and {len(b_correct)} turns; need the same turns"
        )
    only_a = sum(bool(a) and not b for a, b in zip(a_correct, b_correct, strict=True))
    only_b = sum(bool(b) and not a for a, b in zip(a_correct, b_correct, strict=True))
    n = only_a + only_b
    tail = sum(comb(n, i) for i in range(min(only_a, only_b) + 1)) / 2**n if n else 0.5
    return only_a, only_b, min(1.0, 2 * tail)


def paired_difference(
    a_correct: Sequence[bool], b_correct: Sequence[bool], z: float = 1.96
) -> tuple[float, float, float]:
    """B's accuracy minus A's on the same turns, with its normal-approximation interval
    (the paired, McNemar-style standard error): (difference, low, high), as fractions."""
    only_a, only_b, _ = mcnemar(a_correct, b_correct)
    n = len(a_correct)
    if n == 0:
        return float("nan"), float("nan"), float("nan")
    diff = (only_b - only_a) / n
    se = np.sqrt(max(only_a + only_b - (only_b - only_a) ** 2 / n, 0.0)) / n
    return diff, diff - z * se, diff + z * se


def in_moments(t: float, moments: Sequence[Sequence[float]], tol: float = HIT_TOLERANCE_S) -> bool:
    return any(a - tol <= t <= b + tol for a, b in moments)


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
    top_time: float | None = None  # clip seconds of the most relevant frame
    hit: bool | None = None  # top_time inside a target moment (turns with moments)
    bottoms_covered: float | None = None  # count questions: share of bottoms seen
    viewpoint_times: list[float] = field(default_factory=list)
    facts_use: str | None = None  # event-time turns asked with facts: see ``facts_use``
    viewpoint_use: str | None = None  # event-time turns asked without: see ``viewpoint_use``
    said: str | None = None  # choice turns: the option the answer names first


def stated_event_times(report, context: str) -> list[float]:
    """The analytics' event times (golf events, baseball phases) that ``context``, the facts
    block made from ``report``, states (two decimals, as the facts write them)."""
    times: dict[str, float] = {}
    for events in (report.golf, report.baseball):
        if events is not None:
            times |= events.times
    return [t for t in times.values() if f"{t:.2f} s" in context]


def facts_use(text: str, target: float, stated: Sequence[float]) -> str:
    """Which time an event-time answer gives when the facts are in the prompt: "asked" (the
    asked event's, as the facts state it), "another" (another event time the facts state),
    "own" (a time the facts do not state as an event's) or "none" (no time). ``stated``:
    :func:`stated_event_times`."""
    from train.answers import read_numbers

    said = read_numbers(text, "s")
    if not said:
        return "none"
    same = [t for t in stated if abs(t - said[0]) <= FACTS_SAME_S]
    if not same:
        return "own"
    return "asked" if any(abs(t - target) <= FACTS_SAME_S for t in same) else "another"


def viewpoint_use(text: str, top_time: float, viewpoint_times: Sequence[float]) -> str:
    """Which time an event-time answer gives when only the motion is in the prompt: "top" (the
    most relevant viewpoint's), "other" (another viewpoint's), "own" (no viewpoint's within
    ``VIEWPOINT_SAME_S``) or "none" (no time). A model that reads its grounding writes "top"."""
    from train.answers import read_numbers

    said = read_numbers(text, "s")
    if not said:
        return "none"
    written = np.array([float(f"{t:.2f}") for t in (top_time, *viewpoint_times)])  # as t= is
    gaps = np.abs(written - said[0])
    nearest = int(np.argmin(gaps))  # the top's own time comes first, so it wins a tie
    if gaps[nearest] > VIEWPOINT_SAME_S:
        return "own"
    return "top" if nearest == 0 or written[nearest] == written[0] else "other"


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
    tokens: dict[str, float] = field(default_factory=dict)

    @property
    def correct(self) -> int:
        return sum(c for c, _ in self.per_type.values())

    @property
    def n(self) -> int:
        return sum(t for _, t in self.per_type.values())

    def hit_rate(self, qtypes: Iterable[str] | None = None) -> tuple[int, int]:
        """(hits, turns) over turns with moments (of ``qtypes``, default all)."""
        keep = set(qtypes) if qtypes is not None else None
        hits = [p.hit for p in self.predictions
                if p.hit is not None and (keep is None or p.qtype in keep)]  # fmt: skip
        return sum(hits), len(hits)


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
    moments: list[tuple[float, float]] = field(default_factory=list)


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
    samples: Sequence,
    limit: int | None = None,
    per_type: int | None = None,
    types: Sequence[str] = (),
) -> list[EvalItem]:
    """Every (question, target) turn of ``samples`` (``meta.qtypes``/``meta.targets``) in
    file order; only the question ``types`` when given, at most ``per_type`` of each
    type, then the first ``limit``."""
    from train.qa import QA_TYPES

    unknown = sorted(set(types) - set(QA_TYPES))
    if unknown:
        raise ValueError(f"--types: unknown question types {unknown}; known: {sorted(QA_TYPES)}")
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
            if types and qtype not in types:
                continue
            history = [(turns[2 * k]["value"], turns[2 * k + 1]["value"]) for k in range(j)]
            moments = [tuple(m) for m in turns[2 * j + 1].get("moments", [])]
            items.append(
                EvalItem(i, s.where, turns[2 * j]["value"], history, qtype, target, moments)
            )
    if per_type:
        seen: dict[str, int] = {}
        kept = []
        for item in items:
            seen[item.qtype] = seen.get(item.qtype, 0) + 1
            if seen[item.qtype] <= per_type:
                kept.append(item)
        items = kept
    return items[:limit] if limit else items


def judge(item: EvalItem, text: str, answer=None, motion=None) -> Prediction:
    """Score one answer: ``check_answer``, plus IoU for span targets, the parsed count for
    rep counting and, given the ``Answer`` and its clip's motion, the grounding hit."""
    from train.qa import check_answer, named_choice

    pred = Prediction(item.sample, item.qtype, item.question, item.target["value"], text,
                      bool(check_answer(item.qtype, item.target, text)))  # fmt: skip
    if item.target["kind"] == "choice":
        pred.said = named_choice(item.target, text)
    if hasattr(motion, "timestamps") and len(getattr(answer, "frame_scores", ())):
        pred.top_time = float(motion.timestamps[int(np.argmax(answer.frame_scores))])
        pred.viewpoint_times = [round(float(t), 3) for t in answer.timestamps]
        if item.moments:
            pred.hit = in_moments(pred.top_time, item.moments)
        if item.qtype in COUNT_QTYPES and item.moments:
            seen = [any(abs(t - a) <= BOTTOM_TOLERANCE_S for t in answer.timestamps)
                    for a, _ in item.moments]  # fmt: skip
            pred.bottoms_covered = float(np.mean(seen))
    if item.target["kind"] == "span":
        pred.iou = temporal_iou(read_span(text), tuple(item.target["value"]))
    if item.qtype in COUNT_QTYPES:
        pred.count = read_count(text)
    return pred


COUNT_QTYPES = ("rep_count",)


# -- running models -------------------------------------------------------------------------------
def prompt_budget(checkpoint: str | Path, **overrides: int | None) -> PromptBudget:
    """The facts block's budgets a saved model's prompt gets: its config's (the app's), each
    replaced by the ``overrides`` (``max_facts=12``) given as an integer."""
    from core.llamo.config import budget_of

    saved = budget_of(json.loads((Path(checkpoint) / "config.json").read_text()))
    return replace(saved, **{k: v for k, v in overrides.items() if v is not None})


def model_kind(checkpoint: Path) -> str:
    """How a checkpoint was trained, from its ``train_config.yaml``, and what it is, from its
    ``config.json`` (a model started from another takes its fusion from there; for the
    report)."""
    import yaml

    path = Path(checkpoint) / "train_config.yaml"
    if not path.is_file():
        return "unknown recipe (no train_config.yaml)"
    cfg = yaml.safe_load(path.read_text())
    model = {**cfg.get("model", {}), **json.loads((Path(checkpoint) / "config.json").read_text())}
    times = model.get("timestamp_mode", "text") if model.get("use_timestamps", True) else "off"
    parts = [f"fusion={model.get('fusion', 'cross_talker')}", f"timestamps={times}"]
    if cfg.get("motion_input") == "blank":
        parts = ["text-only: every motion replaced by one fixed pose"] + parts
    steps = "+".join(f"{s['steps']} {s['name']}" for s in cfg.get("stages", []))
    return ", ".join(parts) + f"; {steps} steps"


_FACTS: dict[tuple, tuple[str | None, list[float]]] = {}


def item_facts(
    dataset, index: int, budget: PromptBudget = PromptBudget(), questions: Sequence[str] = ()
) -> tuple[str | None, list[float]]:
    """The analytics facts the app would send for this sample's motion within ``budget``
    (with the lines about the joints, the compared sides and the times the ``questions`` so
    far name), and the event times they state (cached)."""
    from core.llamo.prompts import report_context
    from train.make_dataset import prompt_report

    key = (id(dataset), index, budget, tuple(questions))
    if key not in _FACTS:
        report = prompt_report(dataset[index]["motion"])
        if report is None:
            _FACTS[key] = (None, [])
        else:
            context = report_context(report, budget, questions)
            _FACTS[key] = (context, stated_event_times(report, context))
    return _FACTS[key]


def answer_items(model, items: Sequence[EvalItem], dataset, *, blank=None, facts: bool = False,
                 max_new_tokens: int = 48, desc: str = "eval",
                 budget: PromptBudget = PromptBudget()) -> list[Prediction]:  # fmt: skip
    """Greedy answers of ``model`` to every item, judged (``facts``: analytics facts in the
    prompt; a text-only model still gets the real clip's facts)."""
    from tqdm.auto import tqdm

    preds = []
    for item in tqdm(items, desc=desc, unit="q", dynamic_ncols=True, mininterval=10):
        example = dataset[item.index]
        motion = blank if blank is not None else example["motion"]
        video = example["video"] if model.config.use_video and blank is None else None
        asked = [q for q, _ in item.history] + [item.question]
        context, stated = item_facts(dataset, item.index, budget, asked) if facts else (None, [])
        extra = {"context": context} if facts else {}
        answer = model.answer(motion, item.question, video=video, history=item.history,
                              max_new_tokens=max_new_tokens, **extra)  # fmt: skip
        pred = judge(item, answer.text, answer, None if blank is not None else motion)
        if context and item.qtype in HIT_GROUPS["event"]:
            pred.facts_use = facts_use(answer.text, float(item.target["value"]), stated)
        elif item.qtype in HIT_GROUPS["event"] and pred.top_time is not None:
            pred.viewpoint_use = viewpoint_use(answer.text, pred.top_time, pred.viewpoint_times)
        preds.append(pred)
    return preds


TOKEN_KEYS = (
    "token_norm",
    "embedding_norm",
    "norm_ratio",
    "cross_clip_cosine",
    "within_clip_cosine",
    "fused_within_cosine",
    "activity_word_top5",
    "moment_word_top5",
)


def token_diagnostics(model, items: Sequence[EvalItem], dataset, limit: int = 40) -> dict:
    """Motion-token norm / word-embedding norm, the mean cosine between different clips'
    mean motion tokens and between the tokens of one clip (over up to ``limit`` clips)."""
    import torch

    means, norms, within, fused, seen = [], [], [], [], set()
    reads: list[np.ndarray] = []  # (K'', 2) bool per clip with synthetic labels
    for item in items:
        if item.index in seen or len(seen) >= limit:
            continue
        seen.add(item.index)
        batch = model._inference_batch(dataset[item.index]["motion"], item.question, None, (), None)
        fusion = model.fuse(batch)
        tokens = fusion.tokens[0][fusion.token_mask[0]].float()  # (K'', D)
        norms.append(float(tokens.norm(dim=-1).mean()))
        means.append(tokens.mean(dim=0))
        if len(tokens) > 1:  # do the K'' tokens of one clip differ from each other?
            within.append(_mean_cosine(tokens))
            if fusion.fusion is not None:  # and before the projector?
                raw = fusion.fusion.motion_tokens[0][fusion.token_mask[0]].float()  # (K'', 2H)
                fused.append(_mean_cosine(raw))
        labels = (dataset[item.index].get("meta") or {}).get("labels")
        if labels is not None:
            reads.append(_reads_as_words(model, batch, fusion, labels))
    if len(means) < 2:
        return {}
    words = _word_shares(reads)
    return {"token_norm": float(np.mean(norms)), "embedding_norm": model.embedding_norm(),
            "norm_ratio": float(np.mean(norms)) / model.embedding_norm(),
            "cross_clip_cosine": _mean_cosine(torch.stack(means)), "clips": len(means),
            "within_clip_cosine": float(np.mean(within)) if within else float("nan"),
            "fused_within_cosine": float(np.mean(fused)) if fused else float("nan"),
            **words}  # fmt: skip


def _reads_as_words(model, batch, fusion, labels: dict) -> np.ndarray:
    """(K'', 2) whether each viewpoint token has its frame's activity / moment word
    (``train.token_words``; -1 where it has none) among its 5 nearest words of the LLM
    (``core.llamo.fusion.token_word_logits``)."""
    from core.llamo.fusion import token_word_logits
    from train.synth import SynthLabels
    from train.token_words import word_targets

    prepared = batch.motions[0]
    targets = word_targets(prepared.source, SynthLabels.from_dict(labels), prepared.fps,
                           model.tokenizer)  # fmt: skip
    valid = fusion.token_mask[0]
    frames = prepared.source_frames[fusion.frame_indices[0][valid].cpu().numpy()]
    tokens = fusion.tokens[0][valid].float()  # (K'', D)
    top = token_word_logits(tokens, model.llm.get_input_embeddings().weight).topk(5, dim=-1).indices
    top = top.cpu().numpy()  # (K'', 5)
    want = targets[frames]  # (K'', 2)
    hit = (top[:, None, :] == want[:, :, None]).any(axis=-1).astype(np.int64)  # (K'', 2)
    return np.where(want >= 0, hit, -1)


def _word_shares(reads: list[np.ndarray]) -> dict:
    """Share of viewpoint tokens reading as their activity / moment word (NaN: none)."""
    out = {}
    rows = np.concatenate(reads) if reads else np.zeros((0, 2), np.int64)
    for key, col in (("activity_word_top5", 0), ("moment_word_top5", 1)):
        known = rows[:, col][rows[:, col] >= 0]
        out[key] = float(known.mean()) if len(known) else float("nan")
    return out


def _mean_cosine(tokens) -> float:
    """Mean cosine between different rows of ``tokens`` (N, D), N >= 2."""
    import torch

    from core.llamo.fusion import mean_token_cosine

    mask = torch.ones(1, len(tokens), dtype=torch.bool)
    return float(mean_token_cosine(tokens[None], mask)[0])


def evaluate_checkpoint(name: str, checkpoint: str | Path, items: Sequence[EvalItem], dataset,
                        *, max_new_tokens: int = 48, device: str | None = None,
                        facts: bool = False, blank_motion: bool = False,
                        flat_tokens: bool = False,
                        budget: dict[str, int | None] | None = None) -> ModelScores:  # fmt: skip
    """Load one saved model, answer every item, aggregate (with token diagnostics);
    ``flat_tokens``: see :func:`flatten_tokens`; ``budget``: overrides of the model's
    :func:`prompt_budget`."""
    import torch

    from core.llamo.model import LLaMo
    from train.finetune import load_blank_motion, make_blank_motion

    start = time.perf_counter()
    model = LLaMo.from_pretrained(checkpoint, device=device)
    model.eval()
    if flat_tokens:
        flatten_tokens(model)
    blank = load_blank_motion(Path(checkpoint))
    if blank is None and blank_motion:
        blank = make_blank_motion(dataset)
    with torch.no_grad():
        preds = answer_items(model, items, dataset, blank=blank, facts=facts,
                             max_new_tokens=max_new_tokens, desc=name,
                             budget=prompt_budget(checkpoint, **(budget or {})))  # fmt: skip
        tokens = token_diagnostics(model, items, dataset) if blank is None else {}
    seconds = time.perf_counter() - start
    scores = score(name, str(checkpoint), preds, seconds, COUNT_QTYPES)
    scores.tokens = tokens
    print(f"{name}: token diagnostics {json.dumps(tokens)}", file=sys.stderr)
    return scores


def flatten_tokens(model) -> None:
    """From now on ``model`` splices its clip's mean motion token at every viewpoint, each
    after its own time: what differs between a clip's tokens no longer reaches the LLM."""
    fuse = model.fuse

    def flat(batch):
        fusion = fuse(batch)
        mask = fusion.token_mask[..., None].to(fusion.tokens.dtype)  # (B, K', 1)
        mean = (fusion.tokens * mask).sum(dim=1, keepdim=True) / mask.sum(
            dim=1, keepdim=True
        ).clamp_min(1.0)  # (B, 1, D)
        fusion.tokens = mean.expand_as(fusion.tokens) * mask  # (B, K', D)
        return fusion

    model.fuse = flat


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


def _ci(k: int, n: int) -> str:
    if n == 0:
        return "–"
    lo, hi = wilson(k, n)
    return f"{100 * k / n:.1f}% [{100 * lo:.1f}-{100 * hi:.1f}] (n={n})"


def _rate(k: int, n: int) -> str:
    return f"{100 * k / n:.1f}% ({n})" if n else "–"


def _bottoms(s: ModelScores) -> str:
    seen = [p.bottoms_covered for p in s.predictions if p.bottoms_covered is not None]
    return f"{100 * np.mean(seen):.1f}% ({len(seen)})" if seen else "–"


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
           "(held-out motion parameters). Greedy decoding; earlier turns of a "
           "dialogue are given as history with their true answers.", "",
           "```", command, "```", "", "## Models", ""]  # fmt: skip
    out += _table(["model", "checkpoint", "recipe", "eval time"],
                  [(s.name, f"`{s.checkpoint}`", recipes.get(s.name, ""), f"{s.seconds:.0f} s")
                   for s in scores])  # fmt: skip
    out += ["## Summary (ablation)", "",
            "Accuracy with its 95% Wilson interval; hit = grounding hit rate (turns with "
            "moments whose most relevant frame lies in a target window), n in brackets.", ""]  # fmt: skip
    out += _table(
        ["model", "accuracy (all types) [95% CI]", "hit (all)", "hit event", "hit fault",
         "hit extreme-angle", "R@1 IoU=0.5", "R@1 IoU=0.7", "count OBO", "count MAE",
         "bottoms seen"],
        [(s.name, _ci(s.correct, s.n), _rate(*s.hit_rate()),
          *(_rate(*s.hit_rate(g)) for g in HIT_GROUPS.values()),
          _pct(s.grounding["R@1 IoU=0.5"]), _pct(s.grounding["R@1 IoU=0.7"]),
          _pct(s.counting.obo), _num(s.counting.mae), _bottoms(s)) for s in scores],
    )  # fmt: skip
    out += ["## Token diagnostics", "",
            "Mean motion-token norm / mean word-embedding norm of the LLM, and the mean cosine "
            "between different clips' mean motion tokens (near 1: the tokens do not depend "
            "on the clip) and between the tokens of one clip (near 1: the viewpoints' tokens "
            "are alike), also before the projector (the Cross Talker's output). Activity / "
            "moment word: share of viewpoint tokens with their frame's word (train.token_words, "
            "synthetic labels) among their 5 nearest LLM words. Text-only models have none.",
            ""]  # fmt: skip
    out += _table(["model", "token norm", "embedding norm", "ratio", "cross-clip cosine",
                   "within-clip cosine", "before the projector", "activity word",
                   "moment word", "clips"],
                  [(s.name, *(_num(s.tokens.get(k, float("nan"))) for k in TOKEN_KEYS),
                    s.tokens.get("clips", 0)) for s in scores])  # fmt: skip
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
    out += _choice_section(scores, items)
    out += _grounding_section(scores) + _counting_section(scores) + _facts_section(scores)
    out += _viewpoint_section(scores)
    return "\n".join(out)


def constant_answer(preds: Sequence[Prediction]) -> tuple[str, float]:
    """The option most of ``preds`` name (None counts as "none") and its share."""
    said = [p.said or "none" for p in preds]
    top = max(sorted(set(said)), key=said.count)
    return top, said.count(top) / len(said)


def _choice_section(scores: Sequence[ModelScores], items: Sequence[EvalItem]) -> list[str]:
    """Per choice question type: how far one fixed answer gets, and how often each model
    gives its most common answer (a model that always names one side has read nothing)."""
    rows = []
    for qtype in sorted({i.qtype for i in items if i.target["kind"] == "choice"}):
        targets = [str(i.target["value"]) for i in items if i.qtype == qtype]
        best = max(sorted(set(targets)), key=targets.count)
        cells = []
        for s in scores:
            preds = [p for p in s.predictions if p.qtype == qtype]
            top, share = constant_answer(preds) if preds else ("none", float("nan"))
            right, n = s.per_type.get(qtype, (0, 0))
            cells.append(f"{_pct(right / n) if n else '–'}; {_pct(share)} '{top}'")
        rows.append([qtype, len(targets), f"{_pct(targets.count(best) / len(targets))} '{best}'",
                     *cells])  # fmt: skip
    if not rows:
        return []
    out = ["## Choice answers", "",
           "Question types whose answer is one of a few options. Best fixed answer: the share "
           "of turns one fixed option would get right (the most common target). Per model: "
           "accuracy; the share of answers naming its most common option, and that option.",
           ""]  # fmt: skip
    return out + _table(
        ["question type", "n", "best fixed answer", *(s.name for s in scores)], rows
    )


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


FACTS_USES = ("asked", "another", "own", "none")
VIEWPOINT_USES = ("top", "other", "own", "none")


def _use_section(scores: Sequence[ModelScores], field: str, kinds: Sequence[str],
                 heading: str, text: str) -> list[str]:  # fmt: skip
    """A table of how often each model's event-time answers are of each kind of ``field``
    (``facts_use`` or ``viewpoint_use``); none when no prediction has one."""
    rows = []
    for s in scores:
        uses = [getattr(p, field) for p in s.predictions if getattr(p, field) is not None]
        if uses:
            rows.append((s.name, len(uses), *(_rate(uses.count(u), len(uses)) for u in kinds)))
    if not rows:
        return []
    return [f"## {heading}", "", text, "", *_table(["model", "n", *kinds], rows)]


def _facts_section(scores: Sequence[ModelScores]) -> list[str]:
    return _use_section(
        scores, "facts_use", FACTS_USES, "Event times with the facts in the prompt",
        "Event-time questions (golf, baseball) asked with the analytics facts: the time the "
        "answer gives is the asked event's time as the facts state it, another event's "
        "time the facts state, a time the facts do not state as an event's, or none.",
    )  # fmt: skip


def _viewpoint_section(scores: Sequence[ModelScores]) -> list[str]:
    return _use_section(
        scores, "viewpoint_use", VIEWPOINT_USES, "Event times from the viewpoints",
        "Event-time questions (golf, baseball) asked without the facts: the time the answer "
        "gives is the most relevant viewpoint's time as the prompt writes it (`t=`, within "
        f"{VIEWPOINT_SAME_S} s), another viewpoint's, a time no viewpoint has, or none.",
    )  # fmt: skip


def load_predictions(spec: str) -> tuple[str, list[dict]]:
    """``REPORT.json:MODEL`` (a report this module wrote) -> (model, its predictions)."""
    path, sep, model = spec.rpartition(":")
    if not sep:
        raise SystemExit(f"error: expected REPORT.json:MODEL, got {spec!r}")
    report = json.loads(Path(path).read_text())
    if model not in report:
        raise SystemExit(f"error: {path} has no model {model!r} (it has {', '.join(report)})")
    return model, report[model]["predictions"]


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
VARIANT_FLAGS = ("facts", "blank", "flat")


def _ablation(text: str) -> tuple[str, str, bool, bool, bool]:
    """NAME=DIR[@FLAG[+FLAG]] (FLAG in VARIANT_FLAGS) -> (name, dir, facts in the prompt, blank
    motion, flat tokens)."""
    name, sep, rest = text.partition("=")
    path, _, flags = rest.partition("@")
    wanted = [f for f in flags.split("+") if f]
    if not sep or not name or not path or any(f not in VARIANT_FLAGS for f in wanted):
        raise argparse.ArgumentTypeError(
            f"expected NAME=DIR, NAME=DIR@facts or NAME=DIR@FLAG+FLAG with FLAG in {list(VARIANT_FLAGS)}, got {text!r}"
        )
    return name, path, "facts" in wanted, "blank" in wanted, "flat" in wanted


def run(checkpoint: str, data: str, out: str, ablations: Sequence[tuple] = (), *,
        limit: int | None = None, per_type: int | None = None, types: Sequence[str] = (),
        max_new_tokens: int = 48, device: str | None = None, name: str = "full", command: str = "",
        budget: dict[str, int | None] | None = None) -> list[ModelScores]:  # fmt: skip
    """Evaluate the ablations then the full model on the same items; write the report
    (Markdown) and ``<out>.json`` (metrics and every prediction). ``budget``: the facts
    budgets of every model that are given (``max_facts=12``; default: each model's own)."""
    from train.data import MotionDataset

    path = heldout_path(data)
    dataset = MotionDataset.from_jsonl(path)
    items = eval_items(dataset.samples, limit, per_type, types)
    models = [(*a, False, False, False)[:5] for a in ablations]
    models.append(_ablation(f"{name}={checkpoint}"))  # DIR@facts works for the main model too
    names = [m[0] for m in models]
    if len(set(names)) != len(names):
        raise ValueError(f"--ablation: model names must be unique, got {names}")
    for n, ckpt, *_ in models:
        if not (Path(ckpt) / "config.json").is_file():
            raise ValueError(f"{n}: {ckpt} is not a saved LLaMo model (no config.json)")
    scores = [evaluate_checkpoint(n, c, items, dataset, max_new_tokens=max_new_tokens,
                                  device=device, facts=f, blank_motion=b, flat_tokens=t,
                                  budget=budget)
              for n, c, f, b, t in models]  # fmt: skip
    recipes = {n: model_kind(Path(c)) + ("; motion replaced by a fixed pose at test time" if b else "")
               + ("; each clip's mean motion token at every viewpoint" if t else "")
               + (_budget_text(prompt_budget(c, **(budget or {}))) if f else "")
               for n, c, f, b, t in models}  # fmt: skip
    report = format_report(scores, items, command=command, data=str(path), recipes=recipes)
    out_path = Path(out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(report)
    out_path.with_suffix(".json").write_text(json.dumps(scores_json(scores), indent=1, default=str))
    return scores


def _budget_text(budget: PromptBudget) -> str:
    return (f"; analytics facts in the prompt (at most {budget.max_facts} lines, "
            f"{budget.max_joints} about the asked joints, {budget.max_sides} about the compared "
            f"sides, {budget.max_moments} about the asked times and {budget.max_orders} about "
            "the asked events against them)")  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    from train import club_eval

    argv = sys.argv[1:] if argv is None else list(argv)
    if club_eval.wants(argv):  # a club's prepared data: before/after on its own questions
        return club_eval.main(argv)
    parser = argparse.ArgumentParser(
        prog="python -m train.evaluate", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--checkpoint", required=True, help="the full model (save_pretrained folder; DIR@facts too)"
    )
    parser.add_argument(
        "--data", required=True, help="dataset folder (its heldout.jsonl) or a JSONL file"
    )
    parser.add_argument(
        "--out", required=True, help="Markdown report path (a .json lands beside it)"
    )
    parser.add_argument("--ablation", action="append", type=_ablation, default=[], metavar="NAME=DIR",
                        help="another trained model to compare on the same questions (repeatable)")  # fmt: skip
    parser.add_argument(
        "--name", default="full", help="the --checkpoint model's name in the report"
    )
    parser.add_argument("--limit", type=int, help="only the first N questions")
    parser.add_argument("--per-type", type=int, help="at most N questions of each type (balance)")
    parser.add_argument("--types", nargs="+", default=(), metavar="QTYPE",
                        help="only these question types (e.g. rep_count)")  # fmt: skip
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--device", help="cpu or cuda (default: cuda when present)")
    add_budget_flags(parser, per_model=True)
    args = parser.parse_args(argv)
    for flag in ("limit", "per_type"):
        if getattr(args, flag) is not None and getattr(args, flag) < 1:
            parser.error(f"--{flag.replace('_', '-')}: must be >= 1")
    command = "python -m train.evaluate " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)
    )
    try:
        scores = run(args.checkpoint, args.data, args.out, args.ablation, limit=args.limit,
                     per_type=args.per_type, types=args.types, max_new_tokens=args.max_new_tokens,
                     device=args.device, command=command, name=args.name,
                     budget=budget_args(args))  # fmt: skip
    except (ValueError, argparse.ArgumentTypeError) as err:
        parser.error(str(err))
    for s in scores:
        print(f"{s.name}: accuracy {_ci(s.correct, s.n)}, hit {_rate(*s.hit_rate())}, "
              f"R@1@0.5 {_pct(s.grounding['R@1 IoU=0.5'])}, "
              f"OBO {_pct(s.counting.obo)}, MAE {_num(s.counting.mae)}")  # fmt: skip
    print(f"report: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
