"""Evaluation on a club's own held-out questions: the shipped model before, the fine-tuned
one after, every prediction in the report.

    python -m train.evaluate --checkpoint runs/club/model --data data/club --out runs/club/eval.md
        [--baseline DIR | --baseline none] [--limit N] [--max-new-tokens 48]

``train.evaluate`` hands over here when the data is a club's (``train.prepare`` wrote it:
``meta.answers`` holds the kind of each answer). Scoring, per answer kind:

* count: the answer's count (``train.answers.read_count``) exact, and off by at most one;
* number: the first number within the coach's tolerance (default 10% of the coach's number);
* time: the answer's first time in seconds within the tolerance (default 0.25 s) of the
  coach's moment (``moments``), or of the coach's own time when no moment was given;
* text: key-term overlap, the share of the coach's content words the answer also uses. It
  needs no external service and is a word match, not a judgement of the advice.

For every answer with a coach's moment the report also gives the times the answer names and
whether the model's viewpoint frames (what the Cross Talker picked) fall on the moment.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from core.model_info import read_model_info
from core.paths import DEFAULT_MODEL_DIR
from train.answers import read_count, read_numbers
from train.club_format import NUMBER_TOLERANCE_REL, SECONDS, TIME_TOLERANCE_S

BASELINE_NAME, TUNED_NAME = "shipped", "fine-tuned"
# Words that carry no coaching content; the key terms of an answer are its other words.
STOPWORDS = frozenset(
    "a an the and or but if then so of to in on at by for with from into over under your you "
    "yours i me my we our it its this that these those is are was were be been being do does "
    "did done have has had will would can could should may might must not no yes very more "
    "most less all each every any some than too also just there here what which who when how "
    "keep about after before during through until while s".split()
)


@dataclass
class ClubItem:
    """One held-out question with the coach's answer and what the coach said about it."""

    index: int
    clip: str
    where: str
    question: str
    history: list[tuple[str, str]]
    reference: str
    kind: str
    tolerance: float | None
    moments: list[tuple[float, float]]


@dataclass
class ClubPrediction:
    """One model's answer to one item, scored."""

    text: str
    correct: bool | None = None  # count exact / number / time within tolerance
    off_by_one: bool | None = None  # counts only
    overlap: float | None = None  # free text only
    answer_times: list[float] = field(default_factory=list)
    time_error: float | None = None  # seconds from the coach's moment (time answers)
    looked_at: list[float] = field(default_factory=list)  # viewpoint frame times
    looked_at_moment: bool | None = None


def data_path(data: str | Path) -> Path:
    """``data`` itself when it is a JSONL file, else ``data/heldout.jsonl``."""
    path = Path(data)
    return path if path.suffix == ".jsonl" else path / "heldout.jsonl"


def is_club_data(data: str | Path) -> bool:
    """True when the data was written by ``train.prepare`` (its folder has split.json, or
    its first line has ``meta.answers``)."""
    path = data_path(data)
    if (path.parent / "split.json").is_file():
        return True
    if not path.is_file():
        return False
    with path.open() as f:
        first = next((line for line in f if line.strip()), "")
    try:
        meta = json.loads(first).get("meta", {})
    except (json.JSONDecodeError, AttributeError):
        return False
    return isinstance(meta, dict) and "answers" in meta


def club_items(samples: Sequence) -> list[ClubItem]:
    """Every question turn of the held-out samples, earlier true turns as history."""
    from train.data import turn_moments

    items = []
    for i, s in enumerate(samples):
        turns, answers = s.conversations, s.meta["answers"]
        moments = turn_moments(turns)
        for j, info in enumerate(answers):
            history = [(turns[2 * k]["value"], turns[2 * k + 1]["value"]) for k in range(j)]
            items.append(ClubItem(i, s.meta.get("source_video", s.where), s.where,
                                  turns[2 * j]["value"], history, turns[2 * j + 1]["value"],
                                  info["kind"], info.get("tolerance"), moments[j]))  # fmt: skip
    return items


# -- scoring ----------------------------------------------------------------------------------
def key_terms(text: str) -> set[str]:
    """Lower-case content words (3+ letters, no stopwords), a plural "s" dropped."""
    words = re.findall(r"[a-z]{3,}", text.lower())
    return {w[:-1] if w.endswith("s") and len(w) > 3 else w for w in words} - STOPWORDS


