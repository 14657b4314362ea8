"""``varkit bootstrap``: a bootstrap interval of a statistic of one CSV column."""

from __future__ import annotations

import click

from varkit.cli.options import (
    RunOptions,
    choice_option,
    count_option,
    if_typed,
    run_options,
    scheme_option,
)
from varkit.gpu import INTERVAL_METHODS, NAMED_STATISTICS, bootstrap_log

__all__ = ["bootstrap"]


@click.command()
@click.argument("file")
@click.option("--column", "-c", required=True, help="Column holding the values.")
@choice_option(
    "--statistic", "-s", choices=NAMED_STATISTICS, default="mean", help="Statistic to bootstrap."
)
@click.option("--denominator", default=None, help="Denominator column (statistic ratio).")
@click.option("--weights", default=None, help="Weights column (statistic weighted_mean).")
@click.option("--by", default=None, help="Two-group column (mean_difference, independent).")
@click.option("--paired-with", default=None, help="Second column (mean_difference, paired).")
@click.option("--cluster", default=None, help="Resample whole clusters of this column.")
@click.option("--strata", default=None, help="Resample within the groups of this column.")
@choice_option("--method", choices=INTERVAL_METHODS, default="bca", help="Interval method.")
@scheme_option(
    help="Multinomial resampling or Poisson(1) weights keyed on the row ids; "
    "--engine dask implies poisson (the same seed then gives the same interval on both "
    "engines).",
)
@count_option("--resamples", low=2, default=9999, help="Number of bootstrap replicates.")
@run_options(engine=True)
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
    run: RunOptions,
) -> None:
    """Bootstrap confidence interval of a statistic of a column of FILE (CSV or Parquet).

    FILE may be a glob of CSV or Parquet files (quote it). With --engine dask the log is
    read in partitions and only per-partition Poisson replicate sums meet
    (varkit.gpu.bootstrap_log); --scheme poisson on the memory engine gives the same
    interval.

    \b
    Examples:
      varkit bootstrap sessions.csv --column latency_ms --cluster user_id
      varkit bootstrap sessions.csv -c revenue --statistic mean_difference --by variant
      varkit bootstrap 'logs/*.parquet' -c revenue --engine dask --scheduler tcp://h:8786
    """
    results = bootstrap_log(
        file,
        column,
        statistic,
        denominator=denominator,
        weights=weights,
        by=by,
        paired_with=paired_with,
        cluster=cluster,
        strata=strata,
        n_resamples=resamples,
        method=method,
        scheme=if_typed("scheme", scheme),  # --engine dask implies poisson
        **run.front_door(),
    )
    run.emit(results)
