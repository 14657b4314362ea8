"""varkit.fairness: speed of per-ad shuffle distances, their bootstrap, and chunked memory.

Data: a generated delivery log of 10 million (ad, user) impression rows over 5,000 ads
(seed 20261126): ad sizes ~ lognormal, 2 million users with a fixed sex (female, male,
3% unknown), each ad's female share ~ N(0.5, 0.08), impressions per row 1 + Poisson(1).
It is written once to ``/tmp/varkit_fairness_bench/`` as Parquet (with the eligible table)
and reused by later runs.

Three parts, medians of repeated runs in one process after a warm-up (numba compilation
is not timed), ratios from the same run:

(a) point metrics: ``vrs_metrics(log, eligible, "sex", n_resamples=0)`` on the in-memory
    DataFrame vs a bare ``log.groupby(["ad_id", "sex"])["impressions"].sum()``
    (goal: varkit at least half the groupby's speed);
(b) per-ad bootstrap intervals, 200 resamples of users per ad (goal: within 20x the
    point-metric time), and on 500 of the ads the user-weighting step through the shared
    engine (``replicate_sums``) vs the former NumPy code (``weights @ rows``);
(c) peak resident memory (VmHWM, reset before, minus the resident memory before), each
    case in a fresh process: the counts (``count_delivery`` on the whole log vs
    ``count_delivery_chunks`` over 1-million-row Parquet batches, per ad and per
    (ad, user)), and the per-ad bootstrap (200 resamples) on the whole log in memory vs
    ``vrs_metrics_chunks`` over the same batches (spilled by ad, ``bucket_rows`` = the
    batch size); the two bootstraps' results are compared (SHA-256 of their JSON). The
    bootstrap cases first run on 2,000 rows so that loading numba is not counted.

Run by hand (about 4-6 minutes on 2 cores, peak memory about 2.5 GiB)::

    python benchmarks/bench_fairness.py
    python benchmarks/bench_fairness.py --repeats 3 --boot-repeats 1   # quicker
    python benchmarks/bench_fairness.py --rows 200000 --ads 500 --users 40000  # smoke test

Results are recorded in benchmarks/fairness_results.md.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

DATA_DIR = "/tmp/varkit_fairness_bench"
SEED = 20261126
N_ADS, N_ROWS, N_USERS = 5000, 10_000_000, 2_000_000
CHUNK_ROWS = 1_000_000
# set by configure(): the full-size data keep their original paths
LOG = os.path.join(DATA_DIR, "impressions.parquet")
ELIGIBLE = os.path.join(DATA_DIR, "eligible.parquet")


def configure(rows: int, ads: int, users: int, chunk_rows: int) -> None:
    """Sizes of the generated log; other sizes get their own files."""
    global N_ROWS, N_ADS, N_USERS, CHUNK_ROWS, LOG, ELIGIBLE
    N_ROWS, N_ADS, N_USERS, CHUNK_ROWS = rows, ads, users, chunk_rows
    if (rows, ads, users) != (10_000_000, 5000, 2_000_000):
        folder = os.path.join(DATA_DIR, f"{rows}-{ads}-{users}")
        LOG = os.path.join(folder, "impressions.parquet")
        ELIGIBLE = os.path.join(folder, "eligible.parquet")


def generate() -> None:
    """Write the log and the eligible table (skipped when both exist)."""
    if os.path.exists(LOG) and os.path.exists(ELIGIBLE):
        return
    os.makedirs(os.path.dirname(LOG), exist_ok=True)
    rng = np.random.default_rng(SEED)
    size = rng.lognormal(0.0, 0.5, N_ADS)
    ad = np.sort(rng.choice(N_ADS, size=N_ROWS, p=size / size.sum()))
    user_sex = rng.choice(3, size=N_USERS, p=[0.49, 0.48, 0.03])
    female_share = np.clip(0.5 + rng.normal(0.0, 0.08, N_ADS), 0.05, 0.95)
    row_sex = np.where(
        rng.random(N_ROWS) < 0.03, 2, (rng.random(N_ROWS) >= female_share[ad]).astype(int)
    )
    user = np.empty(N_ROWS, np.int64)
    for k in range(3):
        pool = np.flatnonzero(user_sex == k)
        rows = row_sex == k
        user[rows] = pool[rng.integers(0, pool.size, int(rows.sum()))]
    names = np.array(["female", "male", "unknown"])
    ad_ids = np.array([f"ad_{i:05d}" for i in range(N_ADS)])
    log = pd.DataFrame(
        {
            "ad_id": ad_ids[ad],
            "user_id": user,
            "impressions": 1 + rng.poisson(1.0, N_ROWS),
            "sex": names[row_sex],
        }
    )
    log.to_parquet(LOG, index=False)
    eligible_female = np.clip(female_share + rng.normal(0.0, 0.03, N_ADS), 0.05, 0.95)
    total = rng.integers(20_000, 200_000, N_ADS)
    female = np.round(total * eligible_female)
    pd.DataFrame(
        {
            "ad_id": np.repeat(ad_ids, 2),
            "attribute": "sex",
            "group": np.tile(["female", "male"], N_ADS),
            "eligible": np.column_stack([female, total - female]).ravel(),
        }
    ).to_parquet(ELIGIBLE, index=False)


def timed(func: Callable[[], Any], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return times


def memory_kib() -> tuple[int, int]:
    """(VmRSS, VmHWM) of this process in KiB."""
    values = {}
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, amount, _ = line.split()
                values[key] = int(amount)
    return values["VmRSS:"], values["VmHWM:"]


def memory_child(mode: str, resamples: int) -> None:
    """Run one memory case in this (fresh) process; print seconds, extra peak MiB, rows."""
    import hashlib

    import pyarrow.parquet as pq

    from varkit.fairness import (
        count_delivery,
        count_delivery_chunks,
        vrs_metrics,
        vrs_metrics_chunks,
    )

    eligible = pd.read_parquet(ELIGIBLE)
    if mode.startswith("boot"):
        # load numba and the compiled kernels first: a fixed ~100 MiB, not the log's
        head = next(pq.ParquetFile(LOG).iter_batches(batch_size=2000)).to_pandas()
        vrs_metrics(head, eligible, "sex", n_resamples=resamples, random_state=0)
        del head
    before, _ = memory_kib()
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")  # reset VmHWM to the current RSS
    start = time.perf_counter()
    batches = (
        batch.to_pandas() for batch in pq.ParquetFile(LOG).iter_batches(batch_size=CHUNK_ROWS)
    )
    digest = "-"
    if mode == "whole":
        rows = len(count_delivery(pd.read_parquet(LOG), "sex").table)
    elif mode in ("chunks-by-user", "chunks-by-ad"):
        counts = count_delivery_chunks(batches, "sex", by_user=mode == "chunks-by-user")
        rows = len(counts.table)
    else:
        options: dict[str, Any] = dict(n_resamples=resamples, random_state=7)
        if mode == "boot-whole":
            rs = vrs_metrics(pd.read_parquet(LOG), eligible, "sex", **options)
        else:
            rs = vrs_metrics_chunks(batches, eligible, "sex", bucket_rows=CHUNK_ROWS, **options)
        rows = len(rs)
    seconds = time.perf_counter() - start
    _, peak = memory_kib()
    if mode.startswith("boot"):
        digest = hashlib.sha256(rs.to_json().encode()).hexdigest()[:12]
    print(f"{seconds:.3f} {(peak - before) / 1024:.0f} {rows} {digest}")


MEMORY_CASES = ("whole", "chunks-by-ad", "chunks-by-user", "boot-whole", "boot-chunks")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of (a)")
    parser.add_argument("--boot-repeats", type=int, default=3, help="timed runs of (b)")
    parser.add_argument("--resamples", type=int, default=200)
    parser.add_argument("--rows", type=int, default=N_ROWS, help="log rows (smoke: 200000)")
    parser.add_argument("--ads", type=int, default=N_ADS)
    parser.add_argument("--users", type=int, default=N_USERS)
    parser.add_argument("--chunk-rows", type=int, default=None, help="default: min(1M, rows/10)")
    parser.add_argument("--memory-child", choices=MEMORY_CASES)
    args = parser.parse_args()
    chunk_rows = args.chunk_rows or min(1_000_000, max(1, args.rows // 10))
    configure(args.rows, args.ads, args.users, chunk_rows)
    if args.memory_child:
        memory_child(args.memory_child, args.resamples)
        return

    from varkit.fairness import count_delivery, vrs_metrics
    from varkit.fairness.uncertainty import _resample_weights, replicate_counts

    generate()
    log = pd.read_parquet(LOG)
    eligible = pd.read_parquet(ELIGIBLE)
    print(f"# varkit.fairness benchmark, {datetime.date.today()}, {platform.node()}")
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
        f"numpy {np.__version__}, pandas {pd.__version__}; "
        f"load average before: {os.getloadavg()[0]:.2f}"
    )
    print(
        f"log: {len(log):,} rows, {log['ad_id'].nunique():,} ads, {N_USERS:,} users, seed {SEED}\n"
    )

    # warm-up: numba compilation and pandas code paths, on a few ads
    few = log[log["ad_id"].isin(log["ad_id"].unique()[:20])]
    vrs_metrics(few, eligible, "sex", n_resamples=args.resamples, random_state=0)

    # (a) point metrics vs groupby, interleaved so that load changes hit both
    groupby_t, point_t = [], []
    for _ in range(args.repeats):
        groupby_t += timed(lambda: log.groupby(["ad_id", "sex"])["impressions"].sum(), 1)
        point_t += timed(lambda: vrs_metrics(log, eligible, "sex", n_resamples=0), 1)
    groupby_s, point_s = statistics.median(groupby_t), statistics.median(point_t)
    print(f"## (a) point metrics ({N_ADS:,} ads, one attribute)\n")
    print("| method | median s | runs (s) |\n|---|---|---|")
    print(f"| pandas groupby-sum by (ad, sex) | {groupby_s:.2f} | {_runs(groupby_t)} |")
    print(f"| varkit `vrs_metrics(n_resamples=0)` | {point_s:.2f} | {_runs(point_t)} |")
    print(f"\nvarkit speed / groupby speed = **{groupby_s / point_s:.2f}** (goal >= 0.5)\n")

    # (b) per-ad bootstrap
    boot_t = timed(
        lambda: vrs_metrics(
            log, eligible, "sex", n_resamples=args.resamples, random_state=1, device="cpu"
        ),
        args.boot_repeats,
    )
    boot_s = statistics.median(boot_t)
    counts = count_delivery(log, "sex")
    table = counts.table[["female", "male"]]
    codes = np.asarray(table.index.codes[0])
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    stops = np.r_[starts[1:], len(codes)]
    starts, stops = starts[:500], stops[:500]
    values = table.to_numpy()
    per_ad = [values[a:b] for a, b in zip(starts, stops, strict=True)]
    elig = np.array([50_000.0, 50_000.0])

    def engine() -> None:
        for i, rows in enumerate(per_ad):
            replicate_counts(rows, elig, n_resamples=args.resamples, random_state=i)

    def former_numpy() -> None:
        for i, rows in enumerate(per_ad):
            rng = np.random.default_rng(i)
            weights = _resample_weights(rows.shape[0], args.resamples, "multinomial", rng)
            _ = weights @ rows
            rng.multinomial(100_000, elig / elig.sum(), size=args.resamples)

    engine_t = timed(engine, 3)
    numpy_t = timed(former_numpy, 3)
    print(f"## (b) per-ad bootstrap, {args.resamples} resamples of users per ad\n")
    print("| method | median s | runs (s) |\n|---|---|---|")
    print(
        f"| `vrs_metrics(n_resamples={args.resamples})`, {N_ADS:,} ads | {boot_s:.2f} "
        f"| {_runs(boot_t)} |"
    )
    print(f"\nbootstrap / point-metric time = **{boot_s / point_s:.1f}x** (goal <= 20x)\n")
    users = sum(r.shape[0] for r in per_ad)
    print(f"User weighting + eligible redraw alone, first 500 ads ({users:,} user rows):\n")
    print("| method | median s | runs (s) |\n|---|---|---|")
    print(
        f"| shared engine `replicate_sums` (numba) | {statistics.median(engine_t):.3f} "
        f"| {_runs(engine_t)} |"
    )
    print(
        f"| former NumPy: multinomial weights @ rows | {statistics.median(numpy_t):.3f} "
        f"| {_runs(numpy_t)} |"
    )
    print(
        f"\nengine speed-up: **{statistics.median(numpy_t) / statistics.median(engine_t):.1f}x**\n"
    )

    # (c) memory, each case in a fresh process
    batch = f"{CHUNK_ROWS:,}-row batches"
    print("## (c) peak memory (fresh process each)\n")
    print("| path | s | extra peak MiB | rows of the counts / results | results digest |")
    print("|---|---|---|---|---|")
    digests = {}
    for mode, what in (
        ("whole", "read the whole log, `count_delivery` per (ad, user)"),
        ("chunks-by-user", f"`count_delivery_chunks`, {batch}, per (ad, user)"),
        ("chunks-by-ad", f"`count_delivery_chunks`, {batch}, per ad (`by_user=False`)"),
        ("boot-whole", f"read the whole log, `vrs_metrics(n_resamples={args.resamples})`"),
        (
            "boot-chunks",
            f"`vrs_metrics_chunks(n_resamples={args.resamples})`, {batch}, "
            f"`bucket_rows={CHUNK_ROWS:,}`",
        ),
    ):
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--memory-child",
                mode,
                "--rows",
                str(N_ROWS),
                "--ads",
                str(N_ADS),
                "--users",
                str(N_USERS),
                "--chunk-rows",
                str(CHUNK_ROWS),
                "--resamples",
                str(args.resamples),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        digests[mode] = out[3]
        print(f"| {what} | {float(out[0]):.2f} | {out[1]} | {int(out[2]):,} | {out[3]} |")
    same = digests["boot-whole"] == digests["boot-chunks"]
    print(f"\nchunked bootstrap results identical to in-memory: **{same}**")
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


def _runs(times: list[float]) -> str:
    return ", ".join(f"{t:.2f}" for t in times)


if __name__ == "__main__":
    main()
