"""Cross Talker (LLaMo Sec. 3.3): pick the frames the question is about and fuse them.

1. Eq.1  A = softmax(Q_text K_motion^T / sqrt(d)) over valid frames, (B, L, T).
2. Eq.2  s_j = max_l A[l, j]; the top-K frames are the viewpoint frames t_k (hard top-K).
   ``text_pool="logit_max"``: s = softmax over frames of max_l (Q K^T)[l, j] / sqrt(d);
   ``"lead_logit"``: the paper's s, with the frame of the best logit raised to lead.
3. Receptive field r_k = sigmoid(MLP([F_M(t_k); CrossAttn(F_M(t_k), unselected frames)])).
4. Eq.3-4 local window attention: viewpoint k attends to frames with
   |j - t_k| <= max(1, r_k * max_window). Outside the window the weight is exactly zero (hard
   mask); inside, logits get log sigmoid(w_k - |j - t_k| + 1), a soft edge that makes the
   output differentiable w.r.t. r_k.
5. Eq.5-6 global attention over N = ceil(T / S_n) average-pooled segments.
6. Eq.7  concat local + global -> 2H; plus a sinusoidal embedding of the frame's timestamp.
7. Bidirectional cross-attention: text <- motion, then motion <- (updated) text, each with an
   FFN; doing it in this order lets the text branch shape the motion tokens the LLM reads.
   With ``motion_update="normed"`` the motion <- text update is layer-normed before it is
   added (a sandwich norm), so the frame's own features stay visible in its token.

Scorer ``"linear"`` is Eq.1 as written (one linear map per side). ``"contextual"`` first runs
the question tokens through one self-attention block (so "left", "knee" and "bent" can meet
in one query token before the max of Eq.2) and maps each frame to its key with an MLP; the
score is still Eq.1-2. ``"pose"`` is ``"contextual"`` whose key also gets a linear map of the
frame's joint angles and trunk lean (``core.llamo.pose_angles``), so a question can rank
frames by one angle and find its extreme. ``"pose_rank"`` is ``"pose"`` plus
:class:`AngleRanker`: the question picks one angle and a direction (or none), and every
frame's Eq.1 logits get that angle rescaled to [0, 1] over the clip, so the asked extreme
stands out whatever the angle's range (the "pose" key alone found it on 48% of held-out
turns, an exact ranking of the features' angle on 76%). ``"pose_event"`` is ``"pose"`` plus
:class:`EventRanker`: the question's event query meets each frame's key from a small temporal
head, a softmax over the clip's frames gives the asked event's time distribution, and its
log (gated by the question) is added to every Eq.1 logit: the scores become the product of
the "pose" scores and that distribution. ``pair_angles`` (any "pose*" scorer) adds to the key,
for each left/right pair of joints, the deeper of the two angles: "which knee bends more" is
a min over two angles, and a key linear in each one splits its scores between the two sides.
``pair_gate`` lets only the questions its :class:`PairGate` opens for read that key part, so
the others keep their scores exactly (ungated, the part moved every question, MODEL_CARD
session 17).

torch.topk is not differentiable. So that the scorer (Eq.1) still learns, each viewpoint token
is multiplied by the straight-through gate ``1 + s_k - stopgrad(s_k)``: its value is 1 (forward
unchanged) and its gradient is d loss / d s_k = <d loss / d token_k, token_k>.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from core.llamo.config import POSE_SCORERS, TEXT_POOLS, LLaMoConfig
from core.llamo.layers import Block, MultiHeadAttention, sinusoidal_embedding
from core.llamo.pose_angles import (
    KINEMATIC_DIM,
    NUM_POSE_ANGLES,
    PAIR_DIM,
    POSE_ANGLE_DIM,
    pair_angles,
    pose_angles,
    pose_kinematics,
)

TIME_SCALE = 100.0  # timestamps are embedded at 0.01 s resolution
POSE_KEY_SCALE = 10.0  # angles / pi in [0, 1] -> [0, 10]: a few degrees move the logits
RANK_SCALE_INIT = 8.0  # AngleRanker: logits the clip's extreme gains over its opposite
EVENT_DIM = 32  # EventRanker: size of the event query and of each frame's event key
EVENT_LOGP_FLOOR = 12.0  # EventRanker: a frame loses at most this many nats to the event head
EVENT_KERNEL = 5  # EventRanker: frames the head's first layer sees (0.25 s at 20 fps)
# event_mix: below this gate the question asks no event and the "pose" scores stay exact. A
# frame's share of the softmax is about 1 / T, so even a gate of 0.01 times a peaked event
# distribution outweighs it and moves the viewpoints (34 of 86 count turns, session 15).
EVENT_GATE_ON = 0.5
# pair_gate: a question reads the pair key only at or above this gate; below it, its scores
# are exactly those of the key without the pair part
PAIR_GATE_ON = 0.5
# text_pool "lead_logit": the best-logit frame's score over the clip's peak (it must lead)
LEAD_MARGIN = 1.01


@dataclass
class CrossTalkerOutput:
    """What a fusion module hands the projector; K' = min(K, T) (T for all-frames)."""

    motion_tokens: Tensor  # (B, K', 2H) Eq.7 features after the bidirectional attention
    text_tokens: Tensor  # (B, L, 2H) text updated by the motion (B, 0, 2H) for all-frames
    frame_indices: Tensor  # (B, K') long, time order, padding last
    frame_scores: Tensor  # (B, T) Eq.2 scores s_j / max_j s_j in [0, 1], masked frames 0
    viewpoint_mask: Tensor  # (B, K') bool, False for padding
    receptive_field: Tensor  # (B, K') r_k in (0, 1)
    text_attention: Tensor | None = None  # (B, L, T) Eq.1 A
    local_attention: Tensor | None = None  # (B, K', T) Eq.4 weights, mean over heads


