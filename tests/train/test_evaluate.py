"""train.evaluate: metric functions on hand-made predictions, and the CLI end to end on a
tiny trained checkpoint plus a text-only (blank-motion) ablation."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from core.answer import Answer
from core.llamo.prompts import PromptBudget
from tests.train.test_finetune import make_tiny_llm
from train import evaluate
from train.answers import read_count, read_span
from train.evaluate import (
    COUNT_QTYPES,
    EvalItem,
    Prediction,
    accuracy_by_type,
    answer_items,
    count_metrics,
    criterion,
    format_report,
    judge,
    recall_at_1,
    score,
    temporal_iou,
)


# -- single answers -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("Rep 2 runs from 1.2 s to 2.5 s.", (1.2, 2.5)),
        ("It starts at 0.8 s and ends at 1.9 s (1.1 s long).", (0.8, 1.9)),
        ("Between 3.0 s and 4.5 s.", (3.0, 4.5)),
        ("from 1.4 to 1.6 s: a reverse spine", (1.4, 1.6)),
        ("Rep 3 (2.1-2.9 s).", (2.1, 2.9)),
        ("From 5.0 s to 4.0 s", (4.0, 5.0)),
        ("I can't tell.", None),
        ("About 1.5 s.", None),
    ],
)
def test_read_span(text: str, span: tuple[float, float] | None) -> None:
    assert read_span(text) == span


def test_temporal_iou() -> None:
    assert temporal_iou((0.0, 2.0), (1.0, 3.0)) == pytest.approx(1 / 3)
    assert temporal_iou((1.0, 2.0), (1.0, 2.0)) == pytest.approx(1.0)
    assert temporal_iou((0.0, 1.0), (2.0, 3.0)) == 0.0
    assert temporal_iou((1.0, 1.5), (0.0, 2.0)) == pytest.approx(0.25)
    assert temporal_iou(None, (0.0, 1.0)) == 0.0


@pytest.mark.parametrize(
    ("text", "count"),
    [("You did 3 reps.", 3), ("Three reps.", 3), ("12 squats", 12),
     ("After 1.5 s you did 4 reps", 4), ("I count 5 squat reps between 1.0 s and 9.0 s", 5),
     ("About 1.6 reps.", 1.6), ("Rep 3: 1.", 3), ("No idea.", None)],
)  # fmt: skip
def test_read_count(text: str, count: float | None) -> None:
    assert read_count(text) == count


def test_recall_and_count_metrics_on_known_values() -> None:
    ious = [0.4, 0.5, 0.69, 0.7, 0.9]
    assert recall_at_1(ious, 0.5) == pytest.approx(4 / 5)
    assert recall_at_1(ious, 0.7) == pytest.approx(2 / 5)
    assert np.isnan(recall_at_1([], 0.5))
    m = count_metrics([3, 5, None, 2], [3, 3, 2, 4])  # errors 0, 2, 2 (None -> 0), 2
    assert (m.n, m.unparsed) == (4, 1)
    assert m.obo == pytest.approx(0.25) and m.mae == pytest.approx(1.5)
    with pytest.raises(ValueError, match="predictions"):
        count_metrics([1], [1, 2])


def test_accuracy_by_type_counts_correct_and_total() -> None:
    preds = [Prediction("s", q, "?", 0, "", ok) for q, ok in
             [("a", True), ("a", False), ("b", True), ("a", True)]]  # fmt: skip
    assert accuracy_by_type(preds) == {"a": (2, 3), "b": (1, 1)}


def test_criterion_states_the_rule_of_each_target_kind() -> None:
    assert criterion({"kind": "span", "value": [0, 1], "tolerance": 0.35, "unit": "s"}) == (
        "span: both ends within ±0.35 s"
    )
    assert criterion({"kind": "number", "value": 3, "tolerance": 0, "unit": "count"}) == (
        "number: exact count"
    )
    assert criterion({"kind": "number", "value": 90, "tolerance": 10, "unit": "deg"}) == (
        "number: within ±10°"
    )
    assert criterion({"kind": "choice", "value": "yes", "choices": ["yes", "no"]}).startswith(
        "choice"
    )


# -- a scripted model through the real pipeline -------------------------------------------------------
def _span(lo: float, hi: float, tol: float) -> dict:
    return {"kind": "span", "value": [lo, hi], "tolerance": tol, "unit": "s", "choices": []}


def _count(n: int) -> dict:
    return {"kind": "number", "value": float(n), "tolerance": 0.0, "unit": "count", "choices": []}


SCRIPT = [  # (qtype, target, the model's answer)
    ("rep_count", _count(3), "You did 3 reps."),  # right
    ("rep_count", _count(5), "4 reps."),  # wrong, within one
    ("rep_count", _count(2), "No idea."),  # wrong, no number -> 0
    ("rep_span", _span(1.0, 2.0, 0.35), "From 1.0 s to 2.0 s."),  # right, IoU 1
    ("rep_span", _span(1.0, 2.0, 0.35), "From 1.5 s to 2.5 s."),  # wrong, IoU 1/3
    ("fault_when", _span(0.0, 1.0, 0.4), "Between 0.2 s and 0.8 s."),  # right, IoU 0.6
    (
        "before_after",
        {
            "kind": "choice",
            "value": "before",
            "tolerance": 0.0,
            "unit": "",
            "choices": ["before", "after"],
        },
        "After, at 2.0 s.",
    ),  # fmt: skip
]


class ScriptedModel:
    """Answers each question with the scripted text (no LLM involved)."""

    config = SimpleNamespace(use_video=False)

    def __init__(self) -> None:
        self.by_question = {f"q{i}": text for i, (_, _, text) in enumerate(SCRIPT)}
        self.motions: list[object] = []

    def answer(self, motion, question, *, video=None, history=(), max_new_tokens=48) -> Answer:
        self.motions.append(motion)
        return Answer(self.by_question[question], [], np.zeros(1), [])


def test_known_predictions_give_the_hand_computed_metrics() -> None:
    items = [EvalItem(i, f"s{i}", f"q{i}", [], q, t) for i, (q, t, _) in enumerate(SCRIPT)]
    dataset = [{"motion": f"motion-{i}", "video": None} for i in range(len(SCRIPT))]
    model = ScriptedModel()
    preds = answer_items(model, items, dataset)
    assert model.motions == [f"motion-{i}" for i in range(len(SCRIPT))]
    s = score("scripted", "-", preds, count_qtypes=COUNT_QTYPES)
    assert s.per_type == {"before_after": (0, 1), "fault_when": (1, 1), "rep_count": (1, 3),
                          "rep_span": (1, 2)}  # fmt: skip
    assert s.accuracy == pytest.approx(3 / 7)
    assert s.grounding["R@1 IoU=0.5"] == pytest.approx(2 / 3)
    assert s.grounding["R@1 IoU=0.7"] == pytest.approx(1 / 3)
    assert s.mean_iou == pytest.approx((1 + 1 / 3 + 0.6) / 3)
    assert (s.counting.n, s.counting.unparsed) == (3, 1)
    assert s.counting.obo == pytest.approx(2 / 3) and s.counting.mae == pytest.approx(1.0)
    # a text-only model gets the blank motion instead of the clip
    blank_model = ScriptedModel()
    answer_items(blank_model, items, dataset, blank="BLANK")
    assert blank_model.motions == ["BLANK"] * len(SCRIPT)

    report = format_report([s], items, command="python -m train.evaluate ...", data="x.jsonl",
                           recipes={"scripted": "by hand"})  # fmt: skip
    # accuracy with its 95% Wilson interval (3 of 7: 15.8-75.0%); no moments, so no hit rate
    assert (
        "| scripted | 42.9% [15.8-75.0] (n=7) | – | – | – | – | 66.7% | 33.3% | 66.7% | 1.00 | – |"
        in report
    )
    assert "| rep_count | number: exact count | 3 | 33.3% |" in report
    assert "| rep_span | span: both ends within ±0.35 s | 2 | 50.0% |" in report
    assert "| scripted | 3 | 66.7% | 1.00 | 1 |" in report  # counting: n, OBO, MAE, no number


def _side(value: str) -> dict:
    return {"kind": "choice", "value": value, "tolerance": 0.0, "unit": "",
            "choices": ["left", "right"]}  # fmt: skip


def test_choice_answers_show_a_model_that_always_names_one_side() -> None:
    """A model that always says "right" scores as well as the best fixed answer; the report
    says so next to its accuracy, and a model that reads the clip shows a mixed answer share."""
    targets = ["right", "right", "left"]
    items = [EvalItem(i, f"s{i}", f"q{i}", [], "bend_compare", _side(t))
             for i, t in enumerate(targets)]  # fmt: skip
    fixed = [judge(item, "The right elbow: 117° against 127°.") for item in items]
    mixed = [judge(item, text) for item, text in
             zip(items, ["The left one.", "The right knee.", "No idea."], strict=True)]  # fmt: skip
    assert [p.said for p in fixed] == ["right"] * 3
    assert [p.said for p in mixed] == ["left", "right", None]
    scores = [score("fixed", "-", fixed), score("mixed", "-", mixed)]
    report = format_report(scores, items, command="-", data="x.jsonl", recipes={})
    assert "## Choice answers" in report
    assert (
        "| bend_compare | 3 | 66.7% 'right' | 66.7%; 100.0% 'right' | 33.3%; 33.3% 'left' |"
        in report
    )
    # number and span questions have no row
    spans = [EvalItem(0, "s0", "q0", [], "rep_span", _span(1.0, 2.0, 0.35))]
    only_spans = format_report([score("m", "-", [judge(spans[0], "From 1.0 s to 2.0 s.")])],
                               spans, command="-", data="x.jsonl", recipes={})  # fmt: skip
    assert "## Choice answers" not in only_spans


# -- the CLI on real (tiny) checkpoints -----------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_setup(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A held-out set from train.make_dataset, a tiny LLM, and two 2-step checkpoints:
    the full recipe and the text-only (blank motion) one."""
    from train import make_dataset
    from train.finetune import TrainConfig, train

    root = tmp_path_factory.mktemp("evaluate")
    make_dataset.main(root / "data", n_train=6, n_heldout=3, seed=0)
    lines = (root / "data" / "heldout.jsonl").read_text().splitlines()
    texts = [t["value"] for line in lines for t in json.loads(line)["conversations"]]
    llm = make_tiny_llm(root / "llm", texts)
    yaml_path = Path(__file__).resolve().parents[2] / "train/configs/tiny.yaml"
    base = [f"train_data={root / 'data' / 'train.jsonl'}", f"model.llm={llm}",
            "stages.0.steps=1", "stages.1.steps=1"]  # fmt: skip
    full = train(TrainConfig.from_yaml(yaml_path, base), out_dir=root / "full")
    text = train(
        TrainConfig.from_yaml(yaml_path, [*base, "motion_input=blank"]), out_dir=root / "text"
    )
    return {"root": root, "full": full.model_dir, "text": text.model_dir}


