"""Paired tests that refit two models on repeated splits (Dietterich 1998; Alpaydin 1999;
Nadeau & Bengio 2003; Raschka 2018)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
from scipy import stats
from sklearn.base import is_classifier

from varkit.checks import check_alternative, check_confidence, tail_levels
from varkit.errors import VarkitError, VarkitTypeError
from varkit.evaluate._fitting import (
    check_folds,
    check_xy,
    default_scoring,
    model_names,
    score_splits,
    scoring_name,
    seed_estimators,
    split_sizes,
)
from varkit.evaluate._inputs import check_count, check_fraction
from varkit.gpu.splits import (
    Split,
    check_seeding,
    five_by_two_splits,
    holdout_splits,
    kfold_splits,
)
from varkit.results import Result, ResultSet

__all__ = [
    "combined_ftest_5x2cv",
    "corrected_resampled_ttest",
    "five_by_two_cv",
    "paired_ttest_5x2cv",
    "paired_ttest_kfold_cv",
    "paired_ttest_resampled",
]


def _t_pvalue(t: float, df: float, alternative: str) -> float:
    if alternative == "two-sided":
        return float(min(1.0, 2 * stats.t.sf(abs(t), df)))
    if alternative == "greater":
        return float(stats.t.sf(t, df))
    return float(stats.t.cdf(t, df))


def five_by_two_results(
    diffs: np.ndarray,
    *,
    metric: str,
    group: dict[str, str],
    details: dict[str, Any],
    alternative: str = "two-sided",
) -> tuple[Result, Result]:
    """The 5x2cv t (Dietterich 1998) and combined F (Alpaydin 1999) results of (5, 2)
    score differences."""
    t, f = five_by_two_statistics(diffs)
    mean = float(np.mean(diffs))
    common: dict[str, Any] = {
        "metric": metric,
        "estimate": mean,
        "n": 10,
        "group": group,
        "details": details,
    }
    t_result = Result(
        method="5x2cv-t",
        statistic=t,
        pvalue=1.0 if t == 0 else _t_pvalue(t, 5, alternative),
        df=(5.0,),
        alternative=alternative,
        **common,
    )
    f_result = Result(
        method="5x2cv-combined-f",
        statistic=f,
        pvalue=1.0 if f == 0 else float(stats.f.sf(f, 10, 5)),
        df=(10.0, 5.0),
        alternative="two-sided",
        **common,
    )
    return t_result, f_result


def _ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, with 0/0 = 0 (no difference at all) and x/0 = +-inf."""
    if denominator > 0:
        return numerator / denominator
    return 0.0 if numerator == 0 else math.copysign(math.inf, numerator)


def _validate_differences(
    differences: Any, n_train: Any, n_test: Any, confidence: Any, alternative: Any
) -> tuple[np.ndarray, int, int, float, str]:
    diffs = np.asarray(differences, dtype=float)
    if diffs.ndim != 1 or diffs.size < 2:
        raise VarkitError("`differences` must be a 1-D array of at least 2 score differences.")
    if not np.all(np.isfinite(diffs)):
        raise VarkitError("`differences` contains NaN or infinite values.")
    return (
        diffs,
        check_count("n_train", n_train, minimum=1),
        check_count("n_test", n_test, minimum=1),
        check_confidence(confidence),
        check_alternative(alternative),
    )


def _t_on_differences(
    diffs: np.ndarray,
    *,
    variance_factor: float,
    confidence: float,
    alternative: str,
    method: str,
    metric: str,
    details: dict[str, Any],
    group: dict[str, str] | None = None,
) -> Result:
    """t-test of mean difference with ``Var(mean) = variance_factor * s^2``."""
    n_splits = diffs.size
    mean = float(diffs.mean())
    variance = float(diffs.var(ddof=1))
    se = math.sqrt(variance_factor * variance)
    df = n_splits - 1
    t = _ratio(mean, se)
    # a one-sided interval runs to -inf or inf: a score difference has no bound of its own
    lo_level, hi_level = tail_levels(confidence, alternative)
    low = mean + float(stats.t.ppf(lo_level, df)) * se if lo_level > 0 else -math.inf
    high = mean + float(stats.t.ppf(hi_level, df)) * se if hi_level < 1 else math.inf
    details = dict(details)
    if variance == 0:
        details["zero_variance"] = (
            "the values have zero variance: the interval is a point and "
            + ("t = 0, p = 1" if mean == 0 else "t is infinite, p = 0")
            + " (no spread between splits to measure uncertainty)"
        )
    return Result(
        metric=metric,
        estimate=mean,
        ci_low=low,
        ci_high=high,
        confidence=confidence,
        method=method,
        n=n_splits,
        stderr=se,
        statistic=t,
        pvalue=1.0 if t == 0 else _t_pvalue(t, df, alternative),
        df=(float(df),),
        alternative=alternative,
        group=group or {},
        details={**details, "differences": diffs, "variance_factor": variance_factor},
    )


