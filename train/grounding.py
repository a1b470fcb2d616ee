"""Grounded Cross Talker: train the frame scorer (Eq. 1-2) on the data engine's moments.

    python -m train.grounding --data artifacts/synth2 --config train/configs/cpu.yaml \\
        --encoder runs/pretrain/motion_encoder.safetensors --out runs/grounding --minutes 10

Every gpt turn that names ``"moments"`` (clip seconds its answer depends on) is one example:
the question's embeddings (the LLM's input embedding table; no LLM forward) against the
frame features of the (pretrained, frozen) motion encoder. With ``p_j = s_j / sum_j s_j``
(``s_j`` = Eq. 2 score of frame j), the loss is the mean over the turn's moments m of
``-log sum_{j in W_m} p_j``, ``W_m`` = the moment's frames +- ``TOLERANCE_S``: every moment
must draw score, so a count question (one moment per rep bottom) spreads the scores over
all reps instead of one peak. Output: ``OUT/motion_modules_init.safetensors`` (encoder +
scorer, ``LLaMoModules`` key names) for ``train.finetune``'s ``init_motion_modules``, and
``OUT/grounding_report.json`` with the held-out hit rate (share of turns whose
highest-scoring frame lies in a target window) per question type, at the recorded speed and
with the held-out clips played HELDOUT_SLOW times slower. ``--slow S`` adds a copy of every
training clip played 1.5-S times slower (slow-motion video; the moments stretch with it).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn
from tqdm import tqdm

from core.llamo.config import LLaMoConfig
from core.llamo.cross_talker import CrossTalker
from core.llamo.inputs import MotionInput, prepare_motion, question_ids
from core.llamo.motion_encoder import MotionEncoder

TOLERANCE_S = 0.1  # a moment's window reaches this far either side (2 frames at 20 fps)
SCORER_PREFIXES = (
    "fusion.text_norm.",
    "fusion.question_encoder.",
    "fusion.w_q.",
    "fusion.w_k.",
    "fusion.w_pose.",
    "fusion.w_pair.",
    "fusion.pair_gate.",
    "fusion.angle_rank.",
    "fusion.event_rank.",
)
INIT_FILE = "motion_modules_init.safetensors"
REPORT_FILE = "grounding_report.json"
PAIR_QTYPES = ("bend_compare",)  # the questions a pair gate (LLaMoConfig.pair_gate) opens for
HELDOUT_SLOW = (2.0, 3.0)  # slow-motion held-out range (golf clips are filmed 2-3x slow)


@dataclass
class GroundingExample:
    clip: int  # index into the clip list
    question: list[int]  # token ids
    windows: list[tuple[int, int]]  # model frames (inclusive) per moment
    qtype: str


def moment_windows(
    prepared: MotionInput, moments: list[tuple[float, float]]
) -> list[tuple[int, int]]:
    """Clip seconds -> inclusive model-frame windows (+- TOLERANCE_S), clipped to the clip."""
    times = prepared.timestamps
    out = []
    for a, b in moments:
        inside = np.nonzero((times >= a - TOLERANCE_S) & (times <= b + TOLERANCE_S))[0]
        if inside.size == 0:  # a moment between two model frames: take the nearest
            inside = np.array([int(np.abs(times - 0.5 * (a + b)).argmin())])
        out.append((int(inside[0]), int(inside[-1])))
    return out


def load_examples(
    jsonl: Path,
    config: LLaMoConfig,
    tokenizer: object,
    limit: int | None = None,
    slow: tuple[float, float] = (1.0, 1.0),
    seed: int = 0,
) -> tuple[list[MotionInput], list[GroundingExample]]:
    """Distinct motions (prepared once) and one example per turn with moments. ``slow``: each
    motion is played slower by a factor drawn uniformly from this range (its moments too), as
    phone and broadcast slow motion shows a swing; (1, 1) keeps the recorded speed."""
    from train.data import MotionDataset

    data = MotionDataset.from_jsonl(jsonl, load_crops=False)
    rng = np.random.default_rng(seed)
    clips: list[MotionInput] = []
    where: dict[Path, tuple[int, float]] = {}
    examples = []
    for i in tqdm(
        range(len(data)), desc=f"grounding {jsonl.name}", unit="line", leave=False, mininterval=10
    ):
        s = data.samples[i]
        humans = [t["value"] for t in s.conversations if t["from"] == "human"]
        moments = data[i]["moments"]
        qtypes = s.meta.get("qtypes", [""] * len(moments))
        for q, m, qt in zip(humans, moments, qtypes, strict=False):
            if not m:
                continue
            if s.motion not in where:
                factor = float(rng.uniform(*slow))
                where[s.motion] = (len(clips), factor)
                clips.append(prepare_motion(data.motion(i).slow_motion(factor), config))
            clip, factor = where[s.motion]
            windows = moment_windows(clips[clip], [(a * factor, b * factor) for a, b in m])
            examples.append(GroundingExample(clip, question_ids(tokenizer, [q]), windows, qt))
        if limit and len(examples) >= limit:
            break
    return clips, examples


@torch.no_grad()
def encode_clips(encoder: MotionEncoder, clips: list[MotionInput], batch: int = 32) -> list[Tensor]:
    """Frozen encoder features (T, H) per clip."""
    encoder.eval()
    out = []
    for i in range(0, len(clips), batch):
        part = clips[i : i + batch]
        t = max(c.feats.shape[0] for c in part)
        feats = torch.zeros(len(part), t, *part[0].feats.shape[1:])  # (B, T, 33, C)
        mask = torch.zeros(len(part), t, dtype=torch.bool)
        for j, c in enumerate(part):
            feats[j, : len(c.feats)] = torch.from_numpy(c.feats)
            mask[j, : len(c.feats)] = torch.from_numpy(c.frame_mask)
        is_3d = torch.tensor([c.is_3d for c in part])
        x = encoder(feats, mask, is_3d)  # (B, T, H)
        out += [x[j, : len(c.feats)].clone() for j, c in enumerate(part)]
    return out


@dataclass
class GroundingSet:
    """Prepared clips, their frozen encoder features (T, H) and the examples over them."""

    clips: list[MotionInput]
    feats: list[Tensor]
    examples: list[GroundingExample]


def build_set(
    jsonl: Path | list[Path],
    config: LLaMoConfig,
    tokenizer: object,
    encoder: MotionEncoder,
    limit: int | None,
    slows: list[tuple[float, float]],
) -> GroundingSet:
    """One copy of the examples of ``jsonl`` (one file or several, ``limit`` turns from each)
    per slow-motion range (see ``load_examples``)."""
    out = GroundingSet([], [], [])
    for path in [jsonl] if isinstance(jsonl, Path) else jsonl:
        for k, slow in enumerate(slows):
            clips, examples = load_examples(path, config, tokenizer, limit, slow, seed=k)
            shift = len(out.clips)
            out.examples += [replace(ex, clip=ex.clip + shift) for ex in examples]
            out.clips += clips
            out.feats += encode_clips(encoder, clips)
    return out


def grounding_loss(scores: Tensor, windows: list[tuple[int, int]]) -> Tensor:
    """Mean over moments of -log(share of the (T,) scores inside the moment's window)."""
    p = scores / scores.sum().clamp_min(1e-12)
    parts = [-(p[a : b + 1].sum() + 1e-6).log() for a, b in windows]
    return torch.stack(parts).mean()


def frame_scores(
    scorer: CrossTalker, motion: Tensor, mask: Tensor, text: Tensor, pose: Tensor | None = None
) -> Tensor:
    """Eq. 1-2 scores (T,) of one clip (motion (T, H), mask (T,), model features
    pose (T, 33, C)) for one question (L, D)."""
    return batch_frame_scores(scorer, [motion], [mask], [text], None if pose is None else [pose])[0]


def _pad(rows: list[Tensor]) -> tuple[Tensor, Tensor]:
    """(N_i, ...) tensors -> zero-padded (B, N, ...) and the (B, N) bool mask of real rows."""
    n = max(len(r) for r in rows)
    out = rows[0].new_zeros(len(rows), n, *rows[0].shape[1:])
    valid = torch.zeros(len(rows), n, dtype=torch.bool)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
        valid[i, : len(r)] = True
    return out, valid


def batch_frame_scores(
    scorer: CrossTalker,
    motions: list[Tensor],
    masks: list[Tensor],
    texts: list[Tensor],
    poses: list[Tensor] | None = None,
) -> list[Tensor]:
    """Eq. 1-2 scores of B (clip, question) pairs in one padded forward: motions (T_i, H),
    masks (T_i,), texts (L_i, D), poses (T_i, 33, C) -> B score vectors (T_i,)."""
    motion, mask, text, text_mask, pose = pad_batch(motions, masks, texts, poses)
    scores, _, _ = scorer.frame_scores(motion, mask, text, text_mask, pose)  # (B, T)
    return [scores[i, : len(m)] for i, m in enumerate(motions)]


def pad_batch(
    motions: list[Tensor], masks: list[Tensor], texts: list[Tensor], poses: list[Tensor] | None
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor | None]:
    """B (clip, question) pairs -> motion (B, T, H), mask (B, T), text (B, L, D), text mask
    (B, L), pose (B, T, 33, C) | None."""
    motion, _ = _pad(motions)  # (B, T, H)
    mask, _ = _pad([m.bool() for m in masks])  # (B, T)
    text, text_mask = _pad(texts)  # (B, L, D), (B, L)
    pose = None if poses is None else _pad(poses)[0]  # (B, T, 33, C)
    return motion, mask, text, text_mask, pose


def batch_inputs(
    gset: GroundingSet, examples: list[GroundingExample], embed: nn.Embedding
) -> tuple[list[Tensor], list[Tensor], list[Tensor], list[Tensor]]:
    """Motions, masks, question embeddings and model features of a batch of examples."""
    return (
        [gset.feats[ex.clip] for ex in examples],
        [torch.from_numpy(gset.clips[ex.clip].frame_mask) for ex in examples],
        [embed(torch.tensor(ex.question)).float() for ex in examples],
        [torch.from_numpy(gset.clips[ex.clip].feats) for ex in examples],
    )


def example_scores(
    scorer: CrossTalker, gset: GroundingSet, examples: list[GroundingExample], embed: nn.Embedding
) -> list[Tensor]:
    """Scores (T_i,) of a batch of grounding examples."""
    return batch_frame_scores(scorer, *batch_inputs(gset, examples, embed))


def example_scores_and_events(
    scorer: CrossTalker,
    gset: GroundingSet,
    examples: list[GroundingExample],
    embed: nn.Embedding,
    with_event: bool = True,
) -> tuple[list[Tensor], list[Tensor], Tensor]:
    """One forward of a batch through a "pose_event" scorer: the scores (T_i,) (without
    ``with_event``: the "pose" scores alone), its event head's own log p (T_i,) per example
    and the gates (B,)."""
    motions, masks, texts, poses = batch_inputs(gset, examples, embed)
    motion, mask, text, text_mask, pose = pad_batch(motions, masks, texts, poses)
    scores, _, event = scorer.frame_scores(motion, mask, text, text_mask, pose, with_event)
    if event is None:
        raise ValueError(f"scorer: {scorer.config.scorer!r} has no event head; use pose_event")
    logp, gate = event  # (B, T), (B, 1)
    return ([scores[i, : len(m)] for i, m in enumerate(motions)],
            [logp[i, : len(m)] for i, m in enumerate(motions)], gate[:, 0])  # fmt: skip


def event_loss(logp: Tensor, gate: Tensor, windows: list[tuple[int, int]], asked: bool) -> Tensor:
    """The event head's own loss on one turn: binary cross-entropy of its gate against
    ``asked`` (the turn asks when an event happens) and, when asked, the mean over moments of
    -log(the event distribution's mass inside the moment's window)."""
    target = torch.tensor(float(asked))
    loss = nn.functional.binary_cross_entropy(gate.clamp(1e-6, 1 - 1e-6), target)
    if asked:
        parts = [-torch.logsumexp(logp[a : b + 1], dim=0) for a, b in windows]
        loss = loss + torch.stack(parts).mean()
    return loss


def hit(scores: Tensor, windows: list[tuple[int, int]]) -> bool:
    j = int(scores.argmax())
    return any(a <= j <= b for a, b in windows)


@torch.no_grad()
def evaluate(scorer: CrossTalker, gset: GroundingSet, embed: nn.Embedding, batch: int = 64) -> dict:
    """Held-out hit rate per question type (with n) and overall."""
    by: dict[str, list[float]] = {}
    for i in range(0, len(gset.examples), batch):
        part = gset.examples[i : i + batch]
        for ex, s in zip(part, example_scores(scorer, gset, part, embed), strict=True):
            by.setdefault(ex.qtype, []).append(float(hit(s, ex.windows)))
    allv = [v for vs in by.values() for v in vs]
    out = {k: {"hit_rate": float(np.mean(v)), "n": len(v)} for k, v in sorted(by.items())}
    out["all"] = {"hit_rate": float(np.mean(allv)) if allv else None, "n": len(allv)}
    if scorer.event_rank is not None:
        out |= event_head_hits(scorer, gset, embed, batch)
    if scorer.pair_gate is not None:
        out["pair_gate_open"] = pair_gate_open(scorer, gset, embed, batch)
    return out


def pair_gate_open(scorer: CrossTalker, gset: GroundingSet, embed: nn.Embedding, batch: int
                   ) -> dict:  # fmt: skip
    """Share of turns whose pair gate is open, on the comparison turns (``PAIR_QTYPES``) and
    on the others: a gate that opens for the others moves their scores."""
    from core.llamo.cross_talker import PAIR_GATE_ON

    opened: dict[bool, list[float]] = {True: [], False: []}
    for i in range(0, len(gset.examples), batch):
        part = gset.examples[i : i + batch]
        for ex, g in zip(part, pair_gates(scorer, part, embed).tolist(), strict=True):
            opened[ex.qtype in PAIR_QTYPES].append(float(g >= PAIR_GATE_ON))
    return {"compare": float(np.mean(opened[True])) if opened[True] else None,
            "others": float(np.mean(opened[False])) if opened[False] else None}  # fmt: skip


def event_head_hits(scorer: CrossTalker, gset: GroundingSet, embed: nn.Embedding, batch: int
                    ) -> dict:  # fmt: skip
    """The event head's own hit rate (argmax of its time distribution) and mean gate on the
    event questions, per type: ``"event_head/<qtype>"``."""
    from train.evaluate import HIT_GROUPS

    asked = [ex for ex in gset.examples if ex.qtype in HIT_GROUPS["event"]]
    by: dict[str, list[tuple[float, float]]] = {}
    for i in range(0, len(asked), batch):
        part = asked[i : i + batch]
        _, logps, gates = example_scores_and_events(scorer, gset, part, embed)
        for ex, lp, g in zip(part, logps, gates, strict=True):
            by.setdefault(ex.qtype, []).append((float(hit(lp, ex.windows)), float(g)))
    return {f"event_head/{k}": {"hit_rate": float(np.mean([h for h, _ in v])), "n": len(v),
                                "gate": float(np.mean([g for _, g in v]))}
            for k, v in sorted(by.items())}  # fmt: skip


def evaluate_both(scorer: CrossTalker, held: GroundingSet, held_slow: GroundingSet,
                  embed: nn.Embedding) -> dict:  # fmt: skip
    return {"recorded": evaluate(scorer, held, embed), "slow": evaluate(scorer, held_slow, embed)}


def run(data: Path, config: LLaMoConfig, encoder_file: Path | None, out: Path, *,
        minutes: float, lr: float = 2e-3, batch: int = 32, seed: int = 0, max_heldout: int = 2000,
        max_train: int | None = None, slow: float = 1.0, init: Path | None = None,
        extra_train: list[Path] | None = None,
        type_weights: dict[str, float] | None = None,
        train_only: tuple[str, ...] | None = None, event_weight: float = 0.0) -> dict:  # fmt: skip
    """Train the scorer for ``minutes``; write the init weights and the report. ``slow`` > 1
    adds a copy of the training clips played 1.5-``slow`` times slower. The report gives the
    held-out hit rates at the recorded speed and played HELDOUT_SLOW times slower. ``init``: a
    safetensors file whose scorer (``SCORER_PREFIXES``) training continues from (a grounding
    run's init file or a model's motion modules); ``type_weights``: sampling weight per
    question type (1 for the others); ``extra_train``: more training JSONL files (other data
    engine runs) besides ``data``'s; ``train_only``: the scorer parts (``SCORER_PREFIXES``)
    that train, the others stay as ``init`` left them (all of them by default);
    ``event_weight``: see ``fit``."""
    from safetensors.torch import load_file, save_file

    torch.manual_seed(seed)
    config, tokenizer, embed = question_embedding(config)
    encoder = MotionEncoder(config)
    if encoder_file is not None:
        load_part(encoder, load_file(str(encoder_file)), "motion_encoder.")
    scorer = CrossTalker(config)
    if init is not None:
        load_scorer(scorer, load_file(str(init)), init)
    slows = [(1.0, 1.0)] + ([(min(1.5, slow), slow)] if slow > 1.0 else [])
    jsonls = [data / "train.jsonl", *(extra_train or [])]
    train = build_set(jsonls, config, tokenizer, encoder, max_train, slows)
    held, held_slow = (
        build_set(data / "heldout.jsonl", config, tokenizer, encoder, max_heldout, [s])
        for s in ((1.0, 1.0), HELDOUT_SLOW)
    )
    before = evaluate_both(scorer, held, held_slow, embed)
    start = time.perf_counter()
    steps = fit(
        scorer,
        train,
        embed,
        minutes=minutes,
        lr=lr,
        batch=batch,
        seed=seed,
        type_weights=type_weights,
        train_only=train_only,
        event_weight=event_weight,
    )
    after = evaluate_both(scorer, held, held_slow, embed)
    out.mkdir(parents=True, exist_ok=True)
    state = {f"motion_encoder.{k}": v for k, v in encoder.state_dict().items()}
    state |= {f"fusion.{k}": v for k, v in scorer.state_dict().items()
              if f"fusion.{k}".startswith(SCORER_PREFIXES)}  # fmt: skip
    save_file({k: v.contiguous() for k, v in state.items()}, str(out / INIT_FILE))
    report = {"steps": steps, "seconds": round(time.perf_counter() - start, 1),
              "n_train": len(train.examples), "scorer": config.scorer, "slow": slow, "lr": lr,
              "rank_gate": config.rank_gate, "event_loss": event_weight,
              "event_trust": config.event_trust, "pair_angles": config.pair_angles,
              "pair_gate": config.pair_gate, "text_pool": config.text_pool,
              "init": None if init is None else str(init), "type_weights": type_weights or {},
              "train_only": list(train_only or SCORER_PREFIXES),
              "train_files": [str(j) for j in jsonls],
              "heldout_before": before["recorded"], "heldout_after": after["recorded"],
              "heldout_slow_before": before["slow"], "heldout_slow_after": after["slow"]}  # fmt: skip
    (out / REPORT_FILE).write_text(json.dumps(report, indent=1))
    return report


def sampling_weights(examples: list[GroundingExample], type_weights: dict[str, float] | None
                     ) -> np.ndarray:  # fmt: skip
    """Probability of drawing each example: its type's weight (default 1), normalised."""
    w = np.array([(type_weights or {}).get(ex.qtype, 1.0) for ex in examples], dtype=np.float64)
    return w / w.sum()


def batch_loss(scorer: CrossTalker, gset: GroundingSet, part: list[GroundingExample],
               embed: nn.Embedding, event_weight: float = 0.0) -> Tensor:  # fmt: skip
    """Summed grounding loss of a batch, plus ``event_weight`` times the event head's own
    loss (``event_loss``; the event questions are the evaluation's "event" group), plus a
    pair gate's loss (``pair_gate_loss``) where the scorer has one."""
    from train.evaluate import HIT_GROUPS

    extra = pair_gate_loss(scorer, part, embed) if scorer.pair_gate is not None else 0.0
    if event_weight <= 0:
        scores = example_scores(scorer, gset, part, embed)
    else:
        scores, logps, gates = example_scores_and_events(scorer, gset, part, embed)
        own = [event_loss(lp, g, ex.windows, ex.qtype in HIT_GROUPS["event"])
               for lp, g, ex in zip(logps, gates, part, strict=True)]  # fmt: skip
        extra = extra + event_weight * torch.stack(own).sum()
    loss = sum(grounding_loss(s, ex.windows) for s, ex in zip(scores, part, strict=True))
    return loss + extra


def pair_gates(scorer: CrossTalker, part: list[GroundingExample], embed: nn.Embedding) -> Tensor:
    """The pair gate (B,) of each turn's question (the scorer must have one)."""
    text, text_mask = _pad([embed(torch.tensor(ex.question)).float() for ex in part])  # (B, L, D)
    return scorer.pair_gate(scorer.question_query(text, text_mask), text_mask)[:, 0]


def pair_gate_loss(scorer: CrossTalker, part: list[GroundingExample], embed: nn.Embedding
                   ) -> Tensor:  # fmt: skip
    """Summed binary cross-entropy of the pair gate against "the turn compares two sides"
    (``PAIR_QTYPES``). The gate opens the pair key by a threshold, so the grounding loss
    passes it no gradient: this is what trains it."""
    gate = pair_gates(scorer, part, embed)  # (B,)
    target = torch.tensor([float(ex.qtype in PAIR_QTYPES) for ex in part])
    return nn.functional.binary_cross_entropy(gate.clamp(1e-6, 1 - 1e-6), target, reduction="sum")


def fit(scorer: CrossTalker, train: GroundingSet, embed: nn.Embedding, *, minutes: float,
        lr: float, batch: int, seed: int, type_weights: dict[str, float] | None = None,
        train_only: tuple[str, ...] | None = None, event_weight: float = 0.0) -> int:  # fmt: skip
    """AdamW on the grounding loss of random batches for ``minutes``; returns the steps.
    ``type_weights`` draws the turns of some question types more often; ``train_only``
    limits training to those scorer parts; ``event_weight`` > 0 adds the event head's own
    loss (a "pose_event" scorer)."""
    if event_weight > 0 and scorer.event_rank is None:
        raise ValueError(f"event_weight: the {scorer.config.scorer!r} scorer has no event head")
    parts = check_train_only(train_only)
    params = [p for n, p in scorer.named_parameters() if f"fusion.{n}".startswith(parts)]
    if not params:
        raise ValueError(f"train_only: this {scorer.config.scorer!r} scorer has none of {parts}")
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    rng = np.random.default_rng(seed)
    start, step = time.perf_counter(), 0
    bar = tqdm(desc="grounding", unit="step", mininterval=10)
    n = len(train.examples)
    prob = sampling_weights(train.examples, type_weights)
    while time.perf_counter() - start < minutes * 60:
        drawn = rng.choice(n, size=min(batch, n), replace=False, p=prob)
        part = [train.examples[k] for k in drawn]
        loss = batch_loss(scorer, train, part, embed, event_weight)
        opt.zero_grad(set_to_none=True)
        (loss / len(part)).backward()
        opt.step()
        step += 1
        bar.update(1)
        bar.set_postfix(loss=f"{float(loss.detach()) / len(part):.3f}", refresh=False)
    bar.close()
    return step


def check_train_only(parts: tuple[str, ...] | None) -> tuple[str, ...]:
    """The scorer parts to train (all by default); an unknown one is an error naming them."""
    if not parts:
        return SCORER_PREFIXES
    unknown = [p for p in parts if p not in SCORER_PREFIXES]
    if unknown:
        raise ValueError(f"train_only: {unknown} are not scorer parts; pick from {SCORER_PREFIXES}")
    return tuple(parts)


def load_part(
    module: nn.Module, state: dict[str, Tensor], prefix: str, strict: bool = True
) -> None:
    """Load the ``prefix`` keys of a saved state (a pretrain file, a grounding run or a whole
    model's motion_modules.safetensors; bf16 allowed) into ``module``."""
    part = {k.removeprefix(prefix): v.float() for k, v in state.items() if k.startswith(prefix)}
    module.load_state_dict(part, strict=strict)


def load_scorer(scorer: CrossTalker, state: dict[str, Tensor], source: Path) -> None:
    """Load the scorer part (``SCORER_PREFIXES``) of a saved state into ``scorer``."""
    part = {k: v for k, v in state.items() if k.startswith(SCORER_PREFIXES)}
    if not part:
        raise ValueError(f"init: {source} holds no frame scorer (no key starts with fusion.w_q.)")
    load_part(scorer, part, "fusion.", strict=False)


def question_embedding(config: LLaMoConfig) -> tuple[LLaMoConfig, object, nn.Embedding]:
    """The LLM's tokenizer and input embedding table (a frozen lookup table: the grounding
    needs no LLM forward), and ``config`` with the LLM's embedding size."""
    from core.llamo.llm import load_llm

    llm, tokenizer = load_llm(config.llm, device="cpu")
    config = replace(config, llm_hidden_size=int(llm.config.hidden_size))
    return config, tokenizer, llm.get_input_embeddings().requires_grad_(False)


def scorer_fields(report: dict) -> dict:
    """The ``LLaMoConfig`` fields a grounding run's report fixes: the scorer, whether it has
    a fitted event trust (``train.event_trust``), the pair angles in its key and their gate,
    and how Eq.2 pooled the question's tokens in training. Runs from before session 23 name
    no pool: the config's stands (``--set model.text_pool=...`` rescores them under either)."""
    pool = {"text_pool": report["text_pool"]} if "text_pool" in report else {}
    return {"scorer": report["scorer"], "event_trust": bool(report.get("event_trust", False)),
            "pair_angles": bool(report.get("pair_angles", False)),
            "pair_gate": bool(report.get("pair_gate", False)), **pool}  # fmt: skip


def load_run(run_dir: Path, config: LLaMoConfig) -> tuple[LLaMoConfig, MotionEncoder, CrossTalker]:
    """A finished grounding run's config (``config`` with the run's ``scorer_fields``; a run
    with a fitted event trust, ``train.event_trust``, gets event_mix 1), encoder and scorer."""
    from safetensors.torch import load_file

    fields = scorer_fields(json.loads((run_dir / REPORT_FILE).read_text()))
    cfg = replace(config, **fields, event_mix=float(fields["event_trust"]))
    encoder, scorer = MotionEncoder(cfg), CrossTalker(cfg)
    state = load_file(str(run_dir / INIT_FILE))
    load_part(encoder, state, "motion_encoder.")
    load_scorer(scorer, state, run_dir / INIT_FILE)
    return cfg, encoder, scorer


def rescore(data: Path, config: LLaMoConfig, runs: list[Path],
            event_mixes: list[float] | None = None) -> dict:  # fmt: skip
    """Held-out hit rates of finished grounding runs (each with its own scorer type and
    encoder) on another dataset's ``heldout.jsonl``, at the recorded speed and HELDOUT_SLOW
    times slower: compares scorers on one set of turns. ``event_mixes``: score each
    "pose_event" run once per ``LLaMoConfig.event_mix`` (keys "RUN event_mix=A"; the other
    runs once, as "RUN"), so a validation set can choose it."""
    config, tokenizer, embed = question_embedding(config)
    out = {}
    for run_dir in runs:
        cfg, encoder, scorer = load_run(run_dir, config)
        held, held_slow = (
            build_set(data / "heldout.jsonl", cfg, tokenizer, encoder, None, [s])
            for s in ((1.0, 1.0), HELDOUT_SLOW)
        )
        mixes = event_mixes if cfg.scorer == "pose_event" else None
        if not mixes:
            out[str(run_dir)] = evaluate_both(scorer, held, held_slow, embed)
        for mix in mixes or []:
            scorer.config = replace(cfg, event_mix=mix)
            out[f"{run_dir} event_mix={mix:g}"] = evaluate_both(scorer, held, held_slow, embed)
    return out


def copy_with_scorer(src: Path, dst: Path, grounding: Path | None = None, seed: int = 0,
                     rank_gate: float | None = None, event_mix: float = 0.0) -> Path:  # fmt: skip
    """A copy of the saved model ``src`` with another frame scorer (Eq. 1): the one
    ``train.grounding`` wrote to the folder ``grounding`` (over the same frozen encoder), or,
    without one, a freshly initialised scorer: the plain Cross Talker's selection under the
    same LLM and modules (an inference-time ablation of the grounding loss). ``rank_gate``:
    the copy's ``LLaMoConfig.rank_gate`` (default: the grounding run's); ``event_mix``: the
    copy's ``LLaMoConfig.event_mix`` (a "pose_event" grounding run only)."""
    import shutil

    from safetensors.torch import load_file, save_file

    from core.llamo.checkpoint import CONFIG_FILE, MODULES_FILE

    config = LLaMoConfig.from_json(src / CONFIG_FILE)
    state = load_file(str(src / MODULES_FILE))
    if grounding is None:
        torch.manual_seed(seed)
        new = {f"fusion.{k}": v for k, v in CrossTalker(config).state_dict().items()}
    else:
        report = json.loads((grounding / REPORT_FILE).read_text())
        gate = report.get("rank_gate", 0.0) if rank_gate is None else rank_gate
        config = replace(config, **scorer_fields(report), rank_gate=gate, event_mix=event_mix)
        new = load_file(str(grounding / INIT_FILE))
        _check_same_encoder(state, new, src, grounding)
    shutil.copytree(src, dst, dirs_exist_ok=True)
    dtype = next(v.dtype for k, v in state.items() if k.startswith("motion_encoder."))
    kept = {k: v for k, v in state.items() if not k.startswith(SCORER_PREFIXES)}
    scorer = {k: v.to(dtype).contiguous() for k, v in new.items() if k.startswith(SCORER_PREFIXES)}
    save_file(kept | scorer, str(dst / MODULES_FILE))
    config.to_json(dst / CONFIG_FILE)
    return dst


def blend_runs(first: Path, second: Path, dst: Path, weight: float = 0.5) -> Path:
    """A grounding run folder ``dst`` whose scorer is ``(1 - weight)`` x ``first``'s plus
    ``weight`` x ``second``'s, both over the same encoder: a weight-space average of a scorer
    and one continued from it (WiSE-FT), which often keeps most of the continued scorer's gain
    on its own data and loses less away from it. Every other weight is ``first``'s."""
    from safetensors.torch import load_file, save_file

    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"blend weight: must be in [0, 1], got {weight}")
    for run in (first, second):
        if not (run / INIT_FILE).is_file() or not (run / REPORT_FILE).is_file():
            raise ValueError(f"blend: {run} is not a grounding run (it needs {INIT_FILE} and "
                             f"{REPORT_FILE}); give train.grounding --out folders")  # fmt: skip
        if dst.resolve() == run.resolve():
            raise ValueError(f"blend: DST {dst} is one of the runs; give a new folder")
    reports = [json.loads((run / REPORT_FILE).read_text()) for run in (first, second)]
    fields = [scorer_fields(r) | {"rank_gate": r.get("rank_gate", 0.0)} for r in reports]
    for key, value in fields[0].items():
        if fields[1][key] != value:
            raise ValueError(f"blend: {first} and {second} differ in {key} "
                             f"({value!r} and {fields[1][key]!r}); only like scorers average")  # fmt: skip
    a, b = (load_file(str(run / INIT_FILE)) for run in (first, second))
    if {k for k in a if k.startswith(SCORER_PREFIXES)} != {
        k for k in b if k.startswith(SCORER_PREFIXES)
    }:
        raise ValueError(f"blend: {first} and {second} have different scorer weights; blend a "
                         "scorer with one continued from it")  # fmt: skip
    for k in a.keys() & b.keys():  # a run may also hold modules it did not train
        if not k.startswith(SCORER_PREFIXES) and not torch.allclose(a[k].float(), b[k].float(),
                                                                    atol=2e-2):  # fmt: skip
            raise ValueError(f"blend: {first} and {second} differ in {k}, outside the scorer; "
                             "blend a scorer with one continued from it over the same encoder")  # fmt: skip
    mixed = {k: (v.float() * (1.0 - weight) + b[k].float() * weight).to(v.dtype)
             if k.startswith(SCORER_PREFIXES) else v for k, v in a.items()}  # fmt: skip
    dst.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in mixed.items()}, str(dst / INIT_FILE))
    report = fields[0] | {"blend": {"runs": [str(first), str(second)], "weight": weight}}
    (dst / REPORT_FILE).write_text(json.dumps(report, indent=1))
    return dst


