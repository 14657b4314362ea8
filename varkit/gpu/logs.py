"""The bootstrap of a column of a log: the front door :func:`bootstrap_log`, and the
Poisson bootstrap of a named statistic over the partitions of a log.

:func:`bootstrap_log` takes a DataFrame, a path or a glob, checks its settings once and
runs either :func:`varkit.gpu.bootstrap` on the log in memory (``engine="memory"``) or
:func:`partitioned_bootstrap` over its pieces (``engine="chunks"`` or ``"dask"``).

Every named statistic of the engine is ``g(S)`` with ``S`` a vector of sums over rows
(:mod:`varkit.gpu.statistics`). With Poisson(1) weights drawn by the counter-based
generator keyed on (seed, row id, replicate) (:mod:`varkit.gpu.counter_rng`), a replicate
``S*_b = sum_rows w(seed, id, b) z_row`` is a sum of per-partition sums, whatever the
partitioning (Chamandy et al. 2012; ``shared/methods/engine.md`` section D). So:

1. each partition emits, per sample, its ``(B, k)`` replicate sums (the engine's
   :func:`~varkit.gpu.replicates.replicate_sums`, CPU or GPU) and its column totals;
2. a tree reduction adds them;
3. for BCa, a second pass emits the mergeable moments of the closed-form jackknife
   ``g(S - z_i)`` (:func:`~varkit.gpu.intervals.jackknife_moments`);
4. the interval is the engine's own (:func:`varkit.gpu.bootstrap` shares the code).

The result equals ``varkit.gpu.bootstrap(..., scheme="poisson", row_ids=ids)`` on the
whole log in memory to floating-point summation order, for any number of partitions and
on a ``distributed`` cluster.

Examples
--------
>>> import os, tempfile
>>> import numpy as np, pandas as pd
>>> from varkit.gpu import bootstrap
>>> path = os.path.join(tempfile.mkdtemp(), "log.csv")
>>> x = np.random.default_rng(0).exponential(size=300)
>>> pd.DataFrame({"x": x}).to_csv(path, index=False)
>>> r = partitioned_bootstrap(path, "x", n_resamples=500, random_state=1, npartitions=3,
...                           engine="chunks", device="cpu")
>>> m = bootstrap(pd.read_csv(path)["x"], "mean", n_resamples=500, random_state=1,
...               scheme="poisson", device="cpu")
>>> bool(np.allclose([r.ci_low, r.ci_high], [m.ci_low, m.ci_high], rtol=1e-10))
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from varkit.engine import LogSource, check_engine, dask_client, map_reduce
from varkit.errors import VarkitError
from varkit.gpu.backend import Backend, check_memory, resolve_device
from varkit.gpu.bootstrap import bootstrap, bootstrap_result, check_bootstrap_options
from varkit.gpu.intervals import acceleration_from_moments, jackknife_moments
from varkit.gpu.replicates import replicate_sums
from varkit.gpu.statistics import NAMED_STATISTICS, LinearProblem, combine_for, unit_columns
from varkit.io import (
    ROW_ID,
    Column,
    Log,
    log_inputs,
    log_source,
    read_log,
)
from varkit.results import Result, ResultSet, make_provenance

__all__ = [
    "LOG_ENGINES",
    "SumSpec",
    "bootstrap_log",
    "partial_sums",
    "partition_details",
    "partitioned_bootstrap",
    "poisson_row_sums",
]

#: The engines of the log front doors: in memory, piece by piece, or as a Dask graph.
LOG_ENGINES = ("memory", "chunks", "dask")


# a partial: sample key -> [column totals (k,), replicate sums (B, k), rows]
Partial = dict[str, list[Any]]


@dataclass(frozen=True)
class SumSpec:
    """Which columns make a named statistic's per-row sums.

    ``second`` is the denominator (``ratio``), the weights (``weighted_mean``) or the
    paired column (``mean_difference``); ``by`` the two-group column of an unpaired
    ``mean_difference`` (its groups are sorted; the difference is first minus second).
    """

    statistic: str
    column: str
    second: str | None = None
    by: str | None = None

    @property
    def paired(self) -> bool:
        return self.statistic == "mean_difference" and self.second is not None

    def columns(self) -> list[Column]:
        kind = "binary" if self.statistic == "proportion" else "float"
        out = [Column(self.column, kind)]
        if self.second is not None:
            out.append(Column(self.second))
        if self.by is not None:
            out.append(Column(self.by, "label"))
        return out


def _validate_spec(spec: SumSpec) -> None:
    if spec.statistic not in NAMED_STATISTICS:
        raise VarkitError(
            f"`statistic` must be one of {', '.join(NAMED_STATISTICS)}; got {spec.statistic!r}."
        )
    if spec.statistic in ("ratio", "weighted_mean") and spec.second is None:
        raise VarkitError(f"statistic {spec.statistic!r} needs a second column.")
    if spec.statistic == "mean_difference" and (spec.second is None) == (spec.by is None):
        raise VarkitError("statistic 'mean_difference' needs either a paired column or `by`.")


def _samples(spec: SumSpec, frame: pd.DataFrame) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(sample key, per-row columns z, row ids) of one piece, one entry per sample present."""
    ids = frame[ROW_ID].to_numpy(dtype=np.uint64)
    if spec.by is not None:
        out = []
        for level, rows in frame.groupby(spec.by, sort=True).indices.items():
            z, _, _ = unit_columns("mean", frame[spec.column].to_numpy()[rows])
            out.append((str(level), z, ids[rows]))
        return out
    values = frame[spec.column].to_numpy()
    data = values if spec.second is None else (values, frame[spec.second].to_numpy())
    z, _, _ = unit_columns(spec.statistic, data, paired=spec.paired)
    return [("", z, ids)]


