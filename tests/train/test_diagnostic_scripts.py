"""Diagnostic scripts: side_probe and turns_of_type (session 20), golf_finish_probe (22),
compare_reports (26, pooled sets in 33), real_clip_checks judge (44)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest

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


def test_golf_finish_probe_holds_the_last_pose_and_reads_the_lead_arm() -> None:
    from core.motion import Motion, Space

    probe = load_script("golf_finish_probe")
    rng = np.random.default_rng(0)
    motion = Motion(rng.normal(size=(10, 33, 3)).astype(np.float32), np.ones((10, 33)), 30.0,
                    Space.WORLD_METRES, start_time=1.5)  # fmt: skip
    held = probe.with_hold(motion, 0.5, rng, jitter_m=0.001)
    assert held.num_frames == 25 and held.start_time == 1.5
    np.testing.assert_array_equal(held.joints[:10], motion.joints)
    assert np.abs(held.joints[10:] - motion.joints[-1]).max() < 0.01
    flat = probe.with_depth(motion, 0.3)
    np.testing.assert_allclose(flat.joints[..., 2], 0.3 * motion.joints[..., 2], rtol=1e-6)
    np.testing.assert_array_equal(flat.joints[..., :2], motion.joints[..., :2])
    angles = {"left_elbow": np.array([170.0, 80.0]), "right_elbow": np.array([140.0, 150.0])}
    right = probe.elbows_at(angles, {"top": 0, "finish": 1}, "right")
    assert right == {
        "top": {"lead": 170.0, "trail": 140.0},
        "finish": {"lead": 80.0, "trail": 150.0},
    }
    assert probe.elbows_at(angles, {"finish": 1}, "left") == {
        "finish": {"lead": 150.0, "trail": 80.0}
    }
    peaks = probe.token_peaks([" top", "?"], np.array([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3]]))
    assert peaks == [{"token": " top", "peak_frame": 1, "peak": 0.6},
                     {"token": "?", "peak_frame": 0, "peak": 0.5}]  # fmt: skip


def test_deepest_rep_fixed_scores_against_the_lowest_bottom(tmp_path: Path) -> None:
    """A squat turn: "rep k" of the lowest knee bottom is right against the fixed target, and
    the stored target (here the shallowest rep, as the old engine wrote it) is kept apart."""
    from core.motion_io import save_motion
    from train.qa import measure
    from train.synth import synthesize

    rng = np.random.default_rng(3)
    while True:
        s = synthesize("squat", rng)
        peaks = [r.peak_value for r in measure(s.motion3d, s.labels).reps]
        if len(peaks) >= 2 and max(peaks) - min(peaks) >= 4:
            break
    save_motion(s.motion3d, tmp_path / "m.npz")
    (tmp_path / "heldout.jsonl").write_text(
        json.dumps({"motion": "m.npz", "meta": {"activity": "squat"}}) + "\n"
    )
    sample = f"{tmp_path / 'heldout.jsonl'}:1"
    deep, shallow = int(np.argmin(peaks)) + 1, int(np.argmax(peaks)) + 1
    preds = [{"qtype": "deepest_rep", "sample": sample, "text": f"Rep {deep}, 80°.", "correct": False},
             {"qtype": "deepest_rep", "sample": sample, "text": f"Rep {shallow}.", "correct": True},
             {"qtype": "rep_count", "sample": sample, "text": "3 reps.", "correct": True}]  # fmt: skip
    got = load_script("deepest_rep_fixed").score(preds)
    assert got == {"n": 2, "stored_right": 1, "fixed_asked": 2, "fixed_right": 1}


def test_compare_reports_counts_answers_that_copy_the_most_relevant_viewpoints_time(
    tmp_path: Path, capsys
) -> None:
    """Two reports on the same no-facts event-time turns: the line pairs the answers that give
    the most relevant viewpoint's time (recomputed from text, top_time and viewpoint_times)."""
    from train.evaluate import Prediction, score, scores_json

    def report(name: str, texts: list[str]) -> str:
        preds = [Prediction(f"s{i}", "golf_event_time", "When is impact?", 4.8, text,
                            abs(float(text.split()[0]) - 4.8) <= 0.15, top_time=4.7967,
                            viewpoint_times=[1.0333, 4.0333, 4.7967])
                 for i, text in enumerate(texts)]  # fmt: skip
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(scores_json([score(name, "-", preds)])))
        return f"{path}:{name}"

    a = report("a", ["4.80 s.", "4.80 s.", "4.80 s.", "1.50 s."])
    b = report("b", ["4.80 s.", "4.03 s.", "4.75 s.", "4.03 s."])
    assert load_script("compare_reports").main([a, b]) == 0
    out = capsys.readouterr().out
    assert "n=4  a: 3 right  b: 2 right  only a: 1  only b: 0" in out
    assert "event times without facts (n=4), the most relevant viewpoint's time: a 3, b 1" in out
    assert "only a: 2  only b: 0" in out.splitlines()[2]


