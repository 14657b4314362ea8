"""The CLI contract in varkit/cli/main.py and options.py: exit codes, error and warning lines.

The commands below are registered on a throw-away copy of the ``varkit`` group, so each
test sees exactly one kind of failure.
"""

from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner

from varkit.checks import CONFIDENCE_MAX, CONFIDENCE_MIN, check_confidence
from varkit.cli.main import cli
from varkit.cli.options import emit, output_options, write_text
from varkit.errors import SchemaError, VarkitError, VarkitTypeError, VarkitWarning, note
from varkit.results import Result, ResultSet


def _group_with(command: click.Command) -> click.Group:
    group = copy.copy(cli)
    group.commands = {**cli.commands, command.name or "probe": command}
    return group


def _run(body, *args: str):
    @click.command("probe")
    @output_options
    def probe(fmt: str, output: str | None) -> None:
        body()
        emit(ResultSet((Result("proportion", 0.5, 0.2, 0.8, 0.95),)), fmt, output)

    return CliRunner().invoke(_group_with(probe), ["probe", *args])


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def test_varkit_error_is_exit_2_with_one_error_line() -> None:
    def body() -> None:
        raise VarkitError("column 'crash' must hold only 0 and 1, but row 3 holds 2.")

    out = _run(body)
    assert out.exit_code == 2
    assert _lines(out.output) == [
        "error: column 'crash' must hold only 0 and 1, but row 3 holds 2."
    ]


@pytest.mark.parametrize(
    "exc", [ValueError("bug"), TypeError("bug"), ZeroDivisionError(), KeyError("inf")]
)
def test_any_other_exception_is_an_internal_error_with_traceback_exit_3(exc) -> None:
    def body() -> None:
        raise exc

    out = _run(body)
    assert out.exit_code == 3
    assert out.output.startswith("internal error:")
    assert "Traceback" in out.output and "please report" in out.output


def test_varkit_debug_reraises(monkeypatch) -> None:
    monkeypatch.setenv("VARKIT_DEBUG", "1")

    def body() -> None:
        raise ZeroDivisionError

    out = _run(body)
    assert isinstance(out.exception, ZeroDivisionError)


def test_warnings_are_warning_lines_and_recorded_in_details() -> None:
    def body() -> None:
        note(None, "3 rows were excluded: `crash` is missing.")
        note(None, "3 rows were excluded: `crash` is missing.")  # printed once
        with np.errstate(divide="warn"):
            np.log(np.zeros(1))

    out = _run(body, "--format", "json")
    assert out.exit_code == 0, out.output
    lines = _lines(out.output)
    warning_lines = [line for line in lines if line.startswith("warning:")]
    assert warning_lines == [
        "warning: 3 rows were excluded: `crash` is missing.",
        "warning: RuntimeWarning: divide by zero encountered in log",
    ]
    document = json.loads("\n".join(line for line in lines if not line.startswith("warning:")))
    assert document["results"][0]["details"]["warnings"] == [
        "3 rows were excluded: `crash` is missing.",
        "RuntimeWarning: divide by zero encountered in log",
    ]


def test_library_deprecation_warnings_stay_hidden() -> None:
    def body() -> None:
        warnings.warn("old api", DeprecationWarning, stacklevel=1)

    out = _run(body)
    assert out.exit_code == 0
    assert "old api" not in out.output


