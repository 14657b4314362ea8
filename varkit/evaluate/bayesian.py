"""Bayesian comparison of two models (Benavoli, Corani, Demsar & Zaffalon 2017).

Instead of a p-value, each test gives the posterior probabilities that model 1 is worse
than model 2 by more than a region of practical equivalence (``p_left``), that the two
are practically equivalent (``p_rope``) and that model 1 is better (``p_right``):

- :func:`bayesian_correlated_ttest`: the cross-validation folds of one data set
  (Corani & Benavoli 2015), a Student posterior with Nadeau & Bengio's correlation;
- :func:`bayesian_signed_rank` and :func:`bayesian_sign_test`: one mean score per data
  set over several data sets (Benavoli et al. 2014), Dirichlet-process posteriors.

Orientation, as everywhere in varkit: the difference is model 1 minus model 2, and
``p_right`` (the difference above ``rope``) means model 1 is better. baycomp, the
authors' library, orders its arguments the other way: its ``two_on_single(x, y)`` works
on ``y - x`` and its ``p_left`` is the probability that ``x`` is better, so with ``x``
model 1's scores varkit's ``(p_left, p_rope, p_right)`` is baycomp's
``(p_right, p_rope, p_left)``.

The correlated t-test's result is the posterior mean of the difference with its credible
interval (``metric='score_difference'``); the two tests across data sets estimate no
difference on the score's scale, so theirs is ``p_right`` itself
(``metric='probability_better'``, no interval, the Monte Carlo standard error as
``stderr``). Every result also carries ``p_not_worse = p_rope +
p_right`` in its ``details``, which a gate rule can read
(``field = "p_not_worse"``, ``min = 0.95``; see :mod:`varkit.gates`).

Notes
-----
The hierarchical model of Corani, Benavoli, Demsar, Mangili & Zaffalon (2017), which
baycomp fits with Stan (``two_on_multiple`` on 2-D scores), is not provided. It needs
Markov chain Monte Carlo on a model with a Student-t distribution of the data-set means,
a gamma prior on its degrees of freedom and uniform priors on the scales; with numpy and
scipy only that would be a hand-written Gibbs/Metropolis sampler whose posterior could
not be checked against baycomp's (which needs pystan and a compiled Stan model) and
whose mixing on few data sets is the hard part. Use :func:`bayesian_signed_rank` on the
per-data-set mean scores instead, or baycomp itself.

References
----------
Benavoli, A., Corani, G., Demsar, J. & Zaffalon, M. (2017). Time for a change: a tutorial
for comparing multiple classifiers through Bayesian analysis. JMLR 18(77), 1-36.
Corani, G. & Benavoli, A. (2015). A Bayesian approach for comparing cross-validated
algorithms on multiple data sets. Machine Learning 100, 285-304.
Benavoli, A., Corani, G., Mangili, F., Zaffalon, M. & Ruggeri, F. (2014). A Bayesian
Wilcoxon signed-rank test based on the Dirichlet process. ICML, PMLR 32(2), 1026-1034.
Corani, G., Benavoli, A., Demsar, J., Mangili, F. & Zaffalon, M. (2017). Statistical
comparison of classifiers through Bayesian hierarchical modelling. Machine Learning 106,
1817-1837.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from scipy import stats

from varkit.checks import check_confidence, resolve_seed
from varkit.errors import VarkitError, VarkitTypeError
from varkit.evaluate._inputs import check_count, check_fraction, finite_float
from varkit.results import Result

__all__ = ["bayesian_correlated_ttest", "bayesian_sign_test", "bayesian_signed_rank"]

# baycomp adds this to each count of the sign test so that no Dirichlet parameter is 0
_SIGN_STABILITY = 1e-4
_TIE = 1e-12  # thetas this close count as tied
_BATCH = 10_000  # Monte Carlo samples drawn at once: memory O(batch * n_datasets)


def _check_rope(rope: Any) -> float:
    """A rope half-width: a finite number >= 0 (0: no rope)."""
    value = finite_float("rope", rope)
    if value < 0:
        raise VarkitError(f"`rope` must be non-negative (a half-width), got {value}.")
    return value


def _check_prior(prior: Any) -> float:
    value = finite_float("prior", prior)
    if value < 0:
        raise VarkitError(f"`prior` must be non-negative (a prior strength), got {value}.")
    return value


def _variance_ratio(test_fraction: Any, runs: int, n: int) -> tuple[float, dict[str, Any]]:
    """``n_test / n_train`` of Nadeau & Bengio's correction, and how it was found."""
    if test_fraction is None:
        if n % runs:
            raise VarkitError(
                f"`diffs` holds {n} values, not a multiple of `runs` = {runs}; give "
                "`test_fraction` when the folds are not runs x k."
            )
        folds = n // runs
        if folds < 2:
            raise VarkitError(
                f"`runs` = {runs} leaves {folds} fold per run for {n} values; need at least 2 "
                "(or give `test_fraction`)."
            )
        # k-fold CV: each test fold is 1/k of the data (baycomp's rule)
        return 1.0 / (folds - 1), {"test_fraction": 1.0 / folds, "n_folds": folds}
    if isinstance(test_fraction, (tuple, list)):
        if len(test_fraction) != 2:
            raise VarkitError(
                "`test_fraction` must be a share such as 0.3 or a pair (n_train, n_test), "
                f"got {len(test_fraction)} values."
            )
        n_train = check_count("test_fraction n_train", test_fraction[0], minimum=1)
        n_test = check_count("test_fraction n_test", test_fraction[1], minimum=1)
        share = n_test / (n_train + n_test)
        return n_test / n_train, {"test_fraction": share, "n_train": n_train, "n_test": n_test}
    share = check_fraction("test_fraction", test_fraction)
    return share / (1.0 - share), {"test_fraction": share}