def test_cli_writes_a_report_with_every_table(tiny_setup: dict) -> None:
    root = tiny_setup["root"]
    assert (tiny_setup["text"] / "blank_motion.npz").is_file()
    out = root / "report.md"
    code = evaluate.main([
        "--checkpoint", str(tiny_setup["full"]), "--data", str(root / "data"), "--out", str(out),
        "--ablation", f"text-only={tiny_setup['text']}", "--limit", "4", "--max-new-tokens", "6",
    ])  # fmt: skip
    assert code == 0
    report = out.read_text()
    for heading in ("## Models", "## Summary (ablation)", "## Accuracy per question type",
                    "## Temporal grounding", "## Repetition counting"):  # fmt: skip
        assert heading in report
    assert "text-only: every motion replaced by one fixed pose" in report
    assert "python -m train.evaluate --checkpoint" in report
    # the saved predictions agree with the report and with check_answer
    from train.data import load_jsonl
    from train.qa import check_answer

    heldout = evaluate.eval_items(load_jsonl(root / "data" / "heldout.jsonl"), 4)
    data = json.loads(out.with_suffix(".json").read_text())
    assert list(data) == ["text-only", "full"]
    tokens = data["full"]["tokens"]  # the token interface's diagnostics, every evaluation
    assert tokens["clips"] >= 2 and tokens["norm_ratio"] > 0
    assert (
        -1.0 <= tokens["within_clip_cosine"] <= 1.0 and -1.0 <= tokens["cross_clip_cosine"] <= 1.0
    )
    assert -1.0 <= tokens["fused_within_cosine"] <= 1.0
    # make_dataset data has labels: the share of tokens reading as their words is measured
    assert 0.0 <= tokens["activity_word_top5"] <= 1.0 and 0.0 <= tokens["moment_word_top5"] <= 1.0
    assert "within-clip cosine" in report and data["text-only"]["tokens"] == {}
    for name, scores in data.items():
        preds = scores["predictions"]
        assert len(preds) == 4
        for p, item in zip(preds, heldout, strict=True):
            assert p["correct"] == check_answer(item.qtype, item.target, p["text"])
        acc = np.mean([p["correct"] for p in preds])
        assert f"| {name} | {100 * acc:.1f}% [" in report


