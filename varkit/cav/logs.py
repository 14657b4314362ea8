"""From a test log to its crash rate: the front door :func:`crash_rate`, in memory or partitioned.

:func:`crash_rate` takes a DataFrame, a path or a glob of CSV/Parquet files (one row per
test: ``crash``; ``weight`` or ``log_weight``; ``n_critical``; controls ``cv_*``), checks
the arguments once, and either reads the log whole and calls the in-memory estimator of
the method (``engine="memory"``: :func:`~varkit.cav.nde_estimate`,
:func:`~varkit.cav.importance_sampling_estimate`, :func:`~varkit.cav.control_variate_estimate`,
:func:`~varkit.cav.sparse_control_variates`), or adds the estimator's sums over the pieces of
the log (``engine="chunks"`` in this process, ``"dask"`` on Dask: :func:`crash_rate_log`).

Every estimator of :mod:`varkit.cav` is a function of mergeable sums per (stratum level,
fold) cell (:mod:`varkit.cav.moments`): counts, means and centred cross-products of the
outcome ``Z = Y W`` and the controls. Each partition emits its cells, a tree reduction
merges them (:func:`~varkit.engine.map_reduce`), and the in-memory finishing code
(:func:`varkit.cav.sparse.scv_from_cells` and friends) turns the sums into the Result.

Cross-fitting folds are a hash of (seed, row id) (:func:`varkit.cav.moments.fold_ids`),
with the row ids of :mod:`varkit.io.partitions` (file index and row offset, or a
``row_id`` column), so the answer does not depend on the partitioning and equals the
in-memory estimate with ``row_ids`` set to the same ids (to floating-point summation
order). Only ``fit="ols"`` runs partitioned: ridge and lasso choose their penalty by
cross-validation on the rows, which sums do not carry.

Examples
--------
>>> import os, tempfile
>>> from varkit.cav import OvertakingScenario, sparse_control_variates
>>> from varkit.engine import LogSource
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

import dataclasses
import os
from collections.abc import Sequence
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from varkit.cav._checks import (
    METHODS,
    as_control_means,
    check_magnitude,
    check_method,
    check_pooling,
    check_rhw,
    check_weights,
    is_integer,
    require_unit_weights,
)
from varkit.cav.control_variates import (
    check_crossfit,
    control_variate_estimate,
    cv_from_cells,
    fold_seed,
)
from varkit.cav.estimators import (
    check_weight_bound,
    importance_sampling_estimate,
    is_from_moments,
    nde_estimate,
    nde_from_moments,
)
from varkit.cav.intervals import check_alternative
from varkit.cav.learned import learned_control_estimate
from varkit.cav.moments import Cells, cell_moments, fold_ids, merge_cells, total
from varkit.cav.running import running_estimate
from varkit.cav.sparse import CRASHES_PER_CONTROL, scv_from_cells, sparse_control_variates
from varkit.cav.stopping import n_required
from varkit.checks import check_confidence
from varkit.engine import FRONT_ENGINES, LogSource, check_engine, dask_client, map_reduce
from varkit.errors import VarkitError, VarkitTypeError
from varkit.io import ROW_ID, Column, expand_paths, read_header, read_log
from varkit.results import Result, ResultSet, make_provenance

__all__ = [
    "CRITICAL_COLUMNS",
    "METHODS",
    "crash_rate",
    "crash_rate_log",
    "log_columns",
    "log_layout",
]


@dataclasses.dataclass(frozen=True)
class LogLayout:
    """What a test log holds: its weight column (if any) and its control columns."""

    weight: str | None  # "weight", "log_weight" or None
    controls: tuple[str, ...]
    unit_weights: tuple[str, ...] = ()  # the weight columns present (nde: must be all 1)


@dataclasses.dataclass(frozen=True)
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
        Column("n_critical", "count", required=method in ("scv", "learned")),
        Column("cv_", "float", required=method in ("cv", "scv"), prefix=True),
        *([Column("p_k", "probability", required=False)] if method == "learned" else []),
    ]


#: The columns of a critical table (``OvertakingScenario.simulate_with_critical``) that
#: ``method="learned"`` reads: one row per critical step.
CRITICAL_COLUMNS = (
    Column("test", "count"),
    Column("gap", "float"),
    Column("maneuver", "count"),
    Column("disturbance", "float"),
    Column("crash", "binary"),
)


def log_layout(pattern: Any, method: str) -> LogLayout:
    """Weight and control columns from the files' headers (the same in every file)."""
    paths = expand_paths(pattern)
    headers = [read_header(p) for p in paths]
    controls = tuple(c for c in headers[0] if c.startswith("cv_"))
    for path, header in zip(paths[1:], headers[1:], strict=True):
        if tuple(c for c in header if c.startswith("cv_")) != controls:
            raise VarkitError(
                f"file '{path}' has other cv_* columns than '{paths[0]}'; every file of a "
                "log needs the same controls."
            )
    return header_layout(headers[0], method, paths[0])


