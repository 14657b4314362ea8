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
# Kernel alone (no host<->device copies, no interval): the fused CuPy kernels timed with CUDA
# events after a warm-up, then the numba CPU kernels on the same data in the same run.
# n = 1e6, B = 2000 Poisson sums of the mean's (x, 1) columns; sign-flip permutation
# n = 1e5, B = 1e4. Then the scale-out Poisson bootstrap on a small partitioned log on the
# GPU (device="gpu" inside each partition), checked equal to the CPU run.
timeout 240 python3 - <<'PY' 2>&1 | tee "$OUT/kernel_only.log"
import json, os, statistics, time
import numpy as np
from varkit.gpu import counter_rng as crng
from varkit.gpu import _numba_kernels as nk
from varkit.gpu.backend import resolve_device
from varkit.gpu.statistics import build_problem

out = os.environ.get("OUT", "benchmarks/out")
records = []

def gpu_ms(fn, repeats=10):
    import cupy
    fn(); cupy.cuda.Device().synchronize()          # warm-up: compile + first launch
    times = []
    for _ in range(repeats):
        start, stop = cupy.cuda.Event(), cupy.cuda.Event()
        start.record(); fn(); stop.record(); stop.synchronize()
        times.append(cupy.cuda.get_elapsed_time(start, stop))
    return statistics.median(times)

def cpu_ms(fn, repeats=3):
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter(); fn(); times.append(1e3 * (time.perf_counter() - t))
    return statistics.median(times)

import cupy
from varkit.gpu import _cupy_kernels as ck
gpu = resolve_device("gpu")
x = np.random.default_rng(0).exponential(size=1_000_000)
problem = build_problem("mean", x)
keys = crng.replicate_keys(1, 0, 2000)
offsets = crng.unit_offsets(problem.unit_ids)
z_d, off_d, keys_d = cupy.asarray(problem.z), cupy.asarray(offsets), cupy.asarray(keys)
g = gpu_ms(lambda: ck.poisson(problem, z_d, off_d, keys_d, gpu))
zc = np.ascontiguousarray(problem.z.T)
c = cpu_ms(lambda: nk.poisson_sums(zc, offsets, keys, np.zeros((2000, 2))))
same = np.allclose(ck.poisson(problem, z_d, off_d, keys_d, gpu).get(),
                   nk.poisson_sums(zc, offsets, keys, np.zeros((2000, 2))), rtol=1e-9)
records.append({"case": "poisson n=1e6 B=2000 kernel", "gpu_ms": g, "cpu_ms": c,
                "speedup": c / g, "same_sums": bool(same)})
d = np.random.default_rng(1).normal(0.01, 1.0, size=100_000)
keys = crng.replicate_keys(2, 0, 10_000)
d_d, keys_d = cupy.asarray(d), cupy.asarray(keys)
g = gpu_ms(lambda: ck.sign_flip(d_d, keys_d))
c = cpu_ms(lambda: nk.sign_flip_sums(d, keys, np.zeros(10_000)))
same = np.allclose(ck.sign_flip(d_d, keys_d).get(), nk.sign_flip_sums(d, keys, np.zeros(10_000)),
                   rtol=1e-9, atol=1e-9)
records.append({"case": "sign-flip n=1e5 B=1e4 kernel", "gpu_ms": g, "cpu_ms": c,
                "speedup": c / g, "same_sums": bool(same)})
# scale-out: the same seed gives the same interval with device=gpu in the partitions
import tempfile, pandas as pd
from varkit.scaleout import bootstrap_log
folder = tempfile.mkdtemp()
pd.DataFrame({"x": x[:200_000]}).to_parquet(f"{folder}/log.parquet", row_group_size=50_000)
runs = {dev: bootstrap_log(f"{folder}/log.parquet", "x", n_resamples=500, random_state=3,
                           device=dev, engine="dask") for dev in ("cpu", "gpu")}
records.append({"case": "scaleout bootstrap 2e5 rows, 4 partitions",
                "cpu_ci": [runs["cpu"].ci_low, runs["cpu"].ci_high],
                "gpu_ci": [runs["gpu"].ci_low, runs["gpu"].ci_high],
                "same_interval": bool(np.allclose([runs["cpu"].ci_low, runs["cpu"].ci_high],
                                                  [runs["gpu"].ci_low, runs["gpu"].ci_high],
                                                  rtol=1e-10))})
with open(f"{out}/kernel_only.jsonl", "w") as handle:
    for record in records:
        print(json.dumps(record)); handle.write(json.dumps(record) + "\n")
PY
