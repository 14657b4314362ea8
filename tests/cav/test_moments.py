"""Mergeable sums: merging the cells of any split equals the cells of the whole log."""

import numpy as np
import pytest

from varkit.cav.moments import (
    cell_moments,
    fold_ids,
    merge_cells,
    ols_from_moments,
    screen_controls,
)


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


def test_merged_power_sums_equal_the_two_pass_sums():
    # Pebay's merge of the centred third and fourth power sums, against numpy on the rows.
    z, y, level, h, w = _log(2000, seed=4)
    h = np.column_stack([h, np.exp(2 * np.random.default_rng(1).standard_normal(2000))])
    fold = np.zeros(z.size, dtype=np.int64)
    parts = [
        cell_moments(z[s], y[s], level[s] * 0, h[s], fold[s], w[s])
        for s in np.array_split(np.arange(z.size), 5)
    ]
    merged = parts[0]
    for p in parts[1:]:
        merged = merge_cells(merged, p)
    c = h - h.mean(axis=0)
    np.testing.assert_allclose(merged[(0, 0)].ch3, (c**3).sum(axis=0), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(merged[(0, 0)].ch4, (c**4).sum(axis=0), rtol=1e-9)


def test_screen_drops_controls_whose_mean_rests_on_values_not_seen():
    rng = np.random.default_rng(3)
    n = 1000
    good = rng.standard_normal(n)  # an ordinary control: kept
    # mean 0 only through a +1 with probability 2.5e-4, unseen here
    rare = -2.5e-4 * (1 + 0.1 * rng.random(n))
    spike = np.zeros(n)
    spike[7] = 0.7  # one test carries all of its variance
    h = np.column_stack([good, rare, spike, np.zeros(n)])
    z = (rng.random(n) < 0.2) * 1.0
    cells = cell_moments(z, z, np.zeros(n, int), h, np.zeros(n, int))
    kept, dropped = screen_controls(cells[(0, 0)], np.arange(4), ["good", "rare", "spike", "zero"])
    assert kept.tolist() == [0]
    why = {d["control"]: d["reason"] for d in dropped}
    assert why["zero"] == "zero variance"
    assert why["spike"].startswith("near-constant: its variance sits in 1.0 of 1000 tests")
    assert "standard errors from its known mean" in why["rare"]
    # Owen-Zhou's zero-variance case: a control that reproduces Z is kept whatever its tail
    heavy = np.where(rng.random(n) < 0.01, 50.0, 0.5)
    cells = cell_moments(
        heavy, np.ones(n), np.zeros(n, int), (heavy - 1.0)[:, None], np.zeros(n, int)
    )
    assert screen_controls(cells[(0, 0)], np.arange(1))[0].tolist() == [0]
