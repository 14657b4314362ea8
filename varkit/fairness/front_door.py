"""The front door of the VRS metrics: read the logs, choose the engine, add the coverage.

:func:`vrs` takes the impressions log and the eligible table as DataFrames, paths or
globs, checks every option once, and runs one of three engines, all finishing in
:func:`varkit.fairness.metrics.ad_results`:

* ``"memory"``: the whole log in memory, :func:`~varkit.fairness.metrics.vrs_metrics`;
* ``"chunks"``: the log ``rows_per_partition`` rows at a time in this process, the ads
  spilled to disk in ranges (:func:`~varkit.fairness.chunked.vrs_metrics_chunks`): the
  same results in memory bounded by the chunk size;
* ``"dask"``: the log's partitions reduced to per-ad sums and Poisson replicate sums
  keyed on the user id, on Dask (:func:`~varkit.fairness.logs.vrs_log`): the same point
  metrics, and intervals that do not depend on the partitioning.

Then it adds the compliance coverage of the ads (:func:`~varkit.fairness.metrics.
vrs_coverage`) and the provenance (function, inputs, seed, device).
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator, Sequence
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from varkit.checks import resolve_seed
from varkit.engine import FRONT_ENGINES, LogSource, check_engine, dask_client
from varkit.errors import VarkitError
from varkit.fairness.chunked import vrs_metrics_chunks
from varkit.fairness.counts import ELIGIBLE_COLUMNS, check_noise_scale, log_columns
from varkit.fairness.coverage import DEFAULT_TOLERANCE
from varkit.fairness.logs import _check_log_options, vrs_log
from varkit.fairness.metrics import VrsOptions, checked_eligible, vrs_coverage, vrs_of_counts
from varkit.gpu import resolve_device
from varkit.io import ROW_ID, Column, expand_paths, iter_frames, read_all, read_table
from varkit.results import ResultSet, make_provenance

__all__ = ["vrs"]

Table: TypeAlias = pd.DataFrame | str | os.PathLike[str]
# Rows of a DataFrame handed to the chunks engine at a time, when not given.
DEFAULT_CHUNK_ROWS = 1_000_000


def vrs(
    impressions: Table | Sequence[str],
    eligible: Table,
    attribute: str,
    *,
    engine: str = "memory",
    scheduler: str | None = None,
    row_id: str | None = None,
    rows_per_partition: int | None = None,
    min_impressions: float = 0.0,
    unit: str = "impressions",
    threshold: float = 0.10,
    confidence: float = 0.95,
    n_resamples: int = 1000,
    scheme: str | None = None,
    interval: str = "projection",
    eligible_sampling: str = "multinomial",
    redraw_membership: bool | None = None,
    delivered_noise_scale: float = 0.0,
    drop_groups: Sequence[str] = ("unknown",),
    estimate: str = "plug-in",
    tolerance: float = DEFAULT_TOLERANCE,
    random_state: int | np.random.Generator | None = None,
    device: str = "cpu",
    noise: str = "laplace",
    calibration: Table | None = None,
) -> ResultSet:
    """Shuffle distance of every ad with its interval, then the compliance coverage.

    Parameters
    ----------
    impressions : pandas.DataFrame, path, glob or list of paths
        The delivery log: one row per (ad, user or group) with ``ad_id``, ``impressions``,
        a label column named ``attribute`` or ``p_<group>`` probabilities, and optionally
        ``user_id``. Files are CSV or Parquet.
    eligible : pandas.DataFrame or path
        The eligible table: ``ad_id``, ``attribute``, ``group``, ``eligible``, optional
        ``noise_scale``.
    attribute : str
        ``sex``, ``race`` ... as named in the eligible table.
    engine : {'memory', 'chunks', 'dask'}, default 'memory'
        How the log is read and reduced (see the module docstring). ``'memory'`` with
        ``rows_per_partition`` reads it in chunks of that many rows (``'chunks'``).
    scheduler : str, optional
        ``'dask'`` only: a distributed scheduler's address, or ``local[:N]``.
    row_id : str, optional
        ``'dask'`` only: a column of stable row ids (the weights are keyed on user ids).
    rows_per_partition : int, optional
        Rows per chunk (``'chunks'``, which also reads back its spill files about that
        many rows at a time) or per partition (``'dask'``).
    min_impressions : float, default 0
        Ads with fewer impressions do not qualify for the coverage (counted as excluded).
    unit, threshold, confidence, n_resamples, interval, eligible_sampling, \
