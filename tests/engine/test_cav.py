"""Crash-rate estimates over partitions and on a 2-worker cluster equal the in-memory ones."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from varkit.cav import (
    control_variate_estimate,
    importance_sampling_estimate,
    nde_estimate,
    sparse_control_variates,
)
from varkit.cav.logs import crash_rate_log, log_columns
from varkit.cav.scenarios import OvertakingScenario
from varkit.cli.main import cli
from varkit.engine.reduce import LogSource
from varkit.io.partitions import ROW_ID, read_all
from varkit.results import Result

SEED = 11


@pytest.fixture(scope="module")
def log_glob(tmp_path_factory: pytest.TempPathFactory) -> str:
    """4000 one-critical tests of the surrogate vehicle over a CSV and a Parquet file."""
    folder = tmp_path_factory.mktemp("cavlog")
    log = OvertakingScenario().simulate(4000, "surrogate", random_state=5)
    log.iloc[:2500].to_csv(folder / "tests-0.csv", index=False, float_format="%.17g")
    log.iloc[2500:].reset_index(drop=True).to_parquet(folder / "tests-1.parquet")
    return str(folder / "tests-*")


@pytest.fixture(scope="module")
def nde_glob(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The same layout with tests drawn from the naturalistic distribution (weights 1)."""
    folder = tmp_path_factory.mktemp("ndelog")
    log = OvertakingScenario().simulate(4000, "surrogate", testing="nde", random_state=5)
    log.iloc[:2500].to_csv(folder / "tests-0.csv", index=False, float_format="%.17g")
    log.iloc[2500:].reset_index(drop=True).to_parquet(folder / "tests-1.parquet")
    return str(folder / "tests-*")


def in_memory(pattern: str, method: str, crashes_per_control: float = 10.0) -> Result:
    """The in-memory estimator on the same rows, with the log's row ids keying the folds."""
    frame = read_all(pattern, log_columns(method))
    ids = frame[ROW_ID].to_numpy()
    controls = frame.filter(like="cv_")
    if method == "nde":
        return nde_estimate(frame["crash"], confidence=0.9)
    if method == "is":
        return importance_sampling_estimate(frame["crash"], frame["weight"], confidence=0.9)
    if method == "cv":
        return control_variate_estimate(
            frame["crash"],
            controls,
            weights=frame["weight"],
            confidence=0.9,
            control_names=list(controls.columns),
            metric="crash_rate",
            random_state=SEED,
            row_ids=ids,
        )
    return sparse_control_variates(
        frame["crash"],
        frame["weight"],
        frame["n_critical"],
        controls,
        pool_above=3,
        crashes_per_control=crashes_per_control,
        confidence=0.9,
        control_names=list(controls.columns),
        random_state=SEED,
        row_ids=ids,
    )


