"""LLaMo neural modules: config, features, encoders, enhancer, Cross Talker, projector."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from core.llamo.config import LLaMoConfig
from core.llamo.cross_talker import (
    AllFramesFusion,
    CrossTalker,
    lead_best_logit,
    pool_rows,
    spread_topk,
)
from core.llamo.feature_enhancer import FeatureEnhancer
from core.llamo.features import motion_is_3d, motion_to_features
from core.llamo.fusion import LLaMoModules
from core.llamo.motion_encoder import MotionEncoder
from core.llamo.projector import build_projector
from core.llamo.video_encoder import VideoEncoder
from core.motion import Motion, Space
from core.motion_io import load_landmark_csv
from core.skeleton import SMPL22, Joint, SMPLJoint
from tests.conftest import real_path

torch.set_num_threads(1)
H, D, K, DLLM = 32, 16, 4, 64


def tiny(**kw) -> LLaMoConfig:
    base = dict(
        hidden_size=H, attn_size=D, num_heads=4, num_viewpoints=K, segment_size=3,
        max_window=4, spatial_depth=1, temporal_depth=1, enhancer_depth=1,
        max_frames=64, crop_size=16, llm_hidden_size=DLLM,
    )  # fmt: skip
    base.update(kw)
    return LLaMoConfig(**base)


def inputs(b: int = 2, t: int = 12, l_text: int = 5, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    return dict(
        feats=torch.randn(b, t, 33, 4, generator=g),
        frame_mask=torch.ones(b, t, dtype=torch.bool),
        is_3d=torch.tensor([True, False] * b)[:b],
        text_embeds=torch.randn(b, l_text, DLLM, generator=g),
        text_mask=torch.ones(b, l_text, dtype=torch.bool),
        timestamps=(torch.arange(t, dtype=torch.float32) / 20.0).expand(b, t).clone(),
    )


def finite(*tensors: torch.Tensor) -> bool:
    return all(torch.isfinite(x).all().item() for x in tensors)


# -- config ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("field", "value"),
    [("hidden_size", 0), ("attn_size", 30), ("num_heads", -1), ("num_viewpoints", 0),
     ("segment_size", 0), ("dropout", 1.5), ("fps", 0.0), ("video_encoder", "vit"),
     ("timestamp_mode", "audio"), ("motion_encoder", "gcn"), ("fusion", "concat"),
     ("projector", "qformer"), ("stage", "pretrain"), ("llm_hidden_size", 0),
     ("lora_target_modules", ()), ("use_video", "yes"), ("crop_size", 8), ("rank_gate", 1.0),
     ("viewpoint_group_gap", -0.5), ("viewpoint_group_gap", 0.5), ("event_mix", 0.5),
     ("event_trust", True), ("event_trust", "yes"), ("pair_angles", True), ("pair_angles", 1),
     ("pair_gate", True), ("pair_gate", 1), ("text_pool", "mean")],
)  # fmt: skip
def test_config_validation_names_field(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        LLaMoConfig(**{field: value})


def test_config_hf_video_needs_path() -> None:
    with pytest.raises(ValueError, match="video_model_path"):
        LLaMoConfig(use_video=True, video_encoder="hf")


def test_config_json_round_trip(tmp_path) -> None:
    config = tiny(fusion="all_frames", projector="linear", lora_target_modules=("q_proj",))
    path = config.to_json(tmp_path / "config.json")
    again = LLaMoConfig.from_json(path)
    assert again == config
    assert again.to_dict() == config.to_dict()
    assert isinstance(again.lora_target_modules, tuple)


def test_config_unknown_keys_are_named(tmp_path) -> None:
    data = LLaMoConfig().to_dict() | {"hiden_size": 3}
    with pytest.raises(ValueError, match="hiden_size"):
        LLaMoConfig.from_dict(data)


# -- features --------------------------------------------------------------------------
def _standing(t: int = 10, dims: int = 3) -> Motion:
    """A synthetic person: hips at y=1, shoulders 0.5 above, limbs jittering."""
    rng = np.random.default_rng(0)
    joints = rng.normal(0.0, 0.05, (t, 33, dims)).astype(np.float32)
    joints[:, :, 1] += 1.2
    joints[:, [Joint.LEFT_HIP, Joint.RIGHT_HIP], 1] = 1.0
    joints[:, [Joint.LEFT_SHOULDER, Joint.RIGHT_SHOULDER], 1] = 1.5
    joints[:, [Joint.LEFT_HIP, Joint.LEFT_SHOULDER], 0] = 0.1
    joints[:, [Joint.RIGHT_HIP, Joint.RIGHT_SHOULDER], 0] = -0.1
    space = Space.WORLD_METRES if dims == 3 else Space.IMAGE_NORMALIZED
    return Motion(joints, np.ones((t, 33), np.float32), 20.0, space)


def test_features_3d_and_2d() -> None:
    m3 = _standing(dims=3)
    f3, mask3 = motion_to_features(m3)
    assert f3.shape == (10, 33, 4) and f3.dtype == np.float32 and mask3.all()
    hips = 0.5 * (f3[:, Joint.LEFT_HIP, :3] + f3[:, Joint.RIGHT_HIP, :3])
    np.testing.assert_allclose(hips, 0.0, atol=1e-6)  # root-centred
    torso = np.linalg.norm(0.5 * (f3[:, 11, :3] + f3[:, 12, :3]) - hips, axis=-1)
    np.testing.assert_allclose(np.median(torso), 1.0, atol=1e-5)  # torso-scaled
    f2, mask2 = motion_to_features(_standing(dims=2))
    assert (f2[..., 2] == 0).all() and mask2.all()
    assert f2[0, Joint.LEFT_SHOULDER, 1] < 0  # image y down -> shoulders below hips flipped
    assert motion_is_3d(m3) and not motion_is_3d(_standing(dims=2))


def test_features_mask_hidden_frames_and_hips() -> None:
    m = _standing(t=8)
    vis = m.visibility.copy()
    vis[2, 11:] = 0.0  # body gone in frame 2
    vis[5, [Joint.LEFT_HIP, Joint.RIGHT_HIP]] = 0.0  # hips hidden in frame 5
    joints = m.joints.copy()
    joints[6, 0] = np.nan
    feats, mask = motion_to_features(Motion(joints, vis, m.fps, m.space))
    assert np.isfinite(feats).all()
    assert mask.tolist() == [True, True, False, True, True, True, True, True]
    # Frame 5 borrowed its root from neighbours: shoulders stay ~1 torso above it.
    assert feats[5, Joint.LEFT_SHOULDER, 1] == pytest.approx(
        feats[4, Joint.LEFT_SHOULDER, 1], abs=0.2
    )
    assert (feats[6, 0] == 0).all()


def test_velocity_is_zero_only_next_to_a_hidden_joint() -> None:
    m = _standing(t=8)
    joints = m.joints.copy()
    joints[:, Joint.LEFT_WRIST, 0] += 0.05 * np.arange(8)  # the wrist drifts steadily
    vis = m.visibility.copy()
    vis[-1, Joint.LEFT_WRIST] = 0.0  # hidden in the last frame only
    vis[3, Joint.RIGHT_WRIST] = 0.0  # hidden in a middle frame
    feats, _ = motion_to_features(Motion(joints, vis, m.fps, m.space), "v2")
    speed = np.abs(feats[..., 4:]).sum(axis=-1)  # (T, 33)
    # Zero on the hidden frame and its neighbours, never on the clip's other end.
    assert (speed[:, Joint.LEFT_WRIST] == 0).tolist() == [False] * 6 + [True] * 2
    assert (speed[:, Joint.RIGHT_WRIST] == 0).tolist() == [False, False, True, True, True] + [
        False
    ] * 3


def test_features_smpl22_input() -> None:
    rng = np.random.default_rng(1)
    joints = rng.normal(0, 0.05, (6, 22, 3)).astype(np.float32)
    joints[:, SMPLJoint.NECK, 1] += 0.5
    feats, mask = motion_to_features(
        Motion(joints, np.ones((6, 22)), 20.0, Space.WORLD_METRES, SMPL22)
    )
    assert feats.shape == (6, 33, 4) and mask.all() and np.isfinite(feats).all()


def test_features_real_squat_landmarks() -> None:
    motion = load_landmark_csv(real_path("squat_landmarks_test.csv"))
    feats, mask = motion_to_features(motion)
    assert feats.shape == (motion.num_frames, 33, 4) and np.isfinite(feats).all()
    assert mask.mean() > 0.9  # the CSV tracks 8 body joints; frames are not masked wholesale
    assert (feats[:, Joint.LEFT_ANKLE, 1] < 0).all()  # y up: ankles below the hip root
    # Root-centred features see the squat: knees near hip height in people-labelled "down"
    # frames, a good half torso below it in "up" frames.
    labels = np.array(motion.meta["columns"]["label"])
    knee_y = feats[:, Joint.LEFT_KNEE, 1]
    assert knee_y[labels == "down"].mean() > knee_y[labels == "up"].mean() + 0.4


# -- motion encoder --------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["grouped", "flat"])
def test_motion_encoder(kind: str) -> None:
    enc = MotionEncoder(tiny(motion_encoder=kind)).eval()
    x = inputs(t=9)
    x["frame_mask"][1, 6:] = False
    out = enc(x["feats"], x["frame_mask"], x["is_3d"])
    assert out.shape == (2, 9, H) and finite(out)
    # Masked frames are excluded as keys: changing them leaves valid frames untouched.
    feats2 = x["feats"].clone()
    feats2[1, 6:] += 5.0
    out2 = enc(feats2, x["frame_mask"], x["is_3d"])
    torch.testing.assert_close(out2[1, :6], out[1, :6])
    # Same features flagged 2D vs 3D give different encodings.
    flipped = enc(x["feats"], x["frame_mask"], ~x["is_3d"])
    assert not torch.allclose(flipped, out, atol=1e-4)


def test_motion_encoder_real_2d_vs_3d_features() -> None:
    enc = MotionEncoder(tiny()).eval()
    f2, m2 = motion_to_features(_standing(t=6, dims=2))
    f3, m3 = motion_to_features(_standing(t=6, dims=3))
    feats = torch.from_numpy(np.stack([f2, f3]))
    out = enc(feats, torch.from_numpy(np.stack([m2, m3])), torch.tensor([False, True]))
    assert out.shape == (2, 6, H) and finite(out)
    assert not torch.allclose(out[0], out[1], atol=1e-4)
    with pytest.raises(ValueError, match="max_frames"):
        enc(torch.zeros(1, 65, 33, 4), torch.ones(1, 65, dtype=torch.bool), torch.tensor([True]))


# -- video encoder + enhancer ----------------------------------------------------------
def test_video_encoder_cnn_and_enhancer() -> None:
    config = tiny(use_video=True)
    venc, enh = VideoEncoder(config).eval(), FeatureEnhancer(config).eval()
    frames = torch.rand(2, 5, 3, 16, 16)
    mask = torch.tensor([[True] * 5, [True, True, True, False, False]])
    video = venc(frames, mask)
    assert video.shape == (2, 5, H) and finite(video) and (video[1, 3:] == 0).all()
    motion = torch.randn(2, 5, H)
    with_video, without = enh(motion, video, mask), enh(motion, None, mask)
    assert with_video.shape == without.shape == (2, 5, H) and finite(with_video, without)
    assert not torch.allclose(with_video, without)
    # The motion-only path is the motion self-attention block alone.
    torch.testing.assert_close(without, enh.layers[0].motion_self(motion, mask))


@pytest.mark.parametrize("family", ["clip", "dinov2"])
def test_video_encoder_hf_tiny_local_model(tmp_path, family: str) -> None:
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        CLIPVisionModel,
        Dinov2Config,
        Dinov2Model,
    )  # fmt: skip

    small = dict(hidden_size=24, intermediate_size=48, num_hidden_layers=1,
                 num_attention_heads=2, image_size=32, patch_size=8)  # fmt: skip
    if family == "clip":
        CLIPVisionModel(CLIPVisionConfig(**small)).save_pretrained(tmp_path)
        CLIPImageProcessor(image_mean=[0.4, 0.4, 0.4], image_std=[0.3, 0.3, 0.3]).save_pretrained(
            tmp_path
        )
    else:
        Dinov2Model(Dinov2Config(**small)).save_pretrained(tmp_path)
    config = tiny(use_video=True, video_encoder="hf", video_model_path=str(tmp_path))
    venc = VideoEncoder(config).train()
    assert not venc.backbone.backbone.training  # frozen backbone stays in eval mode
    out = venc(torch.rand(2, 3, 3, 16, 16), torch.ones(2, 3, dtype=torch.bool))
    assert out.shape == (2, 3, H) and finite(out)
    out.sum().backward()
    trainable = [n for n, p in venc.named_parameters() if p.requires_grad]
    assert trainable and all(not n.startswith("backbone.backbone.") for n in trainable)
    assert all(p.grad is not None for p in venc.parameters() if p.requires_grad)


def test_video_encoder_hf_missing_folder(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="video_model_path"):
        VideoEncoder(tiny(use_video=True, video_encoder="hf", video_model_path=str(tmp_path)))


# -- Cross Talker ----------------------------------------------------------------------
def _talker_inputs(t: int = 10, lengths: tuple[int, ...] = (10, 7), seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    b = len(lengths)
    motion = torch.randn(b, t, H, generator=g)
    frame_mask = torch.arange(t)[None, :] < torch.tensor(lengths)[:, None]  # (B, T)
    text = torch.randn(b, 5, DLLM, generator=g)
    text_mask = torch.ones(b, 5, dtype=torch.bool)
    text_mask[0, 3:] = False
    timestamps = (torch.arange(t, dtype=torch.float32) / 20.0).expand(b, t).clone()
    return motion, frame_mask, text, text_mask, timestamps


@pytest.mark.parametrize("pool", ["softmax_max", "logit_max", "lead_logit"])
def test_cross_talker_eq2_matches_brute_force_top_k(pool: str) -> None:
    ct = CrossTalker(tiny(text_pool=pool)).eval()
    motion, frame_mask, text, text_mask, ts = _talker_inputs()
    with torch.no_grad():
        out = ct(motion, frame_mask, text, text_mask, ts)
        normed = torch.nn.functional.layer_norm(
            text, (DLLM,), ct.text_norm.weight, ct.text_norm.bias
        )
        q = normed @ ct.w_q.weight.T + ct.w_q.bias  # (B, L, d)
        k = motion @ ct.w_k.weight.T + ct.w_k.bias  # (B, T, d)
    for b in range(2):
        valid = frame_mask[b].nonzero()[:, 0].tolist()
        logits = (q[b][text_mask[b]] @ k[b][valid].T).numpy() / math.sqrt(D)  # (L', T')
        if pool == "logit_max":
            best = logits.max(axis=0)  # (T',) each frame's best token
            s = np.exp(best - best.max())
            s /= s.sum()
        else:
            attn = np.exp(logits - logits.max(axis=1, keepdims=True))
            attn /= attn.sum(axis=1, keepdims=True)  # Eq.1
            s = attn.max(axis=0)  # Eq.2
            if pool == "lead_logit":  # the best logit's frame leads, the rest are Eq.2's
                s[logits.max(axis=0).argmax()] = 1.01 * s.max()
        expected = sorted(valid[i] for i in np.argsort(-s)[:K])
        assert out.frame_indices[b].tolist() == expected
        assert out.viewpoint_mask[b].all()
        scores = out.frame_scores[b]
        np.testing.assert_allclose(scores[valid].numpy(), s / s.max(), rtol=1e-5)
        assert (scores[len(valid) :] == 0).all()
    assert out.motion_tokens.shape == (2, K, 2 * H) and out.text_tokens.shape == (2, 5, 2 * H)
    assert ((out.receptive_field > 0) & (out.receptive_field < 1)).all()


def test_logit_max_follows_the_best_match_where_softmax_max_follows_the_sharpest_token() -> None:
    """The real golf_swing_dtl case in miniature (MODEL_CARD, session 23): the token " top"
    matches frame 0 best but almost as well elsewhere, another token matches frame 3 less but
    nowhere else; a padding token (masked) would win both pools if it counted."""
    logits = torch.tensor([[[5.0, 4.9, 4.8, 4.7], [0.0, 0.0, 0.0, 3.0], [0.0, 0.0, 50.0, 0.0]]])
    text_mask = torch.tensor([[True, True, False]])
    frame_mask = torch.ones(1, 4, dtype=torch.bool)
    sharp = pool_rows(logits, text_mask, frame_mask, "softmax_max").amax(dim=1)[0]  # (T,)
    best = pool_rows(logits, text_mask, frame_mask, "logit_max").amax(dim=1)[0]  # (T,)
    assert int(sharp.argmax()) == 3 and int(best.argmax()) == 0
    assert torch.isclose(best.sum(), torch.tensor(1.0))  # one distribution over the frames
    frame_mask[0, 0] = False  # a hidden frame gets no score under either pool
    logits = logits.masked_fill(~frame_mask[:, None, :], torch.finfo(logits.dtype).min)
    for pool, peak in (("softmax_max", 3), ("logit_max", 1)):
        s = pool_rows(logits, text_mask, frame_mask, pool).amax(dim=1)[0]
        assert float(s[0]) == 0.0
        assert int(s.argmax()) == peak
    with pytest.raises(ValueError, match="text_pool"):
        pool_rows(logits, text_mask, frame_mask, "mean")


def test_lead_logit_puts_the_best_match_first_and_keeps_the_papers_spread() -> None:
    """ "lead_logit": the best-logit frame leads; every other frame keeps Eq.2's score, so the
    viewpoints a count reads stay where the paper's pool puts them."""
    logits = torch.tensor([[[5.0, 4.9, 4.8, 4.7, 0.0], [0.0, 0.0, 0.0, 3.0, 2.9]]])
    text_mask = torch.ones(1, 2, dtype=torch.bool)
    frame_mask = torch.ones(1, 5, dtype=torch.bool)
    paper = pool_rows(logits, text_mask, frame_mask, "softmax_max").amax(dim=1)  # (1, T)
    led = lead_best_logit(paper, logits, text_mask)
    assert int(paper.argmax()) == 3 and int(led.argmax()) == 0
    assert float(led[0, 0]) > float(paper.max())
    assert torch.equal(led[0, 1:], paper[0, 1:])
    picks = spread_topk(led, frame_mask, 2, gap=1)[0].tolist()
    assert picks[0] == 0 and 3 in picks  # the paper's peak is still chosen


