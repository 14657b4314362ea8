"""Fused GPU kernels (CuPy raw kernels) for the resampling engine.

The same algorithms as ``_numba_kernels`` with the same counter-based arithmetic, so the
GPU gives the CPU's replicates to floating-point summation order. One CUDA block per
replicate; its threads stride over the units, keep the random numbers in registers and
reduce in shared memory: no (replicates x units) matrix is written. The plain CuPy array
code in ``replicates`` is the reference these are tested against.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from varkit.gpu import counter_rng as crng

_THREADS = 256
_MAX_COLS = 8

_SOURCE = r"""
#define G  0x9E3779B97F4A7C15ULL
#define M1 0xBF58476D1CE4E5B9ULL
#define M2 0x94D049BB133111EBULL
#define THREADS 256
#define MAX_COLS 8

__device__ __forceinline__ unsigned long long mix64(unsigned long long z) {
    z = (z ^ (z >> 30)) * M1;
    z = (z ^ (z >> 27)) * M2;
    return z ^ (z >> 31);
}

__device__ void block_reduce(double acc[MAX_COLS], int n_cols, double* out) {
    __shared__ double shared[THREADS];
    for (int c = 0; c < n_cols; ++c) {
        shared[threadIdx.x] = acc[c];
        __syncthreads();
        for (int s = THREADS / 2; s > 0; s >>= 1) {
            if (threadIdx.x < s) shared[threadIdx.x] += shared[threadIdx.x + s];
            __syncthreads();
        }
        if (threadIdx.x == 0) out[c] = shared[0];
        __syncthreads();
    }
}

extern "C" __global__ void poisson_sums(
    const double* z, const unsigned long long* offsets, const unsigned long long* keys,
    const unsigned int* thresholds, int n_thr, long long n_units, int n_cols, double* out)
{
    const unsigned long long key = keys[blockIdx.x];
    double acc[MAX_COLS];
    for (int c = 0; c < n_cols; ++c) acc[c] = 0.0;
    for (long long r = threadIdx.x; r < n_units; r += THREADS) {
        unsigned int u32 = (unsigned int)(mix64(key + offsets[r]) >> 32);
        int w = 0;
        for (int t = 0; t < n_thr; ++t) w += (u32 >= thresholds[t]);
        if (w) {
            for (int c = 0; c < n_cols; ++c) acc[c] += w * z[r * n_cols + c];
        }
    }
    block_reduce(acc, n_cols, out + (long long)blockIdx.x * n_cols);
}

extern "C" __global__ void multinomial_sums(
    const double* z, const long long* bounds, int n_strata, int n_cols,
    const unsigned long long* keys, double* out)
{
    const unsigned long long key = keys[blockIdx.x];
    double acc[MAX_COLS];
    for (int c = 0; c < n_cols; ++c) acc[c] = 0.0;
    for (int h = 0; h < n_strata; ++h) {
        const long long start = bounds[h];
        const long long size = bounds[h + 1] - start;
        const double scale = (double)size / 9007199254740992.0;
        for (long long j = start + threadIdx.x; j < start + size; j += THREADS) {
            unsigned long long word = mix64(key + ((unsigned long long)j + 1ULL) * G);
            long long idx = (long long)((double)(word >> 11) * scale);
            if (idx >= size) idx = size - 1;
            for (int c = 0; c < n_cols; ++c) acc[c] += z[(start + idx) * n_cols + c];
        }
    }
    block_reduce(acc, n_cols, out + (long long)blockIdx.x * n_cols);
}

extern "C" __global__ void sign_flip_sums(
    const double* values, long long n, const unsigned long long* keys, double* out)
{
    const unsigned long long key = keys[blockIdx.x];
    double acc[MAX_COLS];
    acc[0] = 0.0;
    for (long long i = threadIdx.x; i < n; i += THREADS) {
        unsigned long long word = mix64(key + ((unsigned long long)(i >> 6) + 1ULL) * G);
        unsigned long long bit = (word >> (i & 63)) & 1ULL;
        acc[0] += values[i] * (1.0 - 2.0 * (double)bit);
    }
    block_reduce(acc, 1, out + blockIdx.x);
}

