"""A Coach on a tiny random LLaMo (real model code, random weights) for fast tests.

The tokenizer is SmolLM2's (from the session's LLM cache, made once per test run); the LLM
is a 2-layer Llama with random weights, so answers are gibberish but every code path runs.
"""

from __future__ import annotations

import functools

from app.coach import Coach

MAX_NEW_TOKENS = 6


@functools.cache
def tiny_model():  # -> core.llamo.model.LLaMo
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from core.llamo.config import LLaMoConfig
    from core.llamo.llm import BUNDLED_CACHE_NAME, _cached_gguf, bundled_gguf
    from core.llamo.model import LLaMo

    torch.manual_seed(0)
    folder = _cached_gguf(bundled_gguf(), BUNDLED_CACHE_NAME)
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    llm = LlamaForCausalLM(
        LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128,
                    num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                    max_position_embeddings=4096, eos_token_id=tokenizer.eos_token_id)
    )  # fmt: skip
    config = LLaMoConfig(
        hidden_size=32, attn_size=16, num_heads=4, num_viewpoints=4, segment_size=3,
        max_window=4, spatial_depth=1, temporal_depth=1, enhancer_depth=1, max_frames=256,
    )  # fmt: skip
    return LLaMo.from_config(config, llm=llm, tokenizer=tokenizer, device="cpu").eval()


def tiny_coach() -> Coach:
    """A fresh Coach (own sessions and lock) sharing the one tiny model."""
    return Coach(tiny_model())