@pytest.mark.parametrize("rf_bias", [-30.0, 0.0, 30.0])
def test_cross_talker_local_window_follows_eq3(rf_bias: float) -> None:
    config = tiny(max_window=5)
    ct = CrossTalker(config).eval()
    with torch.no_grad():
        ct.rf_mlp[-1].bias.fill_(rf_bias)  # push r_k to ~0, its learned value, or ~1
    motion, frame_mask, text, text_mask, ts = _talker_inputs(t=20, lengths=(20, 13))
    with torch.no_grad():
        out = ct(motion, frame_mask, text, text_mask, ts)
    weights = out.local_attention  # (B, K', T)
    frames = torch.arange(20)
    for b in range(2):
        for k in range(out.frame_indices.shape[1]):
            t_k, r_k = out.frame_indices[b, k].item(), out.receptive_field[b, k].item()
            half = max(1.0, r_k * config.max_window)
            inside = ((frames - t_k).abs() <= half) & frame_mask[b]
            assert (weights[b, k][~inside] == 0).all()
            assert (weights[b, k][inside] > 0).all()
            assert weights[b, k].sum().item() == pytest.approx(1.0, abs=1e-5)
            if rf_bias < 0:  # r_k ~ 0: the window shrinks to the frame and its neighbours
                assert half == 1.0 and inside.sum().item() <= 3
            if rf_bias > 0:  # r_k ~ 1: the full window, max_window frames either side
                assert half == pytest.approx(config.max_window)
                assert inside.sum().item() == frame_mask[b][(frames - t_k).abs() <= 5].sum().item()
            if rf_bias == 0:  # learned r_k: a window strictly between the extremes
                assert 1.0 < half < config.max_window


