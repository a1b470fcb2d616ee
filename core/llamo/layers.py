"""Attention layers shared by the LLaMo modules: sinusoidal embeddings, masked multi-head
attention, feed-forward and pre-norm transformer blocks."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def sinusoidal_embedding(positions: Tensor, dim: int, base: float = 10000.0) -> Tensor:
    """Transformer sinusoids of (possibly fractional) positions: (...,) -> (..., dim) float32."""
    half = dim // 2
    freqs = torch.exp(
        -math.log(base) * torch.arange(half, device=positions.device, dtype=torch.float32) / half
    )
    angles = positions.float()[..., None] * freqs  # (..., dim/2)
    return torch.cat([angles.sin(), angles.cos()], dim=-1)  # (..., dim)


def masked_attention(
    q: Tensor, k: Tensor, v: Tensor, mask: Tensor, bias: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """softmax(q k^T / sqrt(d) + bias) v with boolean ``mask`` (True = may attend).

    q (B, h, Tq, dh), k/v (B, h, Tk, dh); mask and bias broadcast to (B, h, Tq, Tk).
    Masked keys get exactly zero weight; a query with no allowed key gets zero weights
    and a zero output (never NaN). Returns (out (B, h, Tq, dh), weights (B, h, Tq, Tk)).
    """
    logits = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])  # (B, h, Tq, Tk)
    if bias is not None:
        logits = logits + bias.to(logits.dtype)
    logits = logits.masked_fill(~mask, torch.finfo(logits.dtype).min)
    weights = logits.softmax(dim=-1).masked_fill(~mask, 0.0)
    weights = weights * mask.any(dim=-1, keepdim=True)  # rows without keys -> 0
    return weights @ v, weights


class MultiHeadAttention(nn.Module):
    """Multi-head (cross-)attention with masks, returning its weights for inspection."""

    def __init__(
        self,
        dim: int,
        num_heads: int,
        *,
        kv_dim: int | None = None,
        attn_dim: int | None = None,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        attn_dim = attn_dim or dim
        if attn_dim % num_heads:
            raise ValueError(f"attn_dim: {attn_dim} is not divisible by num_heads={num_heads}")
        self.num_heads = num_heads
        self.q_proj = nn.Linear(dim, attn_dim)
        self.k_proj = nn.Linear(kv_dim or dim, attn_dim)
        self.v_proj = nn.Linear(kv_dim or dim, attn_dim)
        self.o_proj = nn.Linear(attn_dim, dim)
        self.dropout = nn.Dropout(dropout)

    def _heads(self, x: Tensor) -> Tensor:
        b, t, c = x.shape
        return x.view(b, t, self.num_heads, c // self.num_heads).transpose(1, 2)  # (B, h, T, dh)

    def forward(
        self, x: Tensor, context: Tensor, mask: Tensor, bias: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """x (B, Tq, D), context (B, Tk, Dkv), mask (B, Tk) or (B, Tq, Tk) bool,
        bias (B, Tq, Tk) | None -> (out (B, Tq, D), weights (B, h, Tq, Tk))."""
        if mask.dim() == 2:
            mask = mask[:, None, :]  # (B, 1, Tk)
        q, k, v = (
            self._heads(self.q_proj(x)),
            self._heads(self.k_proj(context)),
            self._heads(self.v_proj(context)),
        )
        bias = None if bias is None else bias[:, None]  # (B, 1, Tq, Tk)
        out, weights = masked_attention(q, k, v, mask[:, None], bias)  # (B, h, Tq, dh)
        b, _, tq, _ = out.shape
        out = out.transpose(1, 2).reshape(b, tq, -1)  # (B, Tq, h * dh)
        return self.dropout(self.o_proj(out)), weights


class FeedForward(nn.Module):
    def __init__(self, dim: int, dropout: float = 0.0, mult: int = 4) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(dim, mult * dim), nn.GELU(), nn.Linear(mult * dim, dim), nn.Dropout(dropout)
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class Block(nn.Module):
    """Pre-LN transformer block; with ``context`` it is a cross-attention block."""

    def __init__(
        self, dim: int, num_heads: int, dropout: float = 0.0, context_dim: int | None = None
    ) -> None:
        super().__init__()
        self.norm_q = nn.LayerNorm(dim)
        self.norm_kv = nn.LayerNorm(context_dim) if context_dim else None
        self.attn = MultiHeadAttention(dim, num_heads, kv_dim=context_dim, dropout=dropout)
        self.norm_ff = nn.LayerNorm(dim)
        self.ff = FeedForward(dim, dropout)

    def forward(self, x: Tensor, mask: Tensor, context: Tensor | None = None) -> Tensor:
        """x (B, T, D); mask (B, Tk) bool over the keys (x itself or ``context``)."""
        q = self.norm_q(x)
        kv = q if self.norm_kv is None else self.norm_kv(context)
        x = x + self.attn(q, kv, mask)[0]
        return x + self.ff(self.norm_ff(x))