def corrected_resampled_ttest(
    differences: Any,
    *,
    n_train: int,
    n_test: int,
    confidence: float = 0.95,
    alternative: str = "two-sided",
    metric: str = "score_difference",
) -> Result:
    """Nadeau & Bengio's corrected resampled t-test on precomputed per-split differences.

    Parameters
    ----------
    differences : array-like of shape (J,)
        Score of model 1 minus score of model 2 on each of J splits (repeated holdout or
        every fold of repeated k-fold).
    n_train, n_test : int
        Training and test set sizes of one split.
    confidence : float
        Level of the interval of the mean difference.
    alternative : {'two-sided', 'less', 'greater'}
        Alternative about the mean difference.
    metric : str
        Name of the result's metric.

    Returns
    -------
    Result
        Mean difference with the corrected t interval; statistic, p-value, ``df=(J - 1,)``.

    Notes
    -----
    Nadeau & Bengio (2003): the overlap of training sets correlates the
    J differences, so the variance of their mean is ``(1/J + n_test/n_train) s^2`` instead
    of ``s^2 / J``; ``t = mean / sqrt((1/J + n_test/n_train) s^2)`` on J - 1 df. Bouckaert &
    Frank (2004) apply it to every fold of r-times repeated k-fold (J = r k).

    References
    ----------
    Nadeau, C. & Bengio, Y. (2003). Inference for the generalization error. Machine
    Learning 52, 239-281.
    Bouckaert, R. R. & Frank, E. (2004). Evaluating the replicability of significance tests
    for comparing learning algorithms. PAKDD, 3-12.

    Examples
    --------
    >>> d = [0.02, 0.01, 0.03, 0.00, 0.02, 0.01, 0.02, 0.03, 0.01, 0.02]
    >>> r = corrected_resampled_ttest(d, n_train=90, n_test=10)
    >>> round(r.statistic, 3), round(r.pvalue, 4)
    (3.9, 0.0036)
    """
    diffs, n_train, n_test, confidence, alternative = _validate_differences(
        differences, n_train, n_test, confidence, alternative
    )
    return _t_on_differences(
        diffs,
        variance_factor=1.0 / diffs.size + n_test / n_train,
        confidence=confidence,
        alternative=alternative,
        method="corrected-resampled-t",
        metric=metric,
        details={"n_train": n_train, "n_test": n_test},
    )


def _validate_models(
    estimator1: Any,
    estimator2: Any,
    X: Any,
    y: Any,
    *,
    groups: Any,
    confidence: Any,
    alternative: Any,
    split_seeding: Any,
    random_state: Any,
) -> tuple[Any, np.ndarray, Any, float, str, str]:
    for name, est in (("estimator1", estimator1), ("estimator2", estimator2)):
        if not hasattr(est, "fit") or not hasattr(est, "get_params"):
            raise VarkitTypeError(
                f"`{name}` must be a scikit-learn estimator with fit and get_params."
            )
    X, y, groups = check_xy(X, y, groups)
    if is_classifier(estimator1) and np.unique(y).size < 2:
        raise VarkitError("`y` holds a single class; need at least two.")
    seeding = check_seeding(split_seeding, random_state)
    if seeding == "mlxtend" and groups is not None:
        raise VarkitError("`groups` cannot be used with split_seeding='mlxtend'.")
    return X, y, groups, check_confidence(confidence), check_alternative(alternative), seeding


@dataclass(frozen=True)
class _PairedFit:
    """Both models scored on the same splits, with the settings the test needs."""

    scores: np.ndarray  # (n_splits, 2)
    splits: list[Split]
    metric: str
    group: dict[str, str]
    seeding: str
    confidence: float
    alternative: str

    @property
    def differences(self) -> np.ndarray:
        return self.scores[:, 0] - self.scores[:, 1]


