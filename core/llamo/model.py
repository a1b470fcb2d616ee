"""LLaMo: motion modules + a causal LLM, spliced LLaVA-style at the ``<motion>`` placeholder.

The prompt text is split at ``<motion>`` and the piece is replaced by the sentinel id
``MOTION_TOKEN_INDEX`` (never embedded). At forward time the K' projected viewpoint tokens
of the Cross Talker (or the T tokens of the all-frames baseline) take its place; with
``timestamp_mode="text"`` each motion token is preceded by the embedded text "t=1.23s".

Eq. 9-11: p(X_a | X_m, X_q) = prod_i p(x_i | X_m, X_q, X_a,<i), trained with next-token
cross-entropy on the answer tokens only (labels are ``IGNORE_INDEX`` elsewhere).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from core.answer import Answer
from core.errors import InputError
from core.llamo.checkpoint import load_llamo, save_llamo
from core.llamo.config import STAGES, LLaMoConfig
from core.llamo.fusion import FusionResult, LLaMoModules, token_similarity, token_word_loss
from core.llamo.generate import decode, generate_ids, stream_text
from core.llamo.inputs import (
    IGNORE_INDEX,
    MAX_TEXT_TOKENS,
    MOTION_TOKEN_INDEX,
    LLaMoBatch,
    MotionInput,
    make_batch,
    prepare_motion,
    question_ids,
    render,
    tokenize_conversation,
    tokenize_with_placeholder,
)
from core.llamo.llm import load_llm, pick_device, prepare_tokenizer
from core.llamo.prompts import (
    build_messages,
    clean_text,
    conversation_to_messages,
    timestamp_text,
    viewpoint_groups_text,
)
from core.motion import Motion


# -- the model ------------------------------------------------------------------------------
def source_frame_index(prepared: MotionInput, model_frames: int) -> np.ndarray:
    """For each frame of the ORIGINAL motion, the nearest of the model's ``model_frames``
    resampled frames (T0,)."""
    source = prepared.source
    nearest = np.rint((source.timestamps - source.start_time) * prepared.fps)
    return np.clip(nearest, 0, model_frames - 1).astype(np.int64)


class LLaMo(nn.Module):
    """Motion modules (``motion_modules``; ``modules`` is taken by ``nn.Module.modules()``)
    + a frozen causal LLM, optionally with a peft LoRA adapter (stage "lora")."""

    def __init__(
        self,
        config: LLaMoConfig,
        llm: nn.Module,
        tokenizer: object,
        *,
        device: str | torch.device | None = None,
        llm_in_memory: bool = False,
    ) -> None:
        super().__init__()
        hidden = int(llm.config.hidden_size)
        if config.llm_hidden_size not in (None, hidden):
            raise ValueError(
                f"llm_hidden_size: config says {config.llm_hidden_size}, the LLM has {hidden}"
            )
        self.config = replace(config, llm_hidden_size=hidden)
        self._device, self.dtype = pick_device(device)
        self.tokenizer = prepare_tokenizer(tokenizer)
        self.llm_in_memory = llm_in_memory
        self.motion_modules = LLaMoModules(self.config).to(self._device)
        self.llm = llm.to(self._device, self.dtype).eval().requires_grad_(False)
        self._lora_params: list[nn.Parameter] = []
        self.set_stage(self.config.stage)

    @classmethod
    def from_config(
        cls,
        config: LLaMoConfig,
        *,
        llm: nn.Module | None = None,
        tokenizer: object | None = None,
        device: str | torch.device | None = None,
    ) -> LLaMo:
        """New model with random motion modules; the LLM is ``config.llm`` unless given."""
        if (llm is None) != (tokenizer is None):
            raise ValueError("llm/tokenizer: pass both or neither")
        given = llm is not None
        if llm is None:
            llm, tokenizer = load_llm(config.llm, device=device)
        elif _has_lora(llm):
            raise ValueError("llm: pass the base model, not one that already has LoRA layers")
        return cls(config, llm, tokenizer, device=device, llm_in_memory=given)

    @property
    def device(self) -> torch.device:
        return self._device

    # -- stages and parameters --------------------------------------------------------------
    def set_stage(self, stage: str) -> None:
        """Switch the training stage: "align" freezes the whole LLM, "lora" adds (once) and
        unfreezes its LoRA adapters. LLM base weights never train in either stage."""
        if stage not in STAGES:
            raise ValueError(f"stage: {stage!r} is not one of {list(STAGES)}")
        if stage == "lora" and not self._lora_params:
            from peft import LoraConfig, get_peft_model

            lora = LoraConfig(
                r=self.config.lora_r,
                lora_alpha=self.config.lora_alpha,
                lora_dropout=self.config.lora_dropout,
                target_modules=list(self.config.lora_target_modules),
                task_type="CAUSAL_LM",
            )
            self.llm = get_peft_model(self.llm, lora)
            self._lora_params = [p for p in self.llm.parameters() if p.requires_grad]
        for p in self._lora_params:
            p.requires_grad_(stage == "lora")
        self.config.stage = stage

    def trainable_parameters(self) -> dict[str, nn.Parameter]:
        """Name -> parameter of everything the optimizer should update."""
        return {n: p for n, p in self.named_parameters() if p.requires_grad}

    # -- data -------------------------------------------------------------------------------
    def collate(self, examples: Sequence[dict]) -> LLaMoBatch:
        """Training examples {"motion", "conversations", "video"?, "context"? (analytics
        facts for the system prompt), "last_turn_only"? (train on the last answer only)}
        -> padded batch (CPU). The last question guides the Cross Talker, as in ``answer``."""
        if not examples:
            raise ValueError("examples: need at least one example")
        motions, ids, labels, questions, words = [], [], [], [], []
        for i, ex in enumerate(examples):
            if "motion" not in ex or "conversations" not in ex:
                raise ValueError(f"examples[{i}]: needs 'motion' and 'conversations'")
            motions.append(prepare_motion(ex["motion"], self.config, ex.get("video")))
            messages = conversation_to_messages(ex["conversations"], context=ex.get("context"))
            last_only = bool(ex.get("last_turn_only", False))
            seq, lab = tokenize_conversation(self.tokenizer, messages, last_only=last_only)
            seq, lab = seq[:MAX_TEXT_TOKENS], lab[:MAX_TEXT_TOKENS]
            if all(v == IGNORE_INDEX for v in lab):
                raise ValueError(f"examples[{i}]: no 'gpt' answer (within the token limit)")
            ids.append(seq)
            labels.append(lab)
            human = [t["value"] for t in ex["conversations"] if t.get("from") == "human"]
            questions.append(question_ids(self.tokenizer, human[-1:]))
            words.append(ex.get("word_targets"))
        return make_batch(motions, ids, labels, questions, self._pad_id(), words)

    def _pad_id(self) -> int:
        pad = self.tokenizer.pad_token_id
        return int(pad if pad is not None else self.tokenizer.eos_token_id)

    # -- forward (Eq. 9-11) -----------------------------------------------------------------
    def forward(
        self,
        batch: LLaMoBatch,
        token_diversity: float = 0.0,
        token_words: float = 0.0,
        answer_loss: bool = True,
    ) -> Tensor:
        """Mean next-token cross-entropy over the answer tokens (Eq. 11), plus
        ``token_diversity`` times :func:`token_similarity` of the motion tokens and
        ``token_words`` times :func:`token_word_loss` (batches with ``word_targets``).
        ``answer_loss=False`` leaves out Eq. 11 and the LLM forward (the "words" stage)."""
        if not answer_loss and token_diversity <= 0 and token_words <= 0:
            raise ValueError("answer_loss: without it, give token_diversity or token_words > 0")
        batch = batch.to(self._device)
        fusion = self.fuse(batch)
        loss = self._answer_loss(batch, fusion) if answer_loss else fusion.tokens.sum() * 0.0
        if token_diversity > 0:
            loss = loss + token_diversity * token_similarity(fusion.tokens, fusion.token_mask)
        if token_words > 0 and batch.word_targets is not None:
            words = token_word_loss(
                fusion.tokens, fusion.token_mask, fusion.frame_indices, batch.word_targets,
                self.llm.get_input_embeddings().weight,
            )  # fmt: skip
            loss = loss + token_words * words
        return loss

    def _answer_loss(self, batch: LLaMoBatch, fusion: FusionResult) -> Tensor:
        embeds, attention, labels = self.splice(batch, fusion)
        base = self.llm.get_base_model() if hasattr(self.llm, "get_base_model") else self.llm
        if not (hasattr(base, "model") and hasattr(base, "lm_head")):
            return self.llm(inputs_embeds=embeds, attention_mask=attention, labels=labels).loss
        # The vocabulary projection only where a label is (a fifth of the FLOPs of a
        # 135M model otherwise goes to logits of prompt tokens); LoRA layers sit inside
        # ``base.model``, so they are used as in ``self.llm(...)``.
        hidden = base.model(inputs_embeds=embeds, attention_mask=attention).last_hidden_state
        target = labels[:, 1:]  # (B, L'-1) next-token labels
        keep = target != IGNORE_INDEX
        logits = base.lm_head(hidden[:, :-1][keep])  # (N, V)
        return nn.functional.cross_entropy(logits.float(), target[keep])

    def embed_tokens(self, ids: Tensor) -> Tensor:
        return self.llm.get_input_embeddings()(ids)

    def fuse(self, batch: LLaMoBatch) -> FusionResult:
        """Motion modules on the batch; the questions' embeddings guide the Cross Talker."""
        text = self.embed_tokens(batch.text_ids).float()  # (B, Lq, D)
        fusion = self.motion_modules(
            batch.feats,
            batch.frame_mask,
            batch.is_3d,
            text,
            batch.text_mask,
            batch.timestamps,
            video=batch.video,
        )
        if self.config.token_scale == "llm":
            # Same direction, the norm of an average word embedding (projector outputs start
            # an order of magnitude larger and drown the prompt).
            norm = fusion.tokens.norm(dim=-1, keepdim=True).clamp_min(1e-6)  # (B, K', 1)
            fusion.tokens = fusion.tokens * (self.embedding_norm() / norm)
        return fusion

    def embedding_norm(self) -> float:
        """Mean L2 norm of the LLM's input word embeddings (cached)."""
        if getattr(self, "_embedding_norm", None) is None:
            weight = self.llm.get_input_embeddings().weight
            self._embedding_norm = float(weight.float().norm(dim=-1).mean())
        return self._embedding_norm

    def viewpoint_order(self, fusion: FusionResult, b: int) -> Tensor:
        """Indices (K'',) of sample ``b``'s valid viewpoint tokens in prompt order."""
        valid = fusion.token_mask[b].nonzero()[:, 0]  # (K'',)
        if self.config.viewpoint_order == "time":
            return valid
        scores = fusion.frame_scores[b].gather(0, fusion.frame_indices[b][valid])  # (K'',)
        return valid[scores.argsort(descending=True, stable=True)]

    def _motion_embeds(self, fusion: FusionResult, b: int) -> Tensor:
        """(N, D) embeddings replacing the placeholder of sample ``b``."""
        order = self.viewpoint_order(fusion, b)
        tokens = fusion.tokens[b][order].to(self.dtype)  # (K'', D)
        if not (self.config.use_timestamps and self.config.timestamp_mode == "text"):
            return tokens
        pieces = []
        times = fusion.timestamps[b][order].tolist()
        texts = [timestamp_text(seconds) for seconds in times]
        for token, text in zip(tokens, texts, strict=True):
            pieces += [self._text_embeds(text), token[None]]
        gap = self.config.viewpoint_group_gap
        if gap and times:
            pieces.append(self._text_embeds(viewpoint_groups_text(times, gap)))
        return torch.cat(pieces) if pieces else tokens

    def _text_embeds(self, text: str) -> Tensor:
        """(n, D) word embeddings of a short prompt text (time stamps; cached ids)."""
        ids = _timestamp_ids(self.tokenizer, text)
        return self.embed_tokens(torch.tensor(ids, device=self._device))

    def splice(self, batch: LLaMoBatch, fusion: FusionResult) -> tuple[Tensor, Tensor, Tensor]:
        """LLaVA-style splice -> (embeds (B, L', D), attention (B, L') bool, labels (B, L'))."""
        rows, row_labels = [], []
        for b in range(batch.input_ids.shape[0]):
            keep = batch.attention_mask[b]
            ids, labels = batch.input_ids[b][keep], batch.labels[b][keep]
            where = (ids == MOTION_TOKEN_INDEX).nonzero()
            if where.numel() != 1:
                raise ValueError(f"input_ids: sample {b} needs exactly one motion placeholder")
            p = int(where[0, 0])
            motion = self._motion_embeds(fusion, b)
            rows.append(
                torch.cat([self.embed_tokens(ids[:p]), motion, self.embed_tokens(ids[p + 1 :])])
            )
            ignore = labels.new_full((motion.shape[0],), IGNORE_INDEX)
            row_labels.append(torch.cat([labels[:p], ignore, labels[p + 1 :]]))
        length = max(r.shape[0] for r in rows)
        embeds = rows[0].new_zeros(len(rows), length, rows[0].shape[-1])  # (B, L', D)
        attention = torch.zeros(len(rows), length, dtype=torch.bool, device=self._device)
        labels = torch.full((len(rows), length), IGNORE_INDEX, device=self._device)
        for b, (row, lab) in enumerate(zip(rows, row_labels, strict=True)):
            embeds[b, : row.shape[0]] = row
            attention[b, : row.shape[0]] = True
            labels[b, : row.shape[0]] = lab
        return embeds, attention, labels

    # -- answering --------------------------------------------------------------------------
    def _inference_batch(
        self,
        motion: Motion,
        question: str,
        video: np.ndarray | None,
        history: Sequence[tuple[str, str]],
        context: str | None,
    ) -> LLaMoBatch:
        if not isinstance(question, str) or not clean_text(question):
            raise InputError("question: type a question about the motion")
        prepared = prepare_motion(motion, self.config, video)
        messages = build_messages(question, history, context=context)
        ids = tokenize_with_placeholder(self.tokenizer, render(self.tokenizer, messages, True))
        # The current question alone picks the viewpoints: earlier questions would pull the
        # selection towards moments that were already answered.
        guidance = question_ids(self.tokenizer, [question])
        batch = make_batch(
            [prepared], [ids], [[IGNORE_INDEX] * len(ids)], [guidance], self._pad_id()
        )
        return batch.to(self._device)

    def _viewpoints(self, fusion: FusionResult, prepared: MotionInput) -> dict:
        """Answer fields mapped back to the ORIGINAL motion's frames and clip seconds."""
        valid = fusion.token_mask[0].cpu().numpy()
        chosen = fusion.frame_indices[0].cpu().numpy()[valid]
        frames = sorted({int(f) for f in prepared.source_frames[chosen]})
        source = prepared.source
        model_scores = fusion.frame_scores[0].float().cpu().numpy()  # (T,)
        nearest = source_frame_index(prepared, len(model_scores))  # (T0,)
        return {
            "viewpoint_frames": frames,
            "frame_scores": np.clip(model_scores[nearest], 0.0, 1.0),
            "timestamps": [float(t) for t in source.timestamps[frames]],
        }

    def _prefill(
        self,
        motion: Motion,
        question: str,
        video: np.ndarray | None,
        history: Sequence[tuple[str, str]],
        context: str | None,
    ) -> tuple[Tensor, dict]:
        """(prompt embeddings with the motion spliced in (1, L', D), viewpoint fields)."""
        batch = self._inference_batch(motion, question, video, history, context)
        fusion = self.fuse(batch)
        embeds, _, _ = self.splice(batch, fusion)
        return embeds, self._viewpoints(fusion, batch.motions[0])

    @torch.no_grad()
    def viewpoints(self, motion: Motion, question: str, *, video: np.ndarray | None = None) -> dict:
        """The viewpoint fields an answer to ``question`` carries (``viewpoint_frames``,
        ``frame_scores``, ``timestamps``), without running the LLM."""
        batch = self._inference_batch(motion, question, video, (), None)
        return self._viewpoints(self.fuse(batch), batch.motions[0])

    @torch.no_grad()
    def question_attention(self, motion: Motion, question: str) -> dict:
        """Eq.1 per question token, on the ORIGINAL motion's frames: ``tokens`` (L strings)
        and ``attention`` (L, T0), each token's softmax over frames (Cross Talker only)."""
        batch = self._inference_batch(motion, question, None, (), None)
        fusion = self.fuse(batch).fusion
        if fusion is None or fusion.text_attention is None:
            raise ValueError(f"fusion: {self.config.fusion!r} has no question attention")
        nearest = source_frame_index(batch.motions[0], fusion.text_attention.shape[-1])
        valid = batch.text_mask[0].bool()
        attn = fusion.text_attention[0][valid].float().cpu().numpy()  # (L, T)
        ids = batch.text_ids[0][valid].tolist()
        return {"tokens": [self.tokenizer.decode([i]) for i in ids], "attention": attn[:, nearest]}

    @torch.no_grad()
    def stream_answer(
        self,
        motion: Motion,
        question: str,
        *,
        video: np.ndarray | None = None,
        history: Sequence[tuple[str, str]] = (),
        max_new_tokens: int = 128,
        context: str | None = None,
    ) -> Iterator[Answer]:
        """Answers whose text grows token by token; the last one has ``done=True``."""
        if max_new_tokens < 1:
            raise ValueError(f"max_new_tokens: must be >= 1, got {max_new_tokens}")
        embeds, views = self._prefill(motion, question, video, history, context)
        ids: list[int] = []
        for token, text in stream_text(self.llm, self.tokenizer, embeds, max_new_tokens):
            ids.append(token)
            if text is not None:
                yield Answer(text, done=False, **views)
        yield Answer(decode(self.tokenizer, ids), done=True, **views)

    @torch.no_grad()
    def answer(
        self,
        motion: Motion,
        question: str,
        *,
        video: np.ndarray | None = None,
        history: Sequence[tuple[str, str]] = (),
        max_new_tokens: int = 128,
        context: str | None = None,
    ) -> Answer:
        """Greedy (deterministic) answer; ``context`` = analytics facts for the system prompt.

        Uses transformers' ``generate``, an independent path from :meth:`stream_answer`'s
        manual loop; tests check that both give the same text.
        """
        if max_new_tokens < 1:
            raise ValueError(f"max_new_tokens: must be >= 1, got {max_new_tokens}")
        embeds, views = self._prefill(motion, question, video, history, context)
        ids = generate_ids(self.llm, self.tokenizer, embeds, max_new_tokens, self._pad_id())
        return Answer(decode(self.tokenizer, ids), done=True, **views)

    # -- saving and loading (core.llamo.checkpoint) ------------------------------------------
    @property
    def has_lora(self) -> bool:
        return bool(self._lora_params)

    def save_pretrained(self, directory: str | Path, *, dtype: torch.dtype | None = None) -> Path:
        """config.json + motion_modules.safetensors (+ lora/ adapter); no pickle, no LLM."""
        return save_llamo(self, directory, dtype)

    @classmethod
    def from_pretrained(
        cls,
        directory: str | Path,
        *,
        device: str | torch.device | None = None,
        llm: nn.Module | None = None,
        tokenizer: object | None = None,
        upgrade: dict | None = None,
    ) -> LLaMo:
        """Inverse of :meth:`save_pretrained` (see ``core.llamo.checkpoint.load_llamo``)."""
        return load_llamo(
            cls, directory, device=device, llm=llm, tokenizer=tokenizer, upgrade=upgrade
        )

    def attach_lora(self, folder: Path) -> None:
        """Wrap the LLM with the saved peft adapter in ``folder`` (trainable)."""
        from peft import PeftModel

        self.llm = PeftModel.from_pretrained(self.llm, str(folder), is_trainable=True)
        self._lora_params = [p for p in self.llm.parameters() if p.requires_grad]


_TIMESTAMP_IDS: dict[tuple[int, str], list[int]] = {}


def _timestamp_ids(tokenizer: object, text: str) -> list[int]:
    """Token ids of a timestamp text, cached (the same few hundred strings recur)."""
    key = (id(tokenizer), text)
    if key not in _TIMESTAMP_IDS:
        _TIMESTAMP_IDS[key] = tokenizer(text, add_special_tokens=False)["input_ids"]
    return _TIMESTAMP_IDS[key]


def _has_lora(llm: nn.Module) -> bool:
    from peft.tuners.tuners_utils import BaseTunerLayer

    return any(isinstance(m, BaseTunerLayer) for m in llm.modules())
