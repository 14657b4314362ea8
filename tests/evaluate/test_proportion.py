import math

import numpy as np
import pytest
from scipy import stats

from varkit.evaluate import proportion_ci, proportion_difference


@pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 10), (81, 100), (100, 100), (7, 2000)])
def test_wilson_and_clopper_pearson_match_scipy_binomtest(k, n):
    for method, scipy_name in (("wilson", "wilson"), ("clopper-pearson", "exact")):
        ours = proportion_ci(k, n, method=method, confidence=0.9)
        ref = stats.binomtest(k, n).proportion_ci(confidence_level=0.9, method=scipy_name)
        assert ours.ci_low == pytest.approx(ref.low, abs=1e-9)
        assert ours.ci_high == pytest.approx(ref.high, abs=1e-9)


def test_jeffreys_is_beta_quantiles_with_edge_fixes():
    # Brown, Cai & DasGupta (2001): Beta(k + 1/2, n - k + 1/2) quantiles; 0 / 1 at the edges.
    r = proportion_ci(3, 20, method="jeffreys")
    lo, hi = stats.beta.ppf([0.025, 0.975], 3.5, 17.5)
    assert (r.ci_low, r.ci_high) == pytest.approx((lo, hi))
    assert proportion_ci(0, 20, method="jeffreys").ci_low == 0.0
    assert proportion_ci(20, 20, method="jeffreys").ci_high == 1.0


def test_normal_interval_is_raschka_eq4_and_clipped():
    r = proportion_ci(95, 100, method="normal")
    half = 1.959963984540054 * math.sqrt(0.95 * 0.05 / 100)
    assert (r.ci_low, r.ci_high) == pytest.approx((0.95 - half, min(0.95 + half, 1.0)))
    assert r.ci_high <= 1.0
    assert r.stderr == pytest.approx(math.sqrt(0.95 * 0.05 / 100))


@pytest.mark.parametrize(
    ("k", "n", "problem"),
    [(5, 4, "exceed"), (-1, 4, "at least"), (1, 0, "at least"), (1.5, 4, "integer")],
)
def test_proportion_ci_rejects_bad_counts(k, n, problem):
    with pytest.raises((ValueError, TypeError), match=problem):
        proportion_ci(k, n)


def test_proportion_ci_rejects_unknown_method():
    with pytest.raises(ValueError, match="`method`"):
        proportion_ci(1, 4, method="wald")


def test_proportion_difference_two_sided_unpooled_and_pooled():
    # Method note, pitfall 4: (.92, .84, n=100) two-sided p .0794 unpooled, .0817 pooled.
    r = proportion_difference(0.92, 0.84, 100)
    assert r.pvalue == pytest.approx(0.0794, abs=5e-5)
    assert r.alternative == "two-sided"
    assert proportion_difference(0.92, 0.84, 100, pooled=True).pvalue == pytest.approx(
        0.0817, abs=5e-5
    )
    # mlxtend's p-value is Phi(z) = .9603, our 'less' alternative.
    assert proportion_difference(0.92, 0.84, 100, alternative="less").pvalue == pytest.approx(
        0.9603, abs=5e-5
    )


def test_proportion_difference_interval_contains_estimate():
    r = proportion_difference(0.7, 0.6, 200, 300)
    se = math.sqrt(0.7 * 0.3 / 200 + 0.6 * 0.4 / 300)
    assert r.stderr == pytest.approx(se)
    assert r.ci_low == pytest.approx(0.1 - 1.959963984540054 * se)


def test_proportion_difference_rejects_out_of_range():
    with pytest.raises(ValueError, match="`p1`"):
        proportion_difference(1.2, 0.5, 10)
    with pytest.raises(ValueError, match="`alternative`"):
        proportion_difference(0.2, 0.5, 10, alternative="both")


def _coverage(method: str, p: float, n: int, reps: int, seed: int) -> float:
    counts = np.random.default_rng(seed).binomial(n, p, size=reps)
    hits = 0
    for k in counts:
        r = proportion_ci(int(k), n, method=method)
        hits += r.ci_low <= p <= r.ci_high
    return hits / reps


@pytest.mark.parametrize("method", ["wilson", "clopper-pearson", "jeffreys"])
def test_proportion_ci_coverage_is_95_percent(method):
    reps = 2000
    cover = _coverage(method, 0.3, 80, reps, seed=7)
    mc_se = math.sqrt(0.95 * 0.05 / reps)
    # Binomial intervals oscillate around nominal; Clopper-Pearson is conservative.
    assert cover > 0.95 - 3 * mc_se - 0.01
    assert cover < 0.995


def test_proportion_difference_coverage():
    rng = np.random.default_rng(3)
    reps, n1, n2, p1, p2 = 2000, 300, 250, 0.8, 0.7
    k1, k2 = rng.binomial(n1, p1, reps), rng.binomial(n2, p2, reps)
    hits = sum(
        (r := proportion_difference(a / n1, b / n2, n1, n2)).ci_low <= p1 - p2 <= r.ci_high
        for a, b in zip(k1, k2, strict=True)
    )
    assert abs(hits / reps - 0.95) < 3 * math.sqrt(0.95 * 0.05 / reps) + 0.005


def test_normal_interval_at_zero_and_all_events_takes_the_exact_bound():
    # A zero-event Wald interval is [0, 0]; the open side is Clopper-Pearson's, whose
    # two-sided upper bound at 0 of n is 1 - (alpha/2)^(1/n) (0.0712 for n = 50).
    r = proportion_ci(0, 50, method="normal")
    assert (r.ci_low, r.ci_high) == (0.0, pytest.approx(1 - 0.025 ** (1 / 50)))
    assert "Clopper-Pearson" in r.details["edge"]
    r = proportion_ci(50, 50, method="normal")
    assert (r.ci_low, r.ci_high) == (pytest.approx(0.025 ** (1 / 50)), 1.0)


def test_normal_interval_states_its_clipping():
    r = proportion_ci(1, 10, method="normal")
    assert r.ci_low == 0.0 and "ci_low clipped" in r.details["truncated"]


@pytest.mark.parametrize(("p", "n"), [(0.002, 50), (0.998, 50)])
def test_normal_interval_coverage_near_the_edges(p, n):
    counts = np.random.default_rng(17).binomial(n, p, size=300)
    cover = [(r := proportion_ci(int(k), n, method="normal")).ci_low <= p <= r.ci_high
             for k in counts]  # fmt: skip
    assert np.mean(cover) >= 0.93


def test_difference_of_edge_proportions_is_newcombe_not_a_point():
    # Newcombe (1998) method 10 from Wilson bounds: at p1 = p2 = 0 with n = 30 each the
    # bounds are -+ the Wilson upper bound z^2 / (n + z^2) of 0 of 30.
    z = stats.norm.ppf(0.975)
    r = proportion_difference(0.0, 0.0, 30)
    assert (r.ci_low, r.ci_high) == pytest.approx((-z * z / (30 + z * z), z * z / (30 + z * z)))
    assert r.details["interval"] == "newcombe-wilson"
    r = proportion_difference(1.0, 0.0, 30)
    assert r.ci_low < 1.0 == r.ci_high == r.estimate


@pytest.mark.parametrize("p", [0.001, 0.999])
def test_difference_coverage_when_both_proportions_sit_at_an_edge(p):
    rng = np.random.default_rng(18)
    a, b = rng.binomial(100, p, size=(2, 300))
    cover = [(r := proportion_difference(x / 100, y / 100, 100)).ci_low <= 0 <= r.ci_high
             for x, y in zip(a, b, strict=True)]  # fmt: skip
    assert np.mean(cover) >= 0.93