def _float_array(name: str, values: Any) -> np.ndarray:
    if isinstance(values, (str, bytes)) or values is None:
        raise VarkitTypeError(f"`{name}` must be a 1-D array of numbers.")
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise VarkitTypeError(f"`{name}` must be a 1-D array of numbers.") from None


def _validate_correlated(
    diffs: Any, rope: Any, runs: Any, test_fraction: Any, confidence: Any
) -> tuple[np.ndarray, float, int, float, dict[str, Any], float]:
    values = _float_array("diffs", diffs)
    if values.ndim != 1 or values.size < 2:
        raise VarkitError("`diffs` must be a 1-D array of at least 2 per-fold differences.")
    if not np.all(np.isfinite(values)):
        raise VarkitError("`diffs` contains NaN or infinite values.")
    runs = check_count("runs", runs, minimum=1)
    ratio, split = _variance_ratio(test_fraction, runs, values.size)
    return values, _check_rope(rope), runs, ratio, split, check_confidence(confidence)


def _probabilities(p_left: float, p_rope: float, p_right: float, rope: float) -> dict[str, float]:
    return {
        "p_left": p_left,
        "p_rope": p_rope,
        "p_right": p_right,
        "p_not_worse": min(1.0, p_rope + p_right),
        "rope": rope,
    }