def term_overlap(reference: str, answer: str) -> float:
    """Share of the reference's key terms that the answer uses (0..1)."""
    ref = key_terms(reference)
    return len(ref & key_terms(answer)) / len(ref) if ref else 0.0


def _distance(t: float, span: tuple[float, float]) -> float:
    return max(span[0] - t, 0.0, t - span[1])


def _unit(reference: str) -> str:
    return "deg" if re.search(r"°|\bdeg", reference) else ""


def target_span(item: ClubItem) -> tuple[float, float] | None:
    """The coach's moment (first one), else the coach's own first time in seconds."""
    if item.moments:
        return item.moments[0]
    times = read_numbers(item.reference, "s")
    return (times[0], times[0]) if times else None


def score_answer(item: ClubItem, text: str, looked_at: Sequence[float] = ()) -> ClubPrediction:
    """Score one answer by the item's kind; times and viewpoints against the moment."""
    # Only numbers written in seconds are times ("90°" or "1.1 reps" are not).
    times = read_numbers(text, "s") if SECONDS.search(text) else []
    pred = ClubPrediction(
        text, answer_times=times, looked_at=[round(float(t), 2) for t in looked_at]
    )
    tol_s = item.tolerance if item.kind == "time" and item.tolerance else TIME_TOLERANCE_S
    if item.moments:
        pred.looked_at_moment = any(
            _distance(t, m) <= tol_s for t in looked_at for m in item.moments
        )
    if item.kind == "count":
        ref, got = read_count(item.reference), read_count(text)
        pred.correct = got is not None and ref is not None and got == ref
        pred.off_by_one = got is not None and ref is not None and abs(got - ref) <= 1
    elif item.kind == "number":
        ref_vals, got = read_numbers(item.reference, _unit(item.reference)), read_numbers(
            text, _unit(item.reference))  # fmt: skip
        tol = item.tolerance or NUMBER_TOLERANCE_REL * abs(ref_vals[0]) if ref_vals else 0.0
        pred.correct = bool(ref_vals and got and abs(got[0] - ref_vals[0]) <= tol)
    elif item.kind == "time":
        span = target_span(item)
        if span is not None and pred.answer_times:
            pred.time_error = round(_distance(pred.answer_times[0], span), 3)
        pred.correct = pred.time_error is not None and pred.time_error <= tol_s
    else:
        pred.overlap = round(term_overlap(item.reference, text), 3)
    return pred


# -- summary ----------------------------------------------------------------------------------
def summary_rows(items: Sequence[ClubItem], preds: Sequence[Sequence[ClubPrediction]]) -> list:
    """(measure, n, value per model) rows of the before/after table."""

    def share(kind: str, attr: str) -> tuple[int, list[float | None]]:
        idx = [i for i, it in enumerate(items) if it.kind == kind]
        vals = [
            sum(bool(getattr(p[i], attr)) for i in idx) / len(idx) if idx else None for p in preds
        ]
        return len(idx), vals

    rows = []
    for label, kind, attr in (("counts: exact", "count", "correct"),
                              ("counts: off by at most one", "count", "off_by_one"),
                              ("numbers: within tolerance", "number", "correct"),
                              ("times: within tolerance of the coach's moment", "time", "correct")):  # fmt: skip
        n, vals = share(kind, attr)
        rows.append((label, n, [_pct(v) for v in vals]))
    timed = [i for i, it in enumerate(items) if it.kind == "time"]
    medians = []
    for p in preds:
        errs = [p[i].time_error for i in timed if p[i].time_error is not None]
        medians.append(f"{statistics.median(errs):.2f} s ({len(timed) - len(errs)} without a time)"
                       if errs else f"– ({len(timed)} without a time)")  # fmt: skip
    rows.append(("times: median distance to the moment", len(timed), medians))
    grounded = [i for i, it in enumerate(items) if it.moments]
    rows.append(("viewpoint frames on the coach's moment (grounding)", len(grounded),
                 [_pct(sum(bool(p[i].looked_at_moment) for i in grounded) / len(grounded))
                  if grounded else "–" for p in preds]))  # fmt: skip
    text = [i for i, it in enumerate(items) if it.kind == "text"]
    rows.append(("free text: key-term overlap (word match, not a judgement)", len(text),
                 [_pct(statistics.mean(p[i].overlap for i in text)) if text else "–"
                  for p in preds]))  # fmt: skip
    return rows


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.0f}%"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").strip() or "(empty)"


