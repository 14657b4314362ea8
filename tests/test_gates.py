"""``varkit.gates``: decisions at and around the bound, rules files, report formats."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from varkit.errors import VarkitError
from varkit.gates import Decision, GateReport, Rule, assert_gate, check, load_rules
from varkit.results import Result, ResultSet

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "gates.toml"

# The three kinds of rule (this file's own copy, so that examples/gates.toml can change)
SAMPLE_RULES = """
[[rule]]
name = "candidate is not credibly worse than the baseline"
metric = "accuracy_difference"
group = { comparison = "candidate-baseline" }
min = -0.01
mode = "credible"

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


def sample_rules() -> list[Rule]:
    return [
        Rule(
            "candidate is not credibly worse than the baseline",
            "accuracy_difference",
            {"comparison": "candidate-baseline"},
            min=-0.01,
        ),
        Rule("epsilon audit", "epsilon", max=8.0, mode="assured"),
        Rule("models differ", "mcnemar", max_pvalue=0.05),
    ]


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


def test_assert_gate(write_file: Callable[[str, str], Path]) -> None:
    rules = [Rule("r", "delta", min=0.0)]
    assert assert_gate([interval(0.1, 0.2)], rules).passed
    assert_gate([interval(-0.1, 0.2)], rules)  # inconclusive passes
    with pytest.raises(AssertionError, match="1 gate\\(s\\) failed:\n- r on delta"):
        assert_gate([interval(-0.1, 0.2)], rules, strict=True)
    with pytest.raises(AssertionError, match="epsilon audit"):
        assert_gate([Result("epsilon", 9.0, 8.5, 9.5, 0.95)], write_file("g.toml", SAMPLE_RULES))


def sample_report() -> GateReport:
    results = [
        interval(0.1, 0.2, comparison="candidate-baseline", metric="accuracy_difference"),
        interval(7.0, 9.0, metric="epsilon"),
        Result("mcnemar", 2.0, pvalue=0.5),
    ]
    rules = sample_rules()
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
def test_rules_file_reads_as_the_rules_it_spells(write_file: Callable[[str, str], Path]) -> None:
    rules = load_rules(write_file("gates.toml", SAMPLE_RULES))
    assert rules == sample_rules()
    assert [r.kind for r in rules] == ["credible", "assured", "max_pvalue"]


def test_example_rules_file_loads() -> None:
    rules = load_rules(EXAMPLE)
    assert rules and all(isinstance(r, Rule) and r.name for r in rules)


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


# -- bounds relative to a baseline -------------------------------------------------------
def acc(model: str, low: float, high: float, estimate: float | None = None) -> Result:
    mid = (low + high) / 2 if estimate is None else estimate
    return Result("accuracy", mid, low, high, 0.95, "wilson", group={"model": model})


def paired(first: str, second: str, low: float, high: float) -> Result:
    group = {"comparison": f"{first}-{second}", "model_1": first, "model_2": second}
    return Result("accuracy_difference", (low + high) / 2, low, high, 0.95, "paired", group=group)


NO_DROP = Rule("no drop", "accuracy", {"model": "cand"}, baseline={"model": "base"}, max_drop=0.01)


def test_relative_rule_prefers_the_paired_difference() -> None:
    # separate intervals: [0.80, 0.86] - [0.81, 0.87] -> [-0.07, 0.05] would straddle -0.01;
    # the paired interval [-0.005, 0.02] is wholly >= -0.01, so it passes
    results = [
        acc("cand", 0.80, 0.86),
        acc("base", 0.81, 0.87),
        paired("cand", "base", -0.005, 0.02),
    ]
    (d,) = check(results, [NO_DROP]).decisions
    assert d.status == "pass"
    assert (d.ci_low, d.ci_high) == (-0.005, 0.02)
    assert d.basis.startswith("paired: accuracy_difference[comparison=cand-base")
    assert "paired result" in d.reason
    assert d.bound == "candidate - baseline >= -0.01"


def test_reversed_paired_difference_is_negated() -> None:
    # base - cand in [0.015, 0.03] -> cand - base in [-0.03, -0.015]: wholly below -0.01
    results = [
        acc("cand", 0.80, 0.86),
        acc("base", 0.81, 0.87),
        paired("base", "cand", 0.015, 0.03),
    ]
    (d,) = check(results, [NO_DROP]).decisions
    assert d.status == "fail"
    assert (d.ci_low, d.ci_high) == (-0.03, -0.015)
    assert d.estimate == pytest.approx(-0.0225)
    assert "(reversed)" in d.basis


