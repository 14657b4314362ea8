"""Bad input: one ValueError/TypeError sentence naming the argument; degenerate data."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from varkit.gpu import bootstrap, permutation_test
from varkit.gpu import counter_rng as crng
from varkit.gpu.statistics import build_problem

X = [1.0, 2.5, 0.3, 4.2, 1.1, 0.7]


def _mean(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x, axis=axis)


def _one_sentence(message: str) -> None:
    assert "\n" not in message and message.endswith(".")
    assert message.count(". ") == 0, message


BOOTSTRAP_ERRORS: list[tuple[str, dict[str, Any], type[Exception], str]] = [
    ("unknown statistic", {"statistic": "median"}, ValueError, "`statistic`"),
    ("statistic not a name", {"statistic": 3}, ValueError, "`statistic`"),
    ("n_resamples float", {"n_resamples": 100.0}, TypeError, "`n_resamples`"),
    ("n_resamples string", {"n_resamples": "100"}, TypeError, "`n_resamples`"),
    ("n_resamples bool", {"n_resamples": True}, TypeError, "`n_resamples`"),
    ("n_resamples one", {"n_resamples": 1}, ValueError, "`n_resamples`"),
    ("n_resamples negative", {"n_resamples": -5}, ValueError, "`n_resamples`"),
    ("method", {"method": "studentised"}, ValueError, "`method`"),
    ("confidence zero", {"confidence": 0.0}, ValueError, "`confidence`"),
    ("confidence one", {"confidence": 1.0}, ValueError, "`confidence`"),
    ("confidence percent", {"confidence": 95}, ValueError, "`confidence`"),
    ("confidence nan", {"confidence": float("nan")}, ValueError, "`confidence`"),
    ("confidence string", {"confidence": "0.95"}, TypeError, "`confidence`"),
    ("confidence None", {"confidence": None}, TypeError, "`confidence`"),
    ("scheme", {"scheme": "bayesian"}, ValueError, "`scheme`"),
    ("batch zero", {"batch": 0}, ValueError, "`batch`"),
    ("batch float", {"batch": 2.5}, ValueError, "`batch`"),
    ("device", {"device": "tpu"}, ValueError, "`device`"),
    ("random_state negative", {"random_state": -3}, ValueError, "`random_state`"),
    ("random_state string", {"random_state": "seed"}, TypeError, "`random_state`"),
    ("callable with poisson", {"statistic": _mean, "scheme": "poisson"}, ValueError, "scheme"),
    ("callable with strata", {"statistic": _mean, "strata": [0] * 6}, ValueError, "`strata`"),
    ("callable with clusters", {"statistic": _mean, "clusters": [0] * 6}, ValueError, "`clusters`"),
    ("nan data", {"data": [1.0, float("nan")]}, ValueError, "`data`"),
    ("inf data", {"data": [1.0, float("inf")]}, ValueError, "`data`"),
    ("empty data", {"data": []}, ValueError, "`data`"),
    ("2-d data", {"data": [[1.0, 2.0], [3.0, 4.0]]}, ValueError, "`data`"),
    ("string data", {"data": ["a", "b"]}, TypeError, "`data`"),
    ("nan data, callable", {"data": [1.0, float("nan")], "statistic": _mean}, ValueError, "data"),
    ("empty data, callable", {"data": [], "statistic": _mean}, ValueError, "data"),
    ("proportion not 0/1", {"data": [0, 1, 2], "statistic": "proportion"}, ValueError, "`data`"),
    ("ratio needs a pair", {"data": [1.0, 2.0, 3.0], "statistic": "ratio"}, TypeError, "`data`"),
    (
        "ratio lengths",
        {"data": ([1.0, 2.0], [1.0, 2.0, 3.0]), "statistic": "ratio"},
        ValueError,
        "`numerator` and `denominator`",
    ),
    (
        "ratio nan denominator",
        {"data": ([1.0, 2.0], [1.0, float("nan")]), "statistic": "ratio"},
        ValueError,
        "`denominator`",
    ),
    (
        "negative weights",
        {"data": ([1.0, 2.0], [1.0, -1.0]), "statistic": "weighted_mean"},
        ValueError,
        "`weights`",
    ),
    (
        "weights all zero",
        {"data": ([1.0, 2.0, 3.0], [0.0, 0.0, 0.0]), "statistic": "weighted_mean"},
        ValueError,
        "`weights`",
    ),
    (
        "denominators all zero",
        {"data": ([1.0, 2.0, 3.0], [0.0, 0.0, 0.0]), "statistic": "ratio"},
        ValueError,
        "`denominator`",
    ),
    (
        "paired lengths",
        {"data": ([1.0, 2.0], [1.0]), "statistic": "mean_difference", "paired": True},
        ValueError,
        "`x` and `y`",
    ),
    (
        "nan in y",
        {"data": ([1.0, 2.0], [1.0, float("nan")]), "statistic": "mean_difference"},
        ValueError,
        "`y`",
    ),
    (
        "callable paired lengths",
        {"data": ([1.0, 2.0], [1.0]), "statistic": _mean, "paired": True},
        ValueError,
        "paired",
    ),
    (
        "strata with unpaired mean_difference",
        {"data": ([1.0, 2.0], [1.0, 3.0]), "statistic": "mean_difference", "strata": [0, 0, 1, 1]},
        ValueError,
        "`strata`",
    ),
    ("strata length", {"strata": [0, 1, 0]}, ValueError, "`strata`"),
    ("strata nan", {"strata": [0, 1, 0, 1, np.nan, 0]}, ValueError, "`strata`"),
    ("clusters length", {"clusters": [0, 1]}, ValueError, "`clusters`"),
    ("clusters 2-d", {"clusters": [[0, 1, 2], [0, 1, 2]]}, ValueError, "`clusters`"),
    (
        "cluster spanning strata",
        {"clusters": [0, 0, 1, 1, 2, 2], "strata": [0, 0, 0, 1, 1, 1]},
        ValueError,
        "stratum",
    ),
    (
        "cluster spanning the two samples",
        {
            "data": ([1.0, 2.0, 3.0], [1.0, 2.0]),
            "statistic": "mean_difference",
            "clusters": [0, 0, 1, 1, 2],
        },
        ValueError,
        "one sample",
    ),
]


@pytest.mark.parametrize(
    ("case", "kwargs", "error", "names"), BOOTSTRAP_ERRORS, ids=[c[0] for c in BOOTSTRAP_ERRORS]
)
def test_bootstrap_rejects_bad_input_with_one_sentence_naming_the_argument(
    case: str, kwargs: dict[str, Any], error: type[Exception], names: str
) -> None:
    call: dict[str, Any] = {"data": X, "statistic": "mean", "n_resamples": 50, "device": "cpu"}
    call.update(kwargs)
    data = call.pop("data")
    statistic = call.pop("statistic")
    with pytest.raises(error) as info:
        bootstrap(data, statistic, **call)
    assert type(info.value) is not AssertionError
    message = str(info.value)
    assert names in message, message
    _one_sentence(message)


def test_build_problem_rejects_an_unknown_statistic() -> None:
    with pytest.raises(ValueError, match="`statistic`"):
        build_problem("median", X)


PERMUTATION_ERRORS: list[tuple[str, dict[str, Any], type[Exception], str]] = [
    ("statistic", {"statistic": "median_difference"}, ValueError, "`statistic`"),
    ("n_resamples float", {"n_resamples": 99.0}, TypeError, "`n_resamples`"),
    ("n_resamples zero", {"n_resamples": 0}, ValueError, "`n_resamples`"),
    ("n_resamples bool", {"n_resamples": False}, TypeError, "`n_resamples`"),
    ("alternative", {"alternative": "two_sided"}, ValueError, "`alternative`"),
    ("nan x", {"x": [1.0, float("nan")]}, ValueError, "`x`"),
    ("empty y", {"y": []}, ValueError, "`y`"),
    ("string y", {"y": ["a"]}, TypeError, "`y`"),
    ("one sample not paired", {"y": None}, ValueError, "paired=True"),
    ("paired lengths", {"y": [1.0, 2.0], "paired": True}, ValueError, "`x` and `y`"),
    ("device", {"device": "cuda"}, ValueError, "`device`"),
    ("random_state", {"random_state": 1.5}, TypeError, "`random_state`"),
]


@pytest.mark.parametrize(
    ("case", "kwargs", "error", "names"),
    PERMUTATION_ERRORS,
    ids=[c[0] for c in PERMUTATION_ERRORS],
)
def test_permutation_test_rejects_bad_input_with_one_sentence_naming_the_argument(
    case: str, kwargs: dict[str, Any], error: type[Exception], names: str
) -> None:
    call: dict[str, Any] = {"x": X, "y": [0.5, 1.5, 2.0], "device": "cpu"}
    call.update(kwargs)
    with pytest.raises(error) as info:
        permutation_test(call.pop("x"), call.pop("y"), **call)
    message = str(info.value)
    assert names in message, message
    _one_sentence(message)


# -- degenerate data ------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["multinomial", "poisson"])
@pytest.mark.parametrize("method", ["percentile", "basic", "bca"])
@pytest.mark.parametrize("value", [3.0, 0.1])
def test_constant_data_gives_a_point_interval_with_a_warning(
    scheme: str, method: str, value: float
) -> None:
    # 0.1 is not a binary fraction: Poisson replicates sum(w x) / sum(w) differ from 0.1
    # in the last bits, which must still count as a degenerate distribution.
    result = bootstrap(
        np.full(40, value),
        "mean",
        n_resamples=500,
        method=method,
        scheme=scheme,
        random_state=1,
        device="cpu",
    )
    assert result.estimate == pytest.approx(value, rel=1e-15)
    assert result.ci_low == pytest.approx(value, rel=1e-12)
    assert result.ci_high == pytest.approx(value, rel=1e-12)
    assert "degenerate" in result.details.get("warning", ""), result.details


def test_constant_data_with_a_callable_gives_a_point_interval_with_a_warning() -> None:
    result = bootstrap(np.full(25, 2.0), np.median, n_resamples=300, random_state=0, device="cpu")
    assert (result.ci_low, result.ci_high) == (2.0, 2.0)
    assert "degenerate" in result.details["warning"]


def test_one_observation_per_stratum_is_degenerate_not_an_error() -> None:
    result = bootstrap([1.0, 2.0, 5.0], "mean", strata=[0, 1, 2], n_resamples=50, device="cpu")
    assert result.ci_low == result.ci_high == pytest.approx(8.0 / 3.0)
    assert "degenerate" in result.details["warning"]


def _zero_weight_replicates(seed: int, n_rows: int, n_resamples: int) -> int:
    keys = crng.replicate_keys(seed, 0, n_resamples)
    weights = crng.poisson_weights(keys, crng.unit_offsets(np.arange(n_rows)))
    return int(np.count_nonzero(weights.sum(axis=1) == 0))


@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_poisson_replicates_with_zero_total_weight_are_dropped_and_counted(method: str) -> None:
    # Two rows: both weights are 0 with probability e^-2 = 0.135; the mean is then 0/0.
    expected = _zero_weight_replicates(seed=6, n_rows=2, n_resamples=2000)
    assert 200 < expected < 350
    result = bootstrap(
        [1.0, 3.0], "mean", n_resamples=2000, method=method, scheme="poisson", random_state=6,
        device="cpu",
    )  # fmt: skip
    assert result.details["dropped_replicates"] == expected
    assert "zero total weight" in result.details["dropped_reason"]
    assert result.details["n_resamples"] == 2000
    assert 1.0 <= result.ci_low < result.ci_high <= 3.0


def test_a_sum_is_defined_with_zero_total_weight_and_nothing_is_dropped() -> None:
    result = bootstrap([1.0, 3.0], "sum", n_resamples=500, scheme="poisson", random_state=6)
    assert result.details["dropped_replicates"] == 0
    assert "dropped_reason" not in result.details


def test_too_few_defined_replicates_is_an_error() -> None:
    # one row and two replicates: find (deterministically) a seed whose two weights are 0
    seed = next(s for s in range(1000) if _zero_weight_replicates(s, 1, 2) == 2)
    with pytest.raises(ValueError, match="fewer than two bootstrap replicates"):
        bootstrap(
            np.array([4.0]), "mean", n_resamples=2, scheme="poisson", random_state=seed,
            device="cpu",
        )  # fmt: skip


@pytest.mark.parametrize("data", [[4.0], np.array([4.0])])
def test_a_single_observation_is_one_sample_not_a_tuple_of_samples(data: Any) -> None:
    # A one-element list is the sample [4.0] (as np.array([4.0]) is), not a 1-tuple of
    # samples whose only sample is the scalar 4.0.
    result = bootstrap(data, "mean", n_resamples=20, random_state=0, device="cpu")
    assert result.ci_low == result.ci_high == 4.0
    assert result.n == 1