def test_eval_items_keeps_only_the_asked_types_with_their_history(tiny_setup: dict) -> None:
    from train.data import load_jsonl

    samples = load_jsonl(tiny_setup["root"] / "data" / "heldout.jsonl")
    every = evaluate.eval_items(samples)
    asked = every[-1].qtype
    only = evaluate.eval_items(samples, types=[asked])
    assert only and len(only) == sum(i.qtype == asked for i in every) < len(every)
    # a later turn still sees the dialogue before it
    assert [(i.sample, i.question, i.history) for i in only] == [
        (i.sample, i.question, i.history) for i in every if i.qtype == asked
    ]
    with pytest.raises(ValueError, match="--types: unknown question types \\['rep_cuont'\\]"):
        evaluate.eval_items(samples, types=["rep_cuont"])


def test_cli_rejects_a_folder_that_is_no_model(tiny_setup: dict, capsys) -> None:
    root = tiny_setup["root"]
    with pytest.raises(SystemExit):
        evaluate.main(["--checkpoint", str(root), "--data", str(root / "data"),
                       "--out", str(root / "r.md")])  # fmt: skip
    assert "not a saved LLaMo model" in capsys.readouterr().err


def test_cli_checkpoint_takes_the_facts_flag(tiny_setup: dict, capsys) -> None:
    """``--checkpoint DIR@facts`` evaluates the main model with the facts in the prompt; a bad
    flag is one clear line."""
    root = tiny_setup["root"]
    out = root / "facts.md"
    code = evaluate.main(["--checkpoint", f"{tiny_setup['full']}@facts", "--name", "full+facts",
                          "--data", str(root / "data"), "--out", str(out), "--limit", "2",
                          "--max-new-tokens", "4"])  # fmt: skip
    assert code == 0
    assert "analytics facts in the prompt" in out.read_text()
    assert list(json.loads(out.with_suffix(".json").read_text())) == ["full+facts"]
    with pytest.raises(SystemExit):
        evaluate.main(["--checkpoint", f"{tiny_setup['full']}@fast", "--data", str(root / "data"),
                       "--out", str(root / "r.md")])  # fmt: skip
    assert "NAME=DIR@facts" in capsys.readouterr().err


