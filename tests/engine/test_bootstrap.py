"""The Poisson bootstrap over partitions gives the in-memory interval for the same seed."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from tests.engine.conftest import make_log
from varkit.cli.main import cli
from varkit.gpu import bootstrap
from varkit.gpu.logs import partitioned_bootstrap as bootstrap_log
from varkit.io import ROW_ID, Column, read_all
from varkit.results import ResultSet, load_json_schema

RTOL = 1e-10


def in_memory(folder: Path, column: str, statistic: str, **kwargs: Any) -> Any:
    """varkit.gpu.bootstrap on the whole log with the partitions' row ids (pandas engine)."""
    frame = read_all(str(folder / "part-*"), [Column(column), Column("variant", "label")])
    if statistic == "mean_difference":
        a = frame[frame["variant"] == "control"]
        b = frame[frame["variant"] == "treatment"]
        data: Any = (a[column], b[column])
        ids = np.r_[a[ROW_ID].to_numpy(), b[ROW_ID].to_numpy()]
    else:
        data, ids = frame[column], frame[ROW_ID].to_numpy()
    return bootstrap(data, statistic, scheme="poisson", row_ids=ids, device="cpu", **kwargs)


def assert_same(a: Any, b: Any) -> None:
    np.testing.assert_allclose(
        [a.estimate, a.ci_low, a.ci_high, a.stderr],
        [b.estimate, b.ci_low, b.ci_high, b.stderr],
        rtol=RTOL,
    )


@pytest.mark.parametrize(
    ("statistic", "column", "method", "by"),
    [
        ("mean", "revenue", "bca", None),
        ("proportion", "converted", "percentile", None),
        ("mean_difference", "revenue", "bca", "variant"),
    ],
)
def test_same_interval_in_memory_and_on_1_3_7_partitions(
    tmp_path: Path, statistic: str, column: str, method: str, by: str | None
) -> None:
    make_log(tmp_path)
    kwargs = {"n_resamples": 400, "method": method, "random_state": 11}
    want = in_memory(tmp_path, column, statistic, **kwargs)
    for engine, n_parts in (("chunks", 1), ("dask", 1), ("dask", 3), ("dask", 7)):
        got = bootstrap_log(
            str(tmp_path / "part-*"),
            column,
            statistic,
            by=by,
            engine=engine,
            npartitions=n_parts,
            device="cpu",
            **kwargs,
        )
        assert_same(got, want)
        assert got.details["scheme"] == "poisson" and got.details["seed"] == 11


def test_same_interval_on_a_two_process_distributed_cluster(tmp_path: Path, client: Any) -> None:
    make_log(tmp_path)
    want = in_memory(tmp_path, "revenue", "mean", n_resamples=400, random_state=5)
    got = bootstrap_log(
        str(tmp_path / "part-*"),
        "revenue",
        n_resamples=400,
        random_state=5,
        npartitions=5,
        device="cpu",
        client=client,
    )
    assert_same(got, want)
    assert got.details["engine"] == "dask-distributed"


def test_ratio_matches_the_engine_and_a_zero_denominator_is_refused(tmp_path: Path) -> None:
    frame = make_log(tmp_path, n=2000)
    full = read_all(str(tmp_path / "part-*"), [Column("revenue")])
    want = bootstrap(
        (frame["revenue"], frame["cost"]),
        "ratio",
        scheme="poisson",
        row_ids=full[ROW_ID].to_numpy(),
        n_resamples=300,
        random_state=2,
        device="cpu",
    )
    got = bootstrap_log(
        str(tmp_path / "part-*"),
        "revenue",
        "ratio",
        second="cost",
        n_resamples=300,
        random_state=2,
        npartitions=3,
        device="cpu",
    )
    assert_same(got, want)
    pd.DataFrame({"a": [1.0, 2.0], "b": [0.0, 0.0]}).to_csv(tmp_path / "z.csv", index=False)
    with pytest.raises(ValueError, match="`denominator` must not sum to zero"):
        bootstrap_log(
            str(tmp_path / "z.csv"), "a", "ratio", second="b", n_resamples=10, engine="chunks"
        )


