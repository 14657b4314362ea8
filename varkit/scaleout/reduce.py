"""Map a function over the pieces of a log and add the results: in one process or on Dask.

Every scale-out computation here is a *map* (one pandas piece to a small mergeable
partial: sums, counts) followed by a *reduce* (adding partials). :func:`map_reduce` runs
it either piece by piece in this process (``engine="chunks"``, memory of one piece plus
one partial) or as a Dask graph over the partitions of
:func:`~varkit.scaleout.partitions.read_partitioned`, with a tree reduction (``split_every``
partials merged per task) on the local threaded scheduler or on a ``distributed``
cluster.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from varkit.io import Column
from varkit.scaleout.partitions import iter_frames, read_partitioned

__all__ = ["ENGINES", "LogSource", "connect", "map_reduce"]

ENGINES = ("chunks", "dask")
SPLIT_EVERY = 8


@dataclass(frozen=True)
class LogSource:
    """Where a log is and how it is cut: a path, glob or list of files, and row ids."""

    pattern: str | Sequence[str]
    row_id: str | None = None
    npartitions: int | None = None
    rows_per_partition: int | None = None


def _merge_many(merge: Callable[[Any, Any], Any], parts: list[Any]) -> Any:
    out = parts[0]
    for part in parts[1:]:
        out = merge(out, part)
    return out


def _apply(func: Callable[..., Any], frame: Any, args: tuple[Any, ...]) -> Any:
    return func(frame, *args)


def map_reduce(
    source: LogSource,
    columns: Sequence[Column],
    func: Callable[..., Any],
    merge: Callable[[Any, Any], Any],
    *,
    args: tuple[Any, ...] = (),
    engine: str = "dask",
    client: Any = None,
) -> tuple[Any, int]:
    """``merge`` of ``func(piece, *args)`` over the log's pieces, and the number of pieces.

    ``client`` is a ``distributed.Client`` (None: dask's local threaded scheduler).
    """
    if engine not in ENGINES:
        raise ValueError(f"`engine` must be one of {', '.join(ENGINES)}; got {engine!r}.")
    if engine == "chunks":
        total = None
        count = 0
        for frame in iter_frames(
            source.pattern,
            columns,
            row_id=source.row_id,
            npartitions=source.npartitions,
            rows_per_partition=source.rows_per_partition,
        ):
            part = func(frame, *args)
            total = part if total is None else merge(total, part)
            count += 1
        return total, count
    import dask

    frames = read_partitioned(
        source.pattern,
        columns,
        row_id=source.row_id,
        npartitions=source.npartitions,
        rows_per_partition=source.rows_per_partition,
    ).to_delayed()
    level = [dask.delayed(_apply)(func, frame, args) for frame in frames]
    while len(level) > 1:
        level = [
            dask.delayed(_merge_many)(merge, level[i : i + SPLIT_EVERY])
            for i in range(0, len(level), SPLIT_EVERY)
        ]
    if client is not None:
        (total,) = client.compute(level, sync=True)
    else:
        (total,) = dask.compute(*level, scheduler="threads")
    return total, len(frames)


def connect(scheduler: str | None) -> Any:
    """A ``distributed.Client`` for a scheduler address, or None for the local scheduler."""
    if scheduler is None:
        return None
    try:
        from distributed import Client
    except ImportError:
        raise ValueError("--scheduler needs the dask extra (pip install 'varkit[dask]').") from None
    try:
        return Client(scheduler, timeout="10s", set_as_default=False)
    except OSError as exc:
        raise ValueError(f"cannot reach the Dask scheduler at {scheduler!r} ({exc}).") from None
