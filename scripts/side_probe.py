"""Is the bent side in the viewpoint tokens? (issue 10: "Which elbow bends more?")

The shipped model answers these turns from a side prior (MODEL_CARD, session 19). Before
training the LLM to read the side, this asks whether its input carries it. For every
``bend_compare`` turn it takes the model's viewpoint tokens as the LLM reads them (after the
projector, most relevant first) and the Cross Talker's output before the projector; an
L2-regularised logistic probe fitted on the TRAINING set's turns (fixed strength, nothing
tuned on the evaluation set) predicts the answer side on another set's turns. Beside it: the
side the skeleton itself shows at the viewpoint frames (the side whose asked joint reaches the
smaller angle there), which bounds any reader of those frames; and the side word ("left" or
"right") the first token is nearer to by direction, as the words stage trains it
(``core.llamo.fusion.token_word_logits``).

    python scripts/side_probe.py --model core/weights/default --train artifacts/synth3m/train.jsonl \
        --eval artifacts/val11 [--out side_probe.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from core.analytics.angles import joint_angles
from core.llamo.fusion import token_word_logits
from train.evaluate import eval_items, heldout_path, wilson
from train.qa import SIDES
from train.token_words import asked_part, word_id

QTYPE = "bend_compare"
L2 = 1.0  # fixed before looking at any evaluation turn


def turn_features(model, dataset, item) -> dict:
    """The turn's tokens (first, mean; after and before the projector) and the frames' side."""
    motion = dataset[item.index]["motion"]
    batch = model._inference_batch(motion, item.question, None, (), None)
    fusion = model.fuse(batch)
    order = model.viewpoint_order(fusion, 0)  # prompt order, most relevant first
    tokens = fusion.tokens[0][order].float()  # (K'', D)
    raw = fusion.fusion.motion_tokens[0][order].float()  # (K'', 2H)
    part = asked_part(item.question)
    ids = torch.tensor([word_id(model.tokenizer, w) for w in SIDES])
    words = model.embed_tokens(ids.to(tokens.device)).float()  # (2, D)
    reads = SIDES[int(token_word_logits(tokens[0], words).argmax())]
    angles = joint_angles(motion)
    frames = np.clip(np.round(fusion.timestamps[0][order].cpu().numpy() * motion.fps), 0,
                     len(motion) - 1).astype(int)  # fmt: skip
    lows = {s: np.nanmin(np.append(angles[f"{s}_{part}"][frames], 180.0)) for s in SIDES}
    return {"first": tokens[0].numpy(), "mean": tokens.mean(0).numpy(),
            "raw_first": raw[0].numpy(), "raw_mean": raw.mean(0).numpy(),
            "knee": float(part == "knee"), "frames_say": min(SIDES, key=lows.get), "reads": reads,
            "side": item.target["value"]}  # fmt: skip


def collect(model, path: Path, limit: int | None) -> list[dict]:
    from train.data import MotionDataset

    dataset = MotionDataset.from_jsonl(path)
    items = eval_items(dataset.samples, types=[QTYPE])[:limit]
    with torch.no_grad():
        return [turn_features(model, dataset, it) for it in tqdm(items, desc=path.name)]


def design(x: np.ndarray, mu: np.ndarray, sd: np.ndarray) -> torch.Tensor:
    """Standardised features with a bias column: (N, F) -> (N, F + 1)."""
    xt = torch.tensor((x - mu) / sd, dtype=torch.float64)
    return torch.cat([xt, torch.ones(len(xt), 1, dtype=torch.float64)], 1)


def fit_probe(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
    """Standardise, then L2 logistic regression by LBFGS -> (mean, std, weights)."""
    mu, sd = x.mean(0), x.std(0) + 1e-6
    xt = design(x, mu, sd)
    yt = torch.tensor(y, dtype=torch.float64)
    w = torch.zeros(xt.shape[1], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w], max_iter=500, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(xt @ w, yt)
        loss = loss + L2 * (w[:-1] ** 2).sum() / len(xt)
        loss.backward()
        return loss

    opt.step(closure)
    return mu, sd, w.detach()


def probe_accuracy(train: list[dict], test: list[dict], key: str) -> float:
    def xy(rows: list[dict]) -> tuple[np.ndarray, np.ndarray]:
        x = np.stack([np.concatenate([r[key], r[key] * r["knee"], [r["knee"]]]) for r in rows])
        return x, np.array([r["side"] == "left" for r in rows], dtype=float)

    mu, sd, w = fit_probe(*xy(train))
    x, y = xy(test)
    logits = design(x, mu, sd) @ w
    return float(((logits > 0).numpy() == (y > 0.5)).mean())


def main() -> None:
    from core.llamo.model import LLaMo

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="core/weights/default")
    ap.add_argument("--train", type=Path, required=True, help="JSONL the probe is fitted on")
    ap.add_argument("--eval", required=True, help="dataset folder or JSONL it is scored on")
    ap.add_argument("--max-train", type=int)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    model = LLaMo.from_pretrained(a.model)
    model.eval()
    train = collect(model, a.train, a.max_train)
    test = collect(model, heldout_path(a.eval), None)
    n = len(test)
    rows = {"turns": {"train": len(train), "eval": n,
                      "eval_left": sum(r["side"] == "left" for r in test)}}  # fmt: skip
    for key in ("first", "mean", "raw_first", "raw_mean"):
        acc = probe_accuracy(train, test, key)
        rows[f"probe_{key}"] = {"accuracy": acc, "ci95": wilson(round(acc * n), n)}
    k = sum(r["frames_say"] == r["side"] for r in test)
    rows["frames_show"] = {"accuracy": k / n, "ci95": wilson(k, n)}
    k = sum(r["reads"] == r["side"] for r in test)
    rows["first_token_reads_as"] = {"accuracy": k / n, "ci95": wilson(k, n),
                                    "left": sum(r["reads"] == "left" for r in test)}  # fmt: skip
    text = json.dumps(rows, indent=1)
    print(text)
    if a.out:
        a.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