def header_layout(first: Sequence[str], method: str, source: str) -> LogLayout:
    """Weight and control columns from one header (``source`` names it in messages)."""
    controls = tuple(c for c in first if c.startswith("cv_"))
    has_weight, has_log = "weight" in first, "log_weight" in first
    if method != "nde" and has_weight and has_log:
        raise VarkitError(f"{source}: give a weight or a log_weight column, not both.")
    if method in ("is", "scv", "learned") and not (has_weight or has_log):
        raise VarkitError(f"{source}: method {method} needs a weight or log_weight column.")
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
    check_method(method)
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


# -- the front door -------------------------------------------------------------------------
LogInput: TypeAlias = pd.DataFrame | str | os.PathLike[str] | Sequence[str]


def _validate_crash_rate(
    log: Any,
    *,
    method: Any,
    engine: Any,
    scheduler: Any,
    rows_per_partition: Any,
    fit: Any,
    alternative: Any,
    weight_bound: Any,
    running: Any,
    learned: dict[str, Any] | None = None,
) -> tuple[str, str]:
    """The method and engine, after the checks of the options that go with them."""
    method = check_method(method)
    given = {k for k, v in (learned or {}).items() if v is not None}
    if method == "learned":
        for name in ("critical", "scenario"):
            if name not in given:
                raise VarkitError(
                    f"`method` learned needs `{name}` (the critical table and the "
                    "OvertakingScenario of the log: the control's exact mean needs them)."
                )
        if engine != "memory" or running is not None:
            raise VarkitError(
                "`method` learned fits models on the rows: use `engine` memory without `running`."
            )
    elif given:
        raise VarkitError(f"`{sorted(given)[0]}` needs `method` learned.")
    if alternative != "two-sided" and method not in ("nde", "is"):
        raise VarkitError(f"`alternative` {alternative} needs `method` nde or is.")
    if weight_bound is not None and method != "is":
        raise VarkitError("`weight_bound` needs `method` is.")
    engine = check_engine(
        engine, scheduler=scheduler, rows_per_partition=rows_per_partition, allowed=FRONT_ENGINES
    )
    if running is not None and (not is_integer(running) or running < 1):
        raise VarkitError(f"`running` must be a positive number of checkpoints, got {running!r}.")
    if engine != "memory":
        if running is not None:
            raise VarkitError("`running` follows the tests in order: it needs `engine` memory.")
        if fit != "ols":
            raise VarkitError(
                f"`engine` {engine} fits the coefficients by OLS from sums: use `fit` ols."
            )
        if isinstance(log, pd.DataFrame):
            raise VarkitError(
                f"`engine` {engine} reads files in pieces: give `log` as a path or glob, or "
                "use `engine` memory."
            )
    return method, engine


def _pattern(log: LogInput) -> str | list[str]:
    """A path, glob or list of them as :func:`varkit.io.expand_paths` takes them."""
    if isinstance(log, (str, os.PathLike)):
        return os.fspath(log)
    if isinstance(log, Sequence) and all(isinstance(p, (str, os.PathLike)) for p in log):
        return [os.fspath(p) for p in log]
    raise VarkitTypeError(
        f"`log` must be a DataFrame, a path, a glob or a list of paths, got {type(log).__name__}."
    )


def _control_means(control_means: Any, n_controls: int, where: str) -> Any:
    """One known mean for every control, or one per control (a single value is a scalar)."""
    if isinstance(control_means, (str, bytes)) or np.ndim(control_means) != 1:
        return control_means
    values = list(control_means)
    if len(values) not in (1, n_controls):
        raise VarkitError(
            f"`control_means` has {len(values)} values but {where} has {n_controls} cv_* columns."
        )
    return values[0] if len(values) == 1 else values


