"""``varkit gate``: exit codes, report files, GitHub integration, bad input."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from varkit.cli.main import cli
from varkit.datasets.sessions import sessions_example_path
from varkit.results import Result, ResultSet

# The three kinds of rule (this file's own copy, so that examples/gates.toml can change)
SAMPLE_RULES = """
[[rule]]
name = "candidate is not credibly worse than the baseline"
metric = "accuracy_difference"
group = { comparison = "candidate-baseline" }
min = -0.01

[[rule]]
name = "epsilon audit"
metric = "epsilon"
max = 8.0
mode = "assured"

[[rule]]
name = "models differ"
metric = "mcnemar"
max_pvalue = 0.05
"""
Write = Callable[[str, str], Path]


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def results_file(write_file: Write, *results: Result, name: str = "results.json") -> str:
    return str(write_file(name, ResultSet(results, {"function": "test"}).to_json()))


def example_results(write_file: Write, epsilon_high: float = 7.9) -> str:
    return results_file(
        write_file,
        Result(
            "accuracy_difference",
            0.002,
            -0.005,
            0.009,
            0.95,
            group={"comparison": "candidate-baseline"},
        ),
        Result("epsilon", 6.0, 4.1, epsilon_high, 0.95),
        Result("mcnemar", 9.3, pvalue=0.002),
    )


def rules_file(write_file: Write, body: str) -> str:
    return str(write_file("gates.toml", body))


def sample_rules(write_file: Write) -> str:
    return str(write_file("sample_gates.toml", SAMPLE_RULES))


@pytest.fixture(autouse=True)
def _no_github_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


def test_all_pass_exit_0(write_file: Write) -> None:
    code, out, err = invoke(
        "gate", example_results(write_file), "--rules", sample_rules(write_file)
    )
    assert code == 0, err
    assert "3 passed, 0 failed, 0 inconclusive" in out
    assert "::" not in out


def test_failure_exit_1(write_file: Write) -> None:
    path = example_results(write_file, epsilon_high=8.2)
    code, out, _ = invoke("gate", path, "--rules", sample_rules(write_file))
    assert code == 1
    assert "FAIL" in out and "epsilon audit" in out and "[4.1, 8.2]" in out


def test_inconclusive_passes_unless_strict(write_file: Write) -> None:
    path = results_file(write_file, Result("delta", 0.0, -0.1, 0.1, 0.95))
    rules = rules_file(write_file, '[[rule]]\nname = "r"\nmetric = "delta"\nmin = 0.0\n')
    code, out, _ = invoke("gate", path, "--rules", rules)
    assert code == 0 and "INCONCLUSIVE" in out
    code, _, _ = invoke("gate", path, "--rules", rules, "--strict")
    assert code == 1


def test_several_results_files_are_pooled(write_file: Write) -> None:
    first = results_file(write_file, Result("epsilon", 6.0, 4.1, 7.9, 0.95), name="a.json")
    second = results_file(write_file, Result("mcnemar", 9.3, pvalue=0.002), name="b.json")
    rules = rules_file(
        write_file,
        '[[rule]]\nname = "e"\nmetric = "epsilon"\nmax = 8.0\nmode = "assured"\n'
        '[[rule]]\nname = "m"\nmetric = "mcnemar"\nmax_pvalue = 0.05\n',
    )
    code, out, _ = invoke("gate", first, second, "--rules", rules)
    assert code == 0 and "2 passed" in out
    code, out, _ = invoke("gate", first, "--rules", rules)
    assert code == 1 and "No result has metric 'mcnemar'" in out


def test_junit_and_markdown_files(write_file: Write, tmp_path: Path) -> None:
    junit, markdown = tmp_path / "report.xml", tmp_path / "summary.md"
    path = example_results(write_file, epsilon_high=8.2)
    args = ["gate", path, "--rules", sample_rules(write_file), "--junit", str(junit)]
    code, _, _ = invoke(*args, "--markdown", str(markdown))
    assert code == 1
    root = ET.fromstring(junit.read_text(encoding="utf-8").split("\n", 1)[1])
    cases = list(root.iter("testcase"))
    assert len(cases) == 3
    assert [c.find("failure") is not None for c in cases] == [False, True, False]
    text = markdown.read_text(encoding="utf-8")
    assert "| status | rule |" in text and "epsilon audit" in text


def test_github_summary_and_annotations(
    write_file: Write, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "step_summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    path = results_file(
        write_file,
        Result("epsilon", 8.0, 7.0, 9.0, 0.95),
        Result("delta", 0.0, -0.1, 0.1, 0.95),
    )
    rules = rules_file(
        write_file,
        '[[rule]]\nname = "e"\nmetric = "epsilon"\nmax = 8.0\nmode = "assured"\n'
        '[[rule]]\nname = "d"\nmetric = "delta"\nmin = 0.0\n',
    )
    code, out, _ = invoke("gate", path, "--rules", rules)
    assert code == 1
    annotations = [line for line in out.splitlines() if line.startswith("::")]
    assert annotations == [
        "::error title=varkit gate%3A e::epsilon: The interval [7, 9] is not wholly <= 8.",
        "::warning title=varkit gate%3A d::delta: The interval [-0.1, 0.1] straddles the "
        "bound >= 0.",
    ]
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n") and "### varkit gate" in text


def test_round_trip_from_varkit_bootstrap(write_file: Write, tmp_path: Path) -> None:
    output = tmp_path / "latency.json"
    code, _, err = invoke(
        "bootstrap",
        sessions_example_path(),
        "-c",
        "latency_ms",
        "--resamples",
        "200",
        "--seed",
        "1",
        "--format",
        "json",
        "-o",
        str(output),
    )
    assert code == 0, err
    (result,) = ResultSet.from_json(output.read_text(encoding="utf-8"))
    assert result.ci_low is not None and result.ci_high is not None
    rule = '[[rule]]\nname = "latency"\nmetric = "mean"\ngroup = {{ column = "latency_ms" }}\n'
    passing = rules_file(write_file, rule.format() + f"max = {result.ci_high}\nmode = 'assured'\n")
    code, out, _ = invoke("gate", str(output), "--rules", passing)
    assert code == 0 and "1 passed" in out
    failing = rules_file(write_file, rule.format() + f"max = {result.ci_low - 1}\n")
    code, out, _ = invoke("gate", str(output), "--rules", failing)
    assert code == 1 and "mean[column=latency_ms]" in out


# -- bad input: exit 2 with one error line ----------------------------------------------
def assert_input_error(code: int, err: str, fragment: str) -> None:
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert fragment in lines[0]


def test_bad_rules_file_exit_2(write_file: Write) -> None:
    rules = rules_file(write_file, '[[rule]]\nname = "r"\nmetric = "m"\nmode = "sure"\nmin = 0\n')
    code, _, err = invoke("gate", example_results(write_file), "--rules", rules)
    assert_input_error(code, err, "`mode` must be 'credible' or 'assured'")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "is not a varkit results document"),
        (json.dumps({"schema": "other/1", "results": []}), "not a varkit results document"),
        (
            json.dumps(
                {"schema": "varkit.results/1", "results": [{"metric": "m", "estimate": "abc"}]}
            ),
            "`estimate` must be a number",
        ),
    ],
)
def test_bad_results_json_exit_2(write_file: Write, content: str, fragment: str) -> None:
    path = str(write_file("bad.json", content))
    code, _, err = invoke("gate", path, "--rules", sample_rules(write_file))
    assert_input_error(code, err, fragment)
    assert "bad.json" in err


def test_missing_files_exit_2(write_file: Write, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["gate", str(tmp_path / "none.json"), "--rules", sample_rules(write_file)]
    )
    assert result.exit_code == 2
    result = CliRunner().invoke(cli, ["gate", example_results(write_file)])
    assert result.exit_code == 2 and "--rules" in result.stderr


RELATIVE_RULE = (
    '[[rule]]\nname = "no drop"\nmetric = "accuracy"\ngroup = { model = "cand" }\n'
    'baseline = { model = "base" }\nmax_drop = 0.01\n'
)


def test_relative_rule_decides_on_the_paired_difference(write_file: Write) -> None:
    cand = Result("accuracy", 0.83, 0.80, 0.86, 0.95, group={"model": "cand"})
    base = Result("accuracy", 0.84, 0.81, 0.87, 0.95, group={"model": "base"})
    diff = Result(
        "accuracy_difference",
        -0.03,
        -0.04,
        -0.02,
        0.95,
        group={"comparison": "cand-base", "model_1": "cand", "model_2": "base"},
    )
    rules = rules_file(write_file, RELATIVE_RULE)
    code, out, _ = invoke("gate", results_file(write_file, cand, base, diff), "--rules", rules)
    # paired [-0.04, -0.02] is wholly below -0.01
    assert code == 1 and "FAIL" in out and "paired result accuracy_difference" in out
    code, out, _ = invoke("gate", results_file(write_file, cand, base), "--rules", rules)
    # separate: [0.80 - 0.87, 0.86 - 0.81] = [-0.07, 0.05] straddles -0.01
    assert code == 0 and "INCONCLUSIVE" in out and "[-0.07, 0.05] (90%)" in out
    code, out, _ = invoke("gate", results_file(write_file, cand), "--rules", rules)
    assert code == 1 and "No baseline result" in out


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ("max_rise = -1\n", "`max_rise` must be non-negative"),
        ("min = 0\n", "excludes `min`"),
        ('baseline2 = "x"\n', "unknown key 'baseline2'"),
    ],
)
def test_bad_relative_rule_exit_2(write_file: Write, extra: str, fragment: str) -> None:
    rules = rules_file(write_file, RELATIVE_RULE + extra)
    code, _, err = invoke("gate", example_results(write_file), "--rules", rules)
    assert_input_error(code, err, fragment)


# -- issue 14: files that cannot be written, malformed inputs, scale ----------------------
@pytest.mark.parametrize("option", ["--junit", "--markdown"])
def test_output_into_a_missing_folder_is_created(
    write_file: Write, tmp_path: Path, option: str
) -> None:
    target = tmp_path / "new" / "deeper" / "out.txt"
    code, _, err = invoke(
        "gate",
        example_results(write_file),
        "--rules",
        sample_rules(write_file),
        option,
        str(target),
    )
    assert code == 0 and target.is_file() and "Traceback" not in err


@pytest.mark.parametrize("option", ["--junit", "--markdown"])
@pytest.mark.parametrize("where", ["under_file", "full_disk"])
def test_output_that_cannot_be_written_is_one_error_line(
    write_file: Write, tmp_path: Path, option: str, where: str
) -> None:
    if where == "full_disk" and not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    regular = write_file("plain.txt", "x")
    target = str(regular / "out.xml") if where == "under_file" else "/dev/full"
    code, _, err = invoke(
        "gate", example_results(write_file), "--rules", sample_rules(write_file), option, target
    )
    assert_input_error(code, err, option)


@pytest.mark.parametrize("where", ["folder", "full_disk", "under_file"])
def test_github_step_summary_that_cannot_be_written_is_one_error_line(
    write_file: Write, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    if where == "full_disk" and not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    regular = write_file("plain.txt", "x")
    target = {"folder": str(tmp_path), "full_disk": "/dev/full"}.get(where, str(regular / "s.md"))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", target)
    code, _, err = invoke("gate", example_results(write_file), "--rules", sample_rules(write_file))
    assert_input_error(code, err, "$GITHUB_STEP_SUMMARY")


def test_github_step_summary_in_a_missing_folder_is_created(
    write_file: Write, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "a" / "b" / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(target))
    code, _, _ = invoke("gate", example_results(write_file), "--rules", sample_rules(write_file))
    assert code == 0 and "### varkit gate" in target.read_text(encoding="utf-8")


BIG = "9" * 400


@pytest.mark.parametrize("field", ["estimate", "confidence", "stderr", "pvalue", "ci_high"])
def test_huge_integer_in_results_json_names_field_and_result(write_file: Write, field: str) -> None:
    good = {"metric": "epsilon", "estimate": 1.0}
    bad = {"metric": "epsilon", "estimate": 1.0, field: 0}
    text = json.dumps({"schema": "varkit.results/1", "results": [good, bad]})
    text = text.replace(f'"{field}": 0', f'"{field}": {BIG}')
    path = str(write_file("big.json", text))
    code, _, err = invoke("gate", path, "--rules", sample_rules(write_file))
    assert_input_error(code, err, f"result 2: `{field}` is an integer too large")


def test_huge_integer_in_df_and_past_the_digit_limit(write_file: Write) -> None:
    doc = '{"schema": "varkit.results/1", "results": [{"metric": "m", "estimate": 1, "df": [%s]}]}'
    path = str(write_file("df.json", doc % BIG))
    code, _, err = invoke("gate", path, "--rules", sample_rules(write_file))
    assert_input_error(code, err, "result 1: `df` is an integer too large")
    path = str(write_file("digits.json", doc % ("9" * 5000)))
    code, _, err = invoke("gate", path, "--rules", sample_rules(write_file))
    assert_input_error(code, err, "is not valid JSON")


@pytest.mark.parametrize("where", ["top", "details"])
def test_deeply_nested_results_json_is_one_error_line(write_file: Write, where: str) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    if where == "top":
        text = deep
    else:
        text = (
            '{"schema": "varkit.results/1", "results": [{"metric": "m", "estimate": 1, '
            f'"details": {{"x": {"[" * 3000 + "]" * 3000}}}}}]}}'
        )
    path = str(write_file("deep.json", text))
    for command in ("gate", "report"):
        args = [command, path, "--rules", sample_rules(write_file)]
        if command == "report":
            args += ["-o", str(Path(path).with_suffix(".html"))]
        code, _, err = invoke(*args)
        assert_input_error(code, err, "deep.json")


@pytest.mark.parametrize("key", ["min", "max", "max_pvalue", "max_drop"])
def test_huge_integer_bound_in_rules_names_the_key(write_file: Write, key: str) -> None:
    extra = 'baseline = { model = "b" }\n' if key == "max_drop" else ""
    rules = rules_file(write_file, f'[[rule]]\nname = "r"\nmetric = "m"\n{extra}{key} = {BIG}\n')
    code, _, err = invoke("gate", example_results(write_file), "--rules", rules)
    assert_input_error(code, err, f"`{key}` is an integer too large")


def test_deeply_nested_rules_file_is_one_error_line(write_file: Write) -> None:
    rules = rules_file(write_file, "x = " + "[" * 50_000 + "]" * 50_000 + "\n")
    code, _, err = invoke("gate", example_results(write_file), "--rules", rules)
    assert_input_error(code, err, "rules file")


# ~10 s on a loaded 2-core machine; tests/test_gates.py guards the scaling by default
@pytest.mark.slow
def test_gate_with_relative_rules_on_20000_results_finishes(write_file: Write) -> None:
    # quadratic matching took 37 s per relative rule on 20,000 results; linear takes ~1 s
    results = [Result("accuracy", 0.84, 0.81, 0.87, 0.95, group={"model": "base"})]
    results += [
        Result("accuracy", 0.83, 0.80, 0.86, 0.95, group={"model": f"m{i}"}) for i in range(20_000)
    ]
    path = results_file(write_file, *results)
    rules = rules_file(
        write_file,
        '[[rule]]\nname = "drop"\nmetric = "accuracy"\nbaseline = { model = "base" }\n'
        "max_drop = 0.1\n",
    )
    code, out, _ = invoke("gate", path, "--rules", rules)
    assert code == 0 and out.strip().endswith("20000 passed, 0 failed, 0 inconclusive")


def test_the_decision_table_is_drawn_by_rich_on_a_terminal_and_plain_when_piped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io
    import sys

    from varkit.cli.options import echo_decisions
    from varkit.gates import Rule, check

    report = check(
        [Result("epsilon", 6.1, 5.2, 7.9, 0.95)], [Rule("epsilon audit", "epsilon", max=8.0)]
    )

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    for stream, drawn in ((Terminal(), True), (io.StringIO(), False)):
        with monkeypatch.context() as patch:
            patch.setattr(sys, "stdout", stream)
            echo_decisions(report)
        text = stream.getvalue()
        assert "epsilon" in text and "1 passed, 0 failed, 0 inconclusive" in text
        assert ("┃" in text) is drawn  # rich's box on a terminal only
        if not drawn:
            assert text == report.to_table()
        else:
            assert "[5.2, 7.9]" in text  # an interval is text, not rich markup
