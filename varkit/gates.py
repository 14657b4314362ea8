"""CI gates: pass / fail / inconclusive decisions on results, taken on their intervals.

A rule names results by ``metric`` and ``group`` labels and gives a bound (``min``,
``max``) with a decision mode, or a p-value level (``max_pvalue``):

- ``credible`` (default): **fail** only when the whole interval is on the wrong side of the
  bound; an interval that straddles it is **inconclusive** (a pass with a warning).
- ``assured``: **pass** only when the whole interval is on the right side; anything else
  fails.
- ``max_pvalue``: pass when the result's p-value is below the level.

An interval endpoint equal to the bound counts as on the right side. A NaN estimate, a NaN
interval bound or p-value, a missing interval (where the mode needs one) or a rule that
matches no result never passes. MLflow, TFMA, Deepchecks and Evidently gate on point
values only (see ``methods/engine.md`` section C); deciding on the interval is the point.

Examples
--------
>>> from varkit.results import Result, ResultSet
>>> results = ResultSet([Result("accuracy_difference", -0.004, -0.02, 0.012, 0.95,
...                             group={"comparison": "candidate-baseline"})])
>>> rule = Rule("no regression", "accuracy_difference", min=-0.01)
>>> report = check(results, [rule])
>>> report.decisions[0].status
'inconclusive'
>>> report.exit_code(), report.exit_code(strict=True)
(0, 1)
"""

from __future__ import annotations

import math
import os
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from varkit.results import Result, ResultSet

if sys.version_info >= (3, 11):
    import tomllib as _toml
else:  # pragma: no cover - Python 3.10: the same parser, from PyPI (a dependency there)
    import tomli as _toml

__all__ = ["Decision", "GateReport", "Rule", "assert_gate", "check", "load_rules"]

MODES = ("credible", "assured")
_KEYS = ("name", "metric", "group", "min", "max", "mode", "max_pvalue")
PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"`{name}` must be a number, got {value!r}.")
    number = float(value)
    if math.isnan(number):
        raise ValueError(f"`{name}` must not be NaN.")
    return number


@dataclass(frozen=True)
class Rule:
    """One gate: which results it applies to and what they must show.

    Parameters
    ----------
    name : str
        Shown in every report.
    metric : str
        The ``metric`` of the results the rule applies to.
    group : dict of str to str
        Labels that must all match the result's ``group`` (other labels are ignored).
    min, max : float or None
        The bound(s) on the interval; at least one, unless ``max_pvalue`` is given.
    mode : {'credible', 'assured'}
        How an interval is held against the bound (see the module docstring).
    max_pvalue : float or None
        Pass when the result's p-value is below this level; excludes ``min``/``max``.

    Examples
    --------
    >>> Rule("epsilon audit", "epsilon", max=8.0, mode="assured").bound_text
    '<= 8'
    """

    name: str
    metric: str
    group: dict[str, str] = field(default_factory=dict)
    min: float | None = None
    max: float | None = None
    mode: str = "credible"
    max_pvalue: float | None = None

    def __post_init__(self) -> None:
        for key in ("name", "metric"):
            value = getattr(self, key)
            if not isinstance(value, str) or not value.strip():
                raise TypeError(f"`{key}` must be a non-empty string, got {value!r}.")
        if not isinstance(self.group, Mapping) or not all(
            isinstance(v, (str, int)) and not isinstance(v, bool) for v in self.group.values()
        ):
            raise TypeError("`group` must be a table of label names to strings.")
        set_ = object.__setattr__
        set_(self, "group", {str(k): str(v) for k, v in self.group.items()})
        if self.mode not in MODES:
            raise ValueError(f"`mode` must be 'credible' or 'assured', got {self.mode!r}.")
        for key in ("min", "max", "max_pvalue"):
            value = getattr(self, key)
            if value is not None:
                set_(self, key, _number(key, value))
        if self.max_pvalue is not None:
            if self.min is not None or self.max is not None:
                raise ValueError("give either `max_pvalue` or `min`/`max`, not both.")
            if not 0.0 < self.max_pvalue <= 1.0:
                raise ValueError(f"`max_pvalue` must be in (0, 1], got {self.max_pvalue}.")
        elif self.min is None and self.max is None:
            raise ValueError("a rule needs a bound: `min`, `max` or `max_pvalue`.")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"`min` ({self.min:g}) is above `max` ({self.max:g}).")

    @property
    def kind(self) -> str:
        """``'credible'``, ``'assured'`` or ``'max_pvalue'``."""
        return "max_pvalue" if self.max_pvalue is not None else self.mode

    @property
    def bound_text(self) -> str:
        """The bound in words: ``'>= -0.01'``, ``'<= 8'``, ``'in [0, 1]'``, ``'p < 0.05'``."""
        if self.max_pvalue is not None:
            return f"p < {self.max_pvalue:g}"
        if self.min is not None and self.max is not None:
            return f"in [{self.min:g}, {self.max:g}]"
        if self.min is not None:
            return f">= {self.min:g}"
        return f"<= {self.max:g}"

    def matches(self, result: Result) -> bool:
        """Whether the rule applies to ``result`` (same metric, all group labels equal)."""
        return result.metric == self.metric and all(
            result.group.get(k) == v for k, v in self.group.items()
        )


