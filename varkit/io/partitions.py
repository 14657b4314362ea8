"""Reading CSV/Parquet globs in partitions, each row with an id that does not depend on them.

A log is a glob of files (sorted by name). It is cut into **pieces**: consecutive rows of
one file (Parquet pieces follow row groups; a piece never spans two files). Each piece is
read, checked against the command's column declarations (:func:`varkit.io.validate_frame`)
and given a column :data:`ROW_ID`:

* by default ``row id = file_index * 2**40 + row``, with ``file_index`` the file's
  position in the sorted glob and ``row`` its data row counted from 0 (header excluded);
* or the values of a user column (``--row-id COL``: non-negative integers, unique over
  the log; uniqueness is the user's promise and is not checked).

Either way a row's id is the same whatever the number of partitions, which is what makes
the counter-based Poisson weights, keyed on (seed, row id, replicate), partition-invariant.
For a single file the default ids are the row positions the in-memory engine uses.

The same pieces feed the pandas engine (all at once, :func:`read_all`), the chunked
single-process loop (:func:`iter_frames`) and Dask (:func:`read_partitioned`, one
partition per piece), so the three read identical rows.

Examples
--------
>>> import os, tempfile
>>> import pandas as pd
>>> from varkit.io import Column
>>> folder = tempfile.mkdtemp()
>>> for i in range(2):
...     pd.DataFrame({"x": [1.0, 2.0, 3.0]}).to_csv(f"{folder}/log{i}.csv", index=False)
>>> frame = read_all(f"{folder}/log*.csv", [Column("x")])
>>> frame[ROW_ID].tolist() == [0, 1, 2, 2**40, 2**40 + 1, 2**40 + 2]
True
>>> [len(f) for f in iter_frames(f"{folder}/log*.csv", [Column("x")], rows_per_partition=2)]
[2, 1, 2, 1]
"""

from __future__ import annotations

import glob
import math
import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from varkit.errors import VarkitError
from varkit.io.tables import _MISSING_TOKENS, Column, csv_header, read_table, validate_frame

__all__ = [
    "FILE_SHIFT",
    "ROW_ID",
    "Piece",
    "expand_paths",
    "iter_frames",
    "log_pieces",
    "plan_pieces",
    "read_all",
    "read_partitioned",
    "read_header",
    "read_piece",
]

#: The column of stable row numbers a partitioned read adds (it keys Poisson weights).
ROW_ID = "__row_id__"
# 2^40 rows per file (10^12) and 2^23 files fit in the 63 bits the counter hash takes.
FILE_SHIFT = 40
DEFAULT_ROWS = 1_000_000
_PARQUET = (".parquet", ".pq")


@dataclass(frozen=True)
class Piece:
    """Rows ``start <= row < stop`` of the file ``path``, the ``file_index``-th of the glob.

    Examples
    --------
    >>> piece = Piece(path="log.csv", file_index=1, start=0, stop=3)
    >>> piece.stop - piece.start
    3
    """

    path: str
    file_index: int
    start: int
    stop: int

    @property
    def is_parquet(self) -> bool:
        return Path(self.path).suffix.lower() in _PARQUET

    @property
    def label(self) -> str:
        return f"{self.path} (data rows {self.start + 1}-{self.stop})"


def expand_paths(pattern: str | Sequence[str]) -> list[str]:
    """The files of a path, glob or list of them, sorted by name; an error if there are none.

    A name that exists as a file is that file, even when it reads as a glob: ``log[1].csv``
    is the file ``log[1].csv``, never ``log1.csv`` next to it. Only a name that is no file
    is expanded as a glob.

    Examples
    --------
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> for name in ("log1.csv", "log[1].csv"):
    ...     _ = open(os.path.join(folder, name), "w").write("x\\n1\\n")
    >>> [os.path.basename(p) for p in expand_paths(os.path.join(folder, "log[1].csv"))]
    ['log[1].csv']
    >>> os.remove(os.path.join(folder, "log[1].csv"))
    >>> [os.path.basename(p) for p in expand_paths(os.path.join(folder, "log[1].csv"))]
    ['log1.csv']
    """
    patterns = [pattern] if isinstance(pattern, (str, os.PathLike)) else list(pattern)
    paths: list[str] = []
    for item in patterns:
        text = os.fspath(item)
        if os.path.exists(text) or not glob.has_magic(text):
            matched = [text]
        else:
            matched = sorted(glob.glob(text))
        if not matched:
            raise VarkitError(f"no file matches {text!r}.")
        paths.extend(matched)
    for path in paths:
        if not os.path.exists(path):
            raise VarkitError(f"file '{path}' does not exist.")
        if os.path.isdir(path):
            raise VarkitError(f"file '{path}' is a directory, not a file.")
    return paths


