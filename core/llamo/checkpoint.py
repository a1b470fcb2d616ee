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
) -> LLaMo:
    """The model :func:`save_llamo` wrote; ``llm``/``tokenizer`` again for a model built
    around an in-memory LLM."""
    from safetensors.torch import load_model

    directory = Path(directory)
    if not (directory / CONFIG_FILE).is_file() or not (directory / MODULES_FILE).is_file():
        raise ModelFilesError(
            f"{directory}: not a saved LLaMo model (needs {CONFIG_FILE} and {MODULES_FILE}); "
            "train one with train/finetune.py or point to the folder save_pretrained wrote"
        )
    config = LLaMoConfig.from_json(directory / CONFIG_FILE)
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
    load_model(model.motion_modules, str(directory / MODULES_FILE), device=str(model.device))
    if (directory / LORA_DIR).is_dir():
        model.attach_lora(directory / LORA_DIR)
    model.set_stage(config.stage)
    return model
