"""Two-stage LLaMo training: stage "align" (LLM frozen) then stage "lora" (adds LoRA),
optionally after a "words" stage (motion modules on ``token_words`` alone, no LLM forward).

    python -m train.finetune --config train/configs/club.yaml [--init-from DIR] [--out DIR]
        [--resume [CHECKPOINT]] [--set train_data=data/club/train.jsonl --set stages.0.steps=30]
    accelerate launch --config_file train/accelerate/ddp.yaml -m train.finetune --config ...

Runs the same on one CPU, several GPUs or several machines through ``accelerate``.
``init_from`` names the starting model: ``default`` (the shipped model, the default), any
trained model folder (``runs/x/model``, a run folder, a checkpoint), or ``scratch`` (random
motion modules from ``model``). ``eval_data`` (a held-out JSONL, e.g. the one
``train.prepare`` writes) gives a validation loss at every checkpoint and at the end.
Exact resume: the data order is a pure function of (seed, step), and every checkpoint holds
the trainable weights, optimizer, scheduler and the python/numpy/torch RNG states of every
process, so a resumed run reproduces the losses of an uninterrupted one bit for bit.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import re
import shutil
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path

import numpy as np
import torch
import yaml

from core.checks import check_keys, require_int, require_number
from core.errors import InputError
from core.llamo.checkpoint import UPGRADABLE
from core.llamo.config import PROMPT_BUDGET_FIELDS, STAGES, LLaMoConfig
from core.llamo.inputs import IGNORE_INDEX
from core.model_info import read_model_info, write_model_info
from core.motion import Motion
from core.motion_io import load_motion, save_motion
from core.paths import DEFAULT_MODEL_DIR

MIXED_PRECISIONS = ("auto", "no", "bf16", "fp16")
MOTION_INPUTS = ("real", "blank")
CHECKPOINT_PREFIX = "step-"
BLANK_MOTION_FILE = "blank_motion.npz"
TRAIN_CONFIG_FILE = "train_config.yaml"
BLANK_FRAMES = 40
INIT_DEFAULT, INIT_SCRATCH = "default", "scratch"
# ``model`` keys a run starting from a trained model may change; the rest is its architecture.
INIT_OVERRIDABLE = ("llm", "stage", *UPGRADABLE)
RNG_FILE = "rng.safetensors"
# Motion modules trained on the word loss alone (core.llamo.fusion.token_word_loss): no
# LLM forward, so a step costs milliseconds instead of seconds on the CPU.
WORDS_STAGE = "words"
TRAIN_STAGES = (WORDS_STAGE, *STAGES)


# -- configuration --------------------------------------------------------------------------
@dataclass
class StageConfig:
    """One training stage: ``name`` is "align" (our modules only), "lora" (adds LoRA) or
    "words" (our modules, trained on ``token_words`` alone; see ``WORDS_STAGE``).

    ``warmup_steps`` is capped at half the stage (``effective_warmup``), so a 3-step stage
    set from the command line works with a recipe's warm-up and still reaches its peak lr.
    """

    name: str
    steps: int
    lr: float
    warmup_steps: int = 0

    def __post_init__(self) -> None:
        if self.name not in TRAIN_STAGES:
            raise ValueError(f"stages.name: {self.name!r} is not one of {list(TRAIN_STAGES)}")
        require_int("stages.steps", self.steps, 0)
        require_int("stages.warmup_steps", self.warmup_steps, 0)
        require_number("stages.lr", self.lr)
        self.lr = float(self.lr)

    @property
    def effective_warmup(self) -> int:
        return min(self.warmup_steps, self.steps // 2)


@dataclass
class TrainConfig:
    """Everything one training run needs; ``model`` holds ``LLaMoConfig`` overrides.

    Relative paths are taken from the working directory (the repo root in our commands).
    ``init_from``: "default" (the shipped model), "scratch", or a trained model folder; a
    run from a trained model keeps its architecture, so ``model`` may then only repeat its
    values (or name another ``llm`` of the same width). ``model_name`` names the result in the
    app (default: the output folder's name).
    ``motion_input: blank`` trains the text-only ablation: every motion is replaced by one
    fixed standing pose, so the model sees the question but nothing of the movement.
    """

    train_data: str
    stages: list[StageConfig]
    model: dict = field(default_factory=dict)
    init_from: str = INIT_DEFAULT
    model_name: str | None = None
    eval_data: str | None = None
    out_dir: str = "runs/default"
    batch_size: int = 4
    grad_accum: int = 1
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    min_lr_ratio: float = 0.1
    seed: int = 0
    save_every: int = 100
    keep_checkpoints: int = 2
    max_seq_len: int = 512
    num_workers: int = 0
    mixed_precision: str = "auto"
    motion_input: str = "real"
    torch_threads: int | None = None
    # Issue 10: one example per answer (see train.data.PerTurn); motion modules initialised
    # from train.grounding / train.pretrain weights and (some) kept frozen, as in the paper.
    per_turn: bool = False
    # Question type -> how many times its turns are drawn per epoch (per_turn only).
    repeat_qtypes: dict = field(default_factory=dict)
    init_motion_modules: str | None = None
    freeze_modules: list[str] = field(default_factory=list)
    # Weight of core.llamo.fusion.token_similarity in the loss (0: the answer loss alone).
    token_diversity: float = 0.0
    # Weight of core.llamo.fusion.token_word_loss: the tokens read as their frame's words
    # (train.token_words; synthetic data only).
    token_words: float = 0.0
    # With token_words: side-comparing turns also train their tokens to read as the side
    # ("left"/"right") whose asked joint each frame shows more bent (train.token_words).
    token_side_words: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.train_data, str) or not self.train_data:
            raise ValueError(f"train_data: must be a path to a JSONL file, got {self.train_data!r}")
        self.stages = [s if isinstance(s, StageConfig) else _stage(s) for s in self.stages or []]
        if not self.stages:
            raise ValueError("stages: give at least one stage (align and/or lora)")
        names = [s.name for s in self.stages]
        rest = names[1:] if names[0] == WORDS_STAGE else names
        if rest not in ([], ["align"], ["lora"], ["align", "lora"]):
            raise ValueError(
                f"stages: expected [align], [lora] or [align, lora], after an optional "
                f"[words], got {names}"
            )
        for name in ("batch_size", "grad_accum", "save_every", "max_seq_len"):
            require_int(name, getattr(self, name), 1)
        for name in ("seed", "keep_checkpoints", "num_workers"):
            require_int(name, getattr(self, name), 0)
        if self.torch_threads is not None:
            require_int("torch_threads", self.torch_threads, 1)
        require_number("max_grad_norm", self.max_grad_norm)
        for name in ("token_diversity", "token_words"):
            setattr(self, name, require_number(name, getattr(self, name), low_open=False))
        if not isinstance(self.token_side_words, bool):
            raise ValueError(
                f"token_side_words: must be true or false, got {self.token_side_words!r}"
            )
        if self.token_side_words and self.token_words == 0:
            raise ValueError("token_side_words: the side words are part of token_words; set it > 0")
        if names[0] == WORDS_STAGE and self.token_words == 0:
            raise ValueError("token_words: a words stage trains on token_words alone; set it > 0")
        for name in ("weight_decay", "min_lr_ratio"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not 0 <= value <= 1
            ):
                raise ValueError(f"{name}: must be a number in [0, 1], got {value!r}")
        if self.mixed_precision is False:  # YAML reads a bare `no` as false
            self.mixed_precision = "no"
        if self.mixed_precision not in MIXED_PRECISIONS:
            raise ValueError(
                f"mixed_precision: {self.mixed_precision!r} is not one of {list(MIXED_PRECISIONS)}"
            )
        if self.motion_input not in MOTION_INPUTS:
            raise ValueError(
                f"motion_input: {self.motion_input!r} is not one of {list(MOTION_INPUTS)}"
            )
        if not isinstance(self.model, dict):
            raise ValueError(f"model: must be a mapping of LLaMoConfig fields, got {self.model!r}")
        if not isinstance(self.init_from, str) or not self.init_from:
            raise ValueError(
                f"init_from: use 'default', 'scratch' or a model folder, got {self.init_from!r}"
            )
        if self.model_name is not None and (
            not isinstance(self.model_name, str) or not self.model_name.strip()
        ):
            raise ValueError(f"model_name: must be a non-empty name, got {self.model_name!r}")
        if not isinstance(self.per_turn, bool):
            raise ValueError(f"per_turn: must be true or false, got {self.per_turn!r}")
        self._check_repeats()
        if not isinstance(self.freeze_modules, list) or not all(
            isinstance(m, str) and m for m in self.freeze_modules
        ):
            raise ValueError(
                f"freeze_modules: must be a list of motion-module name prefixes, got {self.freeze_modules!r}"
            )
        self.llamo_config()  # validates the overrides now, not after minutes of loading

    def _check_repeats(self) -> None:
        if not isinstance(self.repeat_qtypes, dict):
            raise ValueError(
                f"repeat_qtypes: must map question types to counts, got {self.repeat_qtypes!r}"
            )
        for qtype, times in self.repeat_qtypes.items():
            require_int(f"repeat_qtypes.{qtype}", times, 1)
        if self.repeat_qtypes and not self.per_turn:
            raise ValueError("repeat_qtypes: repeats turns, so it needs per_turn: true")

    @property
    def init_dir(self) -> Path | None:
        """The starting model's folder, None for "scratch" (see ``resolve_init``)."""
        return resolve_init(self.init_from)

    @property
    def total_steps(self) -> int:
        return sum(s.steps for s in self.stages)

    def llamo_config(self, stage: str | None = None) -> LLaMoConfig:
        """The model config: defaults (or the starting model's), then ``model`` overrides
        (errors say ``model.<field>``)."""
        data = dict(self.model)
        data["stage"] = stage or model_stage(self.stages[0].name)
        init = self.init_dir
        if init is not None:
            return init_config(init, data, self.init_from)
        try:
            return LLaMoConfig.from_dict(data)
        except ValueError as err:
            raise ValueError(f"model.{err}") from None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        check_keys(cls, data, "config")
        missing = [k for k in ("train_data", "stages") if k not in data]
        if missing:
            raise ValueError(f"{missing[0]}: required but missing from the config")
        return cls(**data)

    @classmethod
    def from_yaml(cls, path: str | Path, overrides: Sequence[str] = ()) -> TrainConfig:
        """Load ``path`` and apply ``--set key.sub=value`` overrides (values parsed as YAML)."""
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"config: {path} does not exist")
        data = yaml.safe_load(path.read_text()) or {}
        for item in overrides:
            apply_override(data, item)
        return cls.from_dict(data)