class TimestampEmbedding(nn.Module):
    """Seconds (B, K) -> (B, K, D): sinusoids of the time in centiseconds + a linear map."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.proj = nn.Linear(dim, dim)

    def forward(self, seconds: Tensor) -> Tensor:
        emb = sinusoidal_embedding(seconds.float() * TIME_SCALE, self.proj.in_features)  # (B, K, D)
        return self.proj(emb.to(self.proj.weight.dtype))


def gather_frames(x: Tensor, index: Tensor) -> Tensor:
    """x (B, T, C), index (B, K) -> (B, K, C)."""
    return x.gather(1, index[..., None].expand(-1, -1, x.shape[-1]))


def segment_pool(motion: Tensor, frame_mask: Tensor, size: int) -> tuple[Tensor, Tensor]:
    """Eq.5 average pooling of valid frames over N = ceil(T / S_n) segments.

    Returns (segments (B, N, H), segment_mask (B, N) bool: segment holds a valid frame)."""
    b, t, h = motion.shape
    n = math.ceil(t / size)
    pad = n * size - t
    weights = F.pad(frame_mask.to(motion.dtype), (0, pad)).view(b, n, size, 1)  # (B, N, S, 1)
    x = F.pad(motion, (0, 0, 0, pad)).view(b, n, size, h)  # (B, N, S, H)
    count = weights.sum(dim=2)  # (B, N, 1)
    return (x * weights).sum(dim=2) / count.clamp_min(1.0), count[..., 0] > 0


def spread_topk(scores: Tensor, frame_mask: Tensor, k: int, gap: int) -> Tensor:
    """Greedy top-k that first skips frames within ``gap`` of an earlier pick.

    Plain Eq.2 top-K tends to pick runs of adjacent frames around one peak; a coach wants
    distinct moments. Frames near a pick are only demoted, so when the valid frames run out
    of spread the remaining best ones still fill the K slots. Returns (B, k) indices.
    """
    b, t = scores.shape
    frames = torch.arange(t, device=scores.device)
    picked = torch.zeros_like(frame_mask)
    near = torch.zeros_like(frame_mask)
    out = []
    for _ in range(k):
        # Valid unsuppressed frames rank by score (in [0, 1]), then suppressed ones, then
        # masked ones; picked frames never again.
        rank = torch.where(near, scores - 2.0, scores)
        rank = rank.masked_fill(~frame_mask, -10.0).masked_fill(picked, -100.0)  # (B, T)
        idx = rank.argmax(dim=1)  # (B,)
        out.append(idx)
        picked = picked | (frames[None, :] == idx[:, None])
        near = near | ((frames[None, :] - idx[:, None]).abs() <= gap)
    return torch.stack(out, dim=1)  # (B, k)


def best_logits(logits: Tensor, text_mask: Tensor) -> Tensor:
    """Each frame's best Eq.1 logit over the valid tokens: (B, L, T) -> (B, T)."""
    low = torch.finfo(logits.dtype).min
    return logits.masked_fill(~text_mask[..., None], low).amax(dim=1)  # (B, T)