def test_grounding_hit_and_rep_bottoms_from_the_answer_frames() -> None:
    """The most relevant frame (argmax of frame_scores) against the turn's moments."""
    from core.motion import Motion, Space
    from train.evaluate import judge, wilson

    motion = Motion(np.zeros((50, 33, 3), np.float32), np.ones((50, 33), np.float32), 10.0,
                    Space.WORLD_METRES)  # fmt: skip
    scores = np.zeros(50)
    scores[31] = 1.0  # 3.1 s
    target = {"kind": "number", "value": 3.0, "tolerance": 0.15, "unit": "s"}
    item = EvalItem(0, "s0", "When is the top?", [], "golf_event_time", target, [(3.0, 3.0)])
    pred = judge(item, "3.05 s.", Answer("3.05 s.", [31], scores, [3.1]), motion)
    assert pred.correct and pred.hit and pred.top_time == pytest.approx(3.1)
    far = judge(item, "3.05 s.", Answer("3.05 s.", [10], np.roll(scores, -20), [1.1]), motion)
    assert far.hit is False
    count = {"kind": "number", "value": 3.0, "tolerance": 0.0, "unit": "count"}
    reps = EvalItem(
        0, "s0", "How many reps?", [], "rep_count", count, [(1.0, 1.0), (2.0, 2.0), (4.0, 4.0)]
    )
    seen = judge(reps, "3 reps.", Answer("3 reps.", [10, 21], scores, [1.0, 2.1]), motion)
    assert seen.bottoms_covered == pytest.approx(2 / 3)
    lo, hi = wilson(40, 50)
    assert lo == pytest.approx(0.670, abs=1e-3) and hi == pytest.approx(0.888, abs=1e-3)


