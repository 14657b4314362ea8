"""Tests of varkit.evaluate.bayesian against baycomp 1.0.3 (fixtures/make_bayesian.py)."""

from __future__ import annotations

import inspect
import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from varkit.errors import VarkitError
from varkit.evaluate import (
    bayesian_correlated_ttest,
    bayesian_sign_test,
    bayesian_signed_rank,
    compare_scores,
    corrected_resampled_ttest,
)

from .conftest import FIXTURES

REFERENCE = json.loads((FIXTURES / "bayesian.json").read_text())
CORRELATED = {case["name"]: case for case in REFERENCE["correlated_ttest"]}
MULTIPLE = {case["name"]: case for case in REFERENCE["multiple"]}
N_SAMPLES = 100_000


def varkit_orientation(baycomp_probs: list[float]) -> list[float]:
    """baycomp's (p_left, p_rope, p_right) of f(x, y) on y - x, as varkit's on x - y."""
    return baycomp_probs[::-1]


def probs(result: Any) -> list[float]:
    return [result.details[k] for k in ("p_left", "p_rope", "p_right")]


@pytest.mark.parametrize("name", sorted(CORRELATED))
def test_correlated_ttest_agrees_with_baycomp(name: str) -> None:
    case = CORRELATED[name]
    diffs = np.array(case["x"]) - np.array(case["y"])
    fraction = case.get("varkit_test_fraction")
    if isinstance(fraction, list):
        fraction = tuple(fraction)
    runs = 1 if fraction is not None else case["runs"]
    r = bayesian_correlated_ttest(diffs, rope=case["rope"], runs=runs, test_fraction=fraction)
    ref = case["baycomp"]
    assert probs(r) == pytest.approx(varkit_orientation(ref["probs"]), abs=1e-10)
    assert r.details["posterior_loc"] == pytest.approx(-ref["mean"], abs=1e-14)
    assert r.details["posterior_scale"] == pytest.approx(math.sqrt(ref["var"]), rel=1e-10)
    assert r.details["posterior_df"] == ref["df"]
    assert r.estimate == r.details["posterior_loc"]
    assert r.ci_low <= r.estimate <= r.ci_high


def test_correlated_interval_is_the_student_posterior_interval() -> None:
    case = CORRELATED["10-fold rope"]
    diffs = np.array(case["x"]) - np.array(case["y"])
    r = bayesian_correlated_ttest(diffs, rope=0.01, confidence=0.9)
    ref = case["baycomp"]
    # baycomp's posterior, checked above: Student t(df, -mean, sqrt(var))
    from scipy import stats

    low, high = stats.t(ref["df"], loc=-ref["mean"], scale=math.sqrt(ref["var"])).interval(0.9)
    assert (r.ci_low, r.ci_high) == pytest.approx((low, high), rel=1e-12)
    # and, numerically, the corrected resampled t interval with n_test / n_train = 1/9
    freq = corrected_resampled_ttest(diffs, n_train=90, n_test=10, confidence=0.9)
    assert (r.ci_low, r.ci_high) == pytest.approx((freq.ci_low, freq.ci_high), rel=1e-12)


def test_correlated_zero_variance_is_a_point() -> None:
    r = bayesian_correlated_ttest([0.02] * 5, rope=0.01)
    assert r.ci_low == r.ci_high == r.estimate == pytest.approx(0.02)
    assert probs(r) == [0.0, 0.0, 1.0]
    assert "zero_variance" in r.details and r.stderr == 0
    inside = bayesian_correlated_ttest([0.0] * 5)  # a point at 0 is inside the rope [0, 0]
    assert probs(inside) == [0.0, 1.0, 0.0] and inside.details["p_not_worse"] == 1.0


def test_correlated_orientation_positive_differences_mean_model_1_better() -> None:
    r = bayesian_correlated_ttest([0.03, 0.02, 0.04, 0.03, 0.025, 0.035], rope=0.005)
    assert r.details["p_right"] > 0.95 and r.details["p_left"] < 0.01
    assert r.details["p_not_worse"] == pytest.approx(r.details["p_right"] + r.details["p_rope"])
    assert r.metric == "score_difference" and r.method == "bayesian-correlated-t"


