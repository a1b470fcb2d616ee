"""LLaMo wrapper on real pose tracks with a tiny random Llama and a tokenizer trained here."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from core.errors import InputError, ModelFilesError
from core.llamo.config import LLaMoConfig
from core.llamo.inputs import IGNORE_INDEX, MOTION_TOKEN_INDEX, prepare_motion
from core.llamo.model import LLaMo
from core.motion import Motion, PoseTrack

CHATML = (
    "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + "
    "'<|im_end|>\n' }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\n' }}{% endif %}"
)
SENTENCES = [
    "Keep your head still through impact and rotate the hips first.",
    "Your knees go past the toes at the bottom of the squat.",
    "The backswing reaches the top at t=1.23 s, then the downswing starts.",
    "What happens at the top of the swing? Where do the hips turn?",
    "Describe this motion. Push up with straight arms and keep the back flat.",
    "You are LLaMo, a friendly sports and fitness coach. Facts measured from this clip.",
]
QUESTION = "Where do the hips turn?"
ANSWER = "Keep your head still through impact."


def build_tokenizer(chat_template: str | None = CHATML):
    """Byte-level BPE trained on a few sentences, wrapped as a HF fast tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=420,
        special_tokens=["<pad>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(SENTENCES, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<pad>", bos_token="<|im_start|>"
    )
    fast.chat_template = chat_template
    return fast


