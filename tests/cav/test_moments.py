"""Mergeable sums: merging the cells of any split equals the cells of the whole log."""

import numpy as np
import pytest

from varkit.cav.moments import cell_moments, fold_ids, merge_cells, ols_from_moments


def _log(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    level = rng.integers(0, 4, n)
    h = rng.standard_normal((n, 3)) + 5.0  # a non-zero mean: raw sums would cancel
    h[:, 2] = 1.0 + 1e-5 * rng.standard_normal(n)  # a small spread around 1
    w = rng.uniform(0.5, 2.0, n)
    y = (rng.random(n) < 0.1).astype(float)
    return y * w, y, level, h, w


@pytest.mark.parametrize("parts", [2, 3, 7])
def test_merged_cells_equal_the_whole(parts):
    z, y, level, h, w = _log()
    fold = fold_ids(np.arange(z.size), seed=4, crossfit=2)
    whole = cell_moments(z, y, level, h, fold, w)
    cuts = np.array_split(np.random.default_rng(1).permutation(z.size), parts)
    merged = {}
    for rows in cuts:
        merged = merge_cells(
            merged, cell_moments(z[rows], y[rows], level[rows], h[rows], fold[rows], w[rows])
        )
    assert set(merged) == set(whole)
    for key, a in whole.items():
        b = merged[key]
        assert (a.n, a.crashes) == (b.n, b.crashes)
        for name in ("sw", "sww", "zbar", "czz", "hbar", "chh", "chz", "hmin", "hmax"):
            np.testing.assert_allclose(getattr(b, name), getattr(a, name), rtol=1e-9, atol=0)


def test_ols_from_moments_equals_lstsq_on_the_rows():
    z, y, level, h, w = _log()
    cells = cell_moments(z, y, np.zeros(z.size, np.int64), h, np.zeros(z.size, np.int64), w)
    intercept, beta = ols_from_moments(cells[(0, 0)], np.arange(3))
    coef = np.linalg.lstsq(np.column_stack([np.ones(z.size), h]), z, rcond=None)[0]
    np.testing.assert_allclose(beta, coef[1:], rtol=1e-6)
    assert intercept == pytest.approx(coef[0], rel=1e-6)
