#!/usr/bin/env bash
# A virtualenv with Optimum's ONNX Runtime models, which pin transformers 4.x, apart from irc's
# transformers 5: tests/test_clients_optimum.py (a `slow` test) drives it through
# benchmarks/optimum_client.py. Usage: bash benchmarks/optimum_venv.sh [VENV] (default
# $IRC_OPTIMUM_VENV or ~/.cache/irc/optimum-venv); prints the venv's python on its last line.
set -euo pipefail
venv="${1:-${IRC_OPTIMUM_VENV:-$HOME/.cache/irc/optimum-venv}}"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import optimum.onnxruntime, transformers; assert transformers.__version__ == '4.53.3'" 2>/dev/null; then
    # torch 2.13.0 pinned so that pip takes the CPU wheel it finds locally, not a CUDA build.
    "$venv/bin/pip" install --quiet torch==2.13.0 'transformers==4.53.3' optimum-onnx onnxruntime >&2
fi
echo "$venv/bin/python"
