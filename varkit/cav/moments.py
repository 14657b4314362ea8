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

import math
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
    "screen_controls",
    "total",
    "training_shortfall",
]

IntArray = NDArray[np.int64]
# Directions of the controls' correlation matrix with an eigenvalue below RCOND times the
# largest are treated as collinear (numpy.linalg.lstsq's cut-off). They carry less than
# 1e-7 of a control's variance, and keeping them would let summation order (partitions)
# move the coefficients, and so the cross-fitted estimate, by up to cond * 1e-16.
RCOND = 1e-7
# The screen of the controls of a fit (``screen_controls``). A control whose variance sits
# in fewer than MIN_EFFECTIVE_TESTS tests, or whose mean is more than MAX_MEAN_Z standard
# errors from its known mean, is left out of that fit: its mean is known only through
# values the tests barely show (a rare +1 against a constant -1e-4), and a coefficient
# fitted on its typical values, applied to the rare one, blew sparse control variates up
# 850-fold in the papers regime (varkit.cav.scenarios, "Regimes").
MIN_EFFECTIVE_TESTS = 5.0
MAX_MEAN_Z = 5.0


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
    # centred third and fourth power sums of each control (for the screen of near-constant
    # controls, ``screen_controls``)
    ch3: FloatArray = field(default_factory=lambda: np.zeros(0))
    ch4: FloatArray = field(default_factory=lambda: np.zeros(0))

    @classmethod
    def empty(cls, d: int) -> Moments:
        return cls(
            hbar=np.zeros(d),
            chh=np.zeros((d, d)),
            chz=np.zeros(d),
            hmin=np.full(d, np.inf),
            hmax=np.full(d, -np.inf),
            ch3=np.zeros(d),
            ch4=np.zeros(d),
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
        ch3, ch4 = _merge_power_sums(self, other, dh)
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
            ch3,
            ch4,
        )

    @property
    def varying(self) -> NDArray[np.bool_]:
        """Controls that take more than one value in the cell (the others are dropped)."""
        return np.asarray(self.hmax > self.hmin, dtype=bool)


