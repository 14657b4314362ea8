"""Crash-rate estimates (NDE, importance sampling, CV, SCV) over the partitions of a test log.

Every estimator of :mod:`varkit.cav` is a function of mergeable sums per (stratum level,
fold) cell (:mod:`varkit.cav.moments`): counts, means and centred cross-products of the
outcome ``Z = Y W`` and the controls. Each partition emits its cells, a tree reduction
merges them (:func:`~varkit.engine.reduce.map_reduce`), and the in-memory finishing code
(:func:`varkit.cav.sparse.scv_from_cells` and friends) turns the sums into the Result.

Cross-fitting folds are a hash of (seed, row id) (:func:`varkit.cav.moments.fold_ids`),
with the row ids of :mod:`varkit.io.partitions` (file index and row offset, or a
``row_id`` column), so the answer does not depend on the partitioning and equals the
in-memory estimate with ``row_ids`` set to the same ids (to floating-point summation
order). Only ``fit="ols"`` runs here: ridge and lasso choose their penalty by
cross-validation on the rows, which sums do not carry.

Examples
--------
>>> import os, tempfile
>>> from varkit.cav import sparse_control_variates
>>> from varkit.cav.scenarios import OvertakingScenario
>>> from varkit.engine.reduce import LogSource
>>> log = OvertakingScenario().simulate(3000, "surrogate", random_state=0)
>>> path = os.path.join(tempfile.mkdtemp(), "tests.csv")
>>> log.to_csv(path, index=False)
>>> r = crash_rate_log(LogSource(path, npartitions=3), method="scv", pool_above=3,
...                    random_state=1, engine="chunks")
>>> m = sparse_control_variates(log["crash"], log["weight"], log["n_critical"],
...                             log.filter(like="cv_"), pool_above=3, random_state=1)
>>> bool(abs(r.estimate - m.estimate) <= 1e-9 * abs(m.estimate)), r.details["partitions"]
(True, 3)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from varkit.cav._checks import (
    as_control_means,
    check_magnitude,
    check_pooling,
    check_rhw,
    check_weights,
    require_unit_weights,
)
from varkit.cav.control_variates import check_crossfit, cv_from_cells, fold_seed
from varkit.cav.estimators import check_weight_bound, is_from_moments, nde_from_moments
from varkit.cav.intervals import check_alternative
from varkit.cav.moments import Cells, cell_moments, fold_ids, merge_cells, total
from varkit.cav.sparse import CRASHES_PER_CONTROL, scv_from_cells
from varkit.checks import check_confidence
from varkit.engine.reduce import LogSource, map_reduce
from varkit.errors import VarkitError
from varkit.io import Column
from varkit.io.partitions import ROW_ID, expand_paths, read_header
from varkit.results import Result

__all__ = ["METHODS", "crash_rate_log", "log_columns", "log_layout"]

METHODS = ("nde", "is", "cv", "scv")


@dataclass(frozen=True)
class LogLayout:
    """What a test log holds: its weight column (if any) and its control columns."""

    weight: str | None  # "weight", "log_weight" or None
    controls: tuple[str, ...]
    unit_weights: tuple[str, ...] = ()  # the weight columns present (nde: must be all 1)


@dataclass(frozen=True)
class _Spec:
    """What each partition needs to emit its cells (pickled to the workers)."""

    method: str
    weight: str | None
    controls: tuple[str, ...]
    means: tuple[float, ...]
    crossfit: int | None
    seed: int
    unit_weights: tuple[str, ...] = ()  # nde: weight columns that must be all 1 (or 0)


def log_columns(method: str) -> list[Column]:
    """The column declarations of a test log for ``method`` (as ``varkit cav crash-rate``)."""
    return [
        Column("crash", "probability"),
        Column("weight", "float", required=False),
        Column("log_weight", "float", required=False),
        Column("n_critical", "count", required=method == "scv"),
        Column("cv_", "float", required=method in ("cv", "scv"), prefix=True),
    ]


def log_layout(pattern: Any, method: str) -> LogLayout:
    """Weight and control columns from the files' headers (the same in every file)."""
    paths = expand_paths(pattern)
    headers = [read_header(p) for p in paths]
    first = headers[0]
    controls = tuple(c for c in first if c.startswith("cv_"))
    for path, header in zip(paths[1:], headers[1:], strict=True):
        if tuple(c for c in header if c.startswith("cv_")) != controls:
            raise VarkitError(
                f"file '{path}' has other cv_* columns than '{paths[0]}'; every file of a "
                "log needs the same controls."
            )
    has_weight, has_log = "weight" in first, "log_weight" in first
    if method != "nde" and has_weight and has_log:
        raise VarkitError(f"{paths[0]}: give a weight or a log_weight column, not both.")
    if method in ("is", "scv") and not (has_weight or has_log):
        raise VarkitError(f"{paths[0]}: method {method} needs a weight or log_weight column.")
    weight = None if method == "nde" else ("weight" if has_weight else None)
    if method != "nde" and not has_weight and has_log:
        weight = "log_weight"
    present = tuple(c for c in ("weight", "log_weight") if c in first)
    return LogLayout(weight, controls, present)


