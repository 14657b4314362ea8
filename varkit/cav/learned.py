"""Learned control variates: a cross-fitted per-step crash model with an exactly known mean,
post-stratified on the number of critical steps.

Issue 15, item 3 (the papers' "learned" sparse control variate, our reconstruction). For a
test ``x`` with critical steps ``C`` (``n_critical = k``), a classifier ``g(s, u, e)``
fitted on the critical steps of *other* tests predicts the probability that the automated
vehicle crashes at a critical step with gap ``s``, maneuver ``u`` and disturbance ``e``.
The control of a test is

    ``h(x) = W(x) F(x)``,  ``F(x) = 1 - prod_{t in C} (1 - g(s_t, u_t, e_t))``,

the model's probability that the test crashes at a critical step, times the likelihood
ratio. Because ``E_q[W f] = E_p[f]`` for any f and the gaps are never twisted (their law,
and the law of ``k``, is the same under p and q), and because the critical steps are
i.i.d. under p given their number,

    ``E_q[h | K = k] = 1 - (1 - r)^k``,  ``r = E_p[g(s, u, e) | step critical]``,

with ``r`` a sum over the three maneuvers (their naturalistic probabilities) of a
two-dimensional Gauss-Legendre quadrature over the log-gap (log-normal, below the critical
gap) and the disturbance (standard normal) (:func:`critical_step_mean`). The mean of the
control is therefore known exactly for whatever model the folds learn: any proposal
(one-critical or all-critical), any vehicle.

Cross-fitting: the tests are split into folds by a hash of (seed, row id)
(:func:`varkit.cav.moments.fold_ids`, a stream of its own, not the simulator's); the model,
``r`` and the coefficient used for the tests of fold f are fitted on the critical steps of
the other folds only, so ``A_i = Z_i - beta_f (h_i - E[h | K = k_i])`` has mean
``E[Z | K = k_i]`` whatever the fit (``Z = Y W``).

Post-stratification on ``k`` (Cochran, *Sampling techniques*, 3rd ed., 1977, Sec. 5A.9):
with ``P(K = k)`` known exactly (the log's ``p_k`` column), ``mu_hat = sum_g P_g mean_g(A)``
over groups g of consecutive levels with at least ``min_stratum_tests`` tests each (the
last group takes every level above, observed or not, with ``P = 1 - sum of the others``),
and ``Var = sum_g P_g^2 s~_g^2 / n_g``. Sparse strata estimate their variance from few
crashes and understate it more often than not, so ``s~_g^2 = max(s_g^2, tau m_g)``: a
floor proportional to the group's exact model crash probability ``m_g``, with ``tau`` the
ratio of residual variance to ``m`` pooled over all groups with critical steps (applied
to every such group: papers regime, surrogate vehicle, 2000 tests, 30 campaigns: the
self-reported standard error was 0.95 of the across-campaign sd with the floor on the
sparse groups only, 90% coverage 0.87; 1.08 with it on all, coverage 0.93). Without
``p_k`` the groups are weighted by their observed sizes (the mean of the ``A_i``), and
``details`` says so.

Examples
--------
>>> import numpy as np
>>> from varkit.cav import OvertakingScenario
>>> scenario = OvertakingScenario(regime="papers", n_steps=20)
>>> r = critical_step_mean(lambda x: (x[:, 1] == 1) * 0.5, scenario)  # 1/2 on every cut in
>>> bool(np.isclose(r, 0.5 * scenario.p_cut_in))
True
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from varkit.cav._checks import FloatArray, as_crash, as_vector, as_weight, is_integer
from varkit.cav.control_variates import as_row_ids, check_crossfit, fold_seed
from varkit.cav.estimators import rate_edges, sums_result
from varkit.cav.moments import MAX_MEAN_Z, cell_moments, fold_ids, total
from varkit.cav.stopping import gain_over_is
from varkit.checks import check_confidence
from varkit.errors import VarkitError, VarkitTypeError
from varkit.results import Result

__all__ = [
    "FEATURES",
    "MIN_STRATUM_TESTS",
    "critical_step_mean",
    "default_step_model",
    "PerManeuverClassifier",
    "contributions",
    "learned_control_estimate",
    "predict_all",
    "tail_diagnostics",
]

#: The critical variables a step model sees, in this column order.
FEATURES = ("gap", "maneuver", "disturbance")
#: Post-strata smaller than this are pooled with every level above them.
MIN_STRATUM_TESTS = 20
# quadrature of critical_step_mean: log-gap panels of 0.01 over the last 5 sd below the
# critical gap (the truncated log-normal keeps < 1e-10 of its mass below), disturbance
# panels of 0.5 sd over +-6 sd (2e-9 of the mass outside), 6 Gauss-Legendre nodes each
_GAP_PANEL, _GAP_SDS, _DIST_PANEL, _DIST_SDS, _NODES = 0.01, 5.0, 0.5, 6.0, 6


class PerManeuverClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """One classifier per maneuver on the other features; ``P(crash) = 0`` for a maneuver
    whose training steps never crashed (or never occurred), the constant share when they all
    did.

    The default step model of :func:`learned_control_estimate`. Nearly every critical step
    keeps its lane under p, so a model that gives keeping the lane even a 1e-3 crash chance
    (a penalised logistic regression cannot reach 0) swamps the control's exact mean with
    it; a maneuver never seen to crash gets exactly 0 here.

    Parameters
    ----------
    estimator : classifier, optional
        Fitted (cloned) per maneuver; default ``LogisticRegression(C=100)`` on standardised
        features (nearly unpenalised: the crash rule of a near-deterministic vehicle is a
        sharp step in gap and disturbance).
    maneuver_column : int, default 1
        Column of ``X`` holding the maneuver (0, 1, 2); the others are the features.
    min_events : int, default 10
        A maneuver with fewer crashes, or fewer steps without one, than this gets
        ``P(crash) = 0``: a model fitted on a handful of steps puts crash mass where the
        tests have not looked (two brakes that crashed made one fold predict a crash for
        every brake, and the control's exact mean then rested on brakes at safe gaps that
        3000 tests hardly ever draw: +37% bias).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[9.0, 1, 0], [11.0, 1, 0], [9.5, 1, 0], [10.5, 1, 0], [9.0, 0, 0]])
    >>> m = PerManeuverClassifier(min_events=2).fit(x, np.array([1, 0, 1, 0, 0]))
    >>> p = m.predict_proba(np.array([[8.0, 1, 0], [8.0, 0, 0]]))[:, 1]
    >>> bool(p[0] > 0.9), float(p[1])
    (True, 0.0)
    """

    def __init__(
        self, estimator: Any = None, maneuver_column: int = 1, min_events: int = 10
    ) -> None:
        self.estimator = estimator
        self.maneuver_column = maneuver_column
        self.min_events = min_events

    def fit(self, X: Any, y: Any) -> PerManeuverClassifier:  # noqa: N803 (sklearn's name)
        """Fit one classifier per maneuver with both outcomes; returns self."""
        x, target = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.int64)
        base = self.estimator
        if base is None:
            base = make_pipeline(StandardScaler(), LogisticRegression(C=100.0, max_iter=2000))
        u = x[:, self.maneuver_column]
        rest = np.delete(x, self.maneuver_column, axis=1)
        self.classes_ = np.array([0, 1])
        self.models_: dict[int, Any] = {}
        for m in np.unique(u).astype(int).tolist():
            at = u == m
            crashes = int(target[at].sum())
            if min(crashes, int(at.sum()) - crashes) < max(1, self.min_events):
                self.models_[m] = 0.0
            else:
                self.models_[m] = clone(base).fit(rest[at], target[at])
        return self

    def predict_proba(self, X: Any) -> FloatArray:  # noqa: N803
        """``[P(no crash), P(crash)]`` of each row."""
        x = np.asarray(X, dtype=np.float64)
        u = x[:, self.maneuver_column].astype(int)
        rest = np.delete(x, self.maneuver_column, axis=1)
        p = np.zeros(len(x))
        for m, fitted in self.models_.items():
            at = u == m
            if not at.any():
                continue
            if isinstance(fitted, float):
                p[at] = fitted
            else:
                p[at] = fitted.predict_proba(rest[at])[:, list(fitted.classes_).index(1)]
        return np.column_stack([1.0 - p, p])


def default_step_model() -> PerManeuverClassifier:
    """The default per-step crash model: :class:`PerManeuverClassifier` (logistic per maneuver).

    Examples
    --------
    >>> type(default_step_model()).__name__
    'PerManeuverClassifier'
    """
    return PerManeuverClassifier()


def _nodes(lo: float, hi: float, width: float) -> tuple[FloatArray, FloatArray]:
    """Composite Gauss-Legendre nodes and weights on [lo, hi], panels about ``width`` wide."""
    panels = max(1, math.ceil((hi - lo) / width))
    x, w = np.polynomial.legendre.leggauss(_NODES)
    edges = np.linspace(lo, hi, panels + 1)
    half = np.diff(edges)[:, None] / 2.0
    mid = (edges[:-1] + edges[1:])[:, None] / 2.0
    return (mid + half * x).ravel(), (half * w).ravel()


def critical_step_mean(
    predict: Callable[[FloatArray], Any], scenario: Any, *, features: tuple[str, ...] = FEATURES
) -> float:
    """``E_p[g(s, u, e) | step critical]`` for a step model ``g``, by quadrature.

    Parameters
    ----------
    predict : callable
        Maps an array of rows (the ``features`` columns) to ``g`` of each row.
    scenario : OvertakingScenario
        The naturalistic law of a critical step: the gap log-normal below
        ``scenario.critical_gap()``, the maneuver from ``scenario.maneuver_probabilities``,
        the disturbance standard normal.
    features : tuple of str, default ``FEATURES``
        Which of gap, maneuver and disturbance the model sees (without the disturbance the
        quadrature is one-dimensional).

    Returns
    -------
    float
        The sum over maneuvers of Gauss-Legendre quadratures over log-gap (panels of 0.01,
        5 sd below the critical gap) and disturbance (panels of 0.5 over +-6): the
        truncated mass is below 1e-8 (tests/cav/test_learned.py checks the mean against
        300,000 simulated critical steps).

    Examples
    --------
    >>> from varkit.cav import OvertakingScenario
    >>> s = OvertakingScenario(regime="papers")
    >>> round(critical_step_mean(lambda x: np.ones(len(x)), s), 12)  # weights sum to 1
    1.0
    """
    mu, sigma = math.log(scenario.gap_median), scenario.gap_sigma
    xc = math.log(scenario.critical_gap())
    x, wx = _nodes(xc - _GAP_SDS * sigma, xc, _GAP_PANEL)
    gap = np.exp(x)
    wg = wx * stats.norm.pdf(x, mu, sigma) / stats.norm.cdf((xc - mu) / sigma)
    if "disturbance" in features:
        e, we = _nodes(-_DIST_SDS, _DIST_SDS, _DIST_PANEL)
        we = we * stats.norm.pdf(e)
    else:
        e, we = np.zeros(1), np.ones(1)
    p = scenario.maneuver_probabilities(gap)  # (gaps, 3)
    total_ = 0.0
    for m in range(3):
        if not np.any(p[:, m] > 0):
            continue
        grid = {
            "gap": np.repeat(gap, e.size),
            "maneuver": np.full(gap.size * e.size, float(m)),
            "disturbance": np.tile(e, gap.size),
        }
        rows = np.column_stack([grid[f] for f in features])
        g = np.asarray(predict(rows), dtype=np.float64).reshape(gap.size, e.size)
        total_ += float(np.sum((wg * p[:, m])[:, None] * g * we[None, :]))
    # the weights integrate 1 to 1 up to round-off; normalise so a constant g is exact
    norm = float(np.sum(wg * p.sum(axis=1))) * float(np.sum(we))
    return total_ / norm


def _positive(model: Any) -> Callable[[FloatArray], FloatArray]:
    """``P(crash)`` of a fitted classifier (its class 1 column)."""
    classes = list(model.classes_)
    column = classes.index(1) if 1 in classes else None

    def predict(rows: FloatArray) -> FloatArray:
        if column is None:
            return np.zeros(len(rows))
        return np.asarray(model.predict_proba(rows)[:, column], dtype=np.float64)

    return predict


def _fit_step_model(model: Any, x: FloatArray, y: NDArray[np.int64]) -> tuple[Any, str]:
    """The fitted model's ``P(crash)``, or the constant crash share when one class only."""
    if y.size == 0 or y.min() == y.max():
        share = float(y.mean()) if y.size else 0.0
        return (lambda rows: np.full(len(rows), share)), f"constant {share:g} (one class)"
    fitted = clone(model).fit(x, y)
    return _positive(fitted), type(fitted).__name__