redraw_membership, delivered_noise_scale, drop_groups, estimate, tolerance, device, noise
        As for :func:`~varkit.fairness.metrics.vrs_metrics` (``noise``: the DP mechanism,
        ``'laplace'`` or ``'gaussian'``, of the noise scales), on every engine.
    calibration : pandas.DataFrame or path, optional
        A calibration sample of the estimated attribute (true group in a column named
        ``attribute``, ``p_<group>`` memberships): each ad's distance is corrected for
        misclassification, its interval carries the calibration's error (see
        :func:`~varkit.fairness.metrics.vrs_metrics`), the uncorrected values are in
        ``details["uncorrected"]``. Memory engine only.
    scheme : {'multinomial', 'poisson'}, optional
        Bootstrap weights; default ``'multinomial'``, and ``'poisson'`` (the only one) on
        Dask.
    random_state : None, int or numpy.random.Generator
        The seed drawn from it is written to the provenance.

    Returns
    -------
    ResultSet
        One ``shuffle_distance`` result per ad, then the ``compliance_coverage`` and
        ``mean_shuffle_distance`` results (per ad and impression-weighted); the
        provenance names this function, the input files, the seed and the device.
        ``'memory'`` and ``'chunks'`` give the same results for a seed.

    Examples
    --------
    >>> from varkit.datasets.fairness import eligible_example_path, impressions_example_path
    >>> rs = vrs(impressions_example_path(), eligible_example_path(), "sex",
    ...          n_resamples=50, min_impressions=100, random_state=3)
    >>> rs[0].metric, rs[0].group["ad_id"], rs.provenance["function"]
    ('shuffle_distance', 'ad_000', 'varkit.fairness.vrs')
    >>> rs.select("compliance_coverage", weighting="ads")[0].n <= 12
    True
    >>> chunked = vrs(impressions_example_path(), eligible_example_path(), "sex",
    ...               engine="chunks", rows_per_partition=1000, n_resamples=50,
    ...               min_impressions=100, random_state=3)
    >>> chunked.results == rs.results
    True
    """
    delivered_noise_scale = check_noise_scale(delivered_noise_scale, "`delivered_noise_scale`")
    if not min_impressions >= 0:
        raise VarkitError(f"`min_impressions` must be non-negative, got {min_impressions}.")
    if engine == "memory" and rows_per_partition is not None:
        engine = "chunks"  # the memory engine, in memory bounded by the chunk size
    check_engine(
        engine, scheduler=scheduler, rows_per_partition=rows_per_partition, allowed=FRONT_ENGINES
    )
    options = VrsOptions(
        attribute=attribute,
        unit=unit,
        threshold=threshold,
        confidence=confidence,
        n_resamples=n_resamples,
        scheme=_scheme(engine, scheme),
        interval=interval,
        eligible_sampling=eligible_sampling,
        redraw_membership=redraw_membership,
        delivered_noise_scale=delivered_noise_scale,
        drop_groups=drop_groups,
        estimate=estimate,
        tolerance=tolerance,
        device=device,
        noise=noise,
    ).check()
    _check_calibration_engine(calibration, engine)
    if engine == "dask":
        _check_log_options(options)  # before a cluster is started
    seed = resolve_seed(random_state)  # drawn when not given; written to the provenance
    table = _read_eligible(eligible)
    if engine == "dask":
        per_ad = _on_dask(impressions, table, options, seed, scheduler, row_id, rows_per_partition)
    elif engine == "chunks":
        chunks = _chunks(
            impressions, log_columns(attribute, delivered_noise_scale), rows_per_partition
        )
        per_ad = vrs_metrics_chunks(
            chunks,
            table,
            attribute,
            bucket_rows=rows_per_partition or DEFAULT_CHUNK_ROWS,
            random_state=seed,
            **options.keywords(),
        )
    else:
        log = _read_log(impressions, log_columns(attribute, delivered_noise_scale))
        sample = None if calibration is None else _read_calibration(calibration, attribute)
        per_ad = vrs_of_counts(log, checked_eligible(table, options), options, seed, sample)
    coverage = vrs_coverage(
        per_ad, min_impressions=min_impressions, confidence=confidence, random_state=seed
    )
    provenance = make_provenance(
        function="varkit.fairness.vrs",
        inputs=_inputs(impressions, eligible, calibration),
        seed=seed,
        device=resolve_device(device).device,
    )
    return ResultSet(per_ad.results + coverage.results, provenance)


def _check_calibration_engine(calibration: Any, engine: str) -> None:
    if calibration is not None and engine != "memory":
        raise VarkitError(
            f"`calibration` needs the memory engine (read whole, no `rows_per_partition`), "
            f"not {engine!r}."
        )


def _scheme(engine: str, scheme: str | None) -> str:
    """The bootstrap weights: Poisson on Dask (keyed on user ids), else as asked."""
    if engine != "dask":
        return "multinomial" if scheme is None else scheme
    if scheme not in (None, "poisson"):
        raise VarkitError("`engine` dask uses Poisson weights: drop `scheme` or use poisson.")
    return "poisson"


def _is_file_name(value: Any) -> bool:
    return isinstance(value, (str, os.PathLike))


def _read_eligible(eligible: Table) -> pd.DataFrame:
    if isinstance(eligible, pd.DataFrame):
        return eligible
    return read_table(eligible, ELIGIBLE_COLUMNS, what="eligible table")


def _read_calibration(calibration: Table, attribute: str) -> pd.DataFrame:
    if isinstance(calibration, pd.DataFrame):
        return calibration
    columns = [Column(attribute, "label"), Column("p_", "probability", prefix=True)]
    return read_table(calibration, columns, what="calibration sample")


def _read_log(impressions: Table | Sequence[str], columns: list[Column]) -> pd.DataFrame:
    """The whole log: a DataFrame as given, one file, or every file of a glob or list."""
    if isinstance(impressions, pd.DataFrame):
        return impressions
    if isinstance(impressions, (str, os.PathLike)) and not glob.has_magic(os.fspath(impressions)):
        return read_table(impressions, columns, what="impressions log")
    return read_all(_files(impressions), columns).drop(columns=ROW_ID)


def _files(impressions: Any) -> str | list[str]:
    if _is_file_name(impressions):
        return os.fspath(impressions)
    return [os.fspath(p) for p in impressions]


def _chunks(
    impressions: Table | Sequence[str], columns: list[Column], rows: int | None
) -> Iterator[pd.DataFrame]:
    """The log ``rows`` rows at a time (memory bounded by the chunk size)."""
    if isinstance(impressions, pd.DataFrame):
        step = rows or DEFAULT_CHUNK_ROWS
        return (impressions.iloc[i : i + step] for i in range(0, len(impressions), step))
    frames = iter_frames(_files(impressions), columns, rows_per_partition=rows)
    return (frame.drop(columns=ROW_ID) for frame in frames)


def _on_dask(
    impressions: Table | Sequence[str],
    table: pd.DataFrame,
    options: VrsOptions,
    seed: int,
    scheduler: str | None,
    row_id: str | None,
    rows_per_partition: int | None,
) -> ResultSet:
    if isinstance(impressions, pd.DataFrame):
        raise VarkitError(
            "`engine` dask reads `impressions` from files: give a path or glob (or use "
            "the memory or chunks engine for a DataFrame)."
        )
    source = LogSource(_files(impressions), row_id=row_id, rows_per_partition=rows_per_partition)
    with dask_client(scheduler) as client:
        return vrs_log(
            source, table, options.attribute, client=client, random_state=seed, **options.keywords()
        )


def _inputs(impressions: Any, eligible: Any, calibration: Any = None) -> list[str]:
    """The files read, for the provenance (none for a DataFrame)."""
    files = [] if isinstance(impressions, pd.DataFrame) else expand_paths(_files(impressions))
    return files + [os.fspath(table) for table in (eligible, calibration) if _is_file_name(table)]
