#!/usr/bin/env bash
# Install evalmt into the active Python environment.
#   bash scripts/install.sh         # the tool
#   bash scripts/install.sh --dev   # the tool, CTranslate2, Ray and the test tools
#
# torch first, so that pip never pulls the multi-GB CUDA build onto a machine
# that cannot use it. On PyPI, `torch` for Linux x86_64 IS the CUDA build (a
# `pip install --dry-run --report` of "torch>=2.2,<3" resolves torch plus ~20
# nvidia-* packages, cuda-toolkit and triton); the CPU-only build lives on
# PyTorch's own wheel index. The choice, in order:
#   1. torch already importable: keep it.
#   2. an NVIDIA GPU (nvidia-smi -L works): the default (CUDA) torch from PyPI.
#   3. PyTorch's CPU wheel index (EVALMT_TORCH_INDEX, default
#      https://download.pytorch.org/whl/cpu) when it answers within 10 s.
#   4. otherwise the first candidate that pip resolves WITHOUT nvidia-*
#      packages (asked with `pip install --dry-run --report`): the locally
#      provided CPU wheel torch==2.13.0, then plain "torch>=2.2,<3" (CPU-only
#      on macOS and Linux aarch64).
#   5. otherwise the CUDA build from PyPI, with a warning saying so.
# The script prints which one it chose.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
TORCH_RANGE="torch>=2.2,<3"
CPU_INDEX=${EVALMT_TORCH_INDEX:-https://download.pytorch.org/whl/cpu}
LOCAL_CPU_PIN="torch==2.13.0"
extras=""
if [ "${1:-}" = "--dev" ]; then extras="[dev,ct2,ray]"; fi

say() { echo "install.sh: $*"; }

# Prints "cpu" or "cuda N" for what pip would install for requirement $1.
resolve() {
  local report
  report=$(mktemp)
  if ! "$PY" -m pip install -q --dry-run --ignore-installed --report "$report" "$1" \
      >/dev/null 2>&1; then
    rm -f "$report"; echo "unresolvable"; return
  fi
  "$PY" - "$report" <<'EOF'
import json, sys
names = [i["metadata"]["name"].lower() for i in json.load(open(sys.argv[1]))["install"]]
cuda = [n for n in names if n.startswith("nvidia-") or n.startswith("cuda-")]
print(f"cuda {len(cuda)}" if cuda else "cpu")
EOF
  rm -f "$report"
}

index_answers() {
  "$PY" - "$1" <<'EOF'
import sys, urllib.request
try:
    urllib.request.urlopen(sys.argv[1].rstrip("/") + "/torch/", timeout=10).close()
except Exception:
    sys.exit(1)
EOF
}

if "$PY" -c "import torch" >/dev/null 2>&1; then
  say "keeping the installed torch $("$PY" -c 'import torch; print(torch.__version__)')"
elif command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  say "NVIDIA GPU found: installing the default (CUDA) torch from PyPI"
  "$PY" -m pip install "$TORCH_RANGE"
elif index_answers "$CPU_INDEX"; then
  say "no NVIDIA GPU: installing the CPU-only torch from $CPU_INDEX"
  "$PY" -m pip install "$TORCH_RANGE" --index-url "$CPU_INDEX"
else
  say "no NVIDIA GPU; the CPU wheel index $CPU_INDEX does not answer"
  chosen=""
  for candidate in "$LOCAL_CPU_PIN" "$TORCH_RANGE"; do
    if [ "$(resolve "$candidate")" = "cpu" ]; then chosen=$candidate; break; fi
  done
  if [ -n "$chosen" ]; then
    say "installing '$chosen' (pip resolves it without CUDA packages)"
    "$PY" -m pip install "$chosen"
  else
    say "WARNING: only the CUDA build of torch is available ($(resolve "$TORCH_RANGE")"\
" CUDA packages, several GB); installing it. Set EVALMT_TORCH_INDEX to a"\
" reachable PyTorch CPU wheel index to avoid this."
    "$PY" -m pip install "$TORCH_RANGE"
  fi
fi
"$PY" -m pip install -e ".$extras"
say "torch $("$PY" -c 'import torch; print(torch.__version__, "CUDA" if torch.version.cuda else "CPU-only")')"