def pool_rows(logits: Tensor, text_mask: Tensor, frame_mask: Tensor, text_pool: str) -> Tensor:
    """Eq.1's logits (B, L, T) (invalid frames at the dtype's minimum) -> the rows whose max
    is Eq.2's score: "softmax_max" (and "lead_logit", before its lead is raised), each
    token's softmax over the valid frames (B, L, T), padding tokens zero; "logit_max", one
    softmax over frames of each frame's best logit over the valid tokens (B, 1, T)."""
    valid = frame_mask[:, None, :]  # (B, 1, T)
    if text_pool == "logit_max":
        best = best_logits(logits, text_mask)[:, None, :]  # (B, 1, T)
        return best.softmax(dim=-1).masked_fill(~valid, 0.0)  # (B, 1, T)
    if text_pool not in ("softmax_max", "lead_logit"):
        raise ValueError(f"text_pool: {text_pool!r} is not one of {list(TEXT_POOLS)}")
    rows = logits.softmax(dim=-1).masked_fill(~valid, 0.0)  # (B, L, T)
    return rows.masked_fill(~text_mask[..., None], 0.0)


def lead_best_logit(scores: Tensor, logits: Tensor, text_mask: Tensor) -> Tensor:
    """text_pool "lead_logit": Eq.2's scores (B, T) with the frame of the best logit over the
    valid tokens (logits (B, L, T), invalid frames at the dtype's minimum) raised to
    LEAD_MARGIN times the clip's peak: top-K selects it and the prompt puts it first, and
    every other frame keeps the paper's score (and so the spread counts read)."""
    lead = best_logits(logits, text_mask).argmax(dim=1, keepdim=True)  # (B, 1)
    peak = scores.amax(dim=1, keepdim=True)  # (B, 1)
    return scores.scatter(1, lead, peak * LEAD_MARGIN)


class QuestionEncoder(nn.Module):
    """Question token embeddings (B, L, Dt) -> contextual query features (B, L, d)."""

    def __init__(self, text_dim: int, dim: int, num_heads: int, dropout: float) -> None:
        super().__init__()
        self.proj = nn.Linear(text_dim, dim)
        self.block = Block(dim, num_heads, dropout)
        self.norm = nn.LayerNorm(dim)

    def forward(self, text: Tensor, text_mask: Tensor) -> Tensor:
        return self.norm(self.block(self.proj(text), text_mask))


def pool_question(query: Tensor, text_mask: Tensor, pool: nn.Linear) -> Tensor:
    """Attention-pool the question's tokens (so "impact" can outweigh "when is the"):
    query (B, L, d), text_mask (B, L) -> (B, d)."""
    weight = pool(query)[..., 0].float()  # (B, L)
    weight = weight.masked_fill(~text_mask, float("-inf")).softmax(dim=1)
    return (query.float() * weight[..., None]).sum(dim=1).to(query.dtype)  # (B, d)


