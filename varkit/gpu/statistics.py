"""Named statistics as functions of weighted column sums (the engine's fast path).

Every named statistic is ``theta = g(S)`` where ``S`` is the vector of sums, over the
resampling units, of a few per-unit columns ``z`` (for the mean: ``z = (x, 1)`` and
``g(S) = S_0 / S_1``). A bootstrap replicate is then ``g(sum_i w_i z_i)`` for random
weights ``w`` (multinomial counts or Poisson(1)), which the kernels compute without ever
materialising resampled copies of the data, and the jackknife of a statistic of sums has
the closed form ``g(S - z_i)``: O(n) instead of n refits (Efron & Tibshirani 1993, ch. 11).

Cluster bootstrap: the units are clusters and ``z`` is summed within each cluster first,
which is exact for a statistic of sums. Several independent samples (``mean_difference``
unpaired) are strata that are resampled separately.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from varkit.errors import VarkitError, VarkitTypeError
from varkit.io import check_array

__all__ = ["NAMED_STATISTICS", "LinearProblem", "build_problem", "combine_for", "unit_columns"]

#: The statistics the engine computes from weighted sums (its fast path, O(n) BCa).
NAMED_STATISTICS = ("mean", "sum", "proportion", "ratio", "weighted_mean", "mean_difference")

Combine = Callable[[Any], Any]


def _ratio(sums: Any) -> Any:
    return sums[..., 0] / sums[..., 1]


def _first(sums: Any) -> Any:
    return sums[..., 0] * 1.0


def _difference_of_ratios(sums: Any) -> Any:
    return sums[..., 0] / sums[..., 1] - sums[..., 2] / sums[..., 3]


@dataclass(frozen=True)
class LinearProblem:
    """A statistic of sums over resampling units, ready for the kernels.

    Attributes
    ----------
    name : str
        The statistic's name.
    z : ndarray, shape (m, k)
        Per-unit columns, units sorted by stratum.
    bounds : ndarray of int64, shape (H + 1,)
        Stratum boundaries over the sorted units.
    unit_ids : ndarray of uint64, shape (m,)
        Stable unit numbers that key the Poisson weights (row or cluster numbers).
    samples : ndarray of int64, shape (m,)
        Which input sample each unit belongs to (for the BCa acceleration).
    combine : callable
        ``g``: sums of shape (..., k) to the statistic, shape (...).
    n_rows : int
        Rows of data behind the units.
    """

    name: str
    z: np.ndarray
    bounds: np.ndarray
    unit_ids: np.ndarray
    samples: np.ndarray
    combine: Combine
    n_rows: int

    @property
    def n_units(self) -> int:
        return int(self.z.shape[0])

    def estimate(self) -> float:
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(self.combine(self.z.sum(axis=0)))

    def jackknife(self) -> list[np.ndarray]:
        """Leave-one-unit-out statistics, one array per input sample (NaN where undefined)."""
        total = self.z.sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.asarray(self.combine(total[None, :] - self.z), dtype=np.float64)
        n_samples = int(self.samples.max()) + 1 if self.samples.size else 0
        if n_samples <= 1:
            return [values]
        return [values[self.samples == j] for j in range(n_samples)]


def _as_samples(data: Any, count: int, statistic: str) -> list[Any]:
    if count == 1:
        if isinstance(data, (tuple, list)) and len(data) == 1 and not np.isscalar(data[0]):
            return [data[0]]
        return [data]
    if not isinstance(data, (tuple, list)) or len(data) != count:
        what = {
            "ratio": "(numerator, denominator)",
            "weighted_mean": "(values, weights)",
            "mean_difference": "(x, y)",
        }[statistic]
        raise VarkitTypeError(f"statistic={statistic!r} needs `data` as a pair {what}.")
    return list(data)


def _columns(statistic: str, data: Any, paired: bool) -> tuple[np.ndarray, np.ndarray, Combine]:
    """Per-row columns, the sample of each row, and g."""
    if statistic in ("mean", "sum", "proportion"):
        (values,) = _as_samples(data, 1, statistic)
        kind = "binary" if statistic == "proportion" else "float"
        x = check_array(values, "data", kind=kind).astype(np.float64)
        if statistic == "sum":
            return x[:, None], np.zeros(x.size, np.int64), _first
        z = np.column_stack([x, np.ones_like(x)])
        return z, np.zeros(x.size, np.int64), _ratio
    if statistic in ("ratio", "weighted_mean"):
        first, second = _as_samples(data, 2, statistic)
        names = ("numerator", "denominator") if statistic == "ratio" else ("values", "weights")
        a = check_array(first, names[0])
        b = check_array(second, names[1])
        if a.size != b.size:
            raise VarkitError(
                f"`{names[0]}` and `{names[1]}` must have the same length, "
                f"got {a.size} and {b.size}."
            )
        if statistic == "weighted_mean":
            if (b < 0).any():
                raise VarkitError("`weights` must be non-negative.")
            with np.errstate(over="ignore", invalid="ignore"):
                a = a * b
            _check_finite(a, "`values` times `weights`")
        return np.column_stack([a, b]), np.zeros(a.size, np.int64), _ratio
    if statistic == "mean_difference":
        first, second = _as_samples(data, 2, statistic)
        x = check_array(first, "x")
        y = check_array(second, "y")
        if paired:
            if x.size != y.size:
                raise VarkitError(
                    f"paired `x` and `y` must have the same length, got {x.size} and {y.size}."
                )
            with np.errstate(over="ignore", invalid="ignore"):
                d = x - y
            _check_finite(d, "`x` minus `y`")
            return np.column_stack([d, np.ones_like(d)]), np.zeros(d.size, np.int64), _ratio
        z = np.zeros((x.size + y.size, 4))
        z[: x.size, 0] = x
        z[: x.size, 1] = 1.0
        z[x.size :, 2] = y
        z[x.size :, 3] = 1.0
        samples = np.repeat(np.array([0, 1], np.int64), [x.size, y.size])
        return z, samples, _difference_of_ratios
    raise VarkitError(
        f"`statistic` must be one of {', '.join(NAMED_STATISTICS)} or a callable; "
        f"got {statistic!r}."
    )


def _check_finite(values: np.ndarray, what: str) -> None:
    """An overflowing product or difference of finite inputs is an error naming its row."""
    bad = ~np.isfinite(values)
    if bad.any():
        raise VarkitError(
            f"{what} exceeds the floating-point range (1.8e308) at index {int(np.argmax(bad))}."
        )


def unit_columns(
    statistic: str, data: Any, *, paired: bool = False
) -> tuple[np.ndarray, np.ndarray, Combine]:
    """Per-row columns ``z``, each row's sample, and ``g``, without whole-data checks.

    The building block of :func:`build_problem` for a part of the data (a Dask
    partition): the checks that need all rows (a denominator summing to zero) are left to
    the caller.
    """
    return _columns(statistic, data, paired)


def combine_for(statistic: str, *, paired: bool = False) -> Combine:
    """``g`` of a named statistic: sums of shape (..., k) to the statistic.

    Examples
    --------
    >>> float(combine_for("mean")(np.array([6.0, 3.0])))
    2.0
    """
    if statistic == "sum":
        return _first
    if statistic == "mean_difference" and not paired:
        return _difference_of_ratios
    if statistic in NAMED_STATISTICS:
        return _ratio
    raise VarkitError(
        f"`statistic` must be one of {', '.join(NAMED_STATISTICS)}; got {statistic!r}."
    )


def _labels(values: Any, name: str, n_rows: int) -> np.ndarray:
    labels = np.asarray(values)
    if labels.ndim != 1 or labels.size != n_rows:
        raise VarkitError(f"`{name}` must be 1-D with one label per row ({n_rows}).")
    if labels.dtype.kind == "f" and np.isnan(labels).any():
        raise VarkitError(
            # an array argument: a 0-based index, as varkit.io.check_array names elements
            f"`{name}` has a missing value at index {int(np.argmax(np.isnan(labels)))}."
        )
    _, codes = np.unique(labels, return_inverse=True)
    return np.asarray(codes, dtype=np.int64).ravel()


def _row_ids(row_ids: Any, n_rows: int) -> np.ndarray:
    ids = np.asarray(row_ids)
    if ids.ndim != 1 or ids.size != n_rows:
        raise VarkitError(f"`row_ids` must be 1-D with one id per row ({n_rows}).")
    if ids.dtype.kind not in "iu" or (ids.dtype.kind == "i" and ids.size and ids.min() < 0):
        raise VarkitError("`row_ids` must hold non-negative integers.")
    return ids.astype(np.uint64)


def build_problem(
    statistic: str,
    data: Any,
    *,
    paired: bool = False,
    strata: Sequence[Any] | np.ndarray | None = None,
    clusters: Sequence[Any] | np.ndarray | None = None,
    row_ids: Sequence[int] | np.ndarray | None = None,
) -> LinearProblem:
    """Turn a named statistic and its data into a :class:`LinearProblem`.

    ``row_ids`` (non-negative integers, one per row, samples concatenated) key the
    Poisson weights instead of the row positions; they cannot be combined with
    ``clusters``, whose units are the clusters.

    Examples
    --------
    >>> p = build_problem("mean", [1.0, 2.0, 6.0])
    >>> p.estimate(), [v.tolist() for v in p.jackknife()]
    (3.0, [[4.0, 3.5, 1.5]])
    """
    z, samples, combine = _columns(statistic, data, paired)
    n_rows = z.shape[0]
    if statistic in ("ratio", "weighted_mean") and z[:, 1].sum() == 0:
        second = "denominator" if statistic == "ratio" else "weights"
        raise VarkitError(f"`{second}` must not sum to zero.")
    stratum = samples.copy()
    if strata is not None:
        if statistic == "mean_difference" and not paired:
            raise VarkitError("`strata` cannot be combined with unpaired `mean_difference`.")
        stratum = _labels(strata, "strata", n_rows)
    unit_ids = np.arange(n_rows, dtype=np.uint64)
    if row_ids is not None:
        if clusters is not None:
            raise VarkitError("`row_ids` cannot be combined with `clusters`.")
        unit_ids = _row_ids(row_ids, n_rows)
    if clusters is not None:
        codes = _labels(clusters, "clusters", n_rows)
        n_clusters = int(codes.max()) + 1
        z = np.stack(
            [np.bincount(codes, weights=z[:, c], minlength=n_clusters) for c in range(z.shape[1])],
            axis=1,
        )
        first_row = np.full(n_clusters, -1, np.int64)
        first_row[codes[::-1]] = np.arange(n_rows - 1, -1, -1)
        # samples first: unpaired mean_difference uses the samples as its strata
        for name, labels in (("samples", samples), ("strata", stratum)):
            if (labels[first_row][codes] != labels).any():
                what = "stratum" if name == "strata" else "sample"
                raise VarkitError(f"every cluster must lie within one {what}; one spans several.")
        stratum = stratum[first_row]
        samples = samples[first_row]
        unit_ids = np.arange(n_clusters, dtype=np.uint64)
    counts = np.bincount(stratum)
    bounds = np.concatenate([[0], np.cumsum(counts[counts > 0])]).astype(np.int64)
    if stratum.size > 1 and bool(np.any(stratum[1:] < stratum[:-1])):
        order = np.argsort(stratum, kind="stable")
        z, unit_ids, samples = z[order], unit_ids[order], samples[order]
    return LinearProblem(
        name=statistic,
        z=np.ascontiguousarray(z),
        bounds=bounds,
        unit_ids=unit_ids,
        samples=samples,
        combine=combine,
        n_rows=n_rows,
    )
