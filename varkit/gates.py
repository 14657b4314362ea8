"""CI gates: pass / fail / inconclusive decisions on results, taken on their intervals.

A rule names results by ``metric`` and ``group`` labels (and, to pick one result,
``method``, ``final`` for the final estimate rather than a running evaluation's
checkpoints, and ``single`` to fail when several still match) and gives a bound (``min``,
``max``) with a decision mode, or a p-value level (``max_pvalue``):

- ``credible`` (default): **fail** only when the whole interval is on the wrong side of the
  bound; an interval that straddles it is **inconclusive** (a pass with a warning).
- ``assured``: **pass** only when the whole interval is on the right side; anything else
  fails.
- ``max_pvalue``: pass when the result's p-value is below the level.
- ``field``: hold a number from the result's ``details`` (a point, not an interval)
  against ``min``/``max``: pass when it is within them, fail otherwise (see below).

An interval endpoint equal to the bound counts as on the right side. A NaN estimate, a NaN
interval bound or p-value, a missing interval (where the mode needs one) or a rule that
matches no result never passes. MLflow, TFMA, Deepchecks and Evidently gate on point
values only (see ``methods/engine.md`` section C); deciding on the interval is the point.

A number from the details
-------------------------
Some results decide in a number that is not an interval: the posterior probability that
model 1 is not worse than model 2 (``p_not_worse = p_rope + p_right``, in ``details`` of
:func:`varkit.evaluate.bayesian_correlated_ttest`) is itself the statement of
uncertainty. ``field`` names such a ``details`` entry; the rule then applies only to the
results of its metric and group whose ``details`` hold that entry, and passes when the
number lies within ``min``/``max`` (``mode`` does not apply)::

    [[rule]]
    name = "candidate not worse than the baseline, with posterior probability 0.95"
    metric = "score_difference"
    group = { model_1 = "candidate", model_2 = "baseline" }
    field = "p_not_worse"
    min = 0.95

A value that is not a number, or NaN, never passes.

Bounds relative to a baseline
-----------------------------
A rule may bound a result *relative to a baseline result* of the same metric instead of
absolutely. ``baseline`` gives the group labels that turn a candidate's labels into its
baseline's (the baseline is the result whose group is the candidate's with these labels put
in), and one or two relative bounds say how far the candidate may be from it:
``max_drop`` (candidate - baseline >= -max_drop, for metrics where higher is better),
``max_rise`` (candidate - baseline <= max_rise, where lower is better), or ``min_ratio`` /
``max_ratio`` (bounds on candidate / baseline)::

    [[rule]]
    name = "candidate accuracy at most 1 point below the baseline's"
    metric = "accuracy"
    group = { model = "candidate" }
    baseline = { model = "baseline" }
    max_drop = 0.01
    mode = "credible"

The interval that decides is, in this order of preference:

1. **A paired result**, when one exists: a result named ``<metric>_difference`` (or
   ``<metric>_ratio`` for ratio bounds) comparing the two, labelled ``<key>_1`` /
   ``<key>_2`` (or ``comparison = "a-b"``) on the one label ``key`` in which candidate and
   baseline differ, as ``varkit evaluate compare`` writes them
   (``accuracy_difference[model_1=candidate, model_2=baseline]``); labels it shares with
   the candidate must agree. Its interval is used as it is (negated, or inverted for a
   ratio, when it compares baseline to candidate). When both models were scored on the same
   test set this is the honest interval, and it is much narrower than anything built from
   the two separate intervals, because the shared test examples cancel.
2. **Otherwise, the two separate intervals combined conservatively**: the difference
   interval ``[c_low - b_high, c_high - b_low]`` (for a ratio, of positive intervals,
   ``[c_low / b_high, c_high / b_low]``). Whenever both intervals cover, this one covers,
   so its coverage is at least ``c_1 + c_2 - 1`` (90% from two 95% intervals, by
   Bonferroni) whatever the dependence between the two; when both estimates are near
   normal it is at least the nominal level for any correlation, since
   ``sd(c - b) <= sd(c) + sd(b)``. It is wide, so the gate errs on the side of its mode:
   credible rules fail less often, assured rules pass less often. Holding the candidate
   interval against the baseline's *point* estimate instead would ignore the baseline's
   own noise, and is not done.

A missing baseline (or one that is ambiguous: several results with its labels and method)
never passes, nor does a ratio whose baseline interval reaches zero.

Examples
--------
>>> from varkit.results import Result, ResultSet, format_number
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

import json
import math
import os
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from varkit.errors import VarkitError, VarkitTypeError
from varkit.results import Result, ResultSet, format_number

if sys.version_info >= (3, 11):
    import tomllib as _toml
else:  # pragma: no cover - Python 3.10: the same parser, from PyPI (a dependency there)
    import tomli as _toml

__all__ = [
    "Decision",
    "GateReport",
    "Rule",
    "assert_gate",
    "check",
    "format_number",
    "interval_text",
    "is_checkpoint",
    "load_rules",
    "read_results",
    "result_label",
]

MODES = ("credible", "assured")
RELATIVE = ("max_drop", "max_rise", "min_ratio", "max_ratio")
_SELECT = ("method", "final", "single")
_KEYS = (
    "name",
    "metric",
    "group",
    *_SELECT,
    "min",
    "max",
    "mode",
    "max_pvalue",
    "baseline",
    *RELATIVE,
    "field",
)
PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise VarkitTypeError(f"`{name}` must be a number, got {value!r}.")
    try:
        number = float(value)
    except OverflowError:  # TOML admits integers of any length
        raise VarkitError(
            f"`{name}` is an integer too large for a floating-point number (above 1.8e308)."
        ) from None
    if math.isnan(number):
        raise VarkitError(f"`{name}` must not be NaN.")
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
    method : str or None
        Only results of this ``method`` (e.g. ``mcnemar-exact``), when given.
    final : bool
        Only final results: not the checkpoints of a running evaluation (results whose
        ``details["checkpoint"]`` is true, as :func:`varkit.cav.running_estimate` marks
        them); when every matching result is a checkpoint, the last of them.
    single : bool
        The rule wants one result: when several match, it fails and names them, instead
        of deciding on each (add labels, ``method`` or ``final`` to pick one).
    min, max : float or None
        The bound(s) on the interval; at least one, unless ``max_pvalue`` is given.
    mode : {'credible', 'assured'}
        How an interval is held against the bound (see the module docstring).
    max_pvalue : float or None
        Pass when the result's p-value is below this level; excludes ``min``/``max``.
    baseline : dict of str to str or None
        Labels that turn a candidate's group into its baseline's (same metric); needs one
        of the relative bounds below, which exclude ``min``/``max``/``max_pvalue``.
    max_drop, max_rise : float or None
        Non-negative bounds on candidate - baseline: ``>= -max_drop``, ``<= max_rise``.
    min_ratio, max_ratio : float or None
        Positive bounds on candidate / baseline.
    field : str or None
        A ``details`` entry to hold against ``min``/``max`` instead of the interval; the
        rule then applies only to results whose ``details`` hold it.

    Examples
    --------
    >>> Rule("epsilon audit", "epsilon", max=8.0, mode="assured").bound_text
    '<= 8'
    >>> Rule("no drop", "accuracy", baseline={"model": "base"}, max_drop=0.01).bound_text
    'candidate - baseline >= -0.01'
    >>> Rule("not worse", "score_difference", field="p_not_worse", min=0.95).bound_text
    'p_not_worse >= 0.95'

    Selecting the result a rule is about: the final estimate, not the running checkpoints.

    >>> from varkit.results import Result
    >>> curve = [Result("crash_rate", 2e-3, 0.0, 9e-3, 0.9, n=n, details={"checkpoint": True})
    ...          for n in (100, 1000)]
    >>> final = Result("crash_rate", 4e-4, 1e-4, 9e-4, 0.95, n=2000)
    >>> rule = Rule("rare crashes", "crash_rate", max=1e-3, mode="assured", final=True)
    >>> [(d.status, d.estimate) for d in check([*curve, final], [rule]).decisions]
    [('pass', 0.0004)]
    """

    name: str
    metric: str
    group: dict[str, str] = field(default_factory=dict)
    min: float | None = None
    max: float | None = None
    mode: str = "credible"
    max_pvalue: float | None = None
    baseline: dict[str, str] | None = None
    max_drop: float | None = None
    max_rise: float | None = None
    min_ratio: float | None = None
    max_ratio: float | None = None
    method: str | None = None
    final: bool = False
    single: bool = False
    field: str | None = None

    def __post_init__(self) -> None:
        for key in ("name", "metric"):
            value = getattr(self, key)
            if not isinstance(value, str) or not value.strip():
                raise VarkitTypeError(f"`{key}` must be a non-empty string, got {value!r}.")
        if self.method is not None and (not isinstance(self.method, str) or not self.method):
            raise VarkitTypeError(f"`method` must be a non-empty string, got {self.method!r}.")
        for key in ("final", "single"):
            if not isinstance(getattr(self, key), bool):
                raise VarkitTypeError(f"`{key}` must be true or false, got {getattr(self, key)!r}.")
        set_ = object.__setattr__
        set_(self, "group", _labels("group", self.group))
        if self.baseline is not None:
            set_(self, "baseline", _labels("baseline", self.baseline))
            if not self.baseline:
                raise VarkitError("`baseline` must name at least one label.")
        if self.mode not in MODES:
            raise VarkitError(f"`mode` must be 'credible' or 'assured', got {self.mode!r}.")
        for key in ("min", "max", "max_pvalue", *RELATIVE):
            value = getattr(self, key)
            if value is not None:
                set_(self, key, _number(key, value))
        if self.field is not None:
            self._check_field()
        if self.relative:
            self._check_relative()
        elif self.baseline is not None:
            raise VarkitError(
                "a `baseline` needs a relative bound: `max_drop`, `max_rise`, `min_ratio` "
                "or `max_ratio`."
            )
        elif self.max_pvalue is not None:
            if self.min is not None or self.max is not None:
                raise VarkitError("give either `max_pvalue` or `min`/`max`, not both.")
            if not 0.0 < self.max_pvalue <= 1.0:
                raise VarkitError(f"`max_pvalue` must be in (0, 1], got {self.max_pvalue}.")
        elif self.min is None and self.max is None:
            raise VarkitError("a rule needs a bound: `min`, `max` or `max_pvalue`.")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise VarkitError(f"`min` ({self.min:g}) is above `max` ({self.max:g}).")

    def _check_field(self) -> None:
        if not isinstance(self.field, str) or not self.field.strip():
            raise VarkitTypeError(f"`field` must be a non-empty string, got {self.field!r}.")
        if self.relative or self.baseline is not None or self.max_pvalue is not None:
            raise VarkitError(
                "`field` takes `min`/`max` only, not `max_pvalue`, `baseline` or a relative bound."
            )

    def _check_relative(self) -> None:
        if self.baseline is None:
            raise VarkitError("a relative bound needs a `baseline` (the baseline's labels).")
        if self.min is not None or self.max is not None or self.max_pvalue is not None:
            raise VarkitError(
                "a relative bound excludes `min`, `max` and `max_pvalue` on the same rule."
            )
        difference = self.max_drop is not None or self.max_rise is not None
        if difference and self.ratio:
            raise VarkitError("give `max_drop`/`max_rise` or `min_ratio`/`max_ratio`, not both.")
        for key in ("max_drop", "max_rise"):
            value = getattr(self, key)
            if value is not None and value < 0:
                raise VarkitError(f"`{key}` must be non-negative, got {value:g}.")
        for key in ("min_ratio", "max_ratio"):
            value = getattr(self, key)
            if value is not None and not value > 0:
                raise VarkitError(f"`{key}` must be positive, got {value:g}.")
        if (
            self.min_ratio is not None
            and self.max_ratio is not None
            and self.min_ratio > self.max_ratio
        ):
            raise VarkitError(
                f"`min_ratio` ({self.min_ratio:g}) is above `max_ratio` ({self.max_ratio:g})."
            )

    @property
    def relative(self) -> bool:
        """Whether the bound is relative to a baseline result."""
        return any(getattr(self, key) is not None for key in RELATIVE)

    @property
    def ratio(self) -> bool:
        """Whether the relative bound is on candidate / baseline (else on the difference)."""
        return self.min_ratio is not None or self.max_ratio is not None

    @property
    def limits(self) -> tuple[float, float]:
        """The bounds on the interval that decides (``-inf``/``inf`` where none)."""
        if self.ratio:
            low, high = self.min_ratio, self.max_ratio
        elif self.relative:
            low = None if self.max_drop is None else -self.max_drop
            high = self.max_rise
        else:
            low, high = self.min, self.max
        return (-math.inf if low is None else low, math.inf if high is None else high)

    @property
    def kind(self) -> str:
        """``'credible'``, ``'assured'`` or ``'max_pvalue'``."""
        return "max_pvalue" if self.max_pvalue is not None else self.mode

    @property
    def bound_text(self) -> str:
        """The bound in words: ``'>= -0.01'``, ``'<= 8'``, ``'in [0, 1]'``, ``'p < 0.05'``,
        ``'candidate - baseline >= -0.01'``, ``'candidate / baseline <= 1.5'``."""
        if self.max_pvalue is not None:
            return f"p < {self.max_pvalue:g}"
        low, high = self.limits
        if math.isfinite(low) and math.isfinite(high):
            text = f"in [{low:g}, {high:g}]"
        elif math.isfinite(low):
            text = f">= {low:g}"
        else:
            text = f"<= {high:g}"
        if self.relative:
            return f"candidate {'/' if self.ratio else '-'} baseline {text}"
        return f"{self.field} {text}" if self.field is not None else text

    def matches(self, result: Result) -> bool:
        """Whether the rule applies to ``result`` (same metric and method, all group labels
        equal and, for a ``field`` rule, the field in its details); ``final`` is applied to
        the matching results together (:meth:`select`)."""
        return (
            result.metric == self.metric
            and (self.method is None or result.method == self.method)
            and all(result.group.get(k) == v for k, v in self.group.items())
            and (self.field is None or self.field in result.details)
        )

    def select(self, results: Iterable[Result]) -> list[Result]:
        """The results the rule decides on: those it matches, and with ``final`` only the
        final ones (the last checkpoint when there are no others)."""
        matched = [r for r in results if self.matches(r)]
        if self.final:
            final = [r for r in matched if not is_checkpoint(r)]
            matched = final or matched[-1:]
        return matched


