"""The outcome of a membership-inference attack as four counts, and their validation."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

from varkit.checks import check_confidence
from varkit.errors import VarkitError, VarkitTypeError
from varkit.results import Result

__all__ = ["AttackCounts"]

BOUNDS = ("two-sided", "lower")


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise VarkitTypeError(f"`{name}` must be a non-negative integer count, got {value!r}.")
    as_float = float(value)
    if not math.isfinite(as_float) or as_float < 0 or as_float != math.floor(as_float):
        raise VarkitError(f"`{name}` must be a non-negative integer count, got {value!r}.")
    return int(as_float)


@dataclass(frozen=True)
class AttackCounts:
    """Confusion counts of an attack that calls each challenge point member or non-member.

    Parameters
    ----------
    fp : int
        Non-members the attack called members (false positives).
    fn : int
        Members the attack called non-members (false negatives).
    tn, tp : int
        Correct calls on non-members and on members.

    Examples
    --------
    >>> c = AttackCounts(fp=10, fn=400, tn=990, tp=600)
    >>> round(c.fpr, 3), round(c.fnr, 3), c.n_members, c.n_nonmembers
    (0.01, 0.4, 1000, 1000)
    """

    fp: int
    fn: int
    tn: int
    tp: int

    def __post_init__(self) -> None:
        for name in ("fp", "fn", "tn", "tp"):
            object.__setattr__(self, name, _count(name, getattr(self, name)))

    @property
    def n_members(self) -> int:
        return self.tp + self.fn

    @property
    def n_nonmembers(self) -> int:
        return self.tn + self.fp

    @property
    def fpr(self) -> float:
        """False-positive rate FP / (FP + TN); NaN without non-members."""
        return self.fp / self.n_nonmembers if self.n_nonmembers else math.nan

    @property
    def fnr(self) -> float:
        """False-negative rate FN / (FN + TP); NaN without members."""
        return self.fn / self.n_members if self.n_members else math.nan

    def as_dict(self) -> dict[str, int]:
        return {"fp": self.fp, "fn": self.fn, "tn": self.tn, "tp": self.tp}

    @classmethod
    def from_calls(cls, member: Any, called: Any) -> AttackCounts:
        """The counts of 0/1 calls ``called`` against the truth ``member`` (bool arrays)."""
        return cls(
            fp=int((called & ~member).sum()),
            fn=int((~called & member).sum()),
            tn=int((~called & ~member).sum()),
            tp=int((called & member).sum()),
        )


def validate_counts(fp: Any, fn: Any, tn: Any, tp: Any) -> AttackCounts:
    """Counts with at least one member and one non-member, else one-sentence errors."""
    counts = AttackCounts(fp=fp, fn=fn, tn=tn, tp=tp)
    if counts.n_members == 0:
        raise VarkitError("`tp` + `fn` must be positive: the attack saw no members.")
    if counts.n_nonmembers == 0:
        raise VarkitError("`tn` + `fp` must be positive: the attack saw no non-members.")
    return counts


def validate_delta(delta: Any) -> float:
    if isinstance(delta, bool) or not isinstance(delta, numbers.Real):
        raise VarkitTypeError(f"`delta` must be a number in [0, 1), got {delta!r}.")
    value = float(delta)
    if not 0.0 <= value < 1.0:
        raise VarkitError(f"`delta` must be in [0, 1), got {value}.")
    return value


def validate_confidence(confidence: Any) -> float:
    return check_confidence(confidence)


def validate_bound(bound: Any) -> str:
    if bound not in BOUNDS:
        raise VarkitError(f"`bound` must be 'two-sided' or 'lower', got {bound!r}.")
    return str(bound)


def epsilon_result(
    counts: AttackCounts,
    *,
    estimate: float,
    interval: tuple[float, float],
    confidence: float,
    method: str,
    delta: float,
    bound: str,
    details: dict[str, Any],
) -> Result:
    """The ``metric='epsilon'`` result of an estimator, its counts first in ``details``."""
    return Result(
        metric="epsilon",
        estimate=estimate,
        ci_low=interval[0],
        ci_high=interval[1],
        confidence=confidence,
        method=method,
        n=counts.n_members + counts.n_nonmembers,
        alternative="two-sided" if bound == "two-sided" else "greater",
        details={**counts.as_dict(), "delta": delta, "bound": bound, **details},
    )