def test_compare_reports_pools_held_out_sets_and_leaves_question_types_out(
    tmp_path: Path, capsys
) -> None:
    """Two sets pooled with bend_compare left out (session 33's rule), or alone (session 34's):
    the counts and B's gain with its paired interval cover only the kept turns of both sets."""
    from train.evaluate import Prediction, paired_difference, score, scores_json

    def report(name: str, rows: list[tuple[str, bool]]) -> str:
        preds = [Prediction(f"s{i}", qtype, f"question {i}?", "left", "The left.", right)
                 for i, (qtype, right) in enumerate(rows)]  # fmt: skip
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(scores_json([score(name.split("_")[0], "-", preds)])))
        return f"{path}:{name.split('_')[0]}"

    bend, phase = "bend_compare", "golf_phase"
    pairs = [report("a_1", [(bend, False), (phase, True), (phase, False), (phase, True)]),
             report("b_1", [(bend, True), (phase, True), (phase, True), (phase, True)]),
             report("a_2", [(bend, False), (phase, True), (phase, True)]),
             report("b_2", [(bend, True), (phase, False), (phase, True)])]  # fmt: skip
    assert load_script("compare_reports").main([*pairs, "--without", bend]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("n=5  a: 4 right  b: 4 right  only a: 1  only b: 1")
    diff, low, high = paired_difference([1, 0, 1, 1, 1], [1, 1, 1, 0, 1])
    assert diff == 0.0 and low < 0 < high
    assert (
        lines[1] == f"b - a: +0.0 points, paired 95% interval [{100 * low:+.1f}, {100 * high:+.1f}]"
    )
    assert load_script("compare_reports").main(pairs) == 0
    assert capsys.readouterr().out.startswith("n=7  a: 4 right  b: 6 right  only a: 1  only b: 3")
    assert load_script("compare_reports").main([*pairs, "--only", bend]) == 0
    assert capsys.readouterr().out.startswith("n=2  a: 0 right  b: 2 right  only a: 0  only b: 2")
    with pytest.raises(SystemExit, match="in pairs"):
        load_script("compare_reports").main(pairs[:3])


def test_all_frames_variant_keeps_the_models_encoder_and_reads_every_frame(
    tmp_path: Path,
) -> None:
    """The all-frames row's start (session 31): the shipped model with AllFramesFusion loads
    as a model, shares its motion encoder and projector, and looks at every frame."""
    import torch
    from safetensors.torch import load_file

    from core.llamo.cross_talker import AllFramesFusion
    from core.llamo.model import LLaMo
    from core.paths import DEFAULT_MODEL_DIR
    from train.synth import synthesize

    variant = load_script("all_frames_variant")
    out = variant.all_frames_folder(DEFAULT_MODEL_DIR, tmp_path / "allf")
    shipped = load_file(DEFAULT_MODEL_DIR / "motion_modules.safetensors")
    model = LLaMo.from_pretrained(out, device="cpu")
    assert isinstance(model.motion_modules.fusion, AllFramesFusion) and model.has_lora
    own = model.motion_modules.state_dict()
    for key in ("motion_encoder", "projector"):
        shared = [k for k in shipped if k.startswith(key)]
        assert shared and all(torch.equal(own[k].to(shipped[k].dtype), shipped[k]) for k in shared)
    motion = synthesize("squat", np.random.default_rng(0), fps=20.0).motion3d
    with torch.no_grad():
        answer = model.answer(motion, "How many squats?", max_new_tokens=2)
    assert answer.viewpoint_frames == list(range(motion.num_frames))
    with pytest.raises(SystemExit, match="exists"):
        variant.all_frames_folder(DEFAULT_MODEL_DIR, out)


def test_real_clip_judge_finds_the_checks_a_model_lost() -> None:
    """Session 37's full-g36 put golf_swing_dtl's impact at 4.50 s, frame 135 (0.2 s and 5
    frames asked) and showed 3 of the 5 push-up bottoms; full-s40 meets every check."""
    checks = load_script("real_clip_checks")
    docs = Path(__file__).resolve().parents[2] / "docs" / "issue10"
    s40 = json.loads((docs / "session42" / "real" / "s40.json").read_text())
    g36 = json.loads((docs / "session37" / "real" / "g36.json").read_text())
    assert all(checks.judge(s40).values())
    assert checks.lost_checks(g36, s40) == [
        "no_facts golf_swing_dtl.mp4 impact",
        "no_facts pushups_side_5reps.mp4 bottoms",
        "with_facts pushups_side_5reps.mp4 bottoms",
    ]
    assert checks.lost_checks(s40, g36) == []
    late = copy.deepcopy(s40)
    late["no_facts"]["golf_swing_dtl.mp4"]["top"]["error_s"] = 0.31  # past the 0.3 s limit
    late["with_facts"]["golf_pro_dtl_broadcast.mp4"]["impact"]["facts_use"] = "another"
    assert checks.lost_checks(late, s40) == [
        "no_facts golf_swing_dtl.mp4 top",
        "with_facts golf_pro_dtl_broadcast.mp4 impact",
    ]
