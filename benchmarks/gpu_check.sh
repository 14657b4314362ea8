#!/usr/bin/env bash
# One device run: the engine's GPU tests, then the GPU benchmark with the CPU engine as the
# baseline in the same run. Results land in $OUT (the device tool brings them back).
# Usage on the GPU machine, from the repository root:  bash benchmarks/gpu_check.sh
set -o pipefail
OUT=${OUT:-benchmarks/out}
mkdir -p "$OUT"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  echo "cpu cores: $(nproc)"
  python3 -c "import cupy, numba, numpy, scipy; print('cupy', cupy.__version__, 'numba', numba.__version__, 'numpy', numpy.__version__, 'scipy', scipy.__version__)"
} 2>&1 | tee "$OUT/machine.txt"
# The engine's tests with CuPy present (device="auto" then means the GPU); the two files
# that need jsonschema, which that machine lacks, are left out.
timeout 150 python3 -m pytest tests/gpu -p no:cacheprovider -o addopts="" -m "not slow" -q \
  --ignore=tests/gpu/test_result_schema.py --ignore=tests/gpu/test_permutation.py \
  2>&1 | tee "$OUT/gpu_tests.log" | tail -n 25
timeout 300 python3 benchmarks/bench_engine.py --device gpu --repeats 5 \
  --json "$OUT/bench_gpu.jsonl" 2>&1 | tee "$OUT/bench_gpu.log"