def _count_rows(path: str) -> int:
    if Path(path).suffix.lower() in _PARQUET:
        import pyarrow.parquet as pq

        try:
            return int(pq.ParquetFile(path).metadata.num_rows)
        except (OSError, ValueError) as exc:
            raise VarkitError(f"file '{path}' is not a valid Parquet file ({exc}).") from None
    if os.path.getsize(path) == 0:
        raise VarkitError(f"file '{path}' is empty.")
    # one cheap pass over the first column counts data rows as pandas parses them
    # (quoted newlines, blank lines skipped)
    count = 0
    for chunk in pd.read_csv(path, usecols=[0], dtype=str, chunksize=1 << 20, na_filter=False):
        count += len(chunk)
    return count


def _row_groups(path: str) -> list[int]:
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path).metadata
    return [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]


def plan_pieces(
    paths: Sequence[str],
    *,
    npartitions: int | None = None,
    rows_per_partition: int | None = None,
) -> list[Piece]:
    """Cut the files into pieces of at most ``rows_per_partition`` rows.

    ``npartitions`` sets the piece size to ``ceil(total rows / npartitions)`` instead
    (pieces never span files, so a glob may give a few more). Without either, a Parquet
    file gives one piece per row group (split when a group exceeds the default size)
    and a CSV file pieces of 1,000,000 rows.

    Examples
    --------
    >>> from varkit.datasets.sessions import sessions_example_path
    >>> from varkit.io import Column
    >>> path = sessions_example_path()  # 2427 sessions
    >>> [(p.start, p.stop) for p in plan_pieces([path], rows_per_partition=1000)]
    [(0, 1000), (1000, 2000), (2000, 2427)]
    """
    sizes = [_count_rows(p) for p in paths]
    total = sum(sizes)
    if total == 0:
        raise VarkitError(f"the log {paths[0]!r} has no rows.")
    if npartitions is not None:
        if npartitions < 1:
            raise VarkitError(f"`npartitions` must be at least 1, got {npartitions}.")
        step = math.ceil(total / npartitions)
    elif rows_per_partition is not None:
        if rows_per_partition < 1:
            raise VarkitError(f"`rows_per_partition` must be at least 1, got {rows_per_partition}.")
        step = rows_per_partition
    else:
        step = DEFAULT_ROWS
    pieces: list[Piece] = []
    for index, (path, size) in enumerate(zip(paths, sizes, strict=True)):
        if npartitions is None and rows_per_partition is None and path.lower().endswith(_PARQUET):
            bounds = np.cumsum([0, *_row_groups(path)]).tolist()
        else:
            bounds = [0, size]
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            for start in range(lo, hi, step):
                pieces.append(Piece(path, index, start, min(hi, start + step)))
    return pieces


def read_header(path: str) -> list[str]:
    """The column names of a CSV or Parquet file (its header only).

    Examples
    --------
    >>> from varkit.datasets.sessions import sessions_example_path
    >>> from varkit.io import Column
    >>> path = sessions_example_path()  # 2427 sessions
    >>> read_header(path)
    ['session_id', 'user_id', 'variant', 'converted', 'revenue', 'latency_ms']
    """
    if Path(path).suffix.lower() in _PARQUET:
        import pyarrow.parquet as pq

        try:
            return [str(n) for n in pq.ParquetFile(path).schema_arrow.names]
        except (OSError, ValueError) as exc:
            raise VarkitError(f"file '{path}' is not a valid Parquet file ({exc}).") from None
    if os.path.getsize(path) == 0:
        raise VarkitError(f"file '{path}' is empty.")
    # as written: a repeated column name is an error (pandas would rename it `x.1`)
    return csv_header(path)