def _moment_text(item: ClubItem, fps: float | None) -> str:
    if not item.moments:
        return "none given"
    parts = []
    for a, b in item.moments:
        frames = f" (frame {round(a * fps)})" if fps and a == b else (
            f" (frames {round(a * fps)}-{round(b * fps)})" if fps else "")  # fmt: skip
        parts.append((f"{a:.2f} s" if a == b else f"{a:.2f}-{b:.2f} s") + frames)
    return ", ".join(parts)


def _score_text(item: ClubItem, p: ClubPrediction) -> str:
    if item.kind == "count":
        got = read_count(p.text)
        return ("exact" if p.correct else "off by one" if p.off_by_one else "wrong") + (
            f" (read {got:g})" if got is not None else " (no number)")  # fmt: skip
    if item.kind == "text":
        return f"key-term overlap {_pct(p.overlap)}"
    if item.kind == "time":
        if p.time_error is None:
            return "wrong (no time in seconds)"
        return ("within tolerance" if p.correct else "wrong") + f" ({p.time_error:.2f} s off)"
    return "within tolerance" if p.correct else "wrong"


@dataclass
class ModelRun:
    name: str
    folder: str
    label: str
    seconds: float
    predictions: list[ClubPrediction]


def format_club_report(runs: Sequence[ModelRun], items: Sequence[ClubItem], fps: dict,
                       *, command: str, data: str) -> str:  # fmt: skip
    """Markdown: the models, the before/after table, then every prediction."""
    clips = sorted({i.clip for i in items})
    out = ["# Evaluation on the club's held-out clips", "",
           f"Data: `{data}`: {len(items)} questions on {len(clips)} held-out clip(s) "
           f"({', '.join(clips)}), never seen in training. Greedy decoding, no analytics facts "
           "in the prompt (as in training); earlier turns of a dialogue are given with the "
           "coach's answers.", "", "```", command, "```", "", "## Models", "",
           "| model | folder | what it is | answer time |", "|---|---|---|---|"]  # fmt: skip
    out += [f"| {r.name} | `{r.folder}` | {_cell(r.label)} | {r.seconds:.0f} s |" for r in runs]
    out += ["", "## Before / after", "",
            "| measure | n | " + " | ".join(r.name for r in runs) + " |",
            "|---|---|" + "---|" * len(runs)]  # fmt: skip
    for label, n, vals in summary_rows(items, [r.predictions for r in runs]):
        out.append(f"| {label} | {n} | " + " | ".join(vals) + " |")
    out += ["", f"Tolerances: times ±{TIME_TOLERANCE_S:g} s of the coach's moment, numbers "
            f"±{100 * NUMBER_TOLERANCE_REL:.0f}% (unless the QA line sets `tolerance`). "
            "Key-term overlap = share of the coach's content words the answer also uses: a "
            "word match made here without any external service; it does not judge whether "
            "the advice is right.", "", "## Every prediction", ""]  # fmt: skip
    for n, item in enumerate(items, start=1):
        tol = item.tolerance or (TIME_TOLERANCE_S if item.kind == "time" else None)
        out += [f"### {n}. {item.clip}: {item.question}", "",
                f"Coach: \"{item.reference}\" (kind: {item.kind}; moment: "
                f"{_moment_text(item, fps.get(item.clip))}"
                + (f"; tolerance ±{tol:g}" if tol else "") + ")", "",
                "| model | answer | times in the answer | score | viewpoint frames (s) | on the moment |",
                "|---|---|---|---|---|---|"]  # fmt: skip
        for r in runs:
            p = r.predictions[n - 1]
            times = ", ".join(f"{t:g} s" for t in p.answer_times) or "none"
            hit = "–" if p.looked_at_moment is None else ("yes" if p.looked_at_moment else "no")
            out.append(f"| {r.name} | {_cell(p.text)} | {times} | {_score_text(item, p)} | "
                       f"{', '.join(f'{t:.2f}' for t in p.looked_at)} | {hit} |")  # fmt: skip
        out.append("")
    return "\n".join(out)


