"""``varkit bootstrap``: a bootstrap interval of a statistic of one CSV column."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any

import click
import pandas as pd

from varkit.checks import resolve_seed
from varkit.cli.options import (
    command_line,
    confidence_option,
    device_option,
    emit,
    engine_options,
    output_options,
    seed_option,
)
from varkit.errors import VarkitError
from varkit.gpu import bootstrap as run_bootstrap
from varkit.gpu.intervals import INTERVAL_METHODS
from varkit.gpu.replicates import SCHEMES
from varkit.gpu.statistics import NAMED_STATISTICS
from varkit.io import Column
from varkit.io.partitions import ROW_ID, expand_paths, read_all
from varkit.results import Result, ResultSet, make_provenance

__all__ = ["bootstrap", "progress_bar"]


# below this many resampled elements (rows x replicates) a run takes about a second
_LONG_RUN = 10**9


@contextlib.contextmanager
def progress_bar(
    total: int, label: str, *, work: int | None = None
) -> Iterator[Callable[[int], None] | None]:
    """A progress callback drawing a bar on a terminal for long runs; None otherwise.

    ``total`` is the number of steps (replicates); ``work`` the size of the run (rows x
    replicates) that decides whether it is long enough to deserve a bar.
    """
    if (work if work is not None else total) < _LONG_RUN or not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
        yield bar.update


def _second_column(statistic: str, denominator: str | None, weights: str | None) -> str | None:
    if statistic == "ratio":
        if denominator is None:
            raise click.UsageError("--statistic ratio needs --denominator COL.")
        return denominator
    if statistic == "weighted_mean":
        if weights is None:
            raise click.UsageError("--statistic weighted_mean needs --weights COL.")
        return weights
    return None


def _data_for(
    statistic: str,
    frame: pd.DataFrame,
    column: str,
    second: str | None,
    by: str | None,
    paired_with: str | None,
) -> tuple[Any, bool, dict[str, str], pd.DataFrame]:
    """The ``data`` argument of the engine, whether it is paired, labels, and rows used."""
    if statistic != "mean_difference":
        if second is not None:
            return (frame[column], frame[second]), False, {}, frame
        return frame[column], False, {}, frame
    if paired_with is not None:
        return (frame[column], frame[paired_with]), True, {"minus": paired_with}, frame
    if by is None:
        raise click.UsageError("--statistic mean_difference needs --by COL or --paired-with COL.")
    levels = sorted(frame[by].unique().tolist())
    if len(levels) != 2:
        raise VarkitError(
            f"column '{by}' must hold exactly two groups for mean_difference, found {len(levels)}."
        )
    ordered = pd.concat([frame[frame[by] == levels[0]], frame[frame[by] == levels[1]]])
    x = ordered.loc[ordered[by] == levels[0], column]
    y = ordered.loc[ordered[by] == levels[1], column]
    return (x, y), False, {"by": by, "difference": f"{levels[0]}-{levels[1]}"}, ordered


@click.command()
@click.argument("file")
@click.option("--column", "-c", required=True, help="Column holding the values.")
@click.option(
    "--statistic",
    "-s",
    type=click.Choice(NAMED_STATISTICS),
    default="mean",
    show_default=True,
    help="Statistic to bootstrap.",
)
@click.option("--denominator", default=None, help="Denominator column (statistic ratio).")
@click.option("--weights", default=None, help="Weights column (statistic weighted_mean).")
@click.option("--by", default=None, help="Two-group column (mean_difference, independent).")
@click.option("--paired-with", default=None, help="Second column (mean_difference, paired).")
@click.option("--cluster", default=None, help="Resample whole clusters of this column.")
@click.option("--strata", default=None, help="Resample within the groups of this column.")
@click.option(
    "--method",
    type=click.Choice(INTERVAL_METHODS),
    default="bca",
    show_default=True,
    help="Interval method.",
)
@click.option(
    "--scheme",
    type=click.Choice(SCHEMES),
    default="multinomial",
    show_default=True,
    help="Multinomial resampling or Poisson(1) weights keyed on the row ids; "
    "--engine dask implies poisson (the same seed then gives the same interval on both "
    "engines).",
)
@click.option(
    "--resamples",
    type=click.IntRange(min=2),
    default=9999,
    show_default=True,
    help="Number of bootstrap replicates.",
)
@engine_options
@confidence_option
@seed_option
@device_option
@output_options
def bootstrap(
    file: str,
    column: str,
    statistic: str,
    denominator: str | None,
    weights: str | None,
    by: str | None,
    paired_with: str | None,
    cluster: str | None,
    strata: str | None,
    method: str,
    scheme: str,
    resamples: int,
    engine: str,
    scheduler: str | None,
    row_id: str | None,
    partition_rows: int | None,
    confidence: float,
    seed: int | None,
    device: str,
    fmt: str,
    output: str | None,
) -> None:
    """Bootstrap confidence interval of a statistic of a column of FILE (CSV or Parquet).

    FILE may be a glob of CSV or Parquet files (quote it). With --engine dask the log is
    read in partitions and only per-partition Poisson replicate sums meet (see
    varkit.gpu.logs); --scheme poisson on the pandas engine gives the same interval.

    \b
    Examples:
      varkit bootstrap sessions.csv --column latency_ms --cluster user_id
      varkit bootstrap sessions.csv -c revenue --statistic mean_difference --by variant
      varkit bootstrap 'logs/*.parquet' -c revenue --engine dask --scheduler tcp://h:8786
    """
    second = _second_column(statistic, denominator, weights)
    seed_value = seed if seed is not None else resolve_seed(None)
    ctx = click.get_current_context()
    if engine == "dask":
        result = _dask_bootstrap(
            ctx,
            file,
            column,
            statistic,
            second,
            by,
            paired_with,
            cluster,
            strata,
            method,
            scheme,
            resamples,
            confidence,
            seed_value,
            device,
            scheduler,
            row_id,
            partition_rows,
        )
    else:
        if scheduler is not None or partition_rows is not None:
            raise VarkitError("--scheduler and --partition-rows need --engine dask.")
        result = _pandas_bootstrap(
            file,
            column,
            statistic,
            second,
            by,
            paired_with,
            cluster,
            strata,
            method,
            scheme,
            resamples,
            confidence,
            seed_value,
            device,
            row_id,
        )
    result = result.replace(group={"column": column, **result.group})
    provenance = make_provenance(
        command=command_line(ctx),
        inputs=expand_paths(file),
        seed=seed_value,
        device=result.details.get("device"),
    )
    emit(ResultSet((result,), provenance), fmt, output)


# fmt: off
def _pandas_bootstrap(
    file: str, column: str, statistic: str, second: str | None, by: str | None,
    paired_with: str | None, cluster: str | None, strata: str | None, method: str,
    scheme: str, resamples: int, confidence: float, seed: int, device: str,
    row_id: str | None,
) -> Result:
    # fmt: on
    kind = "binary" if statistic == "proportion" else "float"
    columns = [Column(column, kind)]
    if second is not None:
        columns.append(Column(second))
    if paired_with is not None:
        columns.append(Column(paired_with))
    columns += [Column(name, "label") for name in (by, cluster, strata) if name is not None]
    frame = read_all(file, columns, row_id=row_id)
    data, paired, labels, used = _data_for(statistic, frame, column, second, by, paired_with)
    with progress_bar(resamples, "bootstrap", work=resamples * len(used)) as progress:
        result = run_bootstrap(
            data,
            statistic,
            n_resamples=resamples,
            method=method,
            confidence=confidence,
            paired=paired,
            strata=None if strata is None else used[strata].to_numpy(),
            clusters=None if cluster is None else used[cluster].to_numpy(),
            scheme=scheme,
            device=device,
            random_state=seed,
            progress=progress,
            row_ids=None if cluster is not None else used[ROW_ID].to_numpy(),
        )
    return result.replace(group=labels)


# fmt: off
def _dask_bootstrap(
    ctx: click.Context, file: str, column: str, statistic: str, second: str | None,
    by: str | None, paired_with: str | None, cluster: str | None, strata: str | None,
    method: str, scheme: str, resamples: int, confidence: float, seed: int, device: str,
    scheduler: str | None, row_id: str | None, partition_rows: int | None,
) -> Result:
    # fmt: on
    if cluster is not None or strata is not None:
        raise VarkitError(
            "--engine dask resamples rows with Poisson weights: --cluster and --strata need "
            "--engine pandas."
        )
    explicit = ctx.get_parameter_source("scheme") is not click.core.ParameterSource.DEFAULT
    if explicit and scheme != "poisson":
        raise VarkitError("--engine dask uses Poisson weights: drop --scheme or use poisson.")
    if statistic == "mean_difference" and by is None and paired_with is None:
        raise click.UsageError("--statistic mean_difference needs --by COL or --paired-with COL.")
    from varkit.engine import LogSource, connect
    from varkit.gpu.logs import bootstrap_log

    client = connect(scheduler)
    try:
        result = bootstrap_log(
            LogSource(file, row_id=row_id, rows_per_partition=partition_rows),
            column,
            statistic,
            second=second if second is not None else paired_with,
            by=by,
            n_resamples=resamples,
            method=method,
            confidence=confidence,
            random_state=seed,
            device=device,
            client=client,
        )
    finally:
        if client is not None:
            client.close()
    if paired_with is not None:
        return result.replace(group={"minus": paired_with})
    if by is not None:
        return result.replace(group={"by": by, "difference": result.details["difference"]})
    return result
