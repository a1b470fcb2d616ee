"""Session 20's diagnostic scripts: scripts/side_probe.py and scripts/turns_of_type.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.scripts_loader import load_script


def rows(rng: np.random.Generator, n: int, informative: bool) -> list[dict]:
    out = []
    for _ in range(n):
        side = str(rng.choice(["left", "right"]))
        x = rng.normal(size=16)
        if informative:  # one direction of the token says the side, as a bent joint would
            x[3] += 2.0 if side == "left" else -2.0
        out.append({"first": x, "knee": float(rng.random() < 0.5), "side": side})
    return out


def test_probe_reads_the_side_only_where_the_tokens_carry_it() -> None:
    probe = load_script("side_probe")
    rng = np.random.default_rng(0)
    assert probe.probe_accuracy(rows(rng, 300, True), rows(rng, 200, True), "first") > 0.9
    chance = probe.probe_accuracy(rows(rng, 300, False), rows(rng, 400, False), "first")
    assert 0.4 < chance < 0.6


def test_turns_of_type_keeps_each_asked_turn_alone_with_its_target() -> None:
    from train.data import Sample

    conv = [{"from": f, "value": f"{f} {k}"} for k in range(3) for f in ("human", "gpt")]
    meta = {"qtypes": ["bend_compare", "rep_count", "bend_compare"],
            "targets": [{"value": "left"}, {"value": 3}, {"value": "right"}], "activity": "curl"}  # fmt: skip
    sample = Sample(conv, motion=Path("m.npz"), meta=meta)
    kept = load_script("turns_of_type").turns_of_type([sample], {"bend_compare"})
    assert [s.conversations for s in kept] == [conv[0:2], conv[4:6]]
    assert [s.meta["targets"] for s in kept] == [[{"value": "left"}], [{"value": "right"}]]
    assert all(s.meta["qtypes"] == ["bend_compare"] and s.meta["activity"] == "curl" for s in kept)
    assert all(s.motion == Path("m.npz") for s in kept)
