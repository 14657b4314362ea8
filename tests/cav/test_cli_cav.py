"""`varkit cav crash-rate` and `varkit cav simulate` through click's test runner."""

import json

import jsonschema
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


@pytest.mark.parametrize("method", ["nde", "is", "cv", "scv"])
def test_crash_rate_json_validates(log_path, method):
    out = CliRunner().invoke(
        cli,
        [
            "cav",
            "crash-rate",
            str(log_path),
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