def test_paired_difference_with_other_shared_labels_must_agree() -> None:
    cand = Result("accuracy", 0.9, 0.85, 0.95, 0.95, group={"data": "a", "model": "cand"})
    base = Result("accuracy", 0.9, 0.85, 0.95, 0.95, group={"data": "a", "model": "base"})
    other = paired("cand", "base", -0.5, -0.4).replace(
        group={"data": "b", "model_1": "cand", "model_2": "base"}
    )
    (d,) = check([cand, base, other], [NO_DROP]).decisions
    assert d.basis == "separate intervals, combined conservatively"


@pytest.mark.parametrize(
    ("cand", "base", "mode", "expected", "interval"),
    [
        # [c_lo - b_hi, c_hi - b_lo], bound >= -0.01
        ((0.80, 0.86), (0.81, 0.87), "credible", "inconclusive", (-0.07, 0.05)),
        ((0.70, 0.75), (0.81, 0.87), "credible", "fail", (-0.17, -0.06)),
        ((0.88, 0.90), (0.80, 0.85), "assured", "pass", (0.03, 0.10)),
        ((0.83, 0.90), (0.80, 0.85), "assured", "fail", (-0.02, 0.10)),
    ],
)
def test_relative_rule_combines_separate_intervals_conservatively(
    cand: tuple[float, float],
    base: tuple[float, float],
    mode: str,
    expected: str,
    interval: tuple[float, float],
) -> None:
    rule = Rule("r", "accuracy", baseline={"model": "base"}, max_drop=0.01, mode=mode)
    (d,) = check([acc("cand", *cand), acc("base", *base)], [rule]).decisions
    assert d.status == expected
    assert d.ci_low == pytest.approx(interval[0]) and d.ci_high == pytest.approx(interval[1])
    assert d.confidence == pytest.approx(0.90)  # Bonferroni: 0.95 + 0.95 - 1
    assert d.basis == "separate intervals, combined conservatively"
    assert d.label == "accuracy[model=cand] vs [model=base]"


def test_max_rise_and_ratio_bounds() -> None:
    cand = Result("crash_rate", 2e-4, 1.5e-4, 3e-4, 0.95, "is", group={"model": "cand"})
    base = Result("crash_rate", 1e-4, 1e-4, 2e-4, 0.95, "is", group={"model": "base"})
    rise = Rule("rise", "crash_rate", baseline={"model": "base"}, max_rise=2e-4, mode="assured")
    ratio = Rule("ratio", "crash_rate", baseline={"model": "base"}, max_ratio=3.0)
    loose = Rule("loose", "crash_rate", baseline={"model": "base"}, max_ratio=0.5)
    rise_d, ratio_d, loose_d = check([cand, base], [rise, ratio, loose]).decisions
    # difference: [1.5e-4 - 2e-4, 3e-4 - 1e-4] = [-5e-5, 2e-4] <= 2e-4
    assert rise_d.status == "pass" and rise_d.ci_high == pytest.approx(2e-4)
    # ratio: [1.5e-4 / 2e-4, 3e-4 / 1e-4] = [0.75, 3.0], wholly <= 3
    assert ratio_d.status == "pass"
    assert (ratio_d.ci_low, ratio_d.ci_high) == (pytest.approx(0.75), pytest.approx(3.0))
    assert ratio_d.estimate == pytest.approx(2.0)
    assert ratio_d.bound == "candidate / baseline <= 3"
    # wholly above 0.5
    assert loose_d.status == "fail"


def test_ratio_needs_a_baseline_interval_above_zero() -> None:
    cand = Result("rate", 0.2, 0.1, 0.3, 0.95, group={"model": "cand"})
    base = Result("rate", 0.1, 0.0, 0.2, 0.95, group={"model": "base"})
    rule = Rule("r", "rate", baseline={"model": "base"}, max_ratio=10.0)
    (d,) = check([cand, base], [rule]).decisions
    assert d.status == "fail" and "above zero" in d.reason