@pytest.mark.parametrize(
    ("t", "lengths"),
    [(3, (3, 2)), (1, (1, 1)), (9, (9, 1)), (11, (11, 6)), (6, (6, 0))],
)
def test_cross_talker_edge_cases(t: int, lengths: tuple[int, int]) -> None:
    ct = CrossTalker(tiny()).eval()
    motion, frame_mask, text, text_mask, ts = _talker_inputs(t=t, lengths=lengths)
    with torch.no_grad():
        out = ct(motion, frame_mask, text, text_mask, ts)
    k_prime = min(K, t)
    assert out.frame_indices.shape == out.viewpoint_mask.shape == (2, k_prime)
    assert out.motion_tokens.shape == (2, k_prime, 2 * H)
    assert finite(out.motion_tokens, out.text_tokens, out.frame_scores, out.receptive_field)
    for b, n in enumerate(lengths):
        chosen = out.frame_indices[b][out.viewpoint_mask[b]]
        assert out.viewpoint_mask[b].sum().item() == min(K, n)
        assert frame_mask[b, chosen].all()  # masked frames are never selected
        assert chosen.tolist() == sorted(set(chosen.tolist()))  # time order, no repeats
        assert (out.frame_scores[b][~frame_mask[b]] == 0).all()
        assert ((out.frame_scores[b] >= 0) & (out.frame_scores[b] <= 1)).all()
        assert (out.motion_tokens[b][~out.viewpoint_mask[b]] == 0).all()


