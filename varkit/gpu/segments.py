"""Poisson(1) replicate sums per segment of rows: the engine's sums, one set per segment.

``out[s, b, k] = sum_i W(i, b) z[i, k]`` over the rows ``i`` of segment ``s``, with the
counter-based Poisson(1) weights ``W`` of :mod:`varkit.gpu.counter_rng` keyed on (seed,
unit, replicate). A unit's weight does not depend on where its rows are, so the sums of
the segments of several pieces of a log add up to those of the whole log: the map step
of a per-group (per-ad) Poisson bootstrap over partitions
(:mod:`varkit.fairness.logs`).

:func:`segment_poisson_sums` is the entry point (numba kernel on the CPU, one engine call
per segment on a GPU); :func:`segment_poisson_kernel` is the fused kernel and
:func:`segment_poisson_reference` the plain NumPy code it is tested against.

Examples
--------
>>> import numpy as np
>>> z = np.ones((6, 2))
>>> units = np.arange(6, dtype=np.uint64)
>>> segment = np.array([0, 0, 0, 1, 1, 1])
>>> out = segment_poisson_sums(z, units, segment, 2, seed=1, n_resamples=4)
>>> out.shape
(2, 4, 2)
>>> offsets = counter_rng.unit_offsets(units)
>>> keys = counter_rng.replicate_keys(1, 0, 4)
>>> bool(np.allclose(out, segment_poisson_reference(z, offsets, keys, segment, 2)))
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import prange

from varkit.gpu import counter_rng
from varkit.gpu._numba_kernels import _S32, _mix64, _poisson_weight
from varkit.gpu.backend import resolve_device
from varkit.gpu.kernel_cache import cached_njit
from varkit.gpu.replicates import replicate_sums
from varkit.gpu.statistics import LinearProblem

__all__ = ["segment_poisson_kernel", "segment_poisson_reference", "segment_poisson_sums"]


@cached_njit(parallel=True, fastmath={"reassoc", "contract", "nsz"})
def segment_poisson_kernel(z, offsets, keys, segment, n_segments):  # type: ignore[no-untyped-def]
    """out[s, b, k] = sum over rows i of segment s of W(i, b) z[i, k] (counter_rng weights).

    The engine's kernel sums all rows; per-segment sums in one pass need segments. Rows
    must be sorted by segment. Parallel over segments; within one, each replicate's
    weights go to a small buffer (branch-free, so LLVM vectorises the hash) and then into
    K dot products over the segment's rows, which stay in cache across replicates.
    """
    n_rows, n_cols = z.shape
    n_reps = keys.shape[0]
    out = np.zeros((n_segments, n_reps, n_cols))
    bounds = np.zeros(n_segments + 1, dtype=np.int64)
    for i in range(n_rows):
        bounds[segment[i] + 1] += 1
    for s in range(n_segments):
        bounds[s + 1] += bounds[s]
    z_cols = np.ascontiguousarray(z.T)
    for s in prange(n_segments):
        lo, hi = bounds[s], bounds[s + 1]
        weights = np.empty(hi - lo)
        for b in range(n_reps):
            key = keys[b]
            for i in range(lo, hi):
                weights[i - lo] = _poisson_weight(np.uint32(_mix64(key + offsets[i]) >> _S32))
            for k in range(n_cols):
                acc = 0.0
                for i in range(lo, hi):
                    acc += weights[i - lo] * z_cols[k, i]
                out[s, b, k] = acc
    return out


def segment_poisson_reference(
    z: np.ndarray, offsets: np.ndarray, keys: np.ndarray, segment: np.ndarray, n_segments: int
) -> np.ndarray:
    """:func:`segment_poisson_kernel` in plain NumPy (a (B, rows) weight matrix per segment).

    Examples
    --------
    >>> import numpy as np
    >>> z = np.arange(8.0).reshape(4, 2)
    >>> offsets = counter_rng.unit_offsets(np.arange(4))
    >>> keys = counter_rng.replicate_keys(0, 0, 3)
    >>> segment = np.array([0, 0, 1, 1])
    >>> got = segment_poisson_reference(z, offsets, keys, segment, 2)
    >>> weights = counter_rng.poisson_weights(keys, offsets).astype(float)
    >>> bool(np.array_equal(got[1], weights[:, 2:] @ z[2:]))
    True
    """
    z = np.asarray(z, dtype=np.float64)
    weights = counter_rng.poisson_weights(keys, offsets).astype(np.float64)
    out = np.zeros((n_segments, len(keys), z.shape[1]))
    for s in range(n_segments):
        rows = np.asarray(segment) == s
        out[s] = weights[:, rows] @ z[rows]
    return out


def _identity(sums: Any) -> Any:
    return sums


def segment_poisson_sums(
    z: np.ndarray,
    unit_keys: np.ndarray,
    segment: np.ndarray,
    n_segments: int,
    *,
    seed: int,
    n_resamples: int,
    device: str = "cpu",
) -> np.ndarray:
    """Poisson(1) replicate sums of the columns of ``z``, per segment: (segments, B, K).

    Parameters
    ----------
    z : ndarray, shape (rows, K)
        The values summed; rows sorted by segment.
    unit_keys : ndarray of uint64, shape (rows,)
        Each row's resampling unit (a stable key, e.g. a hash of a user id): a unit has
        the same weight in every segment and every piece of a log.
    segment : ndarray of int, shape (rows,)
        Each row's segment, ``0 <= segment < n_segments``, non-decreasing.
    n_segments : int
    seed, n_resamples : int
        The replicates ``0 <= b < n_resamples`` of the counter-based generator.
    device : {'cpu', 'gpu', 'auto'}, default 'cpu'
        The numba kernel on the CPU; on a GPU, one call of the engine's fused kernel per
        segment (the same weights).

    Returns
    -------
    ndarray, shape (n_segments, n_resamples, K)

    Examples
    --------
    >>> import numpy as np
    >>> z = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> units = np.array([7, 8, 9], dtype=np.uint64)
    >>> whole = segment_poisson_sums(z, units, np.array([0, 0, 1]), 2, seed=3, n_resamples=5)
    >>> alone = segment_poisson_sums(z[2:], units[2:], np.array([0]), 1, seed=3,
    ...                              n_resamples=5)
    >>> bool(np.array_equal(whole[1], alone[0]))  # a unit's weights do not move with it
    True
    """
    backend = resolve_device(device)
    segment = np.asarray(segment, dtype=np.int64)
    if not backend.is_gpu:
        offsets = counter_rng.unit_offsets(unit_keys)
        keys = counter_rng.replicate_keys(seed, 0, n_resamples)
        return np.asarray(
            segment_poisson_kernel(np.ascontiguousarray(z), offsets, keys, segment, n_segments)
        )
    out = np.zeros((n_segments, n_resamples, z.shape[1]))
    for s in range(n_segments):
        rows = np.flatnonzero(segment == s)
        problem = LinearProblem(
            name="group_counts",
            z=np.ascontiguousarray(z[rows]),
            bounds=np.array([0, rows.size], dtype=np.int64),
            unit_ids=np.asarray(unit_keys)[rows],
            samples=np.zeros(rows.size, dtype=np.int64),
            combine=_identity,
            n_rows=rows.size,
        )
        out[s] = replicate_sums(
            problem, scheme="poisson", seed=seed, n_resamples=n_resamples, backend=backend
        )
    return out
