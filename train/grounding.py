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
highest-scoring frame lies in a target window) per question type.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
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
)
INIT_FILE = "motion_modules_init.safetensors"
REPORT_FILE = "grounding_report.json"


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


def load_examples(jsonl: Path, config: LLaMoConfig, tokenizer: object, limit: int | None = None
                  ) -> tuple[list[MotionInput], list[GroundingExample]]:  # fmt: skip
    """Distinct motions (prepared once) and one example per turn with moments."""
    from train.data import MotionDataset

    data = MotionDataset.from_jsonl(jsonl, load_crops=False)
    clips: list[MotionInput] = []
    where: dict[Path, int] = {}
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
                where[s.motion] = len(clips)
                clips.append(prepare_motion(data.motion(i), config))
            prepared = clips[where[s.motion]]
            ids = question_ids(tokenizer, [q])
            examples.append(GroundingExample(where[s.motion], ids, moment_windows(prepared, m), qt))
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
    text_mask = torch.ones(1, text.shape[0], dtype=torch.bool)
    pose = None if pose is None else pose[None]
    attn = scorer.text_attention(motion[None], mask[None], text[None], text_mask, pose)  # (1, L, T)
    return attn.amax(dim=1)[0]  # (T,)


def hit(scores: Tensor, windows: list[tuple[int, int]]) -> bool:
    j = int(scores.argmax())
    return any(a <= j <= b for a, b in windows)


@torch.no_grad()
def evaluate(scorer, feats, clips, examples, embed: nn.Embedding) -> dict:
    """Held-out hit rate per question type (with n) and overall."""
    by: dict[str, list[float]] = {}
    for ex in examples:
        mask = torch.from_numpy(clips[ex.clip].frame_mask)
        text = embed(torch.tensor(ex.question)).float()
        s = frame_scores(scorer, feats[ex.clip], mask, text, torch.from_numpy(clips[ex.clip].feats))
        by.setdefault(ex.qtype, []).append(float(hit(s, ex.windows)))
    allv = [v for vs in by.values() for v in vs]
    out = {k: {"hit_rate": float(np.mean(v)), "n": len(v)} for k, v in sorted(by.items())}
    out["all"] = {"hit_rate": float(np.mean(allv)) if allv else None, "n": len(allv)}
    return out


def run(data: Path, config: LLaMoConfig, encoder_file: Path | None, out: Path, *,
        minutes: float, lr: float = 2e-3, batch: int = 32, seed: int = 0, max_heldout: int = 2000, max_train: int | None = None) -> dict:  # fmt: skip
    """Train the scorer for ``minutes``; write the init weights and the report."""
    from safetensors.torch import load_file, save_file

    from core.llamo.llm import load_llm

    torch.manual_seed(seed)
    llm, tokenizer = load_llm(config.llm, device="cpu")
    embed = llm.get_input_embeddings()
    config = LLaMoConfig.from_dict(
        {**config.to_dict(), "llm_hidden_size": int(llm.config.hidden_size)}
    )
    encoder = MotionEncoder(config)
    if encoder_file is not None:
        load_part(encoder, load_file(str(encoder_file)), "motion_encoder.")
    scorer = CrossTalker(config)
    clips, train = load_examples(data / "train.jsonl", config, tokenizer, limit=max_train)
    hclips, held = load_examples(data / "heldout.jsonl", config, tokenizer, limit=max_heldout)
    feats, hfeats = encode_clips(encoder, clips), encode_clips(encoder, hclips)
    params = [p for n, p in scorer.named_parameters() if f"fusion.{n}".startswith(SCORER_PREFIXES)]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    before = evaluate(scorer, hfeats, hclips, held, embed)
    rng = np.random.default_rng(seed)
    start, step = time.perf_counter(), 0
    bar = tqdm(desc="grounding", unit="step", mininterval=10)
    while time.perf_counter() - start < minutes * 60:
        loss = torch.zeros(())
        for k in rng.choice(len(train), size=min(batch, len(train)), replace=False):
            ex = train[k]
            mask = torch.from_numpy(clips[ex.clip].frame_mask)
            text = embed(torch.tensor(ex.question)).float()
            loss = loss + grounding_loss(
                frame_scores(
                    scorer, feats[ex.clip], mask, text, torch.from_numpy(clips[ex.clip].feats)
                ),
                ex.windows,
            )
        opt.zero_grad(set_to_none=True)
        (loss / batch).backward()
        opt.step()
        step += 1
        bar.update(1)
        bar.set_postfix(loss=f"{float(loss.detach()) / batch:.3f}", refresh=False)
    bar.close()
    after = evaluate(scorer, hfeats, hclips, held, embed)
    out.mkdir(parents=True, exist_ok=True)
    state = {f"motion_encoder.{k}": v for k, v in encoder.state_dict().items()}
    state |= {f"fusion.{k}": v for k, v in scorer.state_dict().items()
              if f"fusion.{k}".startswith(SCORER_PREFIXES)}  # fmt: skip
    save_file({k: v.contiguous() for k, v in state.items()}, str(out / INIT_FILE))
    report = {"steps": step, "seconds": round(time.perf_counter() - start, 1), "n_train": len(train),
              "scorer": config.scorer, "heldout_before": before, "heldout_after": after}  # fmt: skip
    (out / REPORT_FILE).write_text(json.dumps(report, indent=1))
    return report


