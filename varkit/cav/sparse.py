"""Sparse control variates (SCV): regression control variates per stratum of the number
of critical variables, combined across strata.

Yang, Sun, He, Zhang, Liu and Feng, "Adaptive safety evaluation for connected and
automated vehicles with sparse control variates", IEEE T-ITS (arXiv:2212.00517), and
"Adaptive testing for connected and automated vehicles with sparse control variates in
overtaking scenarios", ITSC 2022 (arXiv:2207.09259). Only the abstracts could be read;
the estimator below is our reconstruction (``/work/shared/methods/cav.md`` Sec. 1.2):

* ``Z_i = Y_i W_i`` (crash times likelihood ratio) for every test;
* tests are stratified by ``K_i``, the number of critical variables; strata too small for
  their regression are pooled with a neighbour (and ``pool_above`` pools all ``K > k``);
* in stratum s, ``Z`` is regressed on the controls that vary there (one multiple linear
  regression per stratum) and adjusted, ``A_i = Z_i - beta_s^T (h_i - m)``;
* ``mu_hat = (1/n) sum_i A_i = sum_s (n_s/n) mean_s(A)``; the standard error is the
  sample standard deviation of the ``A_i`` over ``sqrt(n)``, which includes the
  between-strata spread because the stratum sizes are random, not fixed by design.

Coefficients are cross-fitted by default (fold f adjusted with coefficients fitted on the
other folds of its stratum), which keeps ``mu_hat`` unbiased; ``crossfit=None`` fits them
on the same tests, as "adaptive" evaluation after testing does, and is biased when crashes
are rare.

Owen-Zhou mixture-component controls (``OvertakingScenario(controls="mixture")``) fit this
scheme directly: their columns for the i-th critical step are constant (0) in strata with
fewer than i critical steps, so each stratum regresses on a k-dependent set (constant
columns are dropped per stratum). Use the bounded components (``cv_twisted``,
``cv_step_*``): the components that carry ``prod_l w_l`` (``cv_nde``, ``cv_single*``) are
as heavy-tailed as ``Y W`` itself, and cross-fitted coefficients applied to them blow the
estimate up in strata with three or more critical steps (measured in
``benchmarks/cav_variance_reduction.py --controls mixture``).

Every fit regresses only on the controls that pass :func:`varkit.cav.moments.screen_controls`
in its stratum and in its training folds: a control that is near-constant but for a few
tests, or whose sample mean is many standard errors from its known mean, is mean-zero only
through rare values, and a slope fitted on its typical values explodes on the rare ones
(papers regime, 3000 tests of the surrogate vehicle: 30 logs averaged 42 times the true
rate, coverage 0.27; screened, 200 logs average 1.01 times, coverage 0.88 against
importance sampling's 0.89). Logs where nothing is screened give the same answer as before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from varkit.cav._checks import (
    as_control_means,
    as_controls,
    as_crash,
    as_vector,
    as_weight,
    check_pooling,
    check_rhw,
)
from varkit.cav.control_variates import (
    as_row_ids,
    check_crossfit,
    check_fit,
    check_folds_fit,
    control_labels,
    fold_seed,
    row_fitter,
)
from varkit.cav.estimators import rate_edges, sums_result
from varkit.cav.moments import (
    Cells,
    FoldFit,
    Moments,
    cell_moments,
    crash_shortfall,
    fit_folds,
    fold_ids,
    screen_controls,
    total,
    training_shortfall,
)
from varkit.cav.stopping import gain_over_is, n_required
from varkit.checks import check_confidence
from varkit.errors import VarkitError
from varkit.results import Result

__all__ = ["CRASHES_PER_CONTROL", "SparseControlVariates", "sparse_control_variates"]

# pool strata until every fit has this many crashes per control (events per variable)
CRASHES_PER_CONTROL = 10.0
MAX_CRITICAL = 1e9  # critical variables per test


def _validate_scv(
    crash: Any,
    weight: Any,
    n_critical: Any,
    controls: Any,
    *,
    log_weight: Any,
    control_means: Any,
    fit: Any,
    crossfit: Any,
    pool_above: Any,
    crashes_per_control: Any,
    confidence: Any,
    target_rhw: Any,
    target_confidence: Any,
    control_names: Any,
) -> dict[str, Any]:
    y = as_crash(crash)
    w = as_weight(weight, log_weight, y.size)
    # a count of critical variables; the cap keeps the int64 cast exact
    k = as_vector(n_critical, "n_critical", low=0.0, high=MAX_CRITICAL)
    if k.size != y.size:
        raise VarkitError(f"`n_critical` has {k.size} values but `crash` has {y.size}.")
    if np.any(k != np.round(k)):
        raise VarkitError("`n_critical` must hold whole numbers (counts of critical variables).")
    h = as_controls(controls, y.size)
    pool_above, crashes_per_control = check_pooling(pool_above, crashes_per_control)
    folds = check_crossfit(crossfit)
    check_folds_fit(folds, y.size)
    return {
        "z": y * w,
        "y": y,
        "w": w,
        "k": k.astype(np.int64),
        "centred": h - as_control_means(control_means, h.shape[1]),
        "names": control_labels(control_names, h.shape[1]),
        "fit": check_fit(fit),
        "crossfit": folds,
        "pool_above": pool_above,
        "crashes_per_control": crashes_per_control,
        "confidence": check_confidence(confidence),
        "target_confidence": check_confidence(target_confidence, "target_confidence"),
        "target_rhw": check_rhw(target_rhw),
    }


def _label(levels: Sequence[int]) -> str:
    return str(levels[0]) if len(levels) == 1 else f"{levels[0]}-{levels[-1]}"


def _group_folds(cells: Cells, group: Sequence[int], d: int) -> dict[int, Moments]:
    """The per-fold sums of the tests whose level is in ``group``."""
    folds: dict[int, Moments] = {}
    for (level, fold), m in cells.items():
        if level in group:
            folds[fold] = folds[fold] + m if fold in folds else m
    return folds


def make_strata(
    cells: Cells,
    d: int,
    crossfit: int | None,
    pool_above: int | None,
    crashes_per_control: float = 0.0,
) -> tuple[list[list[int]], list[str]]:
    """Group the observed numbers of critical variables into strata big enough to fit.

    A stratum whose regression has too few tests (``training_shortfall``: every fit needs
    more tests than coefficients), or fewer than ``crashes_per_control`` crashes per
    varying control in a fit (``crash_shortfall``), is merged with the next stratum up
    (the last one with the one below), and the merge is reported. One stratum short of
    crashes is kept, with a note.
    """
    levels = sorted({level for level, _ in cells})
    groups: list[list[int]] = []
    notes: list[str] = []
    for level in levels:
        if pool_above is not None and level > pool_above and groups and groups[-1][0] > pool_above:
            groups[-1].append(level)
        else:
            groups.append([level])
    if (
        pool_above is not None
        and len(groups)
        and groups[-1][0] > pool_above
        and len(groups[-1]) > 1
    ):
        notes.append(f"n_critical {_label(groups[-1])} pooled by pool_above={pool_above}.")
    while True:
        short: tuple[int, float] | None = None
        reason, i = "", 0
        for i, group in enumerate(groups):  # noqa: B007 (i is the short stratum after the loop)
            folds = _group_folds(cells, group, d)
            n_rows = sum(m.n for m in folds.values())
            varying = int(np.count_nonzero(total(folds.values(), d).varying))
            short = training_shortfall(folds, varying, crossfit)
            if short is not None:
                reason = (
                    f"had {n_rows} tests, too few for its {varying} controls (a fit needs "
                    f"at least {short[1]})"
                )
                break
            few = crash_shortfall(folds, varying, crossfit, crashes_per_control)
            if few is not None and len(groups) == 1:  # nothing left to pool with
                notes.append(
                    f"only {few[0]} crashes in a fit of {varying} controls, fewer than "
                    f"{crashes_per_control:g} per control: the coefficients are noisy and "
                    "the interval may under-cover; use fewer controls or more tests."
                )
            elif few is not None:
                short = few
                reason = (
                    f"had {few[0]} crashes in a fit of its {varying} controls, fewer "
                    f"than {crashes_per_control:g} per control (crashes_per_control)"
                )
                break
        if short is None:
            break
        if len(groups) == 1:
            raise VarkitError(
                f"too few tests ({n_rows}) for {varying} varying controls: a fit has "
                f"{short[0]} tests and needs at least {short[1]}; pool strata or use fewer "
                "controls."
            )
        j = i + 1 if i + 1 < len(groups) else i - 1
        merged = sorted(groups[i] + groups[j])
        notes.append(
            f"stratum n_critical={_label(group)} {reason}; pooled with "
            f"n_critical={_label(groups[j])}."
        )
        groups[min(i, j)] = merged
        del groups[max(i, j)]
    return groups, notes


def sparse_control_variates(
    crash: Any,
    weight: Any,
    n_critical: Any,
    controls: Any,
    *,
    log_weight: Any = None,
    control_means: Any = 0.0,
    fit: str = "ols",
    crossfit: int | None = 2,
    pool_above: int | None = None,
    crashes_per_control: float = CRASHES_PER_CONTROL,
    confidence: float = 0.95,
    target_rhw: float = 0.3,
    target_confidence: float = 0.9,
    control_names: Sequence[str] | None = None,
    random_state: Any = None,
    row_ids: Any = None,
) -> Result:
    """Crash rate by importance sampling with sparse control variates, stratified.

    Parameters
    ----------
    crash : array-like of shape (n,)
        Crash indicator (0/1) or crash probability in [0, 1] of each test.
    weight : array-like of shape (n,) or None
        Likelihood ratio ``p(x)/q(x)``; ``None`` when ``log_weight`` is given.
    n_critical : array-like of shape (n,)
        Number of critical variables of each test (the stratum).
    controls : array-like of shape (n, d)
        Control variates built from the critical variables, with known means under q.
    log_weight : array-like of shape (n,), optional
        ``log p(x) - log q(x)`` instead of ``weight``.
    control_means : float or array-like of shape (d,), default 0
        Known means of the controls under the testing distribution.
    fit : {'ols', 'ridge', 'lasso'}, default 'ols'
        Regression within each stratum.
    crossfit : int or None, default 2
        Folds for cross-fitting within each stratum (at most the number of tests);
        ``None`` = same-sample fitting (biased; kept for comparison).
    pool_above : int, optional
        Pool every stratum with more than this many critical variables into one.
    crashes_per_control : float, default 10
        Pool a stratum with its neighbour while one of its fits has fewer crashes than
        this per varying control (the events-per-variable rule of thumb of logistic
        regression). A regression of ``Y W`` learns from the crashes only: with 15
        controls, strata 0-3 and 4+ and 4000 tests of the simulator (1000 campaigns), the
        unpooled fits had 1.4 times the variance of importance sampling and 90% intervals
        covering 0.867; pooled by this rule, 0.82 times and 0.890
        (tests/cav/test_coverage.py, benchmarks/RESULTS.md). 0 pools only strata with
        fewer tests than coefficients.
    confidence : float, default 0.95
        Level of the interval.
    target_rhw, target_confidence : float, default 0.3 and 0.9
        Stopping criterion for ``details["tests_required"]``.
    control_names : sequence of str, optional
        Labels of the controls in ``details``.
    random_state : None, int or numpy Generator
        Seed of the fold assignment.
    row_ids : array-like of int, optional
        Stable id of each test (default its position); a test's fold is a hash of
        (seed, row id) (:func:`varkit.cav.moments.fold_ids`), the same in memory and over
        the partitions of a log (:mod:`varkit.cav.logs`).

    Returns
    -------
    Result
        ``method`` is ``scv-crossfit`` or ``scv-same-sample``. ``details``:
        ``strata`` (per stratum: ``n_critical`` levels, ``n``, ``n_crashes``, controls used
        and dropped, ``dropped_why`` (each dropped control and why: zero variance,
        near-constant, or a mean its tests contradict; :func:`varkit.cav.moments.screen_controls`),
        ``fold_dropped`` (per fit, the controls its training tests screened out besides),
        ``coefficients`` and ``intercepts`` per fold,
        ``estimate`` and ``is_estimate``), ``pooled`` (each merge and why),
        ``is_estimate``/``is_stderr`` (importance sampling on the same tests),
        ``variance_reduction_factor`` (per-test variance of IS over SCV),
        ``tests_required`` for ``scv`` and ``is``, ``seed`` (of the folds), with
        cross-fitting the ``same_sample_estimate`` for comparison, and where they apply
        ``zero_crash_bound``, ``all_crash_bound`` and ``truncated`` (the estimate and
        interval are kept in [0, 1]; :mod:`varkit.cav.intervals`).

    Examples
    --------
    >>> from varkit.cav import sparse_control_variates
    >>> from varkit.cav.scenarios import OvertakingScenario
    >>> scenario = OvertakingScenario()
    >>> log = scenario.simulate(20_000, vehicle="surrogate", random_state=0)
    >>> r = sparse_control_variates(log["crash"], log["weight"], log["n_critical"],
    ...                             log.filter(like="cv_"), random_state=0)
    >>> truth = scenario.crash_rate("surrogate")
    >>> bool(r.ci_low <= truth <= r.ci_high), [s["stratum"] for s in r.details["strata"]]
    (True, ['0', '1', '2', '3-8'])
    >>> print(r.details["pooled"][0])  # doctest: +NORMALIZE_WHITESPACE
    stratum n_critical=4 had 103 crashes in a fit of its 15 controls, fewer than 10 per
    control (crashes_per_control); pooled with n_critical=5.

    """
    a = _validate_scv(
        crash,
        weight,
        n_critical,
        controls,
        log_weight=log_weight,
        control_means=control_means,
        fit=fit,
        crossfit=crossfit,
        pool_above=pool_above,
        crashes_per_control=crashes_per_control,
        confidence=confidence,
        target_rhw=target_rhw,
        target_confidence=target_confidence,
        control_names=control_names,
    )
    z, k, centred, names = a["z"], a["k"], a["centred"], a["names"]
    seed = fold_seed(random_state)
    fold = fold_ids(as_row_ids(row_ids, z.size), seed, a["crossfit"])
    cells = cell_moments(z, a["y"], k, centred, fold, a["w"])

    def fitter_for(group: Sequence[int], columns: NDArray[np.intp]) -> Any:
        return row_fitter(z, centred, fold, np.isin(k, group), columns, a["fit"])

    result = scv_from_cells(
        cells,
        names,
        fit=a["fit"],
        crossfit=a["crossfit"],
        pool_above=a["pool_above"],
        crashes_per_control=a["crashes_per_control"],
        confidence=a["confidence"],
        target_rhw=a["target_rhw"],
        target_confidence=a["target_confidence"],
        fitter_for=fitter_for,
    )
    return result.replace(details={**result.details, "seed": seed})


def scv_from_cells(
    cells: Cells,
    names: Sequence[str],
    *,
    fit: str = "ols",
    crossfit: int | None = 2,
    pool_above: int | None = None,
    crashes_per_control: float = CRASHES_PER_CONTROL,
    confidence: float = 0.95,
    target_rhw: float = 0.3,
    target_confidence: float = 0.9,
    fitter_for: Callable[[Sequence[int], NDArray[np.intp]], Any] | None = None,
) -> Result:
    """Sparse control variates from the sums of each (n_critical, fold) cell.

    The estimator of :func:`sparse_control_variates`, for sums computed in memory or added
    over the partitions of a log (:mod:`varkit.cav.logs`). ``fitter_for(levels,
    columns)`` gives a stratum's penalised fit from its rows (None: OLS from the sums).
    """
    d = len(names)
    check_folds_fit(crossfit, sum(m.n for m in cells.values()))
    groups, notes = make_strata(cells, d, crossfit, pool_above, crashes_per_control)
    overall = FoldFit()
    same_sum = 0.0
    strata: list[dict[str, Any]] = []
    n_slopes = 0
    for group in groups:
        folds = _group_folds(cells, group, d)
        whole = total(folds.values(), d)
        columns, dropped = screen_controls(whole, np.arange(d), names)
        fitter = None if fitter_for is None else fitter_for(group, columns)
        adj = fit_folds(folds, columns, crossfit, fitter, names)
        overall.add(adj.n, adj.mean, adj.m2)
        if crossfit is not None:
            same_sum += whole.n * fit_folds(folds, columns, None, fitter, names).mean
        n_slopes += columns.size
        strata.append(
            {
                "stratum": _label(group),
                "n_critical": group,
                "n": whole.n,
                "n_crashes": whole.crashes,
                "controls": [names[int(j)] for j in columns],
                "dropped_controls": [x["control"] for x in dropped],
                "dropped_why": dropped,
                "fold_dropped": adj.screened,
                "coefficients": adj.coefficients,
                "intercepts": adj.intercepts,
                "fold_sizes": adj.fold_sizes,
                "estimate": adj.mean,
                "is_estimate": whole.zbar,
            }
        )
    everything = total(cells.values(), d)
    n = everything.n
    is_result = sums_result(
        n,
        everything.zbar,
        everything.czz,
        method="importance-sampling",
        confidence=confidence,
        details={},
    )
    is_var = is_result.details["per_test_variance"]
    details: dict[str, Any] = {
        "fit": fit,
        "crossfit": crossfit,
        "strata": strata,
        "pooled": notes,
        "is_estimate": is_result.estimate,
        "is_stderr": is_result.stderr,
        "is_relative_half_width": is_result.details["relative_half_width"],
        "n_crashes": everything.crashes,
        "effective_sample_size": (
            everything.sw * (everything.sw / everything.sww) if everything.sww > 0 else 0.0
        ),
    }
    if crossfit is None:
        details["bias_warning"] = (
            "coefficients fitted on the same tests bias the estimate; use crossfit."
        )
    else:
        details["same_sample_estimate"] = same_sum / n
    result = sums_result(
        n,
        overall.mean,
        overall.m2,
        method="scv-crossfit" if crossfit else "scv-same-sample",
        confidence=confidence,
        details=details,
        # same-sample: the stratum intercepts beyond the overall mean and every slope
        ddof_extra=0 if crossfit else n_slopes + len(groups) - 1,
        # a crash rate stays in [0, 1], with the exact zero/all-crash edges
        edges=rate_edges(everything),
    )
    scv_var = result.details["per_test_variance"]
    extra = gain_over_is(
        "scv", scv_var, result.estimate, is_var, is_result.estimate, (target_rhw, target_confidence)
    )
    if details["n_crashes"] == 0:
        extra["warning"] = (
            "no crash observed: the upper bound is the zero-crash bound in "
            "details['zero_crash_bound']."
        )
    return result.replace(details={**result.details, **extra})


class SparseControlVariates(BaseEstimator):  # type: ignore[misc]
    """Scikit-learn style front end of :func:`sparse_control_variates`.

    Parameters
    ----------
    regression : {'ols', 'ridge', 'lasso'}, default 'ols'
        The ``fit`` argument of :func:`sparse_control_variates` (renamed: an estimator's
        parameter cannot share the name of its ``fit`` method).
    crossfit, pool_above, crashes_per_control, control_means, confidence, target_rhw,
    target_confidence
        As for :func:`sparse_control_variates`.
    random_state : None, int or numpy Generator
        As for :func:`sparse_control_variates`.

    Attributes
    ----------
    result_ : Result
        The estimate with its interval and ``details``.
    estimate_ : float
    ci_ : tuple of float
    coef_ : dict of str to ndarray of shape (n_folds, d_s)
        Per-stratum coefficients (one row per fold).
    strata_ : list of dict
        ``details["strata"]`` of the result.

    Examples
    --------
    >>> from varkit.cav import SparseControlVariates
    >>> from varkit.cav.scenarios import OvertakingScenario
    >>> log = OvertakingScenario().simulate(5000, vehicle="surrogate", random_state=1)
    >>> scv = SparseControlVariates(random_state=0).fit(
    ...     log["crash"], log["weight"], log["n_critical"], log.filter(like="cv_"))
    >>> scv.result_.method, sorted(scv.coef_)[0]
    ('scv-crossfit', '0')
    """

    def __init__(
        self,
        crossfit: int | None = 2,
        regression: str = "ols",
        *,
        pool_above: int | None = None,
        crashes_per_control: float = CRASHES_PER_CONTROL,
        control_means: Any = 0.0,
        confidence: float = 0.95,
        target_rhw: float = 0.3,
        target_confidence: float = 0.9,
        random_state: Any = None,
    ) -> None:
        self.crossfit = crossfit
        self.regression = regression
        self.pool_above = pool_above
        self.crashes_per_control = crashes_per_control
        self.control_means = control_means
        self.confidence = confidence
        self.target_rhw = target_rhw
        self.target_confidence = target_confidence
        self.random_state = random_state

    def fit(  # type: ignore[override]
        self,
        crash: Any,
        weight: Any,
        n_critical: Any,
        controls: Any,
        *,
        log_weight: Any = None,
    ) -> SparseControlVariates:
        """Estimate the crash rate from a test log; returns self."""
        names = [str(c) for c in controls.columns] if hasattr(controls, "columns") else None
        self.result_ = sparse_control_variates(
            crash,
            weight,
            n_critical,
            controls,
            log_weight=log_weight,
            control_means=self.control_means,
            fit=self.regression,
            crossfit=self.crossfit,
            pool_above=self.pool_above,
            crashes_per_control=self.crashes_per_control,
            confidence=self.confidence,
            target_rhw=self.target_rhw,
            target_confidence=self.target_confidence,
            control_names=names,
            random_state=self.random_state,
        )
        self.estimate_ = self.result_.estimate
        self.ci_ = (self.result_.ci_low, self.result_.ci_high)
        self.strata_ = self.result_.details["strata"]
        self.coef_ = {
            s["stratum"]: np.asarray(s["coefficients"], dtype=np.float64) for s in self.strata_
        }
        return self

    def _check_fitted(self) -> Result:
        if not hasattr(self, "result_"):
            raise NotFittedError("SparseControlVariates is not fitted yet; call fit first.")
        return self.result_

    def n_required(self, rhw: float = 0.3, confidence: float = 0.9) -> Result:
        """Tests needed to reach ``rhw`` at ``confidence`` (see :func:`n_required`)."""
        return n_required(self._check_fitted(), rhw=rhw, confidence=confidence)