def test_timestamps_embedding_changes_tokens_only_when_enabled() -> None:
    motion, frame_mask, text, text_mask, ts = _talker_inputs()
    for use in (True, False):
        torch.manual_seed(0)
        ct = CrossTalker(tiny(use_timestamps=use)).eval()
        with torch.no_grad():
            a = ct(motion, frame_mask, text, text_mask, ts)
            b = ct(motion, frame_mask, text, text_mask, ts + 3.0)
        assert torch.equal(a.frame_indices, b.frame_indices)
        assert torch.allclose(a.motion_tokens, b.motion_tokens) is (not use)


def test_all_frames_fusion() -> None:
    fusion = AllFramesFusion(tiny(fusion="all_frames")).eval()
    motion, frame_mask, _, _, ts = _talker_inputs(t=7, lengths=(7, 4))
    out = fusion(motion, frame_mask, ts)
    assert out.motion_tokens.shape == (2, 7, 2 * H) and out.text_tokens.shape == (2, 0, 2 * H)
    assert out.frame_indices.tolist() == [list(range(7))] * 2
    assert torch.equal(out.viewpoint_mask, frame_mask)
    assert (out.motion_tokens[1, 4:] == 0).all() and finite(out.motion_tokens)


# -- projector + bundle ----------------------------------------------------------------
def test_build_projector() -> None:
    x = torch.randn(2, 3, 2 * H)
    for kind in ("linear", "mlp2x_gelu"):
        assert build_projector(kind, 2 * H, DLLM)(x).shape == (2, 3, DLLM)
    assert isinstance(build_projector("linear", 4, 8), torch.nn.Linear)
    with pytest.raises(ValueError, match="qformer"):
        build_projector("qformer", 4, 8)