def _check_header(path: str, columns: Sequence[Column]) -> None:
    """Fail before any work when a file lacks a required column (cheap: header only)."""
    head = pd.DataFrame(columns=read_header(path))
    head.loc[0] = [None] * len(head.columns)  # one row: validate_frame rejects empty frames
    required = [Column(c.name, "label", True, True, c.prefix) for c in columns if c.required]
    validate_frame(head.astype(object), required, source=path)


def _declared(columns: Sequence[Column], name: str, kind: str | None = None) -> bool:
    return any(
        (name.startswith(c.name) if c.prefix else name == c.name)
        and (kind is None or c.kind == kind)
        for c in columns
    )


def _read_csv_rows(piece: Piece, columns: Sequence[Column]) -> pd.DataFrame:
    """The declared columns of a CSV piece, read as :func:`varkit.io.read_table` reads them."""
    header = read_header(piece.path)
    wanted = [n for n in header if _declared(columns, n)]
    labels = [n for n in wanted if _declared(columns, n, "label")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pd.errors.DtypeWarning)
        return pd.read_csv(
            piece.path,
            usecols=wanted,
            skiprows=range(1, piece.start + 1) if piece.start else None,
            nrows=piece.stop - piece.start,
            dtype=dict.fromkeys(labels, str),
            keep_default_na=False,
            na_values={n: sorted(_MISSING_TOKENS) for n in wanted if n not in labels},
        )[wanted]


def _read_parquet_rows(piece: Piece, columns: Sequence[Column]) -> pd.DataFrame:
    """The declared columns of a Parquet piece (the others are never read)."""
    import pyarrow.parquet as pq

    handle = pq.ParquetFile(piece.path)
    wanted = [str(n) for n in handle.schema_arrow.names if _declared(columns, str(n))]
    bounds = np.cumsum([0, *_row_groups(piece.path)])
    groups = [
        g for g in range(len(bounds) - 1) if bounds[g] < piece.stop and bounds[g + 1] > piece.start
    ]
    table = handle.read_row_groups(groups, columns=wanted)
    first = int(bounds[groups[0]])
    frame: pd.DataFrame = table.slice(piece.start - first, piece.stop - piece.start).to_pandas()
    return frame


def read_piece(piece: Piece, declared: Sequence[Column], row_id: str | None = None) -> pd.DataFrame:
    """One piece's declared columns (only those are read), checked, and :data:`ROW_ID`.

    Raises :class:`varkit.errors.VarkitError` naming the file, its rows and the column.

    Examples
    --------
    >>> from varkit.datasets.sessions import sessions_example_path
    >>> from varkit.io import Column
    >>> path = sessions_example_path()  # 2427 sessions
    >>> piece = plan_pieces([path], rows_per_partition=1000)[2]
    >>> frame = read_piece(piece, [Column("converted", "binary")])
    >>> len(frame), int(frame[ROW_ID].iloc[0])
    (427, 2000)
    """
    checks = list(declared)
    if row_id is not None:
        checks.append(Column(row_id, "count"))
    raw = _read_parquet_rows(piece, checks) if piece.is_parquet else _read_csv_rows(piece, checks)
    # rows are numbered as in the whole file (1-based), not within the piece
    frame = validate_frame(
        raw.reset_index(drop=True), checks, source=piece.label, first_row=piece.start + 1
    )
    if row_id is not None:
        ids = frame[row_id].to_numpy(dtype=np.uint64)
    else:
        base = np.uint64(piece.file_index) << np.uint64(FILE_SHIFT)
        ids = base + np.arange(piece.start, piece.stop, dtype=np.uint64)
    frame[ROW_ID] = ids
    return frame