def bayesian_correlated_ttest(
    diffs: Any,
    *,
    rope: float = 0.0,
    runs: int = 1,
    test_fraction: float | tuple[int, int] | None = None,
    confidence: float = 0.95,
    metric: str = "score_difference",
) -> Result:
    """Bayesian correlated t-test of two models cross-validated on one data set.

    Parameters
    ----------
    diffs : array-like of shape (J,)
        Score of model 1 minus score of model 2 on each of the J folds (``runs`` repeats
        of k-fold CV, J = runs * k, or J random train/test splits).
    rope : float
        Half-width of the region of practical equivalence: differences in
        ``[-rope, rope]`` count as equivalent. 0: no rope.
    runs : int
        Repetitions of the cross-validation; with ``test_fraction=None`` the folds per run
        ``k = J / runs`` give the test share ``1 / k`` (baycomp's rule).
    test_fraction : float, (int, int) or None
        The test share of one split, e.g. 0.3, or a pair ``(n_train, n_test)``; use it for
        random splits, or folds of unequal sizes.
    confidence : float
        Level of the equal-tailed credible interval of the mean difference.
    metric : str
        Name of the result's metric.

    Returns
    -------
    Result
        ``estimate``: the posterior mean of the difference, with its credible interval;
        ``stderr``: the posterior's scale, ``df=(J - 1,)``. ``details``: ``p_left``
        (model 1 worse by more than the rope), ``p_rope``, ``p_right`` (model 1 better),
        ``p_not_worse = p_rope + p_right`` and the posterior's ``posterior_df``,
        ``posterior_loc`` and ``posterior_scale``.

    Notes
    -----
    Corani & Benavoli (2015); Benavoli et al. (2017): with the correlation ``rho = n_test / n`` of
    the folds (Nadeau & Bengio 2003) and a non-informative prior, the posterior of the
    mean difference is Student t with ``J - 1`` degrees of freedom, location the sample
    mean and scale ``sqrt((1/J + rho/(1 - rho)) s^2)``; ``rho/(1 - rho) = n_test/n_train``,
    ``1/(k - 1)`` for k-fold CV. Its credible interval is numerically the interval of the
    corrected resampled t-test (:func:`corrected_resampled_ttest`). The probabilities come
    from the Student cdf, not from samples. With zero variance (the same difference on
    every fold) the posterior is a point: the interval has zero width and each probability
    is 0 or 1 (a point on the rope's edge counts as inside it; baycomp gives 0.5/0.5 for
    a point at 0 with ``rope=0``). baycomp's ``two_on_single(x, y)`` works on ``y - x``: its
    ``(p_left, p_rope, p_right)`` is this function's ``(p_right, p_rope, p_left)`` on
    ``diffs = x - y``.

    Examples
    --------
    >>> d = [0.02, 0.01, 0.03, 0.00, 0.02, 0.01, 0.02, 0.03, 0.01, 0.02]
    >>> r = bayesian_correlated_ttest(d, rope=0.01)
    >>> round(r.estimate, 3), round(r.ci_low, 4), round(r.ci_high, 4)
    (0.017, 0.0071, 0.0269)
    >>> round(r.details["p_right"], 3), round(r.details["p_not_worse"], 3)
    (0.929, 1.0)

    The credible interval covers the true mean difference of simulated 10-fold CV
    differences (correlated by the shared training data) about 95% of the time:

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> cov = 0.01**2 * (np.eye(10) * 0.9 + 0.1)  # correlation rho = 1/k = 0.1
    >>> hits = [(lambda r: r.ci_low <= 0.01 <= r.ci_high)(bayesian_correlated_ttest(
    ...     rng.multivariate_normal(np.full(10, 0.01), cov))) for _ in range(400)]
    >>> bool(0.92 <= np.mean(hits) <= 0.98), float(np.mean(hits))
    (True, 0.97)
    """
    values, rope, runs, ratio, split, confidence = _validate_correlated(
        diffs, rope, runs, test_fraction, confidence
    )
    n = values.size
    loc = float(values.mean())
    variance = float(values.var(ddof=1))
    scale = math.sqrt((1.0 / n + ratio) * variance)
    df = n - 1
    extra: dict[str, Any] = {}
    if scale == 0:
        p_left, p_right = float(loc < -rope), float(loc > rope)
        p = (p_left, 1.0 - p_left - p_right, p_right)
        low = high = loc
        extra["zero_variance"] = (
            "the differences have zero variance: the posterior is a point at their mean"
        )
    else:
        # the posterior is loc + scale * T(df)
        p_left = float(stats.t.cdf((-rope - loc) / scale, df))
        p_right = float(stats.t.sf((rope - loc) / scale, df))
        p = (p_left, max(0.0, 1.0 - p_left - p_right), p_right)
        half = float(stats.t.ppf(0.5 + confidence / 2, df)) * scale
        low, high = loc - half, loc + half
    # Result(metric, estimate, ci_low, ci_high, confidence, method, ...)
    return Result(
        metric,
        loc,
        low,
        high,
        confidence,
        "bayesian-correlated-t",
        n=n,
        stderr=scale,
        df=(float(df),),
        details={
            **_probabilities(*p, rope),
            "posterior_df": float(df),
            "posterior_loc": loc,
            "posterior_scale": scale,
            "runs": runs,
            **split,
            "variance_factor": 1.0 / n + ratio,
            **extra,
            "differences": values,
        },
    )


