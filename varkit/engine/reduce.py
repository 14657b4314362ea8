"""Map a function over the pieces of a log and add the results: in one process or on Dask.

Every scale-out computation here is a *map* (one pandas piece to a small mergeable
partial: sums, counts) followed by a *reduce* (adding partials). :func:`map_reduce` runs
it either piece by piece in this process (``engine="chunks"``, memory of one piece plus
one partial) or as a Dask graph of one read-and-map task per piece (the partitions of
:func:`~varkit.io.partitions.read_partitioned`), with a tree reduction
(``SPLIT_EVERY`` partials merged per task) on the local threaded scheduler or on a
``distributed`` cluster.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from varkit.errors import VarkitError
from varkit.io import Column
from varkit.io.logs import LogSource
from varkit.io.partitions import Piece, iter_frames, log_pieces, read_piece
from varkit.progress import progress, tracked

__all__ = [
    "ENGINES",
    "FRONT_ENGINES",
    "LogSource",
    "check_engine",
    "connect",
    "dask_client",
    "map_reduce",
    "scheduler_address",
]

#: The scale-out engines of :func:`map_reduce`: one process piece by piece, or Dask.
ENGINES = ("chunks", "dask")
SPLIT_EVERY = 8
LOCAL = "local"  # --scheduler local[:N]: a LocalCluster started for the run


def _merge_many(merge: Callable[[Any, Any], Any], parts: list[Any]) -> Any:
    out = parts[0]
    for part in parts[1:]:
        out = merge(out, part)
    return out


def _read_apply(
    piece: Piece,
    columns: Sequence[Column],
    row_id: str | None,
    func: Callable[..., Any],
    args: tuple[Any, ...],
) -> Any:
    """One Dask task: read a piece and map it to its partial.

    Reading and mapping in one task keeps the piece's rows inside the task: they are
    freed when it ends, never stored by the worker nor sent to another one (as two
    tasks, read then map, they could be), and the client reads no sample partition to
    learn the frame's columns.
    """
    return _apply(func, read_piece(piece, columns, row_id), args)


def _in_worker_process() -> bool:
    """Whether this runs in a ``distributed`` worker (not the local threaded scheduler)."""
    try:
        from distributed import get_worker

        get_worker()
    except (ImportError, ValueError):
        return False
    return True


def _apply(func: Callable[..., Any], frame: Any, args: tuple[Any, ...]) -> Any:
    """``func``; in a ``distributed`` worker, with numba's parallel kernels on one thread.

    A worker runs one task per worker thread, so with one worker thread per core the
    cores are already busy with other partitions, and a kernel that also spread over
    all cores would oversubscribe them. This is the rule ``distributed`` applies to
    OpenMP and BLAS in its workers (``OMP_NUM_THREADS=1``); numba's thread count is per
    calling thread, so it touches neither other tasks nor the client. On the local
    threaded scheduler the kernels keep all cores: the pandas work of concurrent tasks
    is serialised by the GIL there anyway.
    """
    if not _in_worker_process():
        return func(frame, *args)
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        return func(frame, *args)
    finally:
        numba.set_num_threads(before)


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

    Examples
    --------
    >>> import tempfile
    >>> import pandas as pd
    >>> from varkit.io import Column
    >>> folder = tempfile.mkdtemp()
    >>> for i in range(3):
    ...     pd.DataFrame({"x": [1.0, 2.0]}).to_csv(f"{folder}/log{i}.csv", index=False)
    >>> def total(frame):
    ...     return float(frame["x"].sum())
    >>> map_reduce(LogSource(f"{folder}/log*.csv"), [Column("x")], total, lambda a, b: a + b)
    (9.0, 3)
    >>> source = LogSource(f"{folder}/log*.csv")
    >>> map_reduce(source, [Column("x")], total, lambda a, b: a + b, engine="chunks")
    (9.0, 3)
    """
    if engine not in ENGINES:
        raise VarkitError(f"`engine` must be one of {', '.join(ENGINES)}; got {engine!r}.")
    if engine == "chunks":
        total = None
        count = 0
        frames = iter_frames(
            source.pattern,
            columns,
            row_id=source.row_id,
            npartitions=source.npartitions,
            rows_per_partition=source.rows_per_partition,
        )
        for frame in tracked(frames, None, "pieces"):
            part = func(frame, *args)
            total = part if total is None else merge(total, part)
            count += 1
        return total, count
    import dask

    pieces = log_pieces(source.pattern, columns, source.npartitions, source.rows_per_partition)
    # keys unique to this run (a file may change between runs), named for the task stream
    run = uuid.uuid4().hex
    read_apply = dask.delayed(_read_apply)
    level = [
        read_apply(
            piece, list(columns), source.row_id, func, args, dask_key_name=(f"varkit-map-{run}", i)
        )
        for i, piece in enumerate(pieces)
    ]
    merge_many = dask.delayed(_merge_many)
    depth = 0
    n_tasks = len(level)
    while len(level) > 1:
        depth += 1
        level = [
            merge_many(
                merge, level[i : i + SPLIT_EVERY], dask_key_name=(f"varkit-merge-{run}-{depth}", i)
            )
            for i in range(0, len(level), SPLIT_EVERY)
        ]
        n_tasks += len(level)
    if client is not None:
        # a cluster's progress is on its dashboard (client.dashboard_link), not drawn here
        (total,) = client.compute(level, sync=True)
    else:
        from dask.callbacks import Callback

        with progress(n_tasks, "dask tasks") as step, Callback(posttask=lambda *task: step(1)):
            (total,) = dask.compute(*level, scheduler="threads")
    return total, len(pieces)


