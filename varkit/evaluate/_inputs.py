"""Argument checks shared by the varkit.evaluate entry points (one sentence per problem)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from varkit.errors import VarkitError, VarkitTypeError


def check_count(name: str, value: Any, *, minimum: int = 0) -> int:
    """A non-negative (or at least ``minimum``) integer."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        else:
            raise VarkitTypeError(f"`{name}` must be an integer, got {value!r}.")
    if value < minimum:
        raise VarkitError(f"`{name}` must be at least {minimum}, got {value}.")
    return int(value)


def check_labels(name: str, values: Any) -> np.ndarray:
    """A 1-D array of class labels without missing values."""
    if isinstance(values, (str, bytes)) or values is None:
        raise VarkitTypeError(
            f"`{name}` must be a 1-D array of labels, got {type(values).__name__}."
        )
    array = np.asarray(values)
    if array.ndim != 1:
        raise VarkitError(f"`{name}` must be 1-D, got shape {array.shape}.")
    if array.size == 0:
        raise VarkitError(f"`{name}` is empty.")
    missing = pd.isna(array)
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise VarkitError(f"`{name}` has a missing value (NaN) at position {row}.")
    return array


def check_predictions(
    y_true: Any,
    y_preds: Sequence[Any],
    *,
    min_models: int,
    names: Sequence[str] | None = None,
    label_checks: bool = False,
) -> tuple[np.ndarray, list[np.ndarray], list[str]]:
    """Validate a truth vector and model predictions of the same test set.

    Returns the truth, the predictions and the model names (``model_1`` ... by default).
    Tests of correctness (accuracy, McNemar, Cochran's Q, the F-test) need only that each
    prediction equals its true label or not: a single true class (every example positive)
    and predicted labels absent from ``y_true`` (a class missing from a test fold) are
    valid there. ``label_checks=True`` (metrics that code the labels, such as F1) also
    requires two true classes and predicted labels among the true ones.
    """
    truth = check_labels("y_true", y_true)
    if len(y_preds) < min_models:
        raise VarkitError(f"need predictions of at least {min_models} models, got {len(y_preds)}.")
    if names is None:
        names = [f"model_{i + 1}" for i in range(len(y_preds))]
    if len(names) != len(y_preds):
        raise VarkitError(f"got {len(names)} model names for {len(y_preds)} prediction arrays.")
    classes = set(np.unique(truth).tolist())
    if label_checks:
        check_classes(classes)
    preds = []
    for name, pred in zip(names, y_preds, strict=True):
        array = check_labels(f"predictions of {name}", pred)
        if len(array) != len(truth):
            raise VarkitError(
                f"predictions of {name} have {len(array)} rows but `y_true` has {len(truth)}."
            )
        if label_checks:
            check_known_labels(name, set(np.unique(array).tolist()), classes)
        preds.append(array)
    return truth, preds, list(names)


def check_classes(classes: set[Any]) -> None:
    """The true labels must hold at least two classes."""
    if len(classes) < 2:
        raise VarkitError(f"`y_true` holds a single class ({next(iter(classes))!r}); need two.")


def check_known_labels(name: str, predicted: set[Any], classes: set[Any]) -> None:
    """Every label a model predicts must occur among the true labels.

    Takes label sets, so a partitioned log can merge them before the check.
    """
    extra = predicted - classes
    if extra:
        raise VarkitError(
            f"predictions of {name} contain labels not in `y_true`: {sorted(map(str, extra))[:5]}."
        )


def correct_matrix(y_true: np.ndarray, y_preds: Sequence[np.ndarray]) -> np.ndarray:
    """Boolean (n, L) matrix: entry (i, j) is True when model j is right on example i."""
    return np.column_stack([np.asarray(p) == y_true for p in y_preds])


def co_correct(correct: np.ndarray) -> np.ndarray:
    """``C[j, k]``: examples that models j and k both get right (``C[j, j]``: j's count).

    The (L, L) int64 matrix holds every count the point results of a comparison need
    (accuracies, McNemar tables, Cochran's Q) and adds up over parts of a test set.
    """
    c = np.asarray(correct, dtype=np.int64)
    return c.T @ c


def finite_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise VarkitTypeError(f"`{name}` must be a number, got {value!r}.")
    out = float(value)
    if not math.isfinite(out):
        raise VarkitError(f"`{name}` must be finite, got {out}.")
    return out


def check_fraction(name: str, value: Any) -> float:
    """A number strictly between 0 and 1 (a test-set share)."""
    if value is None:
        raise VarkitTypeError(f"`{name}` must be a fraction in (0, 1) such as 0.3, got None.")
    out = finite_float(name, value)
    if not 0.0 < out < 1.0:
        raise VarkitError(f"`{name}` must be a fraction in (0, 1), got {out}.")
    return out