def test_mcnemar_counts_the_discordant_turns_and_tests_them() -> None:
    from train.evaluate import mcnemar

    a = [True] * 10 + [False] * 2 + [True] * 5
    b = [False] * 10 + [True] * 2 + [True] * 5
    only_a, only_b, p = mcnemar(a, b)
    assert (only_a, only_b) == (10, 2)
    assert p == pytest.approx(2 * (1 + 12 + 66) / 2**12)  # two-sided binomial, k <= 2 of 12
    assert mcnemar([True, False], [True, False]) == (0, 0, 1.0)
    with pytest.raises(ValueError, match="same turns"):
        mcnemar([True], [True, False])


def test_facts_use_tells_the_asked_event_from_another_on_a_golf_swing() -> None:
    from core.analytics import analyze_motion
    from core.llamo.prompts import report_context
    from train.synth import synthesize

    sample = synthesize("golf_swing", np.random.default_rng(3), fps=30.0)
    report = analyze_motion(sample.motion3d)
    facts = report_context(report)
    times = report.golf.times
    top, impact = round(times["top"], 2), round(times["impact"], 2)
    assert f"Top of backswing at {top:.2f} s" in facts  # the facts state what answers say
    stated = evaluate.stated_event_times(report, facts)
    assert {top, impact} <= {round(t, 2) for t in stated}
    assert evaluate.facts_use(f"{top:.2f} s.", top, stated) == "asked"
    assert evaluate.facts_use(f"At {impact:.2f} s.", top, stated) == "another"
    assert evaluate.facts_use(f"{top + 0.33:.2f} s.", top, stated) == "own"
    assert evaluate.facts_use("At the top.", top, stated) == "none"


def test_viewpoint_use_tells_the_most_relevant_viewpoints_time_from_another() -> None:
    """Without facts, an event-time answer is read against the viewpoint times the prompt wrote
    (two decimals), and the report counts each kind per model."""
    from core.motion import Motion, Space

    top, others = 4.7967, [1.0333, 4.0333, 4.7967, 6.9]
    assert evaluate.viewpoint_use("At 4.80 s.", top, others) == "top"
    assert evaluate.viewpoint_use("Impact is at 4.03 s.", top, others) == "other"
    assert evaluate.viewpoint_use("4.43 s.", top, others) == "own"
    assert evaluate.viewpoint_use("4.78 s.", top, others) == "top"  # within a frame, rounded
    assert evaluate.viewpoint_use("4.05 s.", top, others) == "other"
    assert evaluate.viewpoint_use("4.85 s.", top, others) == "own"  # over a frame away
    assert evaluate.viewpoint_use("At impact.", top, others) == "none"
    motion = Motion(np.zeros((60, 33, 3), np.float32), np.ones((60, 33), np.float32), 10.0,
                    Space.WORLD_METRES)  # fmt: skip
    scores = np.zeros(60)
    scores[48] = 1.0  # the most relevant frame: 4.8 s
    texts = iter(["4.80 s.", "4.00 s."])

    def answer(motion, question, **_) -> Answer:
        return Answer(next(texts), [10, 40, 48], scores, [1.0, 4.0, 4.8])

    model = SimpleNamespace(config=SimpleNamespace(use_video=False), answer=answer)
    target = {"kind": "number", "value": 4.8, "tolerance": 0.15, "unit": "s"}
    items = [EvalItem(0, "s0", "When is impact?", [], "golf_event_time", target)] * 2
    preds = answer_items(model, items, [{"motion": motion, "video": None}])
    assert [p.viewpoint_use for p in preds] == ["top", "other"]
    assert all(p.facts_use is None for p in preds)
    report = format_report([score("m", "-", preds)], items, command="-", data="-", recipes={})
    assert "## Event times from the viewpoints" in report
    assert "| m | 2 | 50.0% (2) | 50.0% (2) | 0.0% (2) | 0.0% (2) |" in report
    assert "## Event times with the facts in the prompt" not in report  # no turn had facts
    preds[1].viewpoint_use, preds[1].facts_use = None, "another"
    report = format_report([score("m", "-", preds)], items, command="-", data="-", recipes={})
    assert "| m | 1 | 100.0% (1) | 0.0% (1) | 0.0% (1) | 0.0% (1) |" in report
    assert "| m | 1 | 0.0% (1) | 100.0% (1) | 0.0% (1) | 0.0% (1) |" in report  # facts table