def _read_log(
    log: LogInput, method: str, row_id: str | None
) -> tuple[pd.DataFrame, LogLayout, list[str], str]:
    """The whole log with its :data:`~varkit.io.ROW_ID` column, its layout, files and name."""
    if isinstance(log, pd.DataFrame):
        layout = header_layout([str(c) for c in log.columns], method, "log")
        return read_log(log, log_columns(method), row_id=row_id), layout, [], "the frame"
    pattern = _pattern(log)
    layout = log_layout(pattern, method)
    frame = read_log(pattern, log_columns(method), row_id=row_id)
    return frame, layout, expand_paths(pattern), "the file"


@dataclasses.dataclass(frozen=True)
class _Estimate:
    """The options :func:`crash_rate` passes on: the keywords of :func:`crash_rate_log`."""

    method: str
    fit: str
    crossfit: int | None
    control_means: Any
    pool_above: int | None
    crashes_per_control: float
    confidence: float
    target_rhw: float
    target_confidence: float
    random_state: int  # the seed of the folds, resolved once
    alternative: str
    weight_bound: float | None


def _learned_estimate(
    frame: pd.DataFrame, weight: Any, log_weight: Any, e: _Estimate, learned: dict[str, Any]
) -> Result:
    """``method="learned"``: :func:`varkit.cav.learned.learned_control_estimate` on the log
    and its critical table (``test`` = the row of the log, from 0)."""
    table = learned["critical"]
    critical = read_log(
        table if isinstance(table, pd.DataFrame) else _pattern(table), list(CRITICAL_COLUMNS)
    )
    w = np.exp(np.asarray(log_weight, float)) if weight is None else np.asarray(weight, float)
    return learned_control_estimate(
        frame["crash"],
        w,
        frame["n_critical"],
        critical,
        scenario=learned["scenario"],
        p_k=frame["p_k"] if "p_k" in frame.columns else None,
        **({} if learned.get("model") is None else {"model": learned["model"]}),
        crossfit=e.crossfit,
        confidence=e.confidence,
        target_rhw=e.target_rhw,
        target_confidence=e.target_confidence,
        random_state=e.random_state,
        row_ids=frame[ROW_ID].to_numpy(),
    )


def _memory_estimate(
    frame: pd.DataFrame,
    layout: LogLayout,
    where: str,
    e: _Estimate,
    running: int | None,
    learned: dict[str, Any] | None = None,
) -> tuple[Result, ResultSet | None]:
    """The in-memory estimator of ``e.method`` on the whole log, and its running curve."""
    ids = frame[ROW_ID].to_numpy()
    weight = frame["weight"] if layout.weight == "weight" else None
    log_weight = frame["log_weight"] if layout.weight == "log_weight" else None
    if e.method == "learned" and learned is not None:
        return _learned_estimate(frame, weight, log_weight, e, learned), None
    controls = frame[list(layout.controls)]
    names = list(layout.controls)
    options: dict[str, Any] = {}
    if e.method == "nde":
        for column in layout.unit_weights:  # nde ignores weights: they must all be 1
            require_unit_weights(frame[column].to_numpy(dtype=float), column, "nde")
        result = nde_estimate(frame["crash"], confidence=e.confidence, alternative=e.alternative)
    elif e.method == "is":
        options = {"weight_bound": e.weight_bound}
        result = importance_sampling_estimate(
            frame["crash"],
            weight,
            log_weight=log_weight,
            confidence=e.confidence,
            alternative=e.alternative,
            **options,
        )
    else:
        options = {
            "control_means": _control_means(e.control_means, controls.shape[1], where),
            "fit": e.fit,
            "crossfit": e.crossfit,
            "control_names": names,
            "random_state": e.random_state,
        }
        if e.method == "cv":
            w = None
            if layout.weight is not None:
                w = (
                    weight
                    if weight is not None
                    else check_weights(np.asarray(log_weight, dtype=float), "log_weight")
                )
            result = control_variate_estimate(
                frame["crash"],
                controls,
                weights=w,
                confidence=e.confidence,
                metric="crash_rate",
                row_ids=ids,
                **options,
            )
        else:
            options.update(
                pool_above=e.pool_above,
                crashes_per_control=e.crashes_per_control,
                target_rhw=e.target_rhw,
                target_confidence=e.target_confidence,
            )
            result = sparse_control_variates(
                frame["crash"],
                weight,
                frame["n_critical"],
                controls,
                log_weight=log_weight,
                confidence=e.confidence,
                row_ids=ids,
                **options,
            )
    if running is None:
        return result, None
    # The same call as the demo's CAV section: the report draws these as the convergence
    # curve, at the level of the relative half-width target.
    curve = running_estimate(
        frame["crash"],
        None if e.method == "nde" else weight,
        log_weight=None if e.method == "nde" else log_weight,
        n_critical=frame["n_critical"] if e.method == "scv" else None,
        controls=controls if e.method in ("cv", "scv") else None,
        method=e.method,
        checkpoints=running,
        confidence=e.target_confidence,
        row_ids=ids if e.method in ("cv", "scv") else None,
        **options,
    )
    return result, curve