def log_pieces(
    pattern: str | Sequence[str],
    columns: Sequence[Column],
    npartitions: int | None,
    rows_per_partition: int | None,
) -> list[Piece]:
    """The pieces of a log after checking every file's header against ``columns``.

    Examples
    --------
    >>> from varkit.datasets.sessions import sessions_example_path
    >>> from varkit.io import Column
    >>> path = sessions_example_path()  # 2427 sessions
    >>> len(log_pieces(path, [Column("revenue")], None, 1000))
    3
    >>> log_pieces(path, [Column("price")], None, None)
    Traceback (most recent call last):
    ...
    varkit.errors.VarkitError: ...
    """
    paths = expand_paths(pattern)
    for path in paths:
        _check_header(path, columns)
    return plan_pieces(paths, npartitions=npartitions, rows_per_partition=rows_per_partition)


def iter_frames(
    pattern: str | Sequence[str],
    columns: Sequence[Column],
    *,
    row_id: str | None = None,
    npartitions: int | None = None,
    rows_per_partition: int | None = None,
) -> Iterator[pd.DataFrame]:
    """The log piece by piece in one process (pandas-in-chunks): memory of one piece.

    Examples
    --------
    >>> from varkit.datasets.sessions import sessions_example_path
    >>> from varkit.io import Column
    >>> path = sessions_example_path()  # 2427 sessions
    >>> frames = iter_frames(path, [Column("converted", "binary")], rows_per_partition=1000)
    >>> [len(frame) for frame in frames]
    [1000, 1000, 427]
    """
    for piece in log_pieces(pattern, columns, npartitions, rows_per_partition):
        yield read_piece(piece, columns, row_id)


def read_all(
    pattern: str | Sequence[str], columns: Sequence[Column], *, row_id: str | None = None
) -> pd.DataFrame:
    """The whole log in memory (the pandas engine), with the same row ids as the pieces.

    A single file is read by :func:`varkit.io.read_table` (its messages count rows over
    the whole file).

    Examples
    --------
    >>> from varkit.datasets.sessions import sessions_example_path
    >>> from varkit.io import Column
    >>> path = sessions_example_path()  # 2427 sessions
    >>> frame = read_all(path, [Column("converted", "binary")])
    >>> len(frame), int(frame["converted"].sum()) > 0
    (2427, True)
    """
    paths = expand_paths(pattern)
    if len(paths) == 1:
        declared = list(columns) + ([Column(row_id, "count")] if row_id is not None else [])
        frame = read_table(paths[0], declared)
        frame[ROW_ID] = (
            frame[row_id].to_numpy(dtype=np.uint64)
            if row_id is not None
            else np.arange(len(frame), dtype=np.uint64)
        )
        return frame
    frames = list(iter_frames(paths, columns, row_id=row_id, rows_per_partition=1 << 62))
    return pd.concat(frames, ignore_index=True)


def read_partitioned(
    pattern: str | Sequence[str],
    columns: Sequence[Column],
    *,
    row_id: str | None = None,
    npartitions: int | None = None,
    rows_per_partition: int | None = None,
) -> Any:
    """The log as a ``dask.dataframe.DataFrame``, one partition per piece, lazily read.

    Missing columns are reported at once (headers are read here); a bad value is
    reported when its partition is computed, as the same :class:`varkit.errors.VarkitError`.

    Examples
    --------
    >>> from varkit.datasets.sessions import sessions_example_path
    >>> from varkit.io import Column
    >>> path = sessions_example_path()  # 2427 sessions
    >>> frame = read_partitioned(path, [Column("revenue")], rows_per_partition=1000)
    >>> frame.npartitions, len(frame)
    (3, 2427)
    """
    import dask.dataframe as dd

    pieces = log_pieces(pattern, columns, npartitions, rows_per_partition)
    meta = read_piece(_head_piece(pieces[0]), columns, row_id).iloc[:0]
    return dd.from_map(
        read_piece,
        pieces,
        declared=list(columns),
        row_id=row_id,
        meta=meta,
        enforce_metadata=False,
        label="varkit-read",
    )


def _head_piece(piece: Piece) -> Piece:
    return Piece(piece.path, piece.file_index, piece.start, min(piece.stop, piece.start + 1))