@dataclass(frozen=True)
class Decision:
    """The outcome of one rule on one result (or on no result, when none matched).

    ``label`` names the result (``metric[key=value, ...]``); ``ci_low``/``ci_high`` and
    ``pvalue`` are what decided; ``reason`` is one sentence.
    """

    rule: str
    status: str
    label: str
    reason: str
    bound: str = ""
    estimate: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    confidence: float | None = None
    pvalue: float | None = None

    @property
    def interval_text(self) -> str:
        if self.ci_low is None and self.ci_high is None:
            return ""
        text = f"[{_fmt(self.ci_low)}, {_fmt(self.ci_high)}]"
        if self.confidence is not None:
            text += f" ({self.confidence * 100:g}%)"
        return text


def _fmt(x: float | None) -> str:
    if x is None:
        return "NA"
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.4g}"


def _label(result: Result) -> str:
    labels = ", ".join(f"{k}={v}" for k, v in result.group.items())
    return f"{result.metric}[{labels}]" if labels else result.metric


def _is_nan(x: float | None) -> bool:
    return x is not None and math.isnan(x)


def _decide(rule: Rule, result: Result) -> Decision:
    """Hold one result against one rule (the rule matches it)."""

    def decision(status: str, reason: str) -> Decision:
        return Decision(
            rule=rule.name,
            status=status,
            label=_label(result),
            reason=reason,
            bound=rule.bound_text,
            estimate=result.estimate,
            ci_low=result.ci_low,
            ci_high=result.ci_high,
            confidence=result.confidence,
            pvalue=result.pvalue,
        )

    if math.isnan(result.estimate):
        return decision(FAIL, "The estimate is NaN, so the rule cannot pass.")
    if rule.max_pvalue is not None:
        if result.pvalue is None or math.isnan(result.pvalue):
            return decision(FAIL, "The result has no p-value, so the rule cannot pass.")
        if result.pvalue < rule.max_pvalue:
            return decision(PASS, f"p = {_fmt(result.pvalue)} is below {rule.max_pvalue:g}.")
        return decision(FAIL, f"p = {_fmt(result.pvalue)} is not below {rule.max_pvalue:g}.")
    low, high = result.ci_low, result.ci_high
    if low is None or high is None:
        return decision(FAIL, f"The result has no interval, which {rule.mode} mode needs.")
    if _is_nan(low) or _is_nan(high):
        return decision(FAIL, "The interval has a NaN bound, so the rule cannot pass.")
    lower = -math.inf if rule.min is None else rule.min
    upper = math.inf if rule.max is None else rule.max
    interval = f"[{_fmt(low)}, {_fmt(high)}]"
    # an endpoint equal to the bound is on the right side
    inside = low >= lower and high <= upper
    outside = high < lower or low > upper
    if inside:
        return decision(PASS, f"The whole interval {interval} is {rule.bound_text}.")
    if rule.mode == "assured":
        return decision(FAIL, f"The interval {interval} is not wholly {rule.bound_text}.")
    if outside:
        return decision(FAIL, f"The whole interval {interval} is outside {rule.bound_text}.")
    return decision(INCONCLUSIVE, f"The interval {interval} straddles the bound {rule.bound_text}.")


