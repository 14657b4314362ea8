"""Reading and checking logs: tables, column declarations, globs read whole or in pieces.

:mod:`varkit.io.tables` reads one CSV or Parquet file (or checks an in-memory frame)
against :class:`Column` declarations with one clear sentence per problem;
:mod:`varkit.io.partitions` reads a glob of files whole, piece by piece or as Dask
partitions, every row with a stable id (:data:`ROW_ID`). Every varkit front door reads
its input here.
"""

from varkit.io.logs import Log, LogSource, log_inputs, log_source, read_log
from varkit.io.partitions import (
    ROW_ID,
    Piece,
    expand_paths,
    iter_frames,
    log_pieces,
    plan_pieces,
    read_all,
    read_header,
    read_partitioned,
    read_piece,
)
from varkit.io.tables import KINDS, Column, check_array, csv_header, read_table, validate_frame

__all__ = [
    "KINDS",
    "Log",
    "LogSource",
    "ROW_ID",
    "Column",
    "Piece",
    "check_array",
    "csv_header",
    "expand_paths",
    "iter_frames",
    "log_inputs",
    "log_source",
    "log_pieces",
    "plan_pieces",
    "read_all",
    "read_header",
    "read_log",
    "read_partitioned",
    "read_piece",
    "read_table",
    "validate_frame",
]
