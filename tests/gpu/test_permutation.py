"""Permutation tests: exact and Monte Carlo p-values against scipy.stats.permutation_test
(fixtures), the null distribution of p-values, alternatives and the reported details."""

from __future__ import annotations

import json
import math
from typing import Any

import jsonschema
import numpy as np
import pytest
from scipy import stats

from varkit.gpu import permutation_test
from varkit.results import ResultSet, load_json_schema

ALTERNATIVES = ["two-sided", "less", "greater"]


def _run(entry: dict[str, Any], alternative: str, **kwargs: Any) -> Any:
    return permutation_test(
        entry["x"],
        entry["y"],
        paired=entry["paired"],
        alternative=alternative,
        device="cpu",
        **kwargs,
    )


@pytest.mark.parametrize("case", ["paired_exact", "independent_exact"])
@pytest.mark.parametrize("alternative", ALTERNATIVES)
def test_exact_pvalues_equal_scipy(
    scipy_reference: dict[str, Any], case: str, alternative: str
) -> None:
    entry = scipy_reference["permutation"][case]
    ref = entry[alternative]
    result = _run(entry, alternative, random_state=0)
    assert result.details["exact"] is True
    assert result.details["n_permutations"] == ref["n_resamples"]
    assert result.statistic == pytest.approx(ref["statistic"], rel=1e-12)
    assert result.pvalue == pytest.approx(ref["pvalue"], rel=1e-12)


@pytest.mark.parametrize("case", ["paired_mc", "independent_mc"])
@pytest.mark.parametrize("alternative", ALTERNATIVES)
def test_monte_carlo_pvalues_agree_with_scipy(
    scipy_reference: dict[str, Any], case: str, alternative: str
) -> None:
    # Both are binomial estimates of the same p: sd sqrt(p (1 - p) / B) for each of
    # varkit (B = 9999) and scipy (B = 200,000, stored); two-sided doubles it. 4 sd allowed.
    entry = scipy_reference["permutation"][case]
    ref = entry[alternative]
    result = _run(entry, alternative, random_state=11, n_resamples=9999)
    assert result.details["exact"] is False and result.details["n_permutations"] == 9999
    p = ref["pvalue"]
    one_sided = p / 2 if alternative == "two-sided" else p
    factor = 2.0 if alternative == "two-sided" else 1.0
    sd = factor * math.sqrt(one_sided * (1 - one_sided) * (1 / 9999 + 1 / ref["n_resamples"]))
    assert abs(result.pvalue - p) <= 4 * sd, (result.pvalue, p, sd)


@pytest.mark.parametrize("paired", [True, False])
def test_pvalues_under_the_null_are_uniform(paired: bool, one_numba_thread: None) -> None:
    # 400 null data sets (skewed, so the test is not trivially symmetric for the
    # unpaired case): the rejection rate at 5% is within 3 binomial sd of 0.05 and the
    # p-values pass a KS test of uniformity (p-values are discrete, (k+1)/1000; at this
    # resolution that does not matter to KS).
    rng = np.random.default_rng(31 if paired else 32)
    n_sets = 400
    pvalues = np.empty(n_sets)
    for i in range(n_sets):
        if paired:
            x = rng.normal(size=25)
            y = x + rng.normal(size=25)  # exchangeable pairs: d symmetric about 0
            y, x = x, y
        else:
            x = rng.exponential(size=20)
            y = rng.exponential(size=17)
        r = permutation_test(x, y, paired=paired, n_resamples=999, random_state=i, device="cpu")
        pvalues[i] = r.pvalue
    rate = np.mean(pvalues <= 0.05)
    assert abs(rate - 0.05) <= 3 * math.sqrt(0.05 * 0.95 / n_sets), rate
    assert stats.kstest(pvalues, "uniform").pvalue > 1e-3


def test_pvalues_under_an_alternative_are_small() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(0.8, 1.0, size=30)
    y = rng.normal(0.0, 1.0, size=30)
    assert permutation_test(x, y, random_state=0, device="cpu").pvalue < 0.01
    assert permutation_test(x, y, paired=True, random_state=0, device="cpu").pvalue < 0.01


@pytest.mark.parametrize("paired", [True, False])
def test_alternatives_point_the_right_way(paired: bool) -> None:
    rng = np.random.default_rng(8)
    x = rng.normal(1.0, 1.0, size=40)
    y = rng.normal(0.0, 1.0, size=40)
    p = {
        alt: permutation_test(
            x, y, paired=paired, alternative=alt, random_state=3, device="cpu"
        ).pvalue
        for alt in ALTERNATIVES
    }
    assert p["greater"] < 0.05 < 0.95 < p["less"]
    assert p["two-sided"] == pytest.approx(min(1.0, 2 * min(p["less"], p["greater"])))
    # Monte Carlo: (k_less + 1) + (k_greater + 1) >= B + 2 (ties count in both)
    assert p["less"] + p["greater"] >= 1.0 + 1.0 / 10000 - 1e-12


