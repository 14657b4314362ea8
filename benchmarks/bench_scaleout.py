"""Scale-out throughput: per-ad shuffle distance with a 200-replicate Poisson user bootstrap.

Generates an impression log as Parquet (row groups of ``--row-group`` rows, files of
``--file-rows`` rows; written chunk by chunk, never all in memory), then runs
:func:`varkit.fairness.logs.vrs_log` on it

* ``chunks``: pandas-in-chunks in one process (one row group at a time), and
* ``dask``: varkit's own local cluster (``--scheduler local:N``: a
  ``distributed.LocalCluster`` of ``--workers`` single-thread worker processes, glibc's
  malloc thresholds), or ``--scheduler ADDRESS`` for an existing cluster,

and reports rows/s, CPU seconds per million rows and peak memory: the chunked run's peak
RSS (``VmHWM`` of its own subprocess) and each Dask worker's (``VmHWM`` read in
the worker at the end; the worker processes are fresh, so it covers the warm-up too, a
10-replicate run of the same log). The chunked run is made twice: as it is (numba's kernels
on all cores) and with ``NUMBA_NUM_THREADS=1`` (strictly one core). All runs must give the
same intervals (checked). On a shared machine compare the CPU seconds per row (and the load
average printed with the figures), not only the wall times.

Full run (the issue's figures; about 0.7 GB of Parquet for 1e8 rows; run it once more with
--distributed-malloc to see distributed's MALLOC_TRIM_THRESHOLD_ effect):
    .venv/bin/python benchmarks/bench_scaleout.py --rows 1e8 --json benchmarks/out/scaleout.jsonl
Quick check:
    .venv/bin/python benchmarks/bench_scaleout.py --rows 1000000 --row-group 250000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

N_ADS = 1000
N_USERS = 2_000_000
SCHEMA_VERSION = "1"


def generate(folder: Path, n_rows: int, row_group: int, file_rows: int, seed: int) -> None:
    """Write the impression log and the eligible table (skipped when already there)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    marker = folder / f"done-{n_rows}-{row_group}-{file_rows}-{seed}-{SCHEMA_VERSION}"
    if marker.exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("impressions-*.parquet"):
        old.unlink()
    rng = np.random.default_rng(seed)
    # each ad's delivery skews toward one sex by its own propensity
    propensity = rng.beta(8, 8, size=N_ADS)
    written = 0
    file_index = 0
    while written < n_rows:
        rows_in_file = min(file_rows, n_rows - written)
        path = folder / f"impressions-{file_index:04d}.parquet"
        writer = None
        done = 0
        while done < rows_in_file:
            size = min(row_group, rows_in_file - done)
            ads = rng.integers(0, N_ADS, size=size)
            female = rng.random(size) < propensity[ads]
            table = pa.table(
                {
                    "ad_id": pa.array(ads, pa.int32()),
                    "user_id": pa.array(rng.integers(0, N_USERS, size=size), pa.int64()),
                    "impressions": pa.array(rng.integers(1, 4, size=size), pa.int16()),
                    "sex": pa.DictionaryArray.from_arrays(
                        pa.array(female.astype(np.int8)), pa.array(["male", "female"])
                    ),
                }
            )
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema)
            writer.write_table(table, row_group_size=size)
            done += size
        assert writer is not None
        writer.close()
        written += rows_in_file
        file_index += 1
    eligible = pd.DataFrame(
        {
            "ad_id": np.repeat([str(a) for a in range(N_ADS)], 2),
            "attribute": "sex",
            "group": np.tile(["female", "male"], N_ADS),
            "eligible": np.tile([500_000, 500_000], N_ADS),
        }
    )
    eligible.to_csv(folder / "eligible.csv", index=False)
    marker.touch()


def _run(folder: Path, engine: str, resamples: int, seed: int, client: Any = None) -> Any:
    from varkit.engine import LogSource
    from varkit.fairness.logs import vrs_log

    eligible = pd.read_csv(folder / "eligible.csv", dtype={"ad_id": str})
    return vrs_log(
        LogSource(str(folder / "impressions-*.parquet")),
        eligible,
        "sex",
        n_resamples=resamples,
        random_state=seed,
        eligible_sampling="fixed",
        engine=engine,
        client=client,
    )


def _endpoints(results: Any) -> list[list[float]]:
    return [[r.estimate, r.ci_low, r.ci_high] for r in results]