def test_each_turn_gets_the_lines_about_the_times_its_dialogue_named_so_far() -> None:
    """With facts and ``max_moments``, a turn's facts block ends with the analytics' line for
    each time named by the dialogue's questions up to it (as the app's session does)."""
    from core.analytics import analyze_motion
    from core.llamo.prompts import report_context
    from train.synth import synthesize

    motion = synthesize("golf_swing", np.random.default_rng(3), fps=30.0).motion3d
    seen: list = []

    def answer(motion, question, *, context=None, **_) -> Answer:
        seen.append(context)
        return Answer("The backswing.", [0], np.zeros(motion.num_frames), [0.0])

    model = SimpleNamespace(config=SimpleNamespace(use_video=False), answer=answer)
    target = {"kind": "choice", "value": "backswing", "tolerance": 0.0, "unit": "",
              "choices": ["setup", "backswing", "downswing", "follow-through"]}  # fmt: skip
    first = "What phase is shown at 1.20 s?"
    items = [EvalItem(0, "s0", first, [], "golf_phase", target),
             EvalItem(0, "s0", "And at 1.50 s?", [(first, "The backswing.")], "golf_phase", target)]  # fmt: skip
    dataset = [{"motion": motion, "video": None}]
    answer_items(
        model, items, dataset, facts=True, budget=PromptBudget(max_facts=10, max_moments=3)
    )
    answer_items(
        model, items[1:], dataset, facts=True, budget=PromptBudget(max_facts=10, max_moments=0)
    )
    report = analyze_motion(motion)
    plain = report_context(report, PromptBudget(max_facts=10))
    assert seen[0] == plain + "\n" + report.prompt_moments([1.2])[0]
    assert seen[1] == "\n".join([plain, *report.prompt_moments([1.2, 1.5])])
    assert seen[2] == plain and seen[1].splitlines()[-1].startswith("At 1.50 s: ")


def test_the_facts_budget_keeps_the_reports_first_trusted_lines() -> None:
    """``--max-facts`` and the app give the model the report's first N trusted lines, in
    report order, after the activity line."""
    from core.analytics import analyze_motion
    from core.llamo.prompts import MAX_PROMPT_FACTS, report_context
    from train.synth import synthesize

    motion = synthesize("golf_swing", np.random.default_rng(3), fps=30.0).motion3d
    report = analyze_motion(motion.slow_motion(2.5))
    lines = report.prompt_facts()
    assert len(lines) > 12
    for n in (3, MAX_PROMPT_FACTS, 12):
        block = report_context(report, PromptBudget(max_facts=n)).splitlines()
        assert block[0] == "Activity: golf swing." and block[1:] == lines[:n]
    assert report_context(report) == report_context(
        report, PromptBudget(max_facts=MAX_PROMPT_FACTS)
    )


