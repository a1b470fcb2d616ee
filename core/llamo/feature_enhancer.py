"""Feature enhancer (LLaMo Sec. 3.2): refine motion features with video context.

Per layer: self-attention on motion, self-attention on video, then cross-attention with
motion queries over video keys/values, residual + FFN -> enhanced motion F~_M (B, T, H).
Without video, each layer runs only its motion self-attention block (+ FFN): the motion path
stays a clean temporal transformer and no video parameter is touched.
"""

from __future__ import annotations

from torch import Tensor, nn

from core.llamo.config import LLaMoConfig
from core.llamo.layers import Block


class EnhancerLayer(nn.Module):
    def __init__(self, hidden_size: int, num_heads: int, dropout: float) -> None:
        super().__init__()
        self.motion_self = Block(hidden_size, num_heads, dropout)
        self.video_self = Block(hidden_size, num_heads, dropout)
        self.motion_video = Block(hidden_size, num_heads, dropout, context_dim=hidden_size)

    def forward(
        self, motion: Tensor, video: Tensor | None, frame_mask: Tensor
    ) -> tuple[Tensor, Tensor | None]:
        motion = self.motion_self(motion, frame_mask)
        if video is None:
            return motion, None
        video = self.video_self(video, frame_mask)
        return self.motion_video(motion, frame_mask, context=video), video


class FeatureEnhancer(nn.Module):
    """(motion (B, T, H), video (B, T, H) | None, frame_mask (B, T)) -> F~_M (B, T, H)."""

    def __init__(self, config: LLaMoConfig) -> None:
        super().__init__()
        h = config.hidden_size
        self.layers = nn.ModuleList(
            EnhancerLayer(h, config.num_heads, config.dropout) for _ in range(config.enhancer_depth)
        )

    def forward(self, motion: Tensor, video: Tensor | None, frame_mask: Tensor) -> Tensor:
        if video is not None and video.shape != motion.shape:
            raise ValueError(
                f"video: expected shape {tuple(motion.shape)}, got {tuple(video.shape)}"
            )
        mask = frame_mask.bool()
        for layer in self.layers:
            motion, video = layer(motion, video, mask)
        return motion