def partial_sums(
    frame: pd.DataFrame, spec: SumSpec, seed: int, n_resamples: int, device: str
) -> Partial:
    """One piece's column totals and Poisson replicate sums, per sample (the map step)."""
    out: Partial = {}
    if len(frame) == 0:
        return out
    backend = resolve_device(device)
    for key, z, ids in _samples(spec, frame):
        sums = poisson_row_sums(
            z,
            ids,
            name=spec.statistic,
            combine=combine_for(spec.statistic, paired=spec.paired),
            seed=seed,
            n_resamples=n_resamples,
            backend=backend,
        )
        # sums past float's range become inf and the estimate an error (in bootstrap_result)
        with np.errstate(over="ignore", invalid="ignore"):
            out[key] = [z.sum(axis=0), sums, z.shape[0]]
    return out


def poisson_row_sums(
    z: np.ndarray,
    row_ids: np.ndarray,
    *,
    name: str,
    combine: Callable[[np.ndarray], Any],
    seed: int,
    n_resamples: int,
    backend: Backend,
) -> np.ndarray:
    """The ``(n_resamples, k)`` Poisson replicate sums of one piece's per-row columns ``z``.

    The weights are keyed on (seed, row id, replicate), so the sums of the pieces of a
    log add up to the sums of the whole log, however it is cut.

    Examples
    --------
    >>> import numpy as np
    >>> from varkit.gpu.backend import resolve_device
    >>> z = np.ones((4, 1))
    >>> ids = np.arange(4, dtype=np.uint64)
    >>> whole = poisson_row_sums(z, ids, name="sum", combine=np.sum, seed=1, n_resamples=3,
    ...                          backend=resolve_device("cpu"))
    >>> parts = [poisson_row_sums(z[i:i + 2], ids[i:i + 2], name="sum", combine=np.sum,
    ...                           seed=1, n_resamples=3, backend=resolve_device("cpu"))
    ...          for i in (0, 2)]
    >>> bool(np.array_equal(whole, parts[0] + parts[1]))
    True
    """
    n_rows = z.shape[0]
    problem = LinearProblem(
        name=name,
        z=np.ascontiguousarray(z, dtype=np.float64),
        bounds=np.array([0, n_rows], dtype=np.int64),
        unit_ids=row_ids,
        samples=np.zeros(n_rows, dtype=np.int64),
        combine=combine,
        n_rows=n_rows,
    )
    return replicate_sums(
        problem, scheme="poisson", seed=seed, n_resamples=n_resamples, backend=backend
    )


