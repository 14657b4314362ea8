"""`varkit cav crash-rate` and `varkit cav simulate` through click's test runner."""

import json

import jsonschema
import numpy as np
import pytest
from click.testing import CliRunner

from varkit.cli.main import cli
from varkit.results import load_json_schema


@pytest.fixture(scope="module")
def log_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("cav") / "tests.csv"
    result = CliRunner().invoke(
        cli, ["cav", "simulate", "--tests", "3000", "--seed", "3", "-o", str(path)]
    )
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture(scope="module")
def nde_log_path(tmp_path_factory):
    # tests drawn from the naturalistic distribution: every weight is 1
    path = tmp_path_factory.mktemp("cav") / "nde.csv"
    result = CliRunner().invoke(
        cli,
        ["cav", "simulate", "--tests", "3000", "--testing", "nde", "--seed", "3", "-o", str(path)],
    )
    assert result.exit_code == 0, result.output
    return path


@pytest.mark.parametrize("method", ["nde", "is", "cv", "scv"])
def test_crash_rate_json_validates(log_path, nde_log_path, method):
    # nde on the importance-sampled log is an error (test_nde_refuses_weights)
    out = CliRunner().invoke(
        cli,
        [
            "cav",
            "crash-rate",
            str(nde_log_path if method == "nde" else log_path),
            "--method",
            method,
            "--format",
            "json",
            "--seed",
            "0",
            "--pool-above",
            "3",
        ],
    )
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    jsonschema.validate(doc, load_json_schema())
    assert [r["metric"] for r in doc["results"]] == ["crash_rate", "tests_required"]


def _strata_and_pooled(log_path, *args):
    out = CliRunner().invoke(
        cli,
        ["cav", "crash-rate", str(log_path), "--seed", "0", "--format", "json", *args],
    )
    assert out.exit_code == 0, out.output
    details = json.loads(out.stdout)["results"][0]["details"]
    return [s["stratum"] for s in details["strata"]], details["pooled"]


def test_crashes_per_control_pools_strata_and_zero_turns_it_off(log_path):
    strata, pooled = _strata_and_pooled(log_path)  # default 10 crashes per control
    assert any("crashes_per_control" in note for note in pooled)
    unpooled, notes = _strata_and_pooled(log_path, "--crashes-per-control", "0")
    assert len(unpooled) > len(strata)
    assert not any("crashes_per_control" in note for note in notes)


def _write(tmp_path, text):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("text", "args", "needle"),
    [
        ("crash,weight\n0,1\n", ["--method", "scv"], "n_critical"),
        ("crash,weight\n0,1\n2,1\n", ["--method", "is"], "crash"),
        ("crash,weight\n0,1\nnan,1\n", ["--method", "is"], "crash"),
        ("crash,weight\n", ["--method", "is"], "no rows"),
        ("crash\n0\n1\n", ["--method", "is"], "weight"),
        ("crash,weight\n0,-1\n1,1\n", ["--method", "is"], "weight"),
        (
            "crash,weight,n_critical,cv_a\n0,1,1,0\n1,1,1,1\n",
            ["--control-means", "x"],
            "control-means",
        ),
    ],
)
def test_bad_input_exits_2_with_one_error_line(tmp_path, text, args, needle):
    out = CliRunner().invoke(cli, ["cav", "crash-rate", _write(tmp_path, text), *args])
    assert out.exit_code == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0]


def test_missing_file_exits_2(tmp_path):
    out = CliRunner().invoke(cli, ["cav", "crash-rate", str(tmp_path / "none.csv")])
    assert out.exit_code == 2 and out.stderr.startswith("error:")