# (y, groups, split_seeding, stratify) -> a splitter of :mod:`varkit.gpu.splits` with the
# test's own settings checked and bound; _fit_pair calls it with the settings all share
SplitMaker = Callable[[np.ndarray, Any, str, bool], Callable[..., list[Split]]]


def _fit_pair(
    estimator1: Any,
    estimator2: Any,
    X: Any,
    y: Any,
    *,
    make_splits: SplitMaker,
    settings: dict[str, Any],
) -> _PairedFit:
    """Validate, split, seed and score both models (``settings``: the public keywords)."""
    X, y, groups, confidence, alternative, seeding = _validate_models(
        estimator1,
        estimator2,
        X,
        y,
        **{k: settings[k] for k in _MODEL_CHECKS},
    )
    random_state = settings["random_state"]
    stratify = is_classifier(estimator1)
    splitter = make_splits(y, groups, seeding, stratify)
    splits = splitter(
        y, stratify=stratify, groups=groups, random_state=random_state, split_seeding=seeding
    )
    scoring = default_scoring(estimator1, settings["scoring"])
    seeded = seed_estimators([estimator1, estimator2], random_state)
    scores = score_splits(seeded, X, y, splits, scoring=scoring, n_jobs=settings["n_jobs"])
    return _PairedFit(
        scores=scores,
        splits=splits,
        metric=f"{scoring_name(scoring)}_difference",
        group=_comparison(estimator1, estimator2),
        seeding=seeding,
        confidence=confidence,
        alternative=alternative,
    )


_MODEL_CHECKS = ("groups", "confidence", "alternative", "split_seeding", "random_state")


def _paired_t(
    fit: _PairedFit, *, corrected: bool, method: str, details: dict[str, Any] | None = None
) -> Result:
    """The (corrected) t-test of the split differences of a :class:`_PairedFit`."""
    n_train, n_test = split_sizes(fit.splits)
    factor = 1.0 / len(fit.splits) + (n_test / n_train if corrected else 0.0)
    return _t_on_differences(
        fit.differences,
        variance_factor=factor,
        confidence=fit.confidence,
        alternative=fit.alternative,
        method=f"corrected-{method}" if corrected else method,
        metric=fit.metric,
        group=fit.group,
        details={
            "n_train": n_train,
            "n_test": n_test,
            **(details or {}),
            "mean_scores": fit.scores.mean(axis=0),
            "split_seeding": fit.seeding,
        },
    )


def _comparison(estimator1: Any, estimator2: Any) -> dict[str, str]:
    a, b = model_names([estimator1, estimator2])
    return {"comparison": f"{a}-{b}", "model_1": a, "model_2": b}


def paired_ttest_resampled(
    estimator1: Any,
    estimator2: Any,
    X: Any,
    y: Any,
    *,
    n_rounds: int = 30,
    test_size: float = 0.3,
    corrected: bool = False,
    scoring: Any = None,
    confidence: float = 0.95,
    alternative: str = "two-sided",
    random_state: Any = None,
    n_jobs: int | None = None,
    groups: Any = None,
    split_seeding: str = "varkit",
) -> Result:
    """Resampled paired t-test over ``n_rounds`` random train/test splits.

    Both estimators are cloned and fitted on each training split; the differences of their
    test scores are t-tested on ``n_rounds - 1`` df (Dietterich 1998). The plain
    test ignores the overlap of training sets and rejects far too often (Dietterich found
    type-I error up to 0.5 for nominal 0.05); ``corrected=True`` applies Nadeau & Bengio's
    correction (:func:`corrected_resampled_ttest`), which is the one to use.

    Parameters
    ----------
    estimator1, estimator2 : scikit-learn estimators
        Unfitted models (cloned, never fitted in place).
    X, y : array-like
        Data; y holds labels (classifiers) or targets.
    n_rounds : int
        Number of random splits.
    test_size : float
        Fraction of rows in each test set.
    corrected : bool
        Nadeau-Bengio variance correction.
    scoring : str, callable or None
        scikit-learn scoring; None means accuracy for classifiers and r2 otherwise.
    confidence, alternative
        Interval level and alternative about mean(score1 - score2).
    random_state : None, int or numpy Generator
        Seed of the splits and of each estimator whose ``random_state`` is None.
    n_jobs : int or None
        Parallel model fits (joblib).
    groups : array-like, optional
        Group labels: splits keep groups together (GroupShuffleSplit).
    split_seeding : {'varkit', 'mlxtend'}
        'varkit': stratified for classifiers; 'mlxtend': mlxtend's exact splits.

    Returns
    -------
    Result
        ``metric='<scoring>_difference'``: mean difference, t interval, statistic, p-value.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.naive_bayes import GaussianNB
    >>> from sklearn.dummy import DummyClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> r = paired_ttest_resampled(GaussianNB(), DummyClassifier(), X, y,
    ...                            n_rounds=5, corrected=True, random_state=0)
    >>> r.pvalue < 0.001, r.method
    (True, 'corrected-resampled-t')
    """
    settings = dict(locals())

    def make_splits(
        y: np.ndarray, groups: Any, seeding: str, stratify: bool
    ) -> Callable[..., list[Split]]:
        rounds = check_count("n_rounds", n_rounds, minimum=2)
        size = check_fraction("test_size", test_size)
        return partial(holdout_splits, n_rounds=rounds, test_size=size)

    fit = _fit_pair(estimator1, estimator2, X, y, make_splits=make_splits, settings=settings)
    return _paired_t(fit, corrected=corrected, method="resampled-t")


