"""Correcting group shares measured through estimated (BISG) memberships.

Race and ethnicity are not observed: each user carries BISG posterior probabilities
``p_u`` (the ``p_<group>`` columns) and a soft count sums them. When a user's estimated
profile depends on its group only through its true group ``k`` (non-differential
misclassification: delivery and eligibility select on the true group, not on ``p``
itself), every audience has ``E[p_u | true k] = M[k, :]``, so its observed soft shares are

    s_obs = M^T s_true

with ``M`` the **misclassification matrix**: rows are true groups, columns estimated
groups, rows sum to 1 (scikit-learn's confusion-matrix orientation, normalised by row).
``M`` mixes every share towards the audience-wide profile, so every distance between two
audiences is pulled towards 0 (attenuated). The correction inverts the mixing by the
matrix method for misclassified categories (Buonaccorsi 2010, *Measurement Error:
Models, Methods, and Applications*, chapter 3): ``s_true`` is the non-negative
least-squares solution of ``M^T s = s_obs`` (exact where it is non-negative, since ``M``
is square), renormalised to sum 1.

``M`` is estimated from a **calibration sample**, rows whose true group is known beside
their ``p_<group>`` columns (:func:`misclassification_matrix`): ``M[k, :]`` is the mean of
``p`` over the rows whose true group is ``k``. The sample's own sampling error is carried
into intervals by :meth:`Calibration.replicates`: the rows resampled within each true
group, one matrix per bootstrap replicate.

Examples
--------
>>> import numpy as np
>>> M = np.array([[0.8, 0.2], [0.3, 0.7]])
>>> s_obs = M.T @ np.array([0.9, 0.1])       # what soft counts of 90% / 10% measure
>>> s_obs.round(12).tolist()
[0.75, 0.25]
>>> corrected_shares(s_obs, M).round(12).tolist()
[0.9, 0.1]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import nnls

from varkit.errors import VarkitError, VarkitTypeError
from varkit.fairness.counts import (
    PROB_PREFIX,
    _numeric,
    _validate_frame,
    probability_columns,
    probability_sums,
)

__all__ = [
    "MAX_CONDITION",
    "Calibration",
    "check_misclassification",
    "corrected_shares",
    "misclassification_matrix",
]

#: Largest condition number of ``M`` accepted: beyond it the true groups' estimated
#: profiles are too alike to separate (a share error of 1e-8 would move the corrected
#: shares by one whole unit).
MAX_CONDITION = 1e8
#: How far a row of ``M`` may sum from 1 (rows of a calibration's mean are exact to 1e-15;
#: a matrix typed by hand to 6 decimals is within 1e-5 for up to 20 groups).
ROW_SUM_TOLERANCE = 1e-5
# Probability rows of a calibration sample may sum this far from 1 (as count_delivery).
_PROB_TOLERANCE = 0.02
# Bound on B x n floats of resampling weights held at once.
_BATCH_CELLS = 1 << 22


def check_misclassification(
    misclassification: Any, n_groups: int, name: str = "`misclassification`"
) -> np.ndarray:
    """``M`` as a float (K, K) array, or one error naming ``name``.

    Square with the groups' size, finite, non-negative, rows summing to 1 within
    ``ROW_SUM_TOLERANCE``, and condition number at most ``MAX_CONDITION``.

    Examples
    --------
    >>> check_misclassification([[0.9, 0.1], [0.2, 0.8]], 2).tolist()
    [[0.9, 0.1], [0.2, 0.8]]
    >>> check_misclassification([[0.5, 0.5], [0.5, 0.5]], 2)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    varkit.errors.VarkitError: `misclassification` is singular or nearly so ...
    """
    try:
        matrix = np.asarray(misclassification, dtype=float)
    except (TypeError, ValueError) as exc:
        raise VarkitTypeError(f"{name} must be a (K, K) array of numbers.") from exc
    if matrix.shape != (n_groups, n_groups):
        raise VarkitError(
            f"{name} must be square with one row and column per group, {n_groups} x "
            f"{n_groups}, got shape {matrix.shape}."
        )
    if not np.isfinite(matrix).all() or (matrix < 0).any():
        raise VarkitError(f"{name} must hold finite non-negative probabilities.")
    row_sums = matrix.sum(axis=1)
    if (np.abs(row_sums - 1.0) > ROW_SUM_TOLERANCE).any():
        row = int(np.flatnonzero(np.abs(row_sums - 1.0) > ROW_SUM_TOLERANCE)[0])
        raise VarkitError(
            f"{name} rows (true groups) must sum to 1, but row {row + 1} sums to "
            f"{row_sums[row]:.6g} (rows are true groups, columns estimated ones)."
        )
    condition = float(np.linalg.cond(matrix))
    if not condition <= MAX_CONDITION:
        raise VarkitError(
            f"{name} is singular or nearly so (condition number {condition:.3g}): two true "
            "groups have estimated profiles too alike to tell their shares apart."
        )
    return matrix


def corrected_shares(counts: Any, misclassification: np.ndarray) -> np.ndarray:
    """True-group shares from counts measured through ``M``: NNLS of ``M^T s = s_obs``.

    Parameters
    ----------
    counts : array_like, shape (..., K)
        Soft counts (or shares) per estimated group; shares are taken along the last axis.
    misclassification : ndarray, shape (K, K) or (..., K, K)
        ``M`` (checked by the caller, :func:`check_misclassification`), or a stack of
        them broadcasting against the leading axes of ``counts`` (one per replicate).

    Returns
    -------
    ndarray, shape (..., K)
        Non-negative shares summing to 1; NaN where ``counts`` has no mass. Where the
        exact solution ``M^-T s_obs`` is non-negative it is the least-squares solution
        (residual 0); elsewhere :func:`scipy.optimize.nnls` solves the row.

    Examples
    --------
    Observed shares the mixing cannot produce (outside the image of the simplex) are
    projected onto it:

    >>> import numpy as np
    >>> M = np.array([[0.8, 0.2], [0.3, 0.7]])
    >>> corrected_shares(np.array([[90.0, 10.0], [60.0, 40.0]]), M).round(6).tolist()
    [[1.0, 0.0], [0.6, 0.4]]
    """
    counts = np.asarray(counts, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        total = counts.sum(axis=-1, keepdims=True)
        observed = np.where(total > 0, counts / np.where(total > 0, total, 1.0), np.nan)
    transposed = np.swapaxes(np.asarray(misclassification, dtype=float), -1, -2)
    shape = np.broadcast_shapes(observed.shape[:-1], transposed.shape[:-2])
    k = observed.shape[-1]
    observed = np.broadcast_to(observed, (*shape, k)).reshape(-1, k)
    transposed = np.broadcast_to(transposed, (*shape, k, k)).reshape(-1, k, k)
    finite = np.isfinite(observed).all(axis=1)
    out = np.full_like(observed, np.nan)
    try:
        solved = np.linalg.solve(transposed[finite], observed[finite][:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:  # a singular replicate matrix: every row by NNLS
        solved = np.full((int(finite.sum()), k), -1.0)
    out[finite] = solved
    for row in np.flatnonzero(finite & ~(out >= 0).all(axis=1)):
        out[row] = nnls(transposed[row], observed[row])[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = out / out.sum(axis=1, keepdims=True)
    return out.reshape(*shape, k)


@dataclass(frozen=True)
class Calibration:
    """A calibration sample: each row's true group and its estimated memberships.

    Parameters
    ----------
    attribute : str
        The name of the column of true groups (``race``).
    groups : tuple of str
        Order of the rows and columns of :attr:`matrix`.
    labels : ndarray of int, shape (n,)
        Each row's true group, as a position in ``groups``.
    probs : ndarray, shape (n, K)
        Each row's memberships, rescaled to sum to 1.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"race": ["a", "a", "b"], "p_a": [0.9, 0.7, 0.2],
    ...                       "p_b": [0.1, 0.3, 0.8]})
    >>> calibration = Calibration.of(frame, "race")
    >>> calibration.matrix.round(2).tolist()
    [[0.8, 0.2], [0.2, 0.8]]
    >>> calibration.replicates(5, np.random.default_rng(0)).shape
    (5, 2, 2)
    """

    attribute: str
    groups: tuple[str, ...]
    labels: np.ndarray
    probs: np.ndarray

    @classmethod
    def of(
        cls, frame: Any, attribute: str = "race", groups: Sequence[str] | None = None
    ) -> Calibration:
        """Check a calibration frame (true ``attribute`` column, ``p_<group>`` columns)."""
        frame = _validate_frame(frame, "calibration", (attribute,))
        columns = probability_columns(frame)
        found = [str(c)[len(PROB_PREFIX) :] for c in columns]
        names = tuple(found) if groups is None else tuple(str(g) for g in groups)
        for group in names:
            if group not in found:
                raise VarkitError(f"`calibration` has no column 'p_{group}'.")
        extra = [g for g in found if g not in names]
        if extra:
            raise VarkitError(
                f"`calibration` has a column 'p_{extra[0]}' for a group not among "
                f"{', '.join(names)}."
            )
        probs = np.column_stack(
            [_numeric(frame, f"{PROB_PREFIX}{g}", "calibration") for g in names]
        )
        return cls(attribute, names, _true_labels(frame, attribute, names), _rows_of(probs))

    @property
    def matrix(self) -> np.ndarray:
        """``M[k, :]``: the mean membership of the rows whose true group is ``k``."""
        k = len(self.groups)
        sums = np.zeros((k, k))
        np.add.at(sums, self.labels, self.probs)
        return sums / np.bincount(self.labels, minlength=k)[:, None]

    def replicates(self, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
        """(n_resamples, K, K) bootstrap matrices: rows resampled within each true group.

        Resampling within the true groups keeps every row of ``M`` defined (a group
        resampled empty would leave it undefined); ``M``'s rows are conditional means,
        so this is the bootstrap of each of them.
        """
        k = len(self.groups)
        out = np.empty((n_resamples, k, k))
        for group in range(k):
            rows = self.probs[self.labels == group]
            n = len(rows)
            batch = max(1, _BATCH_CELLS // n)
            for start in range(0, n_resamples, batch):
                stop = min(n_resamples, start + batch)
                draws = rng.integers(0, n, size=(stop - start, n))
                offsets = (np.arange(stop - start) * n)[:, None]
                weights = np.bincount((draws + offsets).ravel(), minlength=(stop - start) * n)
                out[start:stop, group] = weights.reshape(stop - start, n) @ rows / n
        return out


def _rows_of(probs: np.ndarray) -> np.ndarray:
    """Membership rows in [0, 1] summing to 1 within the tolerance, rescaled to 1."""
    return probs / probability_sums(probs, "calibration", _PROB_TOLERANCE)[:, None]


def _true_labels(frame: pd.DataFrame, attribute: str, groups: tuple[str, ...]) -> np.ndarray:
    """Each row's true group as a position in ``groups``; every group needs a row."""
    values = frame[attribute]
    missing = values.isna().to_numpy()
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise VarkitError(f"`calibration` column {attribute!r} is missing at row {row + 1}.")
    labels = pd.Index(groups).get_indexer(values.astype(str))
    if (labels < 0).any():
        row = int(np.flatnonzero(labels < 0)[0])
        raise VarkitError(
            f"`calibration` column {attribute!r} has group {values.iloc[row]!r} at row "
            f"{row + 1}, which is not among {', '.join(groups)}."
        )
    sizes = np.bincount(labels, minlength=len(groups))
    if (sizes == 0).any():
        group = groups[int(np.flatnonzero(sizes == 0)[0])]
        raise VarkitError(
            f"`calibration` has no row whose true {attribute} is {group!r}: the "
            "misclassification matrix has no estimate for that group."
        )
    return labels


