"""``LLaMoConfig``: every size and switch of the LLaMo modules and the LLM wrapper.

litgpt-style: a typed dataclass validated in ``__post_init__`` (errors name the field),
saved next to the weights as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from core.checks import check_keys, require_int, require_number
from core.llamo.features import FEATURE_SETS
from core.llamo.prompts import MAX_PROMPT_FACTS, PromptBudget

VIDEO_ENCODERS = ("cnn", "hf")
TIMESTAMP_MODES = ("embedding", "text")
MOTION_ENCODERS = ("grouped", "flat")
FUSIONS = ("cross_talker", "all_frames")
PROJECTORS = ("mlp2x_gelu", "linear")
STAGES = ("align", "lora")
VIEWPOINT_ORDERS = ("time", "score")
TOKEN_SCALES = ("none", "llm")
POSE_SCORERS = ("pose", "pose_rank", "pose_event")  # the scorers whose key reads the angles
SCORERS = ("linear", "contextual", *POSE_SCORERS)
MOTION_UPDATES = ("residual", "normed")
TEXT_POOLS = ("softmax_max", "logit_max", "lead_logit")


@dataclass
class LLaMoConfig:
    """Sizes follow the paper's symbols: H (hidden_size), d (attn_size, Eq.1),
    K (num_viewpoints, top-K of Eq.2), S_n (segment_size, Eq.5), r_k * max_window (Eq.3).

    ``fps`` defaults to 20: HumanML3D's rate, and a third fewer frames than 30 fps video
    for the same clip on CPU; the model wrapper resamples every motion to it.
    ``timestamp_mode="embedding"`` adds a sinusoidal time embedding to each viewpoint token;
    ``"text"`` leaves the tokens alone and the model wrapper writes the seconds as text.
    ``feature_set`` "v2": canonical facing for 3D and joint velocities (see ``features``).
    ``viewpoint_order`` "score": viewpoint tokens enter the prompt most relevant first (so
    the LLM can tell which one the question is about; each keeps its time), "time": in time
    order. ``token_scale`` "llm": every motion token is rescaled to the mean norm of the
    LLM's word embeddings (an untrained projector's tokens are often 10x larger).
    ``scorer`` "linear": Eq.1 as in the paper; "contextual": a self-attention block over the
    question and an MLP key; "pose": "contextual" with the joint angles in the key;
    "pose_rank": "pose" plus a bias that ranks the frames by the one angle (and direction) the
    question picks (see ``cross_talker``); "pose_event": "pose" plus a bias from the time
    distribution of the event the question asks about (a temporal event head).
    ``rank_gate`` (pose_rank only): that bias applies only when the pick's most likely angle
    channel has at least this probability (0: always), so questions about events or counts
    keep the "pose" scores. ``event_mix`` (pose_event only): 0 adds the event head's bias to
    Eq.1's logits (the scores become a product: the event must agree with the pose scores);
    a > 0 mixes instead, (1 - a * gate) * pose softmax + a * gate * the event distribution,
    so a frame either view is sure of can win (see MODEL_CARD, session 14); a question whose
    gate is below ``cross_talker.EVENT_GATE_ON`` keeps the "pose" scores exactly.
    ``event_trust`` (event_mix > 0 only): a replaces the gate by a trust in the event head
    read from the event query, fitted by ``train.event_trust``. ``pair_angles`` ("pose*"
    scorers): the key also gets, for each left/right pair of joints, the deeper of the two
    angles (``pose_angles.pair_angles``: "which elbow bends more"). ``pair_gate`` (needs
    pair_angles): only questions that a learnt gate (``cross_talker.PairGate``) marks as
    comparisons read that part; the others keep the key without it. ``motion_update``
    "residual": the motion <- text block of Eq.8 adds its update as is; "normed": the
    update is layer-normed first, so it cannot outgrow the frame it updates (unnormed, it
    grew to ~20x the motion and every viewpoint token became the same vector, see MODEL_CARD).
    ``text_pool`` (Eq.2, how the question's tokens make one score per frame): "softmax_max",
    the paper's, is the max over tokens of each token's softmax over frames, so a token whose
    distribution is sharp wins even where its query matches the frames less than another
    token's does; "logit_max" takes each frame's best query-key logit over the tokens, then
    one softmax over frames (MODEL_CARD, session 23); "lead_logit" keeps the paper's scores
    but raises the frame of the best logit just above the clip's peak, so it is selected and
    leads the viewpoints while the others stay the paper's.
    ``viewpoint_group_gap`` (seconds, 0: off; needs time as text): after the viewpoints, the
    prompt says how many groups their times form, a new group where two neighbouring times
    are more than this apart. The grounded scorer puts one cluster of viewpoints on each rep,
    and a 135M LLM does not count clusters of times on its own (MODEL_CARD, session 9).
    ``max_prompt_facts``: the most analytics facts lines the model's prompt gets (the app's and
    the evaluation's), the budget its training prompts had; a larger one cuts fewer lines of
    a long report (the golf phases and swing length, the slowest rep of a long set).
    ``max_prompt_moments``: after those, the most lines about the times the questions name
    ("At 1.80 s: the downswing, ..."; 0: none): set where the model was shown to read them.
    ``max_prompt_joints``: before those, the most range lines of the joints (or the trunk's
    lean) the questions name ("Left knee: 143 to 161 deg ..."; 0: none) that the facts lines
    lack. ``max_prompt_sides``: after those, the most lines saying which side bends more of
    the parts the questions compare ("The left knee bends more than the right knee: ..."; 0:
    none): set where the model was trained on them. ``max_prompt_orders``: after all those,
    the most lines saying where an event a question names lies against a time it names ("The
    finish (2.33 s) comes after 1.60 s."; 0: none): set where the model was trained on them.
    """

    hidden_size: int = 256
    attn_size: int = 128
    num_heads: int = 4
    num_viewpoints: int = 16
    viewpoint_min_gap: int = 0
    scorer: str = "linear"
    text_pool: str = "softmax_max"
    rank_gate: float = 0.0
    event_mix: float = 0.0
    event_trust: bool = False
    pair_angles: bool = False
    pair_gate: bool = False
    viewpoint_group_gap: float = 0.0
    max_prompt_facts: int = MAX_PROMPT_FACTS
    max_prompt_moments: int = 0
    max_prompt_joints: int = 0
    max_prompt_sides: int = 0
    max_prompt_orders: int = 0
    segment_size: int = 8
    max_window: int = 16
    spatial_depth: int = 2
    temporal_depth: int = 2
    enhancer_depth: int = 1
    dropout: float = 0.0
    max_frames: int = 1024
    fps: float = 20.0
    use_video: bool = False
    video_encoder: str = "cnn"
    video_model_path: str | None = None
    crop_size: int = 64
    use_timestamps: bool = True
    timestamp_mode: str = "embedding"
    motion_encoder: str = "grouped"
    fusion: str = "cross_talker"
    feature_set: str = "v1"
    viewpoint_order: str = "time"
    token_scale: str = "none"
    projector: str = "mlp2x_gelu"
    motion_update: str = "residual"
    llm: str | None = None
    llm_hidden_size: int | None = None
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")
    stage: str = "align"

    def __post_init__(self) -> None:
        self._check_sizes()
        self._check_choices()
        self._check_llm()

    # -- validation ----------------------------------------------------------------------
    def _check_sizes(self) -> None:
        positive = (
            "hidden_size", "attn_size", "num_heads", "num_viewpoints", "segment_size",
            "max_window", "spatial_depth", "temporal_depth", "max_frames", "crop_size",
        )  # fmt: skip
        for name in positive:
            require_int(name, getattr(self, name), 1)
        require_int("enhancer_depth", self.enhancer_depth, 0)
        require_int("viewpoint_min_gap", self.viewpoint_min_gap, 0)
        require_int("max_prompt_facts", self.max_prompt_facts, 1)
        require_int("max_prompt_moments", self.max_prompt_moments, 0)
        require_int("max_prompt_joints", self.max_prompt_joints, 0)
        require_int("max_prompt_sides", self.max_prompt_sides, 0)
        require_int("max_prompt_orders", self.max_prompt_orders, 0)
        for name in ("hidden_size", "attn_size"):
            if getattr(self, name) % self.num_heads:
                raise ValueError(
                    f"{name}: {getattr(self, name)} is not divisible by num_heads={self.num_heads}"
                )
        if self.hidden_size % 2:
            raise ValueError(
                f"hidden_size: must be even (sinusoidal embeddings), got {self.hidden_size}"
            )
        if self.crop_size < 16:
            raise ValueError(f"crop_size: the CNN needs at least 16 pixels, got {self.crop_size}")
        for name in ("dropout", "lora_dropout"):
            setattr(self, name, require_number(name, getattr(self, name), high=1.0, low_open=False))
        self.fps = require_number("fps", self.fps)
        self.rank_gate = require_number("rank_gate", self.rank_gate, high=1.0, low_open=False)
        self.event_mix = require_number(
            "event_mix", self.event_mix, high=1.0, low_open=False, high_open=False
        )
        if self.event_mix > 0 and self.scorer != "pose_event":
            raise ValueError(f"event_mix: needs scorer 'pose_event', got {self.scorer!r}")
        self.viewpoint_group_gap = require_number(
            "viewpoint_group_gap", self.viewpoint_group_gap, low_open=False
        )

    def _check_choices(self) -> None:
        choices = {
            "video_encoder": VIDEO_ENCODERS,
            "timestamp_mode": TIMESTAMP_MODES,
            "motion_encoder": MOTION_ENCODERS,
            "fusion": FUSIONS,
            "projector": PROJECTORS,
            "stage": STAGES,
            "feature_set": FEATURE_SETS,
            "viewpoint_order": VIEWPOINT_ORDERS,
            "token_scale": TOKEN_SCALES,
            "scorer": SCORERS,
            "text_pool": TEXT_POOLS,
            "motion_update": MOTION_UPDATES,
        }
        for name, valid in choices.items():
            if getattr(self, name) not in valid:
                raise ValueError(f"{name}: {getattr(self, name)!r} is not one of {list(valid)}")
        for name in ("use_video", "use_timestamps", "event_trust", "pair_angles", "pair_gate"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name}: must be true or false, got {getattr(self, name)!r}")
        if self.video_encoder == "hf" and self.use_video and not self.video_model_path:
            raise ValueError(
                "video_model_path: video_encoder='hf' needs a local HF vision model folder"
            )
        if self.viewpoint_group_gap and not (self.use_timestamps and self.timestamp_mode == "text"):
            raise ValueError(
                "viewpoint_group_gap: the group count is text after the viewpoints' time "
                "texts; it needs use_timestamps: true and timestamp_mode: text"
            )
        if self.pair_angles and self.scorer not in POSE_SCORERS:
            raise ValueError(f"pair_angles: needs a 'pose*' scorer, got {self.scorer!r}")
        if self.pair_gate and not self.pair_angles:
            raise ValueError("pair_gate: gates the pair angles' key part; it needs pair_angles")
        if self.event_trust and self.event_mix == 0:
            raise ValueError("event_trust: weighs event_mix; it needs event_mix > 0")
        for name in ("video_model_path", "llm"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise ValueError(f"{name}: must be None or a non-empty path string, got {value!r}")

    def _check_llm(self) -> None:
        if self.llm_hidden_size is not None:
            require_int("llm_hidden_size", self.llm_hidden_size, 1)
        require_int("lora_r", self.lora_r, 1)
        require_int("lora_alpha", self.lora_alpha, 1)
        modules = self.lora_target_modules
        if isinstance(modules, str) or not isinstance(modules, (list, tuple)) or not modules:
            raise ValueError(
                f"lora_target_modules: must be a non-empty list of names, got {modules!r}"
            )
        if not all(isinstance(m, str) and m for m in modules):
            raise ValueError(
                f"lora_target_modules: every entry must be a non-empty string, got {modules!r}"
            )
        self.lora_target_modules = tuple(modules)

    @property
    def prompt_budget(self) -> PromptBudget:
        """The facts block's budgets this model gets (``max_prompt_*``)."""
        return budget_of(vars(self))

    # -- I/O -------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """Plain JSON-ready dict (tuples become lists)."""
        out = asdict(self)
        out["lora_target_modules"] = list(self.lora_target_modules)
        return out

    def to_json(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return path

    @classmethod
    def from_dict(cls, data: dict) -> LLaMoConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise ``ValueError`` naming them."""
        check_keys(cls, data, "config")
        return cls(**data)

    @classmethod
    def from_json(cls, path: str | Path) -> LLaMoConfig:
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: invalid JSON at line {err.lineno}: {err.msg}") from None
        return cls.from_dict(data)


# PromptBudget's fields and the config fields that hold them
PROMPT_BUDGET_FIELDS = {"max_facts": "max_prompt_facts", "max_moments": "max_prompt_moments",
                        "max_joints": "max_prompt_joints", "max_sides": "max_prompt_sides",
                        "max_orders": "max_prompt_orders"}  # fmt: skip


def budget_of(config: Mapping[str, object]) -> PromptBudget:
    """The prompt budgets a model config's values give (a saved ``config.json``, ``vars`` of a
    config); ``LLaMoConfig``'s defaults for those it lacks (models saved before them)."""
    return PromptBudget(**{k: int(config.get(name, getattr(LLaMoConfig, name)))  # type: ignore[arg-type]
                           for k, name in PROMPT_BUDGET_FIELDS.items()})  # fmt: skip