class PairGate(nn.Module):
    """``LLaMoConfig.pair_gate``: whether a question reads the pair key, "which elbow bends
    more" does and "when is impact" does not: query (B, L, d), text_mask (B, L) -> gate (B, 1)
    in (0, 1). ``train.grounding`` fits it to the comparison questions (``PAIR_QTYPES``)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.pool = nn.Linear(dim, 1)
        self.gate = nn.Linear(dim, 1)

    def forward(self, query: Tensor, text_mask: Tensor) -> Tensor:
        return torch.sigmoid(self.gate(pool_question(query, text_mask, self.pool)).float())


class AngleRanker(nn.Module):
    """Scorer "pose_rank": a logit bias (B, T) from the one angle and direction the question
    picks (softmax over 2 directions x NUM_POSE_ANGLES + "none"), the angle rescaled to [0, 1]
    over the clip's frames where it is seen (0 elsewhere). Zero-initialised, the pick is
    uniform and the bias the same on every frame where all angles are seen. ``gate`` > 0: no
    bias for a question whose most likely angle channel is below it, so that a small share
    of the pick on an angle, times a learnt scale of ~36, cannot move the scores of a
    question about something else (it did not bring back session 8's lost event hits:
    those came from retraining the whole scorer, MODEL_CARD session 9)."""

    def __init__(self, dim: int, gate: float = 0.0) -> None:
        super().__init__()
        self.gate = gate
        self.pick = nn.Linear(dim, 2 * NUM_POSE_ANGLES + 1)
        nn.init.zeros_(self.pick.weight)
        nn.init.zeros_(self.pick.bias)
        self.log_scale = nn.Parameter(torch.tensor(math.log(RANK_SCALE_INIT)))

    def forward(
        self, query: Tensor, text_mask: Tensor, angles: Tensor, frame_mask: Tensor
    ) -> Tensor:
        """query (B, L, d), text_mask (B, L), angles (B, T, POSE_ANGLE_DIM) of
        :func:`pose_angles`, frame_mask (B, T) -> bias (B, T)."""
        w = text_mask[..., None].to(query.dtype)  # (B, L, 1)
        pooled = (query * w).sum(dim=1) / w.sum(dim=1).clamp_min(1.0)  # (B, d)
        pick = self.pick(pooled).softmax(dim=-1)  # (B, 2A + 1)
        if self.gate > 0.0:
            confident = pick[:, :-1].amax(dim=-1, keepdim=True) >= self.gate  # (B, 1)
            pick = pick * confident
        value, seen = angles.float().split(NUM_POSE_ANGLES, dim=-1)  # (B, T, A) each
        ok = (seen > 0) & frame_mask[..., None]  # (B, T, A)
        inf = torch.tensor(float("inf"), device=value.device)
        lo = torch.where(ok, value, inf).amin(dim=1, keepdim=True)  # (B, 1, A)
        hi = torch.where(ok, value, -inf).amax(dim=1, keepdim=True)  # (B, 1, A)
        z = torch.where(ok, (value - lo) / (hi - lo).clamp_min(1e-3), 0.0)  # (B, T, A)
        none = torch.zeros_like(z[..., :1])  # (B, T, 1)
        channels = torch.cat([z, torch.where(ok, 1.0 - z, 0.0), none], dim=-1)  # (B, T, 2A + 1)
        bias = (channels * pick[:, None, :].float()).sum(dim=-1)  # (B, T)
        return (self.log_scale.exp() * bias).to(query.dtype)


class EventRanker(nn.Module):
    """Scorer "pose_event": a logit bias (B, T) from the time distribution of the event the
    question asks about.

    A temporal head maps each frame's encoder feature, joint angles and the hands' and feet's
    kinematics (``pose_kinematics``: a swing's load is where the hands are, not an angle),
    with its EVENT_KERNEL neighbours (a convolution: an event is a change, e.g. the stride's
    start), to an event key (EVENT_DIM). The question's tokens are attention-pooled (so
    "impact" can outweigh "when is the") into an event query and a gate in (0, 1) ("is this
    about an event at all").
    The bias is gate * scale * log softmax over the clip's frames of query . key (floored
    at -EVENT_LOGP_FLOOR): added to Eq.1's logits, the scores become the product of the
    "pose" scores and the event's time distribution. The head's last layer starts at zero,
    so every frame then gets the same bias and the "pose" scores are unchanged.
    ``trust`` (``LLaMoConfig.event_trust``): a linear map of the event query to the logit of
    how much ``event_mix`` trusts the head for this question, fitted after the head by
    ``train.event_trust`` (the head finds a swing's stride, the "pose" scores its contact);
    it starts at zero, a weight of 0.5."""

    def __init__(self, hidden: int, dim: int, trust: bool = False) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(hidden)
        self.conv = nn.Conv1d(hidden + POSE_ANGLE_DIM + KINEMATIC_DIM, hidden, EVENT_KERNEL,
                              padding=EVENT_KERNEL // 2)  # fmt: skip
        self.key = nn.Conv1d(hidden, EVENT_DIM, 1)
        nn.init.zeros_(self.key.weight)
        nn.init.zeros_(self.key.bias)
        self.pool = nn.Linear(dim, 1)
        self.query = nn.Linear(dim, EVENT_DIM)
        self.gate = nn.Linear(dim, 1)
        self.log_scale = nn.Parameter(torch.tensor(0.0))
        self.trust = nn.Linear(EVENT_DIM, 1) if trust else None
        if self.trust is not None:
            nn.init.zeros_(self.trust.weight)
            nn.init.zeros_(self.trust.bias)

    def event_keys(self, motion: Tensor, geometry: Tensor, frame_mask: Tensor) -> Tensor:
        """motion (B, T, H), geometry (B, T, POSE_ANGLE_DIM + KINEMATIC_DIM): the angles then
        the kinematics, frame_mask (B, T) -> (B, T, E)."""
        angles, kinematics = geometry.to(motion.dtype).split([POSE_ANGLE_DIM, KINEMATIC_DIM], -1)
        x = torch.cat([self.norm(motion), angles * POSE_KEY_SCALE, kinematics], dim=-1)
        x = x * frame_mask[..., None].to(x.dtype)  # (B, T, H + A + K)
        h = F.gelu(self.conv(x.transpose(1, 2)))  # (B, H, T)
        return self.key(h).transpose(1, 2)  # (B, T, E)

    def ask(self, query: Tensor, text_mask: Tensor) -> tuple[Tensor, Tensor]:
        """query (B, L, d), text_mask (B, L) -> event query (B, E), gate (B, 1)."""
        pooled = pool_question(query, text_mask, self.pool)  # (B, d)
        return self.query(pooled), torch.sigmoid(self.gate(pooled).float())

    def distribution(
        self, query: Tensor, text_mask: Tensor, motion: Tensor, geometry: Tensor, frame_mask: Tensor
    ) -> tuple[Tensor, Tensor]:
        """-> log p (B, T) of the asked event's time over the valid frames (float32, not
        floored: the event loss of train.grounding reads it), gate (B, 1)."""
        keys = self.event_keys(motion, geometry, frame_mask)  # (B, T, E)
        ask, gate = self.ask(query, text_mask)  # (B, E), (B, 1)
        logits = (keys @ ask[..., None])[..., 0].float() / math.sqrt(EVENT_DIM)  # (B, T)
        # finite fill: a clip whose body is never seen gets a uniform, not a NaN, distribution
        logits = logits.masked_fill(~frame_mask, -1e4)
        return logits.log_softmax(dim=1), gate

    def mix_weight(self, query: Tensor, text_mask: Tensor, gate: Tensor) -> Tensor:
        """The weight (B, 1) that ``event_mix`` scales: the trust in the head for each
        question, or its gate without ``trust``."""
        if self.trust is None:
            return gate
        ask, _ = self.ask(query, text_mask)  # (B, E)
        return torch.sigmoid(self.trust(ask).float())  # (B, 1)

    def bias(self, logp: Tensor, gate: Tensor) -> Tensor:
        """``distribution``'s log p (B, T) and gate (B, 1) -> the bias (B, T) to add to every
        question token's Eq.1 logits."""
        return self.log_scale.exp() * gate * logp.clamp_min(-EVENT_LOGP_FLOOR)


