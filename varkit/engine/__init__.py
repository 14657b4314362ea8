"""Scale-out: add a domain's mergeable sums over the pieces of a log, in one process or on Dask.

A domain supplies a *map* (one piece of a log to a small mergeable partial: sums, counts)
and a *merge*; :func:`map_reduce` runs them piece by piece (``engine="chunks"``) or as a
Dask graph with a tree reduction (``engine="dask"``, local threads or a ``distributed``
cluster named by :func:`connect`). No domain logic lives here.
"""

from varkit.engine.reduce import (
    ENGINES,
    FRONT_ENGINES,
    LogSource,
    check_engine,
    connect,
    dask_client,
    map_reduce,
    scheduler_address,
)

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
