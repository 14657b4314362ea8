"""Seeded train/test splits for repeated evaluation, built on scikit-learn's splitters.

One home for every repeated split in varkit (5x2 CV, repeated k-fold, repeated holdout),
used by the model-refitting tests of ``varkit.evaluate`` and open to every module.
``split_seeding="varkit"`` stratifies for classifiers and respects ``groups``;
``split_seeding="mlxtend"`` reproduces mlxtend.evaluate's splits exactly: a
``RandomState(seed)`` draws one ``randint(0, 32767)`` per split, passed to
``train_test_split`` (unstratified), so users moving from mlxtend get identical statistics.
Dietterich (1998) for 5x2cv.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from sklearn.model_selection import (
    GroupKFold,
    GroupShuffleSplit,
    KFold,
    RepeatedKFold,
    RepeatedStratifiedKFold,
    ShuffleSplit,
    StratifiedGroupKFold,
    StratifiedShuffleSplit,
    train_test_split,
)

from varkit.errors import VarkitError, VarkitTypeError
from varkit.gpu.backend import check_memory

__all__ = [
    "Split",
    "five_by_two",
    "five_by_two_splits",
    "holdout_splits",
    "kfold_splits",
    "repeated_holdout",
    "repeated_kfold",
]

Split = tuple[np.ndarray, np.ndarray]

_SEEDINGS = ("varkit", "mlxtend")


def check_seeding(split_seeding: Any, random_state: Any) -> str:
    if split_seeding not in _SEEDINGS:
        raise VarkitError(
            f"`split_seeding` must be one of {', '.join(_SEEDINGS)}, got {split_seeding!r}."
        )
    if split_seeding == "mlxtend" and not (
        random_state is None or isinstance(random_state, (int, np.integer))
    ):
        raise VarkitTypeError("`random_state` must be None or an int with split_seeding='mlxtend'.")
    return str(split_seeding)


def seeds(random_state: Any, count: int) -> list[int]:
    """``count`` integer seeds for scikit-learn splitters from None, an int or a Generator."""
    rng = np.random.default_rng(random_state)
    return [int(s) for s in rng.integers(0, 2**31 - 1, size=count)]


def _mlxtend_seeds(random_state: Any, count: int) -> list[int]:
    rng = np.random.RandomState(random_state)
    return [int(rng.randint(low=0, high=32767)) for _ in range(count)]


def _check_split_memory(n_split_pairs: int, n_rows: int, what: str) -> None:
    """Every split is held as int64 train and test indices over all rows: refuse, in one
    line, a number of splits that cannot fit (a mistyped 1e9 repeats), before drawing."""
    check_memory(n_split_pairs * (n_rows * 8.0 + 200.0), what, hint="use fewer repeats or splits")


def holdout_splits(
    y: np.ndarray,
    *,
    n_rounds: int,
    test_size: float,
    stratify: bool,
    groups: Any = None,
    random_state: Any = None,
    split_seeding: str = "varkit",
) -> list[Split]:
    """``n_rounds`` random train/test splits (repeated holdout, Monte-Carlo CV)."""
    _check_split_memory(int(n_rounds), len(y), f"n_rounds={n_rounds} holdout splits")
    index = np.arange(len(y))
    if split_seeding == "mlxtend":
        return [
            tuple(train_test_split(index, test_size=test_size, random_state=s))  # type: ignore[misc]
            for s in _mlxtend_seeds(random_state, n_rounds)
        ]
    seed = seeds(random_state, 1)[0]
    splitter: Any
    if groups is not None:
        splitter = GroupShuffleSplit(n_splits=n_rounds, test_size=test_size, random_state=seed)
    elif stratify:
        splitter = StratifiedShuffleSplit(n_rounds, test_size=test_size, random_state=seed)
    else:
        splitter = ShuffleSplit(n_splits=n_rounds, test_size=test_size, random_state=seed)
    return list(splitter.split(index, y, groups))


def kfold_splits(
    y: np.ndarray,
    *,
    n_splits: int,
    n_repeats: int = 1,
    stratify: bool,
    shuffle: bool = True,
    groups: Any = None,
    random_state: Any = None,
    split_seeding: str = "varkit",
) -> list[Split]:
    """(Repeated) k-fold splits; stratified for classifiers, grouped when ``groups`` given.

    With ``split_seeding='mlxtend'`` a single unstratified ``KFold(n_splits, shuffle,
    random_state)`` as in ``mlxtend.evaluate.paired_ttest_kfold_cv``.
    """
    _check_split_memory(
        int(n_splits) * int(n_repeats),
        len(y),
        f"n_splits={n_splits} x n_repeats={n_repeats} k-fold splits",
    )
    index = np.arange(len(y))
    if split_seeding == "mlxtend":
        if n_repeats != 1:
            raise VarkitError("split_seeding='mlxtend' has no repeated k-fold; use n_repeats=1.")
        state = random_state if shuffle else None
        return list(KFold(n_splits=n_splits, shuffle=shuffle, random_state=state).split(index))
    if groups is not None:
        out: list[Split] = []
        for seed in seeds(random_state, n_repeats):
            splitter: Any = (
                StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
                if stratify
                else GroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
            )
            out.extend(splitter.split(index, y, groups))
        return out
    cls = RepeatedStratifiedKFold if stratify else RepeatedKFold
    seed = seeds(random_state, 1)[0]
    return list(cls(n_splits=n_splits, n_repeats=n_repeats, random_state=seed).split(index, y))


def five_by_two_splits(
    y: np.ndarray,
    *,
    stratify: bool,
    groups: Any = None,
    random_state: Any = None,
    split_seeding: str = "varkit",
) -> list[Split]:
    """Ten splits: five repetitions of 2-fold CV; splits 2i and 2i+1 swap the halves."""
    index = np.arange(len(y))
    if split_seeding == "mlxtend":
        out: list[Split] = []
        for seed in _mlxtend_seeds(random_state, 5):
            first, second = train_test_split(index, test_size=0.5, random_state=seed)
            out.extend([(first, second), (second, first)])
        return out
    return kfold_splits(
        y, n_splits=2, n_repeats=5, stratify=stratify, groups=groups, random_state=random_state
    )


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
    splits = kfold_splits(
        y, n_splits=n_splits, n_repeats=n_repeats, stratify=stratify, random_state=random_state
    )
    for i, (train, test) in enumerate(splits):
        yield i // n_splits, i % n_splits, train, test


def five_by_two(
    y: Any, *, stratify: bool = True, random_state: Any = None
) -> Iterator[tuple[int, int, np.ndarray, np.ndarray]]:
    """The 5x2cv splits as ``(repeat, fold, train, test)``: five repetitions of 2-fold CV.

    Dietterich (1998): each repetition halves the data (stratified by ``y`` by default)
    and each half is the test set once.

    Examples
    --------
    >>> y = np.array([0, 1] * 10)
    >>> splits = list(five_by_two(y, random_state=0))
    >>> len(splits), [(r, f) for r, f, _, _ in splits[:3]], len(splits[0][3])
    (10, [(0, 0), (0, 1), (1, 0)], 10)
    """
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
    splits = holdout_splits(
        y, n_rounds=n_repeats, test_size=test_size, stratify=stratify, random_state=random_state
    )
    for i, (train, test) in enumerate(splits):
        yield i, train, test