class _Labels:
    """Row labels computed only for the row an error names."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.ids = frame[ROW_ID].to_numpy()

    def __getitem__(self, where: int) -> str:
        return f"row id {int(self.ids[where])}"


def _weights(frame: pd.DataFrame, column: str | None) -> np.ndarray | None:
    if column is None:
        return None
    values = frame[column].to_numpy(dtype=np.float64)
    return check_weights(values, column, _Labels(frame))


def _require_unit_weights(frame: pd.DataFrame, columns: tuple[str, ...]) -> None:
    for column in columns:
        values = frame[column].to_numpy(dtype=np.float64)
        require_unit_weights(values, column, "nde", _Labels(frame))


def partition_cells(frame: pd.DataFrame, spec: _Spec) -> Cells:
    """The cells of one partition (the map step; also what the in-memory path computes)."""
    n = len(frame)
    y = frame["crash"].to_numpy(dtype=np.float64)
    if spec.method == "nde":
        _require_unit_weights(frame, spec.unit_weights)
    w = _weights(frame, spec.weight)
    z = y if w is None else y * w
    level = (
        frame["n_critical"].to_numpy(dtype=np.int64)
        if spec.method == "scv"
        else np.zeros(n, dtype=np.int64)
    )
    if spec.method in ("cv", "scv"):
        raw = frame[list(spec.controls)].to_numpy(dtype=np.float64)
        check_magnitude(raw, "controls", _Labels(frame), spec.controls)
        h = raw - np.asarray(spec.means)
        fold = fold_ids(frame[ROW_ID].to_numpy(), spec.seed, spec.crossfit)
    else:
        h = np.zeros((n, 0))
        fold = np.zeros(n, dtype=np.int64)
    return cell_moments(z, y, level, h, fold, w)


def _validate_log(
    method: Any,
    fit: Any,
    crossfit: Any,
    confidence: Any,
    engine: Any,
    target_rhw: Any,
    target_confidence: Any,
) -> tuple[str, int | None, float]:
    if method not in METHODS:
        raise VarkitError(f"`method` must be one of {', '.join(METHODS)}, got {method!r}.")
    if fit != "ols":
        raise VarkitError(
            f"a partitioned log supports fit 'ols' only (ridge and lasso need the rows), "
            f"got {fit!r}."
        )
    if engine not in ("dask", "chunks"):
        raise VarkitError(f"`engine` must be 'dask' or 'chunks', got {engine!r}.")
    check_rhw(target_rhw)
    check_confidence(target_confidence, "target_confidence")
    return method, check_crossfit(crossfit), check_confidence(confidence)


def crash_rate_log(
    source: LogSource,
    *,
    method: str = "scv",
    fit: str = "ols",
    crossfit: int | None = 2,
    control_means: Any = 0.0,
    pool_above: int | None = None,
    crashes_per_control: float = CRASHES_PER_CONTROL,
    confidence: float = 0.95,
    target_rhw: float = 0.3,
    target_confidence: float = 0.9,
    random_state: Any = None,
    engine: str = "dask",
    client: Any = None,
    alternative: str = "two-sided",
    weight_bound: float | None = None,
) -> Result:
    """Crash rate of a partitioned test log, equal to the in-memory estimator's.

    Parameters
    ----------
    source : LogSource
        Files (path, glob or list; CSV or Parquet), row ids and partition size.
    method : {'nde', 'is', 'cv', 'scv'}, default 'scv'
        As ``varkit cav crash-rate --method``.
    fit : {'ols'}
        Only OLS coefficients can be fitted from sums.
    crossfit, control_means, pool_above, crashes_per_control, confidence, target_rhw,
    target_confidence
        As for :func:`varkit.cav.sparse_control_variates`.
    random_state : None, int or numpy Generator
        Seed of the fold assignment (resolved once, here).
    engine : {'dask', 'chunks'}, default 'dask'
        Dask partitions (local threads, or ``client``'s cluster) or one piece at a time in
        this process.
    client : distributed.Client, optional
    alternative, weight_bound
        As for :func:`varkit.cav.importance_sampling_estimate` (``alternative`` for nde and
        is, ``weight_bound`` for is).

    Returns
    -------
    Result
        The in-memory estimator's Result (``row_ids`` = the log's row ids) with
        ``details["engine"]`` and ``details["partitions"]`` added.
    """
    method_, folds, level = _validate_log(
        method, fit, crossfit, confidence, engine, target_rhw, target_confidence
    )
    pool_above, crashes_per_control = check_pooling(pool_above, crashes_per_control)
    alt = check_alternative(alternative)
    bound = check_weight_bound(weight_bound)
    layout = log_layout(source.pattern, method_)
    d = len(layout.controls)
    means = as_control_means(control_means, d) if d else np.zeros(0)
    spec = _Spec(
        method_,
        layout.weight,
        layout.controls if method_ in ("cv", "scv") else (),
        tuple(float(m) for m in means) if method_ in ("cv", "scv") else (),
        folds,
        fold_seed(random_state),
        unit_weights=layout.unit_weights if method_ == "nde" else (),
    )
    cells, parts = map_reduce(
        source,
        log_columns(method_),
        partition_cells,
        merge_cells,
        args=(spec,),
        engine=engine,
        client=client,
    )
    names = list(spec.controls)
    if method_ == "nde":
        result = nde_from_moments(total(cells.values(), 0), level, alt)
    elif method_ == "is":
        result = is_from_moments(total(cells.values(), 0), level, alt, bound)
    elif method_ == "cv":
        result = cv_from_cells(
            cells,
            names,
            fit="ols",
            crossfit=folds,
            confidence=level,
            metric="crash_rate",
            weighted=layout.weight is not None,
        )
    else:
        result = scv_from_cells(
            cells,
            names,
            fit="ols",
            crossfit=folds,
            pool_above=pool_above,
            crashes_per_control=crashes_per_control,
            confidence=level,
            target_rhw=target_rhw,
            target_confidence=target_confidence,
        )
    extra = {"engine": engine, "partitions": parts}
    if method_ in ("cv", "scv"):
        extra["seed"] = spec.seed
    return result.replace(details={**result.details, **extra})