def test_memory_stays_at_one_partition_while_the_log_is_larger(tmp_path: Path) -> None:
    """200,000 rows (3.2 MB as two float64 columns in memory) read 5,000 rows at a time."""
    n = 200_000
    x = np.random.default_rng(3).exponential(size=n)
    pd.DataFrame({"x": x}).to_parquet(tmp_path / "big.parquet", row_group_size=5_000)
    log_bytes = n * 16  # x and its row id
    tracemalloc.start()
    try:
        got = bootstrap_log(
            str(tmp_path / "big.parquet"),
            "x",
            n_resamples=50,
            method="percentile",
            random_state=4,
            engine="chunks",
            device="cpu",
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < log_bytes / 4, peak
    assert got.details["n_partitions"] == 40
    want = bootstrap(
        x,
        "mean",
        scheme="poisson",
        n_resamples=50,
        method="percentile",
        random_state=4,
        device="cpu",
    )
    assert_same(got, want)


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_cli_dask_engine_equals_pandas_engine_with_poisson_and_json_is_valid(
    tmp_path: Path, client: Any
) -> None:
    make_log(tmp_path)
    glob = str(tmp_path / "part-*")
    common = [
        "bootstrap",
        glob,
        "-c",
        "revenue",
        "--statistic",
        "mean_difference",
        "--by",
        "variant",
        "--resamples",
        "300",
        "--seed",
        "9",
        "--format",
        "json",
    ]
    runs = [
        invoke(*common, "--scheme", "poisson"),
        invoke(*common, "--engine", "dask", "--partition-rows", "700"),
        invoke(*common, "--engine", "dask", "--scheduler", client.scheduler.address),
    ]
    results = []
    for code, out, err in runs:
        assert code == 0, err
        document = json.loads(out)
        jsonschema.validate(document, load_json_schema())
        results.append(ResultSet.from_json(out)[0])
    for other in results[1:]:
        assert_same(other, results[0])
        assert other.group == results[0].group
    assert len(json.loads(runs[0][1])["provenance"]["inputs"]) == 2


def test_cli_missing_column_in_one_file_is_one_error_line(tmp_path: Path) -> None:
    make_log(tmp_path, n=200)
    pd.DataFrame({"cost": [1.0]}).to_csv(tmp_path / "part-2.csv", index=False)
    code, out, err = invoke(
        "bootstrap",
        str(tmp_path / "part-*"),
        "-c",
        "revenue",
        "--engine",
        "dask",
        "--resamples",
        "20",
    )
    assert code == 2
    assert err.strip().splitlines() == [err.strip()]
    assert err.startswith("error:") and "part-2.csv" in err and "'revenue'" in err


def test_cli_nan_in_a_later_partition_is_one_error_line_naming_the_column(
    tmp_path: Path,
) -> None:
    values = np.ones(300)
    frame = pd.DataFrame({"revenue": values})
    frame.loc[250, "revenue"] = np.nan
    frame.to_parquet(tmp_path / "log.parquet")
    code, _, err = invoke(
        "bootstrap",
        str(tmp_path / "log.parquet"),
        "-c",
        "revenue",
        "--engine",
        "dask",
        "--partition-rows",
        "100",
        "--resamples",
        "20",
    )
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error:")
    assert "column 'revenue'" in err and "data rows 201-300" in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--cluster", "variant"], "--cluster and --strata need --engine pandas"),
        (["--scheme", "multinomial"], "uses Poisson weights"),
    ],
)
def test_cli_dask_refuses_what_it_cannot_do(tmp_path: Path, extra: list[str], message: str) -> None:
    make_log(tmp_path, n=100)
    code, _, err = invoke(
        "bootstrap", str(tmp_path / "part-*"), "-c", "revenue", "--engine", "dask", *extra
    )
    assert code == 2 and err.startswith("error:") and message in err


def test_cli_help_says_dask_implies_poisson() -> None:
    code, out, _ = invoke("bootstrap", "--help")
    assert code == 0
    assert "--engine dask implies poisson" in " ".join(out.split())


def _vm_hwm(status: str) -> int:
    """Peak resident memory in bytes from the text of /proc/<pid>/status."""
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024  # kB


