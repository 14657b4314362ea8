"""Distances between an ad's delivered and eligible audiences over one attribute.

All functions work on count or share arrays whose **last axis is the group axis**, so a
``(n_resamples, K)`` stack of bootstrap replicates is reduced in one call.

The shuffle distance (Timmaraju et al., KDD 2023, arXiv 2306.03293; the metric of the
2023 DOJ-Meta settlement, "variance <= 10%") is read here as the total variation distance
between the delivered shares ``d`` and the eligible shares ``e``::

    SD = 1/2 sum_k |d_k - e_k| = sum_k max(0, d_k - e_k)

the smallest fraction of impressions that would have to move between groups for delivery
to match eligibility (``shared/methods/fairness.md`` section 1.1; the formula is our
reconstruction from the metric's name, the paper's section 3 could not be read).

Examples
--------
>>> import numpy as np
>>> shuffle_distance(np.array([70, 30]), np.array([50, 50]))
0.2
>>> signed_gaps(np.array([70, 30]), np.array([50, 50]))
array([ 0.2, -0.2])
>>> kl_divergence(np.array([0, 10]), np.array([5, 5]))   # eligible group never delivered
inf
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.spatial.distance import jensenshannon
from scipy.special import rel_entr

from varkit.fairness.misclassification import check_misclassification, corrected_shares

__all__ = [
    "clip_and_renormalise",
    "js_distance",
    "kl_divergence",
    "max_gap",
    "shares",
    "shuffle_distance",
    "signed_gaps",
]


def _rescaled(counts: np.ndarray) -> np.ndarray:
    """Counts divided, row by row along the last axis, by a power of two near their max.

    Shares and distances are scale-free, and a power-of-two scale is exact in binary
    floating point, so this changes no result for ordinary counts; it only keeps the
    sums and cross-products below from overflowing (eligible counts of 1e308) or losing
    precision in subnormals (counts of 1e-300). Rows with no positive count are unchanged.
    """
    counts = np.asarray(counts, dtype=float)
    with np.errstate(invalid="ignore"):
        peak = np.max(counts, axis=-1, keepdims=True, initial=0.0)
    _, exponent = np.frexp(np.where(np.isfinite(peak) & (peak > 0), peak, 1.0))
    return np.ldexp(counts, -exponent)


def shares(counts: np.ndarray) -> np.ndarray:
    """Counts -> shares along the last axis (NaN where the total is not positive).

    Examples
    --------
    >>> shares(np.array([1.0, 3.0]))
    array([0.25, 0.75])
    """
    counts = _rescaled(counts)
    total = counts.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, counts / np.where(total > 0, total, 1.0), np.nan)


def clip_and_renormalise(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Clip noisy (differentially private) counts at zero; return them and the clip mask.

    Laplace or Gaussian noise can push a small group's count below zero. A negative count
    has no meaning as a share, so it is set to zero and the shares are renormalised over
    what is left (our convention, ``shared/methods/fairness.md`` section 1.4); the mask
    says which cells were clipped so callers can record it.

    Examples
    --------
    >>> clipped, mask = clip_and_renormalise(np.array([12.0, -3.0, 8.0]))
    >>> clipped.tolist(), mask.tolist()
    ([12.0, 0.0, 8.0], [False, True, False])
    """
    counts = np.asarray(counts, dtype=float)
    mask = counts < 0
    return np.where(mask, 0.0, counts), mask


