"""A log given to a front door: a DataFrame, or a path, glob or list of CSV/Parquet files.

Every front door reads its log here, so a DataFrame and a file are checked alike and
the rows get the same ids (:data:`~varkit.io.ROW_ID`) whichever engine reads them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import pandas as pd

from varkit.errors import VarkitError
from varkit.io.partitions import ROW_ID, expand_paths, read_all
from varkit.io.tables import Column, validate_frame

__all__ = ["Log", "LogSource", "log_inputs", "log_source", "read_log"]

#: What a front door accepts as a log.
Log: TypeAlias = pd.DataFrame | str | Sequence[str]


@dataclass(frozen=True)
class LogSource:
    """Where a log is and how it is cut: a path, glob or list of files, and row ids.

    Examples
    --------
    >>> source = LogSource("logs/*.parquet", row_id="session", rows_per_partition=500_000)
    >>> source.npartitions is None
    True
    """

    pattern: str | Sequence[str]
    row_id: str | None = None
    npartitions: int | None = None
    rows_per_partition: int | None = None


def log_inputs(log: Log) -> list[str]:
    """The files behind ``log`` for the provenance (none for a DataFrame).

    Examples
    --------
    >>> import pandas as pd
    >>> log_inputs(pd.DataFrame({"x": [1.0]}))
    []
    """
    if isinstance(log, pd.DataFrame):
        return []
    return expand_paths(log)


def read_log(log: Log, columns: Sequence[Column], *, row_id: str | None = None) -> pd.DataFrame:
    """The whole log in memory, its declared columns checked, each row with its id.

    A DataFrame is checked as a file would be (:func:`varkit.io.validate_frame`); files
    are read by :func:`varkit.io.read_all`. The :data:`~varkit.io.ROW_ID` column holds
    the ``row_id`` column or, without one, the ids the partitioned engines give the
    rows (a DataFrame's positions), so that Poisson weights agree across engines.

    Examples
    --------
    >>> import pandas as pd
    >>> from varkit.io import ROW_ID, Column
    >>> read_log(pd.DataFrame({"x": ["1", "2"]}), [Column("x")])[ROW_ID].tolist()
    [0, 1]
    """
    if not isinstance(log, pd.DataFrame):
        return read_all(log, columns, row_id=row_id)
    declared = list(columns) + ([Column(row_id, "count")] if row_id is not None else [])
    frame = validate_frame(log, declared, source="log")
    frame[ROW_ID] = (
        frame[row_id].to_numpy(dtype=np.uint64)
        if row_id is not None
        else np.arange(len(frame), dtype=np.uint64)
    )
    return frame.reset_index(drop=True)


def log_source(
    log: Log, engine: str, *, row_id: str | None = None, rows_per_partition: int | None = None
) -> LogSource:
    """The :class:`~varkit.engine.LogSource` of files read in pieces by ``engine``.

    Examples
    --------
    >>> log_source("logs/*.csv", "dask", rows_per_partition=1000).rows_per_partition
    1000
    """
    if isinstance(log, pd.DataFrame):
        raise VarkitError(
            f"`engine` {engine} reads the log from files in pieces: give `log` as a path or "
            "glob of CSV or Parquet files, or use `engine` memory for a DataFrame."
        )
    return LogSource(log, row_id=row_id, rows_per_partition=rows_per_partition)
