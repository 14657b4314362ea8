"""Bootstrap replicates of weighted sums, on the CPU (numba) or through an array namespace.

``replicate_sums`` is the one entry point: it returns the (n_resamples, k) matrix of
``sum_i w_i(b) z_i`` for the counter-based weights of ``counter_rng``. The compiled
kernels (numba on the CPU, CuPy raw kernels on the GPU) and the plain array code compute
the same numbers; the array code is the reference the kernels are tested against, and it
bounds memory to O(batch x chunk) by looping over blocks of replicates and units.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from varkit.gpu import counter_rng as crng
from varkit.gpu.backend import Backend, to_numpy
from varkit.gpu.statistics import LinearProblem

__all__ = ["SCHEMES", "default_batch", "replicate_sums"]

#: Bootstrap weights: multinomial counts (classical) or Poisson(1) per unit (mergeable).
SCHEMES = ("multinomial", "poisson")
# elements of a (replicates x units) block in the array code: 2^22 x (8 B words + temps)
# stays near 100 MB on the CPU; GPUs take larger blocks.
_CPU_BLOCK = 1 << 22
_GPU_BLOCK = 1 << 26
# replicates per compiled-kernel call on the CPU: bounds the work between progress updates
# while keeping the cost of starting numba's threads (up to ~15 ms on a busy machine)
# small. A GPU takes every replicate in one launch: fewer blocks would leave it idle.
_KERNEL_BATCH = 1024


def default_batch(n_units: int, backend: Backend) -> int:
    """Replicates per block of the array code, so a block holds about 2^22 (CPU) elements."""
    block = _GPU_BLOCK if backend.is_gpu else _CPU_BLOCK
    return max(1, block // max(1, n_units))


def replicate_sums(
    problem: LinearProblem,
    *,
    scheme: str,
    seed: int,
    n_resamples: int,
    backend: Backend,
    batch: int | None = None,
    compiled: bool = True,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Sums ``S[b] = sum_i w_i(b) z_i`` for replicates ``b < n_resamples`` (NumPy array)."""
    n_units, n_cols = problem.z.shape
    out = np.zeros((n_resamples, n_cols))
    varying = np.arange(n_cols)
    if scheme == "multinomial":
        # a column constant within every stratum has the same sum in every multinomial
        # replicate (stratum sizes are fixed): no need to resample it (the mean's column of
        # ones); the gather then touches half the memory.
        fixed, varying = _fixed_columns(problem)
        out[:] = fixed
        problem = dataclasses.replace(problem, z=np.ascontiguousarray(problem.z[:, varying]))
        if varying.size == 0:
            if progress is not None:
                progress(n_resamples)
            return out
    if batch is not None:
        step = batch
    elif not compiled:
        step = default_batch(n_units, backend)
    elif backend.is_gpu:
        step = n_resamples if progress is None else max(1, n_resamples // 20)
    else:
        step = _KERNEL_BATCH
    kernel = _pick_kernel(scheme, backend, compiled)
    xp = backend.xp
    z = xp.asarray(problem.z)
    offsets = crng.unit_offsets(xp.asarray(problem.unit_ids), xp)
    for start in range(0, n_resamples, step):
        stop = min(n_resamples, start + step)
        keys = crng.replicate_keys(seed, start, stop, xp)
        out[start:stop, varying] = to_numpy(kernel(problem, z, offsets, keys, backend))
        if progress is not None:
            progress(stop - start)
    return out


def _fixed_columns(problem: LinearProblem) -> tuple[np.ndarray, np.ndarray]:
    """Sums of the columns constant within each stratum, and the other columns' indices."""
    z, bounds = problem.z, problem.bounds
    firsts = z[bounds[:-1]]
    sizes = np.diff(bounds)
    stratum = np.repeat(np.arange(sizes.size), sizes)
    constant = np.all(z == firsts[stratum], axis=0)
    fixed = np.where(constant, (sizes[:, None] * firsts).sum(axis=0), 0.0)
    return fixed, np.flatnonzero(~constant)


def _pick_kernel(scheme: str, backend: Backend, compiled: bool) -> Callable[..., Any]:
    if compiled and backend.is_gpu:
        from varkit.gpu import _cupy_kernels

        return _cupy_kernels.poisson if scheme == "poisson" else _cupy_kernels.multinomial
    if compiled:
        return _numba_poisson if scheme == "poisson" else _numba_multinomial
    return _array_poisson if scheme == "poisson" else _array_multinomial


def _numba_poisson(problem: LinearProblem, z: Any, offsets: Any, keys: Any, _: Backend) -> Any:
    from varkit.gpu import _numba_kernels

    out = np.zeros((keys.shape[0], z.shape[1]))
    return _numba_kernels.poisson_sums(np.ascontiguousarray(z.T), offsets, keys, out)


def _numba_multinomial(problem: LinearProblem, z: Any, offsets: Any, keys: Any, _: Backend) -> Any:
    from varkit.gpu import _numba_kernels

    out = np.zeros((keys.shape[0], z.shape[1]))
    return _numba_kernels.multinomial_sums(z, problem.bounds, keys, out)


def _unit_chunk(n_keys: int, backend: Backend) -> int:
    block = _GPU_BLOCK if backend.is_gpu else _CPU_BLOCK
    return max(1, block // max(1, n_keys))


def _array_poisson(
    problem: LinearProblem, z: Any, offsets: Any, keys: Any, backend: Backend
) -> Any:
    xp = backend.xp
    out = xp.zeros((keys.shape[0], z.shape[1]))
    chunk = _unit_chunk(keys.shape[0], backend)
    for start in range(0, z.shape[0], chunk):
        weights = crng.poisson_weights(keys, offsets[start : start + chunk], xp)
        out += weights.astype(xp.float64) @ z[start : start + chunk]
    return out


def _array_multinomial(
    problem: LinearProblem, z: Any, offsets: Any, keys: Any, backend: Backend
) -> Any:
    xp = backend.xp
    out = xp.zeros((keys.shape[0], z.shape[1]))
    chunk = _unit_chunk(keys.shape[0], backend)
    bounds = problem.bounds.tolist()
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        for start in range(lo, hi, chunk):
            stop = min(hi, start + chunk)
            # draw positions j in [start, stop) pick units uniformly within the stratum
            positions = crng.unit_offsets(xp.arange(start, stop, dtype=xp.uint64), xp)
            idx = lo + crng.uniform_indices(keys, positions, hi - lo, xp)
            out += z[idx].sum(axis=1)
    return out
