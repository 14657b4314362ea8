"""Gates inside a test suite: assert on a result's interval, as ``varkit gate`` decides.

For CI users who gate in pytest rather than in a rules file; the decision is the one
:func:`varkit.gates.check` takes for the same bound and mode.
"""

from __future__ import annotations

from varkit.gates import FAIL, INCONCLUSIVE, Rule, check
from varkit.results import Result

__all__ = ["assert_gate"]


def assert_gate(
    result: Result,
    *,
    min: float | None = None,  # noqa: A002 - the rule's own name for the bound
    max: float | None = None,  # noqa: A002
    mode: str = "credible",
    strict: bool = False,
) -> None:
    """Raise ``AssertionError`` when ``result`` fails the gate ``min <= metric <= max``.

    Parameters
    ----------
    result : Result
        The estimate whose interval decides.
    min, max : float, optional
        The bounds (at least one).
    mode : {'credible', 'assured'}
        ``credible`` fails only when the interval lies wholly on the wrong side of a
        bound (straddling is inconclusive); ``assured`` passes only when the whole
        interval is on the right side. See :mod:`varkit.gates`.
    strict : bool
        Fail on an inconclusive decision too.

    Examples
    --------
    >>> ok = Result("accuracy", 0.91, 0.88, 0.94, 0.95, "wilson")
    >>> assert_gate(ok, min=0.85, mode="assured")
    >>> assert_gate(ok, min=0.90, mode="assured")
    Traceback (most recent call last):
    ...
    AssertionError: accuracy >= 0.9 (assured): fail ...
    """
    rule = Rule(
        name=f"{result.metric} {_bound_text(min, max)}",
        metric=result.metric,
        group=dict(result.group),
        min=min,
        max=max,
        mode=mode,
    )
    (decision,) = check([result], [rule]).decisions
    if decision.status == FAIL or (strict and decision.status == INCONCLUSIVE):
        raise AssertionError(
            f"{rule.name} ({mode}): {decision.status} on {decision.interval_text}: "
            f"{decision.reason}"
        )


def _bound_text(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"in [{low:g}, {high:g}]"
    return f">= {low:g}" if low is not None else f"<= {high:g}"
