"""``LLaMoConfig``: every size and switch of the LLaMo modules and the LLM wrapper.

litgpt-style: a typed dataclass validated in ``__post_init__`` (errors name the field),
saved next to the weights as JSON.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path

VIDEO_ENCODERS = ("cnn", "hf")
TIMESTAMP_MODES = ("embedding", "text")
MOTION_ENCODERS = ("grouped", "flat")
FUSIONS = ("cross_talker", "all_frames")
PROJECTORS = ("mlp2x_gelu", "linear")
STAGES = ("align", "lora")


def check_keys(cls: type, data: object, where: str) -> None:
    """Raise ``ValueError`` unless ``data`` is a mapping whose keys are fields of ``cls``."""
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a mapping, got {type(data).__name__}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{where}: unknown keys {unknown}; valid keys are {sorted(known)}")


@dataclass
class LLaMoConfig:
    """Sizes follow the paper's symbols: H (hidden_size), d (attn_size, Eq.1),
    K (num_viewpoints, top-K of Eq.2), S_n (segment_size, Eq.5), r_k * max_window (Eq.3).

    ``fps`` defaults to 20: HumanML3D's rate, and a third fewer frames than 30 fps video
    for the same clip on CPU; the model wrapper resamples every motion to it.
    ``timestamp_mode="embedding"`` adds a sinusoidal time embedding to each viewpoint token;
    ``"text"`` leaves the tokens alone and the model wrapper writes the seconds as text.
    """

    hidden_size: int = 256
    attn_size: int = 128
    num_heads: int = 4
    num_viewpoints: int = 16
    viewpoint_min_gap: int = 0
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
    projector: str = "mlp2x_gelu"
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
            _require_int(self, name, minimum=1)
        _require_int(self, "enhancer_depth", minimum=0)
        _require_int(self, "viewpoint_min_gap", minimum=0)
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
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not 0.0 <= value < 1.0
            ):
                raise ValueError(f"{name}: must be a number in [0, 1), got {value!r}")
        if (
            isinstance(self.fps, bool)
            or not isinstance(self.fps, (int, float))
            or not (math.isfinite(self.fps) and self.fps > 0)
        ):
            raise ValueError(f"fps: must be a positive number, got {self.fps!r}")
        self.fps = float(self.fps)
        self.dropout = float(self.dropout)
        self.lora_dropout = float(self.lora_dropout)

    def _check_choices(self) -> None:
        choices = {
            "video_encoder": VIDEO_ENCODERS,
            "timestamp_mode": TIMESTAMP_MODES,
            "motion_encoder": MOTION_ENCODERS,
            "fusion": FUSIONS,
            "projector": PROJECTORS,
            "stage": STAGES,
        }
        for name, valid in choices.items():
            if getattr(self, name) not in valid:
                raise ValueError(f"{name}: {getattr(self, name)!r} is not one of {list(valid)}")
        for name in ("use_video", "use_timestamps"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name}: must be true or false, got {getattr(self, name)!r}")
        if self.video_encoder == "hf" and self.use_video and not self.video_model_path:
            raise ValueError(
                "video_model_path: video_encoder='hf' needs a local HF vision model folder"
            )
        for name in ("video_model_path", "llm"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise ValueError(f"{name}: must be None or a non-empty path string, got {value!r}")

    def _check_llm(self) -> None:
        if self.llm_hidden_size is not None:
            _require_int(self, "llm_hidden_size", minimum=1)
        _require_int(self, "lora_r", minimum=1)
        _require_int(self, "lora_alpha", minimum=1)
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


def _require_int(config: LLaMoConfig, name: str, *, minimum: int) -> None:
    value = getattr(config, name)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name}: must be an integer >= {minimum}, got {value!r}")
