"""The training JSONL format: round trip, validation errors that name the line, dataset."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.errors import InputError
from core.motion_io import load_motion, save_motion
from train.data import WITH_FACTS, MotionDataset, PerTurn, Sample, load_jsonl, write_jsonl
from train.qa import make_dialogues
from train.synth import synthesize

CONV = [{"from": "human", "value": "How many reps?"}, {"from": "gpt", "value": "3 reps."}]


@pytest.fixture()
def motion_file(tmp_path: Path) -> Path:
    s = synthesize("squat", np.random.default_rng(0), reps=2)
    (tmp_path / "motions").mkdir()
    return save_motion(s.motion3d, tmp_path / "motions" / "a.npz")


def _write(path: Path, lines: list[object]) -> Path:
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    return path


def _squat_samples(motion_file: Path, n: int) -> list[Sample]:
    """``n`` data-engine dialogues about one synthesized squat, on ``motion_file``."""
    s = synthesize("squat", np.random.default_rng(0), reps=2)
    dialogues = make_dialogues(s.motion3d, s.labels, np.random.default_rng(1), n=n)
    return [Sample(x.conversations(), motion=motion_file, meta=x.meta()) for x in dialogues]


def test_round_trip_with_relative_paths_and_lazy_cached_dataset(
    tmp_path: Path, motion_file: Path
) -> None:
    samples = _squat_samples(motion_file, 2)
    path = write_jsonl(tmp_path / "train.jsonl", samples)
    first = json.loads(path.read_text().splitlines()[0])
    assert first["motion"] == "motions/a.npz"  # relative to the JSONL's folder
    loaded = load_jsonl(path)
    assert [x.conversations for x in loaded] == [x.conversations for x in samples]
    assert loaded[0].motion == motion_file.absolute() and loaded[0].meta["qtypes"]
    ds = MotionDataset(loaded)
    assert len(ds) == 2 and not ds._cache
    ex = ds[0]
    assert ex["motion"].num_frames == load_motion(motion_file).num_frames and ex["video"] is None
    assert ex["conversations"][0]["from"] == "human"
    assert ds[0]["motion"] is ex["motion"]  # cached, not reloaded


def test_answer_moments_round_trip(tmp_path: Path, motion_file: Path) -> None:
    conv = [CONV[0], {**CONV[1], "moments": [[1.5, 2.25], [4, 4]]}, CONV[0], CONV[1]]
    path = write_jsonl(tmp_path / "qa.jsonl", [Sample(conv, motion=motion_file)])
    ex = MotionDataset(load_jsonl(path))[0]
    assert ex["moments"] == [[(1.5, 2.25), (4.0, 4.0)], []]


def test_per_turn_repeats_the_turns_of_the_asked_question_types(
    tmp_path: Path, motion_file: Path
) -> None:
    samples = _squat_samples(motion_file, 3)
    ds = MotionDataset(samples)
    qtypes = [q for x in samples for q in x.meta["qtypes"]]
    once = PerTurn(ds)
    assert len(once) == len(qtypes)
    picked = qtypes[0]
    thrice = PerTurn(ds, {picked: 3})
    assert len(thrice) == len(qtypes) + 2 * qtypes.count(picked)
    i, k = thrice.index[0]
    ex = thrice[0]
    assert ex["last_turn_only"] and len(ex["conversations"]) == 2 * (k + 1)
    assert samples[i].meta["qtypes"][k] == picked
    with pytest.raises(ValueError, match="repeat_qtypes: no turn .*no_such_type"):
        PerTurn(ds, {"no_such_type": 2})


def test_per_turn_repeats_only_the_turns_with_facts_of_a_facts_key(
    tmp_path: Path, motion_file: Path
) -> None:
    samples = _squat_samples(motion_file, 4)
    samples[0].meta["context"] = "Activity: squat."  # only the first dialogue has facts
    picked = samples[0].meta["qtypes"][0]
    with_facts = samples[0].meta["qtypes"].count(picked)
    plain = sum(x.meta["qtypes"].count(picked) for x in samples[1:])
    n = sum(len(x.meta["qtypes"]) for x in samples)
    ds = MotionDataset(samples)
    assert len(PerTurn(ds, {f"{picked}{WITH_FACTS}": 4})) == n + 3 * with_facts
    both = PerTurn(ds, {f"{picked}{WITH_FACTS}": 4, picked: 2})
    assert len(both) == n + 3 * with_facts + plain
    with pytest.raises(ValueError, match="no turn .*rep_count@facts"):
        PerTurn(MotionDataset(samples[1:]), {f"rep_count{WITH_FACTS}": 2})


BAD_LINES = [
    ("{not json", "bad JSON"),
    ({"motion": "motions/a.npz"}, "missing key 'conversations'"),
    ({"conversations": CONV}, "neither of 'motion' and 'video'"),
    (
        {"motion": "motions/a.npz", "video": "x.mp4", "conversations": CONV},
        "both of 'motion' and 'video'",
    ),
    ({"motion": "motions/a.npz", "conversations": []}, "non-empty list"),
    ({"motion": "motions/a.npz", "conversations": [CONV[1], CONV[0]]}, "alternate"),
    ({"motion": "motions/a.npz", "conversations": [CONV[0], CONV[0]]}, "alternate"),
    ({"motion": "motions/a.npz", "conversations": CONV[:1]}, "no answer"),
    ({"motion": "motions/missing.npz", "conversations": CONV}, "not found"),
    ({"motion": "motions/a.npz", "conversations": CONV, "extra": 1}, "unknown keys"),
    ({"motion": "motions/a.npz", "conversations": [CONV[0], {**CONV[1], "moments": [[2.0, 1.0]]}]},
     "start_s <= end_s"),
    ({"motion": "motions/a.npz", "conversations": [CONV[0], {**CONV[1], "moments": 3.9}]},
     "non-empty list"),
    ({"motion": "motions/a.npz", "conversations": [{**CONV[0], "moments": [[1, 2]]}, CONV[1]]},
     "optionally 'moments'"),
]  # fmt: skip


@pytest.mark.parametrize("bad,message", BAD_LINES)
def test_each_bad_line_is_reported_with_its_line_number(
    tmp_path: Path, motion_file: Path, bad: object, message: str
) -> None:
    good = {"motion": "motions/a.npz", "conversations": CONV}
    path = _write(tmp_path / "qa.jsonl", [good, "", bad])  # the bad one is line 3
    with pytest.raises(InputError, match=message) as err:
        load_jsonl(path)
    assert f"{path}:3:" in str(err.value)


def test_empty_file_and_video_samples(tmp_path: Path, motion_file: Path) -> None:
    with pytest.raises(InputError, match="no samples"):
        load_jsonl(_write(tmp_path / "empty.jsonl", [""]))
    # A video line validates without the clip when asked, and the dataset then says what to run.
    path = _write(tmp_path / "v.jsonl", [{"video": "clip.mp4", "conversations": CONV}])
    with pytest.raises(InputError, match="not found"):
        load_jsonl(path)
    ds = MotionDataset(load_jsonl(path, check_files=False), prepared_dir=tmp_path)
    with pytest.raises(InputError, match="train.prepare"):
        ds.motion(0)


def test_make_dataset_writes_checkable_train_and_heldout_splits(tmp_path: Path) -> None:
    from train.make_dataset import SPLITS, main
    from train.qa import check_answer

    main(tmp_path, n_train=10, n_heldout=6, seed=0, dialogues=2, frac_2d=0.5)
    train, held = load_jsonl(tmp_path / "train.jsonl"), load_jsonl(tmp_path / "heldout.jsonl")
    assert len(train) == 10 and len(held) == 6
    for split, samples in (("train", train), ("heldout", held)):
        lo, hi = SPLITS["train"].heights[0]
        for x in samples:
            assert x.meta["split"] == split and x.motion.is_file()
            answers = [c["value"] for c in x.conversations if c["from"] == "gpt"]
            for qtype, target, answer in zip(
                x.meta["qtypes"], x.meta["targets"], answers, strict=True
            ):
                assert check_answer(qtype, target, answer)
            questions = [c["value"] for c in x.conversations if c["from"] == "human"]
            assert len(questions) == len(x.meta["qtypes"])
            height = x.meta["labels"]["params"]["height_m"]
            # Held-out bodies come from outside the training height range.
            assert (lo <= height <= hi) == (split == "train")
    spaces = {x.meta["space"] for x in train + held}
    assert spaces == {"world_metres", "image_normalized"}


def test_make_dataset_slow_motion_clips_are_measured_slowed(tmp_path: Path) -> None:
    """With --slow-frac 1 every motion is saved slowed down, and every answer and moment is
    measured on the slowed clip (times stretched, so they still lie inside it)."""
    from core.motion_io import load_motion
    from train.make_dataset import main
    from train.qa import check_answer

    main(tmp_path, n_train=8, n_heldout=0, seed=1, dialogues=2, slow_frac=1.0, slow_max=2.5)
    samples = load_jsonl(tmp_path / "train.jsonl")
    moments_seen = 0
    for x in samples:
        slow = x.meta["slow_motion"]
        assert 1.5 <= slow <= 2.5
        motion = load_motion(x.motion)
        answers = [c["value"] for c in x.conversations if c["from"] == "gpt"]
        for qtype, target, answer in zip(x.meta["qtypes"], x.meta["targets"], answers, strict=True):
            assert check_answer(qtype, target, answer)
        for turn in x.conversations:
            for a, b in turn.get("moments", []):
                moments_seen += 1
                assert (
                    motion.start_time - 1e-3 <= a <= b <= motion.timestamps[-1] + 1e-3
                )  # 3 decimals
    assert moments_seen > 0
    with pytest.raises(SystemExit, match="slow-frac"):
        main(tmp_path / "bad", n_train=1, n_heldout=0, slow_frac=2.0)


def test_make_dataset_keeps_the_facts_budget(tmp_path: Path) -> None:
    """--max-facts N: every prompt's facts block is the activity line and at most N facts,
    and dataset.json records N."""
    import json

    from train.make_dataset import main

    main(tmp_path, n_train=6, n_heldout=0, seed=2, facts_frac=1.0, max_facts=3)
    contexts = [x.meta.get("context") for x in load_jsonl(tmp_path / "train.jsonl")]
    sizes = [len(c.splitlines()) for c in contexts if c is not None]
    assert sizes and max(sizes) == 1 + 3  # the activity line, then three facts
    assert json.loads((tmp_path / "dataset.json").read_text())["max_facts"] == 3
    with pytest.raises(SystemExit, match="max-facts"):
        main(tmp_path / "bad", n_train=1, n_heldout=0, max_facts=0)


def test_make_dataset_states_the_range_of_the_joints_the_questions_name(tmp_path: Path) -> None:
    """--max-joints N: a prompt whose questions ask a joint's largest or smallest angle, or the
    trunk's largest lean, has that range line, and the line's extreme agrees with the turn's
    target; dataset.json records N."""
    import json
    import re

    import numpy as np

    from core.llamo.prompts import PromptBudget, question_joints
    from train.make_dataset import SPLITS, main, make_samples

    (tmp_path / "motions").mkdir()
    samples = make_samples(SPLITS["heldout"], 60, tmp_path, np.random.default_rng(6),
                           activities=("golf_swing", "squat", "push_up"), facts_frac=1.0,
                           budget=PromptBudget(max_joints=2))  # fmt: skip
    agree, asked = 0, 0
    for x in samples:
        context = x.meta["context"].splitlines()
        human = [t["value"] for t in x.conversations if t["from"] == "human"]
        for q, qtype, target in zip(human, x.meta["qtypes"], x.meta["targets"], strict=True):
            if qtype not in ("max_angle", "min_angle", "max_lean"):
                continue
            (joint,) = question_joints([q])
            head = joint.replace("_", " ").capitalize() + ": "
            line = next((c for c in context if c.startswith(head)), None)
            if line is None:  # an unsure joint (hidden from a 2D view) gets no line
                continue
            low, high = map(float, re.match(r".*: (-?\d+) to (-?\d+) deg", line).groups())
            said = low if qtype == "min_angle" else high
            asked, agree = asked + 1, agree + (abs(said - target["value"]) <= target["tolerance"])
    assert asked >= 8 and agree >= 0.8 * asked, (agree, asked)
    main(tmp_path / "set", n_train=0, n_heldout=4, seed=6, facts_frac=1.0, max_joints=2)
    assert json.loads((tmp_path / "set" / "dataset.json").read_text())["max_joints"] == 2


def test_make_dataset_states_which_side_bends_more_where_the_questions_compare_them(
    tmp_path: Path,
) -> None:
    """--max-sides N: a prompt whose questions compare a part's two sides has the analytics'
    line saying which bends more, and the line names the turn's target side; without it no
    prompt has one; dataset.json records N."""
    import json

    import numpy as np

    from core.llamo.prompts import PromptBudget
    from train.make_dataset import SPLITS, main, make_samples

    (tmp_path / "motions").mkdir()
    rng = np.random.default_rng(7)
    samples = make_samples(SPLITS["heldout"], 160, tmp_path, rng, facts_frac=1.0,
                           budget=PromptBudget(max_sides=1))  # fmt: skip
    agree, asked = 0, 0
    for x in samples:
        lines = [c for c in x.meta["context"].splitlines() if " bends more than " in c]
        assert len(lines) <= 1
        if "bend_compare" in x.meta["qtypes"] and lines:
            side = x.meta["targets"][x.meta["qtypes"].index("bend_compare")]["value"]
            asked, agree = asked + 1, agree + lines[0].startswith(f"The {side} ")
    assert asked >= 4 and agree >= 0.8 * asked, (agree, asked)
    plain = make_samples(SPLITS["heldout"], 40, tmp_path, np.random.default_rng(7),
                         facts_frac=1.0)  # fmt: skip
    assert not any(" bends more than " in x.meta["context"] for x in plain)
    main(tmp_path / "set", n_train=0, n_heldout=4, seed=6, facts_frac=1.0, max_sides=1)
    assert json.loads((tmp_path / "set" / "dataset.json").read_text())["max_sides"] == 1


def test_facts_of_rebuilds_a_sets_facts_blocks_and_keeps_its_motions_and_dialogues(
    tmp_path: Path,
) -> None:
    """--facts-of DIR: DIR's lines with a new budget's facts blocks (here the compared sides'
    lines and the asked events' order lines added), nothing else changed; DIR itself is read,
    never written."""
    import json
    import re

    import pytest

    from train.data import load_jsonl
    from train.make_dataset import main

    main(tmp_path / "old", n_train=0, n_heldout=40, seed=11, facts_frac=0.7)
    before = (tmp_path / "old" / "heldout.jsonl").read_text()
    main(tmp_path / "new", facts_of=tmp_path / "old", max_sides=1, max_orders=1)
    old, new = (load_jsonl(tmp_path / d / "heldout.jsonl") for d in ("old", "new"))
    added, orders = 0, 0
    for a, b in zip(old, new, strict=True):
        assert (a.motion, a.conversations) == (b.motion, b.conversations)
        assert ("context" in a.meta) == ("context" in b.meta)
        lines = b.meta.get("context", "").splitlines()
        sides = [c for c in lines if " bends more than " in c or " bend about as much" in c]
        ordered = [
            c for c in lines if re.fullmatch(r"The .+ \(\d+\.\d\d s\) comes (before|after) .+", c)
        ]
        kept = [c for c in lines if c not in sides and c not in ordered]
        assert kept == a.meta.get("context", "").splitlines()
        added, orders = added + len(sides), orders + len(ordered)
    assert added >= 1 and orders >= 1
    assert (tmp_path / "old" / "heldout.jsonl").read_text() == before
    info = json.loads((tmp_path / "new" / "dataset.json").read_text())
    assert (info["max_sides"], info["max_orders"], info["seed"]) == (1, 1, 11)
    with pytest.raises(SystemExit, match="--out must differ"):
        main(tmp_path / "old", facts_of=tmp_path / "old", max_sides=1)
    with pytest.raises(SystemExit, match="no dataset.json there"):
        main(tmp_path / "other", facts_of=tmp_path / "nowhere")
    assert not (tmp_path / "other").exists()  # nothing left behind


def test_make_dataset_states_the_times_the_questions_name(tmp_path: Path) -> None:
    """--max-moments N: a prompt whose questions name times ends with the analytics' line for
    each of them, and those lines agree with the turns' targets (the foot asked about, the swing
    phase, the rep); without it no prompt has them, and dataset.json records N."""
    import json
    from collections import Counter

    import numpy as np

    from core.llamo.prompts import PromptBudget, question_times
    from train.make_dataset import SPLITS, main, make_samples

    (tmp_path / "motions").mkdir()
    samples = make_samples(SPLITS["heldout"], 60, tmp_path, np.random.default_rng(5),
                           activities=("lunge", "walking", "golf_swing"), facts_frac=1.0,
                           budget=PromptBudget(max_moments=3))  # fmt: skip
    agree, asked, kinds = 0, 0, Counter()
    for x in samples:
        context = x.meta["context"].splitlines()
        human = [t["value"] for t in x.conversations if t["from"] == "human"]
        lines = [c for c in context if c.startswith("At ") and " s: " in c]
        assert len(lines) <= len(question_times(human))
        for q, qtype, target in zip(human, x.meta["qtypes"], x.meta["targets"], strict=True):
            if qtype not in ("front_foot", "golf_phase", "rep_at"):
                continue
            (t,) = question_times([q])
            line = next((c for c in lines if c.startswith(f"At {t:.2f} s: ")), "")
            asked, kinds[qtype] = asked + 1, kinds[qtype] + 1
            said = {
                "front_foot": "{} foot forward",
                "golf_phase": "the {},",
                "rep_at": "rep {:.0f} of",
            }
            agree += said[qtype].format(target["value"]) in line
    assert len(kinds) == 3 and agree >= 0.7 * asked, (agree, asked, kinds)
    main(tmp_path / "set", n_train=0, n_heldout=4, seed=5, facts_frac=1.0, max_moments=3)
    assert json.loads((tmp_path / "set" / "dataset.json").read_text())["max_moments"] == 3
    main(tmp_path / "none", n_train=0, n_heldout=20, seed=5, facts_frac=1.0)
    for x in load_jsonl(tmp_path / "none" / "heldout.jsonl"):
        assert not [c for c in x.meta["context"].splitlines() if " s: " in c]
