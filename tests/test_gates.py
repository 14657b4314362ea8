"""``varkit.gates``: decisions at and around the bound, rules files, report formats."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from varkit.gates import Decision, GateReport, Rule, assert_gate, check, load_rules
from varkit.results import Result, ResultSet

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "gates.toml"


def interval(low: float, high: float, metric: str = "delta", **group: str) -> Result:
    return Result(metric, (low + high) / 2, low, high, 0.95, "test", group=group)


def status(rule: Rule, result: Result) -> str:
    (decision,) = check([result], [rule]).decisions
    return decision.status


# -- credible mode: fail only when the whole interval is on the wrong side ---------------
@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0.0, 0.1, "pass"),  # wholly above
        (-0.01, 0.1, "pass"),  # endpoint on the bound is on the right side
        (-0.0100001, 0.1, "inconclusive"),  # just straddles
        (-0.05, -0.01, "inconclusive"),  # upper endpoint on the bound: not wholly wrong
        (-0.05, -0.0100001, "fail"),  # wholly below
    ],
)
def test_credible_min(low: float, high: float, expected: str) -> None:
    assert status(Rule("r", "delta", min=-0.01), interval(low, high)) == expected


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (7.0, 8.0, "pass"),
        (7.0, 8.0001, "inconclusive"),
        (8.0, 9.0, "inconclusive"),
        (8.01, 9, "fail"),
    ],
)
def test_credible_max(low: float, high: float, expected: str) -> None:
    assert status(Rule("r", "delta", max=8.0), interval(low, high)) == expected


# -- assured mode: pass only when the whole interval is on the right side ----------------
@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [(5.0, 8.0, "pass"), (5.0, 8.0001, "fail"), (8.5, 9.0, "fail"), (-math.inf, 7.0, "pass")],
)
def test_assured_max(low: float, high: float, expected: str) -> None:
    assert status(Rule("r", "delta", max=8.0, mode="assured"), interval(low, high)) == expected


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [(0.9, 0.95, "pass"), (0.89999, 0.95, "fail"), (0.5, 0.6, "fail")],
)
def test_assured_min(low: float, high: float, expected: str) -> None:
    assert status(Rule("r", "delta", min=0.9, mode="assured"), interval(low, high)) == expected


def test_two_sided_bounds() -> None:
    rule = Rule("r", "delta", min=0.0, max=1.0)
    assert status(rule, interval(0.0, 1.0)) == "pass"
    assert status(rule, interval(0.5, 1.5)) == "inconclusive"
    assert status(rule, interval(1.1, 1.5)) == "fail"
    assert status(rule, interval(-1.0, -0.1)) == "fail"


@pytest.mark.parametrize(
    ("pvalue", "expected"), [(0.01, "pass"), (0.05, "fail"), (0.2, "fail"), (math.nan, "fail")]
)
def test_max_pvalue(pvalue: float, expected: str) -> None:
    rule = Rule("differ", "mcnemar", max_pvalue=0.05)
    assert status(rule, Result("mcnemar", 4.0, pvalue=pvalue)) == expected


# -- nothing undefined ever passes ------------------------------------------------------
@pytest.mark.parametrize("mode", ["credible", "assured"])
@pytest.mark.parametrize(
    "result",
    [
        Result("delta", math.nan, 0.1, 0.2, 0.95),
        Result("delta", 0.15, math.nan, 0.2, 0.95),
        Result("delta", 0.15, 0.1, math.nan, 0.95),
        Result("delta", 0.15),
        Result("delta", 0.15, ci_low=0.1),
    ],
    ids=["nan-estimate", "nan-low", "nan-high", "no-interval", "half-interval"],
)
def test_undefined_results_never_pass(mode: str, result: Result) -> None:
    (decision,) = check([result], [Rule("r", "delta", min=0.0, mode=mode)]).decisions
    assert decision.status == "fail"
    assert decision.reason.endswith(".") and decision.reason.count(". ") == 0


def test_pvalue_rule_without_pvalue_fails() -> None:
    (decision,) = check([Result("mcnemar", 1.0)], [Rule("d", "mcnemar", max_pvalue=0.05)]).decisions
    assert decision.status == "fail"
    assert "no p-value" in decision.reason


def test_missing_result_fails_with_reason() -> None:
    report = check([interval(0.1, 0.2, "other")], [Rule("r", "delta", min=0.0)])
    (decision,) = report.decisions
    assert decision.status == "fail"
    assert "No result has metric 'delta'" in decision.reason
    assert report.exit_code() == 1


# -- matching ---------------------------------------------------------------------------
def test_group_labels_must_all_match_and_extra_labels_are_ignored() -> None:
    results = ResultSet(
        [
            interval(0.1, 0.2, comparison="a-b", split="test"),
            interval(-0.5, -0.3, comparison="c-b", split="test"),
            interval(-0.5, -0.3, comparison="a-b", split="train"),
        ]
    )
    rule = Rule("r", "delta", group={"comparison": "a-b", "split": "test"}, min=0.0)
    (decision,) = check(results, [rule]).decisions
    assert decision.status == "pass"
    assert decision.label == "delta[comparison=a-b, split=test]"


def test_rule_matching_several_results_decides_each() -> None:
    results = [interval(0.1, 0.2, model="m1"), interval(-0.2, -0.1, model="m2")]
    report = check(results, [Rule("r", "delta", min=0.0)])
    assert [d.status for d in report.decisions] == ["pass", "fail"]
    assert [d.label for d in report.decisions] == ["delta[model=m1]", "delta[model=m2]"]
    assert (report.decisions[1].ci_low, report.decisions[1].ci_high) == (-0.2, -0.1)


# -- report and exit codes --------------------------------------------------------------
def test_strict_mode_turns_inconclusive_into_exit_1() -> None:
    report = check([interval(-0.1, 0.1)], [Rule("r", "delta", min=0.0)])
    assert report.passed and report.inconclusive and not report.failed
    assert report.exit_code() == 0
    assert report.exit_code(strict=True) == 1


def test_assert_gate(tmp_path: Path) -> None:
    rules = [Rule("r", "delta", min=0.0)]
    assert assert_gate([interval(0.1, 0.2)], rules).passed
    assert_gate([interval(-0.1, 0.2)], rules)  # inconclusive passes
    with pytest.raises(AssertionError, match="1 gate\\(s\\) failed:\n- r on delta"):
        assert_gate([interval(-0.1, 0.2)], rules, strict=True)
    with pytest.raises(AssertionError, match="epsilon audit"):
        assert_gate([Result("epsilon", 9.0, 8.5, 9.5, 0.95)], EXAMPLE)


def sample_report() -> GateReport:
    results = [
        interval(0.1, 0.2, comparison="candidate-baseline", metric="accuracy_difference"),
        interval(7.0, 9.0, metric="epsilon"),
        Result("mcnemar", 2.0, pvalue=0.5),
    ]
    rules = load_rules(EXAMPLE)
    rules[0] = Rule(rules[0].name, rules[0].metric, rules[0].group, min=0.15)  # inconclusive
    return check(results, rules)


def test_junit_xml_parses_with_one_testcase_per_decision() -> None:
    root = ET.fromstring(sample_report().to_junit_xml().split("\n", 1)[1])
    (suite,) = root.findall("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == 3
    assert suite.get("tests") == "3" and suite.get("failures") == "2"
    assert suite.get("skipped") == "1"
    assert cases[0].find("skipped") is not None
    assert cases[1].find("failure") is not None
    assert "<= 8" in (cases[1].find("failure").get("message") or "")  # type: ignore[union-attr]
    assert cases[2].find("failure") is not None


def test_junit_passing_case_has_no_failure() -> None:
    report = check([interval(0.1, 0.2)], [Rule("r", "delta", min=0.0)])
    root = ET.fromstring(report.to_junit_xml().split("\n", 1)[1])
    (case,) = root.iter("testcase")
    assert case.find("failure") is None and case.find("skipped") is None


def test_markdown_table() -> None:
    text = sample_report().to_markdown()
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| status"))
    assert lines[header + 1] == "|---|---|---|---|---|---|---|"
    body = lines[header + 2 :]
    assert len(body) == 3 and all(line.count(" | ") == 6 for line in body)
    assert "inconclusive" in body[0] and "fail" in body[1]
    assert "1 passed" not in text and "0 passed, 2 failed, 1 inconclusive" in text


def test_table_lists_every_decision() -> None:
    text = sample_report().to_table()
    assert text.splitlines()[0].split()[:3] == ["status", "rule", "result"]
    assert text.count("FAIL") == 2 and text.count("INCONCLUSIVE") == 1
    assert "[7, 9] (95%)" in text


def test_github_annotations_escape_and_levels() -> None:
    lines = sample_report().github_annotations()
    assert [line.split(" ", 1)[0] for line in lines] == ["::warning", "::error", "::error"]
    assert lines[1].startswith("::error title=varkit gate%3A epsilon audit::epsilon: ")
    report = check([Result("m", 1.0)], [Rule("a, b: c", "m", min=0.0)])
    (line,) = report.github_annotations()
    assert line.startswith("::error title=varkit gate%3A a%2C b%3A c::")


def test_decision_is_frozen() -> None:
    decision = Decision("r", "pass", "m", "ok.")
    with pytest.raises(AttributeError):
        decision.status = "fail"  # type: ignore[misc]


# -- rules files ------------------------------------------------------------------------
def test_example_rules_file() -> None:
    rules = load_rules(EXAMPLE)
    assert [r.kind for r in rules] == ["credible", "assured", "max_pvalue"]
    assert rules[0].group == {"comparison": "candidate-baseline"}
    assert rules[0].min == -0.01 and rules[1].max == 8.0 and rules[2].max_pvalue == 0.05


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('name = "a"\nmetric = "m"\nmaxx = 1', "unknown key 'maxx'"),
        ('name = "a"\nmetric = "m"', "needs a bound"),
        ('name = "a"\nmetric = "m"\nmin = 0\nmode = "sure"', "`mode` must be 'credible' or"),
        ('name = "a"\nmetric = "m"\nmin = "zero"', "`min` must be a number"),
        ('name = "a"\nmetric = "m"\nmax = true', "`max` must be a number"),
        ('name = "a"\nmin = 0', "`metric` is missing"),
        ('name = "a"\nmetric = "m"\nmin = 2\nmax = 1', "is above `max`"),
        ('name = "a"\nmetric = "m"\nmax_pvalue = 1.5', "`max_pvalue` must be in (0, 1]"),
        ('name = "a"\nmetric = "m"\nmax_pvalue = 0.05\nmin = 0', "either `max_pvalue`"),
        ('name = "a"\nmetric = "m"\nmax_pvalue = 0.05\nmode = "assured"', "`mode` does not"),
        ('name = "a"\nmetric = "m"\nmin = nan', "must not be NaN"),
        ('name = "a"\nmetric = "m"\nmin = 0\ngroup = "x"', "`group` must be a table"),
    ],
)
def test_bad_rules_give_one_sentence(
    write_file: Callable[[str, str], Path], body: str, message: str
) -> None:
    path = write_file("gates.toml", "[[rule]]\n" + body + "\n")
    with pytest.raises(ValueError) as info:
        load_rules(path)
    text = str(info.value)
    assert message in text
    assert "rule 1" in text and "\n" not in text


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "has no [[rule]] tables"),
        ("[[rule]\nname=", "is not valid TOML"),
        ('title = "x"\n', "unknown top-level key 'title'"),
    ],
)
def test_bad_rules_files(
    write_file: Callable[[str, str], Path], content: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("[", "\\[")):
        load_rules(write_file("gates.toml", content))


def test_missing_rules_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        load_rules(tmp_path / "nope.toml")


def test_check_validates_arguments() -> None:
    with pytest.raises(TypeError, match="`rules`"):
        check([], [])
    with pytest.raises(TypeError, match="`results`"):
        check(["x"], [Rule("r", "m", min=0.0)])  # type: ignore[list-item]
