"""Every engine result is a schema-valid varkit Result with the run's details."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import numpy as np
import pytest

from varkit.gpu import bootstrap, permutation_test
from varkit.results import Result, ResultSet, load_json_schema, make_provenance

RNG = np.random.default_rng(4)
X = RNG.exponential(size=60)
Y = RNG.exponential(size=45)
W = RNG.uniform(0.5, 2.0, size=60)
B = RNG.integers(0, 2, size=60)


def _validate(result: Result) -> dict[str, Any]:
    document = ResultSet(
        [result], provenance=make_provenance(function="varkit.gpu", seed=1, device="cpu")
    ).to_json()
    parsed = json.loads(document)  # strict JSON: no NaN/Infinity tokens
    jsonschema.validate(parsed, load_json_schema())
    assert ResultSet.from_json(document).results[0] == result
    return parsed


def _median(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.median(x, axis=axis)


BOOTSTRAPS: dict[str, tuple[Any, Any, dict[str, Any]]] = {
    "mean-bca": (X, "mean", {}),
    "sum-percentile": (X, "sum", {"method": "percentile"}),
    "proportion-basic": (B, "proportion", {"method": "basic"}),
    "ratio-poisson": ((X, W), "ratio", {"scheme": "poisson"}),
    "weighted-clusters": ((X, W), "weighted_mean", {"clusters": np.repeat(np.arange(12), 5)}),
    "difference-unpaired": ((X, Y), "mean_difference", {}),
    "difference-strata": ((X, X[::-1]), "mean_difference", {"paired": True, "strata": B}),
    "callable": (X, _median, {}),
    "degenerate": (np.ones(10), "mean", {}),
    "dropped": (np.array([1.0, 2.0]), "mean", {"scheme": "poisson"}),
}


@pytest.mark.parametrize("case", sorted(BOOTSTRAPS))
def test_bootstrap_results_validate_against_the_schema(case: str) -> None:
    data, statistic, kwargs = BOOTSTRAPS[case]
    result = bootstrap(data, statistic, n_resamples=400, random_state=3, device="cpu", **kwargs)
    parsed = _validate(result)["results"][0]
    details = parsed["details"]
    for key in ("seed", "device", "scheme", "n_resamples", "dropped_replicates"):
        assert key in details, key
    assert details["seed"] == 3 and details["device"] == "cpu"
    assert details["n_resamples"] == 400
    assert details["scheme"] == kwargs.get("scheme", "multinomial")
    assert result.method == f"bootstrap-{kwargs.get('method', 'bca')}"
    assert result.confidence == 0.95
    assert result.metric == (statistic if isinstance(statistic, str) else "_median")
    assert result.stderr is not None and result.stderr >= 0.0
    assert result.n is not None and result.n > 0


def test_bca_results_carry_bias_correction_and_acceleration() -> None:
    result = bootstrap(X, "mean", n_resamples=300, random_state=0, device="cpu")
    assert {"bias", "bias_correction_z0", "acceleration"} <= set(result.details)


def test_a_result_s_n_counts_the_resampled_units() -> None:
    clusters = np.repeat(np.arange(12), 5)
    r = bootstrap((X, W), "ratio", clusters=clusters, n_resamples=50, random_state=0)
    assert r.n == 12 and r.details["n_rows"] == 60 and r.details["n_clusters"] == 12
    r = bootstrap((X, Y), "mean_difference", n_resamples=50, random_state=0)
    assert r.n == 105 and r.details["n_strata"] == 2


PERMUTATIONS: dict[str, dict[str, Any]] = {
    "paired": {"y": X[::-1], "paired": True},
    "one-sample": {"y": None, "paired": True},
    "independent": {"y": Y},
    "exact": {"y": Y[:4], "x": X[:5]},
    "less": {"y": Y, "alternative": "less"},
}


@pytest.mark.parametrize("case", sorted(PERMUTATIONS))
def test_permutation_results_validate_against_the_schema(case: str) -> None:
    kwargs = dict(PERMUTATIONS[case])
    x = kwargs.pop("x", X)
    y = kwargs.pop("y")
    result = permutation_test(x, y, n_resamples=500, random_state=5, device="cpu", **kwargs)
    details = _validate(result)["results"][0]["details"]
    for key in ("exact", "seed", "device", "n_permutations", "n_possible"):
        assert key in details, key
    assert details["device"] == "cpu"
    assert details["seed"] == (None if details["exact"] else 5)
    assert result.alternative == kwargs.get("alternative", "two-sided")
    assert result.pvalue is not None and 0.0 < result.pvalue <= 1.0
    assert result.statistic == result.estimate
    assert result.method in ("permutation-sign-flip", "permutation-relabel")