@dataclass(frozen=True)
class GateReport:
    """The decisions of a gate run, with the exit code and the report formats.

    Examples
    --------
    >>> from varkit.results import Result
    >>> report = check([Result("epsilon", 6.1, 5.2, 7.9, 0.95)],
    ...                [Rule("epsilon audit", "epsilon", max=8.0, mode="assured")])
    >>> report.passed, report.exit_code()
    (True, 0)
    """

    decisions: tuple[Decision, ...] = ()

    @property
    def failed(self) -> tuple[Decision, ...]:
        return tuple(d for d in self.decisions if d.status == FAIL)

    @property
    def inconclusive(self) -> tuple[Decision, ...]:
        return tuple(d for d in self.decisions if d.status == INCONCLUSIVE)

    @property
    def passed(self) -> bool:
        """True when no decision failed (inconclusive ones count as passes)."""
        return not self.failed

    def exit_code(self, strict: bool = False) -> int:
        """0 when every gate passed (inconclusive too, unless ``strict``), else 1."""
        if self.failed or (strict and self.inconclusive):
            return 1
        return 0

    def _rows(self) -> list[list[str]]:
        return [
            [
                d.status.upper(),
                d.rule,
                d.label,
                "" if d.estimate is None else _fmt(d.estimate),
                d.interval_text if d.pvalue is None else f"p = {_fmt(d.pvalue)}",
                d.bound,
                d.reason,
            ]
            for d in self.decisions
        ]

    _HEAD = ("status", "rule", "result", "estimate", "interval", "bound", "reason")

    def to_table(self) -> str:
        """A plain-text table, one line per decision, and a summary line."""
        rows = [list(self._HEAD), *self._rows()]
        widths = [max(len(row[i]) for row in rows) for i in range(len(self._HEAD) - 1)]
        lines = [
            "  ".join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)), row[-1]])
            for row in rows
        ]
        return "\n".join([*lines, self._summary()]) + "\n"

    def _summary(self) -> str:
        n_fail, n_inc = len(self.failed), len(self.inconclusive)
        n_pass = len(self.decisions) - n_fail - n_inc
        return f"{n_pass} passed, {n_fail} failed, {n_inc} inconclusive"

    def to_markdown(self) -> str:
        """A GitHub-flavoured Markdown section (for ``$GITHUB_STEP_SUMMARY``)."""
        icon = {PASS: "✅", FAIL: "❌", INCONCLUSIVE: "⚠️"}
        lines = [
            "### varkit gate",
            "",
            f"**{self._summary()}**",
            "",
            "| " + " | ".join(self._HEAD) + " |",
            "|" + "---|" * len(self._HEAD),
        ]
        for d, row in zip(self.decisions, self._rows(), strict=True):
            row[0] = f"{icon[d.status]} {d.status}"
            cells = [" ".join(c.replace("|", "\\|").split()) for c in row]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"

    def to_junit_xml(self) -> str:
        """JUnit XML: one testcase per decision; failures as ``<failure>``, inconclusive
        decisions as ``<skipped>``."""
        suite = ET.Element(
            "testsuite",
            name="varkit gate",
            tests=str(len(self.decisions)),
            failures=str(len(self.failed)),
            skipped=str(len(self.inconclusive)),
            errors="0",
        )
        for d in self.decisions:
            case = ET.SubElement(
                suite, "testcase", classname="varkit.gate", name=f"{d.rule} ({d.label})"
            )
            text = f"{d.label}: {d.reason}"
            if d.status == FAIL:
                ET.SubElement(case, "failure", message=d.reason).text = text
            elif d.status == INCONCLUSIVE:
                ET.SubElement(case, "skipped", message=d.reason).text = text
            else:
                ET.SubElement(case, "system-out").text = text
        root = ET.Element("testsuites")
        root.append(suite)
        ET.indent(root)
        body = ET.tostring(root, encoding="unicode")
        return '<?xml version="1.0" encoding="utf-8"?>\n' + body + "\n"

    def github_annotations(self) -> list[str]:
        """``::error``/``::warning`` workflow commands for failed/inconclusive decisions."""
        lines = []
        for d in self.decisions:
            if d.status == PASS:
                continue
            level = "error" if d.status == FAIL else "warning"
            title = _escape(f"varkit gate: {d.rule}", prop=True)
            lines.append(f"::{level} title={title}::{_escape(f'{d.label}: {d.reason}')}")
        return lines