class CrossTalker(nn.Module):
    """motion (B, T, H), frame_mask (B, T), text (B, L, Dt), text_mask (B, L),
    timestamps (B, T) seconds, pose (B, T, 33, C) | None -> :class:`CrossTalkerOutput`."""

    def __init__(self, config: LLaMoConfig) -> None:
        super().__init__()
        if config.llm_hidden_size is None:
            raise ValueError("llm_hidden_size: CrossTalker needs the LLM's embedding size")
        h, d, heads, dt = (
            config.hidden_size,
            config.attn_size,
            config.num_heads,
            config.llm_hidden_size,
        )
        self.config = config
        # Eq.1 scorer: text queries, motion keys, single head of size d.
        self.text_norm = nn.LayerNorm(dt)
        self.question_encoder: QuestionEncoder | None = None
        # "pose": the angles enter the key linearly, so the query can rank frames by one
        # angle (softmax of lambda * angle peaks at its extreme) without an MLP in the way.
        posed = config.scorer in POSE_SCORERS
        self.w_pose = nn.Linear(POSE_ANGLE_DIM, d, bias=False) if posed else None
        # pair_angles: zero at first, so a trained "pose" scorer keeps its scores until the
        # new key part trains (train.grounding --train-only fusion.w_pair.)
        self.w_pair = nn.Linear(PAIR_DIM, d, bias=False) if config.pair_angles else None
        if self.w_pair is not None:
            nn.init.zeros_(self.w_pair.weight)
        self.pair_gate = PairGate(d) if config.pair_gate else None
        self.angle_rank = AngleRanker(d, config.rank_gate) if config.scorer == "pose_rank" else None
        evented = config.scorer == "pose_event"
        self.event_rank = EventRanker(h, d, config.event_trust) if evented else None
        if config.scorer in ("contextual", *POSE_SCORERS):
            self.question_encoder = QuestionEncoder(dt, d, heads, config.dropout)
            self.w_q = nn.Linear(d, d)
            self.w_k: nn.Module = nn.Sequential(
                nn.LayerNorm(h), nn.Linear(h, 2 * h), nn.GELU(), nn.Linear(2 * h, d)
            )
        else:
            self.w_q = nn.Linear(dt, d)
            self.w_k = nn.Linear(h, d)
        # Receptive field regression.
        self.rf_attn = MultiHeadAttention(h, heads, attn_dim=d, dropout=config.dropout)
        self.rf_mlp = nn.Sequential(nn.Linear(2 * h, h), nn.GELU(), nn.Linear(h, 1))
        # Eq.3-6 local and global attention.
        self.norm = nn.LayerNorm(h)
        self.local_attn = MultiHeadAttention(h, heads, dropout=config.dropout)
        self.global_norm = nn.LayerNorm(h)
        self.global_attn = MultiHeadAttention(h, heads, dropout=config.dropout)
        embed_time = config.use_timestamps and config.timestamp_mode == "embedding"
        self.time_embed = TimestampEmbedding(2 * h) if embed_time else None
        # Bidirectional motion <-> text cross-attention.
        self.text_in = nn.Linear(dt, 2 * h)
        self.text_from_motion = Block(2 * h, heads, config.dropout, context_dim=2 * h)
        self.motion_from_text = Block(2 * h, heads, config.dropout, context_dim=2 * h)
        normed = config.motion_update == "normed"
        self.update_norm = nn.LayerNorm(2 * h) if normed else None
        self.out_norm = nn.LayerNorm(2 * h)

    def frame_scores(
        self,
        motion: Tensor,
        frame_mask: Tensor,
        text: Tensor,
        text_mask: Tensor,
        pose: Tensor | None = None,
        with_event: bool = True,
    ) -> tuple[Tensor, Tensor, tuple[Tensor, Tensor] | None]:
        """Eq.1-2: the frame scores s (B, T), pooled over the question's valid tokens as
        ``config.text_pool`` says; Eq.1's A (B, L, T), softmax over valid frames of
        Q_text K_motion^T / sqrt(d); and, for the "pose_event" scorer, its event head's own
        view: log p (B, T) of the asked event's time and the gate (B, 1) (see
        :class:`EventRanker`; None for the other scorers). ``pose`` (B, T, 33, C) model
        features, needed by the "pose*" scorers. ``with_event`` False: s and A are the "pose"
        scores alone, the event head's view apart (``train.event_trust`` weighs the two)."""
        logits, event, query = self._logits(motion, frame_mask, text, text_mask, pose, with_event)
        attn = logits.softmax(dim=-1).masked_fill(~frame_mask[:, None, :], 0.0)  # (B, L, T)
        rows = pool_rows(logits, text_mask, frame_mask, self.config.text_pool)  # (B, L|1, T)
        if event is not None and self.config.event_mix > 0 and with_event:
            weight = self.event_rank.mix_weight(query, text_mask, event[1])  # (B, 1)
            attn = self._mix(attn, *event, weight, frame_mask)
            # a padding row becomes a * p, below every valid row's (1 - a) A + a * p
            rows = self._mix(rows, *event, weight, frame_mask)
        scores = rows.amax(dim=1)  # (B, T) Eq.2
        if self.config.text_pool == "lead_logit":
            scores = lead_best_logit(scores, logits, text_mask)
        return scores, attn, event

    def _logits(
        self,
        motion: Tensor,
        frame_mask: Tensor,
        text: Tensor,
        text_mask: Tensor,
        pose: Tensor | None,
        with_event: bool,
    ) -> tuple[Tensor, tuple[Tensor, Tensor] | None, Tensor]:
        """Eq.1's logits Q K^T / sqrt(d) (B, L, T), invalid frames at the dtype's minimum,
        with the "pose_rank" / "pose_event" biases; the event head's view; the question's
        query (B, L, d)."""
        query = self.question_query(text, text_mask)  # (B, L, d)
        q = self.w_q(query)  # (B, L, d)
        k = self.w_k(motion)  # (B, T, d)
        angles = None
        if self.w_pose is not None:
            angles = self._angles(pose)  # (B, T, POSE_ANGLE_DIM)
            k = k + self.w_pose(angles.to(motion.dtype) * POSE_KEY_SCALE)  # (B, T, d)
        if self.w_pair is not None:
            pairs = pair_angles(angles).to(motion.dtype)  # (B, T, PAIR_DIM)
            k_pair = self.w_pair(pairs * POSE_KEY_SCALE)  # (B, T, d)
            if self.pair_gate is not None:
                on = self.pair_gate(query, text_mask) >= PAIR_GATE_ON  # (B, 1)
                k_pair = k_pair * on[..., None].to(k_pair.dtype)
            k = k + k_pair  # (B, T, d)
        logits = q @ k.transpose(1, 2) / math.sqrt(q.shape[-1])  # (B, L, T)
        if self.angle_rank is not None:
            bias = self.angle_rank(query, text_mask, angles, frame_mask)  # (B, T)
            logits = logits + bias[:, None, :]
        event = None
        if self.event_rank is not None:
            kinematics = pose_kinematics(pose, frame_mask)  # (B, T, K)
            geometry = torch.cat([angles, kinematics], dim=-1)  # (B, T, A + K)
            event = self.event_rank.distribution(query, text_mask, motion, geometry, frame_mask)
            if self.config.event_mix == 0 and with_event:
                bias = self.event_rank.bias(*event).to(query.dtype)  # (B, T)
                logits = logits + bias[:, None, :]
        low = torch.finfo(logits.dtype).min
        return logits.masked_fill(~frame_mask[:, None, :], low), event, query

    def _mix(self, attn: Tensor, logp: Tensor, gate: Tensor, weight: Tensor, frame_mask: Tensor
             ) -> Tensor:  # fmt: skip
        """event_mix > 0: (1 - a) A + a p_event with a = event_mix * ``weight`` (the gate, or
        the trust in the head), per question, and a = 0 where the gate is below
        EVENT_GATE_ON."""
        on = (gate >= EVENT_GATE_ON).to(gate.dtype)  # (B, 1)
        a = (self.config.event_mix * weight * on)[..., None].to(attn.dtype)  # (B, 1, 1)
        p = logp.exp().masked_fill(~frame_mask, 0.0).to(attn.dtype)[:, None, :]  # (B, 1, T)
        return (1.0 - a) * attn + a * p  # (B, L, T)

    def question_query(self, text: Tensor, text_mask: Tensor) -> Tensor:
        """Eq.1's query side: text (B, L, Dt) -> (B, L, d) ("linear": (B, L, Dt))."""
        query = self.text_norm(text)  # (B, L, Dt)
        if self.question_encoder is not None:
            query = self.question_encoder(query, text_mask)  # (B, L, d)
        return query

    def _angles(self, pose: Tensor | None) -> Tensor:
        if pose is None:
            raise ValueError(f"pose: the {self.config.scorer!r} scorer needs the skeleton features")
        return pose_angles(pose)  # (B, T, POSE_ANGLE_DIM)

    def select(self, scores: Tensor, frame_mask: Tensor) -> tuple[Tensor, Tensor]:
        """Eq.2 top-K' of s_j over valid frames -> (indices (B, K') in time order, valid)."""
        t = scores.shape[1]
        k = min(self.config.num_viewpoints, t)
        gap = self.config.viewpoint_min_gap
        if gap == 0:
            index = scores.masked_fill(~frame_mask, -1.0).topk(k, dim=1).indices  # (B, K')
        else:
            index = spread_topk(scores.detach(), frame_mask, k, gap)  # (B, K')
        valid = frame_mask.gather(1, index)
        order = (index + (~valid).long() * t).argsort(dim=1)  # time order, padding last
        return index.gather(1, order), valid.gather(1, order)

    def receptive_field(
        self, normed: Tensor, query: Tensor, frame_mask: Tensor, index: Tensor, valid: Tensor
    ) -> Tensor:
        """r_k = sigmoid(MLP([F_M(t_k); attention of t_k to the unselected frames])), (B, K')."""
        chosen = torch.zeros_like(frame_mask).scatter(1, index, valid)  # (B, T)
        context, _ = self.rf_attn(query, normed, frame_mask & ~chosen)  # (B, K', H)
        return torch.sigmoid(self.rf_mlp(torch.cat([query, context], dim=-1))[..., 0])

    def local_window(
        self, normed: Tensor, query: Tensor, frame_mask: Tensor, index: Tensor, r: Tensor
    ) -> tuple[Tensor, Tensor]:
        """Eq.3-4: attention of viewpoint k within |j - t_k| <= max(1, r_k * max_window)."""
        frames = torch.arange(normed.shape[1], device=normed.device)
        # float32 so frame distances stay exact under bf16 autocast / weights
        dist = (frames[None, None, :] - index[..., None]).abs().float()  # (B, K', T)
        half = (r.float() * self.config.max_window).clamp_min(1.0)[..., None]  # (B, K', 1)
        mask = (dist <= half) & frame_mask[:, None, :]  # (B, K', T)
        soft_edge = F.logsigmoid(half - dist + 1.0)  # differentiable in r_k
        out, weights = self.local_attn(query, normed, mask, bias=soft_edge)
        return out, weights.mean(dim=1)  # (B, K', H), (B, K', T)

    def forward(
        self,
        motion: Tensor,
        frame_mask: Tensor,
        text: Tensor,
        text_mask: Tensor,
        timestamps: Tensor,
        pose: Tensor | None = None,
    ) -> CrossTalkerOutput:
        frame_mask, text_mask = frame_mask.bool(), text_mask.bool()
        text = text.to(motion.dtype)
        scores, attn, _ = self.frame_scores(motion, frame_mask, text, text_mask, pose)  # (B, T)
        index, valid = self.select(scores, frame_mask)  # (B, K')
        normed = self.norm(motion)  # (B, T, H)
        query = gather_frames(normed, index)  # (B, K', H)
        r = self.receptive_field(normed, query, frame_mask, index, valid)
        local, local_weights = self.local_window(normed, query, frame_mask, index, r)
        segments, seg_mask = segment_pool(motion, frame_mask, self.config.segment_size)
        glob, _ = self.global_attn(query, self.global_norm(segments), seg_mask)  # Eq.6
        base = gather_frames(motion, index)  # (B, K', H)
        fused = torch.cat([base + local, base + glob], dim=-1)  # (B, K', 2H) Eq.7
        if self.time_embed is not None:
            fused = fused + self.time_embed(timestamps.gather(1, index))  # seconds stay fp32
        s_k = scores.gather(1, index)  # (B, K')
        fused = fused * (1.0 + s_k - s_k.detach())[..., None]  # straight-through score gate
        text_tokens = self.text_from_motion(
            self.text_in(self.text_norm(text)), valid, context=fused
        )
        updated = self.motion_from_text(fused, text_mask, context=text_tokens)  # (B, K', 2H)
        if self.update_norm is not None:
            updated = fused + self.update_norm(updated - fused)
        fused = updated
        fused = self.out_norm(fused) * valid[..., None].to(fused.dtype)
        peak = scores.amax(dim=1, keepdim=True).clamp_min(1e-12)
        return CrossTalkerOutput(
            motion_tokens=fused,
            text_tokens=text_tokens,
            frame_indices=index,
            frame_scores=(scores / peak).clamp(0.0, 1.0),
            viewpoint_mask=valid,
            receptive_field=r,
            text_attention=attn,
            local_attention=local_weights,
        )