@pytest.mark.parametrize("mode", ["credible", "assured"])
def test_missing_or_undefined_baseline_never_passes(mode: str) -> None:
    rule = Rule("r", "accuracy", baseline={"model": "base"}, max_drop=0.5, mode=mode)
    wide = acc("cand", 0.5, 0.9)
    assert [d.status for d in check([wide], [rule]).decisions] == ["fail"]
    assert "No baseline result" in check([wide], [rule]).decisions[0].reason
    no_interval = Result("accuracy", 0.9, group={"model": "base"})
    assert check([wide, no_interval], [rule]).decisions[0].status == "fail"
    nan = Result("accuracy", math.nan, 0.1, 0.2, 0.95, group={"model": "base"})
    assert check([wide, nan], [rule]).decisions[0].status == "fail"
    two = [wide, acc("base", 0.8, 0.9), acc("base", 0.7, 0.9)]
    (d,) = check(two, [rule]).decisions
    assert d.status == "fail" and "ambiguous" in d.reason
    # only the baseline itself: no candidate
    (d,) = check([acc("base", 0.8, 0.9)], [rule]).decisions
    assert d.status == "fail" and "candidate" in d.reason


def test_baseline_is_matched_per_candidate_on_its_other_labels() -> None:
    rule = Rule("r", "accuracy", baseline={"model": "base"}, max_drop=0.0, mode="assured")
    results = [
        Result("accuracy", 0.9, 0.88, 0.92, 0.95, group={"data": d, "model": m})
        for d in ("a", "b")
        for m in ("cand", "base")
    ]
    results[2] = results[2].replace(
        estimate=0.96, ci_low=0.95, ci_high=0.97
    )  # data b: cand above base
    decisions = check(results, [rule]).decisions
    assert [d.label for d in decisions] == [
        "accuracy[data=a, model=cand] vs [model=base]",
        "accuracy[data=b, model=cand] vs [model=base]",
    ]
    # a: [0.88 - 0.92, ...] = [-0.04, 0.04] not wholly >= 0; b: [0.95 - 0.92, ...] >= 0
    assert [d.status for d in decisions] == ["fail", "pass"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("max_drop = 0.01", "needs a `baseline`"),
        ('baseline = { model = "b" }\nmin = 0', "needs a relative bound"),
        ('baseline = { model = "b" }\nmax_drop = -0.1', "`max_drop` must be non-negative"),
        ('baseline = { model = "b" }\nmax_ratio = 0', "`max_ratio` must be positive"),
        ('baseline = { model = "b" }\nmax_drop = 0.1\nmin = 0', "excludes `min`"),
        ('baseline = { model = "b" }\nmax_drop = 0.1\nmax_ratio = 2', "not both"),
        ('baseline = { model = "b" }\nmin_ratio = 2\nmax_ratio = 1', "is above `max_ratio`"),
        ("baseline = {}\nmax_drop = 0.1", "`baseline` must name at least one label"),
        ('baseline = "b"\nmax_drop = 0.1', "`baseline` must be a table"),
        ('baseline = { model = "b" }\nmax_rise = "x"', "`max_rise` must be a number"),
    ],
)
def test_bad_relative_rules_give_one_sentence(
    write_file: Callable[[str, str], Path], body: str, message: str
) -> None:
    path = write_file("gates.toml", '[[rule]]\nname = "a"\nmetric = "m"\n' + body + "\n")
    with pytest.raises(ValueError) as info:
        load_rules(path)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_relative_rule_from_toml(write_file: Callable[[str, str], Path]) -> None:
    path = write_file(
        "gates.toml",
        '[[rule]]\nname = "no drop"\nmetric = "accuracy"\ngroup = { model = "cand" }\n'
        'baseline = { model = "base" }\nmax_drop = 0.01\nmode = "assured"\n',
    )
    (rule,) = load_rules(path)
    assert rule.baseline == {"model": "base"} and rule.limits == (-0.01, math.inf)
    assert rule.relative and not rule.ratio


@pytest.mark.parametrize("correlation", [0.0, 0.8, -0.5])
def test_combined_interval_covers_the_difference(correlation: float) -> None:
    # Two normal estimates with 95% intervals; the conservative combination must cover the
    # true difference at least 95% of the time whatever their correlation (module docs).
    rng = np.random.default_rng(20261126)
    reps, sd_c, sd_b, z = 2000, 0.02, 0.03, 1.959964
    cov = [[sd_c**2, correlation * sd_c * sd_b], [correlation * sd_c * sd_b, sd_b**2]]
    draws = rng.multivariate_normal([0.80, 0.82], cov, size=reps)
    rule = Rule("r", "accuracy", baseline={"model": "base"}, max_drop=1.0)
    covered = 0
    for c, b in draws:
        results = [
            acc("cand", c - z * sd_c, c + z * sd_c, c),
            acc("base", b - z * sd_b, b + z * sd_b, b),
        ]
        (d,) = check(results, [rule]).decisions
        assert d.ci_low is not None and d.ci_high is not None
        covered += d.ci_low <= -0.02 <= d.ci_high
    coverage = covered / reps
    assert coverage >= 0.95 - 3 * math.sqrt(0.95 * 0.05 / reps)


