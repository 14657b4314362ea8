"""Fit-and-score over explicit splits, in parallel with joblib, always on clones."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone, is_classifier
from sklearn.metrics import check_scoring
from sklearn.utils import _safe_indexing, indexable

from varkit.errors import VarkitError, VarkitTypeError
from varkit.evaluate._inputs import check_labels
from varkit.gpu.splits import Split, seeds
from varkit.progress import tracked


def default_scoring(estimator: Any, scoring: Any) -> Any:
    """``scoring`` or, when None, 'accuracy' for classifiers and 'r2' otherwise (as mlxtend)."""
    if scoring is not None:
        return scoring
    return "accuracy" if is_classifier(estimator) else "r2"


def scoring_name(scoring: Any) -> str:
    return scoring if isinstance(scoring, str) else getattr(scoring, "__name__", "score")


def check_xy(X: Any, y: Any, groups: Any = None) -> tuple[Any, np.ndarray, Any]:
    """Validate that X, y (and groups) have matching lengths and y has no missing values."""
    if X is None:
        raise VarkitTypeError("`X` must be an array-like of features, got None.")
    y_arr = check_labels("y", y)
    if groups is not None:
        groups = check_labels("groups", groups)
    try:
        X, y_arr, groups = indexable(X, y_arr, groups)
    except ValueError as exc:
        raise VarkitError(
            f"`X`, `y` and `groups` must have the same number of rows ({exc})."
        ) from None
    return X, np.asarray(y_arr), groups


def check_folds(y: np.ndarray, n_splits: int, *, stratify: bool, groups: Any = None) -> None:
    """``n_splits`` folds must fit the data: rows, groups, and members of the smallest class.

    scikit-learn raises a bare ValueError for more folds than rows or groups, and for
    stratified folds only warns when a class has fewer members than folds (its test folds
    then lack that class); both are input errors here.
    """
    n_rows = int(np.asarray(y).size)
    if n_splits > n_rows:
        raise VarkitError(f"{n_splits} folds need at least {n_splits} rows, got {n_rows}.")
    if groups is not None:
        n_groups = int(np.unique(np.asarray(groups)).size)
        if n_splits > n_groups:
            raise VarkitError(f"{n_splits} folds need at least {n_splits} groups, got {n_groups}.")
        return
    if stratify:
        labels, counts = np.unique(np.asarray(y), return_counts=True)
        smallest = int(np.argmin(counts))
        if counts[smallest] < n_splits:
            raise VarkitError(
                f"{n_splits} stratified folds need at least {n_splits} members of every class; "
                f"class {_plain(labels[smallest])!r} has {int(counts[smallest])}."
            )


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def seed_estimators(estimators: Sequence[Any], random_state: Any) -> list[Any]:
    """Clones whose unset ``random_state`` parameters (nested ones too) get seeds.

    Every ``*random_state`` parameter that is None is set to an integer drawn from
    ``random_state``, so that the same seed refits the same models (a random forest
    with ``random_state=None`` draws a new forest on each fit). Parameters the user set
    are kept; the seeds differ between estimators and parameters.
    """
    out = []
    for i, est in enumerate(estimators):
        fitted = clone(est)
        params = fitted.get_params(deep=True)
        unset = sorted(
            k
            for k, v in params.items()
            if (k == "random_state" or k.endswith("__random_state")) and v is None
        )
        if unset:
            values = seeds([int(s) for s in seeds(random_state, 1)] + [i], len(unset))
            fitted.set_params(**dict(zip(unset, values, strict=True)))
        out.append(fitted)
    return out


def _fit_and_score(
    estimator: Any,
    X: Any,
    y: Any,
    train: np.ndarray,
    test: np.ndarray,
    scorer: Callable[..., Any],
    label: str,
) -> tuple[float, list[tuple[type[Warning], str]]]:
    # Warnings are recorded and returned: a joblib worker process would print them raw.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fitted = clone(estimator).fit(_safe_indexing(X, train), _safe_indexing(y, train))
            score = float(scorer(fitted, _safe_indexing(X, test), _safe_indexing(y, test)))
        except (ValueError, TypeError) as exc:
            # scikit-learn rejects the user's parameters or data with these: an input error
            raise VarkitError(
                f"{label} failed to fit or score ({type(exc).__name__}: "
                f"{' '.join(str(exc).split())})"
            ) from None
    return score, [(w.category, " ".join(str(w.message).split())) for w in caught]


def score_splits(
    estimators: Sequence[Any],
    X: Any,
    y: Any,
    splits: Sequence[Split],
    *,
    scoring: Any,
    n_jobs: int | None,
    names: Sequence[str] | None = None,
    fit_warnings: dict[str, list[str]] | None = None,
) -> np.ndarray:
    """Scores of shape (n_splits, n_estimators): every estimator is cloned per split.

    All ``n_splits * n_estimators`` fits go to one joblib pool, so a slow and a fast model
    share the workers (the slow model's fits do not wait for the fast ones). The warnings
    raised while fitting and scoring (ConvergenceWarning, UndefinedMetricWarning ...) are
    re-issued once each in the calling process, and listed per model (``names``) with the
    number of splits that raised them in ``fit_warnings`` when a dict is given.
    """
    labels = list(names) if names is not None else model_names(estimators)
    try:
        scorers = [check_scoring(est, scoring=scoring) for est in estimators]
    except ValueError:
        raise VarkitError(
            f"`scoring` {scoring!r} is not a scikit-learn scoring "
            "(sklearn.metrics.get_scorer_names() lists them)."
        ) from None
    tasks = [
        delayed(_fit_and_score)(est, X, y, train, test, scorer, labels[j])
        for train, test in splits
        for j, (est, scorer) in enumerate(zip(estimators, scorers, strict=True))
    ]
    # fits reported as they finish, for the progress bar of a long comparison
    values = list(
        tracked(Parallel(n_jobs=n_jobs, return_as="generator")(tasks), len(tasks), "model fits")
    )
    counts: dict[tuple[int, type[Warning], str], int] = {}
    for k, (_, caught) in enumerate(values):
        for category, message in dict.fromkeys(caught):
            key = (k % len(estimators), category, message)
            counts[key] = counts.get(key, 0) + 1
    for (j, category, message), count in counts.items():
        text = f"{labels[j]}: {message} ({count} of {len(splits)} splits)"
        warnings.warn(text, category, stacklevel=2)
        if fit_warnings is not None:
            fit_warnings.setdefault(labels[j], []).append(f"{category.__name__}: {text}")
    scores = np.asarray([v for v, _ in values], dtype=float).reshape(len(splits), len(estimators))
    if not np.all(np.isfinite(scores)):
        split, model = np.argwhere(~np.isfinite(scores))[0]
        raise VarkitError(
            f"the score of {labels[int(model)]} is NaN or infinite on split {int(split) + 1}."
        )
    return scores


def split_sizes(splits: Sequence[Split]) -> tuple[int, int]:
    """Mean training and test set sizes of the splits (the Nadeau-Bengio ratio's terms)."""
    n_train = int(np.mean([len(tr) for tr, _ in splits]))
    n_test = int(np.mean([len(te) for _, te in splits]))
    return n_train, n_test


def distinct_test_rows(splits: Sequence[Split]) -> int:
    """How many distinct rows the test sets of the splits cover."""
    return int(np.unique(np.concatenate([te for _, te in splits])).size)


def model_names(estimators: Sequence[Any]) -> list[str]:
    """Class names of the estimators, numbered when two are the same class."""
    names = [type(est).__name__ for est in estimators]
    if len(set(names)) < len(names):
        names = [f"{name}_{i + 1}" for i, name in enumerate(names)]
    return names