@pytest.mark.parametrize(
    "overrides",
    [dict(use_video=True), dict(fusion="all_frames", projector="linear", motion_encoder="flat")],
)
def test_gradients_reach_every_parameter(overrides: dict) -> None:
    torch.manual_seed(0)
    modules = LLaMoModules(tiny(**overrides)).train()
    x = inputs(t=10)
    x["frame_mask"][1, 7:] = False
    video = torch.rand(2, 10, 3, 16, 16) if overrides.get("use_video") else None
    result = modules(**x, video=video)
    # Only the spliced tokens reach the LLM, so only they carry the loss.
    (result.tokens * torch.randn_like(result.tokens)).sum().backward()
    dead = [
        n for n, p in modules.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0
    ]
    assert dead == []
    if overrides.get("fusion") != "all_frames":  # the Eq.1 scorer learns despite hard top-K
        assert modules.fusion.w_q.weight.grad.abs().sum() > 0


def test_llamo_modules_result_and_determinism() -> None:
    torch.manual_seed(0)
    modules = LLaMoModules(tiny(dropout=0.2, use_video=True))
    x = inputs(t=8)
    x["frame_mask"][0, 5:] = False
    modules.eval()
    with torch.no_grad():
        a, b = modules(**x), modules(**x)
        c = modules(**x, video=torch.rand(2, 8, 3, 16, 16))
    assert torch.equal(a.tokens, b.tokens) and torch.equal(a.frame_indices, b.frame_indices)
    assert a.tokens.shape == (2, K, DLLM) and a.token_mask.shape == (2, K)
    assert a.frame_scores.shape == (2, 8) and finite(a.tokens, c.tokens)
    torch.testing.assert_close(a.timestamps, x["timestamps"].gather(1, a.frame_indices))
    assert not torch.allclose(a.tokens, c.tokens)  # video changes the enhanced motion
    modules.train()
    with torch.no_grad():
        assert not torch.equal(modules(**x).tokens, modules(**x).tokens)  # dropout is live


