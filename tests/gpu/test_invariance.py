"""The same seed gives the same interval whatever the batch size, the kernel or the split
of the data into partitions; different seeds give different intervals."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from varkit.gpu import bootstrap
from varkit.gpu.backend import resolve_device
from varkit.gpu.intervals import interval
from varkit.gpu.replicates import replicate_sums
from varkit.gpu.statistics import LinearProblem, build_problem

CPU = resolve_device("cpu")
RNG = np.random.default_rng(12)
X = RNG.lognormal(size=300)
Y = RNG.exponential(size=200)
W = RNG.uniform(0.2, 3.0, size=300)
STRATA = np.repeat(np.arange(6), 50)
CLUSTERS = np.repeat(np.arange(60), 5)

CASES: dict[str, tuple[Any, Any, dict[str, Any]]] = {
    "mean": (X, "mean", {}),
    "ratio": ((X, W), "ratio", {}),
    "mean_difference": ((X, Y), "mean_difference", {}),
    "strata": (X, "mean", {"strata": STRATA}),
    "clusters": ((X, W), "weighted_mean", {"clusters": CLUSTERS}),
    "poisson": (X, "mean", {"scheme": "poisson"}),
    "poisson_clusters": (X, "sum", {"scheme": "poisson", "clusters": CLUSTERS}),
}


def _endpoints(result: Any) -> np.ndarray:
    return np.array([result.ci_low, result.ci_high, result.stderr])


@pytest.mark.usefixtures("one_numba_thread")  # batch=1 means 999 small kernel calls
@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("method", ["percentile", "bca"])
def test_same_seed_same_interval_whatever_the_batch(case: str, method: str) -> None:
    data, statistic, kwargs = CASES[case]
    runs = [
        bootstrap(
            data,
            statistic,
            n_resamples=999,
            method=method,
            batch=batch,
            random_state=2024,
            device="cpu",
            **kwargs,
        )
        for batch in (None, 1, 7, 64, 999, 5000)
    ]
    first = _endpoints(runs[0])
    for run in runs[1:]:
        np.testing.assert_allclose(_endpoints(run), first, rtol=1e-12)
        assert run.details["seed"] == 2024


@pytest.mark.parametrize("batch", [None, 3, 250])
def test_callable_statistic_same_interval_whatever_the_batch(batch: int | None) -> None:
    reference = bootstrap(X, np.median, n_resamples=500, random_state=3, device="cpu", batch=1)
    result = bootstrap(X, np.median, n_resamples=500, random_state=3, device="cpu", batch=batch)
    assert _endpoints(result).tolist() == _endpoints(reference).tolist()


def _array_path_interval(
    data: Any, statistic: str, method: str, scheme: str, **kwargs: Any
) -> tuple[float, float]:
    """The interval from the plain array code (no compiled kernel), built as bootstrap does."""
    problem = build_problem(statistic, data, **kwargs)
    sums = replicate_sums(
        problem, scheme=scheme, seed=77, n_resamples=800, backend=CPU, compiled=False
    )
    replicates = np.asarray(problem.combine(sums), dtype=float)
    replicates = replicates[np.isfinite(replicates)]
    jackknife = problem.jackknife() if method == "bca" else None
    lo, hi, _ = interval(
        replicates, problem.estimate(), method=method, confidence=0.9, jackknife=jackknife
    )
    return lo, hi


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("method", ["percentile", "basic", "bca"])
def test_compiled_kernel_and_array_code_give_the_same_interval(case: str, method: str) -> None:
    data, statistic, kwargs = CASES[case]
    kwargs = dict(kwargs)
    scheme = kwargs.pop("scheme", "multinomial")
    result = bootstrap(
        data,
        statistic,
        n_resamples=800,
        method=method,
        confidence=0.9,
        scheme=scheme,
        random_state=77,
        device="cpu",
        **kwargs,
    )
    lo, hi = _array_path_interval(data, statistic, method, scheme, **kwargs)
    np.testing.assert_allclose([result.ci_low, result.ci_high], [lo, hi], rtol=1e-9)


@pytest.mark.parametrize("case", sorted(CASES))
def test_different_seeds_give_different_intervals(case: str) -> None:
    data, statistic, kwargs = CASES[case]
    results = [
        bootstrap(data, statistic, n_resamples=500, random_state=seed, device="cpu", **kwargs)
        for seed in (0, 1, 2)
    ]
    lows = {r.ci_low for r in results}
    highs = {r.ci_high for r in results}
    assert len(lows) == 3 and len(highs) == 3
    # ... but the same estimate
    assert len({r.estimate for r in results}) == 1


def test_a_generator_seed_is_reproducible() -> None:
    a = bootstrap(X, "mean", n_resamples=300, random_state=np.random.default_rng(5), device="cpu")
    b = bootstrap(X, "mean", n_resamples=300, random_state=np.random.default_rng(5), device="cpu")
    assert a == b


def test_poisson_replicates_are_sums_over_partitions_of_the_data() -> None:
    # Weights are keyed on the row number, so replicate sums over two partitions of the
    # rows add up to those over the whole data (what makes the Poisson scheme mergeable).
    whole = build_problem("mean", X)

    def part(rows: slice) -> LinearProblem:
        ids = whole.unit_ids[rows]
        return LinearProblem(
            "mean", whole.z[rows], np.array([0, ids.size]), ids, whole.samples[rows],
            whole.combine, ids.size,
        )  # fmt: skip

    kw: dict[str, Any] = dict(scheme="poisson", seed=8, n_resamples=400, backend=CPU)
    total = replicate_sums(whole, **kw)
    merged = replicate_sums(part(slice(0, 120)), **kw) + replicate_sums(part(slice(120, 300)), **kw)
    np.testing.assert_allclose(merged, total, rtol=1e-12)


def _mean_of(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x, axis=axis)


def _difference_of_means(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x, axis=axis) - np.mean(y, axis=axis)


@pytest.mark.parametrize(
    ("data", "named", "func", "paired"),
    [
        (X, "mean", _mean_of, False),
        ((X, Y), "mean_difference", _difference_of_means, False),
        ((X, W), "mean_difference", _difference_of_means, True),
    ],
    ids=["mean", "unpaired-difference", "paired-difference"],
)
@pytest.mark.parametrize("method", ["percentile", "basic", "bca"])
def test_callable_and_named_paths_draw_the_same_resamples(
    data: Any, named: str, func: Any, paired: bool, method: str
) -> None:
    # Both paths key draw position j of replicate b the same way (the samples of an
    # unpaired statistic take consecutive positions), so a callable computing the named
    # statistic reproduces the fast path's interval, BCa's jackknife included.
    common: dict[str, Any] = dict(
        n_resamples=600, method=method, paired=paired, random_state=13, device="cpu"
    )
    fast = bootstrap(data, named, **common)
    slow = bootstrap(data, func, **common)
    np.testing.assert_allclose(
        [slow.ci_low, slow.ci_high, slow.stderr],
        [fast.ci_low, fast.ci_high, fast.stderr],
        rtol=1e-9,
    )
    if method == "bca":
        assert slow.details["acceleration"] == pytest.approx(fast.details["acceleration"], rel=1e-9)


def test_a_callable_without_an_axis_argument_is_looped_over_replicates() -> None:
    def p90(x: np.ndarray) -> float:
        return float(np.percentile(x, 90))

    def p90_axis(x: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.percentile(x, 90, axis=axis)

    looped = bootstrap(X[:80], p90, n_resamples=300, random_state=2, device="cpu")
    vectorised = bootstrap(X[:80], p90_axis, n_resamples=300, random_state=2, device="cpu")
    assert looped.metric == "p90"
    np.testing.assert_allclose(
        [looped.ci_low, looped.ci_high], [vectorised.ci_low, vectorised.ci_high], rtol=1e-12
    )


def test_a_higher_confidence_gives_a_wider_interval() -> None:
    widths = [
        (lambda r: r.ci_high - r.ci_low)(
            bootstrap(X, "mean", n_resamples=2000, confidence=c, random_state=1, device="cpu")
        )
        for c in (0.5, 0.8, 0.95, 0.99)
    ]
    assert widths == sorted(widths) and widths[0] > 0