def model_stage(name: str) -> str:
    """The LLaMo stage of a training stage: a words stage keeps the LLM frozen, as align."""
    return "align" if name == WORDS_STAGE else name


def resolve_init(init_from: str) -> Path | None:
    """``init_from`` -> the starting model folder (None for "scratch"). A run folder or a
    checkpoint stands for its ``model/`` subfolder."""
    if init_from == INIT_SCRATCH:
        return None
    if init_from == INIT_DEFAULT:
        path = DEFAULT_MODEL_DIR
    else:
        path = Path(init_from)
        if not (path / "config.json").is_file() and (path / "model" / "config.json").is_file():
            path = path / "model"
    if not (path / "config.json").is_file():
        raise ValueError(
            f"init_from: {init_from} is not a trained model folder (no config.json in it or in "
            f"its model/ folder); use 'default' (the shipped model), 'scratch' or a folder "
            "train.finetune wrote"
        )
    return path


def init_config(folder: Path, overrides: dict, init_from: str) -> LLaMoConfig:
    """The starting model's config; ``overrides`` may repeat its values, not change them."""
    saved = LLaMoConfig.from_json(folder / "config.json").to_dict()
    for key, value in overrides.items():
        if key not in saved:
            raise ValueError(f"model: unknown keys {[key]}; valid keys are {sorted(saved)}")
        same = _plain(value) == _plain(saved[key])
        if key not in INIT_OVERRIDABLE and not same:
            raise ValueError(
                f"model.{key}: the starting model ({init_from}) has {saved[key]!r}, the config "
                f"asks for {value!r}; remove model.{key} or start from init_from: scratch"
            )
    data = {**saved, **{k: overrides[k] for k in INIT_OVERRIDABLE if k in overrides}}
    try:
        return LLaMoConfig.from_dict(data)
    except ValueError as err:
        raise ValueError(f"model.{err}") from None


