"""``varkit fairness vrs`` and ``simulate``: outputs, the JSON schema, bad input."""

from __future__ import annotations

import json

import jsonschema
import pandas as pd
import pytest
from click.testing import CliRunner

from varkit.cli.main import cli
from varkit.datasets.fairness import eligible_example_path, impressions_example_path
from varkit.results import ResultSet, load_json_schema


def _run(*args: str):
    return CliRunner().invoke(cli, ["fairness", *args])


def test_vrs_on_the_bundled_example_validates_against_the_schema():
    result = _run(
        "vrs",
        impressions_example_path(),
        "--eligible",
        eligible_example_path(),
        "--attribute",
        "sex",
        "--resamples",
        "50",
        "--seed",
        "3",
        "--format",
        "json",
        "--min-impressions",
        "100",
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    jsonschema.validate(document, load_json_schema())
    rs = ResultSet.from_json(result.output)
    per_ad = rs.select("shuffle_distance")
    assert len(per_ad) == 12
    assert all(r.group["attribute"] == "sex" for r in per_ad)
    assert rs.select("compliance_coverage", weighting="ads")[0].n <= 12
    assert len(document["provenance"]["inputs"]) == 2


def test_vrs_soft_race_with_reach_unit_and_point_only():
    result = _run(
        "vrs",
        impressions_example_path(),
        "--eligible",
        eligible_example_path(),
        "--attribute",
        "race",
        "--resamples",
        "0",
        "--unit",
        "reach",
    )
    assert result.exit_code == 0, result.output
    assert "shuffle_distance[ad_id=ad_000, attribute=race]" in result.output


def _write(tmp_path, name, frame):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return str(path)


def _good(tmp_path):
    imp = pd.DataFrame(
        {"ad_id": ["a", "a", "b"], "impressions": [3, 2, 4], "sex": ["female", "male", "male"]}
    )
    elig = pd.DataFrame(
        {
            "ad_id": ["a", "a", "b", "b"],
            "attribute": ["sex"] * 4,
            "group": ["female", "male"] * 2,
            "eligible": [50, 50, 40, 60],
        }
    )
    return imp, elig


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda imp, elig: (imp.drop(columns="impressions"), elig), "impressions"),
        (lambda imp, elig: (imp.assign(impressions=[3, "x", 4]), elig), "numeric"),
        (lambda imp, elig: (imp.assign(impressions=[3, None, 4]), elig), "impressions"),
        (lambda imp, elig: (imp.assign(impressions=[3, -2, 4]), elig), "negative"),
        (lambda imp, elig: (imp.assign(ad_id=["a", "a", "zz"]), elig), "'zz'"),
        (lambda imp, elig: (imp.assign(sex=["female", "male", "x"]), elig), "'x'"),
        (lambda imp, elig: (imp, elig.assign(attribute="race")), "'sex' is not in"),
        (lambda imp, elig: (imp.drop(columns="sex"), elig), "neither a column 'sex'"),
        (lambda imp, elig: (imp.head(0), elig), "impressions"),
    ],
)
def test_bad_input_exits_2_with_one_error_line(tmp_path, mutate, fragment):
    imp, elig = mutate(*_good(tmp_path))
    result = _run(
        "vrs",
        _write(tmp_path, "imp.csv", imp),
        "--eligible",
        _write(tmp_path, "elig.csv", elig),
        "--attribute",
        "sex",
        "--resamples",
        "20",
    )
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert fragment in lines[0]


def test_probabilities_not_summing_to_one_exit_2(tmp_path):
    imp = pd.DataFrame({"ad_id": ["a"], "impressions": [3], "p_white": [0.5], "p_black": [0.2]})
    elig = pd.DataFrame(
        {
            "ad_id": ["a", "a"],
            "attribute": ["race"] * 2,
            "group": ["white", "black"],
            "eligible": [5, 5],
        }
    )
    result = _run(
        "vrs",
        _write(tmp_path, "i.csv", imp),
        "--eligible",
        _write(tmp_path, "e.csv", elig),
        "--attribute",
        "race",
    )
    assert result.exit_code == 2
    assert "sum to 0.7" in result.stderr


def test_simulate_writes_logs_that_vrs_reads(tmp_path):
    out = tmp_path / "sim"
    result = _run(
        "simulate",
        "--out-dir",
        str(out),
        "--users",
        "400",
        "--ads",
        "3",
        "--rounds",
        "3",
        "--seed",
        "1",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    jsonschema.validate(json.loads(result.output), load_json_schema())
    assert {p.name for p in out.iterdir()} == {
        "impressions.csv",
        "eligible.csv",
        "truth.csv",
        "trajectory.csv",
    }
    again = _run(
        "vrs",
        str(out / "impressions.csv"),
        "--eligible",
        str(out / "eligible.csv"),
        "--attribute",
        "race",
        "--resamples",
        "20",
        "--seed",
        "0",
    )
    assert again.exit_code == 0, again.output


@pytest.mark.parametrize("attribute,unit", [("sex", "impressions"), ("race", "reach")])
def test_vrs_pandas_in_chunks_equals_the_whole_log(attribute, unit):
    # --partition-rows on the pandas engine: the log in 300-row pieces, bootstrapped ad range
    # by ad range from spill files; the same seed gives the same results as the whole log
    common = (
        impressions_example_path(),
        "--eligible",
        eligible_example_path(),
        "--attribute",
        attribute,
        "--unit",
        unit,
        "--resamples",
        "60",
        "--seed",
        "5",
        "--format",
        "json",
    )
    whole = _run("vrs", *common)
    chunked = _run("vrs", *common, "--partition-rows", "300")
    assert whole.exit_code == 0 and chunked.exit_code == 0, chunked.output
    a, b = ResultSet.from_json(whole.output), ResultSet.from_json(chunked.output)
    assert [(r.metric, r.group) for r in a] == [(r.metric, r.group) for r in b]
    for x, y in zip(a, b, strict=True):
        assert (x.estimate, x.ci_low, x.ci_high, x.n) == pytest.approx(
            (y.estimate, y.ci_low, y.ci_high, y.n), rel=1e-9, abs=1e-12
        )


def test_vrs_scheduler_needs_dask():
    result = _run(
        "vrs",
        impressions_example_path(),
        "--eligible",
        eligible_example_path(),
        "--attribute",
        "sex",
        "--scheduler",
        "tcp://127.0.0.1:1",
    )
    assert result.exit_code == 2
    assert "--scheduler needs --engine dask" in result.output


def test_vrs_noise_gaussian_is_passed_and_recorded(tmp_path):
    imp, elig = _good(tmp_path)
    elig = elig.assign(noise_scale=3.0)
    args = ["vrs", _write(tmp_path, "imp.csv", imp), "--eligible", _write(tmp_path, "e.csv", elig)]
    args += ["--attribute", "sex", "--resamples", "50", "--seed", "1", "--format", "json"]
    gauss = _run(*args, "--noise", "gaussian")
    laplace = _run(*args)
    assert gauss.exit_code == 0 and laplace.exit_code == 0, gauss.output
    g, lp = ResultSet.from_json(gauss.output)[0], ResultSet.from_json(laplace.output)[0]
    assert g.details["noise"] == "gaussian" and "noise" not in lp.details
    assert g.estimate == lp.estimate and g.ci_high != lp.ci_high
    assert _run(*args, "--noise", "cauchy").exit_code == 2
