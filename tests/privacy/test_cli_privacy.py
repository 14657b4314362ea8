"""``varkit privacy epsilon``: output validates against the schema; bad input exits 2."""

from __future__ import annotations

import json

import jsonschema
import pytest
from click.testing import CliRunner

from varkit.cli.main import cli
from varkit.datasets.privacy import mia_example_path
from varkit.results import ResultSet, load_json_schema


def _run(*args: str):
    return CliRunner().invoke(cli, ["privacy", "epsilon", *args])


def test_bundled_example_gives_schema_valid_json() -> None:
    out = _run(mia_example_path(), "--delta", "1e-5", "--method", "both", "--seed", "3",
               "--format", "json", "--tpr-at-fpr", "0.01")  # fmt: skip
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    jsonschema.validate(doc, load_json_schema())
    rs = ResultSet.from_json(out.output)
    methods = {r.method for r in rs if r.metric == "epsilon"}
    assert methods == {"bayes-jeffreys", "clopper-pearson"}
    assert {r.metric for r in rs} == {"epsilon", "tpr_at_fpr", "auc"}
    assert doc["provenance"]["inputs"][0]["sha256"]
    assert any("model_id" in r.group for r in rs)


def test_delta_curve_and_guess_column(tmp_path) -> None:
    path = tmp_path / "g.csv"
    path.write_text("member,guess\n" + "1,1\n" * 40 + "1,0\n" * 10 + "0,0\n" * 45 + "0,1\n" * 5)
    out = _run(str(path), "--guess-col", "guess", "--delta", "0", "--delta", "1e-3",
               "--format", "json", "--bound", "lower")  # fmt: skip
    assert out.exit_code == 0, out.output
    rs = ResultSet.from_json(out.output)
    assert [r.group["delta"] for r in rs] == ["0", "0.001"]
    assert all(r.ci_high == float("inf") for r in rs)


def _write(tmp_path, text: str) -> str:
    path = tmp_path / "mia.csv"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("text", "args", "needle"),
    [
        ("member,value\n1,0.3\n0,0.1\n", (), "score"),  # missing column
        ("member,score\n1,0.3\n0,\n", (), "score"),  # NaN
        ("", (), "empty"),  # empty file
        ("member,score\n1,abc\n0,0.2\n", (), "numeric"),  # wrong type
        ("member,score\n2,0.3\n0,0.2\n", (), "member"),  # impossible value
        ("member,score\n1,0.3\n1,0.2\n", (), "only members"),  # one class
        ("member,score\n1,0.3\n0,0.2\n", ("--delta", "1.5"), "delta"),
        ("member,score\n1,0.3\n0,0.2\n", ("--threshold", "best"), "threshold"),
        ("member,score\n1,0.3\n0,0.2\n1,0.5\n", ("--threshold", "split"), "split"),
    ],
)
def test_bad_input_exits_2_with_one_error_line(tmp_path, text, args, needle) -> None:
    out = _run(_write(tmp_path, text), *args)
    assert out.exit_code == 2
    lines = [line for line in out.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), out.output
    assert needle in lines[0]


def test_missing_file_exits_2(tmp_path) -> None:
    out = _run(str(tmp_path / "nope.csv"))
    assert out.exit_code == 2 and out.output.startswith("error:")


def test_confidence_out_of_range_is_a_usage_error(tmp_path) -> None:
    out = _run(_write(tmp_path, "member,score\n1,0.3\n0,0.2\n"), "--confidence", "1.5")
    assert out.exit_code == 2
