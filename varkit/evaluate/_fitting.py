"""Fit-and-score over explicit splits, in parallel with joblib, always on clones."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone, is_classifier
from sklearn.metrics import check_scoring
from sklearn.utils import _safe_indexing, indexable

from varkit.errors import VarkitError, VarkitTypeError
from varkit.evaluate._inputs import check_labels
from varkit.gpu.splits import Split


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


def _fit_and_score(
    estimator: Any, X: Any, y: Any, train: np.ndarray, test: np.ndarray, scorer: Callable[..., Any]
) -> float:
    fitted = clone(estimator).fit(_safe_indexing(X, train), _safe_indexing(y, train))
    return float(scorer(fitted, _safe_indexing(X, test), _safe_indexing(y, test)))


def score_splits(
    estimators: Sequence[Any],
    X: Any,
    y: Any,
    splits: Sequence[Split],
    *,
    scoring: Any,
    n_jobs: int | None,
) -> np.ndarray:
    """Scores of shape (n_splits, n_estimators): every estimator is cloned per split.

    All ``n_splits * n_estimators`` fits go to one joblib pool, so a slow and a fast model
    share the workers (the slow model's fits do not wait for the fast ones).
    """
    scorers = [check_scoring(est, scoring=scoring) for est in estimators]
    tasks = [
        delayed(_fit_and_score)(est, X, y, train, test, scorer)
        for train, test in splits
        for est, scorer in zip(estimators, scorers, strict=True)
    ]
    values = Parallel(n_jobs=n_jobs)(tasks)
    scores = np.asarray(values, dtype=float).reshape(len(splits), len(estimators))
    if not np.all(np.isfinite(scores)):
        raise VarkitError("a model's score is NaN or infinite on at least one split.")
    return scores


def model_names(estimators: Sequence[Any]) -> list[str]:
    """Class names of the estimators, numbered when two are the same class."""
    names = [type(est).__name__ for est in estimators]
    if len(set(names)) < len(names):
        names = [f"{name}_{i + 1}" for i, name in enumerate(names)]
    return names
