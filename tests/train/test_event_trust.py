"""Event trust (train.event_trust): the fit, the mix it weighs, and the command line."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from core.llamo.cross_talker import EVENT_DIM, CrossTalker
from tests.train.test_grounding import TINY, _event_dataset, _fit_own_loss, _own_view
from train.event_trust import TRUST_PREFIX, EventViews, fit_trust
from train.grounding import frame_scores, hit


def _views(n: int, seed: int) -> tuple[EventViews, torch.Tensor]:
    """Event queries of two kinds (around two centres): the head wins on kind 0 (it hits,
    the pose scores miss), the pose scores on kind 1; one turn in four both hit. -> views
    and the kind of each turn."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(2, EVENT_DIM, generator=g) * 2.0
    kind = torch.arange(n) % 2
    asks = centres[kind] + torch.randn(n, EVENT_DIM, generator=g)
    both = torch.arange(n) % 4 == 3
    return EventViews(asks, (kind == 0) | both, (kind == 1) | both), kind


def test_fit_trust_learns_which_view_wins_for_each_event_kind() -> None:
    """Fitted on 80 turns, the trust on 40 new ones is above 0.8 for every turn of the kind
    the head wins and below 0.2 for the other; the figures count the turns that split."""
    views, _ = _views(80, seed=0)
    weight, bias, fit = fit_trust(views, weight_decay=0.01)
    assert weight.shape == (1, EVENT_DIM) and bias.shape == (1,)
    assert fit["turns"] == 80 and fit["split"] == 60 and fit["head_wins"] == 40
    assert fit["picked_hits"] == 80 > fit["head_hits"] == 60 > fit["pose_hits"] == 40
    new, kind = _views(40, seed=0)  # the same centres, new noise
    new.asks = new.asks + 0.3 * torch.randn(
        new.asks.shape, generator=torch.Generator().manual_seed(5)
    )
    trust = torch.sigmoid(new.asks @ weight[0] + bias)
    assert float(trust[kind == 0].min()) > 0.8 and float(trust[kind == 1].max()) < 0.2
    tied = EventViews(views.asks, views.head_hit | True, views.pose_hit | True)
    with pytest.raises(ValueError, match="exactly one view"):
        fit_trust(tied, weight_decay=0.01)


def test_trust_weighs_the_mix_and_leaves_other_questions_alone() -> None:
    """With a trust t per question, the scores are (1 - t) x the "pose" scores + t x the
    event head's time distribution, exactly, on event questions; the "pose" scores
    themselves where the gate is below EVENT_GATE_ON. A trust that favours the head for
    question a and the pose scores for question b moves a's most relevant frames to the event
    (2 of the 4 held-out clips after a short training of the head; the untrained pose scores
    find at most 1) and keeps b's."""
    torch.manual_seed(0)
    config = replace(TINY, scorer="pose_event", event_mix=1.0, event_trust=True)
    scorer = CrossTalker(config)
    assert float(scorer.event_rank.trust.weight.detach().abs().max()) == 0.0  # untrained: t = 0.5
    train, held = _event_dataset()
    _fit_own_loss(scorer, train[:60], steps=30)
    scorer.eval()
    ask_a, ask_b = train[0][2], train[1][2]
    with torch.no_grad():
        query = scorer.question_query(
            torch.stack([ask_a, ask_b]), torch.ones(2, 6, dtype=torch.bool)
        )
        asks, _ = scorer.event_rank.ask(query, torch.ones(2, 6, dtype=torch.bool))  # (2, E)
        views = EventViews(asks, torch.tensor([True, False]), torch.tensor([False, True]))
        weight, bias, _ = fit_trust(views, weight_decay=0.01)
        scorer.event_rank.trust.weight.copy_(weight)
        scorer.event_rank.trust.bias.copy_(bias)
        rows = []
        for m, p, q, w, asked in held:
            mask = torch.ones(len(m), dtype=torch.bool)
            mixed = frame_scores(scorer, m, mask, q, p)
            logp, gate = _own_view(scorer, m, p, q)
            text_mask = torch.ones(1, len(q), dtype=torch.bool)
            alone, _, _ = scorer.frame_scores(m[None], mask[None], q[None], text_mask, p[None],
                                              with_event=False)  # fmt: skip
            alone = alone[0]  # (T,)
            t = torch.sigmoid(scorer.event_rank.trust(
                scorer.event_rank.ask(scorer.question_query(q[None], text_mask), text_mask)[0]))[0, 0]  # fmt: skip
            if gate >= 0.5:
                assert torch.allclose(mixed, (1 - t) * alone + t * logp.exp(), atol=1e-6)
            else:
                assert torch.equal(mixed, alone)
            same = int(mixed.argmax()) == int(alone.argmax())
            rows.append((q is ask_a, float(t), asked, hit(mixed, w), hit(alone, w), same))
    assert min(r[1] for r in rows if r[0]) > 0.9
    assert max(r[1] for r in rows if r[2] and not r[0]) < 0.1
    assert sum(r[3] for r in rows if r[0]) >= 2 > sum(r[4] for r in rows if r[0])
    assert all(r[5] for r in rows if not r[0])  # b keeps its most relevant frames