def test_llamo_modules_rejects_inconsistent_setup() -> None:
    with pytest.raises(ValueError, match="llm_hidden_size"):
        LLaMoModules(replace(tiny(), llm_hidden_size=None))
    modules = LLaMoModules(tiny())
    with pytest.raises(ValueError, match="use_video"):
        modules(**inputs(t=4), video=torch.rand(2, 4, 3, 16, 16))


def test_viewpoint_min_gap_spreads_picks_and_still_fills_k():
    scores = torch.tensor([[0.1, 0.9, 0.95, 0.92, 0.2, 0.3, 0.8, 0.05]])
    mask = torch.ones(1, 8, dtype=torch.bool)
    mask[0, 5] = False
    first3 = spread_topk(scores, mask, 3, gap=1)[0].tolist()
    # 2 (best) suppresses its neighbours 1 and 3; then 6 (suppresses 7); then the best frame
    # outside every window is 4 (0.2), although 3 and 1 score far higher.
    assert first3 == [2, 6, 4]
    all8 = spread_topk(scores, mask, 8, gap=1)[0].tolist()
    assert sorted(all8) == list(range(8)) and all8[-1] == 5  # masked frame comes last
    assert spread_topk(scores, mask, 3, gap=0)[0].tolist() == [2, 3, 1]


