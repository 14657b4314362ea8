"""``varkit demo``: runs on the bundled logs, writes schema-valid results."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from click.testing import CliRunner

from varkit.cli.main import cli
from varkit.results import ResultSet, load_json_schema


def test_demo_writes_schema_valid_results_and_a_summary(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", "--output", str(out), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    document = json.loads((out / "results.json").read_text())
    jsonschema.Draft202012Validator(load_json_schema()).validate(document)
    results = ResultSet.from_dict(document)
    assert {r.group["module"] for r in results} == {
        "engine",
        "evaluate",
        "privacy",
        "cav",
        "fairness",
    }
    assert all(r.ci_low is not None or r.pvalue is not None for r in results)
    summary = (out / "summary.md").read_text()
    assert summary.startswith("# varkit demo")
    assert "## Gates" in summary
    assert "Gates (bundled rules" in result.output
    assert "0 failed" in result.output
    assert f"{len(results)} results" in result.output
