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

from varkit.errors import VarkitError, VarkitTypeError

__all__ = ["CONFIDENCE_MAX", "CONFIDENCE_MIN", "check_confidence"]

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
    """
    if isinstance(confidence, bool) or not isinstance(confidence, numbers.Real):
        raise VarkitTypeError(f"`{name}` must be a number, got {confidence!r}.")
    value = float(confidence)
    if not (math.isfinite(value) and CONFIDENCE_MIN <= value <= CONFIDENCE_MAX):
        raise VarkitError(
            f"`{name}` must be between {CONFIDENCE_MIN:g} and {CONFIDENCE_MAX:.9f}, got {value!r}."
        )
    return value