def build_llm(tokenizer, seed: int = 0):
    """2 layers, width 64: the same weights for the same seed."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
    )
    return LlamaForCausalLM(config)


TINY = LLaMoConfig(
    hidden_size=32,
    attn_size=16,
    num_heads=2,
    num_viewpoints=4,
    segment_size=4,
    max_window=4,
    spatial_depth=1,
    temporal_depth=1,
    fps=10.0,
    max_frames=128,
    lora_r=4,
    lora_alpha=8,
    lora_dropout=0.0,
)


@pytest.fixture(scope="session")
def tokenizer():
    return build_tokenizer()


def make_model(tokenizer, config: LLaMoConfig = TINY, seed: int = 0) -> LLaMo:
    torch.manual_seed(seed + 1)
    return LLaMo.from_config(config, llm=build_llm(tokenizer, seed), tokenizer=tokenizer)


@pytest.fixture(scope="session")
def golf2d(golf_track: PoseTrack) -> Motion:
    return golf_track.motion2d


@pytest.fixture(scope="session")
def golf3d(golf_track: PoseTrack) -> Motion:
    return golf_track.motion3d


def example(motion: Motion, turns: int = 1) -> dict:
    conv = []
    for i in range(turns):
        conv += [
            {"from": "human", "value": f"{QUESTION} ({i})"},
            {"from": "gpt", "value": f"{ANSWER} {i}"},
        ]
    return {"motion": motion, "conversations": conv}


# -- collate and Eq. 11 ---------------------------------------------------------------------
def test_collate_masks_everything_but_the_answers(tokenizer, golf2d: Motion) -> None:
    model = make_model(tokenizer)
    batch = model.collate([example(golf2d, turns=2), example(golf2d.slice_frames(0, 40))])
    assert (batch.input_ids == MOTION_TOKEN_INDEX).sum(dim=1).tolist() == [1, 1]
    for b, answers in enumerate([[f"{ANSWER} 0", f"{ANSWER} 1"], [f"{ANSWER} 0"]]):
        labelled = batch.labels[b][batch.labels[b] != IGNORE_INDEX].tolist()
        text = tokenizer.decode(labelled)
        assert text == "".join(f"{a}<|im_end|>\n" for a in answers)
        question = tokenizer.decode(batch.text_ids[b][batch.text_mask[b]].tolist())
        assert QUESTION in question and "<motion>" not in question
    # Motions are resampled to config.fps (10) from 29.97 fps, padded frames masked.
    assert batch.feats.shape[1] == round(golf2d.duration * TINY.fps)
    assert batch.frame_mask[1, round(40 / golf2d.fps * TINY.fps) + 1 :].sum() == 0
    assert not batch.is_3d.any()


def test_forward_is_cross_entropy_on_answer_tokens(tokenizer, golf3d: Motion) -> None:
    model = make_model(tokenizer)
    batch = model.collate([example(golf3d), example(golf3d.slice_frames(30, 90), turns=2)])
    loss = model(batch)
    assert torch.isfinite(loss)
    with torch.no_grad():
        fusion = model.fuse(batch)
        embeds, attention, labels = model.splice(batch, fusion)
        logits = model.llm(inputs_embeds=embeds, attention_mask=attention).logits
    target = labels[:, 1:]
    manual = F.cross_entropy(
        logits[:, :-1].reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=-100
    )
    assert torch.allclose(loss, manual, atol=1e-5)
    # Spliced rows grow by the K' motion tokens minus the placeholder.
    k = fusion.token_mask.sum(dim=1)
    assert (attention.sum(dim=1) == batch.attention_mask.sum(dim=1) + k - 1).all()
    assert (labels[attention] != IGNORE_INDEX).sum() == (batch.labels != IGNORE_INDEX).sum()


def test_word_targets_follow_the_model_frames_and_add_their_loss(tokenizer, golf2d: Motion) -> None:
    from core.llamo.fusion import token_word_loss

    model = make_model(tokenizer).eval()
    n = golf2d.num_frames
    targets = np.stack([np.arange(n), np.arange(n) % 7], axis=1)  # (T0, 2) "ids"
    clip = golf2d.slice_frames(0, 40)
    batch = model.collate([{**example(golf2d), "word_targets": targets}, example(clip)])
    source = batch.motions[0].source_frames
    assert batch.word_targets.shape == (*batch.frame_mask.shape, 2)
    assert batch.word_targets[0, : len(source), 0].tolist() == source.tolist()
    assert (batch.word_targets[1] == IGNORE_INDEX).all()
    assert (batch.word_targets[0, len(source) :] == IGNORE_INDEX).all()
    with torch.no_grad():
        plain, both = model(batch), model(batch, token_words=0.5)
        fusion = model.fuse(batch)
        words = token_word_loss(fusion.tokens, fusion.token_mask, fusion.frame_indices,
                                batch.word_targets, model.llm.get_input_embeddings().weight)  # fmt: skip
    assert float(words) > 0
    assert float(both) == pytest.approx(float(plain) + 0.5 * float(words), rel=1e-5)

    # the words stage: no answer loss, and no LLM forward at all
    def no_llm(*_args: object, **_kw: object) -> None:
        raise AssertionError("the words stage ran the LLM")

    model.llm.forward = model.llm.model.forward = no_llm
    with torch.no_grad():
        alone = model(batch, token_words=0.5, answer_loss=False)
    assert float(alone) == pytest.approx(0.5 * float(words), rel=1e-5)
    with pytest.raises(ValueError, match="answer_loss"):
        model(batch, answer_loss=False)
    with pytest.raises(ValueError, match="word_targets"):
        model.collate([{**example(clip), "word_targets": targets}])


def test_gradients_reach_modules_and_lora_but_not_the_llm(tokenizer, golf2d: Motion) -> None:
    model = make_model(tokenizer, replace(TINY, stage="lora"))
    model(model.collate([example(golf2d)])).backward()
    lora = [(n, p) for n, p in model.llm.named_parameters() if p.requires_grad]
    assert lora and all("lora_" in n for n, _ in lora)
    assert all(p.grad is not None for _, p in lora)
    assert any(p.grad.abs().sum() > 0 for _, p in lora)
    frozen = [p for p in model.llm.parameters() if not p.requires_grad]
    assert frozen and all(p.grad is None for p in frozen)
    grads = [p.grad for p in model.motion_modules.parameters()]
    assert sum(g is not None and bool(g.abs().sum() > 0) for g in grads) > 0.8 * len(grads)
    assert set(model.trainable_parameters()) == {
        n for n, p in model.named_parameters() if p.requires_grad
    }


def test_align_stage_trains_only_the_motion_modules(tokenizer, golf2d: Motion) -> None:
    model = make_model(tokenizer)
    names = model.trainable_parameters()
    assert names and all(n.startswith("motion_modules.") for n in names)
    model.set_stage("lora")
    assert any(".lora_" in n for n in model.trainable_parameters())
    model.set_stage("align")
    assert all(n.startswith("motion_modules.") for n in model.trainable_parameters())
    with pytest.raises(ValueError, match="stage"):
        model.set_stage("full")


# -- save / load ----------------------------------------------------------------------------
def test_save_and_load_give_identical_loss_and_answer(tokenizer, golf3d: Motion, tmp_path) -> None:
    model = make_model(tokenizer, replace(TINY, stage="lora"))
    opt = torch.optim.SGD(list(model.trainable_parameters().values()), lr=0.5)
    batch = model.collate([example(golf3d)])
    model(batch).backward()
    opt.step()  # LoRA B leaves zero, so the adapter matters for the comparison
    model.eval()
    with torch.no_grad():
        before = model(batch)
    first = model.answer(golf3d, QUESTION, max_new_tokens=8)
    out = model.save_pretrained(tmp_path / "m")
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert {"config.json", "motion_modules.safetensors", "lora/adapter_model.safetensors"} <= files
    assert not any(f.endswith((".bin", ".pt", ".pkl")) for f in files)
    with pytest.raises(ValueError, match="in-memory LLM"):
        LLaMo.from_pretrained(out)
    loaded = LLaMo.from_pretrained(out, llm=build_llm(tokenizer), tokenizer=tokenizer)
    loaded.eval()
    with torch.no_grad():
        after = loaded(loaded.collate([example(golf3d)]))
    assert loaded.config.stage == "lora" and loaded.trainable_parameters()
    assert torch.allclose(before, after, atol=1e-6)
    again = loaded.answer(golf3d, QUESTION, max_new_tokens=8)
    assert (again.text, again.viewpoint_frames) == (first.text, first.viewpoint_frames)
    fresh = make_model(tokenizer, seed=5)
    with torch.no_grad():
        assert not torch.allclose(fresh(fresh.collate([example(golf3d)])), after)
    small = model.save_pretrained(tmp_path / "bf16", dtype=torch.bfloat16)
    full_size = (out / "motion_modules.safetensors").stat().st_size
    assert (small / "motion_modules.safetensors").stat().st_size < 0.6 * full_size
    half = LLaMo.from_pretrained(small, llm=build_llm(tokenizer), tokenizer=tokenizer).eval()
    assert next(half.motion_modules.parameters()).dtype == torch.float32
    with torch.no_grad():
        assert torch.allclose(half(half.collate([example(golf3d)])), after, rtol=0.02)


def test_from_pretrained_without_files_is_an_actionable_error(tmp_path) -> None:
    with pytest.raises(ModelFilesError, match="not a saved LLaMo model"):
        LLaMo.from_pretrained(tmp_path / "nothing")


# -- answering ------------------------------------------------------------------------------
def test_greedy_answer_is_deterministic_and_stream_matches(tokenizer, golf2d: Motion) -> None:
    model = make_model(tokenizer)
    one = model.answer(golf2d, QUESTION, max_new_tokens=12)
    two = model.answer(golf2d, QUESTION, max_new_tokens=12)
    assert one.text == two.text and one.viewpoint_frames == two.viewpoint_frames
    streamed = list(model.stream_answer(golf2d, QUESTION, max_new_tokens=12))
    final = streamed[-1]
    assert final.done and not any(a.done for a in streamed[:-1])
    assert final.text == one.text  # manual KV-cache loop == transformers generate
    assert all(final.text.startswith(a.text.rstrip()) for a in streamed[:-1])
    lengths = [len(a.text) for a in streamed[:-1]]
    assert lengths == sorted(lengths)
    assert np.array_equal(final.frame_scores, one.frame_scores)
    views = model.viewpoints(golf2d, QUESTION)  # the same fields, without the LLM
    assert views["viewpoint_frames"] == one.viewpoint_frames
    assert np.array_equal(views["frame_scores"], one.frame_scores)
    seen = model.question_attention(golf2d, QUESTION)  # Eq.1 per token, on the clip's frames
    assert seen["attention"].shape == (len(seen["tokens"]), golf2d.num_frames)
    assert "".join(seen["tokens"]).strip() == QUESTION.strip()
    assert ((seen["attention"] >= 0) & (seen["attention"] <= 1)).all()
    # Eq.2 (the paper's pool): the most relevant frame is a token's peak
    peak = np.unravel_index(seen["attention"].argmax(), seen["attention"].shape)[1]
    assert seen["attention"][:, int(np.argmax(one.frame_scores))].max() == pytest.approx(
        seen["attention"][:, peak].max()
    )


@pytest.mark.parametrize("case", ["2d", "3d", "k_above_t", "one_frame", "masked"])
def test_answer_edge_cases(tokenizer, golf_track: PoseTrack, case: str) -> None:
    config = replace(TINY, num_viewpoints=16) if case == "k_above_t" else TINY
    model = make_model(tokenizer, config)
    motion = golf_track.motion2d if case == "2d" else golf_track.motion3d
    if case == "k_above_t":
        motion = motion.slice_frames(100, 130)  # 1 s -> 10 model frames < K = 16
    elif case == "one_frame":
        motion = replace(motion.slice_frames(120, 121), fps=TINY.fps)
    elif case == "masked":
        vis = motion.visibility.copy()
        vis[60:200] = 0.0
        motion = replace(motion, visibility=vis)
    ans = model.answer(motion, QUESTION, max_new_tokens=4)
    assert ans.frame_scores.shape == (motion.num_frames,)
    assert 0.0 <= ans.frame_scores.min() and ans.frame_scores.max() <= 1.0
    frames = ans.viewpoint_frames
    model_frames = prepare_motion(motion, config).feats.shape[0]
    assert 1 <= len(frames) <= min(config.num_viewpoints, model_frames)
    assert frames == sorted(frames) and 0 <= frames[0] and frames[-1] < motion.num_frames
    assert ans.timestamps == pytest.approx(motion.timestamps[frames].tolist())
    if case == "masked":
        assert not any(60 <= f < 200 for f in frames)
        assert ans.frame_scores[65:195].max() == 0.0


def test_viewpoints_map_back_to_original_frames(tokenizer, golf3d: Motion) -> None:
    clip = golf3d.slice_frames(60, 200)  # starts at ~2 s of the clip
    model = make_model(tokenizer)
    prepared = prepare_motion(clip, TINY)
    assert prepared.feats.shape[0] == round(clip.duration * TINY.fps)
    assert prepared.timestamps[0] == pytest.approx(clip.start_time)
    ans = model.answer(clip, QUESTION, max_new_tokens=2)
    assert all(f in set(prepared.source_frames.tolist()) for f in ans.viewpoint_frames)
    assert min(ans.timestamps) >= clip.start_time - 1e-9
    assert "looked at t=" in ans.describe() and f"(frame {ans.viewpoint_frames[0]})" in str(ans)


def test_multi_turn_history_keeps_one_placeholder(tokenizer, golf2d: Motion) -> None:
    model = make_model(tokenizer)
    history = [("What happens at the top?", "The backswing reaches the top.")]
    batch = model._inference_batch(golf2d, "Where do the hips turn? <motion>", None, history, None)
    ids = batch.input_ids[0].tolist()
    assert ids.count(MOTION_TOKEN_INDEX) == 1
    before = tokenizer.decode(ids[: ids.index(MOTION_TOKEN_INDEX)])
    after = tokenizer.decode(ids[ids.index(MOTION_TOKEN_INDEX) + 1 :])
    assert before.endswith("<|im_start|>user\n") and "What happens at the top?" in after
    assert after.index("The backswing") < after.index("Where do the hips")
    assert after.endswith("<|im_start|>assistant\n")
    guidance = tokenizer.decode(batch.text_ids[0].tolist())
    # The current question alone guides the Cross Talker (earlier ones were answered already).
    assert "Where do the hips turn?" in guidance and "What happens at the top?" not in guidance
    ans = model.answer(golf2d, "Where do the hips turn?", history=history, max_new_tokens=4)
    assert ans.done and ans.viewpoint_frames
    with pytest.raises(InputError, match="question"):
        model.answer(golf2d, "  <motion> ", max_new_tokens=2)


def test_context_goes_into_the_system_prompt(tokenizer, golf2d: Motion) -> None:
    model = make_model(tokenizer)
    batch = model._inference_batch(golf2d, QUESTION, None, (), "impact at t=1.23 s")
    text = tokenizer.decode(batch.input_ids[0][batch.input_ids[0] >= 0].tolist())
    system = text.split("<|im_start|>user")[0]
    assert "impact at t=1.23 s" in system


# -- fusion variants ------------------------------------------------------------------------
def test_all_frames_gives_one_token_per_frame(tokenizer, golf3d: Motion) -> None:
    clip = golf3d.slice_frames(0, 90)
    cross = make_model(tokenizer)
    base = make_model(tokenizer, replace(TINY, fusion="all_frames"))
    batch = base.collate([example(clip)])
    t = int(batch.frame_mask.sum())
    with torch.no_grad():
        embeds, _, _ = base.splice(batch, base.fuse(batch))
        cross_embeds, _, _ = cross.splice(batch, cross.fuse(batch))
        assert torch.isfinite(base(batch))
    prompt = int(batch.attention_mask.sum()) - 1
    assert embeds.shape[1] == prompt + t
    assert cross_embeds.shape[1] == prompt + TINY.num_viewpoints
    ans = base.answer(clip, QUESTION, max_new_tokens=2)
    assert len(ans.viewpoint_frames) == t


def test_timestamp_text_mode_writes_times_before_tokens(tokenizer, golf2d: Motion) -> None:
    config = replace(TINY, timestamp_mode="text")
    model = make_model(tokenizer, config)
    batch = model.collate([example(golf2d)])
    with torch.no_grad():
        fusion = model.fuse(batch)
        motion = model._motion_embeds(fusion, 0)
        times = fusion.timestamps[0][fusion.token_mask[0]].tolist()
        from core.llamo.prompts import timestamp_text

        stamp = [tokenizer(timestamp_text(s), add_special_tokens=False)["input_ids"] for s in times]
        assert motion.shape[0] == sum(len(s) + 1 for s in stamp)
        first = model.embed_tokens(torch.tensor(stamp[0]))
        assert torch.equal(motion[: len(stamp[0])], first)
        assert torch.isfinite(model(batch))
    assert model.answer(golf2d, QUESTION, max_new_tokens=3).done


def test_viewpoint_groups_text_counts_the_clusters_of_viewpoint_times(
    tokenizer, golf2d: Motion, tmp_path: Path
) -> None:
    from core.llamo.prompts import time_groups, timestamp_text, viewpoint_groups_text

    assert time_groups([3.0, 0.1, 0.2, 1.5, 1.6, 3.1], 0.5) == 3
    assert time_groups([0.1, 0.9], 1.0) == 1 and time_groups([], 0.5) == 0
    assert time_groups([3.0, 0.1, 0.2, 1.5, 1.6, 3.1, 4.5], 0.5, min_size=2) == 3
    assert viewpoint_groups_text([0.1, 2.0], 0.5) == " (2 separate moments)"
    gap = 0.3
    model = make_model(tokenizer, replace(TINY, timestamp_mode="text", viewpoint_group_gap=gap))
    batch = model.collate([example(golf2d)])
    with torch.no_grad():
        fusion = model.fuse(batch)
        motion = model._motion_embeds(fusion, 0)
        times = fusion.timestamps[0][fusion.token_mask[0]].tolist()
        stamps = sum(len(tokenizer(timestamp_text(s), add_special_tokens=False)["input_ids"]) + 1
                     for s in times)  # fmt: skip
        tail = tokenizer(viewpoint_groups_text(times, gap), add_special_tokens=False)["input_ids"]
        assert motion.shape[0] == stamps + len(tail)
        assert torch.equal(motion[-len(tail) :], model.embed_tokens(torch.tensor(tail)))
        assert torch.isfinite(model(batch))
    assert time_groups(times, gap) >= 1
    assert model.answer(golf2d, QUESTION, max_new_tokens=2).done
    # A model saved without the count may be loaded with it (prompt text, no weights).
    plain = make_model(tokenizer, replace(TINY, timestamp_mode="text"))
    out = plain.save_pretrained(tmp_path / "plain")
    kw = dict(llm=build_llm(tokenizer), tokenizer=tokenizer)
    up = LLaMo.from_pretrained(out, upgrade={"viewpoint_group_gap": gap}, **kw)
    with torch.no_grad():
        longer = up._motion_embeds(up.fuse(batch), 0).shape[0]
        assert longer == plain._motion_embeds(plain.fuse(batch), 0).shape[0] + len(tail)


def test_video_crops_flow_through_collate_and_answer(tokenizer, golf_track: PoseTrack) -> None:
    crops = np.random.default_rng(0).integers(0, 256, (golf_track.num_frames, 32, 32, 3))
    crops = crops.astype(np.uint8)
    model = make_model(tokenizer, replace(TINY, use_video=True, crop_size=32))
    ex = {**example(golf_track.motion2d), "video": crops}
    batch = model.collate([ex])
    assert batch.video.shape == (1, batch.feats.shape[1], 3, 32, 32)
    assert 0.0 <= float(batch.video.min()) and float(batch.video.max()) <= 1.0
    assert torch.isfinite(model(batch))
    with torch.no_grad():
        plain = model.fuse(replace(batch, video=None)).tokens
        assert not torch.allclose(model.fuse(batch).tokens, plain)
    with pytest.raises(InputError, match="crops for a motion"):
        model.answer(golf_track.motion2d, QUESTION, video=crops[:10], max_new_tokens=1)


# -- the real LLM ---------------------------------------------------------------------------
@pytest.mark.slow
def test_real_smollm2_answers_about_the_golf_clip(golf_track: PoseTrack, monkeypatch) -> None:
    from core.llamo import llm as llm_module

    llm, tok = llm_module.load_llm(None)
    assert llm.config.hidden_size == 576 and tok.chat_template
    monkeypatch.setattr(llm_module, "_dequantize_gguf", _must_not_run)
    llm_module.load_llm(None)  # reuses the safetensors cache
    model = LLaMo.from_config(LLaMoConfig())  # the default LLM, from the cache
    motion = golf_track.motion3d
    ans = model.answer(motion, "What happens at the top of the backswing?", max_new_tokens=24)
    assert ans.text.strip()
    assert len(ans.viewpoint_frames) == LLaMoConfig().num_viewpoints
    assert all(0 <= f < motion.num_frames for f in ans.viewpoint_frames)
    assert all(0 <= t <= motion.duration for t in ans.timestamps)
    assert not math.isnan(float(ans.frame_scores.sum()))
    # The real chat template renders turn by turn, so labels cover exactly the answers.
    batch = model.collate([example(motion, turns=2)])
    labelled = batch.labels[0][batch.labels[0] != IGNORE_INDEX].tolist()
    assert tok.decode(labelled) == f"{ANSWER} 0<|im_end|>\n{ANSWER} 1<|im_end|>\n"
    with torch.no_grad():
        assert torch.isfinite(model(batch))


def _must_not_run(*_args: object) -> None:
    raise AssertionError("the GGUF was dequantized again instead of using the cache")


def test_upgrade_loads_a_saved_model_with_the_new_norm_fresh(tokenizer, tmp_path) -> None:
    from safetensors.torch import load_file, save_file

    model = make_model(tokenizer)
    out = model.save_pretrained(tmp_path / "m")
    kw = dict(llm=build_llm(tokenizer), tokenizer=tokenizer)
    up = LLaMo.from_pretrained(out, upgrade={"motion_update": "normed"}, **kw)
    assert up.config.motion_update == "normed"
    norm = up.motion_modules.fusion.update_norm
    assert torch.equal(norm.weight, torch.ones_like(norm.weight))  # fresh, at its init
    saved = load_file(out / "motion_modules.safetensors")
    state = up.motion_modules.state_dict()
    assert all(torch.equal(state[k], v) for k, v in saved.items())
    with pytest.raises(ValueError, match=r"upgrade: \['hidden_size'\]"):
        LLaMo.from_pretrained(out, upgrade={"hidden_size": 64}, **kw)
    # A weight the config does need is still an error, not a silently fresh module.
    del saved["projector.0.weight"]
    save_file(saved, str(out / "motion_modules.safetensors"))
    with pytest.raises(ModelFilesError, match="projector.0.weight"):
        LLaMo.from_pretrained(out, **kw)