def test_each_model_gets_its_own_facts_budget_unless_one_is_given(tmp_path: Path) -> None:
    """A model's config names its prompt budgets (a model saved before a key gets the
    default: 8 facts lines, no joint, side, moment or order lines); ``--max-facts``
    (``--max-moments``, ``--max-joints``, ``--max-sides``, ``--max-orders``) overrides each for
    every model."""
    import json

    from core.llamo.prompts import MAX_PROMPT_FACTS
    from core.paths import DEFAULT_MODEL_DIR

    saved = json.loads((DEFAULT_MODEL_DIR / "config.json").read_text())
    shipped = evaluate.prompt_budget(DEFAULT_MODEL_DIR)
    assert shipped == PromptBudget(
        max_facts=saved["max_prompt_facts"],
        max_moments=saved["max_prompt_moments"],
        max_joints=saved["max_prompt_joints"],
        max_sides=saved.get("max_prompt_sides", 0),
        max_orders=saved.get("max_prompt_orders", 0),
    )
    older = {k: v for k, v in saved.items() if not k.startswith("max_prompt_")}  # before the keys
    (tmp_path / "config.json").write_text(json.dumps(older))
    assert evaluate.prompt_budget(tmp_path) == PromptBudget(
        max_facts=MAX_PROMPT_FACTS, max_moments=0, max_joints=0, max_sides=0
    )
    assert MAX_PROMPT_FACTS == 8
    (tmp_path / "config.json").write_text(json.dumps({**saved, "max_prompt_facts": 10,
                                                      "max_prompt_moments": 2,
                                                      "max_prompt_sides": 1}))  # fmt: skip
    assert evaluate.prompt_budget(tmp_path) == PromptBudget(
        max_facts=10, max_moments=2, max_joints=saved["max_prompt_joints"], max_sides=1,
        max_orders=saved.get("max_prompt_orders", 0),
    )  # fmt: skip
    given = evaluate.prompt_budget(tmp_path, max_facts=12, max_moments=0, max_joints=None,
                                   max_sides=0)  # fmt: skip
    assert given == PromptBudget(max_facts=12, max_moments=0, max_joints=saved["max_prompt_joints"],
                                 max_orders=saved.get("max_prompt_orders", 0))  # fmt: skip
    with pytest.raises(ValueError, match="max_joints"):
        evaluate.prompt_budget(tmp_path, max_joints=-1)


def test_flatten_tokens_keeps_the_viewpoints_and_times_but_not_what_differs() -> None:
    import torch

    from core.motion_io import load_motion
    from tests.app.tiny import tiny_model

    model = tiny_model().eval()
    motion = load_motion(
        Path(__file__).resolve().parents[2] / "examples/inputs/squat_synthetic.npz"
    )
    batch = model._inference_batch(motion, "How many reps?", None, (), None)
    with torch.no_grad():
        before = model.fuse(batch)
        evaluate.flatten_tokens(model)
        after = model.fuse(batch)
    keep = before.token_mask[0]
    assert torch.equal(after.frame_indices, before.frame_indices)
    assert torch.equal(after.timestamps, before.timestamps)
    assert not torch.allclose(before.tokens[0][keep][0], before.tokens[0][keep][1])
    flat = after.tokens[0][keep]  # (K'', D): one vector, the clip's mean
    assert torch.allclose(flat, before.tokens[0][keep].mean(dim=0).expand_as(flat), atol=1e-6)
    assert evaluate._ablation("x=DIR@flat+facts") == ("x", "DIR", True, False, True)


def test_count_oracle_counts_groups_of_viewpoint_times() -> None:
    """scripts/count_oracle.py: three bursts of viewpoint times are 3 groups at a 0.5 s gap
    and 1 at a 5 s gap; the sweep scores them against the target next to the answer's own."""
    from tests.scripts_loader import load_script

    oracle = load_script("count_oracle")
    times = [1.0, 1.1, 1.2, 3.0, 3.1, 5.0, 5.2]
    assert oracle.time_groups(times, 0.5) == 3 and oracle.time_groups(times, 5.0) == 1
    preds = [{"qtype": "rep_count", "target": "3", "count": 6.0, "viewpoint_times": times},
             {"qtype": "activity", "target": "squat", "count": None, "viewpoint_times": times}]  # fmt: skip
    answer, half, five = oracle.sweep(preds, [0.5, 5.0])
    assert answer["n"] == 1 and answer["exact"] == 0.0 and answer["obo"] == 0.0
    assert half["exact"] == 1.0 and five["exact"] == 0.0 and five["obo"] == 0.0
    # a lone time (5.0 without 5.2) is a group, unless groups need two times
    lone = [dict(preds[0], viewpoint_times=times[:-1])]
    _, one, two = oracle.sweep(lone, [0.5], (1, 2))
    assert (one["min_size"], one["exact"]) == (1, 1.0) and (two["min_size"], two["obo"]) == (2, 1.0)
    assert two["exact"] == 0.0