def _plain(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value


def _stage(data: object) -> StageConfig:
    check_keys(StageConfig, data, "stages")
    for key in ("name", "steps", "lr"):
        if key not in data:
            raise ValueError(f"stages.{key}: required but missing")
    return StageConfig(**data)


def apply_override(data: dict, item: str) -> None:
    """``a.b=value`` or ``stages.1.steps=5``: set a nested key; the value is parsed as YAML."""
    key, sep, raw = item.partition("=")
    if not sep or not key:
        raise ValueError(f"--set: expected KEY=VALUE, got {item!r}")
    parts = key.split(".")
    node: object = data
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ValueError(
                    f"--set {key}: {part!r} is not an index of a {len(node)}-item list"
                )
            if last:
                node[int(part)] = yaml.safe_load(raw)
            else:
                node = node[int(part)]
        elif isinstance(node, dict):
            if last:
                node[part] = yaml.safe_load(raw)
            else:
                node = node.setdefault(part, {})
        else:
            raise ValueError(f"--set {key}: {'.'.join(parts[:i])} is not a mapping or list")


# -- schedule and data order -------------------------------------------------------------------
def lr_factor(step: int, warmup: int, total: int, min_ratio: float) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay to ``min_ratio`` at ``total``."""
    if warmup and step < warmup:
        return (step + 1) / warmup
    span = max(total - warmup, 1)
    progress = min(max(step - warmup, 0) / span, 1.0)
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    """The shuffled example order of one epoch; a pure function of (seed, epoch)."""
    return np.random.default_rng([seed, epoch]).permutation(n)


def step_indices(step: int, n: int, per_step: int, seed: int) -> list[int]:
    """Example indices of optimizer step ``step`` (0-based) across all processes and
    micro-batches: the next ``per_step`` items of the concatenated epoch orders."""
    out: list[int] = []
    pos = step * per_step
    while len(out) < per_step:
        epoch, offset = divmod(pos, n)
        take = min(per_step - len(out), n - offset)
        out += epoch_order(n, seed, epoch)[offset : offset + take].tolist()
        pos += take
    return out


# -- RNG states ---------------------------------------------------------------------------------
def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def rng_state() -> dict:
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_rng_states(states: Sequence[dict], path: Path) -> Path:
    """Every process's RNG state as safetensors (plain arrays + JSON metadata, no pickle)."""
    from safetensors.torch import save_file

    tensors, meta = {}, {}
    for rank, st in enumerate(states):
        version, keys, gauss = st["python"]
        tensors[f"{rank}.python"] = torch.tensor(keys, dtype=torch.int64)  # (625,) < 2**32
        meta[f"{rank}.python"] = json.dumps([version, gauss])
        name, mt, pos, has_gauss, cached = st["numpy"]
        tensors[f"{rank}.numpy"] = torch.from_numpy(np.asarray(mt, np.int64))  # (624,)
        meta[f"{rank}.numpy"] = json.dumps([name, int(pos), int(has_gauss), float(cached)])
        tensors[f"{rank}.torch"] = st["torch"].cpu()
        for i, cuda in enumerate(st.get("cuda", [])):
            tensors[f"{rank}.cuda.{i}"] = cuda.cpu()
    meta["processes"] = str(len(states))
    save_file(tensors, str(path), metadata=meta)
    return path


def load_rng_state(checkpoint: Path, rank: int) -> dict | None:
    """Process ``rank``'s RNG state from ``checkpoint/rng.safetensors``.

    None (with a warning) for an older checkpoint holding only ``rng.pt``: that file is a
    pickle, which can run code when loaded, so it is never read.
    """
    from safetensors import SafetensorError, safe_open

    path = checkpoint / RNG_FILE
    if not path.is_file():
        if (checkpoint / "rng.pt").is_file():
            warnings.warn(
                f"{checkpoint / 'rng.pt'} is a pickle (older checkpoint format) and is not "
                "loaded; the run resumes with freshly seeded random numbers",
                stacklevel=2,
            )
            return None
        raise ValueError(f"--resume: {checkpoint} has no {RNG_FILE}; it is not a checkpoint")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta, names = f.metadata() or {}, set(f.keys())
            get = f.get_tensor
            version, gauss = json.loads(meta[f"{rank}.python"])
            name, pos, has_gauss, cached = json.loads(meta[f"{rank}.numpy"])
            state = {
                "python": (version, tuple(get(f"{rank}.python").tolist()), gauss),
                "numpy": (name, get(f"{rank}.numpy").numpy().astype(np.uint32), pos,
                          has_gauss, cached),
                "torch": get(f"{rank}.torch"),
            }  # fmt: skip
            cuda = sorted((n for n in names if n.startswith(f"{rank}.cuda.")),
                          key=lambda n: int(n.rsplit(".", 1)[1]))  # fmt: skip
            if cuda:
                state["cuda"] = [get(n) for n in cuda]
    except (SafetensorError, KeyError, ValueError, TypeError) as err:
        raise ValueError(
            f"--resume: {path} is damaged or has no state for process {rank} ({err}); "
            "resume from an earlier checkpoint"
        ) from None
    return state


# -- checkpoints ----------------------------------------------------------------------------------
@contextmanager
def atomic_dir(final: Path) -> Iterator[Path]:
    """Yield a temporary sibling of ``final``; on success it replaces ``final`` in one
    rename, on failure it is deleted, so ``final`` is never left half-written."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".tmp-{final.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
        if final.exists():
            # A rename cannot replace a non-empty directory: move the old one aside first.
            old = final.parent / f".old-{final.name}-{os.getpid()}"
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old)
        else:
            os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def remove_stale_tmp(out_dir: Path) -> list[Path]:
    """Delete ``.tmp-*``/``.old-*`` folders that ``atomic_dir`` left when a run was killed
    while saving (their writer's process id is gone); returns what was removed."""
    removed = []
    for folder in (out_dir, out_dir / "checkpoints"):
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            m = re.fullmatch(r"\.(?:tmp|old)-.+-(\d+)", path.name)
            if m and path.is_dir() and not _pid_alive(int(m.group(1))):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
    return removed


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # our own id on a leftover: a previous run that had the same id
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def checkpoint_dirs(out_dir: Path) -> list[Path]:
    """Complete checkpoints under ``out_dir/checkpoints``, oldest first."""
    root = out_dir / "checkpoints"
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and re.fullmatch(r"step-\d+", p.name)]
    return sorted(found, key=lambda p: int(p.name[len(CHECKPOINT_PREFIX) :]))


def resolve_resume(out_dir: Path, resume: str | None) -> Path | None:
    """None, the latest checkpoint of ``out_dir`` ("latest"), or an explicit folder."""
    if resume is None:
        return None
    if resume != "latest":
        path = Path(resume)
        if (path / "trainer_state.json").is_file():
            return path
        if (path / "config.json").is_file():
            raise InputError(
                f"--resume: {path} is a trained model, not a checkpoint of an interrupted run; "
                f"to continue training from it use --init-from {path}"
            )
        raise InputError(
            f"--resume: {path} is not a checkpoint (no trainer_state.json); give a folder "
            f"under OUT/checkpoints/, or --resume alone for the latest one"
        )
    found = checkpoint_dirs(out_dir)
    if not found:
        raise InputError(
            f"--resume: no checkpoint under {out_dir / 'checkpoints'}; start without --resume"
        )
    return found[-1]


# -- model and data ---------------------------------------------------------------------------------
def build_model(
    config: TrainConfig, device: torch.device, checkpoint: Path | None
) -> torch.nn.Module:
    """The one saved in ``checkpoint/model`` when resuming, else the ``init_from`` model,
    else a fresh LLaMo from ``config.model``."""
    from core.llamo.model import LLaMo

    if checkpoint is not None:
        return LLaMo.from_pretrained(checkpoint / "model", device=device)
    init = config.init_dir
    if init is None:
        return LLaMo.from_config(config.llamo_config(), device=device)
    llm_kw = {}
    if config.model.get("llm") is not None:  # another LLM of the same width
        from core.llamo.llm import load_llm

        llm_kw["llm"], llm_kw["tokenizer"] = load_llm(config.model["llm"], device=device)
    saved = LLaMoConfig.from_json(init / "config.json")
    wanted = config.llamo_config()
    upgrade = {k: getattr(wanted, k) for k in UPGRADABLE if getattr(wanted, k) != getattr(saved, k)}
    model = LLaMo.from_pretrained(init, device=device, upgrade=upgrade, **llm_kw)
    model.config.llm = config.llamo_config().llm  # what the saved model will name
    return model


def prepare_motion_modules(model: torch.nn.Module, config: TrainConfig, *, fresh: bool) -> None:
    """Load ``init_motion_modules`` into a fresh model and freeze ``freeze_modules``."""
    if fresh and config.init_motion_modules:
        from safetensors.torch import load_file

        state = load_file(config.init_motion_modules)
        own = model.motion_modules.state_dict()
        unknown = sorted(set(state) - set(own))
        if unknown:
            raise ValueError(f"init_motion_modules: unknown weights {unknown[:3]}")
        model.motion_modules.load_state_dict(state, strict=False)
    names = [n for n, _ in model.motion_modules.named_parameters()]
    for prefix in config.freeze_modules:
        if not any(n.startswith(prefix) for n in names):
            raise ValueError(f"freeze_modules: no motion-module parameter starts with {prefix!r}")
    for n, p in model.motion_modules.named_parameters():
        if any(n.startswith(prefix) for prefix in config.freeze_modules):
            p.requires_grad_(False)


def load_train_examples(config: TrainConfig) -> Sequence[dict]:
    """The training examples (``LLaMo.collate`` inputs) of ``config.train_data``."""
    return _examples(config, config.train_data, "train_data")


def load_eval_examples(config: TrainConfig) -> Sequence[dict] | None:
    """The held-out examples of ``config.eval_data`` (validation loss), or None. A missing
    file only costs the validation loss (a note says so): training does not need it."""
    if not config.eval_data:
        return None
    if not Path(config.eval_data).is_file():
        print(f"note: eval_data {config.eval_data} does not exist: no validation loss (hold out "
              "clips with python -m train.prepare ... --heldout)", file=sys.stderr)  # fmt: skip
        return None
    return _examples(config, config.eval_data, "eval_data")


def _examples(config: TrainConfig, name: str, key: str) -> Sequence[dict]:
    from train.data import MotionDataset

    path = Path(name)
    if not path.is_file():
        raise InputError(
            f"{key}: {path} does not exist; make it with python -m train.prepare (a club's "
            "clips) or python -m train.make_dataset (synthetic)"
        )
    check_facts_budget(config, path)
    # Person crops only for a model that reads video: the shipped one does not.
    dataset = MotionDataset.from_jsonl(path, load_crops=config.llamo_config().use_video)
    if not dataset.load_crops and any("crops" in s.meta for s in dataset.samples):
        print(f"note: {path} names person crops (meta.crops) but the model reads no video "
              "(use_video: false); they are not used", file=sys.stderr)  # fmt: skip
    return dataset


def check_facts_budget(config: TrainConfig, path: Path) -> None:
    """A train.make_dataset set whose prompts have another facts budget than the model's
    ``max_prompt_facts`` (``max_prompt_moments``, ``max_prompt_joints``) would train it on
    blocks the app never sends: refuse it. Sets built before a budget was recorded are taken
    as they are."""
    info = path.parent / "dataset.json"
    built = json.loads(info.read_text()) if info.is_file() else {}
    budget = config.llamo_config().prompt_budget
    for key, field_name in PROMPT_BUDGET_FIELDS.items():
        have, wanted, flag = built.get(key), getattr(budget, key), "--" + key.replace("_", "-")
        if have is not None and have != wanted:
            raise ValueError(
                f"model.{field_name}: {path} was built with {flag} {have} ({info.name}), the "
                f"model would get {wanted} in the app; set model.{field_name}: {have}, or "
                f"rebuild the set with {flag} {wanted}"
            )


def make_blank_motion(examples: Sequence[dict], limit: int = 64) -> Motion:
    """One fixed pose (the mean pose of the first ``limit`` training motions), held for
    ``BLANK_FRAMES`` frames: the motion input of the text-only ablation."""
    motions = [examples[i]["motion"] for i in range(min(limit, len(examples)))]
    ref = motions[0]
    same = [
        m for m in motions if m.space == ref.space and m.joints.shape[1:] == ref.joints.shape[1:]
    ]
    pose = np.mean([m.joints.mean(axis=0) for m in same], axis=0)  # (J, C)
    joints = np.repeat(pose[None], BLANK_FRAMES, axis=0)  # (T, J, C)
    vis = np.ones(joints.shape[:2], np.float32)
    return Motion(joints, vis, ref.fps, ref.space, skeleton=ref.skeleton)


class BlankMotion:
    """A view of a dataset whose every motion (and video) is replaced by ``blank``."""

    def __init__(self, examples: Sequence[dict], blank: Motion) -> None:
        self.examples, self.blank = examples, blank

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, i: int) -> dict:
        return {**self.examples[i], "motion": self.blank, "video": None}