def _within_clip_cosine(tokens: torch.Tensor) -> float:
    """Mean cosine between different viewpoint tokens of sample 0, tokens (B, K', C)."""
    unit = torch.nn.functional.normalize(tokens[0], dim=-1)  # (K', C)
    cos = unit @ unit.T
    return float(cos[~torch.eye(len(unit), dtype=torch.bool)].mean())


def test_normed_motion_update_keeps_the_frames_apart_when_the_update_blows_up() -> None:
    # The shipped session-4 model's motion <- text block returned an update ~20x the frame
    # features, the same for every viewpoint: all its tokens were one vector.
    torch.manual_seed(0)
    residual = CrossTalker(tiny()).eval()
    normed = CrossTalker(tiny(motion_update="normed")).eval()
    missing, unexpected = normed.load_state_dict(residual.state_dict(), strict=False)
    assert sorted(missing) == ["update_norm.bias", "update_norm.weight"] and not unexpected
    for talker in (residual, normed):
        last = talker.motion_from_text.ff.net[2]
        with torch.no_grad():
            last.bias.fill_(0.0).add_(torch.randn(last.bias.shape) * 500.0)
    motion, frame_mask, text, text_mask, ts = _talker_inputs(t=24, lengths=(24, 24))
    with torch.no_grad():
        collapsed = residual(motion, frame_mask, text, text_mask, ts).motion_tokens
        kept = normed(motion, frame_mask, text, text_mask, ts).motion_tokens
    assert _within_clip_cosine(collapsed) > 0.99
    assert _within_clip_cosine(kept) < 0.8