def test_simulate_writes_the_chosen_control_family(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pandas as pd

    from varkit.cav.scenarios import MIXTURE_CONTROL_COLUMNS

    path = tmp_path / "mix.csv"
    result = CliRunner().invoke(
        cli,
        [
            "cav",
            "simulate",
            "--tests",
            "50",
            "--controls",
            "mixture",
            "--seed",
            "1",
            "-o",
            str(path),
        ],
    )
    assert result.exit_code == 0, result.output
    columns = [c for c in pd.read_csv(path).columns if c.startswith("cv_")]
    assert columns == list(MIXTURE_CONTROL_COLUMNS)


def _simulate(tmp_path, *args):
    path = tmp_path / "log.csv"
    out = CliRunner().invoke(
        cli, ["cav", "simulate", "--tests", "40", "--seed", "1", "-o", str(path), *args]
    )
    return out, path


@pytest.mark.parametrize(
    ("args", "proposal", "family"),
    [
        ([], "one-critical", "twist"),
        (["--controls", "binned"], "one-critical", "binned"),
        (["--proposal", "all-critical"], "all-critical", "product"),
        (["--controls", "product"], "one-critical", "product"),
        (["--controls", "local"], "all-critical", "local"),
    ],
)
def test_simulate_defaults_to_the_proposals_own_controls(tmp_path, args, proposal, family):
    import pandas as pd

    from varkit.cav.scenarios import (
        BINNED_CONTROL_COLUMNS,
        CONTROL_COLUMNS,
        TWIST_CONTROL_COLUMNS,
    )

    out, path = _simulate(tmp_path, *args)
    assert out.exit_code == 0, out.output
    assert f"({proposal} proposal, {family} controls)" in out.stderr
    columns = [c for c in pd.read_csv(path).columns if c.startswith("cv_")]
    expected = {"twist": TWIST_CONTROL_COLUMNS, "binned": BINNED_CONTROL_COLUMNS}.get(
        family, CONTROL_COLUMNS
    )
    assert columns == list(expected)


def test_simulate_proposal_changes_the_weights(tmp_path):
    import pandas as pd

    _, one = _simulate(tmp_path)
    weights = pd.read_csv(one)["weight"]
    assert weights.max() <= 2.0  # one-critical: W <= 1/eps = 2
    out, _ = _simulate(tmp_path, "--proposal", "one-critical", "--controls", "mixture")
    assert out.exit_code == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "--controls" in lines[0]


def test_control_families_are_those_of_the_proposals():
    from varkit.cav import CONTROL_FAMILIES
    from varkit.cav.scenarios import CONTROL_SETS

    assert set(CONTROL_FAMILIES) == {f for fams in CONTROL_SETS.values() for f in fams}
    assert len(CONTROL_FAMILIES) == len(set(CONTROL_FAMILIES))


@pytest.mark.parametrize("method", ["is", "scv"])
def test_running_appends_the_convergence_curve_the_report_draws(log_path, method):
    from varkit.report.figures import cav_curves
    from varkit.results import ResultSet

    args = ["cav", "crash-rate", str(log_path), "--method", method, "--seed", "0"]
    out = CliRunner().invoke(cli, [*args, "--running", "12", "--format", "json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    jsonschema.validate(doc, load_json_schema())
    results = ResultSet.from_json(out.stdout)
    main, needed, *curve = results
    skipped = results.provenance["running_skipped_checkpoints"]  # too few tests to fit
    assert needed.metric == "tests_required" and len(curve) + len(skipped) == 12
    assert (method == "is") == (not skipped)
    assert all(r.metric == "crash_rate" and set(r.group) == {"tests"} for r in curve)
    assert [r.n for r in curve] == sorted(r.n for r in curve)
    assert curve[-1].n == main.n == 3000 and curve[-1].confidence == 0.9
    # the last checkpoint is the whole log: the same estimate (and folds) as the main result
    assert curve[-1].estimate == pytest.approx(main.estimate, rel=1e-12)
    assert list(cav_curves(list(results))) == [curve[0].method]
    plain = CliRunner().invoke(cli, [*args, "--format", "json"])
    assert json.loads(plain.stdout)["results"] == doc["results"][:2]


def test_running_is_the_demo_call(tmp_path):
    # `--running 30 --method is` gives exactly the demo CAV section's running results
    from varkit.datasets.cav import load_cav_example
    from varkit.demo import _cav_section
    from varkit.results import ResultSet

    path = tmp_path / "example.csv"
    load_cav_example().to_csv(path, index=False, float_format="%.17g")
    out = CliRunner().invoke(
        cli,
        ["cav", "crash-rate", str(path), "--method", "is", "--running", "30", "--format", "json"],
    )
    assert out.exit_code == 0, out.output
    cli_curve = [r for r in ResultSet.from_json(out.stdout) if "tests" in r.group]
    demo_curve = [r for r in _cav_section(0, "cpu") if "tests" in r.group]
    assert [(r.n, r.method, r.confidence) for r in cli_curve] == [
        (r.n, r.method, r.confidence) for r in demo_curve
    ]
    np.testing.assert_allclose(
        [r.estimate for r in cli_curve], [r.estimate for r in demo_curve], rtol=1e-12
    )


def test_running_needs_the_memory_engine(log_path):
    out = CliRunner().invoke(
        cli, ["cav", "crash-rate", str(log_path), "--running", "5", "--engine", "dask"]
    )
    assert out.exit_code == 2 and out.stderr.startswith("error:") and "--running" in out.stderr
    assert "--engine memory" in out.stderr


def test_simulate_regime_writes_the_log_and_its_critical_steps(tmp_path):
    import pandas as pd

    from varkit.cav import OvertakingScenario
    from varkit.cav.scenarios import CRITICAL_TABLE_COLUMNS

    table = tmp_path / "critical.csv"
    out, path = _simulate(tmp_path, "--regime", "papers", "--critical-output", str(table))
    assert out.exit_code == 0, out.output
    assert "of surrogate (papers regime): " in out.stderr
    assert "(one-critical proposal, twist controls), seed 1" in out.stderr
    log, crit = pd.read_csv(path), pd.read_csv(table)
    expected, expected_crit = OvertakingScenario(regime="papers").simulate_with_critical(
        40, random_state=1
    )
    assert list(log.columns) == list(expected.columns)
    assert list(crit.columns) == list(CRITICAL_TABLE_COLUMNS)
    pd.testing.assert_frame_equal(log, expected, rtol=1e-9, check_dtype=False)
    pd.testing.assert_frame_equal(crit, expected_crit, rtol=1e-9, check_dtype=False)
    out, _ = _simulate(tmp_path, "--regime", "nade")
    assert out.exit_code == 0 and "(all-critical proposal, product controls)" in out.stderr
    out, _ = _simulate(tmp_path, "--regime", "fast")
    assert out.exit_code == 2 and "--regime" in out.stderr