def _escape(text: str, prop: bool = False) -> str:
    """Escape a GitHub workflow-command value (data, or a property when ``prop``)."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def _validate_check(results: Any, rules: Any) -> tuple[list[Result], list[Rule]]:
    items = list(results) if isinstance(results, (ResultSet, Iterable)) else None
    if items is None or not all(isinstance(r, Result) for r in items):
        raise TypeError("`results` must be a ResultSet or an iterable of Result objects.")
    rule_list = list(rules) if isinstance(rules, Iterable) else None
    if not rule_list or not all(isinstance(r, Rule) for r in rule_list):
        raise TypeError("`rules` must be a non-empty list of Rule objects.")
    return items, rule_list


def check(results: ResultSet | Iterable[Result], rules: Sequence[Rule]) -> GateReport:
    """Hold every matching result against every rule.

    A rule that matches several results gives one decision per result; a rule that matches
    none gives one failed decision.

    Parameters
    ----------
    results : ResultSet or iterable of Result
    rules : sequence of Rule

    Returns
    -------
    GateReport

    Examples
    --------
    >>> from varkit.results import Result
    >>> rules = [Rule("models differ", "mcnemar", max_pvalue=0.05)]
    >>> [d.status for d in check([Result("mcnemar", 3.0, pvalue=0.01)], rules).decisions]
    ['pass']
    >>> check([], rules).decisions[0].reason
    "No result has metric 'mcnemar' and group {}, so the rule cannot pass."
    """
    items, rule_list = _validate_check(results, rules)
    decisions: list[Decision] = []
    for rule in rule_list:
        matched = [r for r in items if rule.matches(r)]
        if not matched:
            decisions.append(
                Decision(
                    rule=rule.name,
                    status=FAIL,
                    label=rule.metric,
                    bound=rule.bound_text,
                    reason=(
                        f"No result has metric {rule.metric!r} and group {rule.group}, "
                        "so the rule cannot pass."
                    ),
                )
            )
        decisions.extend(_decide(rule, r) for r in matched)
    return GateReport(tuple(decisions))


def _rule_from_table(table: Any, where: str) -> Rule:
    if not isinstance(table, Mapping):
        raise ValueError(f"{where} must be a table.")
    name = table.get("name")
    if isinstance(name, str):
        where = f"{where} ({name!r})"
    unknown = sorted(set(table) - set(_KEYS))
    if unknown:
        raise ValueError(f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(_KEYS)}).")
    for key in ("name", "metric"):
        if key not in table:
            raise ValueError(f"{where}: `{key}` is missing.")
    if "max_pvalue" in table and "mode" in table:
        raise ValueError(f"{where}: `mode` does not apply to a `max_pvalue` rule.")
    try:
        return Rule(**dict(table))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None


def load_rules(path: str | os.PathLike[str]) -> list[Rule]:
    """Read the ``[[rule]]`` tables of a TOML rules file.

    Raises ``ValueError`` with one sentence naming the file, the rule and the problem
    (syntax error, unknown key, no bound, bad mode, non-numeric bound ...).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "gates.toml"
    >>> _ = path.write_text('[[rule]]\\nname = "a"\\nmetric = "epsilon"\\nmax = 8.0\\n')
    >>> load_rules(path)[0].bound_text
    '<= 8'
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"rules file {str(path)!r} does not exist.")
    try:
        document = _toml.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"rules file {str(path)!r} is not valid TOML: {exc}.") from None
    extra = sorted(set(document) - {"rule"})
    if extra:
        raise ValueError(
            f"rules file {str(path)!r}: unknown top-level key {extra[0]!r} "
            "(rules go in [[rule]] tables)."
        )
    tables = document.get("rule")
    if not isinstance(tables, list) or not tables:
        raise ValueError(f"rules file {str(path)!r} has no [[rule]] tables.")
    return [
        _rule_from_table(t, f"rules file {str(path)!r}, rule {i}")
        for i, t in enumerate(tables, start=1)
    ]


def assert_gate(
    results: ResultSet | Iterable[Result],
    rules_or_path: Sequence[Rule] | str | os.PathLike[str],
    strict: bool = False,
) -> GateReport:
    """Raise ``AssertionError`` listing the failed gates (for use in pytest).

    Examples
    --------
    >>> from varkit.results import Result
    >>> assert_gate([Result("epsilon", 9.0, 8.5, 9.5, 0.95)],
    ...             [Rule("epsilon audit", "epsilon", max=8.0)])
    Traceback (most recent call last):
    ...
    AssertionError: 1 gate(s) failed:
    - epsilon audit on epsilon: The whole interval [8.5, 9.5] is outside <= 8.
    """
    if isinstance(rules_or_path, (str, os.PathLike)):
        rules: Sequence[Rule] = load_rules(rules_or_path)
    else:
        rules = rules_or_path
    report = check(results, rules)
    if report.exit_code(strict) != 0:
        bad = report.failed + (report.inconclusive if strict else ())
        lines = [f"- {d.rule} on {d.label}: {d.reason}" for d in bad]
        raise AssertionError(f"{len(bad)} gate(s) failed:\n" + "\n".join(lines))
    return report
