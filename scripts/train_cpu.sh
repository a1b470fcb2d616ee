#!/usr/bin/env bash
# Issue 10's CPU recipe, one working session on a shared 2-core machine; every stage can be
# re-run (finetune with --resume continues from its last checkpoint). Run it detached:
#   nohup scripts/train_cpu.sh > runs/train_cpu.log 2>&1 &
# Budget (measured on the shared machine, see MODEL_CARD.md): data 8 min, encoder pretraining
# 8-15 min, grounding 10 min, LLM stage the rest.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
DATA=${DATA:-artifacts/synth2}
[ -f "$DATA/train.jsonl" ] || $PY -m train.make_dataset --out "$DATA" --n-train 5000 --n-heldout 400 --n-heldout-phrasing 100 --seed 0
[ -f runs/pretrain/motion_encoder.safetensors ] || $PY -m train.pretrain --data "$DATA" --config train/configs/cpu.yaml --out runs/pretrain --minutes ${PRETRAIN_MIN:-12} --max-clips 800
[ -f runs/grounding/motion_modules_init.safetensors ] || $PY -m train.grounding --data "$DATA" --config train/configs/cpu.yaml --encoder runs/pretrain/motion_encoder.safetensors --out runs/grounding --minutes ${GROUNDING_MIN:-8} --max-train 4000
if [ -d runs/full/checkpoints ] && [ -n "$(ls runs/full/checkpoints)" ]; then
  $PY -m train.finetune --config train/configs/cpu.yaml --resume
else
  $PY -m train.finetune --config train/configs/cpu.yaml
fi
# Second session: 420 more LoRA steps from runs/full/model (the shipped default model).
if [ -d runs/full-long/checkpoints ] && [ -n "$(ls runs/full-long/checkpoints)" ]; then
  $PY -m train.finetune --config train/configs/cpu_long.yaml --resume
elif [ ! -f runs/full-long/model/config.json ]; then
  $PY -m train.finetune --config train/configs/cpu_long.yaml
fi
