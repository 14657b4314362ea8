"""The compiled kernels against the plain array code they are specified by.

``replicate_sums(..., compiled=False)`` is the reference: counter_rng's arrays of weights
or indices, summed with NumPy. The numba kernels must give the same replicate sums to
floating-point summation order (1e-9 relative), for both schemes, with strata, with
clusters and for one to four columns. The permutation kernels are checked against the
array functions in ``permutation.py`` the same way.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from varkit.gpu import _numba_kernels
from varkit.gpu import counter_rng as crng
from varkit.gpu.backend import resolve_device
from varkit.gpu.permutation import _shuffled, _sign_matrix
from varkit.gpu.replicates import _array_multinomial, _numba_multinomial, replicate_sums
from varkit.gpu.statistics import LinearProblem, build_problem

CPU = resolve_device("cpu")
RTOL = 1e-9


def _problem(n_units: int, n_cols: int, n_strata: int, seed: int = 0) -> LinearProblem:
    """A statistic of sums with ``n_cols`` columns over stratum-sorted units."""
    rng = np.random.default_rng(seed)
    z = rng.lognormal(size=(n_units, n_cols))
    cuts = np.sort(rng.choice(np.arange(1, n_units), size=n_strata - 1, replace=False))
    bounds = np.concatenate([[0], cuts, [n_units]]).astype(np.int64)
    return LinearProblem(
        name="sums",
        z=z,
        bounds=bounds,
        unit_ids=rng.permutation(n_units).astype(np.uint64),
        samples=np.zeros(n_units, np.int64),
        combine=lambda s: s[..., 0],
        n_rows=n_units,
    )


def _both(problem: LinearProblem, scheme: str, n_resamples: int = 300, seed: int = 4):
    kw = dict(scheme=scheme, seed=seed, n_resamples=n_resamples, backend=CPU)
    return (
        replicate_sums(problem, compiled=True, **kw),
        replicate_sums(problem, compiled=False, **kw),
    )


@pytest.mark.parametrize("scheme", ["multinomial", "poisson"])
@pytest.mark.parametrize("n_cols", [1, 2, 3, 4])
@pytest.mark.parametrize("n_strata", [1, 3])
def test_compiled_kernels_equal_the_array_reference(
    scheme: str, n_cols: int, n_strata: int
) -> None:
    # 2500 units: more than one of the Poisson kernel's 2048-row blocks.
    problem = _problem(2500, n_cols, n_strata, seed=n_cols)
    compiled, reference = _both(problem, scheme)
    assert compiled.shape == reference.shape == (300, n_cols)
    np.testing.assert_allclose(compiled, reference, rtol=RTOL)


@pytest.mark.parametrize("scheme", ["multinomial", "poisson"])
@pytest.mark.parametrize(
    ("statistic", "data", "kwargs"),
    [
        ("mean", "x", {}),
        ("sum", "x", {}),
        ("proportion", "b", {}),
        ("ratio", ("x", "w"), {}),
        ("weighted_mean", ("x", "w"), {}),
        ("mean_difference", ("x", "y"), {}),
        ("mean_difference", ("x", "x2"), {"paired": True}),
        ("mean", "x", {"strata": "strata"}),
        ("mean", "x", {"clusters": "clusters"}),
        ("ratio", ("x", "w"), {"strata": "strata", "clusters": "clusters"}),
        ("mean_difference", ("x", "y"), {"clusters": "both_clusters"}),
    ],
)
def test_compiled_kernels_equal_the_array_reference_for_named_statistics(
    scheme: str, statistic: str, data: object, kwargs: dict[str, object]
) -> None:
    rng = np.random.default_rng(1)
    pool = {
        "x": rng.exponential(size=400),
        "x2": rng.exponential(size=400),
        "y": rng.exponential(size=250),
        "w": rng.uniform(0.5, 2.0, size=400),
        "b": rng.integers(0, 2, size=400),
        "strata": np.repeat(["a", "b", "c", "d"], 100),
        # 80 clusters of 5 rows, nested in the 4 strata
        "clusters": np.repeat(np.arange(80), 5),
        "both_clusters": np.repeat(np.arange(130), 5),
    }
    args = tuple(pool[d] for d in data) if isinstance(data, tuple) else pool[str(data)]
    options = {k: v if isinstance(v, bool) else pool[v] for k, v in kwargs.items()}
    problem = build_problem(statistic, args, **options)
    compiled, reference = _both(problem, scheme, n_resamples=200)
    np.testing.assert_allclose(compiled, reference, rtol=RTOL)
    np.testing.assert_allclose(
        problem.combine(compiled), problem.combine(reference), rtol=RTOL, equal_nan=True
    )


def test_multinomial_reference_equals_counts_times_data() -> None:
    # The definition: replicate b draws n indices uniformly; its sums are counts @ z.
    problem = _problem(150, 2, 1)
    keys = crng.replicate_keys(4, 0, 300)
    idx = crng.uniform_indices(keys, crng.unit_offsets(np.arange(150)), 150)
    counts = np.stack([np.bincount(row, minlength=150) for row in idx])
    compiled, reference = _both(problem, "multinomial")
    np.testing.assert_allclose(reference, counts @ problem.z, rtol=1e-12)


def test_poisson_reference_equals_weights_times_data() -> None:
    problem = _problem(150, 2, 1)
    keys = crng.replicate_keys(4, 0, 300)
    weights = crng.poisson_weights(keys, crng.unit_offsets(problem.unit_ids)).astype(float)
    compiled, reference = _both(problem, "poisson")
    np.testing.assert_allclose(reference, weights @ problem.z, rtol=1e-12)


@pytest.mark.parametrize("kernel", [_numba_multinomial, _array_multinomial])
def test_multinomial_draws_keep_every_stratum_size(kernel: Any) -> None:
    # z = stratum indicators: every replicate's sums are the stratum sizes, exactly.
    # (The kernels are called directly: replicate_sums skips such within-stratum constant
    # columns, so it would not exercise them.)
    sizes = [7, 1, 30, 12]
    bounds = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    n = int(bounds[-1])
    z = np.zeros((n, len(sizes)))
    for h, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        z[lo:hi, h] = 1.0
    problem = LinearProblem(
        "sizes", z, bounds, np.arange(n, dtype=np.uint64), np.zeros(n, np.int64), lambda s: s, n
    )
    keys = crng.replicate_keys(0, 0, 100)
    offsets = crng.unit_offsets(problem.unit_ids)
    sums = kernel(problem, z, offsets, keys, CPU)
    assert np.array_equal(sums, np.tile(np.asarray(sizes, float), (100, 1)))


def test_replicate_sums_of_within_stratum_constant_columns_are_exact() -> None:
    problem = build_problem("mean", np.arange(12.0), strata=np.repeat([0, 1, 2], 4))
    for compiled in (True, False):
        sums = replicate_sums(
            problem, scheme="multinomial", seed=1, n_resamples=50, backend=CPU, compiled=compiled
        )
        assert np.array_equal(sums[:, 1], np.full(50, 12.0))
        # within each stratum the draws are of that stratum: the grand sum stays in range
        assert np.all(
            (sums[:, 0] >= 0 * 4 + 4 * 4 + 8 * 4) & (sums[:, 0] <= 3 * 4 + 7 * 4 + 11 * 4)
        )


def test_progress_is_told_every_replicate() -> None:
    done: list[int] = []
    problem = _problem(100, 1, 1)
    replicate_sums(
        problem,
        scheme="poisson",
        seed=0,
        n_resamples=1000,
        backend=CPU,
        batch=300,
        progress=done.append,
    )
    assert done == [300, 300, 300, 100]


# -- permutation kernels --------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 5, 63, 64, 65, 200])
def test_sign_flip_kernel_equals_the_sign_matrix_reference(n: int) -> None:
    values = np.random.default_rng(n).normal(size=n)
    keys = crng.replicate_keys(21, 0, 400)
    signs = _sign_matrix(keys, n, np)
    assert signs.shape == (400, n)
    assert set(np.unique(signs).tolist()) <= {-1.0, 1.0}
    kernel = _numba_kernels.sign_flip_sums(values, keys, np.zeros(400))
    np.testing.assert_allclose(kernel, signs @ values, rtol=RTOL, atol=1e-12)


def test_sign_matrix_signs_are_fair_and_independent_of_position() -> None:
    keys = crng.replicate_keys(22, 0, 4000)
    signs = _sign_matrix(keys, 130, np)
    # each column's mean is 0 within 5 sd (sd = 1/sqrt(4000)); neighbours uncorrelated
    assert np.max(np.abs(signs.mean(axis=0))) < 5.0 / np.sqrt(4000)
    corr = np.corrcoef(signs[:, :-1].ravel(), signs[:, 1:].ravel())[0, 1]
    assert abs(corr) < 5.0 / np.sqrt(signs.size)


@pytest.mark.parametrize(("n", "n_first"), [(2, 1), (10, 3), (50, 25), (61, 60), (40, 40)])
def test_shuffle_kernel_equals_the_fisher_yates_reference(n: int, n_first: int) -> None:
    pooled = np.random.default_rng(n).normal(size=n)
    keys = crng.replicate_keys(31, 0, 300)
    perm = _shuffled(pooled, n_first, keys)
    # every row is a permutation of the pooled values
    assert np.array_equal(np.sort(perm, axis=1), np.tile(np.sort(pooled), (300, 1)))
    kernel = _numba_kernels.shuffle_subset_sums(pooled, n_first, keys, np.zeros(300))
    np.testing.assert_allclose(kernel, perm[:, n - n_first :].sum(axis=1), rtol=RTOL, atol=1e-12)


def test_shuffled_subsets_are_uniform_over_all_subsets() -> None:
    # n=5, 2 chosen: 10 subsets, each with probability 1/10 (chi-square, fixed seed).
    from scipy import stats

    pooled = np.array([1.0, 2.0, 4.0, 8.0, 16.0])  # subset sums identify subsets
    keys = crng.replicate_keys(41, 0, 20000)
    sums = _numba_kernels.shuffle_subset_sums(pooled, 2, keys, np.zeros(20000))
    values, counts = np.unique(sums, return_counts=True)
    assert values.size == 10
    assert stats.chisquare(counts).pvalue > 1e-4
