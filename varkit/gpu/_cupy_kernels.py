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

from varkit.errors import VarkitError
from varkit.gpu import counter_rng as crng

_THREADS = 256
# enough blocks to fill an H100/H200 (132 SMs x 8 resident blocks) several times over
_TARGET_BLOCKS = 4096
_MAX_COLS = 8

_SOURCE = r"""
#define G  0x9E3779B97F4A7C15ULL
#define M1 0xBF58476D1CE4E5B9ULL
#define M2 0x94D049BB133111EBULL
#define THREADS 256
#define WARPS (THREADS / 32)

typedef unsigned long long u64;

__device__ __forceinline__ u64 mix64(u64 z) {
    z = (z ^ (z >> 30)) * M1;
    z = (z ^ (z >> 27)) * M2;
    return z ^ (z >> 31);
}

// Poisson(1) weight from the top 32 bits by inverse CDF (thresholds of counter_rng).
__device__ __forceinline__ int poisson_weight(unsigned int u) {
    return (u >= T0) + (u >= T1) + (u >= T2) + (u >= T3) + (u >= T4) + (u >= T5)
         + (u >= T6) + (u >= T7) + (u >= T8) + (u >= T9) + (u >= T10) + (u >= T11);
}

// Sum V values over the block: warp shuffles, then one shared-memory pass.
template <int V>
__device__ void block_sum(double (&acc)[V], double* out) {
    __shared__ double partial[WARPS][V];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    #pragma unroll
    for (int v = 0; v < V; ++v) {
        double x = acc[v];
        for (int s = 16; s > 0; s >>= 1) x += __shfl_down_sync(0xffffffffu, x, s);
        if (lane == 0) partial[warp][v] = x;
    }
    __syncthreads();
    if (threadIdx.x < V) {
        double total = 0.0;
        for (int w = 0; w < WARPS; ++w) total += partial[w][threadIdx.x];
        out[threadIdx.x] = total;
    }
}

// R replicates per block share each row's z: z is read once per R replicates. The units
// are split into gridDim.y chunks so that there are enough blocks to fill the GPU; each
// chunk writes its own partial sums (summed afterwards: deterministic, unlike atomics).
template <int NC, int R>
__global__ void poisson_sums(const double* __restrict__ z, const u64* __restrict__ offsets,
                             const u64* __restrict__ keys, int n_keys, long long n_units,
                             long long chunk, double* partial)
{
    const int b0 = blockIdx.x * R;
    const long long i0 = (long long)blockIdx.y * chunk;
    const long long i1 = min(n_units, i0 + chunk);
    u64 key[R];
    #pragma unroll
    for (int r = 0; r < R; ++r) key[r] = keys[min(b0 + r, n_keys - 1)];
    double acc[R * NC];
    #pragma unroll
    for (int v = 0; v < R * NC; ++v) acc[v] = 0.0;
    for (long long i = i0 + threadIdx.x; i < i1; i += THREADS) {
        const u64 offset = offsets[i];
        double zi[NC];
        #pragma unroll
        for (int c = 0; c < NC; ++c) zi[c] = z[i * NC + c];
        #pragma unroll
        for (int r = 0; r < R; ++r) {
            const double w = (double)poisson_weight((unsigned int)(mix64(key[r] + offset) >> 32));
            #pragma unroll
            for (int c = 0; c < NC; ++c) acc[r * NC + c] += w * zi[c];
        }
    }
    __shared__ double result[R * NC];
    block_sum<R * NC>(acc, result);
    __syncthreads();
    if (threadIdx.x < R * NC && b0 + threadIdx.x / NC < n_keys)
        partial[((long long)blockIdx.y * n_keys + b0) * NC + threadIdx.x] = result[threadIdx.x];
}

// One block per replicate: draws gather rows at random, so there is no reuse to share.
template <int NC>
__global__ void multinomial_sums(const double* __restrict__ z, const long long* bounds,
                                 int n_strata, const u64* __restrict__ keys, double* out)
{
    const u64 key = keys[blockIdx.x];
    double acc[NC];
    #pragma unroll
    for (int c = 0; c < NC; ++c) acc[c] = 0.0;
    for (int h = 0; h < n_strata; ++h) {
        const long long start = bounds[h];
        const long long size = bounds[h + 1] - start;
        const double scale = (double)size / 9007199254740992.0;
        #pragma unroll 4
        for (long long j = start + threadIdx.x; j < start + size; j += THREADS) {
            const u64 word = mix64(key + ((u64)j + 1ULL) * G);
            long long idx = (long long)((double)(word >> 11) * scale);
            if (idx >= size) idx = size - 1;
            #pragma unroll
            for (int c = 0; c < NC; ++c) acc[c] += z[(start + idx) * NC + c];
        }
    }
    block_sum<NC>(acc, out + (long long)blockIdx.x * NC);
}

// R replicates per block; each thread takes whole 64-value words: one hash per word and
// replicate gives 64 signs.
template <int R>
__global__ void sign_flip_sums(const double* __restrict__ values, long long n,
                               const u64* __restrict__ keys, int n_keys, double* out)
{
    const int b0 = blockIdx.x * R;
    u64 key[R];
    #pragma unroll
    for (int r = 0; r < R; ++r) key[r] = keys[min(b0 + r, n_keys - 1)];
    double acc[R];
    #pragma unroll
    for (int r = 0; r < R; ++r) acc[r] = 0.0;
    const long long n_words = (n + 63) / 64;
    for (long long q = threadIdx.x; q < n_words; q += THREADS) {
        u64 word[R];
        #pragma unroll
        for (int r = 0; r < R; ++r) word[r] = mix64(key[r] + ((u64)q + 1ULL) * G);
        const long long base = q * 64;
        const int lim = (int)min(64LL, n - base);
        for (int t = 0; t < lim; ++t) {
            const double v = values[base + t];
            #pragma unroll
            for (int r = 0; r < R; ++r)
                acc[r] += v * (1.0 - 2.0 * (double)((word[r] >> t) & 1ULL));
        }
    }
    __shared__ double result[R];
    block_sum<R>(acc, result);
    __syncthreads();
    if (threadIdx.x < R && b0 + threadIdx.x < n_keys) out[b0 + threadIdx.x] = result[threadIdx.x];
}

extern "C" __global__ void shuffle_subset_sums(
    const double* values, long long n, long long n_first, const u64* keys,
    int n_keys, double* work, double* out)
{
    int b = blockIdx.x * blockDim.x + threadIdx.x;
    if (b >= n_keys) return;
    const u64 key = keys[b];
    double* perm = work + (long long)b * n;
    for (long long i = 0; i < n; ++i) perm[i] = values[i];
    double acc = 0.0;
    for (long long i = n - 1; i > n - 1 - n_first; --i) {
        u64 word = mix64(key + ((u64)i + 1ULL) * G);
        long long j = (long long)((double)(word >> 11) * ((double)(i + 1) / 9007199254740992.0));
        if (j > i) j = i;
        double tmp = perm[i]; perm[i] = perm[j]; perm[j] = tmp;
        acc += perm[i];
    }
    out[b] = acc;
}
"""


