"""Argument checks that every domain shares, written once.

Each check returns the normalised value or raises :class:`~varkit.errors.VarkitError`
(:class:`~varkit.errors.VarkitTypeError` for a value of the wrong type) with one sentence
naming the argument.

Examples
--------
>>> check_confidence(0.9)
0.9
>>> check_confidence(0.9999999999999999)
Traceback (most recent call last):
...
varkit.errors.VarkitError: `confidence` must be between 0.5 and 0.999999999, got 0.9999999999999999.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from varkit.errors import VarkitError, VarkitTypeError

__all__ = [
    "ALTERNATIVES",
    "CONFIDENCE_MAX",
    "CONFIDENCE_MIN",
    "check_alternative",
    "check_confidence",
    "one_sided",
    "resolve_seed",
    "tail_levels",
]

# Below 0.5 an "interval" no longer says where the parameter is likely to be, and a
# resampling estimate can fall outside it; above 1 - 1e-9 the normal quantile is past 6
# and tail quantiles lose their meaning in double precision (at 1 - 1e-16 they are inf).
#: The lowest confidence level an interval may have.
CONFIDENCE_MIN = 0.5
#: The highest confidence level an interval may have.
CONFIDENCE_MAX = 1.0 - 1e-9


def check_confidence(confidence: Any, name: str = "confidence") -> float:
    """``confidence`` as a float in [CONFIDENCE_MIN, CONFIDENCE_MAX] (0.5 to 1 - 1e-9).

    Parameters
    ----------
    confidence : float
        The level of an interval, e.g. 0.95.
    name : str
        The argument's name in the error message (``target_confidence`` ...).

    Examples
    --------
    >>> check_confidence(0.95)
    0.95
    >>> check_confidence(0.3, "target_confidence")
    Traceback (most recent call last):
    ...
    varkit.errors.VarkitError: `target_confidence` must be between 0.5 and 0.999999999, got 0.3.
    """
    if isinstance(confidence, bool) or not isinstance(confidence, numbers.Real):
        raise VarkitTypeError(f"`{name}` must be a number, got {confidence!r}.")
    value = float(confidence)
    if not (math.isfinite(value) and CONFIDENCE_MIN <= value <= CONFIDENCE_MAX):
        raise VarkitError(
            f"`{name}` must be between {CONFIDENCE_MIN:g} and {CONFIDENCE_MAX:.9f}, got {value!r}."
        )
    return value


def resolve_seed(random_state: Any) -> int:
    """Turn ``random_state`` (None, an int or a numpy Generator) into a 63-bit seed.

    Examples
    --------
    >>> resolve_seed(42)
    42
    >>> resolve_seed(np.random.default_rng(0)) == resolve_seed(np.random.default_rng(0))
    True
    """
    if random_state is None:
        return int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> np.uint64(1))
    if isinstance(random_state, (bool, np.bool_)):
        raise VarkitTypeError("`random_state` must be None, an integer or a numpy Generator.")
    if isinstance(random_state, (int, np.integer)):
        if random_state < 0:
            raise VarkitError(f"`random_state` must be non-negative, got {random_state}.")
        return int(random_state) & ((1 << 63) - 1)
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**63 - 1))
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**31 - 1))
    raise VarkitTypeError(
        "`random_state` must be None, an integer or a numpy Generator, "
        f"got {type(random_state).__name__}."
    )


#: The alternative hypotheses of a test (or the sides of an interval).
ALTERNATIVES = ("two-sided", "less", "greater")


def check_alternative(alternative: Any) -> str:
    """``alternative`` as one of ``two-sided``, ``less`` (an interval bounded above only:
    [0, high] for a rate) or ``greater`` (bounded below only).

    Examples
    --------
    >>> check_alternative("less")
    'less'
    >>> check_alternative("two_sided")
    Traceback (most recent call last):
    ...
    varkit.errors.VarkitError: `alternative` must be one of two-sided, less, greater, got ...
    """
    if alternative not in ALTERNATIVES:
        raise VarkitError(
            f"`alternative` must be one of {', '.join(ALTERNATIVES)}, got {alternative!r}."
        )
    return str(alternative)


def tail_levels(confidence: float, alternative: str) -> tuple[float, float]:
    """The probability levels of an interval's two ends, for every interval in varkit.

    A two-sided interval at ``confidence`` runs between the ``(1 - confidence) / 2`` and
    ``(1 + confidence) / 2`` quantiles of its reference distribution; a one-sided one puts
    all of ``1 - confidence`` in one tail. ``less`` (an upper bound: [bound, high]) gives
    level 0 at the open low end, ``greater`` (a lower bound) level 1 at the open high end;
    a method maps an open end to its parameter's own bound (0 or 1 for a proportion,
    -1 or 1 for a difference of proportions, -inf or inf for a difference of scores),
    never to a quantile.

    Examples
    --------
    >>> tail_levels(0.8, "two-sided")
    (0.09999999999999998, 0.9)
    >>> tail_levels(0.8, "less"), tail_levels(0.8, "greater")
    ((0.0, 0.8), (0.19999999999999996, 1.0))
    """
    if alternative == "less":
        return 0.0, confidence
    if alternative == "greater":
        return 1.0 - confidence, 1.0
    return (1.0 - confidence) / 2.0, (1.0 + confidence) / 2.0


def one_sided(
    low: float,
    high: float,
    alternative: str,
    bounds: tuple[float, float] = (-math.inf, math.inf),
) -> tuple[float, float]:
    """The interval ``[low, high]`` with its open end (for a one-sided ``alternative``) at
    the parameter's own bound.

    Examples
    --------
    >>> one_sided(0.1, 0.3, "less", (0.0, 1.0)), one_sided(0.1, 0.3, "greater")
    ((0.0, 0.3), (0.1, inf))
    >>> one_sided(0.1, 0.3, "two-sided")
    (0.1, 0.3)
    """
    if alternative == "less":
        return bounds[0], high
    if alternative == "greater":
        return low, bounds[1]
    return low, high