def _partitioned_estimate(
    source: LogSource, e: _Estimate, *, engine: str, scheduler: str | None
) -> Result:
    """The estimate of ``e.method`` from the sums of the log's pieces (:func:`crash_rate_log`)."""
    layout = log_layout(source.pattern, e.method)
    means = _control_means(e.control_means, len(layout.controls), "the file")
    options = {**dataclasses.asdict(e), "control_means": means}
    with dask_client(scheduler) as client:
        return crash_rate_log(source, **options, engine=engine, client=client)


def crash_rate(
    log: LogInput,
    *,
    method: str = "scv",
    engine: str = "memory",
    scheduler: str | None = None,
    row_id: str | None = None,
    rows_per_partition: int | None = None,
    fit: str = "ols",
    crossfit: int | None = 2,
    control_means: Any = 0.0,
    pool_above: int | None = None,
    crashes_per_control: float = CRASHES_PER_CONTROL,
    target_rhw: float = 0.3,
    target_confidence: float = 0.9,
    confidence: float = 0.95,
    alternative: str = "two-sided",
    weight_bound: float | None = None,
    running: int | None = None,
    random_state: Any = None,
    critical: Any = None,
    scenario: Any = None,
    model: Any = None,
) -> ResultSet:
    """Crash rate of a test log, with the number of tests a target precision needs.

    The front door of :mod:`varkit.cav` (``varkit cav crash-rate`` calls it): it reads the
    log, checks every argument once, runs the estimator of ``method`` on the engine
    ``engine``, and returns the estimate, :func:`~varkit.cav.n_required` of it and, with
    ``running``, the running estimate, with the provenance of the run.

    Parameters
    ----------
    log : DataFrame, str, path-like or sequence of str
        The tests, one row each: a DataFrame, or a CSV/Parquet file, glob or list of files.
        Columns: ``crash`` (0/1 or a probability); ``weight`` (p/q) or ``log_weight`` for
        is/cv/scv; ``n_critical`` for scv; control variates ``cv_*`` for cv/scv.
    method : {'nde', 'is', 'cv', 'scv', 'learned'}, default 'scv'
        Crude Monte Carlo (weights must all be 1), importance sampling, regression control
        variates, sparse control variates stratified by ``n_critical``, or a cross-fitted
        learned per-step crash model as the control, post-stratified on ``n_critical``
        (:func:`varkit.cav.learned.learned_control_estimate`; needs ``critical`` and
        ``scenario``, and uses the log's ``p_k`` column when it has one).
    engine : {'memory', 'chunks', 'dask'}, default 'memory'
        Read the log whole, or add the estimator's sums piece by piece in this process
        (``chunks``) or on Dask (``dask``; :func:`crash_rate_log`), with the same answer
        for the same seed (to summation order). Only a path or glob can be partitioned.
    scheduler : str, optional
        ``dask``: a distributed scheduler's address or ``local[:N]``
        (:func:`varkit.engine.connect`); default dask's local threads.
    row_id : str, optional
        Column of stable non-negative integer row ids keying the cross-fitting folds
        (default the file index and row offset: :mod:`varkit.io.partitions`).
    rows_per_partition : int, optional
        ``chunks``/``dask``: rows per piece.
    fit, crossfit, control_means, pool_above, crashes_per_control, target_rhw, target_confidence
        As for :func:`~varkit.cav.sparse_control_variates` (``fit`` 'ols' only when
        partitioned; ``target_*`` also set the ``n_required`` result).
    confidence : float, default 0.95
        Level of the interval of the estimate.
    alternative : {'two-sided', 'less', 'greater'}, default 'two-sided'
        nde, is: 'less' gives the one-sided upper bound [0, high], 'greater' the lower
        bound [low, 1] (:func:`~varkit.cav.importance_sampling_estimate`).
    weight_bound : float, optional
        is: a known bound on the likelihood ratio (``1/eps`` for a defensive mixture).
    running : int, optional
        ``memory``: also the running estimate after the first n tests at this many
        log-spaced checkpoints (:func:`~varkit.cav.running_estimate`, at
        ``target_confidence``), group ``tests=<n>``.
    random_state : None, int or numpy Generator
        Seed of the cross-fitting folds, resolved once (and recorded in the provenance).
    critical : DataFrame or str, optional
        learned: the critical table, one row per critical step (``test``, ``gap``,
        ``maneuver``, ``disturbance``, ``crash``; ``test`` = the row of the log from 0), as
        ``OvertakingScenario.simulate_with_critical`` or ``varkit cav simulate
        --critical-output`` write it.
    scenario : OvertakingScenario, optional
        learned: the scenario of the log (the naturalistic law of a critical step).
    model : scikit-learn classifier, optional
        learned: the per-step crash model (default
        :func:`varkit.cav.learned.default_step_model`).

    Returns
    -------
    ResultSet
        The ``crash_rate`` Result, the ``tests_required`` Result and the running checkpoints.
        The provenance names this function, the input files with their hashes, the seed,
        the device ('cpu') and, with ``running``, ``running_skipped_checkpoints`` (the
        checkpoints too short for the method, with the reason).

    Examples
    --------
    >>> from varkit.cav import crash_rate
    >>> from varkit.datasets import load_cav_example
    >>> results = crash_rate(load_cav_example(), method="is", random_state=0)
    >>> [r.metric for r in results], results.provenance["function"]
    (['crash_rate', 'tests_required'], 'varkit.cav.crash_rate')
    >>> scv = crash_rate(load_cav_example(), pool_above=3, random_state=0).results[0]
    >>> scv.method, bool(scv.ci_low < scv.estimate < scv.ci_high)
    ('scv-crossfit', True)
    """
    method, engine = _validate_crash_rate(
        log,
        method=method,
        engine=engine,
        scheduler=scheduler,
        rows_per_partition=rows_per_partition,
        fit=fit,
        alternative=alternative,
        weight_bound=weight_bound,
        running=running,
        learned={"critical": critical, "scenario": scenario, "model": model},
    )
    estimate = _Estimate(
        method=method,
        fit=fit,
        crossfit=crossfit,
        control_means=control_means,
        pool_above=pool_above,
        crashes_per_control=crashes_per_control,
        confidence=confidence,
        target_rhw=target_rhw,
        target_confidence=target_confidence,
        random_state=fold_seed(random_state),  # one seed, recorded in the provenance
        alternative=alternative,
        weight_bound=weight_bound,
    )
    curve: ResultSet | None = None
    if engine == "memory":
        frame, layout, paths, where = _read_log(log, method, row_id)
        learned = {"critical": critical, "scenario": scenario, "model": model}
        result, curve = _memory_estimate(frame, layout, where, estimate, running, learned)
    else:
        source = LogSource(_pattern(log), row_id=row_id, rows_per_partition=rows_per_partition)
        result = _partitioned_estimate(source, estimate, engine=engine, scheduler=scheduler)
        paths = expand_paths(source.pattern)
    provenance = make_provenance(
        function="varkit.cav.crash_rate", inputs=paths, seed=estimate.random_state, device="cpu"
    )
    if running is not None:
        provenance["running_skipped_checkpoints"] = (
            [] if curve is None else curve.provenance["skipped_checkpoints"]
        )
    required = n_required(result, rhw=target_rhw, confidence=target_confidence)
    extra = () if curve is None else tuple(curve)
    return ResultSet((result, required, *extra), provenance)
