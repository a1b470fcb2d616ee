"""Model inputs: a ``Motion`` resampled to model frames (``MotionInput``), chat turns tokenized
with the ``<motion>`` placeholder kept as a sentinel id, and padded batches (``LLaMoBatch``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace

import numpy as np
import torch
from torch import Tensor

from core.errors import InputError
from core.llamo.config import LLaMoConfig
from core.llamo.features import motion_is_3d, motion_to_features
from core.llamo.prompts import MOTION_PLACEHOLDER, PROMPTS, clean_text
from core.motion import Motion

IGNORE_INDEX = -100  # label of every token that is not part of an answer (Eq. 11)
MOTION_TOKEN_INDEX = -200  # placeholder sentinel, like LLaVA's IMAGE_TOKEN_INDEX
MAX_QUESTION_TOKENS = 128  # language guidance of the Cross Talker (Eq. 1)
MAX_TEXT_TOKENS = 2048


# -- motion preparation ---------------------------------------------------------------------
@dataclass
class MotionInput:
    """One motion as the model sees it, and the way back to the original frames."""

    feats: np.ndarray  # (T, 33, C)
    frame_mask: np.ndarray  # (T,) bool
    is_3d: bool
    timestamps: np.ndarray  # (T,) clip seconds
    fps: float  # rate of the model frames
    source_frames: np.ndarray  # (T,) index in the original motion of each model frame
    source: Motion
    video: np.ndarray | None = None  # (T, S, S, 3) uint8, aligned with the model frames


def model_fps(motion: Motion, config: LLaMoConfig) -> float:
    """``config.fps``, lowered when the clip would exceed ``config.max_frames``."""
    if motion.duration * config.fps > config.max_frames + 0.5:
        return config.max_frames / motion.duration
    return config.fps


def prepare_motion(
    motion: Motion, config: LLaMoConfig, video: np.ndarray | None = None
) -> MotionInput:
    """Resample to the model's rate, compute features, keep the frame map back."""
    if not isinstance(motion, Motion):
        raise InputError(f"motion: expected a core.motion.Motion, got {type(motion).__name__}")
    fps = model_fps(motion, config)
    resampled = motion if abs(motion.fps - fps) < 1e-6 else motion.resample(fps)
    feats, mask = motion_to_features(resampled, config.feature_set)
    if not mask.any():
        raise InputError(
            "motion: no frame shows enough of the body (at least half the body joints "
            "visible); film the whole body and try again"
        )
    offsets = (resampled.timestamps - motion.start_time) * motion.fps
    source = np.clip(np.rint(offsets), 0, motion.num_frames - 1).astype(np.int64)  # (T,)
    if video is not None:
        video = _check_video(video, motion.num_frames)[source]  # (T, S, S, 3)
    return MotionInput(
        feats, mask, motion_is_3d(resampled), resampled.timestamps, fps, source, motion, video
    )


def _check_video(video: np.ndarray, num_frames: int) -> np.ndarray:
    video = np.asarray(video)
    if video.ndim != 4 or video.shape[-1] != 3 or video.shape[1] != video.shape[2]:
        raise InputError(f"video: expected person crops (T, S, S, 3), got {video.shape}")
    if video.shape[0] != num_frames:
        raise InputError(
            f"video: {video.shape[0]} crops for a motion of {num_frames} frames; use "
            "core.pose.video.person_crops with the same pose track"
        )
    return video


# -- text preparation -----------------------------------------------------------------------
def render(tokenizer: object, messages: list[dict[str, str]], generation_prompt: bool) -> str:
    return tokenizer.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=generation_prompt
    )


def tokenize_with_placeholder(tokenizer: object, text: str) -> list[int]:
    """Token ids of ``text`` with ``MOTION_TOKEN_INDEX`` where ``<motion>`` stood."""
    ids: list[int] = []
    for i, part in enumerate(text.split(MOTION_PLACEHOLDER)):
        if i:
            ids.append(MOTION_TOKEN_INDEX)
        if part:
            ids += tokenizer(part, add_special_tokens=False)["input_ids"]
    return ids


def tokenize_conversation(
    tokenizer: object, messages: list[dict[str, str]], *, last_only: bool = False
) -> tuple[list[int], list[int]]:
    """(ids, labels): labels copy the ids of assistant turns (their text and end-of-turn
    marker) and are ``IGNORE_INDEX`` on the system prompt, user turns and role headers;
    ``last_only`` labels only the last message (earlier answers are history)."""
    ids: list[int] = []
    labels: list[int] = []
    prev = ""
    for i, msg in enumerate(messages):
        if i == 0 and msg["role"] == "system":
            continue
        is_answer = msg["role"] == "assistant"
        next_is_answer = i + 1 < len(messages) and messages[i + 1]["role"] == "assistant"
        prompt = not is_answer and (next_is_answer or i + 1 == len(messages))
        text = render(tokenizer, messages[: i + 1], prompt)
        if not text.startswith(prev):
            raise ValueError(
                "conversations: the chat template does not render turn by turn (two human "
                f"turns in a row?); turn {i} changes the text before it"
            )
        piece = tokenize_with_placeholder(tokenizer, text[len(prev) :])
        ids += piece
        keep = is_answer and (not last_only or i == len(messages) - 1)
        labels += piece if keep else [IGNORE_INDEX] * len(piece)
        prev = text
    return ids, labels


def question_ids(tokenizer: object, questions: Sequence[str]) -> list[int]:
    """Tokens of the user's questions: the language guidance of the Cross Talker (Eq. 1)."""
    text = "\n".join(q for q in (clean_text(q) for q in questions) if q)
    text = text or PROMPTS["default_question"].format()
    return tokenizer(text, add_special_tokens=False)["input_ids"][-MAX_QUESTION_TOKENS:]


