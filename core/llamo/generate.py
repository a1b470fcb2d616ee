"""Greedy decoding from prompt embeddings (the motion already spliced in).

Two independent paths on purpose: ``stream_text`` is a manual KV-cache loop that yields as
it goes (the app streams it), ``generate_ids`` uses transformers' ``generate``; tests check
that both give the same text.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch import Tensor, nn


def stop_ids(llm: nn.Module, tokenizer: object) -> set[int]:
    """The tokenizer's end-of-sequence id plus the ones the LLM's generation config names."""
    stop = {tokenizer.eos_token_id}
    configured = getattr(llm.generation_config, "eos_token_id", None)
    stop |= set(configured) if isinstance(configured, (list, tuple)) else {configured}
    return {int(i) for i in stop if i is not None}


def decode(tokenizer: object, ids: Sequence[int]) -> str:
    return tokenizer.decode(list(ids), skip_special_tokens=True).strip()


def greedy_tokens(
    llm: nn.Module, embeds: Tensor, max_new_tokens: int, stop: set[int]
) -> Iterator[int]:
    """Greedy decoding with the KV cache; yields token ids until a stop token."""
    out = llm(inputs_embeds=embeds, use_cache=True, logits_to_keep=1)
    for step in range(max_new_tokens):
        token = int(out.logits[0, -1].argmax())
        if token in stop:
            return
        yield token
        if step + 1 < max_new_tokens:
            ids = torch.tensor([[token]], device=embeds.device)
            out = llm(input_ids=ids, past_key_values=out.past_key_values, use_cache=True,
                      logits_to_keep=1)  # fmt: skip


def stream_text(
    llm: nn.Module, tokenizer: object, embeds: Tensor, max_new_tokens: int
) -> Iterator[tuple[int, str | None]]:
    """(token, text so far or None when it did not change) for each generated token."""
    ids: list[int] = []
    text = ""
    for token in greedy_tokens(llm, embeds, max_new_tokens, stop_ids(llm, tokenizer)):
        ids.append(token)
        new_text = decode(tokenizer, ids)
        # A trailing U+FFFD is half of a multi-byte character; wait for the rest.
        if new_text != text and not new_text.endswith("\ufffd"):
            text = new_text
            yield token, text
        else:
            yield token, None


def generate_ids(
    llm: nn.Module, tokenizer: object, embeds: Tensor, max_new_tokens: int, pad_id: int
) -> list[int]:
    """Answer token ids from transformers' greedy ``generate``, cut at the first stop token."""
    from transformers import GenerationConfig

    stop = stop_ids(llm, tokenizer)
    settings = GenerationConfig(max_new_tokens=max_new_tokens, do_sample=False, num_beams=1,
                                eos_token_id=sorted(stop), pad_token_id=pad_id)  # fmt: skip
    attention = torch.ones(embeds.shape[:2], dtype=torch.long, device=embeds.device)
    out = llm.generate(inputs_embeds=embeds, attention_mask=attention, generation_config=settings)
    ids = out[0].tolist()
    return ids[: next((i for i, t in enumerate(ids) if t in stop), len(ids))]