extern "C" __global__ void shuffle_subset_sums(
    const double* values, long long n, long long n_first, const unsigned long long* keys,
    int n_keys, double* work, double* out)
{
    int b = blockIdx.x * blockDim.x + threadIdx.x;
    if (b >= n_keys) return;
    const unsigned long long key = keys[b];
    double* perm = work + (long long)b * n;
    for (long long i = 0; i < n; ++i) perm[i] = values[i];
    double acc = 0.0;
    for (long long i = n - 1; i > n - 1 - n_first; --i) {
        unsigned long long word = mix64(key + ((unsigned long long)i + 1ULL) * G);
        long long j = (long long)((double)(word >> 11) * ((double)(i + 1) / 9007199254740992.0));
        if (j > i) j = i;
        double tmp = perm[i]; perm[i] = perm[j]; perm[j] = tmp;
        acc += perm[i];
    }
    out[b] = acc;
}
"""


@functools.lru_cache(maxsize=1)
def _module() -> Any:
    import cupy

    return cupy.RawModule(code=_SOURCE, options=("--std=c++14",))


def _check_cols(n_cols: int) -> None:
    if n_cols > _MAX_COLS:
        raise ValueError(f"the GPU kernels take at most {_MAX_COLS} columns, got {n_cols}.")


def poisson(problem: Any, z: Any, offsets: Any, keys: Any, backend: Any) -> Any:
    import cupy

    n_units, n_cols = z.shape
    _check_cols(n_cols)
    out = cupy.zeros((keys.shape[0], n_cols), dtype=cupy.float64)
    thresholds = cupy.asarray(crng.POISSON_THRESHOLDS.astype(np.uint32))
    kernel = _module().get_function("poisson_sums")
    kernel(
        (int(keys.shape[0]),),
        (_THREADS,),
        (
            cupy.ascontiguousarray(z, dtype=cupy.float64),
            cupy.ascontiguousarray(offsets, dtype=cupy.uint64),
            cupy.ascontiguousarray(keys, dtype=cupy.uint64),
            thresholds,
            np.int32(thresholds.size),
            np.int64(n_units),
            np.int32(n_cols),
            out,
        ),
    )
    return out


def multinomial(problem: Any, z: Any, offsets: Any, keys: Any, backend: Any) -> Any:
    import cupy

    n_cols = z.shape[1]
    _check_cols(n_cols)
    out = cupy.zeros((keys.shape[0], n_cols), dtype=cupy.float64)
    bounds = cupy.asarray(problem.bounds, dtype=cupy.int64)
    kernel = _module().get_function("multinomial_sums")
    kernel(
        (int(keys.shape[0]),),
        (_THREADS,),
        (
            cupy.ascontiguousarray(z, dtype=cupy.float64),
            bounds,
            np.int32(bounds.size - 1),
            np.int32(n_cols),
            cupy.ascontiguousarray(keys, dtype=cupy.uint64),
            out,
        ),
    )
    return out


def sign_flip(values: Any, keys: Any) -> Any:
    import cupy

    out = cupy.zeros(keys.shape[0], dtype=cupy.float64)
    kernel = _module().get_function("sign_flip_sums")
    kernel(
        (int(keys.shape[0]),),
        (_THREADS,),
        (
            cupy.ascontiguousarray(values, dtype=cupy.float64),
            np.int64(values.size),
            cupy.ascontiguousarray(keys, dtype=cupy.uint64),
            out,
        ),
    )
    return out


def shuffle_subset(values: Any, n_first: int, keys: Any) -> Any:
    import cupy

    n_keys = int(keys.shape[0])
    out = cupy.zeros(n_keys, dtype=cupy.float64)
    work = cupy.empty((n_keys, values.size), dtype=cupy.float64)
    kernel = _module().get_function("shuffle_subset_sums")
    blocks = (n_keys + 127) // 128
    kernel(
        (blocks,),
        (128,),
        (
            cupy.ascontiguousarray(values, dtype=cupy.float64),
            np.int64(values.size),
            np.int64(n_first),
            cupy.ascontiguousarray(keys, dtype=cupy.uint64),
            np.int32(n_keys),
            work,
            out,
        ),
    )
    return out