def _test_crash_model(g: FloatArray, test: NDArray[np.int64], n: int) -> FloatArray:
    """``F = 1 - prod (1 - g)`` over each test's critical steps (0 without one)."""
    log_keep = np.bincount(test, weights=np.log1p(-np.clip(g, 0.0, 1.0 - 1e-16)), minlength=n)
    return -np.expm1(log_keep)


def predict_all(
    predict: Callable[[FloatArray], FloatArray], x: FloatArray, rows: Any
) -> FloatArray:
    """``predict`` on the steps ``rows``, 0 elsewhere."""
    g = np.zeros(len(x))
    if np.any(rows):
        g[rows] = predict(x[rows])
    return g


def _mean_z(c: FloatArray) -> float:
    """How many standard errors the mean of ``c`` is from 0."""
    if c.size < 3:
        return 0.0
    sd = float(c.std(ddof=1))
    return abs(float(c.mean())) / (sd / math.sqrt(c.size)) if sd > 0 else 0.0


def _coefficient(z: FloatArray, c: FloatArray, k: NDArray[np.int64]) -> float:
    """Within-stratum OLS slope of ``z`` on the centred control ``c`` (tests with k >= 1)."""
    num = den = 0.0
    for level in np.unique(k[k > 0]):
        at = k == level
        zc, cc = z[at] - z[at].mean(), c[at] - c[at].mean()
        num += float(zc @ cc)
        den += float(cc @ cc)
    return num / den if den > 0 else 0.0


