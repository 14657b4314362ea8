"""A counter-based random number generator keyed on (seed, unit, replicate).

Every random number the engine uses is a pure function of the seed, the replicate number
and a unit number (a row, a cluster or a draw position): there is no generator state. The
same seed therefore gives the same bootstrap replicates whatever the batch size, the
backend (NumPy, the numba kernels, CuPy) or, later, the partitioning of the data over
Dask workers. NumPy and CuPy ``Generator`` objects cannot promise that.

The hash is SplitMix64 (Steele, Lea & Flood 2014, "Fast splittable pseudorandom number
generators", OOPSLA; the finaliser of Vigna's ``splitmix64.c``):

* ``K_b = mix64(mix64(seed + G) + (b + 1) G)`` is the key of replicate ``b``;
* ``u(i, b) = mix64(K_b + (i + 1) G)`` is the 64-bit word of unit ``i`` in replicate ``b``,

with ``G = 0x9E3779B97F4A7C15``. For a fixed replicate, ``u(., b)`` is exactly SplitMix64's
output stream started at ``K_b``, which passes BigCrush. Two replicates' streams overlap
only if their keys differ by ``j G`` for ``|j| < n``: probability about ``2 n B^2 / 2^64``.

From one word: a Poisson(1) weight by inverse CDF on its top 32 bits (the weights 0..12
are exact to 2^-32 in probability; weights above 12, probability 1.7e-11, never occur),
a uniform index in ``[0, m)`` as ``floor(u53 * m)`` with ``u53`` the top 53 bits
(non-uniformity at most ``m / 2^53``), and 64 random signs (one bit each) for
sign-flip permutation tests.

These functions take an array namespace ``xp`` (NumPy or CuPy); the compiled kernels in
``_numba_kernels`` and ``_cupy_kernels`` implement the very same arithmetic and are tested
against these.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = [
    "GOLDEN",
    "POISSON_THRESHOLDS",
    "mix64",
    "poisson_weights",
    "replicate_keys",
    "uniform_indices",
    "unit_words",
]

GOLDEN = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB
_MASK = (1 << 64) - 1


def _poisson_thresholds() -> np.ndarray:
    """T_k = round(F(k) 2^32) for the k with T_k < 2^32: W = #{k : u32 >= T_k}.

    With F the Poisson(1) CDF, P(W >= k + 1) = 1 - T_k / 2^32 = 1 - F(k) to 2^-32. The
    last threshold below 2^32 is F(11); weights above 12 (probability 1.7e-11) are not
    drawn.
    """
    cdf = 0.0
    out = []
    for k in range(64):
        cdf += math.exp(-1.0) / math.factorial(k)
        threshold = round(cdf * 2.0**32)
        if threshold >= 2**32:
            break
        out.append(threshold)
    return np.asarray(out, dtype=np.uint64)


POISSON_THRESHOLDS = _poisson_thresholds()


def _mix64_int(z: int) -> int:
    """SplitMix64 finaliser on a Python int (exact 64-bit arithmetic)."""
    z &= _MASK
    z = ((z ^ (z >> 30)) * _M1) & _MASK
    z = ((z ^ (z >> 27)) * _M2) & _MASK
    return z ^ (z >> 31)


def mix64(z: Any, xp: Any = np) -> Any:
    """SplitMix64 finaliser on a uint64 array (wrap-around arithmetic)."""
    z = xp.asarray(z, dtype=xp.uint64)
    z = (z ^ (z >> xp.uint64(30))) * xp.uint64(_M1)
    z = (z ^ (z >> xp.uint64(27))) * xp.uint64(_M2)
    return z ^ (z >> xp.uint64(31))


def replicate_keys(seed: int, start: int, stop: int, xp: Any = np) -> Any:
    """Keys ``K_b`` of replicates ``start <= b < stop`` (uint64)."""
    base = _mix64_int(seed + GOLDEN)
    b = np.arange(start, stop, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = np.uint64(base) + (b + np.uint64(1)) * np.uint64(GOLDEN)
    return xp.asarray(mix64(z, np))


def unit_offsets(units: Any, xp: Any = np) -> Any:
    """``(i + 1) G`` for unit numbers ``i`` (uint64), the per-unit half of the counter."""
    units = xp.asarray(units, dtype=xp.uint64)
    return (units + xp.uint64(1)) * xp.uint64(GOLDEN)


def unit_words(keys: Any, offsets: Any, xp: Any = np) -> Any:
    """The words ``u(i, b)`` as a (len(keys), len(offsets)) uint64 array."""
    return mix64(keys[:, None] + offsets[None, :], xp)


def poisson_weights(keys: Any, offsets: Any, xp: Any = np) -> Any:
    """Poisson(1) weights, shape (len(keys), len(offsets)), as uint8.

    Examples
    --------
    >>> w = poisson_weights(replicate_keys(1, 0, 200), unit_offsets(np.arange(5000)))
    >>> round(float(w.mean()), 2), round(float(w.var()), 2)
    (1.0, 1.0)
    """
    u32 = unit_words(keys, offsets, xp) >> xp.uint64(32)
    weights = xp.zeros(u32.shape, dtype=xp.uint8)
    for threshold in POISSON_THRESHOLDS.tolist():
        weights += (u32 >= xp.uint64(threshold)).astype(xp.uint8)
    return weights


def uniform_indices(keys: Any, offsets: Any, size: int, xp: Any = np) -> Any:
    """Uniform indices in ``[0, size)``, shape (len(keys), len(offsets)), as int64."""
    u53 = (unit_words(keys, offsets, xp) >> xp.uint64(11)).astype(xp.float64)
    idx = xp.floor(u53 * (float(size) / 2.0**53)).astype(xp.int64)
    return xp.minimum(idx, size - 1)
