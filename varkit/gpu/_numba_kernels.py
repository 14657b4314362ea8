"""Fused CPU kernels (numba) for the resampling engine.

Each kernel computes the same numbers as the plain array code in ``counter_rng`` and
``replicates`` (the reference, tested against these), but keeps the random numbers in
registers: no (replicates x rows) matrix is ever written. NumPy cannot reach the speed
goals here: a weight matrix of 2000 x 1e6 is 16 GB of memory traffic before any
arithmetic (see benchmarks/RESULTS.md).

Unsigned 64-bit arithmetic must stay unsigned: numba promotes ``uint64 op int64`` to
float64, so every constant below is a ``np.uint64``.

The kernels cache their compiled code in a per-user folder (:mod:`varkit.gpu.kernel_cache`),
never in ``__pycache__`` next to this file: files written into an installed package are
left behind by pip and break a later editable install.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from varkit.gpu.counter_rng import POISSON_THRESHOLDS
from varkit.gpu.kernel_cache import cached_njit

_G = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S32 = np.uint64(32)
_S11 = np.uint64(11)
_ONE = np.uint64(1)
_TWO53 = 2.0**53

# reassociation lets LLVM vectorise the dot products; no 'nnan'/'ninf' (inputs are
# validated finite, but we do not let the compiler assume it).
_FAST = {"reassoc", "contract", "arcp", "nsz"}
_ROW_BLOCK = 2048
_REP_CHUNK = 16


# The Poisson thresholds as compile-time constants: LLVM then vectorises the twelve
# compares (1.4x faster than reading them from an array, measured).
assert POISSON_THRESHOLDS.size == 12
_T0, _T1, _T2, _T3, _T4, _T5, _T6, _T7, _T8, _T9, _T10, _T11 = (
    np.uint32(t) for t in POISSON_THRESHOLDS
)


@njit(inline="always")
def _poisson_weight(u32):  # type: ignore[no-untyped-def]
    return (
        np.int32(u32 >= _T0)
        + np.int32(u32 >= _T1)
        + np.int32(u32 >= _T2)
        + np.int32(u32 >= _T3)
        + np.int32(u32 >= _T4)
        + np.int32(u32 >= _T5)
        + np.int32(u32 >= _T6)
        + np.int32(u32 >= _T7)
        + np.int32(u32 >= _T8)
        + np.int32(u32 >= _T9)
        + np.int32(u32 >= _T10)
        + np.int32(u32 >= _T11)
    )


@njit(inline="always")
def _mix64(z):  # type: ignore[no-untyped-def]
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@cached_njit(parallel=True, fastmath=_FAST)
def poisson_sums(z_cols, offsets, keys, out):  # type: ignore[no-untyped-def]
    """out[b, c] = sum_i W(i, b) z_cols[c, i] with Poisson(1) weights W.

    Rows are processed in blocks that stay in L1 while a chunk of replicates runs over
    them, so the data is read from memory once per chunk of replicates.
    """
    n_cols, n_units = z_cols.shape
    n_reps = keys.shape[0]
    n_chunks = (n_reps + _REP_CHUNK - 1) // _REP_CHUNK
    for chunk in prange(n_chunks):
        b0 = chunk * _REP_CHUNK
        b1 = min(n_reps, b0 + _REP_CHUNK)
        w = np.empty(_ROW_BLOCK, dtype=np.float64)
        for r0 in range(0, n_units, _ROW_BLOCK):
            r1 = min(n_units, r0 + _ROW_BLOCK)
            for b in range(b0, b1):
                key = keys[b]
                for r in range(r0, r1):
                    # 32-bit compares: twice the SIMD lanes of 64-bit ones.
                    w[r - r0] = _poisson_weight(np.uint32(_mix64(key + offsets[r]) >> _S32))
                for c in range(n_cols):
                    acc = 0.0
                    for r in range(r0, r1):
                        acc += w[r - r0] * z_cols[c, r]
                    out[b, c] += acc
    return out


@cached_njit(parallel=True, fastmath=_FAST)
def multinomial_sums(z_rows, bounds, keys, out):  # type: ignore[no-untyped-def]
    """out[b, c] = sum over draws j of z_rows[I(j, b), c], I uniform within j's stratum.

    ``bounds`` are the stratum boundaries of the (stratum-sorted) units: draw position j
    in ``[bounds[h], bounds[h+1])`` picks a unit uniformly in the same range.
    """
    n_units, n_cols = z_rows.shape
    n_reps = keys.shape[0]
    n_strata = bounds.shape[0] - 1
    for b in prange(n_reps):
        key = keys[b]
        acc = np.zeros(n_cols, dtype=np.float64)
        for h in range(n_strata):
            start = bounds[h]
            size = bounds[h + 1] - start
            scale = size / _TWO53
            for j in range(start, start + size):
                word = _mix64(key + (np.uint64(j) + _ONE) * _G)
                idx = np.int64(np.float64(word >> _S11) * scale)
                if idx >= size:
                    idx = size - 1
                for c in range(n_cols):
                    acc[c] += z_rows[start + idx, c]
        for c in range(n_cols):
            out[b, c] = acc[c]
    return out


@cached_njit(parallel=True, fastmath=_FAST)
def sign_flip_sums(values, keys, out):  # type: ignore[no-untyped-def]
    """out[b] = sum_i s_i(b) values[i] with s_i = 1 - 2 * (bit i % 64 of u(i // 64, b))."""
    n = values.shape[0]
    n_words = (n + 63) // 64
    for b in prange(keys.shape[0]):
        key = keys[b]
        acc = 0.0
        for q in range(n_words):
            word = _mix64(key + (np.uint64(q) + _ONE) * _G)
            base = q * 64
            lim = min(64, n - base)
            for t in range(lim):
                bit = (word >> np.uint64(t)) & _ONE
                acc += values[base + t] * (1.0 - 2.0 * np.float64(bit))
        out[b] = acc
    return out


@cached_njit(parallel=True)
def shuffle_subset_sums(values, n_first, keys, out):  # type: ignore[no-untyped-def]
    """out[b] = sum of the values that a partial Fisher-Yates shuffle puts last.

    Step ``i`` (from N-1 down to N-n_first) swaps position i with a uniform
    ``j <= i`` drawn from u(i, b): the last ``n_first`` positions are then a uniform random
    subset, i.e. one random relabelling of a two-sample permutation test.
    """
    n = values.shape[0]
    for b in prange(keys.shape[0]):
        key = keys[b]
        perm = values.copy()
        acc = 0.0
        for i in range(n - 1, n - 1 - n_first, -1):
            word = _mix64(key + (np.uint64(i) + _ONE) * _G)
            j = np.int64(np.float64(word >> _S11) * ((i + 1) / _TWO53))
            if j > i:
                j = np.int64(i)
            tmp = perm[i]
            perm[i] = perm[j]
            perm[j] = tmp
            acc += perm[i]
        out[b] = acc
    return out
