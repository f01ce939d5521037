#!/usr/bin/env bash
# The GPU checks of issue 16 in one go, on a CUDA machine that already has PyTorch (a GPU runner, or a lent
# machine with no network):
#   MAMBA_SRC=path/to/mamba_ssm-source OUT=build/gpu bash tools/gpu_check.sh
# 1. builds mamba-ssm's selective-scan extension from MAMBA_SRC in place (one architecture, MAMBA_GENCODE,
#    default sm_90) in the background; skipped when MAMBA_SRC is unset or mamba_ssm already imports;
# 2. meanwhile times the pure-PyTorch paths (benchmarks/gpu.py --parts metst ammsm, torch backend only if the
#    build is not done yet);
# 3. once the build is done: pytest -m gpu and benchmarks/gpu.py over both backends.
# Logs and gpu*.json land in OUT. BUILD_WAIT_S bounds the wait for the build (default 420 s).
set -u
OUT=${OUT:-build/gpu}
mkdir -p "$OUT"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
PY=${PY:-python3}
{ nvidia-smi; $PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name())"; nvcc --version | tail -2; } >"$OUT/machine.txt" 2>&1
cat "$OUT/machine.txt"

build_pid=
if [ -n "${MAMBA_SRC:-}" ] && ! $PY -c "import mamba_ssm" 2>/dev/null; then
  SRC=$(cd "$MAMBA_SRC" && pwd)
  export PYTHONPATH="$PYTHONPATH:$SRC"
  ( cd "$SRC" && t0=$(date +%s) \
    && MAMBA_FORCE_BUILD=TRUE MAMBA_GENCODE=${MAMBA_GENCODE:-arch=compute_90,code=sm_90} MAX_JOBS=${MAX_JOBS:-16} \
       $PY setup.py build_ext --inplace \
    && echo "mamba-ssm build: $(( $(date +%s) - t0 )) s" ) >"$OUT/mamba_build.log" 2>&1 &
  build_pid=$!
fi

# 2. pure-PyTorch figures while the extension compiles
# (WHILE_BUILD: the parts to run meanwhile; empty for none)
WHILE_BUILD=${WHILE_BUILD-ammsm}
[ -n "$WHILE_BUILD" ] && $PY benchmarks/gpu.py --out "$OUT/torch" --parts $WHILE_BUILD 2>&1 | tee "$OUT/gpu_torch.log"

if [ -n "$build_pid" ]; then
  waited=0
  while kill -0 "$build_pid" 2>/dev/null && [ "$waited" -lt "${BUILD_WAIT_S:-420}" ]; do sleep 5; waited=$((waited + 5)); done
  kill -0 "$build_pid" 2>/dev/null && { echo "mamba-ssm build still running after ${waited} s: stopped"; kill "$build_pid"; }
  tail -3 "$OUT/mamba_build.log"
fi
$PY -c "import mamba_ssm, selective_scan_cuda; print('mamba_ssm', mamba_ssm.__version__, 'imports')" 2>&1 | tail -2

# 3. kernel parity and speed (both backends where mamba_ssm imports)
$PY -m pytest -q -m gpu -s -p no:cacheprovider tests/test_ssm_gpu.py 2>&1 | tee "$OUT/pytest_gpu.log" | tail -15
$PY benchmarks/gpu.py --out "$OUT" --parts ${PARTS:-parity mamba metst} 2>&1 | tee "$OUT/gpu.log"
