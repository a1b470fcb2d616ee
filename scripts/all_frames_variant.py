"""Issue 10's all-frames row: a trained model's folder with its Cross Talker swapped for
``AllFramesFusion`` (every frame one token, no viewpoint selection), as a starting model for
``train.finetune`` (session 31).

    python scripts/all_frames_variant.py --model core/weights/default --out runs/allf-init
    python -m train.finetune --config train/configs/cpu_s31_allf.yaml [--resume]

The motion encoder, the projector and the LoRA adapter are the model's; the all-frames
projection is fresh (the finetune config's align stage trains it with the projector). Each
frame's time is an embedding, not text: written out, "t=3.93s" for every frame of a synthetic
clip (231 frames on average at 20 fps) would make prompts of about 2,000 tokens.
"""

from __future__ import annotations

import argparse
import shutil
from dataclasses import replace
from pathlib import Path

import torch
from safetensors.torch import load_file, save_model

from core.llamo.checkpoint import CONFIG_FILE, LORA_DIR, META_FILE, MODULES_FILE
from core.llamo.config import LLaMoConfig
from core.llamo.fusion import LLaMoModules

KEPT = ("motion_encoder.", "projector.")  # what the all-frames model shares with the model


def all_frames_folder(model: Path, out: Path, seed: int = 31) -> Path:
    """Write the all-frames starting folder for the saved ``model`` to ``out``."""
    if out.exists():
        raise SystemExit(f"{out} exists; remove it or give another --out")
    saved = LLaMoConfig.from_json(model / CONFIG_FILE)
    # the viewpoint group count is written after viewpoint time texts, which it has none of
    config = replace(saved, fusion="all_frames", timestamp_mode="embedding",
                     viewpoint_group_gap=0.0)  # fmt: skip
    torch.manual_seed(seed)
    modules = LLaMoModules(config)
    state = {k: v for k, v in load_file(model / MODULES_FILE).items() if k.startswith(KEPT)}
    missing, unexpected = modules.load_state_dict(state, strict=False)
    fresh = sorted({k.split(".")[1] for k in missing})
    if unexpected or any(not k.startswith("fusion.") for k in missing):
        raise SystemExit(f"{model}: unexpected {unexpected[:3]}, missing {missing[:3]}")
    out.mkdir(parents=True)
    config.to_json(out / CONFIG_FILE)
    save_model(modules, str(out / MODULES_FILE))
    shutil.copytree(model / LORA_DIR, out / LORA_DIR)
    if (model / META_FILE).is_file():
        shutil.copy2(model / META_FILE, out / META_FILE)
    print(f"wrote {out}: fusion all_frames, fresh fusion.{{{', '.join(fresh)}}}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("core/weights/default"))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=31)
    args = parser.parse_args()
    all_frames_folder(args.model, args.out, args.seed)


if __name__ == "__main__":
    main()