def test_correlated_test_fraction_share_and_pair_agree() -> None:
    d = np.array(CORRELATED["test fraction pair"]["x"]) - CORRELATED["test fraction pair"]["y"]
    share = bayesian_correlated_ttest(d, test_fraction=0.25)
    pair = bayesian_correlated_ttest(d, test_fraction=(75, 25))
    assert share.ci_low == pytest.approx(pair.ci_low) and share.stderr == pytest.approx(pair.stderr)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"diffs": []},
        {"diffs": [0.1]},
        {"diffs": [0.1, np.nan, 0.2]},
        {"diffs": [0.1, np.inf]},
        {"diffs": [[0.1, 0.2]]},
        {"diffs": "0.1, 0.2"},
        {"diffs": [0.1, "high"]},
        {"rope": -0.01},
        {"rope": np.nan},
        {"runs": 0},
        {"runs": 3},  # 4 values are not 3 runs
        {"runs": 4},  # one fold per run
        {"test_fraction": 0.0},
        {"test_fraction": 1.0},
        {"test_fraction": 1.5},
        {"test_fraction": (90,)},
        {"test_fraction": (0, 10)},
        {"confidence": 1.5},
    ],
)
def test_correlated_bad_inputs_raise(kwargs: dict[str, Any]) -> None:
    args = {"diffs": [0.01, 0.02, 0.0, 0.03], **kwargs}
    with pytest.raises(VarkitError):
        bayesian_correlated_ttest(args.pop("diffs"), **args)


def test_correlated_interval_covers_at_nominal_rate() -> None:
    """Correlated 10-fold differences (rho = n_test / n = 1/10): 95% coverage of the mean."""
    rng = np.random.default_rng(17)
    k, rho, sigma, mu = 10, 0.1, 0.02, 0.005
    cov = sigma**2 * ((1 - rho) * np.eye(k) + rho)
    draws = rng.multivariate_normal(np.full(k, mu), cov, size=1000)
    hits = [(lambda r: r.ci_low <= mu <= r.ci_high)(bayesian_correlated_ttest(d)) for d in draws]
    assert 0.93 <= np.mean(hits) <= 0.97  # binomial sd 0.007 around 0.95


def mc_tolerance(p: float, n_ours: int, n_theirs: int) -> float:
    """5 standard errors of the difference of two Monte Carlo estimates of p, plus slack."""
    return 5 * math.sqrt(max(p * (1 - p), 1e-4) * (1 / n_ours + 1 / n_theirs)) + 1e-4


@pytest.mark.parametrize("test", ["signed_rank", "sign"])
@pytest.mark.parametrize("name", sorted(MULTIPLE))
def test_multiple_agrees_with_baycomp(name: str, test: str) -> None:
    case = MULTIPLE[name]
    func = bayesian_signed_rank if test == "signed_rank" else bayesian_sign_test
    r = func(
        case["x"],
        case["y"],
        rope=case["rope"],
        prior=case["prior"],
        n_samples=N_SAMPLES,
        random_state=1,
    )
    expected = varkit_orientation(case["baycomp"][test])
    for ours, theirs in zip(probs(r), expected, strict=True):
        assert ours == pytest.approx(
            theirs, abs=mc_tolerance(theirs, N_SAMPLES, REFERENCE["n_samples"])
        )
    assert r.estimate == r.details["p_right"] and r.metric == "probability_better"
    assert sum(probs(r)) == pytest.approx(1.0)


@pytest.mark.parametrize("func", [bayesian_signed_rank, bayesian_sign_test])
def test_multiple_same_seed_same_probabilities(func: Any) -> None:
    x, y = MULTIPLE["10 data sets rope"]["x"], MULTIPLE["10 data sets rope"]["y"]
    a = func(x, y, rope=0.01, n_samples=3000, random_state=5)
    b = func(x, y, rope=0.01, n_samples=3000, random_state=5)
    c = func(x, y, rope=0.01, n_samples=3000, random_state=6)
    assert probs(a) == probs(b) and a.details["seed"] == 5
    assert probs(a) != probs(c)


@pytest.mark.parametrize("func", [bayesian_signed_rank, bayesian_sign_test])
def test_multiple_orientation_and_names(func: Any) -> None:
    x = np.linspace(0.7, 0.9, 12)
    r = func(x, x - 0.05, rope=0.01, n_samples=2000, random_state=0, names=("new", "old"))
    assert r.details["p_right"] > 0.95
    assert r.group == {"comparison": "new-old", "model_1": "new", "model_2": "old"}
    flipped = func(x - 0.05, x, rope=0.01, n_samples=2000, random_state=0)
    assert flipped.details["p_left"] > 0.95


def test_multiple_all_differences_zero_is_equivalence() -> None:
    x = [0.8, 0.7, 0.9]
    for func in (bayesian_signed_rank, bayesian_sign_test):
        for rope in (0.0, 0.01):
            r = func(x, x, rope=rope, n_samples=2000, random_state=0)
            if func is bayesian_signed_rank and rope == 0:
                # no rope: every pair mean is 0, so theta_left = theta_right = 1/2
                assert probs(r) == [0.5, 0.0, 0.5]
            else:
                assert probs(r) == [0.0, 1.0, 0.0]


def test_sign_test_takes_the_keywords_of_the_signed_rank_test() -> None:
    assert inspect.signature(bayesian_sign_test) == inspect.signature(bayesian_signed_rank)
    with pytest.raises(TypeError, match="n_sample"):
        bayesian_sign_test([0.5, 0.6], [0.4, 0.5], n_sample=100)


