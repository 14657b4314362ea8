"""``varkit privacy epsilon``: output validates against the schema; bad input exits 2."""

from __future__ import annotations

import json

import jsonschema
import numpy as np
import pytest
from click.testing import CliRunner

from varkit.cli.main import cli
from varkit.datasets.privacy import mia_example_path
from varkit.privacy import one_run_audit
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


# -- the theoretical epsilon beside the audit; --device; the provenance's command --------
def test_theoretical_epsilon_and_ratio_are_printed_beside_the_audit() -> None:
    out = _run(mia_example_path(), "--delta", "1e-5", "--seed", "3", "--noise-multiplier", "2",
               "--sample-rate", "0.01", "--steps", "100", "--accountant", "rdp")  # fmt: skip
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert any(line.startswith("theoretical_epsilon[delta=1e-05] = ") for line in lines)
    ratio = next(line for line in lines if line.startswith("epsilon_ratio[delta=1e-05]"))
    assert "bayes-jeffreys / dp-accounting-rdp" in ratio


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--noise-multiplier", "1"), "--sample-rate and --steps are missing"),
        (("--steps", "5", "--sample-rate", "0.1"), "--noise-multiplier is missing"),
        (("--noise-multiplier", "0", "--sample-rate", "0.1", "--steps", "5"), "--noise-multi"),
        (("--noise-multiplier", "1", "--sample-rate", "0.1", "--steps", "0"), "--steps"),
    ],
)
def test_dp_sgd_options_come_together_or_exit_2_naming_the_missing(args, needle) -> None:
    out = _run(mia_example_path(), "--delta", "1e-5", *args)
    assert out.exit_code == 2
    assert out.output.startswith("error:") and needle in out.output, out.output


def test_no_theoretical_epsilon_at_delta_0() -> None:
    out = _run(mia_example_path(), "--noise-multiplier", "1", "--sample-rate", "0.1",
               "--steps", "5")  # fmt: skip
    assert out.exit_code == 2 and "--delta must be in (0, 1)" in out.output


@pytest.mark.parametrize("command", [("epsilon",), ("one-run", "--guesses", "2")])
def test_privacy_commands_offer_no_device(tmp_path, command) -> None:
    path = _write(tmp_path, "member,included,score\n1,1,0.3\n0,0,0.2\n")
    out = CliRunner().invoke(cli, ["privacy", *command, path, "--device", "gpu"])
    assert out.exit_code == 2 and "No such option '--device'" in out.output


def test_the_provenance_types_each_delta_as_a_number() -> None:
    out = _run(mia_example_path(), "--delta", "1e-5", "--delta", "0.001", "--seed", "3",
               "--format", "json")  # fmt: skip
    command = json.loads(out.output)["provenance"]["command"]
    assert "--delta=1e-05 --delta=0.001" in command and "(" not in command
    assert "--tpr-at-fpr" not in command  # not given: not recorded


# -- varkit privacy one-run ----------------------------------------------------------------
def _canaries(tmp_path, m=600, seed=0) -> str:
    rng = np.random.default_rng(seed)
    included = rng.integers(0, 2, m)
    rows = "".join(f"{i},{inc},{rng.normal(2.0 * inc):.6f}\n" for i, inc in enumerate(included))
    path = tmp_path / "canaries.csv"
    path.write_text("canary_id,included,score\n" + rows)
    return str(path)


def test_one_run_gives_schema_valid_json_with_the_paper_bound(tmp_path) -> None:
    path = _canaries(tmp_path)
    out = CliRunner().invoke(
        cli, ["privacy", "one-run", path, "--guesses", "60", "--delta", "1e-5", "--format", "json"]
    )
    assert out.exit_code == 0, out.output
    jsonschema.validate(json.loads(out.output), load_json_schema())
    (r,) = ResultSet.from_json(out.output)
    expected = one_run_audit(n_canaries=600, n_guesses=r.details["n_guesses"],
                             n_correct=r.details["n_correct"], delta=1e-5)  # fmt: skip
    assert r.ci_low == expected.ci_low > 0 and r.method == "one-run-steinke2023"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ((), "Missing option '--guesses'"),
        (("--guesses", "0"), "--guesses"),
        (("--guesses", "601"), "--guesses (601) must not exceed"),
        (("--guesses", "10", "--score-col", "nope"), "nope"),
        (("--guesses", "10", "--delta", "1"), "--delta"),
    ],
)
def test_one_run_bad_input_exits_2_with_one_error_line(tmp_path, args, needle) -> None:
    out = CliRunner().invoke(cli, ["privacy", "one-run", _canaries(tmp_path), *args])
    assert out.exit_code == 2
    lines = [line for line in out.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], out.output
