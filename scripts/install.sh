#!/usr/bin/env bash
# Install evalmt into the active Python environment.
#   bash scripts/install.sh         # the tool
#   bash scripts/install.sh --dev   # the tool, CTranslate2, Ray and the test tools
# On a machine without an NVIDIA GPU it installs a CPU-only torch first, so pip
# never pulls the multi-GB CUDA build. Set EVALMT_TORCH_INDEX to a PyTorch CPU
# wheel index URL on machines where PyPI's default torch is a CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
extras=""
if [ "${1:-}" = "--dev" ]; then extras="[dev,ct2,ray]"; fi
if ! "$PY" -c "import torch" >/dev/null 2>&1; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    "$PY" -m pip install "torch>=2.2,<3"
  elif [ -n "${EVALMT_TORCH_INDEX:-}" ]; then
    "$PY" -m pip install "torch>=2.2,<3" --index-url "$EVALMT_TORCH_INDEX"
  else
    # 2.13.0 is the CPU build available locally on our dev/CI machines.
    "$PY" -m pip install "torch==2.13.0"
  fi
fi
"$PY" -m pip install -e ".$extras"
