"""evaluate compare over partitions gives the in-memory results (Poisson bootstrap, same ids)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from varkit.cli.main import cli
from varkit.evaluate import (
    cochrans_q,
    compare_predictions,
    mcnemar,
    mcnemar_table,
    paired_bootstrap_difference,
)
from varkit.evaluate.logs import compare_log
from varkit.io import ROW_ID, Column, read_all
from varkit.results import ResultSet, load_json_schema

MODELS = ["forest", "logistic", "baseline"]
POINT_FIELDS = ("estimate", "ci_low", "ci_high", "stderr", "statistic", "pvalue", "n")


def make_predictions(folder: Path, n: int = 3000, seed: int = 0) -> None:
    """Three models' predicted classes (0/1/2): a CSV and a Parquet file with 2 row groups."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    frame = pd.DataFrame({"y_true": y})
    for name, accuracy in zip(MODELS, (0.85, 0.8, 0.6), strict=True):
        wrong = (y + rng.integers(1, 3, n)) % 3
        frame[name] = np.where(rng.random(n) < accuracy, y, wrong)
    half = n // 2
    frame.iloc[:half].to_csv(folder / "part-0.csv", index=False)
    frame.iloc[half:].reset_index(drop=True).to_parquet(
        folder / "part-1.parquet", row_group_size=half // 2 + 1
    )


def in_memory(folder: Path, **kwargs: Any) -> ResultSet:
    """compare_predictions on the whole log with Poisson weights keyed on its row ids."""
    columns = [Column("y_true", "label"), *(Column(m, "label") for m in MODELS)]
    frame = read_all(str(folder / "part-*"), columns)
    return compare_predictions(
        frame["y_true"].to_numpy(),
        {m: frame[m].to_numpy() for m in MODELS},
        scheme="poisson",
        row_ids=frame[ROW_ID].to_numpy(),
        device="cpu",
        **kwargs,
    )


def assert_same(got: ResultSet, want: ResultSet) -> None:
    """Point results, McNemar and Cochran's Q exactly; bootstrap intervals to rounding."""
    assert [(r.metric, r.group) for r in got] == [(r.metric, r.group) for r in want]
    for a, b in zip(got, want, strict=True):
        if a.metric == "accuracy_difference":
            assert a.estimate == b.estimate and a.stderr == b.stderr
            assert a.details["bias"] == b.details["bias"]
            np.testing.assert_allclose([a.ci_low, a.ci_high], [b.ci_low, b.ci_high], rtol=1e-10)
        else:
            assert [getattr(a, f) for f in POINT_FIELDS] == [getattr(b, f) for f in POINT_FIELDS]
            assert a.details.get("pvalue_raw") == b.details.get("pvalue_raw")


def test_same_results_in_memory_and_on_1_3_7_partitions(tmp_path: Path) -> None:
    make_predictions(tmp_path)
    kwargs = {"n_resamples": 300, "random_state": 11, "mcnemar_method": "mid-p"}
    want = in_memory(tmp_path, **kwargs)
    for engine, n_parts in (("chunks", 1), ("dask", 1), ("dask", 3), ("dask", 7)):
        got = compare_log(
            str(tmp_path / "part-*"),
            "y_true",
            MODELS,
            engine=engine,
            npartitions=n_parts,
            device="cpu",
            **kwargs,
        )
        assert_same(got, want)
        assert got.select("accuracy_difference")[0].details["scheme"] == "poisson"


def test_counts_match_the_formulas_and_a_direct_poisson_bootstrap(tmp_path: Path) -> None:
    """Cited identities: accuracy = mean correctness, McNemar on the 2x2 table, Q as in memory."""
    make_predictions(tmp_path, n=1200)
    frame = read_all(
        str(tmp_path / "part-*"), [Column("y_true", "label"), *(Column(m, "label") for m in MODELS)]
    )
    y = frame["y_true"].to_numpy()
    got = compare_log(
        str(tmp_path / "part-*"), "y_true", MODELS, n_resamples=200, random_state=2, npartitions=4
    )
    for r in got.select("accuracy"):
        assert r.estimate == np.mean(frame[r.group["model"]].to_numpy() == y)
    for r in got.select("mcnemar"):
        a, b = r.group["model_1"], r.group["model_2"]
        table = mcnemar_table(y, frame[a].to_numpy(), frame[b].to_numpy())
        assert r.details["table"] == table.tolist()
        assert r.details["pvalue_raw"] == mcnemar(table).pvalue
    q = cochrans_q(y, *(frame[m].to_numpy() for m in MODELS), names=MODELS)
    (got_q,) = got.select("cochrans_q")
    assert (got_q.statistic, got_q.pvalue) == (q.statistic, q.pvalue)
    diff = got.select("accuracy_difference", comparison="forest-baseline")[0]
    want = paired_bootstrap_difference(
        y,
        frame["forest"].to_numpy(),
        frame["baseline"].to_numpy(),
        n_resamples=200,
        random_state=2,
        device="cpu",
        scheme="poisson",
        row_ids=frame[ROW_ID].to_numpy(),
    )
    np.testing.assert_allclose(
        [diff.estimate, diff.ci_low, diff.ci_high, diff.stderr],
        [want.estimate, want.ci_low, want.ci_high, want.stderr],
        rtol=1e-10,
    )
    assert diff.details["acceleration"] == pytest.approx(want.details["acceleration"], rel=1e-9)