def run_chunks(folder: Path, resamples: int, seed: int) -> dict[str, Any]:
    """The chunked single-process run (call in a fresh process: its peak RSS is reported)."""
    import numba

    _run(folder, "chunks", 10, seed)  # warm-up on the same log: numba JIT, imports
    start = time.perf_counter()
    cpu = time.process_time()
    results = _run(folder, "chunks", resamples, seed)
    seconds = time.perf_counter() - start
    peak = _worker_peak_rss()
    return {
        "seconds": seconds,
        "cpu_seconds": time.process_time() - cpu,
        "numba_threads": numba.get_num_threads(),
        "peak_rss_bytes": peak,
        "endpoints": _endpoints(results),
    }


def _chunks_in_subprocess(
    folder: Path, resamples: int, seed: int, numba_threads: int | None
) -> dict[str, Any]:
    env = dict(os.environ)
    if numba_threads is not None:
        env["NUMBA_NUM_THREADS"] = str(numba_threads)
    command = [sys.executable, __file__, "--only-chunks", "--data", str(folder)]
    command += ["--resamples", str(resamples), "--seed", str(seed)]
    done = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    record: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return record


def _worker_peak_rss() -> int:
    """This process's peak RSS so far: VmHWM of /proc/self/status (kB).

    Not ``ru_maxrss``: Linux keeps it across exec, so a process spawned by a larger parent
    would report the parent's size.
    """
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


def _worker_cpu() -> float:
    return time.process_time()


def _worker_malloc_setting() -> str:
    return os.environ.get("MALLOC_TRIM_THRESHOLD_", "unset (glibc's dynamic thresholds)")


