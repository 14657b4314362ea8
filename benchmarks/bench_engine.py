"""Speed and memory of the resampling engine against scipy.stats, measured in one run.

Each (case, method) runs in a fresh Python process: a warm-up call on small data (JIT
compilation and imports are not timed), then ``--repeats`` timed runs; the peak resident
memory of each run is read from /proc (VmHWM, reset before the run) minus the resident
memory before it. Figures are medians. Run by hand:

    python benchmarks/bench_engine.py                       # CPU: varkit vs scipy
    python benchmarks/bench_engine.py --device gpu          # GPU vs the CPU engine
    python benchmarks/bench_engine.py --cases mean1e6 --repeats 5 --json out.json

Results are recorded in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

import numpy as np

# case -> (n, n_resamples, kind)
CASES: dict[str, tuple[int, int, str]] = {
    "mean1e6": (1_000_000, 2000, "bootstrap"),
    "mean1e8": (100_000_000, 2000, "bootstrap"),
    "bca1e5": (100_000, 10_000, "bootstrap"),
    "perm1e5": (100_000, 10_000, "paired-permutation"),
}

# method -> (library, options)
BOOTSTRAP_METHODS: dict[str, dict[str, Any]] = {
    "scipy-percentile": {"lib": "scipy", "method": "percentile"},
    "scipy-bca": {"lib": "scipy", "method": "BCa"},
    "varkit-percentile": {"lib": "varkit", "method": "percentile", "scheme": "multinomial"},
    "varkit-bca": {"lib": "varkit", "method": "bca", "scheme": "multinomial"},
    "varkit-percentile-poisson": {"lib": "varkit", "method": "percentile", "scheme": "poisson"},
    "varkit-bca-poisson": {"lib": "varkit", "method": "bca", "scheme": "poisson"},
}
PERMUTATION_METHODS: dict[str, dict[str, Any]] = {
    "scipy-sign-flip": {"lib": "scipy"},
    "varkit-sign-flip": {"lib": "varkit"},
}

DEFAULT_PLAN = {
    "cpu": {
        "mean1e6": [
            "scipy-percentile",
            "varkit-percentile",
            "varkit-bca",
            "varkit-percentile-poisson",
            "varkit-bca-poisson",
        ],
        "bca1e5": ["scipy-bca", "varkit-bca", "varkit-bca-poisson"],
        "perm1e5": ["scipy-sign-flip", "varkit-sign-flip"],
    },
    "gpu": {
        "mean1e6": ["varkit-percentile", "varkit-bca", "varkit-percentile-poisson"],
        "mean1e8": ["varkit-percentile", "varkit-percentile-poisson"],
        "bca1e5": ["varkit-bca"],
        "perm1e5": ["varkit-sign-flip"],
    },
}
# scipy takes about a minute a run here, and the CPU engine at n = 1e8 (the GPU run's
# baseline) as long: fewer repeats for those
SCIPY_REPEATS = 2
SLOW_CPU_CASES = {"mean1e8"}


def _rss_kib() -> tuple[int, int]:
    """(VmRSS, VmHWM) of this process in KiB."""
    values = {}
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, amount = line.split()[:2]
                values[key] = int(amount)
    return values["VmRSS:"], values["VmHWM:"]


def _reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:  # not permitted: the peak then includes earlier allocations
        pass


def _data(case: str) -> tuple[np.ndarray, np.ndarray]:
    n = CASES[case][0]
    rng = np.random.default_rng(12345)
    x = rng.exponential(size=n)
    y = x + rng.normal(0.01, 1.0, size=n)
    return x, y


def _run_once(case: str, method: str, device: str, x: np.ndarray, y: np.ndarray, size: int) -> Any:
    from scipy import stats

    from varkit.gpu import bootstrap, permutation_test

    n_resamples = CASES[case][1]
    if CASES[case][2] == "paired-permutation":
        if method.startswith("scipy"):
            res = stats.permutation_test(
                (x[:size] - y[:size],),
                lambda d, axis: np.mean(d, axis=axis),
                permutation_type="samples",
                n_resamples=n_resamples,
                vectorized=True,
                batch=max(1, (1 << 24) // size),  # unbatched it needs > 24 GiB here
                random_state=1,
            )
            return float(res.pvalue), None
        r = permutation_test(
            x[:size], y[:size], paired=True, n_resamples=n_resamples, random_state=1, device=device
        )
        return r.pvalue, None
    opts = BOOTSTRAP_METHODS[method]
    if opts["lib"] == "scipy":
        batch = max(1, (1 << 24) // size)
        res = stats.bootstrap(
            (x[:size],),
            np.mean,
            n_resamples=n_resamples,
            method=opts["method"],
            batch=batch,
            random_state=1,
        )
        ci = res.confidence_interval
        return float(ci.low), float(ci.high)
    r = bootstrap(
        x[:size],
        "mean",
        n_resamples=n_resamples,
        method=opts["method"],
        scheme=opts["scheme"],
        random_state=1,
        device=device,
    )
    return r.ci_low, r.ci_high


def child(case: str, method: str, device: str, repeats: int) -> dict[str, Any]:
    x, y = _data(case)
    _run_once(case, method, device, x, y, 2000)  # warm-up: imports, JIT, CUDA context
    times, peaks, out = [], [], None
    for _ in range(repeats):
        rss_before, _ = _rss_kib()
        _reset_peak()
        start = time.perf_counter()
        out = _run_once(case, method, device, x, y, x.size)
        times.append(time.perf_counter() - start)
        peaks.append((_rss_kib()[1] - rss_before) / 1024)
    return {
        "case": case,
        "method": method,
        "device": device,
        "n": CASES[case][0],
        "n_resamples": CASES[case][1],
        "seconds": times,
        "median_s": statistics.median(times),
        "peak_mib": max(peaks),
        "output": out,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    parser.add_argument("--cases", default=None, help="comma-separated subset of cases")
    parser.add_argument("--methods", default=None, help="comma-separated subset of methods")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", default=None, help="append JSON lines here")
    parser.add_argument(
        "--no-baseline-for", default="", help="cases whose CPU baseline a GPU run skips"
    )
    parser.add_argument("--child", nargs=3, metavar=("CASE", "METHOD", "DEVICE"))
    args = parser.parse_args()
    if args.child:
        case, method, device = args.child
        print(json.dumps(child(case, method, device, args.repeats)))
        return
    plan = DEFAULT_PLAN[args.device]
    if args.cases:
        plan = {c: plan.get(c, []) for c in args.cases.split(",")}
    rows = []
    for case, methods in plan.items():
        if args.methods:
            methods = [m for m in methods if m in args.methods.split(",")]
        runs = [(m, args.device) for m in methods]
        if args.device == "gpu":  # the CPU engine is the GPU's baseline, in the same run
            baseline = [m for m in methods if m.startswith("varkit")]
            if case in SLOW_CPU_CASES:
                baseline = baseline[-1:]
            if case in args.no_baseline_for.split(","):
                baseline = []
            runs = [(m, "cpu") for m in baseline] + runs
        for method, device in runs:
            slow = method.startswith("scipy") or (device == "cpu" and case in SLOW_CPU_CASES)
            repeats = (
                min(args.repeats, 1 if case in SLOW_CPU_CASES else SCIPY_REPEATS)
                if slow
                else args.repeats
            )
            cmd = [
                sys.executable,
                __file__,
                "--repeats",
                str(repeats),
                "--child",
                case,
                method,
                device,
            ]
            proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
            if proc.returncode != 0:
                print(f"{case} {method} {device}: failed\n{proc.stderr[-2000:]}", file=sys.stderr)
                continue
            row = json.loads(proc.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(
                f"{case:8s} {method:26s} {device:4s} median {row['median_s']:8.3f} s  "
                f"peak {row['peak_mib']:8.1f} MiB  {row['output']}",
                flush=True,
            )
            if args.json:
                with open(args.json, "a") as handle:
                    handle.write(json.dumps(row) + "\n")
    _ratios(rows)


def _ratios(rows: list[dict[str, Any]]) -> None:
    """Print each varkit run's speed-up against the case's baseline measured in this run."""
    for case in dict.fromkeys(r["case"] for r in rows):
        here = [r for r in rows if r["case"] == case]
        base = next((r for r in here if r["method"].startswith("scipy")), None)
        if base is None:
            base = next((r for r in here if r["device"] == "cpu"), None)
        if base is None:
            continue
        for r in here:
            if r is base:
                continue
            ratio = base["median_s"] / r["median_s"]
            print(
                f"{case}: {r['method']} on {r['device']} is {ratio:.1f}x "
                f"{base['method']} on {base['device']}"
            )


if __name__ == "__main__":
    main()