def assert_same(a: Result, b: Result) -> None:
    assert (a.method, a.n) == (b.method, b.n)
    for name in ("estimate", "stderr", "ci_low", "ci_high"):
        assert getattr(a, name) == pytest.approx(getattr(b, name), rel=1e-9, abs=0)
    for key in ("variance_reduction_factor", "per_test_variance", "n_crashes"):
        if key in b.details:
            assert a.details[key] == pytest.approx(b.details[key], rel=1e-9)
    for sa, sb in zip(a.details.get("strata", []), b.details.get("strata", []), strict=True):
        assert (sa["stratum"], sa["n"], sa["fold_sizes"]) == (
            sb["stratum"],
            sb["n"],
            sb["fold_sizes"],
        )
        assert sa["estimate"] == pytest.approx(sb["estimate"], rel=1e-9)
        # The binned controls are nearly collinear (condition numbers up to ~1e10 on the
        # correlation scale), so summation order moves single coefficients by ~1e-7
        # relative while the adjusted estimate agrees to 1e-9.
        np.testing.assert_allclose(sa["coefficients"], sb["coefficients"], rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("method", ["nde", "is", "cv", "scv"])
@pytest.mark.parametrize("partitions", [1, 3, 7])
def test_partitions_equal_in_memory(
    log_glob: str, nde_glob: str, method: str, partitions: int
) -> None:
    # nde ignores weights, so it runs on a log without any (test_nde_refuses_weights)
    pattern = nde_glob if method == "nde" else log_glob
    got = crash_rate_log(
        LogSource(pattern, npartitions=partitions),
        method=method,
        pool_above=3,
        confidence=0.9,
        random_state=SEED,
        engine="dask",
    )
    assert got.details["partitions"] >= partitions
    assert_same(got, in_memory(pattern, method))


def test_nde_refuses_weights_naming_importance_sampling(log_glob: str) -> None:
    from varkit.errors import VarkitError

    with pytest.raises(VarkitError, match=r"`weight` is not 1 .*row id .*importance sampling"):
        crash_rate_log(LogSource(log_glob, npartitions=2), method="nde", engine="chunks")


@pytest.mark.parametrize("method", ["nde", "is", "scv"])
def test_zero_crash_bound_equal_in_memory(tmp_path: Path, method: str) -> None:
    # a crash-free log: the exact zero-crash bound, the same over partitions
    log = OvertakingScenario().simulate(
        300, "cautious", testing="nde" if method == "nde" else "is", random_state=2
    )
    log["crash"] = 0
    path = tmp_path / "zero.csv"
    log.to_csv(path, index=False)
    got = crash_rate_log(
        LogSource(str(path), npartitions=3),
        method=method,
        pool_above=3,
        confidence=0.9,
        random_state=SEED,
        engine="chunks",
    )
    want = in_memory(str(path), method)
    assert got.estimate == want.estimate == 0.0
    assert got.ci_high == pytest.approx(want.ci_high, rel=1e-12) and got.ci_high > 0


@pytest.mark.parametrize("crashes_per_control", [0.0, 25.0])
def test_crash_pooling_equal_in_memory(log_glob: str, crashes_per_control: float) -> None:
    got = crash_rate_log(
        LogSource(log_glob, npartitions=3),
        method="scv",
        pool_above=3,
        crashes_per_control=crashes_per_control,
        confidence=0.9,
        random_state=SEED,
        engine="dask",
    )
    want = in_memory(log_glob, "scv", crashes_per_control)
    assert_same(got, want)
    assert got.details["pooled"] == want.details["pooled"]


@pytest.mark.parametrize("method", ["cv", "scv"])
def test_local_cluster_equals_in_memory(log_glob: str, method: str, client: object) -> None:
    got = crash_rate_log(
        LogSource(log_glob, rows_per_partition=900),
        method=method,
        pool_above=3,
        confidence=0.9,
        random_state=SEED,
        client=client,
    )
    assert got.details["partitions"] == 5  # 2500 rows -> 3 pieces of <= 900, 1500 -> 2
    assert_same(got, in_memory(log_glob, method))


def test_single_file_ids_are_positions(tmp_path: Path) -> None:
    # one CSV: the default row ids are the row positions the in-memory default uses
    log = OvertakingScenario().simulate(2000, "surrogate", random_state=2)
    path = tmp_path / "one.csv"
    log.to_csv(path, index=False, float_format="%.17g")
    got = crash_rate_log(LogSource(str(path), npartitions=4), random_state=1, engine="chunks")
    want = sparse_control_variates(
        log["crash"], log["weight"], log["n_critical"], log.filter(like="cv_"), random_state=1
    )
    assert_same(got, want)


def _cli(*args: str) -> object:
    return CliRunner().invoke(cli, ["cav", "crash-rate", *args])


@pytest.mark.parametrize("method", ["is", "scv"])
def test_cli_dask_equals_pandas(log_glob: str, method: str) -> None:
    common = [log_glob, "--method", method, "--seed", "3", "--pool-above", "3", "--format", "json"]
    dask = _cli(*common, "--engine", "dask", "--partition-rows", "700")
    pandas_ = _cli(*common)
    assert dask.exit_code == 0, dask.output
    assert pandas_.exit_code == 0, pandas_.output
    a, b = json.loads(dask.stdout)["results"], json.loads(pandas_.stdout)["results"]
    for ra, rb in zip(a, b, strict=True):
        assert ra["metric"] == rb["metric"]
        assert ra["estimate"] == pytest.approx(rb["estimate"], rel=1e-9)
        if ra["ci_low"] is not None:
            assert ra["ci_low"] == pytest.approx(rb["ci_low"], rel=1e-9)


def _write(folder: Path, name: str, frame: pd.DataFrame) -> str:
    path = folder / name
    frame.to_csv(path, index=False)
    return str(path)


def _good(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "crash": (rng.random(n) < 0.2).astype(int),
            "weight": rng.uniform(0.5, 2.0, n),
            "n_critical": rng.integers(0, 3, n),
            "cv_a": rng.standard_normal(n),
        }
    )


@pytest.mark.parametrize(
    ("change", "args", "needle"),
    [
        ({"weight": -1.0}, [], "weight"),
        ({"crash": 2}, [], "crash"),
        ({"drop": "n_critical"}, [], "n_critical"),
        ({}, ["--fit", "ridge"], "--fit ols"),
        ({"other_controls": True}, [], "cv_*"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    tmp_path: Path, change: dict[str, object], args: list[str], needle: str
) -> None:
    first, second = _good(), _good()
    if "weight" in change:
        second.loc[7, "weight"] = change["weight"]
    if "crash" in change:
        second.loc[3, "crash"] = change["crash"]
    if "drop" in change:
        second = second.drop(columns=str(change["drop"]))
    if "other_controls" in change:
        second = second.rename(columns={"cv_a": "cv_b"})
    _write(tmp_path, "a.csv", first)
    _write(tmp_path, "b.csv", second)
    out = _cli(str(tmp_path / "*.csv"), "--engine", "dask", "--partition-rows", "25", *args)
    assert out.exit_code == 2, out.output
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], lines


def test_scheduler_needs_dask(tmp_path: Path) -> None:
    path = _write(tmp_path, "a.csv", _good())
    out = _cli(path, "--scheduler", "tcp://127.0.0.1:1")
    assert out.exit_code == 2 and "--engine dask" in out.stderr