def connect(scheduler: str | None) -> Any:
    """A ``distributed.Client`` for ``--scheduler``, or None for dask's local threads.

    ``scheduler`` is a running scheduler's address (``tcp://host:8786``), or ``local``
    / ``local:N`` to start a ``distributed.LocalCluster`` of N worker processes (default:
    one per CPU) with one thread each on loopback for this run; closing the client
    closes that cluster.

    Examples
    --------
    >>> connect(None) is None  # dask's local threads need no client
    True
    """
    if scheduler is None:
        return None
    try:
        from distributed import Client
    except ImportError:
        raise VarkitError(
            "--scheduler needs the dask extra (pip install 'varkit[dask]')."
        ) from None
    if scheduler == LOCAL or scheduler.startswith(LOCAL + ":"):
        return _local_client(scheduler)
    address = scheduler_address(scheduler)
    _probe(address)
    try:
        return Client(address, timeout=f"{_CONNECT_TIMEOUT:g}s", set_as_default=False)
    except (OSError, TimeoutError) as exc:  # distributed raises its own TimeoutError too
        reason = " ".join(str(exc).split()).rstrip(".")
        raise VarkitError(f"cannot reach the Dask scheduler at {scheduler!r} ({reason}).") from None


# seconds to wait for a scheduler: one on the network answers in well under a second, and
# distributed's own default (30 s, retried) made a mistyped address look like a hang
_CONNECT_TIMEOUT = 5.0
_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx", "inproc")
_DEFAULT_PORT = 8786
_MAX_HANDSHAKE = 1 << 26  # bytes: a scheduler's handshake is a few hundred


def scheduler_address(text: str) -> str:
    """``--scheduler`` checked and normalised: ``host:port`` becomes ``tcp://host:port``.

    Raises :class:`~varkit.errors.VarkitError` naming the option for anything that is not
    ``local``, ``local:N``, ``host:port`` or ``scheme://host[:port]``.

    Examples
    --------
    >>> scheduler_address("10.0.0.5:8786"), scheduler_address("tls://sched.example:8786")
    ('tcp://10.0.0.5:8786', 'tls://sched.example:8786')
    >>> scheduler_address("bogus")
    Traceback (most recent call last):
    ...
    varkit.errors.VarkitError: --scheduler must be local, local:N or a scheduler address such as tcp://host:8786 (or host:8786), got 'bogus'.
    """  # noqa: E501
    from urllib.parse import urlsplit

    wanted = (
        "--scheduler must be local, local:N or a scheduler address such as "
        f"tcp://host:8786 (or host:8786), got {text!r}."
    )
    candidate = text.strip()
    if "://" not in candidate:
        if ":" not in candidate:
            raise VarkitError(wanted)
        candidate = "tcp://" + candidate
    parts = urlsplit(candidate)
    if parts.scheme not in _SCHEMES:
        raise VarkitError(
            f"--scheduler: unknown protocol {parts.scheme!r} in {text!r} "
            f"(use one of {', '.join(_SCHEMES)})."
        )
    if parts.scheme == "inproc":
        return candidate
    try:
        port = parts.port
    except ValueError:
        raise VarkitError(f"--scheduler: the port of {text!r} must be 1 to 65535.") from None
    if not parts.hostname or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise VarkitError(wanted)
    if port == 0:
        raise VarkitError(f"--scheduler: the port of {text!r} must be 1 to 65535.")
    return candidate.rstrip("/")