def test_output_creates_missing_folders(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "out.json"
    out = _run(lambda: None, "--format", "json", "-o", str(target))
    assert out.exit_code == 0, out.output
    assert json.loads(target.read_text())["results"][0]["metric"] == "proportion"


@pytest.mark.parametrize("where", ["under-a-file", "a-folder", "full-disk", "empty"])
def test_output_that_cannot_be_written_is_one_error_line(tmp_path: Path, where: str) -> None:
    regular = tmp_path / "file.txt"
    regular.write_text("x")
    path = {
        "under-a-file": str(regular / "out.json"),
        "a-folder": str(tmp_path),
        "full-disk": "/dev/full",
        "empty": "",
    }[where]
    if where == "full-disk" and not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    out = _run(lambda: None, "-o", path)
    assert out.exit_code == 2, out.output
    lines = _lines(out.output)
    assert len(lines) == 1 and lines[0].startswith("error: "), out.output
    assert "--output" in lines[0] or "-o" in lines[0]


def test_write_text_appends_and_names_the_option(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "summary.md"
    write_text(path, "a\n", option="GITHUB_STEP_SUMMARY", mode="a")
    write_text(path, "b\n", option="GITHUB_STEP_SUMMARY", mode="a")
    assert path.read_text() == "a\nb\n"
    with pytest.raises(VarkitError, match="GITHUB_STEP_SUMMARY"):
        write_text(tmp_path, "x", option="GITHUB_STEP_SUMMARY", mode="a")


@pytest.mark.parametrize("value", [0.5, 0.9, 0.95, CONFIDENCE_MAX])
def test_check_confidence_accepts_the_sane_range(value: float) -> None:
    assert check_confidence(value) == value


@pytest.mark.parametrize(
    "value", [0.0, 1e-16, 0.4999, 0.9999999999999999, 1.0, 95, float("nan"), float("inf")]
)
def test_check_confidence_rejects_outside_the_sane_range(value: float) -> None:
    with pytest.raises(VarkitError, match="`confidence` must be between 0.5 and 0.999999999"):
        check_confidence(value)


@pytest.mark.parametrize("value", [True, "0.9", None])
def test_check_confidence_rejects_non_numbers(value: object) -> None:
    with pytest.raises(VarkitTypeError):
        check_confidence(value)


def test_confidence_bounds_are_ordered() -> None:
    assert 0.0 < CONFIDENCE_MIN < 0.95 < CONFIDENCE_MAX < 1.0


def test_note_warns_once_per_message_in_details() -> None:
    details: dict[str, list[str]] = {}
    with pytest.warns(VarkitWarning, match="pooled"):
        note(details, "strata 3 and 4 pooled.")
    with pytest.warns(VarkitWarning):
        note(details, "strata 3 and 4 pooled.")
    assert details == {"warnings": ["strata 3 and 4 pooled."]}


@pytest.mark.parametrize(
    ("estimate", "low", "high"), [(0.9, 0.95, 0.97), (1.0004, 0.9, 1.0), (-0.1, 0.0, 0.2)]
)
def test_result_refuses_an_estimate_outside_its_interval(estimate, low, high) -> None:
    with pytest.raises(SchemaError, match="outside its interval"):
        Result("crash_rate", estimate, low, high, 0.95)


def test_result_admits_nan_and_one_sided_intervals() -> None:
    assert Result("x", float("nan"), 0.0, 1.0).ci_low == 0.0
    assert Result("x", 0.3, 0.1, None).ci_high is None
    assert Result("x", 0.3, float("-inf"), float("inf")).ci_low == float("-inf")


def test_a_failed_command_prints_only_its_error_line() -> None:
    def body() -> None:
        with np.errstate(invalid="warn"):
            np.sqrt(-np.ones(1))
        raise VarkitError("column 'x' has a missing value in row 2.")

    out = _run(body)
    assert out.exit_code == 2
    assert _lines(out.output) == ["error: column 'x' has a missing value in row 2."]


def test_nan_and_inf_options_are_refused() -> None:
    from varkit.cli.options import FINITE, FiniteFloatRange

    for value in ("nan", "inf", "-inf"):
        with pytest.raises(click.BadParameter, match="not a finite number"):
            FINITE.convert(value, None, None)
    assert FiniteFloatRange(0, 1).convert("0.25", None, None) == 0.25


def test_error_lines_name_the_option_the_user_typed(tmp_path: Path) -> None:
    @click.command("probe")
    @click.option("--max-depth", "depth", type=int, default=1)
    def probe(depth: int) -> None:
        raise VarkitError("`max_depth` must be positive, got 0; `depth` too.")

    out = CliRunner().invoke(_group_with(probe), ["probe", "--max-depth", "0"])
    assert out.exit_code == 2
    assert _lines(out.output) == ["error: --max-depth must be positive, got 0; --max-depth too."]


def test_seed_above_63_bits_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("x\n1\n2\n")
    out = CliRunner().invoke(cli, ["bootstrap", str(path), "-c", "x", "--seed", str(2**63)])
    assert out.exit_code == 2
    assert _lines(out.output)[0].startswith("error: Invalid value for '--seed'")


def test_a_result_that_breaks_the_schema_inside_a_command_is_a_bug_exit_3() -> None:
    def body() -> None:
        Result("crash_rate", 1.0004, 0.9, 1.0, 0.95)

    out = _run(body)
    assert out.exit_code == 3
    assert "SchemaError" in out.output


def test_a_document_that_breaks_the_schema_is_an_input_error_naming_the_result() -> None:
    good = Result("x", 0.5, 0.4, 0.6).to_dict()
    bad = {**good, "estimate": 0.9}
    document = {"schema": "varkit.results/1", "results": [good, bad]}
    with pytest.raises(VarkitError, match=r"result 2: `estimate` \(0.9\) is outside"):
        ResultSet.from_dict(document)
    with pytest.raises(VarkitError, match="outside its interval"):
        Result.from_dict(bad)
