"""``LLaMoModules``: everything between skeleton arrays and the LLM, in one module.

motion encoder f_m -> [video encoder f_v + feature enhancer] -> Cross Talker (or the
all-frames baseline) -> projector (2H -> LLM width). The model wrapper (``core.llamo.model``)
splices ``FusionResult.tokens`` at its placeholder token, LLaVA style.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from core.llamo.config import LLaMoConfig
from core.llamo.cross_talker import AllFramesFusion, CrossTalker, CrossTalkerOutput
from core.llamo.feature_enhancer import FeatureEnhancer
from core.llamo.motion_encoder import MotionEncoder
from core.llamo.projector import build_projector
from core.llamo.video_encoder import VideoEncoder


@dataclass
class FusionResult:
    tokens: Tensor  # (B, K', Dllm) projected viewpoint tokens, ready to splice
    token_mask: Tensor  # (B, K') bool, False for padding
    frame_indices: Tensor  # (B, K') long, time order
    frame_scores: Tensor  # (B, T) in [0, 1]
    timestamps: Tensor  # (B, K') seconds of the chosen frames
    receptive_field: Tensor | None = None  # (B, K') r_k
    text_tokens: Tensor | None = None  # (B, L, Dllm) Eq.8 F_T, projected (optional use)
    fusion: CrossTalkerOutput | None = None  # the raw fusion output, for inspection


class LLaMoModules(nn.Module):
    """forward(feats (B,T,33,4), frame_mask (B,T), is_3d (B,), text_embeds (B,L,Dllm),
    text_mask (B,L), timestamps (B,T) seconds, video (B,T,3,S,S) | None) -> FusionResult."""

    def __init__(self, config: LLaMoConfig) -> None:
        super().__init__()
        if config.llm_hidden_size is None:
            raise ValueError("llm_hidden_size: set it from the LLM config before building modules")
        self.config = config
        self.motion_encoder = MotionEncoder(config)
        self.video_encoder = VideoEncoder(config) if config.use_video else None
        self.enhancer = FeatureEnhancer(config) if config.use_video else None
        if config.fusion == "cross_talker":
            self.fusion: nn.Module = CrossTalker(config)
        else:
            self.fusion = AllFramesFusion(config)
        self.projector = build_projector(
            config.projector, 2 * config.hidden_size, config.llm_hidden_size
        )

    def forward(
        self,
        feats: Tensor,
        frame_mask: Tensor,
        is_3d: Tensor,
        text_embeds: Tensor,
        text_mask: Tensor,
        timestamps: Tensor,
        video: Tensor | None = None,
    ) -> FusionResult:
        frame_mask = frame_mask.bool()
        motion = self.motion_encoder(feats, frame_mask, is_3d)  # (B, T, H)
        if video is not None and self.video_encoder is None:
            raise ValueError(
                "use_video: video frames were given but the config has use_video=False"
            )
        if self.enhancer is not None:
            video_feats = None if video is None else self.video_encoder(video, frame_mask)
            motion = self.enhancer(motion, video_feats, frame_mask)  # F~_M (B, T, H)
        if isinstance(self.fusion, CrossTalker):
            out = self.fusion(motion, frame_mask, text_embeds, text_mask, timestamps, feats)
        else:
            out = self.fusion(motion, frame_mask, timestamps)
        tokens = self.projector(out.motion_tokens) * out.viewpoint_mask[..., None].to(motion.dtype)
        return FusionResult(
            tokens=tokens,
            token_mask=out.viewpoint_mask,
            frame_indices=out.frame_indices,
            frame_scores=out.frame_scores,
            timestamps=timestamps.gather(1, out.frame_indices),
            receptive_field=out.receptive_field,
            text_tokens=self.projector(out.text_tokens),
            fusion=out,
        )


def mean_token_cosine(tokens: Tensor, mask: Tensor) -> Tensor:
    """Mean cosine between a sample's different valid tokens (0 with fewer than two).
    tokens (B, K', D), mask (B, K') bool -> (B,)."""
    unit = nn.functional.normalize(tokens.float(), dim=-1) * mask[..., None]  # (B, K', D)
    cos = unit @ unit.transpose(1, 2)  # (B, K', K'), zero rows/columns for padding
    n = mask.sum(dim=1).float()  # (B,)
    pairs = (n * (n - 1)).clamp_min(1.0)
    off = cos.sum(dim=(1, 2)) - (unit * unit).sum(dim=(1, 2))  # (B,) sum over i != j
    return off / pairs


def token_similarity(tokens: Tensor, mask: Tensor, target: float = 0.5) -> Tensor:
    """Mean over samples of max(0, :func:`mean_token_cosine` - ``target``): zero once a clip's
    viewpoint tokens differ enough. Without it training made all 16 tokens of a clip one
    vector (cosine 1.00, MODEL_CARD), so the LLM got no motion from them. -> scalar."""
    return torch.relu(mean_token_cosine(tokens, mask) - target).mean()


WORD_TEMPERATURE = 0.1  # cosine 1 -> logit 10: a token can read as a word with p near 1


def token_word_logits(tokens: Tensor, word_embeddings: Tensor) -> Tensor:
    """Cosine of every token with every word embedding, over ``WORD_TEMPERATURE``: the
    nearest word by direction, as the LLM's input layer sees it (a dot product with the
    tied output head is not: "golf"'s own embedding ranks golf 646th by dot product).
    tokens (..., D), word_embeddings (V, D) -> (..., V)."""
    unit = nn.functional.normalize(tokens.float(), dim=-1)
    words = nn.functional.normalize(word_embeddings.float(), dim=-1)
    return unit @ words.T / WORD_TEMPERATURE


def token_word_loss(
    tokens: Tensor,
    mask: Tensor,
    frame_indices: Tensor,
    word_targets: Tensor,
    word_embeddings: Tensor,
    ignore_index: int = -100,
) -> Tensor:
    """Cross-entropy of reading each viewpoint token as the words its frame should read as,
    by :func:`token_word_logits` over the LLM's whole vocabulary. The model's tokens carried
    the activity (a linear probe finds it) but the LLM did not read them; tokens that point
    like the word embeddings of "golf" or "top" are what a language model already reads.

    tokens (B, K', D) as spliced, mask (B, K') bool, frame_indices (B, K') model frames,
    word_targets (B, T, S) LLM token ids per model frame (``ignore_index``: none),
    word_embeddings (V, D) -> scalar (0 when no token has a target)."""
    b, k, s = *frame_indices.shape, word_targets.shape[-1]
    index = frame_indices[..., None].expand(b, k, s)  # (B, K', S)
    targets = word_targets.gather(1, index).masked_fill(~mask[..., None], ignore_index)
    if not (targets != ignore_index).any():
        return tokens.sum() * 0.0
    # One softmax per token, read at each of its S targets.
    logp = token_word_logits(tokens, word_embeddings).log_softmax(dim=-1)  # (B, K', V)
    known = targets != ignore_index  # (B, K', S)
    nll = -logp.gather(-1, targets.clamp_min(0))  # (B, K', S)
    return nll[known].mean()