class AllFramesFusion(nn.Module):
    """MotionLLM / ViMoNet-style baseline: every frame becomes one token (no Cross Talker).

    motion (B, T, H), frame_mask (B, T), timestamps (B, T) -> :class:`CrossTalkerOutput`
    with K' = T, uniform scores over valid frames and no text tokens."""

    def __init__(self, config: LLaMoConfig) -> None:
        super().__init__()
        h = config.hidden_size
        self.proj = nn.Linear(h, 2 * h)
        embed_time = config.use_timestamps and config.timestamp_mode == "embedding"
        self.time_embed = TimestampEmbedding(2 * h) if embed_time else None

    def forward(self, motion: Tensor, frame_mask: Tensor, timestamps: Tensor) -> CrossTalkerOutput:
        b, t, h = motion.shape
        frame_mask = frame_mask.bool()
        tokens = self.proj(motion)  # (B, T, 2H)
        if self.time_embed is not None:
            tokens = tokens + self.time_embed(timestamps)
        tokens = tokens * frame_mask[..., None].to(tokens.dtype)
        return CrossTalkerOutput(
            motion_tokens=tokens,
            text_tokens=motion.new_zeros(b, 0, 2 * h),
            frame_indices=torch.arange(t, device=motion.device).expand(b, t),
            frame_scores=frame_mask.to(motion.dtype),
            viewpoint_mask=frame_mask,
            receptive_field=motion.new_zeros(b, t),
        )
