"""Mergeable sufficient statistics of a test log, and the regression fits made from them.

Every crash-rate estimator of this package (NDE, importance sampling, regression and
sparse control variates, cross-fitted or not) is a function of a few sums per **cell**,
a (stratum level, fold) pair: the number of tests and of crashes, ``sum W``, ``sum W^2``,
``sum Z``, ``sum Z^2`` with ``Z = Y W``, and for the controls ``h`` (already centred at
their known means) ``sum h``, ``h'h``, ``h'Z`` and the column minima and maxima. Sums add
over any split of the tests, so a partitioned log (:mod:`varkit.cav.logs`) and the
in-memory estimators compute the same cells and finish with the same code.

Cross-fitting folds are keyed on each test's **row id**, not its position:
``fold = floor(u53 * K)`` with ``u53`` the top 53 bits of the counter-based word
``u(row id, 0)`` of :mod:`varkit.gpu.counter_rng` (SplitMix64 keyed on the seed). A test
keeps its fold whatever the partitioning or the order of the rows, and a prefix of a log
keeps the folds of the whole log. Fold sizes are therefore binomial, not equal.

OLS coefficients come from the centred normal equations of the training cells,
``C beta = c`` with ``C = sum h h' - n hbar hbar'`` and ``c = sum h Z - n hbar Zbar``,
solved on the correlation scale by ``numpy.linalg.lstsq`` (the minimum-norm solution when
controls are collinear, as ``lstsq`` on the design matrix gives; directions with an
eigenvalue below ``RCOND = 1e-7`` of the largest count as collinear, which keeps the
estimate stable to ~1e-9 under a change of summation order). The adjusted values
``A = Z - beta' h`` are never formed: ``sum A = sum Z - beta' sum h`` and
``sum A^2 = sum Z^2 - 2 beta' h'Z + beta' h'h beta`` per fold (Owen, *Monte Carlo theory,
methods and examples*, 2013, Sec. 8.9, for the regression estimator itself). The variance
then comes from ``sum A^2 - n Abar^2``: exact enough for crash rates (values in
``[0, 1/eps]``), but it loses about ``2 log10(|mean| / sd)`` digits for outcomes whose mean
dwarfs their spread.

Examples
--------
>>> import numpy as np
>>> from varkit.cav.moments import cell_moments, fold_ids
>>> folds = fold_ids(np.arange(6), seed=0, crossfit=2)
>>> folds.tolist() == fold_ids(np.arange(6)[::-1], seed=0, crossfit=2)[::-1].tolist()
True
>>> cells = cell_moments(np.r_[0.0, 1, 0, 2], np.r_[0.0, 1, 0, 1], np.zeros(4, int),
...                      np.zeros((4, 0)), np.zeros(4, int))
>>> c = cells[(0, 0)]
>>> c.n, c.crashes, c.sz, c.czz
(4, 2, 3.0, 2.75)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from varkit.cav._checks import FloatArray
from varkit.errors import VarkitError
from varkit.gpu.counter_rng import replicate_keys, uniform_indices, unit_offsets

__all__ = [
    "Cells",
    "FoldFit",
    "Moments",
    "adjusted_moments",
    "cell_moments",
    "crash_shortfall",
    "fit_folds",
    "fold_ids",
    "merge_cells",
    "ols_from_moments",
    "total",
    "training_shortfall",
]

IntArray = NDArray[np.int64]
# Directions of the controls' correlation matrix with an eigenvalue below RCOND times the
# largest are treated as collinear (numpy.linalg.lstsq's cut-off). They carry less than
# 1e-7 of a control's variance, and keeping them would let summation order (partitions)
# move the coefficients, and so the cross-fitted estimate, by up to cond * 1e-16.
RCOND = 1e-7


@dataclass
class Moments:
    """Sums over the tests of one cell, kept as means and centred cross-products.

    ``+`` merges two cells by the pairwise update of Chan, Golub and LeVeque (1983,
    "Algorithms for computing the sample variance", Am. Stat. 37:242, Eq. 1.5a-b,
    extended to cross-products): ``C = C_a + C_b + (n_a n_b / n) delta delta'`` with
    ``delta`` the difference of the means. Centred sums keep full precision where raw
    sums would cancel (a control with a tiny spread around a non-zero mean).
    """

    n: int = 0
    crashes: int = 0
    sw: float = 0.0
    sww: float = 0.0
    zbar: float = 0.0
    czz: float = 0.0
    hbar: FloatArray = field(default_factory=lambda: np.zeros(0))
    chh: FloatArray = field(default_factory=lambda: np.zeros((0, 0)))
    chz: FloatArray = field(default_factory=lambda: np.zeros(0))
    hmin: FloatArray = field(default_factory=lambda: np.zeros(0))
    hmax: FloatArray = field(default_factory=lambda: np.zeros(0))
    full: int = 0  # tests with Y = 1 (crashes counts Y > 0): the all-crash edge
    wmax: float = 0.0  # the largest weight: the zero-crash bound of importance sampling

    @classmethod
    def empty(cls, d: int) -> Moments:
        return cls(
            hbar=np.zeros(d),
            chh=np.zeros((d, d)),
            chz=np.zeros(d),
            hmin=np.full(d, np.inf),
            hmax=np.full(d, -np.inf),
        )

    @property
    def sz(self) -> float:
        """``sum Z``."""
        return self.n * self.zbar

    def __add__(self, other: Moments) -> Moments:
        if other.n == 0:
            return self
        if self.n == 0:
            return other
        n = self.n + other.n
        dz, dh = other.zbar - self.zbar, other.hbar - self.hbar
        f = self.n * other.n / n
        return Moments(
            n,
            self.crashes + other.crashes,
            self.sw + other.sw,
            self.sww + other.sww,
            self.zbar + dz * other.n / n,
            self.czz + other.czz + f * dz * dz,
            self.hbar + dh * (other.n / n),
            self.chh + other.chh + f * np.outer(dh, dh),
            self.chz + other.chz + f * dh * dz,
            np.minimum(self.hmin, other.hmin),
            np.maximum(self.hmax, other.hmax),
            self.full + other.full,
            max(self.wmax, other.wmax),
        )

    @property
    def varying(self) -> NDArray[np.bool_]:
        """Controls that take more than one value in the cell (the others are dropped)."""
        return np.asarray(self.hmax > self.hmin, dtype=bool)


# (stratum level, fold) -> sums
Cells = dict[tuple[int, int], Moments]


def fold_ids(row_ids: Any, seed: int, crossfit: int | None) -> IntArray:
    """Cross-fitting fold of each row id: ``floor(u53 K)`` of the counter-based word.

    ``crossfit=None`` (same-sample fitting) puts every row in fold 0.
    """
    ids = np.asarray(row_ids, dtype=np.uint64)
    if crossfit is None:
        return np.zeros(ids.size, dtype=np.int64)
    keys = replicate_keys(seed, 0, 1)
    return np.asarray(uniform_indices(keys, unit_offsets(ids), crossfit)[0], dtype=np.int64)


def cell_moments(
    z: FloatArray, crash: FloatArray, level: IntArray, h: FloatArray, fold: IntArray, w: Any = None
) -> Cells:
    """The sums of each (level, fold) cell present in these tests.

    ``z`` is the estimand per test (``Y W``, or ``Y``), ``crash`` the outcome ``Y``
    (crashes count its non-zero values, ``full`` its ones), ``h`` the centred controls
    (n, d) and ``w`` the weights (None: 1).
    """
    weight = np.ones_like(z) if w is None else np.asarray(w, dtype=np.float64)
    cells: Cells = {}
    keys = np.stack([level, fold], axis=1)
    found, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(found) + 1))
    for i, (lv, fd) in enumerate(found.tolist()):
        rows = order[bounds[i] : bounds[i + 1]]
        hz, zz, ww = h[rows], z[rows], weight[rows]
        zbar, hbar = float(zz.mean()), hz.mean(axis=0)
        zc, hc = zz - zbar, hz - hbar  # two-pass: centred sums (Chan et al. 1983)
        cells[(int(lv), int(fd))] = Moments(
            n=int(rows.size),
            crashes=int(np.count_nonzero(crash[rows])),
            sw=float(ww.sum()),
            sww=float(ww @ ww),
            zbar=zbar,
            czz=float(zc @ zc),
            hbar=hbar,
            chh=hc.T @ hc,
            chz=hc.T @ zc,
            hmin=hz.min(axis=0) if h.shape[1] else np.zeros(0),
            hmax=hz.max(axis=0) if h.shape[1] else np.zeros(0),
            full=int(np.count_nonzero(crash[rows] >= 1.0)),
            wmax=float(ww.max()),
        )
    return cells


def merge_cells(a: Cells, b: Cells) -> Cells:
    """Cell-wise sum of two tables of sums (the reduce step)."""
    out = dict(a)
    for key, value in b.items():
        out[key] = out[key] + value if key in out else value
    return out


def total(cells: Iterable[Moments], d: int) -> Moments:
    """The sum of some cells (an empty sum has ``n = 0``)."""
    out = Moments.empty(d)
    for cell in cells:
        out = out + cell
    return out


def ols_from_moments(m: Moments, columns: NDArray[np.intp]) -> tuple[float, FloatArray]:
    """Intercept and slopes of the OLS regression of ``Z`` on the controls ``columns``.

    Solved from the centred normal equations on the correlation scale (module docstring);
    a control constant in these tests gets slope 0, as the minimum-norm least-squares
    solution gives it.
    """
    if m.n == 0:
        raise VarkitError("no tests to fit the control-variate coefficients on.")
    if columns.size == 0:
        return m.zbar, np.zeros(0)
    cov, cross = m.chh[np.ix_(columns, columns)], m.chz[columns]
    scale = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    live = scale > 0
    beta = np.zeros(columns.size)
    if live.any():
        s = scale[live]
        corr = cov[np.ix_(live, live)] / np.outer(s, s)
        solved = np.linalg.lstsq(corr, cross[live] / s, rcond=RCOND)[0]
        beta[live] = np.asarray(solved, dtype=np.float64) / s
    return float(m.zbar - beta @ m.hbar[columns]), beta


@dataclass
class FoldFit:
    """Coefficients per fold, and the count, mean and centred sum of squares of the
    adjusted values they give (merged over folds as :class:`Moments` are)."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0
    intercepts: list[float] = field(default_factory=list)
    coefficients: list[list[float]] = field(default_factory=list)
    fold_sizes: list[int] = field(default_factory=list)

    def add(self, n: int, mean: float, m2: float) -> None:
        """Merge the adjusted values of ``n`` more tests (Chan et al. 1983)."""
        if n == 0:
            return
        both = self.n + n
        delta = mean - self.mean
        self.m2 += m2 + delta * delta * self.n * n / both
        self.mean += delta * n / both
        self.n = both


