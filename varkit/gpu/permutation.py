"""Permutation tests: sign flips for paired data, relabelling for two samples."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from varkit.checks import check_alternative, resolve_seed
from varkit.errors import VarkitError, VarkitTypeError
from varkit.gpu import counter_rng as crng
from varkit.gpu.backend import (
    Backend,
    available_block_bytes,
    check_memory,
    resolve_device,
    to_numpy,
)
from varkit.io import check_array
from varkit.progress import progress
from varkit.results import Result

__all__ = ["permutation_test"]

_KERNEL_BATCH = 512


def _validate_permutation(
    x: Any, y: Any, statistic: Any, paired: bool, n_resamples: Any, alternative: Any
) -> tuple[np.ndarray, np.ndarray | None]:
    if not callable(statistic) and statistic != "mean_difference":
        raise VarkitError(
            f"`statistic` must be 'mean_difference' or a callable; got {statistic!r}."
        )
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)):
        raise VarkitTypeError("`n_resamples` must be a positive integer.")
    if n_resamples < 1:
        raise VarkitError(f"`n_resamples` must be a positive integer, got {n_resamples}.")
    check_alternative(alternative)
    xs = check_array(x, "x")
    if y is None:
        if not paired:
            raise VarkitError("a one-sample test (y=None) is a paired test: set paired=True.")
        return xs, None
    ys = check_array(y, "y")
    if paired and xs.size != ys.size:
        raise VarkitError(
            f"paired `x` and `y` must have the same length, got {xs.size} and {ys.size}."
        )
    return xs, ys


def permutation_test(
    x: Any,
    y: Any = None,
    *,
    statistic: str | Callable[..., Any] = "mean_difference",
    paired: bool = False,
    n_resamples: int = 9999,
    alternative: str = "two-sided",
    device: str = "auto",
    random_state: Any = None,
) -> Result:
    """Permutation test of no difference between ``x`` and ``y``.

    Paired data (``paired=True``; ``y=None`` tests ``x`` against zero) are tested by
    flipping the sign of each difference; two independent samples by relabelling the
    pooled values. The test is exact (all sign vectors or all relabellings) when there
    are at most ``n_resamples`` of them, and Monte Carlo otherwise.

    Parameters
    ----------
    x, y : array_like
        The samples (``y`` optional for a paired test of ``x`` against zero).
    statistic : 'mean_difference' or callable
        ``mean(x) - mean(y)`` (fast path, compiled kernels), or a callable vectorised over
        a leading batch axis: ``statistic(x, y, axis=-1)`` for two samples,
        ``statistic(d, axis=-1)`` of the sign-flipped differences for paired data.
    paired : bool
        Sign-flip test on ``x - y`` instead of a two-sample relabelling test.
    n_resamples : int
        Monte Carlo permutations when the exact test would need more.
    alternative : {'two-sided', 'less', 'greater'}
        ``greater``: the statistic is larger than under the null.
    device : {'auto', 'cpu', 'gpu'}
    random_state : None, int or numpy.random.Generator
        Seed of the counter-based generator.

    Returns
    -------
    Result
        ``statistic`` and ``estimate`` the observed statistic, ``pvalue``; ``details``
        tells whether the test was exact and how many permutations it used.

    Notes
    -----
    P-values follow ``scipy.stats.permutation_test``: a Monte Carlo p-value is
    ``(k + 1) / (B + 1)`` with ``k`` the null statistics at least as extreme (Phipson &
    Smyth 2010), an exact one ``k / N``; two-sided is twice the smaller one-sided p-value,
    capped at 1.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> before, after = rng.normal(size=40), rng.normal(0.5, size=40)
    >>> r = permutation_test(after, before, paired=True, random_state=0, device="cpu")
    >>> r.pvalue < 0.05, r.method
    (True, 'permutation-sign-flip')
    """
    xs, ys = _validate_permutation(x, y, statistic, paired, n_resamples, alternative)
    backend = resolve_device(device)
    seed = resolve_seed(random_state)
    check_memory(
        int(n_resamples) * 8.0 * 2,
        f"n_resamples={int(n_resamples)} permutations",
        hint="use fewer resamples (10,000 give a p-value of 0.05 to about 0.002)",
    )
    # the mean difference is homogeneous: scaling the data by a power of two scales it
    # exactly and leaves the p-value as it is, so data near 1e308 cannot overflow the sums
    scale = 1.0 if callable(statistic) else _power_of_two_scale(xs, ys)
    if scale != 1.0:
        xs = xs * scale
        ys = None if ys is None else ys * scale
    if paired:
        d = xs if ys is None else xs - ys
        observed, null, exact, total = _sign_flip(d, statistic, int(n_resamples), seed, backend)
        method = "permutation-sign-flip"
        n = d.size
    else:
        assert ys is not None
        observed, null, exact, total = _relabel(xs, ys, statistic, int(n_resamples), seed, backend)
        method = "permutation-relabel"
        n = xs.size + ys.size
    if not np.isfinite(observed):
        raise VarkitError(
            f"the statistic of the data is not a finite number ({observed}); it cannot be tested."
        )
    pvalue = _pvalue(observed, null, alternative, exact)
    name = statistic if isinstance(statistic, str) else getattr(statistic, "__name__", "statistic")
    extra: dict[str, Any] = {}
    if scale != 1.0:
        with np.errstate(over="ignore"):
            observed = observed / scale
        if not np.isfinite(observed):
            raise VarkitError(
                "the mean difference of the data exceeds the floating-point range (1.8e308)."
            )
        extra["scaled"] = (
            f"the data were scaled by {scale:.6g} (a power of two, exact) so that no sum "
            "overflows; the statistic is reported on the original scale"
        )
    return Result(
        metric=name,
        estimate=observed,
        method=method,
        n=n,
        statistic=observed,
        pvalue=pvalue,
        alternative=alternative,
        details={
            "exact": exact,
            "n_resamples": int(n_resamples),
            "n_permutations": int(null.size),
            # 2**n and C(n, k) outgrow a float for n >= 1024: report huge counts as inf
            "n_possible": total if total < 2**63 else float("inf"),
            "seed": None if exact else seed,
            "device": backend.device,
            **extra,
        },
    )


def _pvalue(observed: float, null: np.ndarray, alternative: str, exact: bool) -> float:
    # relative tolerance as scipy: null values equal to the observed up to rounding count
    gamma = abs(observed) * 100 * float(np.finfo(np.float64).eps)
    less = np.count_nonzero(null <= observed + gamma)
    greater = np.count_nonzero(null >= observed - gamma)
    adjust = 0 if exact else 1
    p_less = (less + adjust) / (null.size + adjust)
    p_greater = (greater + adjust) / (null.size + adjust)
    if alternative == "less":
        return float(p_less)
    if alternative == "greater":
        return float(p_greater)
    return float(min(1.0, 2.0 * min(p_less, p_greater)))


_SUM_LIMIT_LOG2 = 400


def _power_of_two_scale(x: np.ndarray, y: np.ndarray | None) -> float:
    """1, or the power of two that keeps every sum of the data below 2^400."""
    pooled = x if y is None else np.concatenate([x, y])
    largest = float(np.max(np.abs(pooled))) if pooled.size else 0.0
    if largest == 0.0:
        return 1.0
    exponent = int(np.ceil(np.log2(largest) + np.log2(2.0 * pooled.size + 2.0)))
    return 2.0 ** (_SUM_LIMIT_LOG2 - exponent) if exponent > _SUM_LIMIT_LOG2 else 1.0


def _exact_fits(total: int, n: int, n_resamples: int) -> bool:
    """Enumerate all ``total`` arrangements when they are no more than the resamples asked
    for and their (total, n) matrices fit in a block of memory; else Monte Carlo."""
    return total <= n_resamples and total * n * 24.0 <= available_block_bytes()


def _sign_flip(
    d: np.ndarray, statistic: Any, n_resamples: int, seed: int, backend: Backend
) -> tuple[float, np.ndarray, bool, int]:
    n = d.size
    total = 2**n
    if callable(statistic):
        with np.errstate(all="ignore"):
            observed = float(np.asarray(statistic(d, axis=-1)))
    else:
        observed = float(d.mean())
    if _exact_fits(total, n, n_resamples):
        signs = 1.0 - 2.0 * np.array(list(itertools.product((0.0, 1.0), repeat=n)))
        flipped = signs * d
        null = np.asarray(statistic(flipped, axis=-1)) if callable(statistic) else flipped.mean(1)
        return observed, np.asarray(null, dtype=float), True, total
    null = np.empty(n_resamples)
    xp = backend.xp
    values = xp.asarray(d)
    # a GPU takes all sign-flip replicates in one launch (no per-replicate buffers)
    step = n_resamples if backend.is_gpu and not callable(statistic) else _KERNEL_BATCH
    with progress(n_resamples, "permutations") as done:
        for start in range(0, n_resamples, step):
            stop = min(n_resamples, start + step)
            keys = crng.replicate_keys(seed, start, stop, xp)
            if callable(statistic):
                signs = _sign_matrix(keys, n, xp)
                null[start:stop] = to_numpy(statistic(signs * values, axis=-1))
            elif backend.is_gpu:
                from varkit.gpu import _cupy_kernels

                null[start:stop] = to_numpy(_cupy_kernels.sign_flip(values, keys)) / n
            else:
                from varkit.gpu import _numba_kernels

                out = np.zeros(stop - start)
                null[start:stop] = _numba_kernels.sign_flip_sums(d, keys, out) / n
            done(stop - start)
    return observed, null, False, total


def _sign_matrix(keys: Any, n: int, xp: Any) -> Any:
    """Signs s_i(b) = 1 - 2 * (bit i % 64 of u(i // 64, b)), shape (len(keys), n)."""
    n_words = (n + 63) // 64
    words = crng.unit_words(keys, crng.unit_offsets(xp.arange(n_words, dtype=xp.uint64), xp), xp)
    shifts = xp.arange(64, dtype=xp.uint64)
    bits = (words[:, :, None] >> shifts) & xp.uint64(1)
    return 1.0 - 2.0 * bits.reshape(keys.shape[0], -1)[:, :n].astype(xp.float64)


def _relabel(
    x: np.ndarray, y: np.ndarray, statistic: Any, n_resamples: int, seed: int, backend: Backend
) -> tuple[float, np.ndarray, bool, int]:
    pooled = np.concatenate([x, y])
    n_total, n_x = pooled.size, x.size
    total = math.comb(n_total, n_x)
    if callable(statistic):
        with np.errstate(all="ignore"):
            observed = float(np.asarray(statistic(x, y, axis=-1)))
    else:
        observed = float(x.mean() - y.mean())
    grand = float(pooled.sum())
    if _exact_fits(total, n_total, n_resamples):
        chosen = np.array(list(itertools.combinations(range(n_total), n_x)))
        if callable(statistic):
            mask = np.zeros((chosen.shape[0], n_total), dtype=bool)
            mask[np.arange(chosen.shape[0])[:, None], chosen] = True
            xs = np.broadcast_to(pooled, mask.shape)[mask].reshape(-1, n_x)
            ys = np.broadcast_to(pooled, mask.shape)[~mask].reshape(-1, n_total - n_x)
            null = np.asarray(statistic(xs, ys, axis=-1), dtype=float)
        else:
            sums = pooled[chosen].sum(axis=1)
            null = sums / n_x - (grand - sums) / (n_total - n_x)
        return observed, null, True, total
    null = np.empty(n_resamples)
    with progress(n_resamples, "permutations") as done:
        for start in range(0, n_resamples, _KERNEL_BATCH):
            stop = min(n_resamples, start + _KERNEL_BATCH)
            done(stop - start)  # reported as the block starts: one branch ends in `continue`
            if callable(statistic):
                keys = crng.replicate_keys(seed, start, stop, np)
                perm = _shuffled(pooled, n_x, keys)
                null[start:stop] = to_numpy(
                    statistic(perm[:, n_total - n_x :], perm[:, : n_total - n_x], axis=-1)
                )
                continue
            xp = backend.xp
            keys = crng.replicate_keys(seed, start, stop, xp)
            if backend.is_gpu:
                from varkit.gpu import _cupy_kernels

                sums = to_numpy(_cupy_kernels.shuffle_subset(xp.asarray(pooled), n_x, keys))
            else:
                from varkit.gpu import _numba_kernels

                sums = _numba_kernels.shuffle_subset_sums(pooled, n_x, keys, np.zeros(stop - start))
            null[start:stop] = sums / n_x - (grand - sums) / (n_total - n_x)
    return observed, null, False, total


def _shuffled(pooled: np.ndarray, n_first: int, keys: np.ndarray) -> np.ndarray:
    """Partial Fisher-Yates shuffles, one row per key (the kernels' reference)."""
    n = pooled.size
    perm = np.tile(pooled, (keys.size, 1))
    rows = np.arange(keys.size)
    for i in range(n - 1, n - 1 - n_first, -1):
        word = crng.mix64(keys + crng.unit_offsets(np.array([i]))[0])
        j = np.floor((word >> np.uint64(11)).astype(np.float64) * ((i + 1) / 2.0**53))
        j = np.minimum(j.astype(np.int64), i)
        tmp = perm[rows, i].copy()
        perm[rows, i] = perm[rows, j]
        perm[rows, j] = tmp
    return perm