def is_checkpoint(result: Result) -> bool:
    """Whether ``result`` is a checkpoint of a running evaluation, not a final result.

    Examples
    --------
    >>> from varkit.results import Result
    >>> is_checkpoint(Result("crash_rate", 0.01, details={"checkpoint": True}))
    True
    >>> is_checkpoint(Result("crash_rate", 0.01))
    False
    """
    return result.details.get("checkpoint") is True


@dataclass(frozen=True)
class Decision:
    """The outcome of one rule on one result (or on no result, when none matched).

    ``label`` names the result (``metric[key=value, ...]``; for a relative rule,
    ``candidate vs baseline``); ``ci_low``/``ci_high`` and ``pvalue`` are what decided;
    ``basis`` says which interval that was for a relative rule (the paired result, or the
    two separate intervals combined) and ``decided_on`` the label of the paired result when
    one decided; ``reason`` is one sentence.

    Examples
    --------
    >>> from varkit.results import Result
    >>> rule = Rule("epsilon audit", "epsilon", max=8.0, mode="assured")
    >>> (decision,) = check([Result("epsilon", 6.1, 5.2, 7.9, 0.95)], [rule]).decisions
    >>> decision.status, decision.label, decision.interval_text
    ('pass', 'epsilon', '[5.2, 7.9] (95%)')
    >>> decision.reason
    'The whole interval [5.2, 7.9] is <= 8.'
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
    basis: str = ""
    decided_on: str = ""

    @property
    def interval_text(self) -> str:
        """The interval that decided, as :func:`interval_text` prints it."""
        return interval_text(self.ci_low, self.ci_high, self.confidence)


def _labels(name: str, value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(
        isinstance(v, (str, int)) and not isinstance(v, bool) for v in value.values()
    ):
        raise VarkitTypeError(f"`{name}` must be a table of label names to strings.")
    return {str(k): str(v) for k, v in value.items()}


def interval_text(
    low: float | None, high: float | None, confidence: float | None, *, missing: str = "NA"
) -> str:
    """An interval and its level as the reports print it; ``''`` when it has no bounds.

    Examples
    --------
    >>> interval_text(0.81, 0.9, 0.95), interval_text(5.2, float("inf"), None)
    ('[0.81, 0.9] (95%)', '[5.2, inf]')
    >>> interval_text(None, None, 0.95)
    ''
    """
    if low is None and high is None:
        return ""
    text = f"[{format_number(low, missing=missing)}, {format_number(high, missing=missing)}]"
    if confidence is not None:
        text += f" ({confidence * 100:g}%)"
    return text


def result_label(result: Result) -> str:
    """The label a decision gives a result: ``metric[key=value, ...]``.

    Examples
    --------
    >>> from varkit.results import Result
    >>> result_label(Result("accuracy", 0.9, group={"model": "rf", "dataset": "adult"}))
    'accuracy[model=rf, dataset=adult]'
    """
    labels = ", ".join(f"{k}={v}" for k, v in result.group.items())
    return f"{result.metric}[{labels}]" if labels else result.metric


def _is_nan(x: float | None) -> bool:
    return x is not None and math.isnan(x)


def _hold(
    rule: Rule, low: float | None, high: float | None, what: str = "result"
) -> tuple[str, str]:
    """Status and reason of an interval held against the rule's bound."""
    if low is None or high is None:
        return FAIL, f"The {what} has no interval, which {rule.mode} mode needs."
    if _is_nan(low) or _is_nan(high):
        return FAIL, "The interval has a NaN bound, so the rule cannot pass."
    lower, upper = rule.limits
    interval = interval_text(low, high, None)
    # an endpoint equal to the bound is on the right side
    inside = low >= lower and high <= upper
    outside = high < lower or low > upper
    if inside:
        return PASS, f"The whole interval {interval} is {rule.bound_text}."
    if rule.mode == "assured":
        return FAIL, f"The interval {interval} is not wholly {rule.bound_text}."
    if outside:
        return FAIL, f"The whole interval {interval} is outside {rule.bound_text}."
    return INCONCLUSIVE, f"The interval {interval} straddles the bound {rule.bound_text}."


