set -o pipefail
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name --format=csv,noheader | tee $OUT/machine2.txt
timeout 120 python3 -m pytest tests/gpu/test_backend.py tests/gpu/test_invariance.py -p no:cacheprovider -o addopts="" -q 2>&1 | tee $OUT/gpu_tests2.log | tail -n 15
timeout 240 python3 benchmarks/bench_engine.py --device gpu --repeats 5 --no-baseline-for mean1e8 --json $OUT/bench_gpu2.jsonl 2>&1 | tee $OUT/bench_gpu2.log