def test_sign_test_posterior_mean_is_the_dirichlet_mean() -> None:
    r = bayesian_sign_test(
        [0.1, 0.2, 0.0, -0.1], [0.0] * 4, rope=0.05, prior=1.0, n_samples=40_000, random_state=0
    )
    alpha = np.array([1, 2, 2]) + 1e-4  # left 1, rope 1 + prior, right 2
    # Monte Carlo mean of Dirichlet(alpha): sd of each coordinate <= 0.2, / sqrt(40000)
    assert r.details["theta_mean"] == pytest.approx((alpha / alpha.sum()).tolist(), abs=0.005)


@pytest.mark.parametrize("func", [bayesian_signed_rank, bayesian_sign_test])
@pytest.mark.parametrize(
    "kwargs",
    [
        {"x": [], "y": []},
        {"x": [0.5], "y": [0.4]},
        {"x": [0.5, np.nan], "y": [0.4, 0.3]},
        {"x": [0.5, 0.6], "y": [0.4, 0.3, 0.2]},
        {"x": None},
        {"y": ["a", "b", "c"]},
        {"rope": -0.1},
        {"prior": -1.0},
        {"prior": np.inf},
        {"n_samples": 0},
        {"random_state": -1},
    ],
)
def test_multiple_bad_inputs_raise(func: Any, kwargs: dict[str, Any]) -> None:
    args = {"x": [0.5, 0.6, 0.7], "y": [0.4, 0.6, 0.65], "n_samples": 100, **kwargs}
    with pytest.raises(VarkitError):
        func(args.pop("x"), args.pop("y"), **args)


def score_log(*, sizes: bool, repeats: int = 2, folds: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = []
    for repeat in range(repeats):
        for fold in range(folds):
            for model, shift in (("a", 0.03), ("b", 0.0), ("c", 0.028)):
                rows.append(
                    {
                        "model": model,
                        "repeat": repeat,
                        "fold": fold,
                        "score": 0.8 + shift + rng.normal(scale=0.01),
                        **({"n_train": 70, "n_test": 30} if sizes else {}),
                    }
                )
    return pd.DataFrame(rows)


def pair_differences(log: pd.DataFrame, a: str, b: str) -> np.ndarray:
    wide = log.pivot_table(index=["repeat", "fold"], columns="model", values="score")
    return (wide[a] - wide[b]).to_numpy()


def test_compare_scores_adds_the_bayesian_test_of_each_pair() -> None:
    log = score_log(sizes=True)
    rs = compare_scores(log, bayesian=True, rope=0.01)
    bayes = [r for r in rs if r.method == "bayesian-correlated-t"]
    assert [r.group["comparison"] for r in bayes] == ["a-b", "a-c", "b-c"]
    expected = bayesian_correlated_ttest(
        pair_differences(log, "a", "b"), rope=0.01, test_fraction=(70, 30)
    )
    assert probs(bayes[0]) == pytest.approx(probs(expected), abs=1e-12)
    assert (bayes[0].ci_low, bayes[0].ci_high) == pytest.approx((expected.ci_low, expected.ci_high))
    assert bayes[0].details["p_right"] > 0.95  # a is 0.03 above b
    # a and c are 0.002 apart: most of the posterior is inside the rope
    assert bayes[1].details["p_rope"] > max(bayes[1].details["p_left"], bayes[0].details["p_rope"])
    assert not any(r.method == "bayesian-correlated-t" for r in compare_scores(log))


def test_compare_scores_bayesian_test_share_without_sizes() -> None:
    log = score_log(sizes=False)  # 2 repeats of 5 folds: test share 1/5 (baycomp's rule)
    rs = compare_scores(log, bayesian=True)
    ab = next(r for r in rs if r.method == "bayesian-correlated-t")
    expected = bayesian_correlated_ttest(pair_differences(log, "a", "b"), runs=2)
    assert ab.details["test_fraction"] == pytest.approx(0.2)
    assert ab.stderr == pytest.approx(expected.stderr)
    assert ab.group["comparison"] == "a-b"
    given = compare_scores(log, bayesian=True, test_fraction=0.5)
    first = next(r for r in given if r.method == "bayesian-correlated-t")
    assert first.details["test_fraction"] == 0.5


def test_compare_scores_bayesian_bad_options() -> None:
    log = score_log(sizes=False)
    with pytest.raises(VarkitError, match="only with `bayesian`"):
        compare_scores(log, rope=0.01)
    with pytest.raises(VarkitError, match="rope"):
        compare_scores(log, bayesian=True, rope=-0.01)
    with pytest.raises(VarkitError, match="test_fraction"):
        compare_scores(log, bayesian=True, test_fraction=1.0)
    uneven = log.drop(index=log.index[(log["repeat"] == 1) & (log["fold"] == 4)])
    with pytest.raises(VarkitError, match="not 2 repeats"):
        compare_scores(uneven, bayesian=True)
