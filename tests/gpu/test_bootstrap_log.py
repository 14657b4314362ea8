"""The front door of ``varkit bootstrap``: one answer whatever form the log takes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from varkit.errors import VarkitError
from varkit.gpu import bootstrap, bootstrap_log

KW: dict[str, Any] = {"n_resamples": 300, "random_state": 4, "device": "cpu"}


def figures(result: Any) -> list[float]:
    return [result.estimate, result.ci_low, result.ci_high, result.stderr]


@pytest.fixture
def log(tmp_path: Path) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(
        {
            "revenue": rng.exponential(size=400).round(6),
            "cost": rng.uniform(0.5, 1.5, size=400).round(6),
            "variant": rng.choice(["a", "b"], size=400),
        }
    )
    frame.to_csv(tmp_path / "log-0.csv", index=False)
    frame.iloc[:150].to_csv(tmp_path / "part-0.csv", index=False)
    frame.iloc[150:].to_parquet(tmp_path / "part-1.parquet")
    return frame


@pytest.mark.parametrize(
    "options",
    [
        {"statistic": "mean"},
        {"statistic": "ratio", "denominator": "cost"},
        {"statistic": "mean_difference", "by": "variant"},
        {"statistic": "mean_difference", "paired_with": "cost", "method": "percentile"},
    ],
)
def test_dataframe_path_and_glob_give_the_same_interval(
    tmp_path: Path, log: pd.DataFrame, options: dict[str, Any]
) -> None:
    got = [
        bootstrap_log(source, "revenue", **options, **KW)[0]
        for source in (log, str(tmp_path / "log-0.csv"), str(tmp_path / "log-*.csv"))
    ]
    assert figures(got[0]) == figures(got[1]) == figures(got[2])
    assert got[0].group == got[1].group and got[0].group["column"] == "revenue"


def test_the_memory_engine_is_varkit_gpu_bootstrap(log: pd.DataFrame) -> None:
    want = bootstrap(log["revenue"], "mean", **KW)
    got = bootstrap_log(log, "revenue", **KW)[0]
    assert figures(got) == figures(want) and got.details == want.details


@pytest.mark.parametrize(
    "options",
    [
        {"statistic": "mean"},
        {"statistic": "ratio", "denominator": "cost"},
        {"statistic": "mean_difference", "by": "variant"},
        {"statistic": "mean_difference", "paired_with": "cost"},
    ],
)
def test_memory_poisson_equals_the_partitioned_engines(
    tmp_path: Path, options: dict[str, Any]
) -> None:
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {
            "revenue": rng.exponential(size=300).round(6),
            "cost": rng.uniform(0.5, 1.5, size=300).round(6),
            "variant": rng.choice(["a", "b"], size=300),
        }
    )
    frame.iloc[:120].to_csv(tmp_path / "p-0.csv", index=False)
    frame.iloc[120:].to_csv(tmp_path / "p-1.csv", index=False)
    glob = str(tmp_path / "p-*.csv")
    want = bootstrap_log(glob, "revenue", scheme="poisson", **options, **KW)[0]
    for engine, rows in (("chunks", None), ("dask", 70)):
        got = bootstrap_log(
            glob, "revenue", engine=engine, rows_per_partition=rows, **options, **KW
        )[0]
        np.testing.assert_allclose(figures(got), figures(want), rtol=1e-10)
        assert got.group == want.group and got.details["scheme"] == "poisson"


def test_provenance_names_the_function_the_files_and_the_seed(
    tmp_path: Path, log: pd.DataFrame
) -> None:
    rs = bootstrap_log(str(tmp_path / "part-*"), "revenue", **KW)
    prov = rs.provenance
    assert prov["function"] == "varkit.gpu.bootstrap_log" and prov["seed"] == 4
    assert [Path(i["path"]).name for i in prov["inputs"]] == ["part-0.csv", "part-1.parquet"]
    assert prov["device"] == "cpu"
    assert bootstrap_log(log, "revenue", **KW).provenance["inputs"] == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"statistic": "ratio"}, "`statistic` ratio needs `denominator`"),
        ({"statistic": "weighted_mean"}, "needs `weights`"),
        ({"statistic": "mean_difference"}, "needs `by` COL or `paired_with` COL"),
        ({"statistic": "median"}, "`statistic` must be one of"),
        ({"engine": "dask", "cluster": "variant"}, "`cluster` and `strata` need"),
        ({"engine": "dask", "scheme": "multinomial"}, "uses Poisson weights"),
        ({"engine": "memory", "scheduler": "local:1"}, "`scheduler` needs `engine` dask"),
        ({"engine": "spark"}, "`engine` must be one of"),
        ({"n_resamples": 1}, "`n_resamples` must be at least 2"),
    ],
)
def test_bad_settings_are_one_error_naming_the_parameter(
    tmp_path: Path, log: pd.DataFrame, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(VarkitError, match=message.replace("`", ".")):
        bootstrap_log(str(tmp_path / "log-0.csv"), "revenue", **{**KW, **options})


def test_a_dataframe_needs_the_memory_engine(log: pd.DataFrame) -> None:
    with pytest.raises(VarkitError, match="give `log` as a path or glob"):
        bootstrap_log(log, "revenue", engine="chunks", **KW)