def load_blank_motion(model_dir: Path) -> Motion | None:
    """The blank motion a text-only checkpoint was trained with, or None."""
    path = Path(model_dir) / BLANK_MOTION_FILE
    return load_motion(path) if path.is_file() else None


def collate_limited(collate: Callable[[list], object], max_seq_len: int, examples: list) -> object:
    """``collate`` then cut the text to ``max_seq_len`` tokens (the motion tokens come on
    top); an example left without any answer token is an error, not a silent NaN loss."""
    batch = collate(examples)
    if batch.input_ids.shape[1] <= max_seq_len:
        return batch
    cut = {
        name: getattr(batch, name)[:, :max_seq_len]
        for name in ("input_ids", "attention_mask", "labels")
    }
    no_answer = ((cut["labels"] != IGNORE_INDEX).sum(dim=1) == 0).nonzero().flatten().tolist()
    if no_answer:
        raise ValueError(
            f"max_seq_len: {max_seq_len} text tokens cut every answer of batch rows {no_answer} "
            f"(longest row has {batch.input_ids.shape[1]}); raise max_seq_len"
        )
    return replace(batch, **cut)


def to_device(batch: object, device: torch.device) -> object:
    """Move every tensor in a (nested) batch, or a batch object with ``.to``, to ``device``."""
    if isinstance(batch, torch.Tensor) or callable(getattr(batch, "to", None)):
        return batch.to(device)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(v, device) for v in batch)
    return batch