def adjusted_moments(
    m: Moments, columns: NDArray[np.intp], beta: FloatArray
) -> tuple[float, float]:
    """Mean and centred sum of squares of ``A = Z - beta' h`` over the tests of ``m``."""
    chh = m.chh[np.ix_(columns, columns)]
    mean = m.zbar - float(beta @ m.hbar[columns])
    return mean, max(0.0, m.czz - 2.0 * float(beta @ m.chz[columns]) + float(beta @ chh @ beta))


def fit_folds(
    folds: Mapping[int, Moments],
    columns: NDArray[np.intp],
    crossfit: int | None,
    fitter: Callable[[int | None], tuple[float, FloatArray]] | None = None,
) -> FoldFit:
    """Fit and apply the coefficients of one stratum from its per-fold sums.

    Cross-fitted: fold f is adjusted with coefficients fitted on the other folds (folds
    with no tests are skipped). ``crossfit=None``: one fit on every test. ``fitter(f)``
    replaces the OLS fit for fold f (``None`` = all tests) where the sums do not suffice
    (penalised fits, which need the rows).
    """
    d = next(iter(folds.values())).hbar.size
    whole = total(folds.values(), d)
    out = FoldFit()
    targets: list[int | None] = [None] if crossfit is None else [*sorted(folds)]
    # The training sums of fold i are prefix[i] + suffix[i + 1]: linear in the number of
    # folds (summing the other folds anew for each fold is quadratic, and hangs for
    # crossfit near the number of tests), and additions only, no subtraction of sums.
    ordered = [folds[f] for f in targets if f is not None]
    prefix, suffix = [Moments.empty(d)], [Moments.empty(d)]
    for m in ordered:
        prefix.append(prefix[-1] + m)
    for m in reversed(ordered):
        suffix.append(suffix[-1] + m)
    suffix.reverse()
    for i, f in enumerate(targets):
        if f is None:
            train, apply = whole, whole
        else:
            train = prefix[i] + suffix[i + 1]
            apply = folds[f]
        if fitter is not None:
            intercept, beta = fitter(f)
        else:
            intercept, beta = ols_from_moments(train, columns)
        out.add(apply.n, *adjusted_moments(apply, columns, beta))
        out.intercepts.append(intercept)
        out.coefficients.append(beta.tolist())
        out.fold_sizes.append(apply.n)
    return out


