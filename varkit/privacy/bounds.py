"""The epsilon that an attack's error rates certify: the hypothesis-testing bound of DP.

A mechanism is (epsilon, delta)-differentially private only if every test that tells a
neighbouring pair of datasets apart has false-positive rate FPR and false-negative rate FNR
inside the privacy region (Kairouz, Oh & Viswanath 2015, Thm 2.1; Zanella-Béguelin et al.
2023, Eq. 2)::

    FPR + e^eps * FNR >= 1 - delta        FNR + e^eps * FPR >= 1 - delta
    (1 - FPR) + e^eps * (1 - FNR) >= 1 - delta
    (1 - FNR) + e^eps * (1 - FPR) >= 1 - delta

The smallest epsilon that satisfies all four, floored at 0, is the epsilon an attack with
these rates proves. The last two lines are the first two for the attack with its guesses
flipped, which is the reflection ``(FPR, FNR) -> (1 - FNR, 1 - FPR)`` of privacy-estimates'
``eps_from_fnr_fpr``: an attack worse than chance is as informative as its mirror image.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from varkit.errors import VarkitError, VarkitTypeError

__all__ = ["epsilon_from_rates"]


def _validate_rates(fpr: ArrayLike, fnr: ArrayLike, delta: ArrayLike) -> tuple[Any, Any, Any]:
    arrays = []
    for name, value, upper in (("fpr", fpr, 1.0), ("fnr", fnr, 1.0), ("delta", delta, None)):
        try:
            arr = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            raise VarkitTypeError(f"`{name}` must be a number or an array of numbers.") from None
        if np.isnan(arr).any():
            raise VarkitError(f"`{name}` must not contain NaN.")
        if upper is not None and ((arr < 0) | (arr > upper)).any():
            raise VarkitError(f"`{name}` must lie in [0, 1].")
        if upper is None and ((arr < 0) | (arr >= 1)).any():
            raise VarkitError("`delta` must lie in [0, 1).")
        arrays.append(arr)
    try:
        np.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError:
        raise VarkitError("`fpr`, `fnr` and `delta` must broadcast to one shape.") from None
    return arrays[0], arrays[1], arrays[2]


def _log_ratio(num: Any, den: Any) -> Any:
    """log(num / den) where num > 0 (+inf where den == 0), -inf where num <= 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(np.where(num > 0, num, 1.0)) - np.log(den)
    return np.where(num > 0, out, -np.inf)


def _epsilon(fpr: Any, fnr: Any, delta: Any) -> Any:
    """Unvalidated :func:`epsilon_from_rates` on float arrays (used by the estimators).

    The four constraints are evaluated directly rather than through the reflection, so a
    rate within one ulp of 1 (``1 - FPR`` underflowing to 0) is not rounded away.
    """
    keep = 1.0 - delta
    eps = np.maximum(
        np.maximum(_log_ratio(keep - fpr, fnr), _log_ratio(keep - fnr, fpr)),
        np.maximum(_log_ratio(fpr - delta, 1.0 - fnr), _log_ratio(fnr - delta, 1.0 - fpr)),
    )
    return np.maximum(eps, 0.0)


def _epsilon_range_over_box(
    fpr_lo: Any, fpr_hi: Any, fnr_lo: Any, fnr_hi: Any, delta: Any
) -> tuple[Any, Any]:
    """Smallest and largest epsilon over boxes [fpr_lo, fpr_hi] x [fnr_lo, fnr_hi].

    The privacy region is convex and epsilon grows away from the chance strip
    ``|FPR + FNR - 1| <= delta`` along both axes on each side of it, so the extremes sit at
    the (low, low) and (high, high) corners, and the minimum is 0 when the box meets the
    strip. Vectorised.
    """
    e_low = _epsilon(fpr_lo, fnr_lo, delta)
    e_high = _epsilon(fpr_hi, fnr_hi, delta)
    meets = (fpr_lo + fnr_lo <= 1.0 + delta) & (fpr_hi + fnr_hi >= 1.0 - delta)
    return np.where(meets, 0.0, np.minimum(e_low, e_high)), np.maximum(e_low, e_high)


def epsilon_from_rates(fpr: ArrayLike, fnr: ArrayLike, delta: ArrayLike = 0.0) -> Any:
    """The epsilon certified by an attack with false-positive and false-negative rates.

    Parameters
    ----------
    fpr, fnr : float or array_like
        False-positive rate (non-members called members) and false-negative rate (members
        called non-members), in [0, 1]. Arrays broadcast against each other and ``delta``.
    delta : float or array_like, default 0
        The delta of (epsilon, delta)-DP, in [0, 1).

    Returns
    -------
    float or numpy.ndarray
        ``max(0, log((1 - delta - FPR) / FNR), log((1 - delta - FNR) / FPR))`` after the
        reflection ``(FPR, FNR) -> (1 - FNR, 1 - FPR)`` when ``FPR + FNR > 1``. It is
        ``inf`` exactly when one reflected rate is 0 and the other is below ``1 - delta``:
        an attack that never errs one way while doing better than chance is
        incompatible with any finite epsilon at that delta. A float for scalar input.

    Notes
    -----
    Both directions of the DP inequality are taken (Kairouz et al. 2015, Thm 2.1;
    Zanella-Béguelin et al. 2023, Eq. 2). Unlike privacy-estimates, a point on the chance
    line with one rate 0 (``FNR = 0, FPR = 1 - delta``, the attack that calls everything a
    member) gives 0, not ``inf``. This function is the point map; it does no statistics.

    Examples
    --------
    >>> from varkit.privacy import epsilon_from_rates
    >>> round(epsilon_from_rates(0.01, 0.4), 4)          # log((1 - 0.4) / 0.01)
    4.0943
    >>> epsilon_from_rates([0.5, 0.0, 0.99], [0.5, 0.3, 0.6]).round(4)   # last: reflected
    array([0.    ,    inf, 4.0943])
    >>> epsilon_from_rates(0.0, 1.0)                     # "always a member": chance
    0.0
    """
    fpr_arr, fnr_arr, delta_arr = _validate_rates(fpr, fnr, delta)
    eps = _epsilon(fpr_arr, fnr_arr, delta_arr)
    return float(eps) if np.ndim(eps) == 0 else eps
