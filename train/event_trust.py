"""Event trust: how far ``event_mix`` trusts the event head, question by question (issue 10).

    python -m train.event_trust --run runs/ground-k1 --data artifacts/val12 \\
        --config train/configs/cpu.yaml --out runs/trust-k1

A "pose_event" scorer sees an event question two ways: its "pose" scores and its event
head's time distribution. Each wins on other events (the head finds a baseball swing's
stride, the "pose" scores its contact), and one fixed ``event_mix`` chosen on one validation
set lost on another twice its size (MODEL_CARD, session 16). This stacks the two views. On
the event turns of ``--data``'s held-out clips, at the recorded speed and HELDOUT_SLOW times
slower, a logistic regression maps the head's event query (``EventRanker.ask``) to "the
head's most likely frame hits and the pose scores' does not". Turns where both or neither
hit say nothing and are left out; ``--weight-decay`` is an L2 penalty on standardised
inputs. The fit becomes ``EventRanker.trust`` (``LLaMoConfig.event_trust``, event_mix 1).

``--data`` must hold clips neither view trained on: on its own training clips the head
looks better than it is. OUT gets the run's scorer file with the trust weights added and
its report with ``event_trust: true`` and the fit's figures; ``train.grounding``'s
``--swap-scorer`` and ``--rescore`` read it.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from core.llamo.config import LLaMoConfig
from core.llamo.cross_talker import CrossTalker
from train.grounding import (
    HELDOUT_SLOW,
    INIT_FILE,
    REPORT_FILE,
    GroundingSet,
    batch_inputs,
    build_set,
    example_scores_and_events,
    hit,
    load_run,
    pad_batch,
    question_embedding,
)

TRUST_PREFIX = "fusion.event_rank.trust."


@dataclass
class EventViews:
    """Per event turn: the head's event query and whether each view's top frame hits."""

    asks: Tensor  # (N, E)
    head_hit: Tensor  # (N,) bool
    pose_hit: Tensor  # (N,) bool

    @staticmethod
    def cat(parts: list[EventViews]) -> EventViews:
        return EventViews(*(torch.cat([getattr(p, k) for p in parts])
                            for k in ("asks", "head_hit", "pose_hit")))  # fmt: skip


@torch.no_grad()
def event_views(scorer: CrossTalker, gset: GroundingSet, embed: nn.Embedding, batch: int = 32
                ) -> EventViews:  # fmt: skip
    """The two views of a "pose_event" scorer on ``gset``'s event turns."""
    from train.evaluate import HIT_GROUPS

    asked = [ex for ex in gset.examples if ex.qtype in HIT_GROUPS["event"]]
    asks, head, pose = [], [], []
    for i in range(0, len(asked), batch):
        part = asked[i : i + batch]
        scores, logps, _ = example_scores_and_events(scorer, gset, part, embed, with_event=False)
        _, _, text, text_mask, _ = pad_batch(*batch_inputs(gset, part, embed))
        ask, _ = scorer.event_rank.ask(scorer.question_query(text, text_mask), text_mask)
        asks.append(ask.float())  # (B, E)
        head += [hit(lp, ex.windows) for lp, ex in zip(logps, part, strict=True)]
        pose += [hit(s, ex.windows) for s, ex in zip(scores, part, strict=True)]
    dim = scorer.event_rank.query.out_features
    return EventViews(torch.cat(asks) if asks else torch.zeros(0, dim),
                      torch.tensor(head, dtype=torch.bool), torch.tensor(pose, dtype=torch.bool))  # fmt: skip