def load_part(
    module: nn.Module, state: dict[str, Tensor], prefix: str, strict: bool = True
) -> None:
    """Load the ``prefix`` keys of a saved state (a pretrain file, a grounding run or a whole
    model's motion_modules.safetensors; bf16 allowed) into ``module``."""
    part = {k.removeprefix(prefix): v.float() for k, v in state.items() if k.startswith(prefix)}
    module.load_state_dict(part, strict=strict)


def rescore(data: Path, config: LLaMoConfig, runs: list[Path]) -> dict:
    """Held-out hit rates of finished grounding runs (each with its own scorer type and
    encoder) on another dataset's ``heldout.jsonl``: compares scorers on one set of turns."""
    from dataclasses import replace

    from safetensors.torch import load_file

    from core.llamo.llm import load_llm

    llm, tokenizer = load_llm(config.llm, device="cpu")
    embed = llm.get_input_embeddings()
    config = replace(config, llm_hidden_size=int(llm.config.hidden_size))
    clips, held = load_examples(data / "heldout.jsonl", config, tokenizer)
    out = {}
    for run_dir in runs:
        kind = json.loads((run_dir / REPORT_FILE).read_text())["scorer"]
        cfg = replace(config, scorer=kind)
        encoder, scorer = MotionEncoder(cfg), CrossTalker(cfg)
        state = load_file(str(run_dir / INIT_FILE))
        load_part(encoder, state, "motion_encoder.")
        load_part(scorer, state, "fusion.", strict=False)  # the scorer's part of the fusion
        out[str(run_dir)] = evaluate(scorer, encode_clips(encoder, clips), clips, held, embed)
    return out


def copy_with_scorer(src: Path, dst: Path, grounding: Path | None = None, seed: int = 0) -> Path:
    """A copy of the saved model ``src`` with another frame scorer (Eq. 1): the one
    ``train.grounding`` wrote to the folder ``grounding`` (over the same frozen encoder), or,
    without one, a freshly initialised scorer: the plain Cross Talker's selection under the
    same LLM and modules (an inference-time ablation of the grounding loss)."""
    import shutil
    from dataclasses import replace

    from safetensors.torch import load_file, save_file

    from core.llamo.checkpoint import CONFIG_FILE, MODULES_FILE

    shutil.copytree(src, dst, dirs_exist_ok=True)
    config = LLaMoConfig.from_json(dst / CONFIG_FILE)
    state = load_file(str(dst / MODULES_FILE))
    if grounding is None:
        torch.manual_seed(seed)
        new = {f"fusion.{k}": v for k, v in CrossTalker(config).state_dict().items()}
    else:
        report = json.loads((grounding / REPORT_FILE).read_text())
        config = replace(config, scorer=report["scorer"])
        new = load_file(str(grounding / INIT_FILE))
        _check_same_encoder(state, new, src, grounding)
    dtype = next(v.dtype for k, v in state.items() if k.startswith("motion_encoder."))
    kept = {k: v for k, v in state.items() if not k.startswith(SCORER_PREFIXES)}
    scorer = {k: v.to(dtype).contiguous() for k, v in new.items() if k.startswith(SCORER_PREFIXES)}
    save_file(kept | scorer, str(dst / MODULES_FILE))
    config.to_json(dst / CONFIG_FILE)
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


def cli(argv: list[str] | None = None) -> None:
    from train.pretrain import model_config

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
        "--rescore",
        nargs="+",
        type=Path,
        metavar="RUN",
        help="only score finished grounding runs on --data's held-out turns (JSON to --out)",
    )
    ap.add_argument("--data", type=Path, help="make_dataset folder")
    ap.add_argument("--config", type=Path, help="training YAML (its model block)")
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument(
        "--encoder", type=Path, default=None, help="train.pretrain's motion_encoder.safetensors"
    )
    ap.add_argument("--out", type=Path)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--max-train", type=int, default=6000, help="at most N training turns")
    a = ap.parse_args(argv)
    if a.plain_copy:
        print(copy_with_scorer(*a.plain_copy))
        return
    if a.swap_scorer:
        src, grounding, dst = a.swap_scorer
        print(copy_with_scorer(src, dst, grounding))
        return
    if a.data is None or a.config is None or a.out is None:
        ap.error("--data, --config and --out are required for training and --rescore")
    torch.set_num_threads(a.threads)
    if a.rescore:
        result = rescore(a.data, model_config(a.config, a.set), a.rescore)
        a.out.write_text(json.dumps(result, indent=1))
        for run_dir, rates in result.items():
            print(run_dir, json.dumps({k: round(v["hit_rate"], 3) for k, v in rates.items()}))
        return
    report = run(a.data, model_config(a.config, a.set), a.encoder, a.out, minutes=a.minutes,
                 max_train=a.max_train)  # fmt: skip
    print(json.dumps({k: report[k] for k in ("steps", "seconds")}))
    print(
        json.dumps(report["heldout_after"]["all"]),
        "before:",
        json.dumps(report["heldout_before"]["all"]),
    )


if __name__ == "__main__":
    cli()
