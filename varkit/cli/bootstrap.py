"""``varkit bootstrap``: a bootstrap interval of a statistic of one CSV column."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any

import click
import pandas as pd

from varkit.cli.options import (
    command_line,
    confidence_option,
    device_option,
    emit,
    output_options,
    seed_option,
)
from varkit.gpu import bootstrap as run_bootstrap
from varkit.gpu.counter_rng import resolve_seed
from varkit.gpu.intervals import INTERVAL_METHODS
from varkit.gpu.replicates import SCHEMES
from varkit.gpu.statistics import NAMED_STATISTICS
from varkit.io import Column, read_table
from varkit.results import ResultSet, make_provenance

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
        raise ValueError(
            f"column '{by}' must hold exactly two groups for mean_difference, found {len(levels)}."
        )
    ordered = pd.concat([frame[frame[by] == levels[0]], frame[frame[by] == levels[1]]])
    x = ordered.loc[ordered[by] == levels[0], column]
    y = ordered.loc[ordered[by] == levels[1], column]
    return (x, y), False, {"by": by, "difference": f"{levels[0]}-{levels[1]}"}, ordered


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
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
    help="Multinomial resampling or Poisson(1) weights.",
)
@click.option(
    "--resamples",
    type=click.IntRange(min=2),
    default=9999,
    show_default=True,
    help="Number of bootstrap replicates.",
)
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
    confidence: float,
    seed: int | None,
    device: str,
    fmt: str,
    output: str | None,
) -> None:
    """Bootstrap confidence interval of a statistic of a column of FILE (CSV or Parquet).

    \b
    Examples:
      varkit bootstrap sessions.csv --column latency_ms --cluster user_id
      varkit bootstrap sessions.csv -c revenue --statistic mean_difference --by variant
    """
    second = _second_column(statistic, denominator, weights)
    kind = "binary" if statistic == "proportion" else "float"
    columns = [Column(column, kind)]
    if second is not None:
        columns.append(Column(second))
    if paired_with is not None:
        columns.append(Column(paired_with))
    columns += [Column(name, "label") for name in (by, cluster, strata) if name is not None]
    frame = read_table(file, columns)
    data, paired, labels, used = _data_for(statistic, frame, column, second, by, paired_with)
    seed_value = seed if seed is not None else resolve_seed(None)
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
            random_state=seed_value,
            progress=progress,
        )
    result = result.replace(group={"column": column, **labels})
    provenance = make_provenance(
        command=command_line(click.get_current_context()),
        inputs=[file],
        seed=seed_value,
        device=result.details.get("device"),
    )
    emit(ResultSet((result,), provenance), fmt, output)