# -- batches --------------------------------------------------------------------------------
@dataclass
class LLaMoBatch:
    """Padded model input; ``input_ids`` hold ``MOTION_TOKEN_INDEX`` at the placeholder."""

    feats: Tensor  # (B, T, 33, 4)
    frame_mask: Tensor  # (B, T) bool
    is_3d: Tensor  # (B,) bool
    timestamps: Tensor  # (B, T) clip seconds
    input_ids: Tensor  # (B, L) right-padded
    attention_mask: Tensor  # (B, L) bool
    labels: Tensor  # (B, L) IGNORE_INDEX outside the answers
    text_ids: Tensor  # (B, Lq) question tokens
    text_mask: Tensor  # (B, Lq) bool
    video: Tensor | None = None  # (B, T, 3, S, S) float in [0, 1]
    motions: list[MotionInput] = field(default_factory=list)
    # (B, T, S) LLM token ids each model frame's token should read as (training only; see
    # core.llamo.fusion.token_word_loss), IGNORE_INDEX where there is none
    word_targets: Tensor | None = None

    def to(self, device: torch.device) -> LLaMoBatch:
        moved = {
            f.name: getattr(self, f.name).to(device)
            for f in fields(self)
            if isinstance(getattr(self, f.name), Tensor)
        }
        return replace(self, **moved)


def _pad(rows: Sequence[Sequence[int]], value: int) -> tuple[Tensor, Tensor]:
    """Right-pad int lists -> (values (B, L), mask (B, L) bool)."""
    length = max(1, max(len(r) for r in rows))
    out = torch.full((len(rows), length), value, dtype=torch.long)
    mask = torch.zeros(len(rows), length, dtype=torch.bool)
    for i, r in enumerate(rows):
        out[i, : len(r)] = torch.tensor(r, dtype=torch.long)
        mask[i, : len(r)] = True
    return out, mask


def _stack_motions(motions: Sequence[MotionInput]) -> dict[str, Tensor | None]:
    """Pad motions to the longest T (padding frames are masked)."""
    b, t = len(motions), max(m.feats.shape[0] for m in motions)
    feats = torch.zeros(b, t, *motions[0].feats.shape[1:])  # (B, T, 33, 4)
    mask = torch.zeros(b, t, dtype=torch.bool)
    times = torch.zeros(b, t)
    with_video = [m.video is not None for m in motions]
    if any(with_video) and not all(with_video):
        raise InputError(f"video: example {with_video.index(False)} has no video crops")
    video = None
    if all(with_video):
        sizes = {m.video.shape[1] for m in motions}
        if len(sizes) > 1:
            raise InputError(f"video: crops of different sizes {sorted(sizes)} in one batch")
        size = sizes.pop()
        video = torch.zeros(b, t, 3, size, size)  # (B, T, 3, S, S)
    for i, m in enumerate(motions):
        n = m.feats.shape[0]
        feats[i, :n] = torch.from_numpy(m.feats)
        mask[i, :n] = torch.from_numpy(m.frame_mask)
        times[i, :n] = torch.from_numpy(m.timestamps.astype(np.float32))
        if video is not None:
            crops = torch.from_numpy(np.ascontiguousarray(m.video)).permute(0, 3, 1, 2)
            video[i, :n] = crops.float() / 255.0  # (T, 3, S, S)
    is_3d = torch.tensor([m.is_3d for m in motions], dtype=torch.bool)
    return {"feats": feats, "frame_mask": mask, "timestamps": times, "is_3d": is_3d, "video": video}


def make_batch(
    motions: Sequence[MotionInput],
    ids: Sequence[list[int]],
    labels: Sequence[list[int]],
    questions: Sequence[list[int]],
    pad_id: int,
    word_targets: Sequence[np.ndarray | None] | None = None,
) -> LLaMoBatch:
    """``word_targets``: per motion, (T0, S) token ids per ORIGINAL frame, or None."""
    input_ids, attention = _pad(ids, pad_id)
    label_ids, _ = _pad(labels, IGNORE_INDEX)
    text_ids, text_mask = _pad(questions, pad_id)
    return LLaMoBatch(
        input_ids=input_ids,
        attention_mask=attention,
        labels=label_ids,
        text_ids=text_ids,
        text_mask=text_mask,
        motions=list(motions),
        word_targets=_stack_word_targets(motions, word_targets),
        **_stack_motions(motions),
    )


def _stack_word_targets(
    motions: Sequence[MotionInput], targets: Sequence[np.ndarray | None] | None
) -> Tensor | None:
    """Per-original-frame word targets mapped to model frames -> (B, T, S), or None."""
    if targets is None or all(t is None for t in targets):
        return None
    slots = {t.shape[-1] for t in targets if t is not None}
    if len(slots) > 1:
        raise ValueError(f"word_targets: different numbers of slots {sorted(slots)} in one batch")
    t_max = max(m.feats.shape[0] for m in motions)
    out = torch.full((len(motions), t_max, slots.pop()), IGNORE_INDEX, dtype=torch.long)
    for i, (m, t) in enumerate(zip(motions, targets, strict=True)):
        if t is None:
            continue
        if t.shape[0] != m.source.num_frames:
            raise ValueError(
                f"word_targets: example {i} has {t.shape[0]} frames of targets for a motion "
                f"of {m.source.num_frames}"
            )
        out[i, : len(m.source_frames)] = torch.from_numpy(t[m.source_frames].astype(np.int64))
    return out
