"""The shared resampling engine: bootstrap, permutation tests and repeated splits.

Runs on NumPy (with compiled numba kernels) or on CuPy when a GPU is present; random
numbers come from a counter-based generator keyed on (seed, unit, replicate).
:func:`bootstrap_log` is the front door of ``varkit bootstrap``: a column of a log (a
DataFrame, a file or a glob), in memory or over partitions (``engine=``).
"""

from varkit.gpu.backend import DEVICES, cupy_available, resolve_device
from varkit.gpu.bootstrap import (
    BootstrapOptions,
    bootstrap,
    bootstrap_result,
    check_bootstrap_options,
)
from varkit.gpu.intervals import INTERVAL_METHODS
from varkit.gpu.logs import LOG_ENGINES, bootstrap_log
from varkit.gpu.permutation import permutation_test
from varkit.gpu.replicates import SCHEMES
from varkit.gpu.splits import five_by_two, repeated_holdout, repeated_kfold
from varkit.gpu.statistics import NAMED_STATISTICS

__all__ = [
    "DEVICES",
    "INTERVAL_METHODS",
    "LOG_ENGINES",
    "NAMED_STATISTICS",
    "SCHEMES",
    "BootstrapOptions",
    "bootstrap",
    "bootstrap_log",
    "bootstrap_result",
    "check_bootstrap_options",
    "cupy_available",
    "five_by_two",
    "permutation_test",
    "repeated_holdout",
    "repeated_kfold",
    "resolve_device",
]
