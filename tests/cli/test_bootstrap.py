"""``varkit bootstrap``: output formats, schema-valid JSON, options, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from varkit.cli.main import cli
from varkit.datasets.sessions import load_sessions_example, sessions_example_path
from varkit.gpu import bootstrap
from varkit.results import ResultSet, load_json_schema

SESSIONS = sessions_example_path()


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_json_output_is_schema_valid_and_matches_the_api() -> None:
    code, out, _ = invoke(
        "bootstrap",
        SESSIONS,
        "-c",
        "latency_ms",
        "--cluster",
        "user_id",
        "--resamples",
        "500",
        "--seed",
        "3",
        "--format",
        "json",
    )
    assert code == 0
    document = json.loads(out)
    jsonschema.Draft202012Validator(load_json_schema()).validate(document)
    (result,) = ResultSet.from_dict(document)
    log = load_sessions_example()
    api = bootstrap(
        log["latency_ms"], "mean", clusters=log["user_id"], n_resamples=500, random_state=3
    )
    assert (result.ci_low, result.ci_high) == pytest.approx((api.ci_low, api.ci_high))
    assert result.group == {"column": "latency_ms"}
    assert document["provenance"]["inputs"][0]["path"] == SESSIONS
    assert document["provenance"]["seed"] == 3


@pytest.mark.parametrize("fmt", ["table", "csv", "markdown"])
def test_other_formats(fmt: str) -> None:
    code, out, _ = invoke(
        "bootstrap", SESSIONS, "-c", "revenue", "--resamples", "200", "--seed", "1", "--format", fmt
    )
    assert code == 0
    if fmt == "table":
        assert out.startswith("mean[column=revenue] = ")
    elif fmt == "csv":
        frame = pd.read_csv(pd.io.common.StringIO(out))
        assert frame.loc[0, "metric"] == "mean"
    else:
        assert out.splitlines()[1].startswith("|---")


def test_mean_difference_by_group_is_first_minus_second_label() -> None:
    code, out, _ = invoke(
        "bootstrap",
        SESSIONS,
        "-c",
        "revenue",
        "-s",
        "mean_difference",
        "--by",
        "variant",
        "--resamples",
        "200",
        "--seed",
        "1",
        "--format",
        "json",
    )
    assert code == 0
    (result,) = ResultSet.from_json(out)
    log = load_sessions_example()
    means = log.groupby("variant")["revenue"].mean()
    assert result.estimate == pytest.approx(means["control"] - means["treatment"])
    assert result.group["difference"] == "control-treatment"


def test_ratio_and_output_file(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    pd.DataFrame({"clicks": [1, 2, 3, 4], "views": [10, 10, 20, 20]}).to_csv(data, index=False)
    target = tmp_path / "out.json"
    code, out, _ = invoke(
        "bootstrap",
        str(data),
        "-c",
        "clicks",
        "-s",
        "ratio",
        "--denominator",
        "views",
        "--resamples",
        "200",
        "--format",
        "json",
        "-o",
        str(target),
    )
    assert code == 0 and out == ""
    (result,) = ResultSet.from_json(target.read_text())
    assert result.estimate == pytest.approx(10 / 60)


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("", [], "is empty"),
        ("x\n", [], "has a header but no rows"),
        ("x\n1\n\n2\nabc\n", [], "row 3 holds 'abc'"),
        ("x\n1\nnan\n", [], "missing value"),
        ("y\n1\n", [], "required column 'x' is missing"),
        ("x\n1\n2\n", ["-s", "proportion"], "only 0 and 1"),
        ("x,g\n1,a\n2,b\n3,c\n", ["-s", "mean_difference", "--by", "g"], "exactly two groups"),
    ],
)
def test_bad_input_gives_one_error_line_and_exit_2(
    tmp_path: Path, content: str, args: list[str], message: str
) -> None:
    data = tmp_path / "bad.csv"
    data.write_text(content)
    code, out, err = invoke("bootstrap", str(data), "-c", "x", "--resamples", "50", *args)
    assert code == 2
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert message in err


def test_seed_makes_results_reproducible() -> None:
    runs = [
        invoke("bootstrap", SESSIONS, "-c", "revenue", "--resamples", "300", "--seed", "9")
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    other = invoke("bootstrap", SESSIONS, "-c", "revenue", "--resamples", "300", "--seed", "8")
    assert other[1] != runs[0][1]
    assert np.isfinite(float(runs[0][1].split("[")[2].split(",")[0]))


# -- issue 14 -----------------------------------------------------------------------------
def _one_error_line(code: int, err: str, fragment: str) -> None:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert fragment in lines[0] and "Traceback" not in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("x,x\n1,2\n", "column name 'x' twice (columns 1 and 2)"),
        ("x\n1\n1" + "0" * 400 + "\n", "row 2 holds 1000"),
        ("x\n1\n-1e400\n", "row 2 holds -1e400, a number too large"),
    ],
)
def test_malformed_csv_gives_one_error_line(tmp_path: Path, content: str, message: str) -> None:
    data = tmp_path / "bad.csv"
    data.write_text(content)
    code, _, err = invoke("bootstrap", str(data), "-c", "x", "--resamples", "50")
    _one_error_line(code, err, message)


def test_resamples_past_memory_are_refused_in_one_line() -> None:
    code, _, err = invoke("bootstrap", SESSIONS, "-c", "revenue", "--resamples", str(10**12))
    _one_error_line(code, err, "would need about")
    assert "TiB" in err


def test_a_file_named_like_a_glob_is_read_as_that_file(tmp_path: Path) -> None:
    (tmp_path / "log1.csv").write_text("x\n100\n200\n300\n")
    (tmp_path / "log[1].csv").write_text("x\n1\n2\n3\n")
    code, out, err = invoke(
        "bootstrap",
        str(tmp_path / "log[1].csv"),
        "-c",
        "x",
        "--resamples",
        "50",
        "--seed",
        "1",
        "--format",
        "json",
    )
    assert code == 0, err
    (result,) = ResultSet.from_json(out)
    assert result.estimate == 2.0


def test_extreme_values_give_a_finite_interval_and_no_raw_warning(tmp_path: Path) -> None:
    data = tmp_path / "big.csv"
    data.write_text("x\n1e308\n1e308\n1\n2\n-1e308\n")
    code, out, err = invoke(
        "bootstrap", str(data), "-c", "x", "--resamples", "200", "--seed", "1", "--format", "json"
    )
    assert code == 0 and "RuntimeWarning" not in err and err == "", err
    (result,) = ResultSet.from_json(out)
    assert result.ci_low <= result.estimate <= result.ci_high
    assert np.isfinite([result.ci_low, result.ci_high]).all() and "scaled" in result.details


def test_sum_past_the_float_range_is_one_error_line(tmp_path: Path) -> None:
    data = tmp_path / "big.csv"
    data.write_text("x\n1e308\n1e308\n1e308\n")
    code, _, err = invoke("bootstrap", str(data), "-c", "x", "-s", "sum", "--resamples", "50")
    _one_error_line(code, err, "exceeds the floating-point range")


def test_a_drawn_seed_is_recorded_and_reproduces_the_result() -> None:
    args = ["bootstrap", SESSIONS, "-c", "revenue", "--resamples", "200", "--format", "json"]
    code, out, _ = invoke(*args)
    assert code == 0
    drawn = ResultSet.from_json(out)
    seed = drawn.provenance["seed"]
    assert isinstance(seed, int) and drawn[0].details["seed"] == seed
    code, again, _ = invoke(*args, "--seed", str(seed))
    assert ResultSet.from_json(again)[0] == drawn[0]
