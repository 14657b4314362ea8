"""Holdout, cross-validation with an honest interval, and nested CV for algorithm selection."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.base import is_classifier
from sklearn.metrics import check_scoring
from sklearn.model_selection import check_cv, cross_validate, train_test_split
from sklearn.utils import _safe_indexing

from varkit.checks import check_confidence
from varkit.errors import VarkitError
from varkit.evaluate._bounded import bounded_mean_interval, score_range
from varkit.evaluate._fitting import (
    check_folds,
    check_xy,
    default_scoring,
    distinct_test_rows,
    model_names,
    score_splits,
    scoring_name,
    seed_estimators,
    split_sizes,
)
from varkit.evaluate._inputs import check_count, check_fraction
from varkit.evaluate.paired_ttests import corrected_resampled_ttest
from varkit.evaluate.proportion import proportion_ci
from varkit.gpu.splits import kfold_splits, seeds
from varkit.results import Result, ResultSet

__all__ = ["cross_val_ci", "holdout", "nested_cv"]


def holdout(
    estimator: Any,
    X: Any,
    y: Any,
    *,
    test_size: float = 0.3,
    stratify: bool = True,
    scoring: Any = None,
    interval: str = "wilson",
    confidence: float = 0.95,
    random_state: Any = None,
) -> Result:
    """Fit on a training split and score on the held-out test split (Raschka 2018).

    For accuracy (the default for classifiers) the interval is a binomial proportion
    interval of the number of correct test predictions (``interval``: wilson,
    clopper-pearson, jeffreys or normal; :func:`proportion_ci`); for other scores no
    interval is given (use :func:`cross_val_ci` or the bootstrap).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.naive_bayes import GaussianNB
    >>> X, y = load_iris(return_X_y=True)
    >>> r = holdout(GaussianNB(), X, y, random_state=0)
    >>> r.metric, r.n, r.ci_low < r.estimate <= r.ci_high
    ('accuracy', 45, True)
    """
    X, y_arr, _ = check_xy(X, y)
    confidence = check_confidence(confidence)
    test_size = check_fraction("test_size", test_size)
    index = np.arange(y_arr.size)
    strat = y_arr if stratify and is_classifier(estimator) else None
    train, test = train_test_split(
        index, test_size=test_size, stratify=strat, random_state=seeds(random_state, 1)[0]
    )
    (seeded,) = seed_estimators([estimator], random_state)
    fitted = seeded.fit(_safe_indexing(X, train), y_arr[train])
    scoring = default_scoring(estimator, scoring)
    name = scoring_name(scoring)
    details = {"n_train": int(train.size), "n_test": int(test.size)}
    if scoring == "accuracy":
        correct = int(np.sum(np.asarray(fitted.predict(_safe_indexing(X, test))) == y_arr[test]))
        result = proportion_ci(correct, int(test.size), method=interval, confidence=confidence)
        return result.replace(method=f"holdout-{interval}", details={**result.details, **details})
    score = float(
        check_scoring(fitted, scoring=scoring)(fitted, _safe_indexing(X, test), y_arr[test])
    )
    return Result(metric=name, estimate=score, method="holdout", n=int(test.size), details=details)


def _mean_score(
    scores: np.ndarray,
    splits: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    confidence: float,
    corrected: bool,
    metric: str,
    method: str,
) -> tuple[Result, dict[str, Any]]:
    """The mean of the split scores with its (Nadeau-Bengio corrected) interval.

    The interval respects the score's range (:func:`bounded_mean_interval`): logit-t for
    scores in [0, 1] such as accuracy, clipped and stated otherwise. Returns the result
    without details, and the interval's details.
    """
    n_train, n_test = split_sizes(splits)
    k = scores.size
    factor = 1.0 / k + (n_test / n_train if corrected else 0.0)
    se = math.sqrt(factor * float(scores.var(ddof=1)))
    mean = float(scores.mean())
    low, high, details = bounded_mean_interval(
        mean, se, k - 1, confidence, score_range(metric), n_rows=distinct_test_rows(splits)
    )
    result = Result(
        metric=metric,
        method=method,
        n=int(k),
        df=(float(k - 1),),
        estimate=mean,
        stderr=se,
        ci_low=low,
        ci_high=high,
        confidence=confidence,
    )
    return result, details


def cross_val_ci(
    estimator: Any,
    X: Any,
    y: Any,
    *,
    cv: Any = 10,
    n_repeats: int = 1,
    scoring: Any = None,
    corrected: bool = True,
    confidence: float = 0.95,
    groups: Any = None,
    random_state: Any = None,
    n_jobs: int | None = None,
) -> Result:
    """Cross-validated score with a t interval that accounts for overlapping training sets.

    The k fold scores of (repeated) k-fold CV are not independent; the naive interval
    ``mean +- t s / sqrt(J)`` is too narrow. With ``corrected=True`` (default) the variance
    of the mean is ``(1/J + n_test/n_train) s^2`` (Nadeau & Bengio 2003; Bouckaert & Frank
    2004), J = folds x repeats, on J - 1 df. An int ``cv`` means stratified folds for
    classifiers (grouped with ``groups``), repeated ``n_repeats`` times with shuffling; any
    scikit-learn splitter is accepted too.

    Returns
    -------
    Result
        ``metric`` the scoring name, estimate the mean score, the interval, ``stderr``,
        fold scores in ``details``.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.naive_bayes import GaussianNB
    >>> X, y = load_iris(return_X_y=True)
    >>> r = cross_val_ci(GaussianNB(), X, y, cv=5, random_state=0)
    >>> r.method, r.n, r.ci_low < r.estimate < r.ci_high
    ('corrected-cv-t', 5, True)
    """
    X, y_arr, groups = check_xy(X, y, groups)
    confidence = check_confidence(confidence)
    splits = _splits(estimator, cv, n_repeats, y_arr, groups, random_state)
    scoring = default_scoring(estimator, scoring)
    fit_warnings: dict[str, list[str]] = {}
    (name,) = model_names([estimator])
    scores = score_splits(
        seed_estimators([estimator], random_state),
        X,
        y_arr,
        splits,
        scoring=scoring,
        n_jobs=n_jobs,
        names=[name],
        fit_warnings=fit_warnings,
    )[:, 0]
    n_train, n_test = split_sizes(splits)
    result, extra = _mean_score(
        scores,
        splits,
        confidence=confidence,
        corrected=corrected,
        metric=scoring_name(scoring),
        method="corrected-cv-t" if corrected else "cv-t",
    )
    if fit_warnings:
        extra["fit_warnings"] = fit_warnings[name]
    return result.replace(
        details={"fold_scores": scores, "n_train": n_train, "n_test": n_test, **extra}
    )


def _splits(
    estimator: Any,
    cv: Any,
    n_repeats: int,
    y: np.ndarray,
    groups: Any,
    random_state: Any,
    *,
    name: str = "cv",
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The splits of ``cv`` (folds or a splitter), at least 2; ``name`` names ``cv`` when a
    splitter gives fewer."""
    if isinstance(cv, (int, np.integer)) and not isinstance(cv, bool):
        if cv < 2:
            raise VarkitError(f"`cv` must be at least 2 folds, got {cv}.")
        check_count("n_repeats", n_repeats, minimum=1)
        check_folds(y, int(cv), stratify=is_classifier(estimator), groups=groups)
        return kfold_splits(
            y,
            n_splits=int(cv),
            n_repeats=int(n_repeats),
            stratify=is_classifier(estimator),
            groups=groups,
            random_state=random_state,
        )
    splitter = check_cv(cv, y, classifier=is_classifier(estimator))
    splits = list(splitter.split(np.zeros(y.size), y, groups))
    if len(splits) < 2:
        raise VarkitError(f"`{name}` gave {len(splits)} split; need at least 2.")
    return splits