def _fold_coefficient(
    coefficient: float | str, z: FloatArray, c: FloatArray, k: NDArray[np.int64]
) -> tuple[float, str | None]:
    """A fold's coefficient from its training tests, and why it was set to 0 if it was.

    The centred control of the training tests must average near 0: a model that puts crash
    mass where the tests hardly look (its exact mean then rests on values they do not
    show) gets coefficient 0, as :func:`varkit.cav.moments.screen_controls` drops such
    controls.
    """
    beta = _coefficient(z, c, k) if coefficient == "fit" else float(coefficient)
    off = _mean_z(c)
    if off <= MAX_MEAN_Z:
        return beta, None
    return 0.0, (
        f"the control's mean over the training tests is {off:.1f} standard errors from "
        f"its exact mean (more than {MAX_MEAN_Z:g}): the model puts crash mass where the "
        "tests hardly look; coefficient 0"
    )


def _validate_learned(
    crash: Any, weight: Any, n_critical: Any, critical: Any, options: dict[str, Any]
) -> dict[str, Any]:
    """Every argument of :func:`learned_control_estimate` checked (``options``: its keywords)."""
    from varkit.cav.scenarios import OvertakingScenario

    scenario, p_k, model = options["scenario"], options["p_k"], options["model"]
    features, crossfit, coefficient = (
        options["features"],
        options["crossfit"],
        options["coefficient"],
    )
    min_stratum_tests = options["min_stratum_tests"]
    y = as_crash(crash)
    k = as_vector(n_critical, "n_critical", low=0.0, high=1e9)
    w = as_weight(weight, None, y.size)
    if k.size != y.size or np.any(k != np.round(k)):
        raise VarkitError("`n_critical` must hold one whole number per test.")
    if not isinstance(scenario, OvertakingScenario):
        raise VarkitTypeError(
            "`scenario` must be the OvertakingScenario the log was simulated from (the "
            "exact mean of the learned control needs its naturalistic law)."
        )
    feats = tuple(features)
    if not feats or any(f not in FEATURES for f in feats) or "maneuver" not in feats:
        raise VarkitError(
            f"`features` must be a subset of {', '.join(FEATURES)} that includes maneuver, "
            f"got {features!r}."
        )
    if not hasattr(model, "fit") or not hasattr(model, "predict_proba"):
        raise VarkitTypeError("`model` must be a scikit-learn classifier with predict_proba.")
    folds = check_crossfit(crossfit)
    if folds is None:
        raise VarkitError(
            "`crossfit` must be a number of folds (>= 2): the learned control "
            "is unbiased only when cross-fitted."
        )
    if coefficient != "fit" and not (
        isinstance(coefficient, (int, float)) and math.isfinite(coefficient)
    ):
        raise VarkitError(f"`coefficient` must be 'fit' or a finite number, got {coefficient!r}.")
    if not is_integer(min_stratum_tests) or min_stratum_tests < 2:
        raise VarkitError(
            f"`min_stratum_tests` must be an integer >= 2, got {min_stratum_tests!r}."
        )
    table = {}
    for name in ("test", *FEATURES, "crash"):
        if name not in critical:
            raise VarkitError(f"`critical` has no column '{name}'.")
        table[name] = np.asarray(critical[name], dtype=np.float64)
    test = table["test"]
    if test.size and (np.any(test != np.round(test)) or test.min() < 0 or test.max() >= y.size):
        raise VarkitError(f"`critical` column 'test' must number the log's rows 0..{y.size - 1}.")
    test = test.astype(np.int64)
    if not np.array_equal(np.bincount(test, minlength=y.size), k.astype(np.int64)):
        bad = int(np.flatnonzero(np.bincount(test, minlength=y.size) != k)[0])
        raise VarkitError(
            f"`critical` has {int(np.sum(test == bad))} rows for test {bad}, whose n_critical "
            f"is {int(k[bad])}: the table must hold every critical step of the log."
        )
    if np.any((table["crash"] != 0) & (table["crash"] != 1)):
        raise VarkitError("`critical` column 'crash' must be 0 or 1.")
    probs = None if p_k is None else as_vector(p_k, "p_k", low=0.0, high=1.0)
    if probs is not None and probs.size != y.size:
        raise VarkitError(f"`p_k` has {probs.size} values but the log has {y.size} tests.")
    return {
        "y": y,
        "w": w,
        "k": k.astype(np.int64),
        "test": test,
        "x": np.column_stack([table[f] for f in feats]),
        "step_crash": table["crash"].astype(np.int64),
        "features": feats,
        "crossfit": folds,
        "p_k": probs,
        "confidence": check_confidence(options["confidence"]),
        # q >= eps p for a whole test only under the one-critical proposal
        "eps": scenario.eps if scenario.testing_proposal == "one-critical" else None,
    }