def _decide(rule: Rule, result: Result) -> Decision:
    """Hold one result against one rule (the rule matches it)."""

    def decision(status: str, reason: str) -> Decision:
        return Decision(
            rule=rule.name,
            status=status,
            label=result_label(result),
            reason=reason,
            bound=rule.bound_text,
            estimate=result.estimate,
            ci_low=result.ci_low,
            ci_high=result.ci_high,
            confidence=result.confidence,
            pvalue=result.pvalue,
        )

    if rule.field is not None:
        status, reason, number = _hold_field(rule, result)
        # the number decided, not the result's interval
        return replace(
            decision(status, reason), estimate=number, ci_low=None, ci_high=None, pvalue=None
        )
    if math.isnan(result.estimate):
        return decision(FAIL, "The estimate is NaN, so the rule cannot pass.")
    if rule.max_pvalue is not None:
        if result.pvalue is None or math.isnan(result.pvalue):
            return decision(FAIL, "The result has no p-value, so the rule cannot pass.")
        if result.pvalue < rule.max_pvalue:
            return decision(
                PASS, f"p = {format_number(result.pvalue)} is below {rule.max_pvalue:g}."
            )
        return decision(
            FAIL, f"p = {format_number(result.pvalue)} is not below {rule.max_pvalue:g}."
        )
    return decision(*_hold(rule, result.ci_low, result.ci_high))


