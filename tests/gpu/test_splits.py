"""Repeated split generators: partitions, stratification and reproducibility."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from varkit.gpu import five_by_two, repeated_holdout, repeated_kfold

Y = np.array([0] * 30 + [1] * 12 + [2] * 18)


@pytest.mark.parametrize("stratify", [True, False])
@pytest.mark.parametrize(("n_splits", "n_repeats"), [(2, 5), (5, 3), (10, 2)])
def test_repeated_kfold_partitions_the_rows_in_every_repeat(
    stratify: bool, n_splits: int, n_repeats: int
) -> None:
    splits = list(
        repeated_kfold(Y, n_splits=n_splits, n_repeats=n_repeats, stratify=stratify, random_state=0)
    )
    assert len(splits) == n_splits * n_repeats
    assert [(r, f) for r, f, _, _ in splits] == [
        (r, f) for r in range(n_repeats) for f in range(n_splits)
    ]
    for repeat in range(n_repeats):
        tests = [test for r, _, _, test in splits if r == repeat]
        assert sorted(np.concatenate(tests).tolist()) == list(range(Y.size))  # disjoint cover
    for _, _, train, test in splits:
        assert np.intersect1d(train, test).size == 0
        assert train.size + test.size == Y.size
        assert abs(test.size - Y.size / n_splits) <= 1 + (0 if not stratify else 2)


def test_stratified_folds_keep_the_class_proportions() -> None:
    for _, _, _, test in repeated_kfold(Y, n_splits=6, n_repeats=2, random_state=1):
        counts = Counter(Y[test].tolist())
        assert counts == {0: 5, 1: 2, 2: 3}


def test_repeats_shuffle_differently() -> None:
    splits = list(repeated_kfold(Y, n_splits=3, n_repeats=2, random_state=2))
    assert not np.array_equal(np.sort(splits[0][3]), np.sort(splits[3][3]))


@pytest.mark.parametrize("seed", [0, 42])
def test_splits_are_reproducible_with_a_seed(seed: int) -> None:
    def run(random_state: object) -> list[list[int]]:
        return [t.tolist() for *_, t in repeated_kfold(Y, n_repeats=2, random_state=random_state)]

    assert run(seed) == run(seed)
    assert run(np.random.default_rng(seed)) == run(np.random.default_rng(seed))
    assert run(seed) != run(seed + 1)


def test_five_by_two_is_five_repeats_of_two_fold_cv() -> None:
    splits = list(five_by_two(Y, random_state=3))
    assert len(splits) == 10
    for repeat in range(5):
        (_, f0, train0, test0), (_, f1, train1, test1) = [s for s in splits if s[0] == repeat]
        assert (f0, f1) == (0, 1)
        # the two folds swap roles: each half is trained on once and tested on once
        assert np.array_equal(np.sort(train0), np.sort(test1))
        assert np.array_equal(np.sort(test0), np.sort(train1))
    again = [t.tolist() for *_, t in five_by_two(Y, random_state=3)]
    assert again == [t.tolist() for *_, t in splits]


@pytest.mark.parametrize("stratify", [True, False])
def test_repeated_holdout_sizes_disjointness_and_reproducibility(stratify: bool) -> None:
    splits = list(
        repeated_holdout(Y, test_size=0.25, n_repeats=4, stratify=stratify, random_state=5)
    )
    assert [r for r, _, _ in splits] == [0, 1, 2, 3]
    for _, train, test in splits:
        assert test.size == 15 and train.size == 45
        assert np.union1d(train, test).tolist() == list(range(Y.size))
        assert np.intersect1d(train, test).size == 0
    again = list(
        repeated_holdout(Y, test_size=0.25, n_repeats=4, stratify=stratify, random_state=5)
    )
    assert all(np.array_equal(a[2], b[2]) for a, b in zip(splits, again, strict=True))
    assert not np.array_equal(splits[0][2], splits[1][2])


def test_stratified_holdout_keeps_the_class_proportions() -> None:
    y = np.array([0] * 80 + [1] * 20)
    for _, _, test in repeated_holdout(y, test_size=0.3, n_repeats=5, random_state=0):
        assert Counter(y[test].tolist()) == {0: 24, 1: 6}
