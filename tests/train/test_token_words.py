"""Word targets of the motion tokens from the synthesizer's labels (train.token_words)."""

from __future__ import annotations

import numpy as np

from core.llamo.inputs import IGNORE_INDEX
from train.synth import synthesize
from train.token_words import WithWordTargets, frame_words, word_id, word_targets

MODEL_FPS = 20.0


class SpaceTokenizer:
    """Enough of a tokenizer: one id per word (" golf" -> the word's index)."""

    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}

    def __call__(self, text: str, add_special_tokens: bool = False) -> dict:
        ids = [self.vocab.setdefault(w, len(self.vocab)) for w in text.split()]
        return {"input_ids": ids}


def test_golf_frames_read_as_golf_and_the_event_or_phase_they_show() -> None:
    sample = synthesize("golf_swing", np.random.default_rng(4), fps=30.0)
    words = frame_words(sample.motion3d, sample.labels, MODEL_FPS)
    ev = sample.labels.events
    assert len(words) == sample.motion3d.num_frames
    assert {a for a, _ in words} == {"golf"}
    for event, word in (("top", "top"), ("impact", "impact"), ("address", "address")):
        assert words[ev[event]][1] == word
    # half a model frame at 30 -> 20 fps: the event's word covers one frame each side
    assert words[ev["top"] - 1][1] == words[ev["top"] + 1][1] == "top"
    assert words[ev["top"] - 3][1] == "backswing"
    assert words[(ev["impact"] + ev["finish"]) // 2][1] == "follow"
    assert words[0][1] == "still"


def test_rep_bottoms_and_activities_without_moments() -> None:
    squat = synthesize("squat", np.random.default_rng(1), fps=30.0, reps=3)
    moments = [m for _, m in frame_words(squat.motion3d, squat.labels, MODEL_FPS)]
    runs = sum(1 for i, m in enumerate(moments) if m == "bottom" and moments[i - 1] != "bottom")
    assert runs == 3
    assert {"down", "up"} <= set(moments)
    walk = synthesize("walking", np.random.default_rng(2), fps=30.0)
    walk_words = frame_words(walk.motion3d, walk.labels, MODEL_FPS)
    assert {a for a, _ in walk_words} == {"walking"}
    assert {m for _, m in walk_words} == {None}


def test_word_targets_are_the_words_first_token_ids_and_the_view_caches_them() -> None:
    tok = SpaceTokenizer()
    sample = synthesize("golf_swing", np.random.default_rng(4), fps=30.0)
    ids = word_targets(sample.motion3d, sample.labels, MODEL_FPS, tok)
    assert ids.shape == (sample.motion3d.num_frames, 2)
    assert ids[sample.labels.events["top"], 1] == word_id(tok, "top")
    assert (ids[:, 0] == word_id(tok, "golf")).all()
    walk = synthesize("walking", np.random.default_rng(2), fps=30.0)
    assert (word_targets(walk.motion3d, walk.labels, MODEL_FPS, tok)[:, 1] == IGNORE_INDEX).all()

    labelled = {"motion": sample.motion3d, "meta": {"labels": sample.labels.to_dict()}}
    club = {"motion": walk.motion3d, "meta": {}}  # a club's clip: no synthetic labels
    view = WithWordTargets([labelled, club, labelled], tok, MODEL_FPS)
    assert view[1]["word_targets"] is None
    assert view[0]["word_targets"] is view[2]["word_targets"]
    np.testing.assert_array_equal(view[0]["word_targets"], ids)


def test_side_turns_add_the_side_each_frame_shows_more_bent() -> None:
    """A golf swing's elbows (the trail arm folds, the lead arm stays long): each frame's side
    word is the side whose elbow angle is smaller there by the margin; another turn of the
    same clip gets an empty third slot."""
    from core.analytics.angles import joint_angles
    from train.token_words import SIDE_MARGIN, asked_part

    tok = SpaceTokenizer()
    swing = synthesize("golf_swing", np.random.default_rng(0), fps=30.0)
    motion = swing.motion3d
    meta = {"labels": swing.labels.to_dict(), "qtypes": ["golf_phase", "bend_compare"]}
    turns = [{"from": "human", "value": "Which phase am I in at 1.80 s?"},
             {"from": "gpt", "value": "The downswing."},
             {"from": "human", "value": "Which elbow bends more, the left or the right?"},
             {"from": "gpt", "value": "The left elbow."}]  # fmt: skip
    count_turn = {"motion": motion, "meta": meta, "conversations": turns[:2]}
    side_turn = {"motion": motion, "meta": meta, "conversations": turns}
    view = WithWordTargets([count_turn, side_turn], tok, MODEL_FPS, sides=True)
    assert (view[0]["word_targets"][:, 2] == IGNORE_INDEX).all()
    sides = view[1]["word_targets"][:, 2]
    angles = joint_angles(motion)
    diff = angles["left_elbow"] - angles["right_elbow"]  # (T0,) degrees
    np.testing.assert_array_equal(sides == word_id(tok, "left"), diff < -SIDE_MARGIN)
    np.testing.assert_array_equal(sides == word_id(tok, "right"), diff > SIDE_MARGIN)
    assert (sides == word_id(tok, "left")).sum() > 10 and (
        sides == word_id(tok, "right")
    ).sum() > 10
    np.testing.assert_array_equal(view[1]["word_targets"][:, :2], view[0]["word_targets"][:, :2])
    assert asked_part("Comparing both knees, which one bends deeper?") == "knee"
    assert WithWordTargets([count_turn], tok, MODEL_FPS)[0]["word_targets"].shape[1] == 2