def _hold_field(rule: Rule, result: Result) -> tuple[str, str, float | None]:
    """Status, reason and value of the number ``result.details[rule.field]``."""
    assert rule.field is not None
    value = result.details[rule.field]
    name = f"details[{rule.field!r}]"
    number = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    if number is None or math.isnan(number):
        return FAIL, f"{name} is {value!r}, not a number, so the rule cannot pass.", number
    lower, upper = rule.limits
    status = PASS if lower <= number <= upper else FAIL
    verdict = "meets" if status == PASS else "does not meet"
    return (
        status,
        f"{name} = {format_number(number)} {verdict} the bound {rule.bound_text}.",
        number,
    )


def _group_text(group: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in group.items())


def _group_key(group: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(group.items()))


class _Index:
    """The results indexed once by metric and by (metric, group), so that each rule is
    linear in the number of results (a relative rule looks up its baseline and paired
    result per candidate; scanning every result for each candidate was quadratic)."""

    def __init__(self, items: Sequence[Result]) -> None:
        self.position = {id(r): i for i, r in enumerate(items)}
        self.by_metric: dict[str, list[Result]] = {}
        self.by_group: dict[tuple[str, tuple[tuple[str, str], ...]], list[Result]] = {}
        # paired results: (metric, key, first, second) and (metric, "comparison", a-b)
        self.pairs: dict[tuple[str, str, str, str], list[Result]] = {}
        self.comparisons: dict[tuple[str, str], list[Result]] = {}
        for r in items:
            self.by_metric.setdefault(r.metric, []).append(r)
            self.by_group.setdefault((r.metric, _group_key(r.group)), []).append(r)
            if r.ci_low is None or r.ci_high is None:
                continue
            if "comparison" in r.group:
                self.comparisons.setdefault((r.metric, r.group["comparison"]), []).append(r)
            for k, first in r.group.items():
                if k.endswith("_1"):
                    second = r.group.get(k[:-2] + "_2")
                    if second is not None:
                        self.pairs.setdefault((r.metric, k[:-2], first, second), []).append(r)