def _merge_power_sums(a: Moments, b: Moments, dh: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Centred third and fourth power sums of the controls of two merged cells.

    Pebay (2008, "Formulas for robust, one-pass parallel computation of covariances and
    arbitrary-order statistical moments", Sandia SAND2008-6212, Eq. 2.1-2.2).
    """
    na, nb = a.n, b.n
    n = na + nb
    m2a, m2b = np.diag(a.chh), np.diag(b.chh)
    ch3 = a.ch3 + b.ch3 + dh**3 * na * nb * (na - nb) / n**2 + 3 * dh * (na * m2b - nb * m2a) / n
    ch4 = (
        a.ch4
        + b.ch4
        + dh**4 * na * nb * (na * na - na * nb + nb * nb) / n**3
        + 6 * dh**2 * (na * na * m2b + nb * nb * m2a) / n**2
        + 4 * dh * (na * b.ch3 - nb * a.ch3) / n
    )
    return ch3, ch4


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
            ch3=np.sum(hc**3, axis=0),
            ch4=np.sum(hc**4, axis=0),
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


def screen_controls(
    m: Moments, columns: NDArray[np.intp], names: Any = None
) -> tuple[NDArray[np.intp], list[dict[str, str]]]:
    """The controls among ``columns`` a regression on the tests of ``m`` may use, and why
    each other one is left out.

    A control is dropped when it takes one value only (zero variance); when it is
    near-constant but for a few tests: the effective number ``(sum c^2)^2 / sum c^4`` of
    its centred values ``c`` is below ``MIN_EFFECTIVE_TESTS`` and below a tenth of the
    tests; or when its mean is more than ``MAX_MEAN_Z`` standard errors from its known mean
    (0 after centring): a control whose mean is right only through values these tests have
    not shown. Nothing beyond zero variance is dropped when the controls reproduce ``Z``
    exactly (Owen and Zhou's zero-variance case: the rare values of such a control come
    with the outcome's, and cancel). Collinear controls stay: the least-squares solve gives
    them the minimum-norm coefficients (``RCOND``). ``names`` labels the dropped controls
    (default their column index).

    Examples
    --------
    >>> import numpy as np
    >>> h = np.r_[np.full(99, -1e-4), 0.0099][:, None]  # mean 0 through one test
    >>> cells = cell_moments(np.ones(100), np.ones(100), np.zeros(100, int), h,
    ...                      np.zeros(100, int))
    >>> kept, dropped = screen_controls(cells[(0, 0)], np.array([0]))
    >>> kept.size, dropped[0]["reason"].split(":")[0]
    (0, 'near-constant')
    """
    label = (lambda j: str(j)) if names is None else (lambda j: str(names[j]))  # noqa: E731
    columns = np.asarray(columns, dtype=np.intp)
    varying = columns[m.hmax[columns] > m.hmin[columns]] if m.n else columns[:0]
    dropped = [
        {"control": label(j), "reason": "zero variance"}
        for j in columns.tolist()
        if j not in set(varying.tolist())
    ]
    if varying.size == 0 or _reproduces_outcome(m, varying):
        return varying, dropped
    kept: list[int] = []
    for j in varying.tolist():
        c2 = float(m.chh[j, j])
        effective = c2 * c2 / float(m.ch4[j]) if m.ch4[j] > 0 else float(m.n)
        z = abs(float(m.hbar[j])) * math.sqrt(m.n * max(m.n - 1, 1) / c2) if c2 > 0 else 0.0
        if effective < min(MIN_EFFECTIVE_TESTS, 0.1 * m.n):
            reason = (
                f"near-constant: its variance sits in {effective:.1f} of {m.n} tests "
                f"(fewer than {MIN_EFFECTIVE_TESTS:g})"
            )
        elif m.n > 2 and z > MAX_MEAN_Z:
            reason = (
                f"its mean is {z:.1f} standard errors from its known mean (more than "
                f"{MAX_MEAN_Z:g}): the tests miss the rare values that give it that mean"
            )
        else:
            kept.append(j)
            continue
        dropped.append({"control": label(j), "reason": reason})
    return np.asarray(kept, dtype=np.intp), dropped


def _reproduces_outcome(m: Moments, columns: NDArray[np.intp]) -> bool:
    """Whether these controls explain all but 1e-4 of the variance of ``Z`` in ``m``."""
    if m.czz <= 0 or m.n <= columns.size + 1:
        return False
    _, beta = ols_from_moments(m, columns)
    return adjusted_moments(m, columns, beta)[1] <= 1e-4 * m.czz


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
    # per fit, the controls its screen left out (``screen_controls``) beyond the stratum's
    screened: list[list[dict[str, str]]] = field(default_factory=list)

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
    names: Any = None,
) -> FoldFit:
    """Fit and apply the coefficients of one stratum from its per-fold sums.

    Cross-fitted: fold f is adjusted with coefficients fitted on the other folds (folds
    with no tests are skipped). ``crossfit=None``: one fit on every test. ``fitter(f)``
    replaces the OLS fit for fold f (``None`` = all tests) where the sums do not suffice
    (penalised fits, which need the rows). An OLS fit regresses only on the controls its
    training tests pass :func:`screen_controls` for (the others get slope 0; ``names``
    labels them in ``screened``).
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
        screened: list[dict[str, str]] = []
        if fitter is not None:
            intercept, beta = fitter(f)
        else:
            kept, screened = screen_controls(train, columns, names)
            intercept, slopes = ols_from_moments(train, kept)
            beta = np.zeros(columns.size)
            beta[np.isin(columns, kept)] = slopes
        out.add(apply.n, *adjusted_moments(apply, columns, beta))
        out.intercepts.append(intercept)
        out.coefficients.append(beta.tolist())
        out.fold_sizes.append(apply.n)
        out.screened.append(screened)
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