def test_exact_one_sided_pvalues_add_to_one_plus_the_tie_probability() -> None:
    x = np.array([1.0, -2.0, 3.0, 4.0, -1.0, 2.0])  # integer values: ties in the null
    p_less = permutation_test(x, paired=True, alternative="less", device="cpu").pvalue
    p_greater = permutation_test(x, paired=True, alternative="greater", device="cpu").pvalue
    signs = 1 - 2 * np.array(np.meshgrid(*[[0, 1]] * 6)).reshape(6, -1).T
    null = (signs * x).mean(axis=1)
    ties = np.mean(np.isclose(null, x.mean()))
    assert p_less + p_greater == pytest.approx(1.0 + ties, rel=1e-12)


def test_a_one_sample_test_is_a_paired_test_against_zero() -> None:
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=30), rng.normal(size=30)
    one = permutation_test(x - y, paired=True, random_state=4, device="cpu")
    two = permutation_test(x, y, paired=True, random_state=4, device="cpu")
    assert one.pvalue == two.pvalue and one.statistic == pytest.approx(two.statistic)


def test_exact_when_the_permutations_fit_in_n_resamples() -> None:
    x = np.arange(1.0, 9.0) - 3.5  # n = 8: 256 sign vectors
    assert permutation_test(x, paired=True, n_resamples=256, device="cpu").details["exact"]
    mc = permutation_test(x, paired=True, n_resamples=255, random_state=1, device="cpu")
    assert mc.details["exact"] is False
    assert mc.details["n_possible"] == 256 and mc.details["seed"] == 1
    exact = permutation_test(x, paired=True, device="cpu")
    assert exact.details["seed"] is None and exact.details["n_permutations"] == 256


@pytest.mark.parametrize("paired", [True, False])
def test_a_callable_mean_difference_gives_the_named_statistic_s_pvalue(paired: bool) -> None:
    # Same counter-based signs / shuffles on the callable path (array code) and the named
    # path (compiled kernels): the same null distribution, hence the same p-value.
    rng = np.random.default_rng(6)
    x, y = rng.exponential(size=35), rng.exponential(1.3, size=35)

    def mean_difference(*args: np.ndarray, axis: int = -1) -> np.ndarray:
        if len(args) == 1:  # paired: the sign-flipped differences
            return np.mean(args[0], axis=axis)
        return np.mean(args[0], axis=axis) - np.mean(args[1], axis=axis)

    named = permutation_test(x, y, paired=paired, n_resamples=2000, random_state=9, device="cpu")
    custom = permutation_test(
        x,
        y,
        paired=paired,
        statistic=mean_difference,
        n_resamples=2000,
        random_state=9,
        device="cpu",
    )
    assert custom.statistic == pytest.approx(named.statistic, rel=1e-12)
    assert custom.pvalue == named.pvalue
    assert custom.metric == "mean_difference"


def test_a_callable_statistic_exact_test() -> None:
    x = np.array([0.3, 1.2, -0.4, 2.2, 0.9])
    y = np.array([-0.1, 0.0, 0.4, -1.3])

    def median_difference(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.median(a, axis=axis) - np.median(b, axis=axis)

    result = permutation_test(x, y, statistic=median_difference, device="cpu")
    pooled = np.concatenate([x, y])
    from itertools import combinations

    null = []
    for chosen in combinations(range(9), 5):
        mask = np.zeros(9, bool)
        mask[list(chosen)] = True
        null.append(np.median(pooled[mask]) - np.median(pooled[~mask]))
    observed = np.median(x) - np.median(y)
    expected = 2 * min(np.mean(np.array(null) >= observed), np.mean(np.array(null) <= observed))
    assert result.details["exact"] and result.pvalue == pytest.approx(min(1.0, expected))


@pytest.mark.parametrize(("n_x", "n_y", "paired"), [(1100, 1100, True), (700, 700, False)])
def test_large_samples_do_not_overflow_the_count_of_permutations(
    n_x: int, n_y: int, paired: bool
) -> None:
    # 2^1100 sign vectors and C(1400, 700) relabellings exceed the float range: the
    # count reported in details must not turn into an OverflowError.
    rng = np.random.default_rng(0)
    result = permutation_test(
        rng.normal(size=n_x),
        rng.normal(size=n_y),
        paired=paired,
        n_resamples=200,
        random_state=0,
        device="cpu",
    )
    assert result.details["exact"] is False
    assert 0.0 < result.pvalue <= 1.0
    document = ResultSet([result]).to_json()  # the count stays JSON-able
    jsonschema.validate(json.loads(document), load_json_schema())