def training_shortfall(
    folds: Mapping[int, Moments], d: int, crossfit: int | None
) -> tuple[int, int] | None:
    """``(tests, needed)`` for the smallest fit that has too few tests, else None.

    A fit of ``d`` slopes and an intercept needs ``d + 2`` tests (one left for a
    residual); the mean alone needs 1 when cross-fitted and 2 on the same tests (for a
    standard error). Cross-fitted, the fit for fold f uses the tests of the other folds.
    """
    n = sum(m.n for m in folds.values())
    if crossfit is None:
        need = d + 2
        return (n, need) if n < need else None
    need = d + 2 if d else 1
    smallest = min(n - m.n for m in folds.values())
    return (smallest, need) if smallest < need else None


def crash_shortfall(
    folds: Mapping[int, Moments], d: int, crossfit: int | None, per_control: float
) -> tuple[int, float] | None:
    """``(crashes, needed)`` for the fit with the fewest crashes, if below ``per_control * d``.

    A regression of ``Y W`` on the controls learns its slopes from the crashes (``Y W``
    is 0 elsewhere), so, like the events-per-variable rule of logistic regression, a fit
    needs several crashes per control; with fewer, the fitted slopes are noisy enough to
    raise the variance above importance sampling's and make the interval under-cover
    (benchmarks/RESULTS.md, varkit.cav, "strata pooled by crashes per control").
    Cross-fitted, the fit for fold f uses the crashes of the other folds.
    """
    if d == 0 or per_control <= 0:
        return None
    crashes = sum(m.crashes for m in folds.values())
    if crossfit is not None:
        crashes -= max(m.crashes for m in folds.values())
    need = per_control * d
    return (crashes, need) if crashes < need else None
