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
    "resolve_seed",
]

# Below 0.5 an "interval" no longer says where the parameter is likely to be, and a
# resampling estimate can fall outside it; above 1 - 1e-9 the normal quantile is past 6
# and tail quantiles lose their meaning in double precision (at 1 - 1e-16 they are inf).
CONFIDENCE_MIN = 0.5
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
