"""The Poisson bootstrap of a named statistic over the partitions of a log.

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
>>> r = bootstrap_log(path, "x", n_resamples=500, random_state=1, npartitions=3,
...                   engine="chunks", device="cpu")
>>> m = bootstrap(pd.read_csv(path)["x"], "mean", n_resamples=500, random_state=1,
...               scheme="poisson", device="cpu")
>>> bool(np.allclose([r.ci_low, r.ci_high], [m.ci_low, m.ci_high], rtol=1e-10))
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from varkit.engine.reduce import LogSource, map_reduce
from varkit.errors import VarkitError
from varkit.gpu.backend import check_memory, resolve_device
from varkit.gpu.bootstrap import _result, _validate_bootstrap
from varkit.gpu.intervals import acceleration_from_moments, jackknife_moments
from varkit.gpu.replicates import replicate_sums
from varkit.gpu.statistics import NAMED_STATISTICS, LinearProblem, combine_for, unit_columns
from varkit.io import Column
from varkit.io.partitions import ROW_ID
from varkit.results import Result

__all__ = ["SumSpec", "bootstrap_log", "partial_sums"]

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
        problem = LinearProblem(
            name=spec.statistic,
            z=np.ascontiguousarray(z, dtype=np.float64),
            bounds=np.array([0, z.shape[0]], dtype=np.int64),
            unit_ids=ids,
            samples=np.zeros(z.shape[0], dtype=np.int64),
            combine=combine_for(spec.statistic, paired=spec.paired),
            n_rows=z.shape[0],
        )
        sums = replicate_sums(
            problem, scheme="poisson", seed=seed, n_resamples=n_resamples, backend=backend
        )
        # sums past float's range become inf and the estimate an error (in _result)
        with np.errstate(over="ignore", invalid="ignore"):
            out[key] = [z.sum(axis=0), sums, z.shape[0]]
    return out


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


def bootstrap_log(
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
    spec = SumSpec(
        statistic,
        column,
        second=second,
        by=by,
    )
    _validate_spec(spec)
    opts = _validate_bootstrap(
        statistic,
        n_resamples,
        method,
        confidence,
        "poisson",
        None,
        device,
        random_state,
        None,
        None,
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
        "engine": engine if client is None else "dask-distributed",
        "n_partitions": n_parts,
        "row_ids": f"column {source.row_id}" if source.row_id else "file index and row offset",
    }
    if spec.by is not None:
        details["difference"] = f"{keys[0]}-{keys[1]}"
    support = (0.0, 1.0) if statistic == "proportion" else None
    return _result(
        statistic, estimate, replicates, None, n_rows, opts, details, acceleration, support=support
    )