# -- the trainer --------------------------------------------------------------------------------------
@dataclass
class TrainResult:
    """What a run leaves behind: the final model folder and the per-step history."""

    out_dir: Path
    model_dir: Path
    history: list[dict]


HISTORY_FIELDS = ("step", "stage", "loss", "lr", "grad_norm", "seconds", "val_loss")
# Fields that must match between a checkpoint and the resuming config for an exact resume.
RESUME_FIELDS = ("train_data", "model", "seed", "batch_size", "grad_accum", "motion_input")


class Trainer:
    """Runs the stages of a ``TrainConfig`` under one ``accelerate.Accelerator``."""

    def __init__(self, config: TrainConfig, out_dir: str | Path | None = None) -> None:
        from accelerate import Accelerator
        from accelerate.utils import DistributedDataParallelKwargs

        self.config = config
        self.out_dir = Path(out_dir or config.out_dir)
        if config.torch_threads:
            torch.set_num_threads(config.torch_threads)
        self.accelerator = Accelerator(
            mixed_precision=_mixed_precision(config.mixed_precision),
            cpu=not torch.cuda.is_available(),
            # align-stage ablations leave some modules unused (e.g. all_frames skips the
            # Cross Talker's selection path); DDP must not wait for their gradients.
            kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)],
        )
        if self.accelerator.distributed_type == "FSDP":
            # Checkpoints here are save_pretrained + one optimizer file written by rank 0;
            # under FSDP both would hold rank 0's shard only. Fail now, not at resume time.
            raise ValueError(
                "distributed_type: FSDP is not supported by train.finetune's checkpoints yet "
                "(they would hold one shard); launch with train/accelerate/ddp.yaml"
            )
        self.step = 0
        self.started = time.perf_counter()
        self.history: list[dict] = []
        self.seconds_before = 0.0
        self.blank: Motion | None = None
        self._n_examples = 0
        self.eval_examples: Sequence[dict] | None = None

    @property
    def per_step(self) -> int:
        """Examples per optimizer step over all processes and micro-batches."""
        return self.config.batch_size * self.config.grad_accum * self.accelerator.num_processes

    def run(self, resume: str | None = None) -> TrainResult:
        cfg, acc = self.config, self.accelerator
        checkpoint = resolve_resume(self.out_dir, resume)  # before minutes of loading
        if acc.is_main_process:
            remove_stale_tmp(self.out_dir)
        seed_everything(cfg.seed)
        examples = load_train_examples(cfg)
        if cfg.per_turn:
            from train.data import PerTurn

            examples = PerTurn(examples, cfg.repeat_qtypes)
        if cfg.motion_input == "blank":
            self.blank = make_blank_motion(examples)
            examples = BlankMotion(examples, self.blank)
        self._n_examples = len(examples)
        self.eval_examples = load_eval_examples(cfg)
        if self.eval_examples is not None and self.blank is not None:
            self.eval_examples = BlankMotion(self.eval_examples, self.blank)
        model = build_model(cfg, acc.device, checkpoint)
        prepare_motion_modules(model, cfg, fresh=checkpoint is None)
        if cfg.token_words > 0:
            from train.token_words import WithWordTargets

            examples = WithWordTargets(
                examples, model.tokenizer, model.config.fps, sides=cfg.token_side_words
            )
        try:
            ckpt_state = self._restore(checkpoint) if checkpoint else None
        except ValueError as err:  # a checkpoint that does not fit this config or launch
            raise InputError(str(err)) from None
        if checkpoint is None and self.eval_examples and acc.is_main_process:
            # The starting point, so the validation losses that follow have a reference.
            print(f"step 0 (the starting model): validation loss "
                  f"{self.validation_loss(model):.4f}")  # fmt: skip
        self.started = time.perf_counter()
        bar = _progress_bar(cfg.total_steps, self.step, disable=not acc.is_main_process)
        end = 0
        for index, stage in enumerate(cfg.stages):
            end += stage.steps
            if self.step >= end:
                continue
            resume_here = ckpt_state is not None and ckpt_state["stage_index"] == index
            model = self._run_stage(
                model, examples, index, end, checkpoint if resume_here else None, bar
            )
        bar.close()
        model_dir = self._save_final(model)
        return TrainResult(self.out_dir, model_dir, list(self.history))

    def _restore(self, checkpoint: Path) -> dict:
        """Step, history and this process's RNG state from ``checkpoint``."""
        state = json.loads((checkpoint / "trainer_state.json").read_text())
        saved, now = state["config"], self.config.to_dict()
        for name in RESUME_FIELDS:
            if saved.get(name) != now[name]:
                raise ValueError(
                    f"{name}: the checkpoint {checkpoint} was trained with {saved.get(name)!r}, "
                    f"the config now says {now[name]!r}; an exact resume needs the same value"
                )
        if state["num_processes"] != self.accelerator.num_processes:
            raise ValueError(
                f"num_processes: {checkpoint} was written by {state['num_processes']} processes, "
                f"this run has {self.accelerator.num_processes}; resume with the same launch config"
            )
        self.step, self.history = state["step"], state["history"]
        self.seconds_before = self.history[-1]["seconds"] if self.history else 0.0
        rng = load_rng_state(checkpoint, self.accelerator.process_index)
        if rng is not None:
            set_rng_state(rng)
        return state

    def _optimizer(self, model: torch.nn.Module, stage: StageConfig) -> tuple:
        params = [p for p in model.trainable_parameters().values() if p.requires_grad]
        decay = [p for p in params if p.ndim >= 2]  # no decay on biases and norm gains
        no_decay = [p for p in params if p.ndim < 2]
        groups = [
            {"params": decay, "weight_decay": self.config.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ]
        optimizer = torch.optim.AdamW(groups, lr=stage.lr)
        cfg = self.config
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: lr_factor(s, stage.effective_warmup, stage.steps, cfg.min_lr_ratio)
        )
        return params, optimizer, scheduler

    def _run_stage(self, model, examples, index: int, end: int, checkpoint: Path | None, bar):
        """Steps ``self.step .. end`` of stage ``index``; returns the unwrapped model."""
        cfg, acc = self.config, self.accelerator
        stage = cfg.stages[index]
        if model.config.stage != model_stage(stage.name):
            model.set_stage(model_stage(stage.name))
        params, optimizer, scheduler = self._optimizer(model, stage)
        if checkpoint is not None:
            optimizer.load_state_dict(torch.load(checkpoint / "optimizer.pt", weights_only=True))
            scheduler.load_state_dict(torch.load(checkpoint / "scheduler.pt", weights_only=True))
        # The scheduler stays unprepared: accelerate would step it once per process.
        wrapped, optimizer = acc.prepare(model, optimizer)
        wrapped.train()
        loader = self._loader(model, examples, self.step, end)
        batches = iter(loader)
        while self.step < end:
            loss = self._train_step(wrapped, batches, answer_loss=stage.name != WORDS_STAGE)
            grad_norm = acc.clip_grad_norm_(params, cfg.max_grad_norm)
            optimizer.step()
            lr = scheduler.get_last_lr()[0]
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            self.step += 1
            self._log(stage.name, loss, lr, grad_norm, bar)
            if self.step % cfg.save_every == 0 or self.step == end:
                self._validate(wrapped, bar)
                self.save_checkpoint(acc.unwrap_model(wrapped), optimizer, scheduler, index)
        model = acc.unwrap_model(wrapped)
        acc.free_memory()
        return model

    def _train_step(self, wrapped, batches: Iterator, answer_loss: bool = True) -> torch.Tensor:
        """Forward/backward over ``grad_accum`` micro-batches; returns the mean loss."""
        acc, accum = self.accelerator, self.config.grad_accum
        total = torch.zeros((), device=acc.device)
        for micro in range(accum):
            batch = to_device(next(batches), acc.device)
            sync = micro == accum - 1
            with nullcontext() if sync else acc.no_sync(wrapped):
                loss = wrapped(batch, token_diversity=self.config.token_diversity,
                               token_words=self.config.token_words, answer_loss=answer_loss)  # fmt: skip
                acc.backward(loss / accum)
            total += loss.detach().float() / accum
        return acc.reduce(total, reduction="mean")

    def _loader(self, model, examples, start: int, end: int) -> torch.utils.data.DataLoader:
        """This process's micro-batches for steps ``start .. end`` in their fixed order."""
        cfg, acc = self.config, self.accelerator
        rank, nproc, bs = acc.process_index, acc.num_processes, cfg.batch_size
        micro_batches = []
        for step in range(start, end):
            indices = step_indices(step, len(examples), self.per_step, cfg.seed)
            for micro in range(cfg.grad_accum):
                offset = (micro * nproc + rank) * bs
                micro_batches.append(indices[offset : offset + bs])
        return torch.utils.data.DataLoader(
            examples,
            batch_sampler=micro_batches,
            collate_fn=partial(collate_limited, model.collate, cfg.max_seq_len),
            num_workers=cfg.num_workers,
            # A private generator: creating the loader must not draw from the global RNG,
            # or a resumed run would see different dropout masks.
            generator=torch.Generator().manual_seed(cfg.seed),
        )

    def _validate(self, wrapped, bar) -> None:
        """Validation loss into the last history row (and printed)."""
        if not self.eval_examples:
            return
        loss = self.validation_loss(self.accelerator.unwrap_model(wrapped))
        wrapped.train()
        self.history[-1]["val_loss"] = loss
        if self.accelerator.is_main_process:
            bar.write(f"step {self.step}: validation loss {loss:.4f} "
                      f"({len(self.eval_examples)} held-out lines of {self.config.eval_data})")  # fmt: skip

    def validation_loss(self, model) -> float:
        """Mean loss on the ``eval_data`` examples (no dropout, no gradients). Every process
        computes it alike, and the RNG streams are left as they were, so validating never
        changes the training run."""
        acc, cfg, examples = self.accelerator, self.config, self.eval_examples
        collate = partial(collate_limited, model.collate, cfg.max_seq_len)
        saved = rng_state()
        model.eval()
        total = 0.0
        with torch.no_grad(), acc.autocast():
            for start in range(0, len(examples), cfg.batch_size):
                chunk = [
                    examples[i] for i in range(start, min(start + cfg.batch_size, len(examples)))
                ]
                total += float(model(to_device(collate(chunk), acc.device))) * len(chunk)
        set_rng_state(saved)
        return total / len(examples)

    def _log(self, stage: str, loss: torch.Tensor, lr: float, grad_norm, bar) -> None:
        seconds = self.seconds_before + time.perf_counter() - self.started
        row = {
            "step": self.step,
            "stage": stage,
            "loss": float(loss),
            "lr": float(lr),
            "grad_norm": float(grad_norm) if grad_norm is not None else float("nan"),
            "seconds": round(seconds, 3),
        }
        self.history.append(row)
        bar.set_description(f"train {stage}")
        bar.set_postfix(loss=f"{row['loss']:.4f}", lr=f"{row['lr']:.2e}")
        bar.update(1)

    # -- outputs ---------------------------------------------------------------------------------
    def save_checkpoint(self, model, optimizer, scheduler, stage_index: int) -> Path:
        """Write ``checkpoints/step-N`` atomically (main process) and prune old ones."""
        from accelerate.utils import gather_object

        acc, cfg = self.accelerator, self.config
        mine = rng_state()
        states = gather_object([mine])  # one RNG state per process, in rank order
        final = self.out_dir / "checkpoints" / f"{CHECKPOINT_PREFIX}{self.step:06d}"
        if acc.is_main_process:
            epoch, position = divmod(self.step * self.per_step, self._n_examples)
            state = {
                "step": self.step,
                "stage_index": stage_index,
                "stage": cfg.stages[stage_index].name,
                "num_processes": acc.num_processes,
                "examples_per_step": self.per_step,
                "epoch": epoch,
                "epoch_position": position,
                "data_order": epoch_order(self._n_examples, cfg.seed, epoch).tolist(),
                "history": self.history,
                "config": cfg.to_dict(),
            }
            with atomic_dir(final) as tmp:
                self._write_model(model, tmp / "model")
                torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
                torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
                save_rng_states(states, tmp / RNG_FILE)
                (tmp / "trainer_state.json").write_text(json.dumps(state))
            self._prune()
        acc.wait_for_everyone()
        set_rng_state(mine)  # saving must not shift the random stream of the next step
        return final

    def _write_model(self, model, folder: Path) -> None:
        """``save_pretrained``, the training config, who the model is (``model_info.json``)
        and the blank motion of a text-only run."""
        model.save_pretrained(folder)
        (folder / TRAIN_CONFIG_FILE).write_text(
            yaml.safe_dump(self.config.to_dict(), sort_keys=False)
        )
        write_model_info(folder, self.config.model_name or self.out_dir.name, self._source())
        if self.blank is not None:
            save_motion(self.blank, folder / BLANK_MOTION_FILE)

    def _source(self) -> str:
        """How this model was made, for ``model_info.json``."""
        cfg = self.config
        init = cfg.init_dir
        if init is None:
            start = "trained from scratch"
        else:
            name = read_model_info(init).name
            start = f"fine-tuned from {name}" + (
                f" ({cfg.init_from})" if cfg.init_from not in (INIT_DEFAULT, name) else "")  # fmt: skip
        return f"{start} on {cfg.train_data}, {self.step} steps"

    def _prune(self) -> None:
        keep = self.config.keep_checkpoints
        old = checkpoint_dirs(self.out_dir)
        for path in old[: max(len(old) - keep, 0)] if keep else []:
            shutil.rmtree(path)

    def _save_final(self, model) -> Path:
        """The final model in ``out/model`` plus ``loss.csv`` and ``loss.png`` in ``out``."""
        acc = self.accelerator
        model_dir = self.out_dir / "model"
        if acc.is_main_process:
            with atomic_dir(model_dir) as tmp:
                self._write_model(model, tmp)
            write_history(self.history, self.out_dir)
        acc.wait_for_everyone()
        return model_dir


