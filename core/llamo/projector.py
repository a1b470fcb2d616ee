"""Projector into the LLM's embedding space, LLaVA style (``build_projector`` factory)."""

from __future__ import annotations

from torch import nn

from core.llamo.config import PROJECTORS


def build_projector(kind: str, in_dim: int, out_dim: int) -> nn.Module:
    """``linear``: one Linear; ``mlp2x_gelu``: Linear -> GELU -> Linear (LLaVA-1.5)."""
    if in_dim < 1 or out_dim < 1:
        raise ValueError(
            f"projector: dims must be positive, got in_dim={in_dim}, out_dim={out_dim}"
        )
    if kind == "linear":
        return nn.Linear(in_dim, out_dim)
    if kind == "mlp2x_gelu":
        return nn.Sequential(nn.Linear(in_dim, out_dim), nn.GELU(), nn.Linear(out_dim, out_dim))
    raise ValueError(f"projector: {kind!r} is not one of {list(PROJECTORS)}")