def partition_details(
    engine: str, client: Any, n_partitions: int, source: LogSource
) -> dict[str, Any]:
    """How a partitioned result was computed: the engine, the pieces and the row ids.

    Examples
    --------
    >>> from varkit.engine import LogSource
    >>> partition_details("chunks", None, 3, LogSource("logs/*.csv", row_id="id"))
    {'engine': 'chunks', 'n_partitions': 3, 'row_ids': 'column id'}
    """
    return {
        "engine": engine if client is None else "dask-distributed",
        "n_partitions": n_partitions,
        "row_ids": f"column {source.row_id}" if source.row_id else "file index and row offset",
    }


def merge_partials(a: Partial, b: Partial) -> Partial:
    """Add two partials (the reduce step); sample keys missing on one side count as 0."""
    out = {key: list(value) for key, value in a.items()}
    for key, (total, sums, rows) in b.items():
        if key in out:
            out[key] = [out[key][0] + total, out[key][1] + sums, out[key][2] + rows]
        else:
            out[key] = [total, sums, rows]
    return out


def _jackknife_part(
    frame: pd.DataFrame, spec: SumSpec, keys: list[str], total: np.ndarray, estimate: float
) -> dict[str, np.ndarray]:
    """Mergeable moments of the leave-one-row-out statistics ``g(S - z_i)`` of a piece."""
    combine = combine_for(spec.statistic, paired=spec.paired)
    width = total.size // len(keys)
    out: dict[str, np.ndarray] = {}
    for key, z, _ in _samples(spec, frame):
        j = keys.index(key)
        full = np.zeros((z.shape[0], total.size))
        full[:, j * width : (j + 1) * width] = z
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.asarray(combine(total[None, :] - full), dtype=np.float64)
        out[key] = jackknife_moments(values[np.isfinite(values)], estimate)
    return out