# -- running ----------------------------------------------------------------------------------
def answer_all(name: str, folder: Path, items: Sequence[ClubItem], dataset, *,
               max_new_tokens: int, device: str | None) -> ModelRun:  # fmt: skip
    """Load one saved model, answer and score every item."""
    import torch
    from tqdm.auto import tqdm

    from core.llamo.model import LLaMo

    start = time.perf_counter()
    model = LLaMo.from_pretrained(folder, device=device)
    model.eval()
    preds = []
    with torch.no_grad():
        for item in tqdm(items, desc=name, unit="q", dynamic_ncols=True):
            ex = dataset[item.index]
            answer = model.answer(ex["motion"], item.question, video=ex["video"],
                                  history=item.history, max_new_tokens=max_new_tokens)  # fmt: skip
            preds.append(score_answer(item, answer.text, answer.timestamps))
    label = read_model_info(folder).label(folder=False)
    return ModelRun(name, str(folder), label, time.perf_counter() - start, preds)


def run(checkpoint: str | Path, data: str | Path, out: str | Path, *,
        baseline: str | None = "default", limit: int | None = None, max_new_tokens: int = 48,
        device: str | None = None, command: str = "") -> list[ModelRun]:  # fmt: skip
    """Answer the held-out questions with the baseline (default: the shipped model) and the
    fine-tuned model; write the Markdown report and ``<out>.json`` (every prediction)."""
    from core.errors import InputError
    from train.data import MotionDataset

    path = data_path(data)
    if not path.is_file():
        raise InputError(f"--data: {path} does not exist; hold out some clips with "
                         "python -m train.prepare ... --heldout 0.2 (or --heldout-clips)")  # fmt: skip
    dataset = MotionDataset.from_jsonl(path, load_crops=False)
    items = club_items(dataset.samples)[:limit] if limit else club_items(dataset.samples)
    models = [(TUNED_NAME, Path(checkpoint))]
    if baseline and baseline != "none":
        base = DEFAULT_MODEL_DIR if baseline == "default" else Path(baseline)
        models.insert(0, (BASELINE_NAME, base))
    for name, folder in models:
        if not (folder / "config.json").is_file():
            raise InputError(f"{name}: {folder} is not a saved LLaMo model (no config.json)")
    runs = [answer_all(n, f, items, dataset, max_new_tokens=max_new_tokens, device=device)
            for n, f in models]  # fmt: skip
    fps = {s.meta.get("source_video"): s.meta.get("fps") for s in dataset.samples}
    report = format_club_report(runs, items, fps, command=command, data=str(path))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report)
    dump = {"items": [asdict(i) for i in items],
            "models": [{**asdict(r), "summary": [list(row) for row in summary_rows(items, [
                r.predictions])]} for r in runs]}  # fmt: skip
    out.with_suffix(".json").write_text(json.dumps(dump, indent=1))
    return runs


def wants(argv: Sequence[str]) -> bool:
    """True when ``train.evaluate``'s ``--data`` is a club's (then ``main`` takes over)."""
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("--data")
    known, _ = ap.parse_known_args(list(argv))
    return bool(known.data) and is_club_data(known.data)


def main(argv: Sequence[str]) -> int:
    from core.errors import InputError, ModelFilesError

    parser = argparse.ArgumentParser(prog="python -m train.evaluate",
                                     description=__doc__.split("\n")[0])  # fmt: skip
    parser.add_argument("--checkpoint", required=True, help="the fine-tuned model folder")
    parser.add_argument(
        "--data", required=True, help="the prepared club folder or its heldout.jsonl"
    )
    parser.add_argument("--out", required=True, help="Markdown report (a .json lands beside it)")
    parser.add_argument("--baseline", default="default", metavar="DIR",
                        help="the 'before' model: default (the shipped one), a folder, or none")  # fmt: skip
    parser.add_argument("--limit", type=int, help="only the first N questions")
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--device", help="cpu or cuda (default: cuda when present)")
    args = parser.parse_args(list(argv))
    command = "python -m train.evaluate " + " ".join(shlex.quote(a) for a in argv)
    try:
        runs = run(args.checkpoint, args.data, args.out, baseline=args.baseline,
                   limit=args.limit, max_new_tokens=args.max_new_tokens, device=args.device,
                   command=command)  # fmt: skip
    except (InputError, ModelFilesError) as err:
        parser.exit(2, f"error: {err}\n")
    for r in runs:
        print(f"{r.name}: {r.label}")
    print(f"report: {args.out}")
    return 0