def misclassification_matrix(
    calibration: pd.DataFrame,
    *,
    attribute: str = "race",
    groups: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The misclassification matrix ``M[k, j] = E[p_j | true group k]`` of a sample.

    Parameters
    ----------
    calibration : pandas.DataFrame
        One row per person whose true group is known: a column ``attribute`` with it,
        and the ``p_<group>`` memberships the delivery log would give that person (rows
        summing to 1 within 0.02; they are rescaled to 1).
    attribute : str, default 'race'
        The column of true groups.
    groups : sequence of str, optional
        Order of the rows and columns (e.g. the eligible table's groups). Default: the
        order of the ``p_<group>`` columns. Every group needs a ``p_<group>`` column and
        at least one row.

    Returns
    -------
    pandas.DataFrame
        ``M``: index the true groups, columns the estimated groups, rows summing to 1
        (the orientation of :func:`sklearn.metrics.confusion_matrix` with
        ``normalize="true"``, for soft predictions). Pass it as
        ``shuffle_distance(..., misclassification=M)``.

    Examples
    --------
    Memberships blurred towards the majority: the delivered audience below is 30%
    Black, but soft counts see 28%; corrected, the distance to an audience of
    10% Black is 0.2, not the attenuated 0.16.

    >>> import numpy as np, pandas as pd
    >>> from varkit.fairness import shuffle_distance
    >>> rng = np.random.default_rng(0)
    >>> true = rng.choice(["white", "black"], size=4000, p=[0.7, 0.3])
    >>> p_black = np.clip(np.where(true == "black", 0.7, 0.1) + rng.normal(0, 0.05, 4000), 0, 1)
    >>> sample = pd.DataFrame({"race": true, "p_white": 1 - p_black, "p_black": p_black})
    >>> M = misclassification_matrix(sample, groups=["white", "black"])
    >>> M.round(2).to_numpy().tolist()
    [[0.9, 0.1], [0.3, 0.7]]
    >>> delivered = M.to_numpy().T @ [0.7, 0.3]          # soft counts of each audience
    >>> eligible = M.to_numpy().T @ [0.9, 0.1]
    >>> round(shuffle_distance(delivered, eligible), 3)
    0.12
    >>> round(shuffle_distance(delivered, eligible, misclassification=M), 3)
    0.2
    """
    checked = Calibration.of(calibration, attribute, groups)
    matrix = check_misclassification(checked.matrix, len(checked.groups), "`calibration`")
    index = pd.Index(checked.groups, name=f"true_{attribute}")
    return pd.DataFrame(matrix, index=index, columns=list(checked.groups))