def _level_probabilities(k: NDArray[np.int64], p_k: FloatArray) -> dict[int, float]:
    """P(K = k) of each observed level; rows of one level must agree."""
    out: dict[int, float] = {}
    for level in np.unique(k).tolist():
        values = p_k[k == level]
        if values.max() - values.min() > 1e-12 * max(values.max(), 1e-300):
            raise VarkitError(f"`p_k` differs between tests with n_critical = {level}.")
        out[int(level)] = float(values[0])
    if sum(out.values()) > 1.0 + 1e-9:
        raise VarkitError("`p_k` sums to more than 1 over the observed n_critical levels.")
    return out


def _post_strata(
    k: NDArray[np.int64], probs: dict[int, float] | None, minimum: int
) -> list[tuple[list[int], float | None]]:
    """Groups of consecutive levels (each with >= ``minimum`` tests) and their P; the last
    takes every level above (``P = 1 -`` the others'). ``probs`` None: no P."""
    counts = {int(a): int(b) for a, b in zip(*np.unique(k, return_counts=True), strict=True)}
    groups: list[list[int]] = []
    level = 0
    while level in counts and counts[level] >= minimum:
        groups.append([level])
        level += 1
    rest = [lv for lv in counts if lv >= level]
    if rest:
        if sum(counts[lv] for lv in rest) < minimum and groups:
            groups[-1] = groups[-1] + rest
        else:
            groups.append(sorted(rest))
    out: list[tuple[list[int], float | None]] = []
    for i, group in enumerate(groups):
        if probs is None:
            out.append((group, None))
        elif i < len(groups) - 1:
            out.append((group, sum(probs[lv] for lv in group)))
        else:
            out.append((group, max(0.0, 1.0 - sum(p for _, p in out if p is not None))))
    return out


