"""Backends: device selection, and the GPU (CuPy) paths against the NumPy ones.

The GPU tests run when ``varkit.gpu.cupy_available()`` is True (CuPy imports and sees a
GPU) and are skipped otherwise. On the GPU the same counter-based random numbers are
drawn, so the CuPy kernels and the CuPy array code must reproduce the CPU replicates to
floating-point summation order (1e-9 relative) and the same intervals and p-values.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from varkit.gpu import bootstrap, cupy_available, permutation_test, resolve_device
from varkit.gpu import counter_rng as crng
from varkit.gpu.backend import to_numpy
from varkit.gpu.replicates import replicate_sums
from varkit.gpu.statistics import LinearProblem, build_problem

RTOL = 1e-9
needs_gpu = pytest.mark.skipif(
    not cupy_available(), reason="needs CuPy and a visible GPU (varkit[gpu] on a CUDA machine)"
)
without_gpu = pytest.mark.skipif(
    cupy_available(), reason="checks the error raised on a machine without a GPU"
)


# -- device selection (CPU machine) ---------------------------------------------------------


def test_cpu_device_is_numpy() -> None:
    backend = resolve_device("cpu")
    assert backend.xp is np and backend.device == "cpu" and not backend.is_gpu


def test_auto_device_picks_the_gpu_only_when_one_is_visible() -> None:
    assert resolve_device("auto").device == ("gpu" if cupy_available() else "cpu")
    r = bootstrap([1.0, 2.0, 4.0], "mean", n_resamples=20, random_state=0)
    assert r.details["device"] == ("gpu" if cupy_available() else "cpu")


@pytest.mark.parametrize("device", ["GPU", "cuda", "", None])
def test_an_unknown_device_is_an_error(device: Any) -> None:
    with pytest.raises(ValueError, match="`device` must be one of auto, cpu, gpu"):
        resolve_device(device)


@without_gpu
def test_gpu_device_without_a_gpu_is_a_clear_error() -> None:
    for call in (
        lambda: resolve_device("gpu"),
        lambda: bootstrap([1.0, 2.0], "mean", n_resamples=10, device="gpu"),
        lambda: bootstrap([1.0, 2.0], np.mean, n_resamples=10, device="gpu"),
        lambda: permutation_test([1.0, 2.0], [3.0], device="gpu"),
    ):
        with pytest.raises(ValueError) as info:
            call()
        message = str(info.value)
        assert "device='gpu'" in message and "GPU" in message and "device='cpu'" in message
        assert "\n" not in message


@pytest.fixture
def cupy_availability_cleared() -> Iterator[None]:
    cupy_available.cache_clear()
    yield
    cupy_available.cache_clear()


def test_cupy_that_fails_to_import_means_no_gpu(
    monkeypatch: pytest.MonkeyPatch, cupy_availability_cleared: None
) -> None:
    monkeypatch.setitem(sys.modules, "cupy", None)  # import cupy -> ImportError
    assert cupy_available() is False
    assert resolve_device("auto").device == "cpu"


def test_to_numpy_returns_numpy_arrays() -> None:
    values = np.arange(3.0)
    assert to_numpy(values) is values or np.array_equal(to_numpy(values), values)
    assert isinstance(to_numpy([1, 2]), np.ndarray)


# -- the GPU against the CPU ----------------------------------------------------------------


def _problem(n_units: int, n_cols: int, n_strata: int, seed: int) -> LinearProblem:
    rng = np.random.default_rng(seed)
    z = rng.lognormal(size=(n_units, n_cols))
    cuts = np.sort(rng.choice(np.arange(1, n_units), size=n_strata - 1, replace=False))
    bounds = np.concatenate([[0], cuts, [n_units]]).astype(np.int64)
    return LinearProblem(
        "sums",
        z,
        bounds,
        rng.permutation(n_units).astype(np.uint64),
        np.zeros(n_units, np.int64),
        lambda s: s[..., 0],
        n_units,
    )


@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize("scheme", ["multinomial", "poisson"])
@pytest.mark.parametrize("n_cols", [1, 2, 3, 4])
@pytest.mark.parametrize("n_strata", [1, 3])
@pytest.mark.parametrize("compiled", [True, False])
def test_gpu_replicate_sums_equal_the_cpu(
    scheme: str, n_cols: int, n_strata: int, compiled: bool
) -> None:
    problem = _problem(3000, n_cols, n_strata, seed=n_cols + 10 * n_strata)
    kw: dict[str, Any] = dict(scheme=scheme, seed=17, n_resamples=700)
    cpu = replicate_sums(problem, backend=resolve_device("cpu"), compiled=True, **kw)
    gpu = replicate_sums(problem, backend=resolve_device("gpu"), compiled=compiled, **kw)
    assert isinstance(gpu, np.ndarray)
    np.testing.assert_allclose(gpu, cpu, rtol=RTOL)


@pytest.mark.gpu
@needs_gpu
def test_gpu_kernels_reject_more_columns_than_they_hold() -> None:
    problem = _problem(100, 9, 1, seed=0)
    with pytest.raises(ValueError, match="at most 8 columns"):
        replicate_sums(
            problem, scheme="poisson", seed=0, n_resamples=10, backend=resolve_device("gpu")
        )


RNG = np.random.default_rng(21)
X = RNG.lognormal(size=500)
Y = RNG.exponential(size=350)
W = RNG.uniform(0.5, 2.0, size=500)
GPU_CASES: dict[str, tuple[Any, Any, dict[str, Any]]] = {
    "mean": (X, "mean", {}),
    "mean-poisson": (X, "mean", {"scheme": "poisson"}),
    "ratio-strata": ((X, W), "ratio", {"strata": np.repeat(np.arange(5), 100)}),
    "weighted-clusters": ((X, W), "weighted_mean", {"clusters": np.repeat(np.arange(100), 5)}),
    "clusters-poisson": (
        X,
        "mean",
        {"clusters": np.repeat(np.arange(100), 5), "scheme": "poisson"},
    ),
    "difference": ((X, Y), "mean_difference", {}),
    "difference-poisson": ((X, Y), "mean_difference", {"scheme": "poisson"}),
    "paired-difference": ((X, W), "mean_difference", {"paired": True}),
    "callable-median": (X, np.median, {}),
}


@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize("case", sorted(GPU_CASES))
@pytest.mark.parametrize("method", ["percentile", "basic", "bca"])
def test_gpu_bootstrap_equals_the_cpu(case: str, method: str) -> None:
    data, statistic, kwargs = GPU_CASES[case]
    common = dict(n_resamples=2000, method=method, random_state=99, **kwargs)
    cpu = bootstrap(data, statistic, device="cpu", **common)
    gpu = bootstrap(data, statistic, device="gpu", **common)
    assert gpu.details["device"] == "gpu" and cpu.details["device"] == "cpu"
    np.testing.assert_allclose(
        [gpu.estimate, gpu.ci_low, gpu.ci_high, gpu.stderr],
        [cpu.estimate, cpu.ci_low, cpu.ci_high, cpu.stderr],
        rtol=RTOL,
    )


@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize("n", [1, 63, 64, 65, 1000])
def test_gpu_sign_flip_kernel_equals_numba(n: int) -> None:
    import cupy

    from varkit.gpu import _cupy_kernels, _numba_kernels

    values = np.random.default_rng(n).normal(size=n)
    keys = crng.replicate_keys(5, 0, 600)
    cpu = _numba_kernels.sign_flip_sums(values, keys, np.zeros(600))
    gpu = _cupy_kernels.sign_flip(cupy.asarray(values), cupy.asarray(keys)).get()
    np.testing.assert_allclose(gpu, cpu, rtol=RTOL, atol=1e-12)


@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize(("n", "n_first"), [(2, 1), (50, 25), (301, 150)])
def test_gpu_shuffle_kernel_equals_numba(n: int, n_first: int) -> None:
    import cupy

    from varkit.gpu import _cupy_kernels, _numba_kernels

    pooled = np.random.default_rng(n).normal(size=n)
    keys = crng.replicate_keys(6, 0, 600)
    cpu = _numba_kernels.shuffle_subset_sums(pooled, n_first, keys, np.zeros(600))
    gpu = _cupy_kernels.shuffle_subset(cupy.asarray(pooled), n_first, cupy.asarray(keys)).get()
    np.testing.assert_allclose(gpu, cpu, rtol=RTOL, atol=1e-12)


@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize("paired", [True, False])
@pytest.mark.parametrize("alternative", ["two-sided", "less", "greater"])
@pytest.mark.parametrize("named", [True, False])
def test_gpu_permutation_test_equals_the_cpu(paired: bool, alternative: str, named: bool) -> None:
    def mean_difference(*args: Any, axis: int = -1) -> Any:
        if len(args) == 1:
            return args[0].mean(axis=axis)
        return args[0].mean(axis=axis) - args[1].mean(axis=axis)

    rng = np.random.default_rng(3)
    x, y = rng.normal(0.1, 1.0, size=300), rng.normal(size=300)
    statistic: Any = "mean_difference" if named else mean_difference
    common = dict(
        paired=paired,
        alternative=alternative,
        statistic=statistic,
        n_resamples=3000,
        random_state=8,
    )
    cpu = permutation_test(x, y, device="cpu", **common)
    gpu = permutation_test(x, y, device="gpu", **common)
    assert gpu.details["device"] == "gpu" and gpu.details["exact"] is False
    assert gpu.statistic == pytest.approx(cpu.statistic, rel=RTOL)
    assert gpu.pvalue == pytest.approx(cpu.pvalue, rel=RTOL)


@pytest.mark.gpu
@needs_gpu
def test_gpu_exact_permutation_test_equals_the_cpu() -> None:
    x, y = [0.3, 1.2, -0.4, 2.2, 0.9], [-0.1, 0.0, 0.4, -1.3]
    for paired, yy in ((False, y), (True, None)):
        cpu = permutation_test(x, yy, paired=paired, device="cpu")
        gpu = permutation_test(x, yy, paired=paired, device="gpu")
        assert gpu.details["exact"] and gpu.pvalue == pytest.approx(cpu.pvalue, rel=RTOL)


@pytest.mark.gpu
@needs_gpu
def test_gpu_problem_built_on_the_host_matches_its_device_copy() -> None:
    # build_problem stays on the host; the GPU path copies z and the unit ids once.
    problem = build_problem("mean", X, clusters=np.repeat(np.arange(100), 5))
    gpu = replicate_sums(
        problem, scheme="poisson", seed=1, n_resamples=300, backend=resolve_device("gpu")
    )
    cpu = replicate_sums(
        problem, scheme="poisson", seed=1, n_resamples=300, backend=resolve_device("cpu")
    )
    np.testing.assert_allclose(gpu, cpu, rtol=RTOL)