def test_event_breakdown_names_the_event_and_checks_the_target_against_the_label(
    tmp_path: Path,
) -> None:
    """scripts/event_breakdown.py: a baseball turn asking the start of the stride has no
    label; a load turn whose target is 0.5 s from the labelled load (tolerance 0.15) disagrees,
    one at the label agrees; hits and correct answers are counted per (event, agreement)."""
    from tests.scripts_loader import load_script

    mod = load_script("event_breakdown")
    labels = {"events": {"load": 30}, "params": {"fps": 30.0}}

    def row(question: str, value: float) -> dict:
        target = {"kind": "number", "value": value, "tolerance": 0.15}
        return {"conversations": [{"from": "human", "value": question}],
                "meta": {"targets": [target], "labels": labels}}  # fmt: skip

    qs = ["When does the start of the stride happen?", "When is the load?", "When is the load?"]
    rows = [row(qs[0], 1.2), row(qs[1], 1.5), row(qs[2], 1.0)]
    preds = [{"qtype": "baseball_event_time", "sample": f"x.jsonl:{i + 1}", "question": q,
              "hit": i != 1, "correct": i == 2} for i, q in enumerate(qs)]  # fmt: skip
    preds.append({"qtype": "rep_count", "sample": "x.jsonl:1", "question": "How many?"})
    counts = mod.breakdown(preds, rows)
    assert counts[("baseball_event_time", "stride", "no label", "n")] == 1
    assert counts[("baseball_event_time", "load", "disagrees", "hit")] == 0
    assert counts[("baseball_event_time", "load", "agrees", "correct")] == 1
    assert "| baseball_event_time | stride | no label | 1 | 1 | 0 |" in mod.table(counts)
    with pytest.raises(ValueError, match="no baseball_event_time event words"):
        mod.asked_event("baseball_event_time", "When is impact?")
    # --data: a dataset folder means its heldout.jsonl; a missing file is one clear line
    folder = tmp_path / "synth"
    folder.mkdir()
    (folder / "heldout.jsonl").write_text("")
    assert mod.held_out_file(folder) == folder / "heldout.jsonl"
    with pytest.raises(SystemExit, match="pass --data"):
        mod.held_out_file(tmp_path / "gone.jsonl")


def test_load_predictions_reads_one_model_of_a_report(tmp_path: Path) -> None:
    from train.evaluate import load_predictions

    path = tmp_path / "r.json"
    path.write_text(json.dumps({"a+facts": {"predictions": [{"qtype": "activity"}]}}))
    assert load_predictions(f"{path}:a+facts") == ("a+facts", [{"qtype": "activity"}])
    with pytest.raises(SystemExit, match="has no model 'b'"):
        load_predictions(f"{path}:b")
    with pytest.raises(SystemExit, match="expected REPORT.json:MODEL"):
        load_predictions("r.json")


def test_the_report_names_the_fusion_a_model_has_not_only_the_one_its_recipe_names(
    tmp_path: Path,
) -> None:
    """A model started from another (the all-frames row, session 31) takes its fusion from its
    start's config.json; its train_config.yaml names none, and the report said cross_talker."""
    import yaml

    from core.paths import DEFAULT_MODEL_DIR

    saved = json.loads((DEFAULT_MODEL_DIR / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**saved, "fusion": "all_frames",
                                                      "timestamp_mode": "embedding"}))  # fmt: skip
    recipe = {"stages": [{"name": "align", "steps": 150}, {"name": "lora", "steps": 300}]}
    (tmp_path / "train_config.yaml").write_text(yaml.safe_dump(recipe))
    kind = evaluate.model_kind(tmp_path)
    assert kind == "fusion=all_frames, timestamps=embedding; 150 align+300 lora steps"
    assert evaluate.model_kind(DEFAULT_MODEL_DIR).startswith("fusion=cross_talker, timestamps=text")