def learned_control_estimate(
    crash: Any,
    weight: Any,
    n_critical: Any,
    critical: Any,
    *,
    scenario: Any,
    p_k: Any = None,
    model: Any = None,
    features: tuple[str, ...] = FEATURES,
    random_state: Any = None,
    crossfit: int | None = 5,
    row_ids: Any = None,
    coefficient: float | str = "fit",
    confidence: float = 0.95,
    min_stratum_tests: int = MIN_STRATUM_TESTS,
    target_rhw: float = 0.3,
    target_confidence: float = 0.9,
) -> Result:
    """Crash rate with a cross-fitted learned control variate, post-stratified on K.

    Parameters
    ----------
    crash, weight, n_critical : array-like of shape (n,)
        Each test's crash indicator, likelihood ratio p/q and number of critical steps.
    critical : DataFrame or mapping of columns
        One row per critical step: ``test`` (the test's row, 0..n-1), ``gap``,
        ``maneuver``, ``disturbance`` and ``crash`` (1 when the vehicle crashed at that
        step), as ``OvertakingScenario.simulate_with_critical`` writes them.
    scenario : OvertakingScenario
        The scenario the tests were drawn from (the law of a critical step under p).
    p_k : array-like of shape (n,), optional
        ``P(K = k)`` for each test's own k (the log's ``p_k`` column). None: strata are
        weighted by their observed sizes, and ``details`` says so.
    model : scikit-learn classifier, optional
        Fitted anew (``sklearn.base.clone``) on each fold's training steps, on the
        ``features`` columns; needs ``predict_proba``. Default :func:`default_step_model`.
    features : tuple of str, default ('gap', 'maneuver', 'disturbance')
        The critical variables the model sees (maneuver among them).
    crossfit : int, default 5
        Folds (>= 2); the model and coefficient of a fold come from the others only.
    coefficient : 'fit' or float, default 'fit'
        'fit': the within-stratum OLS slope of ``Z`` on the centred control over the
        training folds; a number fixes it (1 uses the model's prediction as it is).
    min_stratum_tests : int, default 20
        Smallest post-stratum; smaller levels are pooled with every level above.
    confidence : float, default 0.95
    target_rhw, target_confidence : float, default 0.3 and 0.9
        The stopping criterion of ``details["tests_required"]``.
    random_state : None, int or numpy Generator
        Seed of the fold assignment (independent of the simulator's).
    row_ids : array-like of int, optional
        Stable id of each test, keying its fold (default its position).

    Returns
    -------
    Result
        ``method`` 'learned-crossfit'. ``details``: ``strata`` (levels, n, crashes, P,
        estimate, variance, floor), ``probabilities`` ('known (p_k)' or 'observed sizes'
        with a ``note``), ``folds`` (per fold: training steps and crashes, model, exact
        ``step_mean`` r, ``coefficient``), ``is_estimate``/``is_stderr``,
        ``variance_reduction_factor`` (per-test variance of importance sampling on the same
        tests over this estimator's), ``tests_required``, ``seed``.

    Examples
    --------
    >>> from varkit.cav import OvertakingScenario
    >>> scenario = OvertakingScenario(regime="papers")
    >>> log, crit = scenario.simulate_with_critical(3000, "surrogate", random_state=0)
    >>> r = learned_control_estimate(log["crash"], log["weight"], log["n_critical"], crit,
    ...                              scenario=scenario, p_k=log["p_k"], random_state=1)
    >>> truth = scenario.crash_rate("surrogate")
    >>> bool(r.ci_low <= truth <= r.ci_high), r.details["variance_reduction_factor"] > 5
    (True, True)
    """
    options = {
        "scenario": scenario,
        "p_k": p_k,
        "model": default_step_model() if model is None else model,
        "features": features,
        "crossfit": crossfit,
        "coefficient": coefficient,
        "min_stratum_tests": min_stratum_tests,
        "confidence": confidence,
    }
    a = _validate_learned(crash, weight, n_critical, critical, options)
    y, w, k, test, n = a["y"], a["w"], a["k"], a["test"], a["y"].size
    z = y * w
    seed = fold_seed(random_state)
    fold = fold_ids(as_row_ids(row_ids, n), seed, a["crossfit"])
    step_fold = fold[test]
    adjusted = np.empty(n)
    model_mean = np.zeros(n)  # E[h | K = k] of each test, under its fold's model
    fold_details = []
    for f in range(a["crossfit"]):
        train, apply = step_fold != f, step_fold == f
        predict, kind = _fit_step_model(
            default_step_model() if model is None else model, a["x"][train], a["step_crash"][train]
        )
        r = critical_step_mean(predict, scenario, features=a["features"])
        rows = fold == f
        g = predict_all(predict, a["x"], apply)
        mean_k = -np.expm1(k * math.log1p(-min(r, 1.0 - 1e-16)))
        centred = w * _test_crash_model(g, test, n) - mean_k
        c_train = w * _test_crash_model(predict_all(predict, a["x"], train), test, n) - mean_k
        beta, screened = _fold_coefficient(coefficient, z[~rows], c_train[~rows], k[~rows])
        adjusted[rows] = z[rows] - beta * centred[rows]
        model_mean[rows] = mean_k[rows]
        fold_details.append(
            {
                "fold": f,
                "tests": int(rows.sum()),
                "training_steps": int(train.sum()),
                "training_crashes": int(a["step_crash"][train].sum()),
                "model": kind,
                "step_mean": r,
                "coefficient": beta,
                **({} if screened is None else {"screened": screened}),
            }
        )
    return _post_stratified_result(
        adjusted,
        z,
        y,
        w,
        k,
        model_mean,
        a,
        fold_details,
        seed,
        min_stratum_tests=int(min_stratum_tests),
        target=(target_rhw, target_confidence),
    )