def test_relative_rules_on_20000_results_are_linear() -> None:
    # Each candidate used to scan every result for its baseline and its paired result:
    # 20,000 candidates x 40,000 results took minutes (37 s per rule on 20,000 results).
    # Indexed once, a rule is linear: about a second here, so 60 s is a wide margin that
    # only a quadratic gate misses.
    import time

    n = 20_000
    items = [Result("accuracy", 0.84, 0.81, 0.87, 0.95, group={"model": "base"})]
    for i in range(n):
        items.append(Result("accuracy", 0.83, 0.80, 0.86, 0.95, group={"model": f"m{i}"}))
        items.append(
            Result(
                "accuracy_difference",
                -0.01,
                -0.02,
                0.0,
                0.95,
                group={"model_1": f"m{i}", "model_2": "base"},
            )
        )
    rules = [
        Rule("no drop", "accuracy", baseline={"model": "base"}, max_drop=0.03),
        Rule("no ratio drop", "accuracy", baseline={"model": "base"}, min_ratio=0.5),
    ]
    started = time.perf_counter()
    report = check(items, rules)
    elapsed = time.perf_counter() - started
    assert len(report.decisions) == 2 * n
    first = report.decisions[0]
    assert (
        first.status == "pass"
        and first.decided_on == "accuracy_difference[model_1=m0, model_2=base]"
    )
    # no paired ratio result: the two separate intervals are combined
    assert report.decisions[n].basis == "separate intervals, combined conservatively"
    assert elapsed < 60, elapsed


def test_paired_result_by_comparison_label_and_reversed() -> None:
    cand = Result("accuracy", 0.83, 0.80, 0.86, 0.95, group={"model": "cand", "data": "x"})
    base = Result("accuracy", 0.84, 0.81, 0.87, 0.95, group={"model": "base", "data": "x"})
    other = Result(
        "accuracy_difference", 0.5, 0.4, 0.6, 0.95, group={"comparison": "base-cand", "data": "y"}
    )
    paired = Result(
        "accuracy_difference", 0.01, 0.0, 0.02, 0.95, group={"comparison": "base-cand", "data": "x"}
    )
    rule = Rule("no drop", "accuracy", baseline={"model": "base"}, max_drop=0.03)
    (decision,) = check([cand, base, other, paired], [rule]).decisions
    assert decision.basis == "paired: accuracy_difference[comparison=base-cand, data=x] (reversed)"
    assert (decision.ci_low, decision.ci_high) == (-0.02, -0.0)


def bayes(p_not_worse: Any, **group: str) -> Result:
    return Result(
        "score_difference",
        0.01,
        -0.01,
        0.03,
        0.95,
        "bayesian-correlated-t",
        group=group,
        details={"p_not_worse": p_not_worse},
    )


def test_field_rule_holds_a_details_number_against_the_bound() -> None:
    rule = Rule("not worse", "score_difference", field="p_not_worse", min=0.95)
    assert rule.bound_text == "p_not_worse >= 0.95"
    assert status(rule, bayes(0.97)) == "pass"
    assert status(rule, bayes(0.95)) == "pass"  # on the bound is on the right side
    assert status(rule, bayes(0.94)) == "fail"  # a point: never inconclusive
    assert status(Rule("r", "score_difference", field="p_not_worse", max=0.5), bayes(0.6)) == (
        "fail"
    )
    (decision,) = check([bayes(0.97)], [rule]).decisions
    assert decision.estimate == 0.97 and decision.ci_low is None
    assert decision.reason == "details['p_not_worse'] = 0.97 meets the bound p_not_worse >= 0.95."


@pytest.mark.parametrize("value", [math.nan, "high", None, True])
def test_field_rule_fails_on_a_value_that_is_not_a_number(value: Any) -> None:
    rule = Rule("not worse", "score_difference", field="p_not_worse", min=0.95)
    assert status(rule, bayes(value)) == "fail"