def _validate_pair(
    x: Any, y: Any, rope: Any, prior: Any, n_samples: Any
) -> tuple[np.ndarray, float, float, int]:
    arrays = []
    for name, values in (("x", x), ("y", y)):
        array = _float_array(name, values)
        if array.ndim != 1 or array.size < 2:
            raise VarkitError(
                f"`{name}` must be a 1-D array of at least 2 scores (one per data set)."
            )
        if not np.all(np.isfinite(array)):
            raise VarkitError(f"`{name}` contains NaN or infinite values.")
        arrays.append(array)
    if arrays[0].shape != arrays[1].shape:
        raise VarkitError(
            f"`x` and `y` must have the same length, got {arrays[0].size} and {arrays[1].size}."
        )
    return (
        arrays[0] - arrays[1],
        _check_rope(rope),
        _check_prior(prior),
        check_count("n_samples", n_samples, minimum=1),
    )


def _winner_counts(theta: np.ndarray) -> np.ndarray:
    """How often each of (left, rope, right) is the largest; ties share the sample."""
    # within rounding: theta_left = theta_right = 1/2 when every difference is 0
    best = theta >= theta.max(axis=1, keepdims=True) - _TIE
    return (best / best.sum(axis=1, keepdims=True)).sum(axis=0)


def _sampled_result(
    counts: np.ndarray,
    theta_mean: np.ndarray,
    *,
    rope: float,
    n_samples: int,
    method: str,
    diffs: np.ndarray,
    prior: float,
    seed: int,
    names: tuple[str, str],
) -> Result:
    left, middle, right = (float(c) for c in counts)
    if rope == 0:
        # no rope: baycomp drops the samples where the point 0 (zero differences and the
        # prior) outweighs both sides; when every sample is such, it is a point at 0
        sides = left + right
        p = (left / sides, 0.0, right / sides) if sides else (0.0, 1.0, 0.0)
        used = sides
    else:
        p = (left / n_samples, middle / n_samples, right / n_samples)
        used = float(n_samples)
    a, b = names
    return Result(
        metric="probability_better",
        estimate=p[2],
        method=method,
        n=int(diffs.size),
        stderr=math.sqrt(p[2] * (1 - p[2]) / used) if used else 0.0,
        group={"comparison": f"{a}-{b}", "model_1": a, "model_2": b},
        details={
            **_probabilities(*p, rope),
            "estimate": "p_right, the posterior probability that model 1 is better by more "
            "than the rope; stderr is its Monte Carlo standard error",
            "theta_mean": theta_mean,
            "prior": prior,
            "n_samples": n_samples,
            "seed": seed,
            "differences": diffs,
        },
    )


def _check_names(names: Any) -> tuple[str, str]:
    if not isinstance(names, (tuple, list)) or len(names) != 2:
        raise VarkitTypeError("`names` must be a pair of model names.")
    return str(names[0]), str(names[1])