def _add_moments(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = dict(a)
    for key, value in b.items():
        out[key] = out[key] + value if key in out else value
    return out


def partitioned_bootstrap(
    source: str | LogSource,
    column: str,
    statistic: str = "mean",
    *,
    second: str | None = None,
    by: str | None = None,
    n_resamples: int = 9999,
    method: str = "bca",
    confidence: float = 0.95,
    random_state: Any = None,
    device: str = "auto",
    engine: str = "dask",
    row_id: str | None = None,
    npartitions: int | None = None,
    rows_per_partition: int | None = None,
    client: Any = None,
) -> Result:
    """Poisson-bootstrap interval of a statistic of a column of a partitioned log.

    Parameters
    ----------
    source : str or LogSource
        A CSV/Parquet path, glob or list (or a :class:`~varkit.engine.reduce.LogSource`,
        which then carries ``row_id`` and the partitioning).
    column : str
        The values.
    statistic : {'mean', 'sum', 'proportion', 'ratio', 'weighted_mean', 'mean_difference'}
    second : str, optional
        Denominator (``ratio``), weights (``weighted_mean``) or the paired column
        (``mean_difference`` of ``column - second``).
    by : str, optional
        Two-group column of an unpaired ``mean_difference``.
    n_resamples, method, confidence, device
        As in :func:`varkit.gpu.bootstrap`; the scheme is always Poisson.
    random_state : None, int or numpy.random.Generator
        Seed of the counter-based weights.
    engine : {'dask', 'chunks'}
        A Dask graph (local threads, or ``client``'s cluster) or one process, piece by
        piece.
    row_id : str, optional
        Column of stable row ids; default (file index, row offset).
    npartitions, rows_per_partition : int, optional
        How the log is cut (see :func:`~varkit.io.partitions.plan_pieces`).
    client : distributed.Client, optional

    Returns
    -------
    Result
        As :func:`varkit.gpu.bootstrap` with ``scheme="poisson"``; ``details`` adds
        ``engine`` and ``n_partitions``.
    """
    spec = SumSpec(statistic, column, second=second, by=by)
    _validate_spec(spec)
    opts = check_bootstrap_options(
        statistic=statistic,
        n_resamples=n_resamples,
        method=method,
        confidence=confidence,
        scheme="poisson",
        device=device,
        random_state=random_state,
    )
    if not isinstance(source, LogSource):
        source = LogSource(source, row_id, npartitions, rows_per_partition)
    columns = spec.columns()
    # each partition and each step of the tree reduction holds (n_resamples, k) sums
    width = 4 if spec.by is not None else 2
    check_memory(
        opts.n_resamples * 8.0 * (3 * width + 4),
        f"n_resamples={opts.n_resamples} bootstrap replicates",
        hint="use fewer resamples (10,000 give the interval ends to about 0.2 percentage points)",
    )
    args = (spec, opts.seed, opts.n_resamples, opts.backend.device)
    partial, n_parts = map_reduce(
        source, columns, partial_sums, merge_partials, args=args, engine=engine, client=client
    )
    keys = sorted(partial)
    if spec.by is not None and len(keys) != 2:
        raise VarkitError(
            f"column '{by}' must hold exactly two groups for mean_difference, found {len(keys)}."
        )
    total = np.concatenate([partial[k][0] for k in keys])
    sums = np.concatenate([partial[k][1] for k in keys], axis=1)
    n_rows = int(sum(partial[k][2] for k in keys))
    if statistic in ("ratio", "weighted_mean") and total[1] == 0:
        name = "denominator" if statistic == "ratio" else "weights"
        raise VarkitError(f"`{name}` must not sum to zero.")
    combine = combine_for(statistic, paired=spec.paired)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        estimate = float(combine(total))
        replicates = np.asarray(combine(sums), dtype=np.float64)
    acceleration = None
    if opts.method == "bca":
        moments, _ = map_reduce(
            source,
            columns,
            _jackknife_part,
            _add_moments,
            args=(spec, keys, total, estimate),
            engine=engine,
            client=client,
        )
        acceleration = acceleration_from_moments([moments[k] for k in keys])
    details: dict[str, Any] = {
        "n_rows": n_rows,
        **partition_details(engine, client, n_parts, source),
    }
    if spec.by is not None:
        details["difference"] = f"{keys[0]}-{keys[1]}"
    support = (0.0, 1.0) if statistic == "proportion" else None
    return bootstrap_result(
        replicates,
        name=statistic,
        estimate=estimate,
        options=opts,
        n_units=n_rows,
        details=details,
        acceleration=acceleration,
        support=support,
    )


def log_scheme(scheme: str | None, engine: str) -> str:
    """The resampling scheme: ``multinomial`` in memory, Poisson weights in pieces.

    A partitioned engine adds per-piece sums, which only Poisson weights allow; asking
    it for another scheme is an error.

    Examples
    --------
    >>> log_scheme(None, "memory"), log_scheme(None, "dask")
    ('multinomial', 'poisson')
    """
    if engine == "memory":
        return "multinomial" if scheme is None else scheme
    if scheme is not None and scheme != "poisson":
        raise VarkitError(f"`engine` {engine} uses Poisson weights: drop `scheme` or use poisson.")
    return "poisson"


# -- the front door --------------------------------------------------------------------


@dataclass(frozen=True)
class _LogRequest:
    """What :func:`bootstrap_log` was asked, checked once."""

    spec: SumSpec
    cluster: str | None
    strata: str | None
    read: tuple[Column, ...]  # the columns the memory engine reads and checks


def _check_request(
    statistic: str,
    column: str,
    *,
    denominator: str | None,
    weights: str | None,
    by: str | None,
    paired_with: str | None,
    cluster: str | None,
    strata: str | None,
    engine: str,
) -> _LogRequest:
    if statistic not in NAMED_STATISTICS:
        raise VarkitError(
            f"`statistic` must be one of {', '.join(NAMED_STATISTICS)}; got {statistic!r}."
        )
    second = None
    if statistic == "ratio":
        if denominator is None:
            raise VarkitError("`statistic` ratio needs `denominator` COL.")
        second = denominator
    elif statistic == "weighted_mean":
        if weights is None:
            raise VarkitError("`statistic` weighted_mean needs `weights` COL.")
        second = weights
    if engine != "memory" and (cluster is not None or strata is not None):
        raise VarkitError(
            f"`engine` {engine} resamples rows with Poisson weights: `cluster` and `strata` "
            "need `engine` pandas."
        )
    # every column named is read and checked, as the columns of the statistic are
    read = [Column(column, "binary" if statistic == "proportion" else "float")]
    read += [Column(name) for name in (second, paired_with) if name is not None]
    read += [Column(name, "label") for name in (by, cluster, strata) if name is not None]
    if statistic == "mean_difference":
        if by is None and paired_with is None:
            raise VarkitError("`statistic` mean_difference needs `by` COL or `paired_with` COL.")
        if paired_with is not None:
            second, by = paired_with, None
    else:
        by = None
    spec = SumSpec(statistic, column, second=second, by=by)
    return _LogRequest(spec, cluster, strata, tuple(read))


def _in_memory(
    log: Log,
    request: _LogRequest,
    *,
    row_id: str | None,
    scheme: str,
    **settings: Any,
) -> Result:
    """:func:`varkit.gpu.bootstrap` of the log read whole, rows keyed by their ids."""
    spec = request.spec
    frame = read_log(log, request.read, row_id=row_id)
    data: Any = (
        frame[spec.column] if spec.second is None else (frame[spec.column], frame[spec.second])
    )
    labels: dict[str, str] = {"minus": str(spec.second)} if spec.paired else {}
    if spec.by is not None:
        levels = sorted(frame[spec.by].unique().tolist())
        if len(levels) != 2:
            raise VarkitError(
                f"column '{spec.by}' must hold exactly two groups for mean_difference, found "
                f"{len(levels)}."
            )
        frame = pd.concat([frame[frame[spec.by] == level] for level in levels])
        data = tuple(frame.loc[frame[spec.by] == level, spec.column] for level in levels)
        labels = {"by": spec.by, "difference": f"{levels[0]}-{levels[1]}"}
    result = bootstrap(
        data,
        spec.statistic,
        paired=spec.paired,
        strata=None if request.strata is None else frame[request.strata].to_numpy(),
        clusters=None if request.cluster is None else frame[request.cluster].to_numpy(),
        scheme=scheme,
        row_ids=None if request.cluster is not None else frame[ROW_ID].to_numpy(),
        **settings,
    )
    return result.replace(group=labels)


def bootstrap_log(
    log: Log,
    column: str,
    statistic: str = "mean",
    *,
    denominator: str | None = None,
    weights: str | None = None,
    by: str | None = None,
    paired_with: str | None = None,
    cluster: str | None = None,
    strata: str | None = None,
    n_resamples: int = 9999,
    method: str = "bca",
    confidence: float = 0.95,
    scheme: str | None = None,
    random_state: Any = None,
    device: str = "auto",
    engine: str = "memory",
    scheduler: str | None = None,
    row_id: str | None = None,
    rows_per_partition: int | None = None,
) -> ResultSet:
    """Bootstrap interval of a statistic of a column of a log (``varkit bootstrap``).

    Parameters
    ----------
    log : DataFrame, str or list of str
        The log: a DataFrame, or a CSV/Parquet file, a glob of them or a list.
    column : str
        The values.
    statistic : {'mean', 'sum', 'proportion', 'ratio', 'weighted_mean', 'mean_difference'}
        The statistic (:func:`varkit.gpu.bootstrap`'s named statistics).
    denominator, weights : str, optional
        The second column of ``ratio`` and of ``weighted_mean``.
    by, paired_with : str, optional
        ``mean_difference``: the two-group column (independent samples, sorted groups,
        first minus second), or the column subtracted row by row (paired).
    cluster, strata : str, optional
        Resample whole clusters, or within strata (``engine="memory"`` only).
    n_resamples, method, confidence, device
        As in :func:`varkit.gpu.bootstrap`.
    scheme : {'multinomial', 'poisson'}, optional
        Default: multinomial in memory; the partitioned engines use Poisson weights
        keyed on the row ids (another scheme is an error). ``scheme="poisson"`` in memory
        gives their interval for the same seed.
    random_state : None, int or numpy.random.Generator
        Seed; resolved once and written to the provenance.
    engine : {'memory', 'chunks', 'dask'}
        Read the log whole, piece by piece in this process, or as a Dask graph.
    scheduler : str, optional
        ``engine="dask"``: a ``distributed`` scheduler address or ``local:N``.
    row_id : str, optional
        Column of stable non-negative row ids keying the Poisson weights (default: file
        index and row offset; a DataFrame's positions).
    rows_per_partition : int, optional
        Rows per piece for the partitioned engines.

    Returns
    -------
    ResultSet
        One result, labelled ``{"column": column, ...}`` (``minus``, or ``by`` and
        ``difference``), with provenance: function, input files with hashes, seed and
        device.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> log = pd.DataFrame({"x": np.random.default_rng(0).exponential(size=300)})
    >>> rs = bootstrap_log(log, "x", n_resamples=500, random_state=1, device="cpu")
    >>> r = rs[0]
    >>> r.group, r.method, bool(r.ci_low < log["x"].mean() < r.ci_high)
    ({'column': 'x'}, 'bootstrap-bca', True)
    >>> rs.provenance["function"], rs.provenance["seed"]
    ('varkit.gpu.bootstrap_log', 1)
    """
    check_engine(
        engine, scheduler=scheduler, rows_per_partition=rows_per_partition, allowed=LOG_ENGINES
    )
    request = _check_request(
        statistic,
        column,
        denominator=denominator,
        weights=weights,
        by=by,
        paired_with=paired_with,
        cluster=cluster,
        strata=strata,
        engine=engine,
    )
    chosen = log_scheme(scheme, engine)
    opts = check_bootstrap_options(
        statistic=statistic,
        n_resamples=n_resamples,
        method=method,
        confidence=confidence,
        scheme=chosen,
        device=device,
        random_state=random_state,
    )
    settings: dict[str, Any] = {
        "n_resamples": opts.n_resamples,
        "method": opts.method,
        "confidence": opts.confidence,
        "random_state": opts.seed,
        "device": device,
    }
    if engine == "memory":
        result = _in_memory(log, request, row_id=row_id, scheme=chosen, **settings)
    else:
        result = _partitioned(
            log_source(log, engine, row_id=row_id, rows_per_partition=rows_per_partition),
            request,
            engine=engine,
            scheduler=scheduler,
            **settings,
        )
    result = result.replace(group={"column": column, **result.group})
    provenance = make_provenance(
        function="varkit.gpu.bootstrap_log",
        inputs=log_inputs(log),
        seed=opts.seed,
        device=result.details.get("device"),
    )
    return ResultSet((result,), provenance)


def _partitioned(
    source: LogSource, request: _LogRequest, *, engine: str, scheduler: str | None, **settings: Any
) -> Result:
    spec = request.spec
    with dask_client(scheduler) as client:
        result = partitioned_bootstrap(
            source,
            spec.column,
            spec.statistic,
            second=spec.second,
            by=spec.by,
            engine=engine,
            client=client,
            **settings,
        )
    if spec.paired:
        return result.replace(group={"minus": str(spec.second)})
    if spec.by is not None:
        return result.replace(group={"by": spec.by, "difference": result.details["difference"]})
    return result