def test_field_rule_applies_only_to_results_holding_the_field() -> None:
    plain = interval(-0.01, 0.03, "score_difference", comparison="a-b")
    rule = Rule(
        "not worse", "score_difference", {"comparison": "a-b"}, field="p_not_worse", min=0.9
    )
    report = check([plain, bayes(0.99, comparison="a-b")], [rule])
    assert [d.status for d in report.decisions] == ["pass"]
    (none,) = check([plain], [rule]).decisions
    assert none.status == "fail" and "details entry 'p_not_worse'" in none.reason


@pytest.mark.parametrize(
    "kwargs",
    [
        {"field": ""},
        {"field": 3},
        {"field": "p", "max_pvalue": 0.05},
        {"field": "p", "baseline": {"model": "b"}, "max_drop": 0.01},
        {"field": "p"},  # no bound
    ],
)
def test_field_rule_bad_definitions_raise(kwargs: dict[str, Any]) -> None:
    with pytest.raises((ValueError, TypeError)):
        Rule("r", "m", **kwargs)


def test_field_rule_from_a_rules_file(tmp_path: Path) -> None:
    path = tmp_path / "gates.toml"
    path.write_text('[[rule]]\nname = "a"\nmetric = "m"\nfield = "p_not_worse"\nmin = 0.95\n')
    (rule,) = load_rules(path)
    assert rule.field == "p_not_worse" and rule.limits == (0.95, math.inf)
    path.write_text(
        '[[rule]]\nname = "a"\nmetric = "m"\nfield = "p"\nmin = 0.9\nmode = "assured"\n'
    )
    with pytest.raises(ValueError, match="`mode` does not apply to a `field` rule"):
        load_rules(path)


# -- issue 17: rules that pick the result they are about ----------------------------------
def _curve_and_final() -> list[Result]:
    curve = [
        Result(
            "crash_rate",
            2e-3,
            0.0,
            9e-3,
            0.9,
            n=n,
            group={"tests": str(n)},
            details={"checkpoint": True},
        )
        for n in (100, 1000, 2000)
    ]
    return [*curve, Result("crash_rate", 4e-4, 1e-4, 2e-3, 0.95, n=2000, method="is")]


def test_final_rule_decides_on_the_final_result_only() -> None:
    rule = Rule("rare", "crash_rate", max=1e-3, mode="assured", final=True)
    (decision,) = check(_curve_and_final(), [rule]).decisions
    assert decision.estimate == 4e-4 and decision.status == "fail"  # 2e-3 > 1e-3
    # every checkpoint is decided on without `final`
    assert len(check(_curve_and_final(), [Rule("rare", "crash_rate", max=1e-2)]).decisions) == 4


def test_final_rule_on_a_running_evaluation_alone_takes_its_last_checkpoint() -> None:
    rule = Rule("rare", "crash_rate", max=1e-2, final=True)
    (decision,) = check(_curve_and_final()[:3], [rule]).decisions
    assert decision.label == "crash_rate[tests=2000]"


def test_single_rule_fails_naming_the_results_when_several_match() -> None:
    rule = Rule("one", "crash_rate", max=1e-2, single=True)
    (decision,) = check(_curve_and_final(), [rule]).decisions
    assert decision.status == "fail"
    assert "wants one result but 4 match" in decision.reason
    assert "crash_rate[tests=100]" in decision.reason
    # one match is decided as usual; none fails as before
    (one,) = check(_curve_and_final()[-1:], [rule]).decisions
    assert one.status == "pass"
    (none,) = check([], [rule]).decisions
    assert none.status == "fail" and "No result" in none.reason


def test_method_selects_among_results_of_one_metric() -> None:
    rule = Rule("is only", "crash_rate", max=1e-2, method="is")
    (decision,) = check(_curve_and_final(), [rule]).decisions
    assert decision.estimate == 4e-4
    (missing,) = check(_curve_and_final(), [Rule("x", "crash_rate", max=1, method="scv")]).decisions
    assert missing.status == "fail" and "method 'scv'" in missing.reason


def test_selection_keys_load_from_toml_and_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(
        '[[rule]]\nname = "a"\nmetric = "crash_rate"\nfinal = true\nsingle = true\n'
        'method = "is"\nmax = 1e-3\n'
    )
    (rule,) = load_rules(path)
    assert rule.final and rule.single and rule.method == "is"
    path.write_text('[[rule]]\nname = "a"\nmetric = "crash_rate"\nfinal = "yes"\nmax = 1\n')
    with pytest.raises(VarkitError, match="`final` must be true or false"):
        load_rules(path)