def contributions(
    adjusted: FloatArray, k: NDArray[np.int64], groups: list[tuple[list[int], Any]], known: bool
) -> FloatArray:
    """Each test's term of the estimator's variance: ``(P_g / n_g)^2 (A_i - mean_g A)^2``
    post-stratified (``known``), ``(A_i - mean A)^2 / n^2`` otherwise."""
    n = adjusted.size
    if not known:
        return ((adjusted - adjusted.mean()) / n) ** 2
    out = np.zeros(n)
    for levels, prob in groups:
        at = np.isin(k, levels)
        out[at] = (prob / at.sum() * (adjusted[at] - adjusted[at].mean())) ** 2
    return out


def tail_diagnostics(
    terms: FloatArray, z: FloatArray, w: FloatArray, *, eps: float | None, alpha: float
) -> dict[str, Any]:
    """Where an estimator's variance comes from, and what the tests cannot have seen.

    ``top_1pct_variance_share``: the share of the variance from the 1% of tests with the
    largest terms (and ``is_top_1pct_variance_share`` for importance sampling,
    ``(Z_i - mean Z)^2``); ``weight_effective_sample_size`` ``(sum W)^2 / sum W^2``; and,
    where the proposal keeps ``q >= eps p`` for a whole test, ``unsampled_mass_bound``
    ``(1/eps) ln(1/alpha) / n``: at confidence 1 - alpha, any set of tests that no test
    fell in has naturalistic probability (so crash mass) below it, since its probability
    under q is below ``ln(1/alpha)/n`` (the zero-event bound) and p <= q / eps.

    Examples
    --------
    >>> d = tail_diagnostics(np.r_[np.ones(99), 101.0], np.ones(100), np.ones(100),
    ...                      eps=0.5, alpha=0.1)
    >>> d["top_1pct_variance_share"], round(d["unsampled_mass_bound"], 4)
    (0.505, 0.0461)
    """
    n = terms.size
    top = max(1, math.ceil(0.01 * n))

    def share(values: FloatArray) -> float:
        total_ = float(values.sum())
        return float(np.sort(values)[-top:].sum() / total_) if total_ > 0 else 0.0

    out: dict[str, Any] = {
        "top_1pct_variance_share": share(terms),
        "is_top_1pct_variance_share": share((z - z.mean()) ** 2),
        "weight_effective_sample_size": float(w.sum() ** 2 / (w @ w)) if w @ w > 0 else 0.0,
    }
    if eps is not None:
        out["unsampled_mass_bound"] = math.log(1.0 / alpha) / (eps * n)
        out["unsampled_mass_alpha"] = alpha
    else:
        out["unsampled_mass_bound"] = None
        out["unsampled_mass_note"] = "no eps with q >= eps p for a whole test (all-critical)"
    return out