def test_event_trust_cli_fits_a_run_that_swap_and_rescore_read(tmp_path: Path) -> None:
    """``python -m train.event_trust`` on a tiny pose_event grounding run: the output holds
    the run's scorer plus the trust weights, its report says so, and ``--rescore`` scores
    it (at event_mix 1; 0 would mix nothing and is refused). Bad input: one usage line
    each, and nothing written."""
    from safetensors.torch import load_file

    from tests.train.test_grounding import tiny_grounding_data
    from train.event_trust import cli
    from train.grounding import INIT_FILE, REPORT_FILE
    from train.grounding import cli as grounding_cli

    yaml_path, llm = tiny_grounding_data(tmp_path, n_heldout=16)
    common = ["--data", str(tmp_path / "data"), "--config", str(yaml_path),
              "--set", f"model.llm={llm}"]  # fmt: skip
    # the head learns the held-out turns too (the pose part stays untrained), so that on
    # some of them exactly one view hits: the turns the fit learns from
    heldout = str(tmp_path / "data" / "heldout.jsonl")
    grounding_cli([*common, "--set", "model.scorer=pose_event", "--out", str(tmp_path / "e"),
                   "--minutes", "0.1", "--lr", "0.05", "--event-loss", "1",
                   "--train-only", "fusion.event_rank.", "--extra-train", heldout])  # fmt: skip
    cli([*common, "--run", str(tmp_path / "e"), "--out", str(tmp_path / "t")])
    run, fitted = (load_file(str(tmp_path / d / INIT_FILE)) for d in ("e", "t"))
    assert set(fitted) - set(run) == {f"{TRUST_PREFIX}weight", f"{TRUST_PREFIX}bias"}
    assert all(torch.equal(run[k], fitted[k]) for k in run)
    report = json.loads((tmp_path / "t" / REPORT_FILE).read_text())
    assert report["event_trust"] is True and report["trust"]["split"] >= 1
    assert report["trust"]["turns"] >= report["trust"]["split"]
    grounding_cli([*common, "--out", str(tmp_path / "r.json"), "--rescore", str(tmp_path / "t")])
    rescored = json.loads((tmp_path / "r.json").read_text())[str(tmp_path / "t")]
    assert rescored["recorded"]["all"]["n"] > 0
    with pytest.raises(SystemExit):  # a fitted trust weighs a mix; 0 is none
        grounding_cli([*common, "--out", str(tmp_path / "r0.json"), "--rescore",
                       str(tmp_path / "t"), "--event-mix", "0"])  # fmt: skip
    for bad in (["--run", str(tmp_path / "nothing")],
                ["--run", str(tmp_path / "e"), "--weight-decay", "0"],
                ["--run", str(tmp_path / "e"), "--data", str(tmp_path / "nothing")]):  # fmt: skip
        with pytest.raises(SystemExit):
            cli([*common, *bad, "--out", str(tmp_path / "bad")])
    assert not (tmp_path / "bad").exists()


def test_swap_scorer_carries_the_trust_into_a_model_that_loads_it(tmp_path: Path) -> None:
    """A grounding folder whose report says ``event_trust``, ``pair_angles`` and
    ``pair_gate``: the copied model's config has them, with the event_mix asked for, and its
    scorer holds the trust, pair key and pair gate weights as saved."""
    from safetensors.torch import save_file

    from core.llamo.model import LLaMo
    from tests.app.tiny import tiny_model
    from train.grounding import INIT_FILE, REPORT_FILE, SCORER_PREFIXES, copy_with_scorer

    model = tiny_model()
    src = model.save_pretrained(tmp_path / "src")
    torch.manual_seed(3)
    scorer = CrossTalker(replace(model.config, scorer="pose_event", event_mix=1.0,
                                 event_trust=True, pair_angles=True, pair_gate=True))  # fmt: skip
    for p in scorer.parameters():
        p.data.normal_()
    init = {f"motion_encoder.{k}": v
            for k, v in model.motion_modules.motion_encoder.state_dict().items()}  # fmt: skip
    init |= {f"fusion.{k}": v for k, v in scorer.state_dict().items()
             if f"fusion.{k}".startswith(SCORER_PREFIXES)}  # fmt: skip
    grounding = tmp_path / "grounding"
    grounding.mkdir()
    save_file({k: v.contiguous() for k, v in init.items()}, str(grounding / INIT_FILE))
    report = {"scorer": "pose_event", "event_trust": True, "pair_angles": True, "pair_gate": True}
    (grounding / REPORT_FILE).write_text(json.dumps(report))
    dst = copy_with_scorer(src, tmp_path / "dst", grounding, event_mix=0.75)
    again = LLaMo.from_pretrained(dst, llm=model.llm, tokenizer=model.tokenizer, device="cpu")
    assert again.config.event_trust and again.config.event_mix == 0.75
    assert again.config.pair_angles and again.config.pair_gate
    fusion = again.motion_modules.fusion
    for key in ("w_pair.weight", "pair_gate.gate.weight", "pair_gate.pool.bias"):
        saved = fusion.state_dict()[key]
        assert torch.equal(saved, init[f"fusion.{key}"].to(saved.dtype)), key
    trust = again.motion_modules.fusion.event_rank.trust
    assert torch.equal(trust.weight.detach(), init[f"{TRUST_PREFIX}weight"])
    assert torch.equal(trust.bias.detach(), init[f"{TRUST_PREFIX}bias"])
    with pytest.raises(ValueError, match="event_trust: .* needs event_mix > 0"):
        copy_with_scorer(src, tmp_path / "none", grounding)
    assert not (tmp_path / "none").exists()