@pytest.mark.slow
def test_cluster_with_a_memory_limit_below_the_log_gives_the_right_interval(
    tmp_path: Path,
) -> None:
    """40M rows (640 MB once read: x and row ids) on 2 workers limited to 512 MiB each.

    A worker's interpreter and libraries alone take about 250 MiB, so each has about 260
    MiB for data, a quarter of the log. Spilling and pausing are off, so a worker that
    outgrew the limit would be killed by its nanny (at 95%) and the run would fail;
    its peak RSS (``VmHWM``) is checked too. The answer is the chunked engine's (one
    piece at a time in this process, equal to the in-memory engine in the tests above)
    and the exact mean of the generated values.
    """
    import dask
    import pyarrow as pa
    import pyarrow.parquet as pq
    from distributed import Client, LocalCluster

    n, group = 40_000_000, 1_000_000
    path = tmp_path / "big.parquet"
    with pq.ParquetWriter(path, pa.schema([("x", pa.float64())])) as writer:
        for start in range(0, n, group):
            i = np.arange(start, start + group)
            # x cycles through 0.0, 0.1, ..., 99.9 (mean 49.95); Parquet stores it as a
            # dictionary, so the file is small while the rows take 8 bytes each in memory
            writer.write_table(pa.table({"x": ((i * 7919) % 1000) / 10.0}))
    limit = 512 * 2**20
    assert n * 16 > limit  # the log once read (x and the row ids) exceeds a worker's limit
    kwargs: dict[str, Any] = {
        "n_resamples": 20,
        "method": "percentile",
        "random_state": 8,
        "rows_per_partition": 500_000,
        "device": "cpu",
    }
    memory = "distributed.worker.memory"
    off = {f"{memory}.target": False, f"{memory}.spill": False, f"{memory}.pause": False}
    with (
        dask.config.set(off),
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            memory_limit=limit,
        ) as cluster,
        Client(cluster) as client,
    ):
        got = bootstrap_log(str(path), "x", client=client, **kwargs)
        # VmHWM, not ru_maxrss: ru_maxrss survives exec, so a worker spawned by a large
        # pytest process would report the parent's size. A bound method of a Path is
        # picklable by reference to the stdlib (the workers cannot import this module).
        status = client.run(Path("/proc/self/status").read_text)
    peaks = [_vm_hwm(text) for text in status.values()]
    assert len(peaks) == 2 and max(peaks) < limit, peaks
    assert got.details["n_partitions"] == 80 and got.n == n
    assert got.estimate == pytest.approx(49.95, rel=1e-12)
    want = bootstrap_log(str(path), "x", engine="chunks", **kwargs)
    assert_same(got, want)


# -- issue 14: memory, range, extreme values on the partitioned path ----------------------
def test_resamples_past_memory_are_refused_before_reading(tmp_path: Path) -> None:
    from varkit.errors import VarkitError

    make_log(tmp_path, n=50)
    with pytest.raises(VarkitError, match="would need about .* of memory"):
        bootstrap_log(str(tmp_path / "part-*"), "revenue", n_resamples=10**12, engine="chunks")


@pytest.mark.parametrize("method", ["percentile", "basic", "bca"])
def test_proportion_on_partitions_stays_in_0_1(tmp_path: Path, method: str) -> None:
    (tmp_path / "p.csv").write_text("x\n" + "1\n" * 9 + "0\n")
    r = bootstrap_log(
        str(tmp_path / "p.csv"),
        "x",
        "proportion",
        n_resamples=400,
        method=method,
        random_state=2,
        engine="chunks",
        rows_per_partition=3,
    )
    assert 0.0 <= r.ci_low <= r.estimate <= r.ci_high <= 1.0


def test_mean_past_float_range_on_partitions_is_an_error_not_a_warning(tmp_path: Path) -> None:
    import warnings

    from varkit.errors import VarkitError

    (tmp_path / "big.csv").write_text("x\n1e308\n1e308\n1e308\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(VarkitError, match="not a finite number"):
            bootstrap_log(str(tmp_path / "big.csv"), "x", n_resamples=50, engine="chunks")