def test_token_similarity_is_a_hinge_on_the_clip_cosine_and_pushes_tokens_apart() -> None:
    from core.llamo.fusion import token_similarity

    same = torch.ones(1, 4, 8)
    mask = torch.ones(1, 4, dtype=torch.bool)
    assert float(token_similarity(same, mask)) == pytest.approx(0.5)  # cosine 1 - 0.5
    assert float(token_similarity(torch.eye(4, 8)[None], mask)) == 0.0  # orthogonal
    padded = torch.cat([torch.eye(2, 8), torch.ones(2, 8)])[None]  # two alike padding rows
    assert float(token_similarity(padded, torch.tensor([[True, True, False, False]]))) == 0.0
    # Minimising it alone moves a tiny model's collapsed tokens apart.
    torch.manual_seed(0)
    modules = LLaMoModules(tiny(num_viewpoints=6)).train()
    x = inputs(t=20)
    with torch.no_grad():
        modules.projector[2].bias.mul_(0.0).add_(3.0)  # the collapse: one big shared vector
    opt = torch.optim.Adam(modules.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        result = modules(**x)
        loss = token_similarity(result.tokens, result.token_mask)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert losses[0] > 0.4 and losses[-1] < 0.5 * losses[0]


def test_token_word_loss_reads_each_viewpoint_token_as_its_frames_words() -> None:
    from core.llamo.fusion import token_word_loss

    torch.manual_seed(0)
    words = torch.randn(12, 8)  # (V, D) the LLM's word embeddings
    targets = torch.full((1, 6, 2), -100)  # (B, T, S) per model frame
    targets[0, 1] = torch.tensor([3, 7])
    targets[0, 4] = torch.tensor([3, 9])
    frames = torch.tensor([[1, 4, 5]])  # (B, K') the viewpoints' frames
    mask = torch.tensor([[True, True, True]])
    right = torch.stack([words[3] + words[7], words[3] + words[9], words[0]])[None] * 4.0
    wrong = torch.stack([words[5] + words[1], words[2] + words[8], words[0]])[None] * 4.0
    low = token_word_loss(right, mask, frames, targets, words)
    assert float(low) < 0.5 * float(token_word_loss(wrong, mask, frames, targets, words))
    # Frame 5 has no target and a padded viewpoint is ignored, whatever its token.
    other = right.clone()
    other[0, 2] = 100.0
    assert float(token_word_loss(other, mask, frames, targets, words)) == pytest.approx(float(low))
    padded = torch.tensor([[True, False, True]])
    only_first = token_word_loss(right[:, :1], mask[:, :1], frames[:, :1], targets, words)
    assert float(token_word_loss(wrong.index_copy(1, torch.tensor([0]), right[:, :1]), padded,
                                 frames, targets, words)) == pytest.approx(float(only_first))  # fmt: skip
    none = torch.full_like(targets, -100)
    zero = token_word_loss(right.requires_grad_(), mask, frames, none, words)
    assert float(zero) == 0.0
    zero.backward()  # still part of the graph: a batch without targets trains as usual