def paired_ttest_kfold_cv(
    estimator1: Any,
    estimator2: Any,
    X: Any,
    y: Any,
    *,
    cv: int = 10,
    n_repeats: int = 1,
    corrected: bool = False,
    shuffle: bool = True,
    scoring: Any = None,
    confidence: float = 0.95,
    alternative: str = "two-sided",
    random_state: Any = None,
    n_jobs: int | None = None,
    groups: Any = None,
    split_seeding: str = "varkit",
) -> Result:
    """Paired t-test over the folds of (repeated) k-fold cross-validation.

    The plain test (Dietterich 1998) uses ``s^2 / J`` for the variance of the
    mean of ``J = cv * n_repeats`` fold differences and is liberal; ``corrected=True``
    uses Nadeau & Bengio's ``(1/J + 1/(cv - 1)) s^2`` (Bouckaert & Frank 2004's corrected
    repeated k-fold test). Folds are stratified for classifiers and grouped when ``groups``
    is given; ``split_seeding='mlxtend'`` uses mlxtend's plain ``KFold``.

    Parameters are those of :func:`paired_ttest_resampled`, with ``cv`` folds repeated
    ``n_repeats`` times and ``shuffle`` (only used with ``split_seeding='mlxtend'``).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.naive_bayes import GaussianNB
    >>> X, y = load_iris(return_X_y=True)
    >>> nb = GaussianNB()
    >>> paired_ttest_kfold_cv(nb, nb, X, y, cv=5, random_state=0).pvalue
    1.0
    """
    settings = dict(locals())

    def make_splits(
        y: np.ndarray, groups: Any, seeding: str, stratify: bool
    ) -> Callable[..., list[Split]]:
        folds = check_count("cv", cv, minimum=2)
        repeats = check_count("n_repeats", n_repeats, minimum=1)
        check_folds(y, folds, stratify=stratify and seeding == "varkit", groups=groups)
        return partial(kfold_splits, n_splits=folds, n_repeats=repeats, shuffle=shuffle)

    fit = _fit_pair(estimator1, estimator2, X, y, make_splits=make_splits, settings=settings)
    folds = {"n_folds": int(cv), "n_repeats": int(n_repeats)}  # checked in make_splits
    return _paired_t(fit, corrected=corrected, method="kfold-t", details=folds)


def five_by_two_statistics(differences: Any) -> tuple[float, float]:
    """Dietterich's 5x2cv t and Alpaydin's combined F from a (5, 2) array of differences.

    ``t = p_1^(1) / sqrt(sum_i s_i^2 / 5)`` (Dietterich 1998) and
    ``F = sum_i sum_j (p_i^(j))^2 / (2 sum_i s_i^2)`` (Alpaydin 1999), with
    ``s_i^2 = sum_j (p_i^(j) - mean_i)^2``.

    Examples
    --------
    >>> import numpy as np
    >>> t, f = five_by_two_statistics(np.array([[0.1, 0.0]] + [[0.05, 0.05]] * 4))
    >>> round(t, 4), round(f, 4)
    (3.1623, 3.0)
    """
    p = np.asarray(differences, dtype=float).reshape(5, 2)
    s2 = np.sum((p - p.mean(axis=1, keepdims=True)) ** 2, axis=1)
    t = _ratio(float(p[0, 0]), math.sqrt(float(s2.sum()) / 5.0))
    f = _ratio(float(np.sum(p**2)), 2.0 * float(s2.sum()))
    return t, f