def _source() -> str:
    thresholds = "".join(f"#define T{k} {int(t)}u\n" for k, t in enumerate(crng.POISSON_THRESHOLDS))
    return thresholds + _SOURCE


def _replicates_per_block(n_cols: int) -> int:
    """Replicates sharing one pass over z: at most 16 accumulators per thread."""
    return max(1, min(8, 16 // n_cols))


@functools.cache
def _function(name: str) -> Any:
    """Compile (once per instantiation) and return one kernel, e.g. 'poisson_sums<2, 8>'."""
    import cupy

    templated = "<" in name
    module = cupy.RawModule(
        code=_source(),
        options=("--std=c++14",),
        name_expressions=(name,) if templated else (),
    )
    return module.get_function(name)


def _check_cols(n_cols: int) -> None:
    if n_cols > _MAX_COLS:
        raise VarkitError(f"the GPU kernels take at most {_MAX_COLS} columns, got {n_cols}.")


def poisson(problem: Any, z: Any, offsets: Any, keys: Any, backend: Any) -> Any:
    import cupy

    n_units, n_cols = z.shape
    _check_cols(n_cols)
    n_keys = int(keys.shape[0])
    per_block = _replicates_per_block(n_cols)
    blocks = (n_keys + per_block - 1) // per_block
    # split the units so that about _TARGET_BLOCKS blocks run, each over >= 4 rows a thread
    n_chunks = max(1, min(-(-_TARGET_BLOCKS // blocks), -(-n_units // (4 * _THREADS))))
    chunk = -(-n_units // n_chunks)
    partial = cupy.zeros((n_chunks, n_keys, n_cols), dtype=cupy.float64)
    kernel = _function(f"poisson_sums<{n_cols}, {per_block}>")
    kernel(
        (blocks, n_chunks),
        (_THREADS,),
        (
            cupy.ascontiguousarray(z, dtype=cupy.float64),
            cupy.ascontiguousarray(offsets, dtype=cupy.uint64),
            cupy.ascontiguousarray(keys, dtype=cupy.uint64),
            np.int32(n_keys),
            np.int64(n_units),
            np.int64(chunk),
            partial,
        ),
    )
    return partial.sum(axis=0)


def multinomial(problem: Any, z: Any, offsets: Any, keys: Any, backend: Any) -> Any:
    import cupy

    n_cols = z.shape[1]
    _check_cols(n_cols)
    out = cupy.zeros((keys.shape[0], n_cols), dtype=cupy.float64)
    bounds = cupy.asarray(problem.bounds, dtype=cupy.int64)
    kernel = _function(f"multinomial_sums<{n_cols}>")
    kernel(
        (int(keys.shape[0]),),
        (_THREADS,),
        (
            cupy.ascontiguousarray(z, dtype=cupy.float64),
            bounds,
            np.int32(bounds.size - 1),
            cupy.ascontiguousarray(keys, dtype=cupy.uint64),
            out,
        ),
    )
    return out


def sign_flip(values: Any, keys: Any) -> Any:
    import cupy

    n_keys = int(keys.shape[0])
    per_block = 8
    out = cupy.zeros(n_keys, dtype=cupy.float64)
    kernel = _function(f"sign_flip_sums<{per_block}>")
    kernel(
        ((n_keys + per_block - 1) // per_block,),
        (_THREADS,),
        (
            cupy.ascontiguousarray(values, dtype=cupy.float64),
            np.int64(values.size),
            cupy.ascontiguousarray(keys, dtype=cupy.uint64),
            np.int32(n_keys),
            out,
        ),
    )
    return out


def shuffle_subset(values: Any, n_first: int, keys: Any) -> Any:
    import cupy

    n_keys = int(keys.shape[0])
    out = cupy.zeros(n_keys, dtype=cupy.float64)
    work = cupy.empty((n_keys, values.size), dtype=cupy.float64)
    kernel = _function("shuffle_subset_sums")
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