def test_same_results_on_a_two_process_distributed_cluster(tmp_path: Path, client: Any) -> None:
    make_predictions(tmp_path)
    want = in_memory(tmp_path, n_resamples=300, random_state=5)
    got = compare_log(
        str(tmp_path / "part-*"),
        "y_true",
        MODELS,
        n_resamples=300,
        random_state=5,
        npartitions=5,
        device="cpu",
        client=client,
    )
    assert_same(got, want)
    assert got.select("accuracy_difference")[0].details["engine"] == "dask-distributed"


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_cli_dask_engine_equals_pandas_poisson_and_json_is_valid(
    tmp_path: Path, client: Any
) -> None:
    make_predictions(tmp_path)
    glob = str(tmp_path / "part-*")
    common = ["evaluate", "compare", glob, "--resamples", "200", "--seed", "9", "--format", "json"]
    runs = [
        invoke(*common, "--scheme", "poisson"),
        invoke(*common, "--engine", "dask", "--partition-rows", "700"),
        invoke(*common, "--engine", "dask", "--scheduler", client.scheduler.address),
    ]
    results = []
    for code, out, err in runs:
        assert code == 0, err
        jsonschema.validate(json.loads(out), load_json_schema())
        results.append(ResultSet.from_json(out))
    for other in results[1:]:
        assert_same(other, results[0])
    assert len(results[0].select("cochrans_q")) == 1
    assert len(json.loads(runs[1][1])["provenance"]["inputs"]) == 2


def test_cli_help_says_dask_implies_poisson() -> None:
    code, out, _ = invoke("evaluate", "compare", "--help")
    assert code == 0
    assert "--engine dask implies poisson" in " ".join(out.split())


def _one_error_line(err: str, *words: str) -> None:
    assert err.count("\n") == 1 and err.startswith("error:"), err
    for word in words:
        assert word in err, err


def test_cli_missing_column_in_one_file_is_one_error_line(tmp_path: Path) -> None:
    make_predictions(tmp_path, n=200)
    pd.DataFrame({"y_true": [1], "forest": [1], "logistic": [0]}).to_csv(
        tmp_path / "part-2.csv", index=False
    )
    code, _, err = invoke(
        "evaluate",
        "compare",
        str(tmp_path / "part-*"),
        "--models",
        ",".join(MODELS),
        "--engine",
        "dask",
        "--resamples",
        "100",
    )
    assert code == 2
    _one_error_line(err, "part-2.csv", "'baseline'")


def test_cli_missing_label_in_a_later_partition_is_one_error_line(tmp_path: Path) -> None:
    frame = pd.DataFrame({"y_true": ["a", "b"] * 150, "m1": ["a"] * 300, "m2": ["b"] * 300})
    frame.loc[250, "m2"] = None
    frame.to_parquet(tmp_path / "log.parquet")
    code, _, err = invoke(
        "evaluate",
        "compare",
        str(tmp_path / "log.parquet"),
        "--engine",
        "dask",
        "--partition-rows",
        "100",
        "--resamples",
        "100",
    )
    assert code == 2
    _one_error_line(err, "column 'm2'", "data rows 201-300")


@pytest.mark.parametrize(
    ("engine", "args"),
    [("pandas", []), ("dask", ["--partition-rows", "100"])],
)
def test_cli_predicted_label_never_true_is_accepted_the_same_on_both_engines(
    tmp_path: Path, engine: str, args: list[str]
) -> None:
    # issue 17: a model may predict a class absent from the test set; it is just wrong there.
    frame = pd.DataFrame({"y_true": ["a", "b"] * 150, "m1": ["a"] * 300, "m2": ["b"] * 300})
    frame.loc[280, "m1"] = "c"  # only in the last partition
    frame.to_csv(tmp_path / "log.csv", index=False)
    code, out, err = invoke(
        "evaluate", "compare", str(tmp_path / "log.csv"), "--engine", engine, "--seed", "0",
        "--resamples", "200", "--format", "json", *args,
    )  # fmt: skip
    assert code == 0, err
    rs = ResultSet.from_json(out)
    assert rs.select("accuracy", model="m1")[0].estimate == pytest.approx(149 / 300)


def test_cli_single_true_class_is_accepted_and_multinomial_dask_is_refused(
    tmp_path: Path,
) -> None:
    pd.DataFrame({"y_true": ["a"] * 50, "m1": ["a"] * 50, "m2": ["a"] * 49 + ["b"]}).to_csv(
        tmp_path / "one.csv", index=False
    )
    code, out, err = invoke(
        "evaluate", "compare", str(tmp_path / "one.csv"), "--engine", "dask", "--resamples",
        "100", "--seed", "0", "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    accuracy = ResultSet.from_json(out).select("accuracy", model="m1")[0]
    assert accuracy.estimate == 1.0 and accuracy.ci_low < 1.0
    code, _, err = invoke(
        "evaluate", "compare", str(tmp_path / "one.csv"), "--engine", "dask", "--scheme",
        "multinomial",
    )  # fmt: skip
    assert code == 2
    _one_error_line(err, "uses Poisson weights")