def _signed_rank_thetas(
    diffs: np.ndarray, rope: float, prior: float, n_samples: int, rng: np.random.Generator
) -> Iterator[np.ndarray]:
    """Batches of (theta_left, theta_rope, theta_right) of the signed-rank posterior."""
    z = np.concatenate(([0.0], diffs))
    weights = np.concatenate(([prior], np.ones(diffs.size)))
    sums = z[:, None] + z[None, :]
    # baycomp's Heaviside: 1 above the threshold, 1/2 on it
    right = (sums > 2 * rope) + 0.5 * (sums == 2 * rope)
    left = (-sums > 2 * rope) + 0.5 * (-sums == 2 * rope)
    for start in range(0, n_samples, _BATCH):
        w = rng.dirichlet(weights, min(_BATCH, n_samples - start))
        theta_right = np.sum((w @ right) * w, axis=1)
        if rope > 0:
            theta_left = np.sum((w @ left) * w, axis=1)
            theta_rope = 1.0 - theta_left - theta_right
        else:
            theta_left, theta_rope = 1.0 - theta_right, np.zeros_like(theta_right)
        yield np.column_stack([theta_left, theta_rope, theta_right])


def _sign_thetas(
    diffs: np.ndarray, rope: float, prior: float, n_samples: int, rng: np.random.Generator
) -> Iterator[np.ndarray]:
    """Batches of (theta_left, theta_rope, theta_right) of the sign-test posterior."""
    n_left = int(np.sum(diffs < -rope))
    n_right = int(np.sum(diffs > rope))
    alpha = np.array([n_left, diffs.size - n_left - n_right, n_right], dtype=float)
    alpha += _SIGN_STABILITY
    alpha[1] += prior
    for start in range(0, n_samples, _BATCH):
        yield rng.dirichlet(alpha, min(_BATCH, n_samples - start))


Thetas = Callable[[np.ndarray, float, float, int, np.random.Generator], Iterator[np.ndarray]]


def _dirichlet_test(thetas: Thetas, method: str, settings: dict[str, Any]) -> Result:
    """Validate the public keywords (``settings``), sample the posterior, report."""
    x, y, rope, prior, n_samples = (settings[k] for k in ("x", "y", "rope", "prior", "n_samples"))
    random_state, names = settings["random_state"], settings["names"]
    diffs, rope, prior, n_samples = _validate_pair(x, y, rope, prior, n_samples)
    names = _check_names(names)
    seed = resolve_seed(random_state)
    counts = np.zeros(3)
    theta_sum = np.zeros(3)
    for batch in thetas(diffs, rope, prior, n_samples, np.random.default_rng(seed)):
        counts += _winner_counts(batch)
        theta_sum += batch.sum(axis=0)
    return _sampled_result(
        counts,
        theta_sum / n_samples,
        rope=rope,
        n_samples=n_samples,
        method=method,
        diffs=diffs,
        prior=prior,
        seed=seed,
        names=names,
    )