def _post_stratified_result(
    adjusted: FloatArray,
    z: FloatArray,
    y: FloatArray,
    w: FloatArray,
    k: NDArray[np.int64],
    model_mean: FloatArray,
    a: dict[str, Any],
    fold_details: list[dict[str, Any]],
    seed: int,
    *,
    min_stratum_tests: int,
    target: tuple[float, float],
) -> Result:
    """Combine the adjusted values over post-strata, with the variance floor."""
    n = z.size
    probs = None if a["p_k"] is None else _level_probabilities(k, a["p_k"])
    groups = _post_strata(k, probs, min_stratum_tests)
    stats_ = []
    for levels, _ in groups:
        at = np.isin(k, levels)
        values = adjusted[at]
        var = float(values.var(ddof=1)) if values.size > 1 else 0.0
        stats_.append((at, float(values.mean()), var, float(model_mean[at].mean())))
    # floor: residual variance per unit of exact model crash probability, pooled
    num = sum(int(at.sum()) * var for (at, _, var, m) in stats_ if m > 0)
    den = sum(int(at.sum()) * m for (at, _, _, m) in stats_ if m > 0)
    tau = num / den if den > 0 else 0.0
    strata = []
    estimate = variance = 0.0
    for (levels, prob), (at, mean, var, m) in zip(groups, stats_, strict=True):
        n_g = int(at.sum())
        floored = max(var, tau * m)
        share = n_g / n if prob is None else prob
        estimate += share * mean
        variance += share * share * floored / n_g
        strata.append(
            {
                "n_critical": levels,
                "n": n_g,
                "n_crashes": int(np.count_nonzero(y[at])),
                "probability": share,
                "estimate": mean,
                "variance": var,
                "floor": tau * m,
                "floored": floored > var,
            }
        )
    details: dict[str, Any] = {
        "strata": strata,
        "folds": fold_details,
        "features": list(a["features"]),
        "crossfit": a["crossfit"],
        "variance_floor": "max(s_g^2, tau m_g): tau = pooled residual variance per unit of "
        f"the exact model crash probability m_g ({tau:.4g})",
        "seed": seed,
    }
    if probs is None:
        # without P(K = k) the strata weigh by their observed sizes: the plain mean of the
        # adjusted values, whose variance includes the randomness of the sizes
        estimate = float(adjusted.mean())
        variance = float(adjusted.var(ddof=1)) / n
        details["probabilities"] = "observed sizes"
        details["note"] = (
            "P(K = k) unknown (no p_k column): strata weighted by their observed sizes, "
            "without the variance floor."
        )
    else:
        details["probabilities"] = "known (p_k)"
    whole = total(
        cell_moments(
            z, y, np.zeros(n, np.int64), np.zeros((n, 0)), np.zeros(n, np.int64), w
        ).values(),
        0,
    )
    is_var = whole.czz / (n - 1) if n > 1 else float("inf")
    details.update(
        {
            "is_estimate": whole.zbar,
            "is_stderr": math.sqrt(is_var / n),
            "n_crashes": whole.crashes,
        }
    )
    result = sums_result(
        n,
        estimate,
        variance * n * (n - 1),
        method="learned-crossfit",
        confidence=a["confidence"],
        details=details,
        edges=rate_edges(whole),
    )
    per_test = result.details["per_test_variance"]
    extra = gain_over_is("learned", per_test, result.estimate, is_var, whole.zbar, target)
    extra["diagnostics"] = tail_diagnostics(
        contributions(adjusted, k, groups, probs is not None),
        z,
        w,
        eps=a["eps"],
        alpha=1.0 - a["confidence"],
    )
    return result.replace(details={**result.details, **extra})