def fit_trust(views: EventViews, weight_decay: float, steps: int = 200
              ) -> tuple[Tensor, Tensor, dict]:  # fmt: skip
    """Logistic regression of "the head hits, the pose scores miss" on the event query over
    the turns where exactly one view hits -> ``EventRanker.trust``'s weight (1, E) and bias
    (1,), and the fit's figures. ValueError when no turn splits the views."""
    split = views.head_hit != views.pose_hit  # (N,)
    if not bool(split.any()):
        raise ValueError("data: on no event turn does exactly one view hit; give more "
                         "held-out event turns (a larger --data)")  # fmt: skip
    x, y = views.asks[split].double(), views.head_hit[split].double()  # (S, E), (S,)
    mu, sd = x.mean(dim=0), x.std(dim=0, unbiased=False).clamp_min(1e-6)  # (E,)
    z = (x - mu) / sd
    w = torch.zeros(x.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=steps, line_search_fn="strong_wolfe")

    def closure() -> Tensor:
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(z @ w + b, y) + 0.5 * weight_decay * w @ w
        loss.backward()
        return loss

    opt.step(closure)
    weight = (w / sd).detach()  # the standardisation folded into the map of raw queries
    bias = (b - (w * mu / sd).sum()).detach()
    trust = torch.sigmoid(views.asks.double() @ weight + bias)  # (N,)
    picked = torch.where(trust > 0.5, views.head_hit, views.pose_hit)
    fit = {"turns": len(trust), "split": int(split.sum()),
           "head_wins": int(y.sum()), "pose_hits": int(views.pose_hit.sum()),
           "head_hits": int(views.head_hit.sum()), "picked_hits": int(picked.sum()),
           "mean_trust": round(float(trust.mean()), 3)}  # fmt: skip
    return weight[None].float(), bias[None].float(), fit


def run(data: Path, config: LLaMoConfig, run_dir: Path, out: Path, weight_decay: float
        ) -> dict:  # fmt: skip
    """Fit the trust of ``run_dir``'s event head on ``data``'s held-out event turns; write
    the scorer with it and the report to ``out``."""
    from safetensors.torch import load_file, save_file

    from train.evaluate import heldout_path

    config, tokenizer, embed = question_embedding(config)
    cfg, encoder, scorer = load_run(run_dir, config)
    if scorer.event_rank is None:
        raise ValueError(f"run: {run_dir} has the {cfg.scorer!r} scorer, no event head; "
                         "give a pose_event grounding run")  # fmt: skip
    path = heldout_path(data)
    views = EventViews.cat([
        event_views(scorer.eval(), build_set(path, cfg, tokenizer, encoder, None, [s]), embed)
        for s in ((1.0, 1.0), HELDOUT_SLOW)
    ])  # fmt: skip
    weight, bias, fit = fit_trust(views, weight_decay)
    state = load_file(str(run_dir / INIT_FILE))
    state |= {f"{TRUST_PREFIX}weight": weight, f"{TRUST_PREFIX}bias": bias}
    report = json.loads((run_dir / REPORT_FILE).read_text())
    report |= {"event_trust": True, "trust": fit | {"data": str(path), "run": str(run_dir),
                                                    "weight_decay": weight_decay}}  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in state.items()}, str(out / INIT_FILE))
    (out / REPORT_FILE).write_text(json.dumps(report, indent=1))
    return report


def cli(argv: list[str] | None = None) -> None:
    from train.evaluate import heldout_path
    from train.pretrain import model_config

    ap = argparse.ArgumentParser(prog="python -m train.event_trust",
                                 description=__doc__.split("\n\n")[0])  # fmt: skip
    ap.add_argument("--run", type=Path, required=True, help="a pose_event train.grounding run")
    ap.add_argument("--data", type=Path, required=True,
                    help="make_dataset folder (its heldout.jsonl) or JSONL of clips neither "
                         "view trained on")  # fmt: skip
    ap.add_argument("--config", type=Path, required=True, help="training YAML (its model block)")
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--weight-decay", type=float, default=0.01, help="L2 penalty (> 0)")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    if not (a.run / REPORT_FILE).is_file():
        ap.error(f"--run: {a.run} has no {REPORT_FILE}; give a train.grounding --out folder")
    if not a.weight_decay > 0:
        ap.error(f"--weight-decay: must be > 0, got {a.weight_decay}")
    try:
        heldout_path(a.data)
    except ValueError as err:
        ap.error(str(err))
    torch.set_num_threads(a.threads)
    try:
        report = run(a.data, model_config(a.config, a.set), a.run, a.out, a.weight_decay)
    except ValueError as err:
        ap.error(str(err))
    print(json.dumps(report["trust"]))


if __name__ == "__main__":
    cli()