def bayesian_signed_rank(
    x: Any,
    y: Any,
    *,
    rope: float = 0.0,
    prior: float = 1.0,
    n_samples: int = 50000,
    random_state: Any = None,
    names: tuple[str, str] = ("model_1", "model_2"),
) -> Result:
    """Bayesian Wilcoxon signed-rank test of two models over several data sets.

    Parameters
    ----------
    x, y : array-like of shape (n,)
        Mean score of model 1 and of model 2 on each of n data sets; ``z = x - y``.
    rope : float
        Half-width of the region of practical equivalence. 0: no rope.
    prior : float
        Strength of the Dirichlet-process prior, a pseudo-observation at ``z = 0``.
    n_samples : int
        Monte Carlo samples of the posterior.
    random_state : None, int or numpy Generator
        Seed of the samples; the same seed gives the same probabilities.
    names : (str, str)
        The models' names in the result's group.

    Returns
    -------
    Result
        ``metric='probability_better'``: ``estimate`` is ``p_right`` (no interval;
        ``stderr`` its Monte Carlo standard error); ``details`` hold ``p_left``,
        ``p_rope``, ``p_right``, ``p_not_worse``, the posterior means ``theta_mean`` of
        ``(theta_left, theta_rope, theta_right)`` and the seed.

    Notes
    -----
    Benavoli et al. (2014); Benavoli et al. (2017). The
    posterior of the Dirichlet process is a Dirichlet on the weights ``w`` of the points
    ``(0, z_1, ..., z_n)`` with parameters ``(prior, 1, ..., 1)``. For each sample of
    ``w``, ``theta_right = sum_ij w_i w_j H(z_i + z_j - 2 rope)`` is the probability
    that the mean of two differences lies right of the rope (``H`` the Heaviside function,
    1/2 at 0), ``theta_left`` likewise on the left and ``theta_rope`` the rest; ``p_right``
    is the fraction of samples in which ``theta_right`` is the largest of the three (as in
    the paper and baycomp; ties, within 1e-12, share a sample). With ``rope=0``, ``p_rope = 0``.
    baycomp's ``SignedRankTest`` (default ``prior=0.5``) works on ``y - x``: its
    ``p_left`` is this function's ``p_right``.

    Examples
    --------
    >>> x = [0.81, 0.75, 0.90, 0.66, 0.72, 0.85, 0.79, 0.70]
    >>> y = [0.78, 0.74, 0.86, 0.61, 0.73, 0.80, 0.79, 0.69]
    >>> r = bayesian_signed_rank(x, y, rope=0.01, random_state=0)
    >>> r.metric, round(r.details["p_right"], 2), round(r.details["p_left"], 2)
    ('probability_better', 0.93, 0.0)
    """
    return _dirichlet_test(_signed_rank_thetas, "bayesian-signed-rank", dict(locals()))


def bayesian_sign_test(x: Any, y: Any, **kwargs: Any) -> Result:
    """Bayesian sign test of two models over several data sets.

    Parameters and result as :func:`bayesian_signed_rank` (the same keywords: ``rope``,
    ``prior``, ``n_samples``, ``random_state``, ``names``).

    Notes
    -----
    Benavoli et al. (2017), as baycomp's ``SignTest``. The counts of
    differences below, inside and above the rope (``[-rope, rope]``, closed), plus
    ``prior`` on the rope (the pseudo-observation at 0) and 1e-4 on each (baycomp's guard
    against a zero parameter), are the parameters of a Dirichlet posterior of
    ``(theta_left, theta_rope, theta_right)``; ``p_right`` is the fraction of samples in
    which ``theta_right`` is the largest. With ``rope=0`` the rope is the point 0: as in
    baycomp, samples in which it is the largest are left out and ``p_left``, ``p_right``
    renormalised (``p_rope = 0``), unless every sample is such (all differences 0), when
    ``p_rope = 1``. baycomp's ``SignTest`` works on ``y - x``: its ``p_left`` is this
    function's ``p_right``.

    Examples
    --------
    >>> x = [0.81, 0.75, 0.90, 0.66, 0.72, 0.85, 0.79, 0.70]
    >>> y = [0.78, 0.74, 0.86, 0.61, 0.73, 0.80, 0.79, 0.69]
    >>> r = bayesian_sign_test(x, y, rope=0.01, random_state=0)
    >>> round(r.estimate, 2), round(r.details["p_not_worse"], 2)
    (0.93, 0.99)
    """
    settings = inspect.signature(bayesian_signed_rank).bind(x, y, **kwargs)
    settings.apply_defaults()
    return _dirichlet_test(_sign_thetas, "bayesian-sign", settings.arguments)


# the keywords of bayesian_sign_test are those of bayesian_signed_rank: show them in help()
bayesian_sign_test.__signature__ = inspect.signature(bayesian_signed_rank)  # type: ignore[attr-defined]