def five_by_two_cv(
    estimator1: Any,
    estimator2: Any,
    X: Any,
    y: Any,
    *,
    scoring: Any = None,
    alternative: str = "two-sided",
    random_state: Any = None,
    n_jobs: int | None = None,
    groups: Any = None,
    split_seeding: str = "varkit",
) -> ResultSet:
    """Both 5x2cv tests from one set of ten fits per model.

    Five repetitions of 2-fold CV (stratified for classifiers, grouped with ``groups``);
    ``p_i^(j)`` is score1 - score2 on fold j of repetition i. Returns a ResultSet with
    Dietterich's 5x2cv paired t (``method='5x2cv-t'``, df 5; it uses only ``p_1^(1)`` in
    its numerator, so it is discrete and sensitive to the split) and Alpaydin's combined
    F (``method='5x2cv-combined-f'``, df (10, 5), one-sided, more powerful and stable;
    Alpaydin 1999). ``estimate`` is the mean of the ten differences in both; no interval.
    ``split_seeding='mlxtend'`` reproduces ``mlxtend.evaluate.paired_ttest_5x2cv`` and
    ``combined_ftest_5x2cv`` exactly (one call here instead of two there).

    References
    ----------
    Dietterich, T. G. (1998). Neural Computation 10(7), 1895-1923.
    Alpaydin, E. (1999). Combined 5x2 cv F test for comparing supervised classification
    learning algorithms. Neural Computation 11(8), 1885-1892.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.naive_bayes import GaussianNB
    >>> from sklearn.dummy import DummyClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> rs = five_by_two_cv(GaussianNB(), DummyClassifier(), X, y,
    ...                     random_state=0)
    >>> [r.method for r in rs], rs[1].pvalue < 0.01
    (['5x2cv-t', '5x2cv-combined-f'], True)
    """
    settings = {**locals(), "confidence": 0.95}

    def make_splits(
        y: np.ndarray, groups: Any, seeding: str, stratify: bool
    ) -> Callable[..., list[Split]]:
        check_folds(y, 2, stratify=stratify and seeding == "varkit", groups=groups)
        return five_by_two_splits

    fit = _fit_pair(estimator1, estimator2, X, y, make_splits=make_splits, settings=settings)
    diffs = fit.differences.reshape(5, 2)
    details = {
        "differences": diffs,
        "mean_scores": fit.scores.mean(axis=0),
        "split_seeding": fit.seeding,
        "n_train": split_sizes(fit.splits)[0],
    }
    t_result, f_result = five_by_two_results(
        diffs, metric=fit.metric, group=fit.group, details=details, alternative=fit.alternative
    )
    return ResultSet((t_result, f_result), {"function": "varkit.evaluate.five_by_two_cv"})


def paired_ttest_5x2cv(estimator1: Any, estimator2: Any, X: Any, y: Any, **kwargs: Any) -> Result:
    """Dietterich's 5x2cv paired t-test; keywords as :func:`five_by_two_cv`.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.naive_bayes import GaussianNB
    >>> X, y = load_iris(return_X_y=True)
    >>> nb = GaussianNB()
    >>> paired_ttest_5x2cv(nb, nb, X, y, random_state=0).pvalue
    1.0
    """
    return five_by_two_cv(estimator1, estimator2, X, y, **kwargs)[0]


def combined_ftest_5x2cv(estimator1: Any, estimator2: Any, X: Any, y: Any, **kwargs: Any) -> Result:
    """Alpaydin's combined 5x2cv F-test; keywords as :func:`five_by_two_cv`.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.naive_bayes import GaussianNB
    >>> X, y = load_iris(return_X_y=True)
    >>> nb = GaussianNB()
    >>> combined_ftest_5x2cv(nb, nb, X, y, random_state=0).pvalue
    1.0
    """
    return five_by_two_cv(estimator1, estimator2, X, y, **kwargs)[1]
