"""Split generators for repeated evaluation: 5x2 CV, repeated k-fold, repeated holdout.

Thin, seeded wrappers over scikit-learn's splitters, so every module draws its repeated
splits one way (Dietterich 1998 for 5x2cv).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from sklearn.model_selection import (
    RepeatedKFold,
    RepeatedStratifiedKFold,
    ShuffleSplit,
    StratifiedShuffleSplit,
)

__all__ = ["five_by_two", "repeated_holdout", "repeated_kfold"]

Split = tuple[np.ndarray, np.ndarray]


def repeated_kfold(
    y: Any,
    *,
    n_splits: int = 5,
    n_repeats: int = 10,
    stratify: bool = True,
    random_state: Any = None,
) -> Iterator[tuple[int, int, np.ndarray, np.ndarray]]:
    """Yield ``(repeat, fold, train_index, test_index)`` for repeated (stratified) k-fold.

    Examples
    --------
    >>> y = np.array([0, 1] * 10)
    >>> splits = list(repeated_kfold(y, n_splits=2, n_repeats=3, random_state=0))
    >>> len(splits), sorted(np.concatenate([s[3] for s in splits[:2]]).tolist()) == list(range(20))
    (6, True)
    """
    y = np.asarray(y)
    cls = RepeatedStratifiedKFold if stratify else RepeatedKFold
    splitter = cls(n_splits=n_splits, n_repeats=n_repeats, random_state=_sk_seed(random_state))
    for i, (train, test) in enumerate(splitter.split(np.zeros(y.size), y)):
        yield i // n_splits, i % n_splits, train, test


def five_by_two(
    y: Any, *, stratify: bool = True, random_state: Any = None
) -> Iterator[tuple[int, int, np.ndarray, np.ndarray]]:
    """The 5x2cv splits: five repetitions of 2-fold CV (Dietterich 1998)."""
    return repeated_kfold(y, n_splits=2, n_repeats=5, stratify=stratify, random_state=random_state)


def repeated_holdout(
    y: Any,
    *,
    test_size: float = 0.3,
    n_repeats: int = 10,
    stratify: bool = True,
    random_state: Any = None,
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Yield ``(repeat, train_index, test_index)`` for repeated random holdout splits.

    Examples
    --------
    >>> y = np.array([0, 1] * 10)
    >>> [len(test) for _, _, test in repeated_holdout(y, test_size=0.25, n_repeats=2)]
    [5, 5]
    """
    y = np.asarray(y)
    cls = StratifiedShuffleSplit if stratify else ShuffleSplit
    splitter = cls(n_splits=n_repeats, test_size=test_size, random_state=_sk_seed(random_state))
    for i, (train, test) in enumerate(splitter.split(np.zeros(y.size), y)):
        yield i, train, test


def _sk_seed(random_state: Any) -> Any:
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**31 - 1))
    return random_state