def _find_baseline(rule: Rule, candidate: Result, index: _Index) -> list[Result]:
    """The results whose group is the candidate's with the baseline labels put in; when
    several, those of the candidate's method."""
    assert rule.baseline is not None
    wanted = {**candidate.group, **rule.baseline}
    found = list(index.by_group.get((rule.metric, _group_key(wanted)), ()))
    if len(found) > 1:
        same_method = [r for r in found if r.method == candidate.method]
        found = same_method or found
    return found


def _find_paired(
    rule: Rule, candidate: Result, baseline: Result, index: _Index
) -> list[tuple[Result, int]]:
    """Paired results comparing candidate and baseline, each with its orientation
    (+1: candidate first, -1: baseline first), in the order of the results."""
    differing = [
        k
        for k in candidate.group.keys() | baseline.group.keys()
        if candidate.group.get(k) != baseline.group.get(k)
    ]
    if len(differing) != 1:
        return []
    key = differing[0]
    cand, base = candidate.group.get(key), baseline.group.get(key)
    if cand is None or base is None:
        return []
    metric = f"{rule.metric}_{'ratio' if rule.ratio else 'difference'}"
    shared = {k: v for k, v in candidate.group.items() if k != key}
    found: dict[int, tuple[Result, int]] = {}
    order: dict[int, int] = {}
    candidates = [
        *((r, 1, True) for r in index.pairs.get((metric, key, cand, base), ())),
        *((r, -1, True) for r in index.pairs.get((metric, key, base, cand), ())),
        *((r, 1, False) for r in index.comparisons.get((metric, f"{cand}-{base}"), ())),
        *((r, -1, False) for r in index.comparisons.get((metric, f"{base}-{cand}"), ())),
    ]
    for r, sign, labelled in candidates:
        if id(r) in found:
            continue
        if any(r.group.get(k, v) != v for k, v in shared.items()):
            continue
        pair = (r.group.get(f"{key}_1"), r.group.get(f"{key}_2"))
        if not labelled and pair != (None, None):
            continue  # `<key>_1`/`<key>_2` labels take precedence over `comparison`
        found[id(r)] = (r, sign)
        order[id(r)] = index.position[id(r)]
    return sorted(found.values(), key=lambda item: order[id(item[0])])