def write_history(history: list[dict], out_dir: Path) -> tuple[Path, Path]:
    """``loss.csv`` (one row per step) and ``loss.png`` (the curve, stages shaded)."""
    from train.plots import save_loss_curve

    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / "loss.csv"
    with csv_path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=HISTORY_FIELDS)
        writer.writeheader()
        writer.writerows(history)
    return csv_path, save_loss_curve(history, out_dir / "loss.png")


def _mixed_precision(choice: str) -> str | None:
    """ "auto": what ``accelerate launch`` asked for, else bf16 on a GPU and fp32 on CPU."""
    if choice != "auto":
        return choice
    if os.environ.get("ACCELERATE_MIXED_PRECISION"):
        return None  # let accelerate read the launcher's choice
    return "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "no"


def _progress_bar(total: int, initial: int, *, disable: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, disable=disable, unit="step", dynamic_ncols=True)


def train(
    config: TrainConfig, *, out_dir: str | Path | None = None, resume: str | None = None
) -> TrainResult:
    """Run (or resume) ``config``; ``resume`` is "latest" or a checkpoint folder."""
    return Trainer(config, out_dir).run(resume)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m train.finetune", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--config", required=True, help="training YAML (see train/configs/)")
    parser.add_argument("--out", help="output folder (default: out_dir of the config)")
    parser.add_argument(
        "--resume", nargs="?", const="latest", default=None,
        help="continue from the latest checkpoint of the output folder, or from the given one",
    )  # fmt: skip
    parser.add_argument(
        "--init-from", metavar="DIR",
        help="start from this trained model ('default', 'scratch' or a folder); same as "
        "--set init_from=DIR",
    )  # fmt: skip
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a config value, e.g. --set model.fusion=all_frames --set stages.1.steps=50",
    )  # fmt: skip
    args = parser.parse_args(argv)
    overrides = [*args.overrides, *([f"init_from={args.init_from}"] if args.init_from else [])]
    try:
        config = TrainConfig.from_yaml(args.config, overrides)
    except ValueError as err:
        parser.error(str(err))
    try:
        result = train(config, out_dir=args.out, resume=args.resume)
    except (ValueError, FileNotFoundError) as err:  # data, resume and model-file mistakes
        print(f"error: {str(err).splitlines()[0] if str(err) else type(err).__name__}",
              file=sys.stderr)  # fmt: skip
        return 2
    if result.history:
        last = result.history[-1]
        val = last.get("val_loss")
        print(f"done: {last['step']} steps, loss {last['loss']:.4f}"
              + (f", validation loss {val:.4f}" if val is not None else "")
              + f", {last['seconds']:.0f} s; model in {result.model_dir}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