def shuffle_distance(
    delivered: np.ndarray, eligible: np.ndarray, *, misclassification: Any = None
) -> np.ndarray | float:
    """Total variation distance between delivered and eligible shares, from counts.

    Computed by cross-multiplication, ``1/2 sum_k |D_k E - E_k D| / (D E)`` with
    ``D = sum_k D_k`` and ``E = sum_k E_k``: for integer counts below about 2^26 every
    step before the last division is exact, so the result is the correctly rounded value
    of the exact rational. An ad exactly at the 0.10 threshold then reads 0.1, not
    0.10000000000000002 as the naive sum of share differences can.

    Parameters
    ----------
    delivered, eligible : array_like, shape (..., K)
        Non-negative counts per group (impressions or reach; eligible users). Shares are
        taken along the last axis. Negative counts must be clipped first
        (:func:`clip_and_renormalise`).
    misclassification : array_like of shape (K, K), optional
        For counts of an *estimated* attribute (soft BISG sums, ``p_<group>``): the
        misclassification matrix ``M[k, j] = E[p_j | true group k]``, rows the true
        groups, columns the estimated ones, rows summing to 1 (from a calibration
        sample: :func:`~varkit.fairness.misclassification.misclassification_matrix`).
        Soft shares measure ``M^T s_true``, which pulls every distance towards 0; both
        sides' shares are first corrected by non-negative least squares
        (:func:`~varkit.fairness.misclassification.corrected_shares`), and the distance
        is that of the corrected shares. Default: no correction.

    Returns
    -------
    float or ndarray
        Shuffle distance in [0, 1]; NaN where either side has no mass. Each side is
        first scaled by a power of two (exact), so counts up to 1e308 neither overflow
        nor change the result.

    Raises
    ------
    VarkitError
        For a ``misclassification`` matrix that is not K x K, has negative entries or
        rows not summing to 1, or is singular (condition number above 1e8).

    Examples
    --------
    >>> shuffle_distance([60, 40], [50, 50])          # A: 10 points off, exactly 0.1
    0.1
    >>> shuffle_distance([[60, 40], [50, 50]], [50, 50]).tolist()
    [0.1, 0.0]

    Soft counts through memberships that put 20% of each group's mass on the other
    group see 60/40 against 50/50; the true audiences are 66.7/33.3 and 50/50:

    >>> M = [[0.8, 0.2], [0.2, 0.8]]
    >>> round(shuffle_distance([60, 40], [50, 50], misclassification=M), 12)
    0.166666666667
    """
    if misclassification is not None:
        n_groups = np.shape(delivered)[-1]
        matrix = check_misclassification(misclassification, n_groups)
        return shuffle_distance(
            corrected_shares(delivered, matrix), corrected_shares(eligible, matrix)
        )
    d = _rescaled(delivered)
    e = _rescaled(eligible)
    d_total = d.sum(axis=-1, keepdims=True)
    e_total = e.sum(axis=-1, keepdims=True)
    numerator = np.abs(d * e_total - e * d_total).sum(axis=-1)
    denominator = 2.0 * (d_total * e_total)[..., 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(
            denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan
        )
    out = np.minimum(out, 1.0)
    return float(out) if out.ndim == 0 else out


def signed_gaps(delivered: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """Delivered share minus eligible share per group; negative means under-served.

    Examples
    --------
    >>> signed_gaps([30, 70], [50, 50]).tolist()
    [-0.2, 0.2]
    """
    # Cross-multiplied like shuffle_distance, so integer counts give correctly rounded gaps.
    d = _rescaled(delivered)
    e = _rescaled(eligible)
    d_total = d.sum(axis=-1, keepdims=True)
    e_total = e.sum(axis=-1, keepdims=True)
    denominator = d_total * e_total
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(
            denominator > 0,
            (d * e_total - e * d_total) / np.where(denominator > 0, denominator, 1.0),
            np.nan,
        )


def max_gap(delivered: np.ndarray, eligible: np.ndarray) -> np.ndarray | float:
    """Largest absolute single-group gap ``max_k |d_k - e_k|``.

    Examples
    --------
    >>> round(max_gap([50, 30, 20], [40, 40, 20]), 12)
    0.1
    """
    out = np.abs(signed_gaps(delivered, eligible)).max(axis=-1)
    return float(out) if np.ndim(out) == 0 else out


def kl_divergence(delivered: np.ndarray, eligible: np.ndarray) -> np.ndarray | float:
    """KL(e || d) in nats: infinite when an eligible group receives no impressions.

    The direction follows aif360's ``kl_divergence`` with the eligible audience as the
    reference. An infinite value is a finding (a group was shut out), not an error.

    Examples
    --------
    >>> round(kl_divergence([25, 75], [50, 50]), 6)
    0.143841
    >>> kl_divergence([0, 10], [1, 1])
    inf
    """
    d = shares(np.asarray(delivered))
    e = shares(np.asarray(eligible))
    # rel_entr(0, q) = 0 and rel_entr(p > 0, 0) = inf, exactly the limits KL needs.
    out = rel_entr(e, d).sum(axis=-1)
    return float(out) if np.ndim(out) == 0 else out


def js_distance(delivered: np.ndarray, eligible: np.ndarray) -> np.ndarray | float:
    """Jensen-Shannon distance (base 2, in [0, 1]); finite even when a group is absent.

    Examples
    --------
    >>> js_distance([0, 10], [10, 0])
    1.0
    """
    d = shares(np.asarray(delivered))
    e = shares(np.asarray(eligible))
    out = jensenshannon(d, e, base=2.0, axis=-1)
    return float(out) if np.ndim(out) == 0 else np.asarray(out)
