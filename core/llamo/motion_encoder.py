"""Motion encoder f_m (LLaMo Sec. 3.2): skeleton features (B, T, 33, 4) -> (B, T, H).

"grouped" (default, MoChat-style): per frame, each joint group of ``JOINT_GROUPS`` (arms,
legs, trunk, global) is flattened and linearly embedded to one token; a spatial transformer
mixes the group tokens; their mean is the frame token; a temporal transformer mixes frames.
"flat": all joints of a frame flattened -> MLP -> the same temporal transformer.
A learned 2D/3D embedding (from ``is_3d``) is added to every token so one encoder serves both
input kinds (FiGMo's unified pose encoder). Temporal positions are sinusoidal.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from core.llamo.config import LLaMoConfig
from core.llamo.features import feature_channels
from core.llamo.layers import Block, sinusoidal_embedding
from core.skeleton import JOINT_GROUPS, NUM_JOINTS

FEATURE_CHANNELS = 4  # (x, y, z, visibility) of feature set v1, see core.llamo.features


class MotionEncoder(nn.Module):
    """f_m: (B, T, 33, 4) skeleton features -> (B, T, H) frame features."""

    def __init__(self, config: LLaMoConfig) -> None:
        super().__init__()
        self.config = config
        h = config.hidden_size
        self.channels = c = feature_channels(config.feature_set)
        self.grouped = config.motion_encoder == "grouped"
        if self.grouped:
            self.group_joints = [[int(j) for j in g] for g in JOINT_GROUPS.values()]
            self.group_embed = nn.ModuleList(nn.Linear(len(g) * c, h) for g in self.group_joints)
            self.group_pos = nn.Parameter(torch.randn(len(self.group_joints), h) * 0.02)
            self.spatial = nn.ModuleList(
                Block(h, config.num_heads, config.dropout) for _ in range(config.spatial_depth)
            )
        else:
            self.frame_embed = nn.Sequential(
                nn.Linear(NUM_JOINTS * c, h), nn.GELU(), nn.Linear(h, h)
            )
        self.dim_embed = nn.Embedding(2, h)  # learned 2D (0) / 3D (1) embedding
        self.temporal = nn.ModuleList(
            Block(h, config.num_heads, config.dropout) for _ in range(config.temporal_depth)
        )
        self.norm = nn.LayerNorm(h)

    def _frame_tokens(self, feats: Tensor, dim_emb: Tensor) -> Tensor:
        """(B, T, 33, 4) -> (B, T, H) per-frame tokens (spatial stage)."""
        b, t = feats.shape[:2]
        if not self.grouped:
            flat = feats.reshape(b, t, NUM_JOINTS * self.channels)  # (B, T, 33 * C)
            return self.frame_embed(flat) + dim_emb[:, None]
        tokens = [
            embed(feats[:, :, idx].reshape(b, t, -1))  # (B, T, H)
            for idx, embed in zip(self.group_joints, self.group_embed, strict=True)
        ]
        x = torch.stack(tokens, dim=2) + self.group_pos + dim_emb[:, None, None]  # (B, T, G, H)
        g, h = x.shape[2:]
        x = x.reshape(b * t, g, h)  # (B*T, G, H)
        all_groups = torch.ones(b * t, g, dtype=torch.bool, device=x.device)
        for block in self.spatial:
            x = block(x, all_groups)
        return x.mean(dim=1).reshape(b, t, h)  # (B, T, H)

    def forward(self, feats: Tensor, frame_mask: Tensor, is_3d: Tensor) -> Tensor:
        """feats (B, T, 33, C), frame_mask (B, T) bool, is_3d (B,) bool -> (B, T, H)."""
        b, t, j, c = feats.shape
        if (j, c) != (NUM_JOINTS, self.channels):
            raise ValueError(
                f"feats: expected (B, T, {NUM_JOINTS}, {self.channels}), got {tuple(feats.shape)}"
            )
        if t > self.config.max_frames:
            raise ValueError(
                f"max_frames: got T={t} frames, the model takes at most {self.config.max_frames}"
            )
        dtype = self.dim_embed.weight.dtype
        dim_emb = self.dim_embed(is_3d.long())  # (B, H)
        x = self._frame_tokens(feats.to(dtype), dim_emb)  # (B, T, H)
        pos = sinusoidal_embedding(torch.arange(t, device=x.device), x.shape[-1])  # (T, H)
        x = x + pos.to(dtype)
        mask = frame_mask.bool()
        for block in self.temporal:
            x = block(x, mask)
        return self.norm(x)