def _combine(rule: Rule, candidate: Result, baseline: Result) -> tuple[float, ...] | str:
    """Estimate and conservative interval of candidate - baseline (or /), or why not."""
    c_low, c_high, b_low, b_high = (
        candidate.ci_low,
        candidate.ci_high,
        baseline.ci_low,
        baseline.ci_high,
    )
    if c_low is None or c_high is None:
        return "The candidate has no interval, which a relative rule needs."
    if b_low is None or b_high is None:
        return "The baseline has no interval, which a relative rule needs."
    if any(math.isnan(x) for x in (c_low, c_high, b_low, b_high)):
        return "An interval has a NaN bound, so the rule cannot pass."
    if not rule.ratio:
        return (candidate.estimate - baseline.estimate, c_low - b_high, c_high - b_low)
    if not b_low > 0 or c_low < 0:
        return (
            "A ratio needs a baseline interval above zero and a candidate interval at or "
            f"above zero, got {interval_text(b_low, b_high, None)} and "
            f"{interval_text(c_low, c_high, None)}."
        )
    estimate = candidate.estimate / baseline.estimate if baseline.estimate else math.nan
    return (estimate, c_low / b_high, c_high / b_low)


def _decide_relative(rule: Rule, candidate: Result, index: _Index) -> Decision:
    """Hold a candidate result against a baseline-relative rule (see the module docstring)."""
    assert rule.baseline is not None
    wanted = {**candidate.group, **rule.baseline}
    label = f"{result_label(candidate)} vs [{_group_text(rule.baseline)}]"

    def decision(status: str, reason: str, basis: str = "", **numbers: Any) -> Decision:
        return Decision(rule.name, status, label, reason, rule.bound_text, basis=basis, **numbers)

    baselines = _find_baseline(rule, candidate, index)
    if not baselines:
        return decision(
            FAIL,
            f"No baseline result has metric {rule.metric!r} and group {{{_group_text(wanted)}}}, "
            "so the rule cannot pass.",
        )
    if len(baselines) > 1:
        return decision(
            FAIL,
            f"{len(baselines)} results have metric {rule.metric!r}, group "
            f"{{{_group_text(wanted)}}} and method {candidate.method!r}: the baseline is "
            "ambiguous, so the rule cannot pass.",
        )
    (baseline,) = baselines
    if math.isnan(candidate.estimate) or math.isnan(baseline.estimate):
        return decision(FAIL, "An estimate is NaN, so the rule cannot pass.")
    paired = _find_paired(rule, candidate, baseline, index)
    if paired:
        result, sign = paired[0]
        assert result.ci_low is not None and result.ci_high is not None
        low, high, estimate = result.ci_low, result.ci_high, result.estimate
        if sign < 0 and rule.ratio:
            low, high = (1 / high if high else math.inf), (1 / low if low else math.inf)
            estimate = 1 / estimate if estimate else math.inf
        elif sign < 0:
            low, high, estimate = -high, -low, -estimate
        basis = f"paired: {result_label(result)}" + (" (reversed)" if sign < 0 else "")
        if len(paired) > 1:
            basis += f" (the first of {len(paired)} paired results)"
        if math.isnan(estimate):
            return decision(FAIL, "The paired estimate is NaN, so the rule cannot pass.", basis)
        status, reason = _hold(rule, low, high, "paired result")
        reason += f" Decided on the paired result {basis.removeprefix('paired: ')}."
        return decision(
            status,
            reason,
            basis,
            decided_on=result_label(result),
            estimate=estimate,
            ci_low=low,
            ci_high=high,
            confidence=result.confidence,
        )
    combined = _combine(rule, candidate, baseline)
    basis = "separate intervals, combined conservatively"
    if isinstance(combined, str):
        return decision(FAIL, combined, basis)
    estimate, low, high = combined
    confidence = None
    if candidate.confidence is not None and baseline.confidence is not None:
        # Bonferroni: both intervals cover with probability >= c1 + c2 - 1
        confidence = candidate.confidence + baseline.confidence - 1
        confidence = confidence if confidence > 0 else None
    status, reason = _hold(rule, low, high)
    reason += " No paired result compares the two, so the separate intervals were combined."
    return decision(
        status, reason, basis, estimate=estimate, ci_low=low, ci_high=high, confidence=confidence
    )


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

    def rows(self) -> list[list[str]]:
        """One row of :attr:`HEAD` cells per decision (the tables and terminal print)."""
        return [
            [
                d.status.upper(),
                d.rule,
                d.label,
                "" if d.estimate is None else format_number(d.estimate),
                d.interval_text if d.pvalue is None else f"p = {format_number(d.pvalue)}",
                d.bound,
                d.reason,
            ]
            for d in self.decisions
        ]

    #: The columns of the decision table.
    HEAD = ("status", "rule", "result", "estimate", "interval", "bound", "reason")

    def to_table(self) -> str:
        """A plain-text table, one line per decision, and a summary line."""
        rows = [list(self.HEAD), *self.rows()]
        widths = [max(len(row[i]) for row in rows) for i in range(len(self.HEAD) - 1)]
        lines = [
            "  ".join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)), row[-1]])
            for row in rows
        ]
        return "\n".join([*lines, self.summary()]) + "\n"

    def summary(self) -> str:
        """``'N passed, N failed, N inconclusive'``."""
        n_fail, n_inc = len(self.failed), len(self.inconclusive)
        n_pass = len(self.decisions) - n_fail - n_inc
        return f"{n_pass} passed, {n_fail} failed, {n_inc} inconclusive"

    def to_markdown(self) -> str:
        """A GitHub-flavoured Markdown section (for ``$GITHUB_STEP_SUMMARY``)."""
        icon = {PASS: "✅", FAIL: "❌", INCONCLUSIVE: "⚠️"}
        lines = [
            "### varkit gate",
            "",
            f"**{self.summary()}**",
            "",
            "| " + " | ".join(self.HEAD) + " |",
            "|" + "---|" * len(self.HEAD),
        ]
        for d, row in zip(self.decisions, self.rows(), strict=True):
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
        raise VarkitTypeError("`results` must be a ResultSet or an iterable of Result objects.")
    rule_list = list(rules) if isinstance(rules, Iterable) else None
    if not rule_list or not all(isinstance(r, Rule) for r in rule_list):
        raise VarkitTypeError("`rules` must be a non-empty list of Rule objects.")
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

    A bound relative to a baseline: two separate intervals are combined conservatively,
    a paired difference is preferred when there is one.

    >>> new = Result("accuracy", 0.85, 0.82, 0.88, 0.95, group={"model": "new"})
    >>> old = Result("accuracy", 0.86, 0.83, 0.89, 0.95, group={"model": "old"})
    >>> rule = Rule("no drop", "accuracy", baseline={"model": "old"}, max_drop=0.02)
    >>> d = check([new, old], [rule]).decisions[0]
    >>> d.status, d.interval_text
    ('inconclusive', '[-0.07, 0.05] (90%)')
    >>> paired = Result("accuracy_difference", -0.01, -0.016, -0.004, 0.95,
    ...                 group={"model_1": "new", "model_2": "old"})
    >>> d = check([new, old, paired], [rule]).decisions[0]
    >>> d.status, d.interval_text
    ('pass', '[-0.016, -0.004] (95%)')
    """
    items, rule_list = _validate_check(results, rules)
    index = _Index(items)
    decisions: list[Decision] = []
    for rule in rule_list:
        matched = rule.select(index.by_metric.get(rule.metric, ()))
        if rule.baseline is not None:
            base = rule.baseline
            # a result that is itself the baseline is no candidate
            matched = [r for r in matched if any(r.group.get(k) != v for k, v in base.items())]
        if not matched:
            decisions.append(
                _rule_fails(
                    rule,
                    f"No {'candidate (non-baseline) ' if rule.relative else ''}result "
                    f"has metric {rule.metric!r} and group {rule.group}"
                    + (f" and method {rule.method!r}" if rule.method else "")
                    + (f" and a details entry {rule.field!r}" if rule.field else "")
                    + ", so the rule cannot pass.",
                )
            )
        elif rule.single and len(matched) > 1:
            labels = ", ".join(result_label(r) for r in matched[:5])
            more = f" and {len(matched) - 5} more" if len(matched) > 5 else ""
            reason = (
                f"The rule wants one result but {len(matched)} match: {labels}{more}; "
                "add group labels, `method` or `final = true` to pick one."
            )
            decisions.append(_rule_fails(rule, reason))
            continue
        if rule.relative:
            decisions.extend(_decide_relative(rule, r, index) for r in matched)
        else:
            decisions.extend(_decide(rule, r) for r in matched)
    return GateReport(tuple(decisions))


def _rule_fails(rule: Rule, reason: str) -> Decision:
    """The failed decision of a rule that found no result to decide on, and why."""
    return Decision(
        rule=rule.name, status=FAIL, label=rule.metric, bound=rule.bound_text, reason=reason
    )


def _rule_from_table(table: Any, where: str) -> Rule:
    if not isinstance(table, Mapping):
        raise VarkitError(f"{where} must be a table.")
    name = table.get("name")
    if isinstance(name, str):
        where = f"{where} ({name!r})"
    unknown = sorted(set(table) - set(_KEYS))
    if unknown:
        raise VarkitError(f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(_KEYS)}).")
    for key in ("name", "metric"):
        if key not in table:
            raise VarkitError(f"{where}: `{key}` is missing.")
    for key in ("max_pvalue", "field"):
        if key in table and "mode" in table:
            raise VarkitError(f"{where}: `mode` does not apply to a `{key}` rule.")
    try:
        return Rule(**dict(table))
    except (TypeError, ValueError) as exc:
        raise VarkitError(f"{where}: {exc}") from None


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
        raise VarkitError(f"rules file {str(path)!r} does not exist.")
    try:
        document = _toml.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        reason = " ".join(str(exc).split()).rstrip(".")
        raise VarkitError(f"rules file {str(path)!r} is not valid TOML: {reason}.") from None
    except RecursionError:
        raise VarkitError(f"rules file {str(path)!r} is nested too deeply to be read.") from None
    extra = sorted(set(document) - {"rule"})
    if extra:
        raise VarkitError(
            f"rules file {str(path)!r}: unknown top-level key {extra[0]!r} "
            "(rules go in [[rule]] tables)."
        )
    tables = document.get("rule")
    if not isinstance(tables, list) or not tables:
        raise VarkitError(f"rules file {str(path)!r} has no [[rule]] tables.")
    return [
        _rule_from_table(t, f"rules file {str(path)!r}, rule {i}")
        for i, t in enumerate(tables, start=1)
    ]


def read_results(path: str | os.PathLike[str]) -> ResultSet:
    """Read one varkit results JSON file (what ``--format json`` writes).

    Raises ``ValueError`` with one sentence naming the file when it cannot be read or is
    not a ``varkit.results/1`` document.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from varkit.results import Result, ResultSet, format_number
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "results.json"
    >>> _ = path.write_text(ResultSet([Result("epsilon", 6.1, 5.2, 7.9, 0.95)]).to_json())
    >>> read_results(path)[0].ci_high
    7.9
    >>> _ = path.write_text("[1, 2]")
    >>> read_results(path)
    Traceback (most recent call last):
    ...
    varkit.errors.VarkitError: results file '...results.json' is not a varkit results document.
    """
    path = os.fspath(path)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise VarkitError(f"results file {path!r} is not UTF-8 text.") from None
    except json.JSONDecodeError as exc:
        raise VarkitError(
            f"results file {path!r} is not valid JSON ({exc.msg} at line {exc.lineno})."
        ) from None
    except RecursionError:
        raise VarkitError(f"results file {path!r} is nested too deeply to be read.") from None
    except ValueError as exc:  # an integer past Python's 4300-digit conversion limit
        reason = " ".join(str(exc).split()).rstrip(".")
        raise VarkitError(f"results file {path!r} is not valid JSON ({reason}).") from None
    except OSError as exc:
        raise VarkitError(f"results file {path!r} cannot be read ({exc.strerror}).") from None
    if not isinstance(data, dict):
        raise VarkitError(f"results file {path!r} is not a varkit results document.")
    try:
        return ResultSet.from_dict(data)
    except VarkitError as exc:
        raise VarkitError(f"results file {path!r}: {' '.join(str(exc).split())}") from None


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