def run_dask(
    folder: Path,
    resamples: int,
    seed: int,
    workers: int,
    scheduler: str | None,
    distributed_malloc: bool = False,
    threads_per_worker: int = 1,
) -> dict[str, Any]:
    from distributed import Client, LocalCluster

    from varkit.engine.reduce import connect

    if scheduler is not None:
        client = Client(scheduler)
    elif distributed_malloc:
        # distributed's own worker environment (MALLOC_TRIM_THRESHOLD_=65536)
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=threads_per_worker,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
        client = Client(cluster)
    elif threads_per_worker != 1:
        raise SystemExit("--threads-per-worker other than 1 needs --distributed-malloc")
    else:
        client = connect(f"local:{workers}")  # what `--scheduler local:N` starts
    cluster = client.cluster if scheduler is None else None
    try:
        _run(folder, "dask", 10, seed, client)  # warm-up: JIT in every worker
        worker_cpu = sum(client.run(_worker_cpu).values())
        start = time.perf_counter()
        client_cpu = time.process_time()
        results = _run(folder, "dask", resamples, seed, client)
        seconds = time.perf_counter() - start
        client_cpu = time.process_time() - client_cpu
        worker_cpu = sum(client.run(_worker_cpu).values()) - worker_cpu
        peaks = client.run(_worker_peak_rss)
        malloc = sorted(set(client.run(_worker_malloc_setting).values()))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return {
        "seconds": seconds,
        "worker_cpu_seconds": worker_cpu,
        "worker_malloc_trim_threshold": ", ".join(malloc),
        "client_cpu_seconds": client_cpu,
        "worker_peak_rss_bytes": sorted(peaks.values()),
        "endpoints": _endpoints(results),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=float, default=1e8, help="log rows (default 1e8)")
    parser.add_argument("--resamples", type=int, default=200)
    parser.add_argument("--row-group", type=int, default=1_000_000, help="rows per row group")
    parser.add_argument("--file-rows", type=int, default=10_000_000, help="rows per file")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads-per-worker", type=int, default=1)
    parser.add_argument("--scheduler", default=None, help="existing cluster's address")
    parser.add_argument("--data", default="/tmp/varkit_bench_scaleout", help="log folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--distributed-malloc",
        action="store_true",
        help="start the workers with distributed's MALLOC_TRIM_THRESHOLD_=65536 instead of "
        "varkit's local cluster (which leaves glibc's dynamic thresholds; setting it disables "
        "glibc's dynamic mmap threshold: every large temporary array is then mmap-ed and "
        "page-faulted afresh, about 8-13%% more CPU for this pandas work)",
    )
    parser.add_argument("--json", default=None, help="append the figures to this JSON-lines file")
    parser.add_argument("--only-chunks", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    folder = Path(args.data)
    n_rows = int(args.rows)
    if args.only_chunks:
        print(json.dumps(run_chunks(folder, args.resamples, args.seed)))
        return
    start = time.perf_counter()
    generate(folder, n_rows, args.row_group, args.file_rows, args.seed)
    disk = sum(p.stat().st_size for p in folder.glob("impressions-*.parquet"))
    print(
        f"log: {n_rows:,} rows, {disk / 2**20:.1f} MiB of Parquet in {folder} "
        f"(ready in {time.perf_counter() - start:.1f} s)",
        flush=True,
    )
    load_before = os.getloadavg()[0]
    chunked = _chunks_in_subprocess(folder, args.resamples, args.seed, None)
    single = _chunks_in_subprocess(folder, args.resamples, args.seed, 1)
    dask_run = run_dask(
        folder,
        args.resamples,
        args.seed,
        args.workers,
        args.scheduler,
        args.distributed_malloc,
        args.threads_per_worker,
    )
    same = all(
        np.allclose(chunked["endpoints"], other["endpoints"], rtol=1e-10, equal_nan=True)
        for other in (single, dask_run)
    )
    per_m = 1e6 / n_rows
    record = {
        "rows": n_rows,
        "resamples": args.resamples,
        "ads": N_ADS,
        "parquet_bytes": disk,
        "row_group": args.row_group,
        "cpu_count": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg()[0],
        "chunks_seconds": chunked["seconds"],
        "chunks_numba_threads": chunked["numba_threads"],
        "chunks_rows_per_s": n_rows / chunked["seconds"],
        "chunks_cpu_s_per_mrow": chunked["cpu_seconds"] * per_m,
        "chunks_peak_rss_mib": chunked["peak_rss_bytes"] / 2**20,
        "chunks1_seconds": single["seconds"],
        "chunks1_rows_per_s": n_rows / single["seconds"],
        "chunks1_cpu_s_per_mrow": single["cpu_seconds"] * per_m,
        "chunks1_peak_rss_mib": single["peak_rss_bytes"] / 2**20,
        "dask_workers": args.workers if args.scheduler is None else "cluster",
        "dask_threads_per_worker": args.threads_per_worker,
        "dask_seconds": dask_run["seconds"],
        "dask_rows_per_s": n_rows / dask_run["seconds"],
        "dask_worker_cpu_s_per_mrow": dask_run["worker_cpu_seconds"] * per_m,
        "dask_client_cpu_seconds": dask_run["client_cpu_seconds"],
        "dask_worker_malloc_trim_threshold": dask_run["worker_malloc_trim_threshold"],
        "dask_worker_peak_rss_mib": [b / 2**20 for b in dask_run["worker_peak_rss_bytes"]],
        "speedup": chunked["seconds"] / dask_run["seconds"],
        "speedup_vs_1_thread": single["seconds"] / dask_run["seconds"],
        "same_intervals": bool(same),
    }
    print("| run | seconds | rows/s | CPU s per 1M rows | peak memory |")
    print("|---|---|---|---|---|")
    print(
        f"| pandas-in-chunks, 1 process, numba on {record['chunks_numba_threads']} threads | "
        f"{record['chunks_seconds']:.1f} | {record['chunks_rows_per_s']:.3g} | "
        f"{record['chunks_cpu_s_per_mrow']:.2f} | {record['chunks_peak_rss_mib']:.0f} MiB |"
    )
    print(
        f"| pandas-in-chunks, 1 process, NUMBA_NUM_THREADS=1 | {record['chunks1_seconds']:.1f} | "
        f"{record['chunks1_rows_per_s']:.3g} | {record['chunks1_cpu_s_per_mrow']:.2f} | "
        f"{record['chunks1_peak_rss_mib']:.0f} MiB |"
    )
    workers = ", ".join(f"{m:.0f}" for m in record["dask_worker_peak_rss_mib"])
    print(
        f"| dask, {record['dask_workers']} workers x {args.threads_per_worker} thread | "
        f"{record['dask_seconds']:.1f} | "
        f"{record['dask_rows_per_s']:.3g} | {record['dask_worker_cpu_s_per_mrow']:.2f} "
        f"(+ {record['dask_client_cpu_seconds']:.1f} s on the client) | "
        f"{workers} MiB per worker |"
    )
    print(f"worker MALLOC_TRIM_THRESHOLD_: {record['dask_worker_malloc_trim_threshold']}")
    print(
        f"speed-up {record['speedup']:.2f}x (vs NUMBA_NUM_THREADS=1: "
        f"{record['speedup_vs_1_thread']:.2f}x); same intervals: {record['same_intervals']}; "
        f"load average {load_before:.1f} -> {record['load_average_after']:.1f} "
        f"on {record['cpu_count']} CPUs"
    )
    if args.json:
        with open(args.json, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