def _check_same_encoder(model: dict, init: dict, src: Path, grounding: Path) -> None:
    """The scorer was trained on some encoder's features: it must be ``src``'s."""
    keys = [k for k in init if k.startswith("motion_encoder.")]
    for k in keys:
        a, b = model.get(k), init[k]
        if a is None or a.shape != b.shape or not torch.allclose(a.float(), b.float(), atol=2e-2):
            raise ValueError(
                f"grounding: {grounding} was trained over another motion encoder than {src}'s "
                f"({k} differs); run train.grounding with --encoder {src}/motion_modules.safetensors"
            )


def parse_type_weights(items: list[str]) -> dict[str, float]:
    """["golf_event_time=3", ...] -> {"golf_event_time": 3.0}; a bad item names itself."""
    from train.qa import QA_TYPES

    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            weight = float(value)
        except ValueError:
            weight = -1.0
        if not sep or name not in QA_TYPES or weight <= 0:
            raise SystemExit(
                f"--type-weight: {item!r} must be QTYPE=W with W > 0 and QTYPE one of "
                f"{', '.join(QA_TYPES)}"
            )
        out[name] = weight
    return out


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m train.grounding``."""
    ap = argparse.ArgumentParser(
        prog="python -m train.grounding", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument(
        "--plain-copy",
        nargs=2,
        type=Path,
        metavar=("SRC", "DST"),
        help="only copy the model SRC to DST with an untrained scorer, then exit",
    )
    ap.add_argument(
        "--swap-scorer",
        nargs=3,
        type=Path,
        metavar=("SRC", "GROUNDING", "DST"),
        help="only copy the model SRC to DST with the scorer a grounding run wrote, then exit",
    )
    ap.add_argument(
        "--blend",
        nargs=3,
        type=Path,
        metavar=("RUN_A", "RUN_B", "DST"),
        help="only write a grounding run DST whose scorer averages RUN_A's and RUN_B's "
        "(--blend-weight of RUN_B's), then exit",
    )
    ap.add_argument(
        "--blend-weight",
        type=float,
        default=0.5,
        metavar="W",
        help="with --blend: RUN_B's share of the average, in [0, 1] (default 0.5)",
    )
    ap.add_argument(
        "--rank-gate",
        type=float,
        default=None,
        metavar="G",
        help="with --swap-scorer: the copy's rank_gate (default: the grounding run's)",
    )
    ap.add_argument(
        "--event-mix",
        nargs="+",
        type=float,
        default=[],
        metavar="A",
        help="pose_event scorers: with --swap-scorer the copy's event_mix (one value); with "
        "--rescore, score each run once per value (0: the product, as trained)",
    )
    ap.add_argument(
        "--rescore",
        nargs="+",
        type=Path,
        metavar="RUN",
        help="only score finished grounding runs on --data's held-out turns (JSON to --out)",
    )
    add_run_args(ap)
    return ap


def add_run_args(ap: argparse.ArgumentParser) -> None:
    """The arguments of a training run (and of --rescore: data and config)."""
    ap.add_argument("--data", type=Path, help="make_dataset folder")
    ap.add_argument("--config", type=Path, help="training YAML (its model block)")
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument(
        "--encoder", type=Path, default=None, help="train.pretrain's motion_encoder.safetensors"
    )
    ap.add_argument("--out", type=Path)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument(
        "--extra-train",
        type=Path,
        action="append",
        default=[],
        metavar="JSONL",
        help="also train on this data engine file (repeatable)",
    )
    ap.add_argument(
        "--init",
        type=Path,
        default=None,
        help="continue from the scorer in this safetensors file (a grounding run's or a model's)",
    )
    ap.add_argument(
        "--type-weight",
        action="append",
        default=[],
        metavar="QTYPE=W",
        help="draw this question type's turns W times as often (repeatable)",
    )
    ap.add_argument(
        "--train-only",
        action="append",
        default=[],
        metavar="PREFIX",
        help="train only this scorer part, e.g. fusion.angle_rank. (repeatable; default all)",
    )
    ap.add_argument(
        "--event-loss",
        type=float,
        default=0.0,
        metavar="W",
        help="add W x the event head's own loss (a pose_event scorer; default 0: none)",
    )
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--max-train", type=int, default=6000, help="at most N training turns")
    ap.add_argument(
        "--slow",
        type=float,
        default=1.0,
        help="also train on the clips played 1.5-SLOW times slower (slow-motion video)",
    )


def copy_only(a: argparse.Namespace, ap: argparse.ArgumentParser) -> bool:
    """--plain-copy / --swap-scorer / --blend: copy a model or a run with another scorer;
    True when done."""
    if a.plain_copy:
        print(copy_with_scorer(*a.plain_copy))
        return True
    if a.blend:
        try:
            print(blend_runs(*a.blend, weight=a.blend_weight))
        except ValueError as err:
            ap.error(str(err))
        return True
    if a.swap_scorer:
        src, grounding, dst = a.swap_scorer
        if a.rank_gate is not None and not 0.0 <= a.rank_gate < 1.0:
            ap.error(f"--rank-gate: must be in [0, 1), got {a.rank_gate}")
        if len(a.event_mix) > 1:
            ap.error(f"--event-mix: --swap-scorer takes one value, got {a.event_mix}")
        mix = a.event_mix[0] if a.event_mix else 0.0
        try:
            print(copy_with_scorer(src, dst, grounding, rank_gate=a.rank_gate, event_mix=mix))
        except ValueError as err:
            ap.error(str(err))
        return True
    return False


def check_run_args(a: argparse.Namespace, ap: argparse.ArgumentParser) -> None:
    """One usage line for each argument a training run or --rescore cannot use."""
    if a.data is None or a.config is None or a.out is None:
        ap.error("--data, --config and --out are required for training and --rescore")
    for path in a.extra_train:
        if not path.is_file():
            ap.error(f"--extra-train: {path} is not a file; give a data engine run's train.jsonl")
    try:
        check_train_only(tuple(a.train_only))
    except ValueError as err:
        ap.error(f"--train-only: {err}")
    if a.init is not None and not a.init.is_file():
        ap.error(f"--init: {a.init} is not a file; give a grounding run's {INIT_FILE}")


def rescore_cli(a: argparse.Namespace, ap: argparse.ArgumentParser, config: LLaMoConfig) -> None:
    """--rescore: hit rates of finished runs, to --out and one line per run and speed."""
    for mix in a.event_mix:
        if not 0.0 <= mix <= 1.0:
            ap.error(f"--event-mix: each value must be in [0, 1], got {mix}")
    try:
        result = rescore(a.data, config, a.rescore, a.event_mix)
    except ValueError as err:  # e.g. a fitted event trust asked to score at event_mix 0
        ap.error(str(err))
    a.out.write_text(json.dumps(result, indent=1))
    for run_dir, speeds in result.items():
        for speed, rates in speeds.items():
            rounded = {k: round(v["hit_rate"], 3) for k, v in rates.items() if "hit_rate" in v}
            print(run_dir, speed, json.dumps(rounded))


def cli(argv: list[str] | None = None) -> None:
    from train.pretrain import model_config

    ap = build_parser()
    a = ap.parse_args(argv)
    if copy_only(a, ap):
        return
    check_run_args(a, ap)
    torch.set_num_threads(a.threads)
    config = model_config(a.config, a.set)
    if a.rescore:
        rescore_cli(a, ap, config)
        return
    if a.event_loss < 0 or (a.event_loss > 0 and config.scorer != "pose_event"):
        ap.error(f"--event-loss: needs W >= 0 and model.scorer=pose_event "
                 f"(got {a.event_loss} and {config.scorer!r})")  # fmt: skip
    report = run(a.data, config, a.encoder, a.out, minutes=a.minutes,
                 max_train=a.max_train, slow=a.slow, lr=a.lr, init=a.init,
                 extra_train=a.extra_train, train_only=tuple(a.train_only) or None,
                 event_weight=a.event_loss,
                 type_weights=parse_type_weights(a.type_weight))  # fmt: skip
    print(json.dumps({k: report[k] for k in ("steps", "seconds")}))
    print(
        json.dumps(report["heldout_after"]["all"]),
        "before:",
        json.dumps(report["heldout_before"]["all"]),
    )


if __name__ == "__main__":
    cli()