def nested_cv(
    estimators: Any,
    X: Any,
    y: Any,
    *,
    outer_cv: Any = 5,
    n_repeats: int = 1,
    scoring: Any = None,
    confidence: float = 0.95,
    groups: Any = None,
    random_state: Any = None,
    n_jobs: int | None = None,
) -> ResultSet:
    """Nested cross-validation for algorithm selection (Raschka 2018).

    Each estimator is a model-selection object (``GridSearchCV``, ``RandomizedSearchCV``
    ...) that tunes on the inner folds of each outer training set; its outer-fold scores
    estimate the performance *of the whole tuning procedure*. Several algorithms (a dict
    of name -> search) are scored on the same outer folds, and every pair is compared
    with the corrected resampled t-test on the paired outer-fold differences.

    Returns
    -------
    ResultSet
        Per algorithm the outer score with its corrected interval (``details`` holds the
        best parameters chosen in each outer fold), then pairwise ``<score>_difference``
        tests.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn.neighbors import KNeighborsClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> search = GridSearchCV(KNeighborsClassifier(), {"n_neighbors": [1, 5]}, cv=3)
    >>> rs = nested_cv({"knn": search}, X, y, outer_cv=3, random_state=0)
    >>> rs[0].group, len(rs[0].details["best_params"])
    ({'model': 'knn'}, 3)
    """
    if isinstance(estimators, Mapping):
        named = dict(estimators)
    else:
        named = dict(zip(model_names([estimators]), [estimators], strict=True))
    if not named:
        raise VarkitError("`estimators` is empty; give at least one model-selection object.")
    X, y_arr, groups = check_xy(X, y, groups)
    confidence = check_confidence(confidence)
    first = next(iter(named.values()))
    splits = _splits(first, outer_cv, n_repeats, y_arr, groups, random_state, name="outer_cv")
    named = dict(zip(named, seed_estimators(list(named.values()), random_state), strict=True))
    scoring = default_scoring(first, scoring)
    n_train, n_test = split_sizes(splits)
    results: list[Result] = []
    fold_scores: dict[str, np.ndarray] = {}
    for name, search in named.items():
        out = cross_validate(
            search,
            X,
            y_arr,
            cv=splits,
            scoring=scoring,
            n_jobs=n_jobs,
            groups=groups,
            return_estimator=True,
        )
        scores = np.asarray(out["test_score"], dtype=float)
        fold_scores[name] = scores
        best = [getattr(est, "best_params_", None) for est in out["estimator"]]
        if not np.all(np.isfinite(scores)):
            raise VarkitError(f"the outer-fold scores of {name} hold NaN (a fit failed).")
        result, extra = _mean_score(
            scores,
            splits,
            confidence=confidence,
            corrected=True,
            metric=scoring_name(scoring),
            method="nested-cv-corrected-t",
        )
        params = [
            {k: v if isinstance(v, (int, float, str, bool)) else repr(v) for k, v in chosen.items()}
            for chosen in (b or {} for b in best)
        ]
        results.append(
            result.replace(
                group={"model": name},
                details={**extra, "fold_scores": scores, "best_params": params},
            )
        )
    names = list(named)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            test = corrected_resampled_ttest(
                fold_scores[a] - fold_scores[b],
                n_train=n_train,
                n_test=n_test,
                confidence=confidence,
                metric=f"{scoring_name(scoring)}_difference",
            )
            results.append(
                test.replace(group={"comparison": f"{a}-{b}", "model_1": a, "model_2": b})
            )
    return ResultSet(tuple(results), {"function": "varkit.evaluate.nested_cv"})
