"""Saving and loading a LLaMo model folder: config, motion modules, LoRA adapter, marker.

No pickle and no LLM weights: ``config.json``, ``motion_modules.safetensors``, ``lora/``
(peft, safetensors) and ``llamo.json``. The base LLM is named by the config and loaded again.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from core.errors import ModelFilesError
from core.llamo.config import LLaMoConfig

if TYPE_CHECKING:
    from core.llamo.model import LLaMo

CONFIG_FILE = "config.json"
MODULES_FILE = "motion_modules.safetensors"
LORA_DIR = "lora"
META_FILE = "llamo.json"
FORMAT = "llamo-v1"
# Switches a trained model may be loaded with although it was saved without them: they only
# add modules, which start at their initial values, or prompt text.
UPGRADABLE = (
    "motion_update",
    "viewpoint_group_gap",
    "max_prompt_facts",
    "max_prompt_moments",
    "max_prompt_joints",
    "max_prompt_sides",
    "max_prompt_orders",
)


def save_llamo(model: LLaMo, directory: str | Path, dtype: torch.dtype | None = None) -> Path:
    """Write ``model`` to ``directory``; ``dtype`` (e.g. bf16) stores the motion modules
    at lower precision (loading casts them back to the model's dtype)."""
    from safetensors.torch import save_file, save_model

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model.config.to_json(directory / CONFIG_FILE)
    if dtype is None:
        save_model(model.motion_modules, str(directory / MODULES_FILE))
    else:
        state = {
            k: (v.to(dtype) if v.is_floating_point() else v).detach().cpu().contiguous()
            for k, v in model.motion_modules.state_dict().items()
        }
        save_file(state, str(directory / MODULES_FILE))
    if model.has_lora:
        model.llm.save_pretrained(str(directory / LORA_DIR), safe_serialization=True)
    meta = {"format": FORMAT, "llm_in_memory": model.llm_in_memory}
    (directory / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    return directory


def load_llamo(
    cls: type[LLaMo],
    directory: str | Path,
    *,
    device: str | torch.device | None = None,
    llm: nn.Module | None = None,
    tokenizer: object | None = None,
    upgrade: dict | None = None,
) -> LLaMo:
    """The model :func:`save_llamo` wrote; ``llm``/``tokenizer`` again for a model built
    around an in-memory LLM; ``upgrade`` sets :data:`UPGRADABLE` switches (new modules fresh)."""
    directory = Path(directory)
    if not (directory / CONFIG_FILE).is_file() or not (directory / MODULES_FILE).is_file():
        raise ModelFilesError(
            f"{directory}: not a saved LLaMo model (needs {CONFIG_FILE} and {MODULES_FILE}); "
            "train one with train/finetune.py or point to the folder save_pretrained wrote"
        )
    saved = LLaMoConfig.from_json(directory / CONFIG_FILE)
    config = _upgraded(saved, upgrade or {})
    meta_path = directory / META_FILE
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    if meta.get("llm_in_memory") and llm is None:
        raise ValueError(
            f"{directory}: this model was built around an in-memory LLM; pass llm= and tokenizer="
        )
    # Built at stage "align" (no adapter) so the saved adapter, not a fresh one, is attached.
    model = cls.from_config(
        replace(config, stage="align"), llm=llm, tokenizer=tokenizer, device=device
    )
    _load_modules(model.motion_modules, directory / MODULES_FILE, saved, str(model.device))
    if (directory / LORA_DIR).is_dir():
        model.attach_lora(directory / LORA_DIR)
    model.set_stage(config.stage)
    return model


def _upgraded(saved: LLaMoConfig, upgrade: dict) -> LLaMoConfig:
    fixed = sorted(set(upgrade) - set(UPGRADABLE))
    if fixed:
        raise ValueError(
            f"upgrade: {fixed} cannot change on a trained model (only {list(UPGRADABLE)} can)"
        )
    return replace(saved, **upgrade)


def _load_modules(modules: nn.Module, path: Path, saved: LLaMoConfig, device: str) -> None:
    """Load ``path`` into ``modules``; only weights the saved config has no module for may be
    missing (an upgrade's new modules), nothing may be left over."""
    from safetensors.torch import load_model

    from core.llamo.fusion import LLaMoModules

    missing, unexpected = load_model(modules, str(path), strict=False, device=device)
    if not missing and not unexpected:
        return
    added = set(modules.state_dict()) - set(LLaMoModules(saved).state_dict())
    lost = sorted(set(missing) - added)
    if lost or unexpected:
        raise ModelFilesError(
            f"{path}: does not fit its config.json (missing {lost[:3]}, unexpected "
            f"{sorted(unexpected)[:3]}); save the model again with save_pretrained"
        )