def _probe(address: str) -> None:
    """Fail fast, in one line, when a TCP scheduler's host is unknown or nothing listens."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address)
    if parts.scheme not in ("tcp", "tls"):
        return
    host, port = parts.hostname or "", parts.port or _DEFAULT_PORT
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise VarkitError(f"--scheduler: the host {host!r} is not known.") from None
    try:
        with socket.create_connection((host, port), timeout=_CONNECT_TIMEOUT) as sock:
            head = b""
            if parts.scheme == "tcp":
                # a scheduler sends its handshake at once, framed by an 8-byte length;
                # another service (or a proxy) would make distributed allocate garbage
                # sizes (a MemoryError) or wait out its timeouts
                while len(head) < 8:
                    chunk = sock.recv(8 - len(head))
                    if not chunk:
                        break
                    head += chunk
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise VarkitError(
            f"cannot reach the Dask scheduler at {address!r}: {reason} (no scheduler listens "
            f"on {host}:{port}?)."
        ) from None
    if parts.scheme == "tcp" and not (
        len(head) == 8 and 0 < int.from_bytes(head, "little") < _MAX_HANDSHAKE
    ):
        raise VarkitError(
            f"the service at {address!r} does not answer as a Dask scheduler does; check "
            "the address and port."
        )


def _local_client(spec: str) -> Any:
    """``local[:N]``: N single-threaded worker processes on loopback, glibc malloc.

    distributed starts its workers with ``MALLOC_TRIM_THRESHOLD_=65536``; setting it
    turns off glibc's dynamic mmap threshold, so every large temporary array of the
    per-partition pandas work is mmap-ed and page-faulted afresh. Without it the workers
    spent 13% less CPU per row on the 1e8-row fairness benchmark (on 2 cores, a median of
    1.74x the chunked single process over three runs, against 1.54x with it) for about
    0.1 GiB more resident memory each (benchmarks/RESULTS.md, "Scale-out on Dask"), so
    varkit's own local cluster
    leaves glibc's defaults. Clusters started by the user keep their own settings, and so
    does an environment that already sets the variable (the user's shell, or a process
    in which distributed has started workers before: it writes its worker environment
    into its own ``os.environ``).
    """
    import dask
    from distributed import Client

    count = spec.partition(":")[2]
    if count and not (count.isdigit() and int(count) > 0):
        raise VarkitError(f"--scheduler local:N needs a positive integer N, got {count!r}.")
    workers = int(count) if count else (os.cpu_count() or 1)
    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
        return Client(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            set_as_default=False,
        )


#: The engines a front door takes: ``memory`` besides :data:`ENGINES`.
FRONT_ENGINES = ("memory", "chunks", "dask")


def check_engine(
    engine: str,
    *,
    scheduler: str | None = None,
    rows_per_partition: int | None = None,
    allowed: Sequence[str] = ("memory", "dask"),
) -> str:
    """Check a front door's ``engine`` and the options that only one engine takes.

    ``"memory"`` reads the log whole (pandas), ``"chunks"`` adds a domain's sums piece
    by piece in this process, ``"dask"`` adds them on Dask (local threads, or the
    cluster named by ``scheduler``). ``allowed`` lists the engines a domain offers.

    Examples
    --------
    >>> check_engine("dask", scheduler="local:2")
    'dask'
    >>> check_engine("memory", scheduler="local:2")
    Traceback (most recent call last):
    ...
    varkit.errors.VarkitError: `scheduler` needs `engine` dask.
    """
    if engine not in allowed:
        raise VarkitError(f"`engine` must be one of {', '.join(allowed)}; got {engine!r}.")
    if scheduler is not None and engine != "dask":
        raise VarkitError("`scheduler` needs `engine` dask.")
    if rows_per_partition is not None and engine == "memory":
        raise VarkitError("`rows_per_partition` needs `engine` chunks or dask.")
    return engine


@contextmanager
def dask_client(scheduler: str | None) -> Iterator[Any]:
    """:func:`connect` to ``scheduler`` for the block and close the client after it.

    Examples
    --------
    >>> with dask_client(None) as client:
    ...     client is None
    True
    """
    client = connect(scheduler)
    try:
        yield client
    finally:
        if client is not None:
            client.close()
