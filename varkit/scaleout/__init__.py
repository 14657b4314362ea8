"""Scale-out: the engine's Poisson bootstrap and mergeable counts over partitioned logs.

Logs (globs of CSV or Parquet files) are read in pieces with stable row ids
(:mod:`~varkit.scaleout.partitions`); each piece emits small mergeable partials (Poisson
replicate sums, counts), which Dask adds in a tree on local threads or a ``distributed``
cluster (:mod:`~varkit.scaleout.reduce`); the in-memory code finishes from the sums.
"""

from varkit.scaleout.bootstrap import bootstrap_log
from varkit.scaleout.evaluate import compare_log
from varkit.scaleout.partitions import ROW_ID, expand_paths, read_all, read_partitioned
from varkit.scaleout.reduce import LogSource, connect, map_reduce

__all__ = [
    "ROW_ID",
    "LogSource",
    "bootstrap_log",
    "compare_log",
    "connect",
    "expand_paths",
    "map_reduce",
    "read_all",
    "read_partitioned",
]
