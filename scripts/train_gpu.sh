#!/usr/bin/env bash
# Issue 10's GPU recipe for one H200 lent by the `device` tool (<= 8 min in all), weights back
# through $OUT. NOT RUN YET: no GPU was lent to the session that wrote it; check the first run.
#   run(command="OUT=$OUT scripts/train_gpu.sh", carry=["artifacts/synth2", "runs/pretrain", "runs/grounding"])
# Stages: data (skipped when carried), encoder pretraining and grounding on 16 CPU threads
# (skipped when carried), then the LLM stage on the GPU in bf16 with a larger batch.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python}
OUT=${OUT:?set OUT to the folder whose files come back}
DATA=${DATA:-artifacts/synth2}
export HF_HUB_OFFLINE=1 OMP_NUM_THREADS=16
start=$(date +%s)
[ -f "$DATA/train.jsonl" ] || timeout 240 $PY -m train.make_dataset --out "$DATA" --n-train 5000 --n-heldout 400 --n-heldout-phrasing 100 --seed 0
[ -f runs/pretrain/motion_encoder.safetensors ] || $PY -m train.pretrain --data "$DATA" --config train/configs/cpu.yaml --out runs/pretrain --minutes 2 --threads 16 --batch-size 32 --max-clips 1500
[ -f runs/grounding/motion_modules_init.safetensors ] || $PY -m train.grounding --data "$DATA" --config train/configs/cpu.yaml --encoder runs/pretrain/motion_encoder.safetensors --out runs/grounding --minutes 1.5 --threads 16 --max-train 6000 --slow 3.0
left=$(( 420 - ($(date +%s) - start) ))  # leave a minute for the copy back
echo "LLM stage budget: ${left}s"
timeout "$left" $PY -m train.finetune --config train/configs/cpu.yaml --out runs/full-gpu \
  --set batch_size=16 \
  --set save_every=50 --set mixed_precision=bf16 --set torch_threads=4 \
  --set model.motion_update=normed --set token_diversity=1.0 --set token_words=0.5 \
  --set "stages=[{name: words, steps: 3000, lr: 1.0e-3, warmup_steps: 20}, {name: lora, steps: 400, lr: 2.0e-3, warmup_steps: 20}]" \
  || echo "finetune stopped at the time limit"
last=$(ls -d runs/full-gpu/model 2>/dev/null || ls -d runs/full-gpu/checkpoints/step-*/model | tail -1)
mkdir -p "$OUT/model"
cp -r "$last"/. "$OUT/model/"
cp runs/pretrain/pretrain_report.json runs/grounding/grounding_report.json "$OUT/" 2>/dev/null || true
echo "weights from $last in $OUT/model after $(( $(date +%s) - start ))s"
