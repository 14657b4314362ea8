"""The running estimate and relative half-width as tests accumulate (a convergence curve).

Each checkpoint is the estimate on the first n tests, finished by the estimator's own code,
so a checkpoint has the same interval, edges and clipping as the estimate on that prefix;
:func:`varkit.cav.n_required` (:mod:`varkit.cav.stopping`) says when the curve reaches a
target relative half-width.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from varkit.cav._checks import (
    as_crash,
    as_vector,
    as_weight,
    check_method,
    is_integer,
    require_unit_weights,
)
from varkit.cav.control_variates import control_variate_estimate, fold_seed
from varkit.cav.estimators import check_weight_bound, is_from_moments, nde_from_moments
from varkit.cav.moments import Moments
from varkit.cav.sparse import sparse_control_variates
from varkit.checks import check_confidence
from varkit.errors import VarkitError, VarkitTypeError
from varkit.results import Result, ResultSet, make_provenance

__all__ = ["running_estimate"]


def _checkpoint(result: Result, n: int) -> Result:
    """A result on the first ``n`` tests, labelled and marked as a checkpoint (gates with
    ``final = true`` pass over it, :func:`varkit.gates.is_checkpoint`)."""
    return result.replace(group={"tests": str(n)}, details={**result.details, "checkpoint": True})


def _checkpoints(checkpoints: Any, n: int) -> np.ndarray:
    if checkpoints is None:
        checkpoints = 50
    if is_integer(checkpoints):
        if checkpoints < 1:
            raise VarkitError(f"`checkpoints` must be positive, got {checkpoints}.")
        # at most one checkpoint per test: more would repeat (and --running 1e12 would
        # allocate 8 TB before np.unique removed the repeats)
        count = min(int(checkpoints), max(n - 1, 1))
        grid = np.unique(np.geomspace(2, max(n, 2), count).round().astype(int))
        return grid[grid >= 2]
    grid = np.asarray(checkpoints)
    if grid.ndim != 1 or grid.size == 0 or not np.issubdtype(grid.dtype, np.integer):
        raise VarkitTypeError("`checkpoints` must be an integer or a 1-D sequence of integers.")
    if grid.min() < 2 or grid.max() > n:
        raise VarkitError(f"`checkpoints` must lie between 2 and the number of tests ({n}).")
    return np.unique(grid)


def _running_sums(
    y: np.ndarray,
    w: np.ndarray,
    grid: np.ndarray,
    level: float,
    method: str,
    weight_bound: Any,
) -> list[Result]:
    """NDE or importance sampling after the first n tests, for every n in ``grid``.

    Prefix sums give every checkpoint's :class:`Moments` in one pass; each is finished by
    the estimator's own code (:func:`nde_from_moments`, :func:`is_from_moments`), so a
    checkpoint has the same interval, edges and clipping as the estimate on that prefix.
    """
    bound = check_weight_bound(weight_bound)
    z = y * w
    s1, s2 = np.cumsum(z), np.cumsum(z * z)
    sw, sww = np.cumsum(w), np.cumsum(w * w)
    crashes, full = np.cumsum(y > 0), np.cumsum(y >= 1.0)
    wmax = np.maximum.accumulate(w)
    out = []
    for n in grid:
        mean = float(s1[n - 1] / n)
        m = Moments(
            n=int(n),
            crashes=int(crashes[n - 1]),
            sw=float(sw[n - 1]),
            sww=float(sww[n - 1]),
            zbar=mean,
            czz=max(0.0, float(s2[n - 1] - n * mean * mean)),
            full=int(full[n - 1]),
            wmax=float(wmax[n - 1]),
        )
        if method == "nde":
            r = nde_from_moments(m, level)
        else:
            r = is_from_moments(m, level, weight_bound=bound)
        out.append(_checkpoint(r, n))
    return out


def running_estimate(
    crash: Any,
    weight: Any = None,
    *,
    log_weight: Any = None,
    n_critical: Any = None,
    controls: Any = None,
    method: str = "is",
    checkpoints: int | Sequence[int] | None = None,
    confidence: float = 0.9,
    row_ids: Any = None,
    **options: Any,
) -> ResultSet:
    """Estimate and relative half-width after the first n tests, for growing n.

    Parameters
    ----------
    crash, weight, log_weight, n_critical, controls
        As for the estimator named by ``method`` (tests in the order they were run).
    method : {'nde', 'is', 'cv', 'scv'}, default 'is'
        ``nde`` ignores weights (weights other than 1 are an error: use ``is``); ``cv``
        uses ``controls`` and ``weight``; ``scv`` also needs ``n_critical``.
    checkpoints : int or sequence of int, optional
        Numbers of tests at which to evaluate: an int asks for that many log-spaced points
        (default 50); ``range(2, n + 1)`` gives every test.
    confidence : float, default 0.9
        Level of the intervals and of the relative half-width.
    row_ids : array-like of int, optional
        Stable id of each test, keying the cross-fitting folds of ``cv``/``scv`` (default
        the position); a test keeps its fold at every checkpoint.
    **options
        Passed on to the control-variate estimator (``fit``, ``crossfit``, ``random_state``,
        ``control_means`` ...); ``weight_bound`` for ``is`` (see
        :func:`importance_sampling_estimate`).

    Returns
    -------
    ResultSet
        One ``crash_rate`` Result per checkpoint, ``group={"tests": "<n>"}`` and
        ``details["checkpoint"] = True``; the provenance
        lists checkpoints skipped because the method cannot run on so few tests yet, and
        for ``cv``/``scv`` the fold seed (drawn once when ``random_state`` is None).

    Examples
    --------
    >>> from varkit.cav import running_estimate
    >>> rs = running_estimate([0, 1, 0, 0, 1, 0, 0, 0], method="nde", checkpoints=[4, 8])
    >>> [(r.n, r.estimate) for r in rs]
    [(4, 0.25), (8, 0.25)]
    """
    check_method(method)
    y = as_crash(crash)
    level = check_confidence(confidence)
    grid = _checkpoints(checkpoints, y.size)
    results: list[Result] = []
    skipped: list[dict[str, Any]] = []
    seed: int | None = None
    if method in ("nde", "is"):
        if method == "nde":
            if weight is not None or log_weight is not None:
                column = "weight" if weight is not None else "log_weight"
                raw = as_vector(weight if weight is not None else log_weight, column)
                require_unit_weights(raw, column, "'nde'")
            w = np.ones(y.size)
        else:
            w = as_weight(weight, log_weight, y.size)
        results = _running_sums(y, w, grid, level, method, options.get("weight_bound"))
    else:
        cv_w = (
            as_weight(weight, log_weight, y.size)
            if (weight is not None or log_weight is not None)
            else None
        )
        h = np.asarray(controls)
        k = None if n_critical is None else np.asarray(n_critical)
        ids = np.arange(y.size) if row_ids is None else np.asarray(row_ids)
        # One seed for every checkpoint, so that a test keeps its fold (drawn here when
        # none is given, and written in the provenance).
        seed = fold_seed(options.pop("random_state", None))
        # The full run goes first, so that bad input raises; a prefix too short for the
        # method is skipped and listed.
        for n in grid[::-1]:
            try:
                if method == "cv":
                    r = control_variate_estimate(
                        y[:n],
                        h[:n],
                        weights=None if cv_w is None else cv_w[:n],
                        confidence=level,
                        metric="crash_rate",
                        row_ids=ids[:n],
                        random_state=seed,
                        **options,
                    )
                else:
                    if cv_w is None or k is None:
                        raise VarkitError("method 'scv' needs `weight` and `n_critical`.")
                    r = sparse_control_variates(
                        y[:n],
                        cv_w[:n],
                        k[:n],
                        h[:n],
                        confidence=level,
                        row_ids=ids[:n],
                        random_state=seed,
                        **options,
                    )
            except VarkitError as exc:
                if n == grid[-1]:
                    raise
                skipped.append({"tests": int(n), "reason": str(exc)})
                continue
            results.append(_checkpoint(r, n))
        results.reverse()
        skipped.reverse()
    prov = make_provenance(function="varkit.cav.running_estimate", method=method, seed=seed)
    prov["skipped_checkpoints"] = skipped
    return ResultSet(tuple(results), prov)
