"""The shared resampling engine: bootstrap, permutation tests and repeated splits.

Runs on NumPy (with compiled numba kernels) or on CuPy when a GPU is present; random
numbers come from a counter-based generator keyed on (seed, unit, replicate).
"""

from varkit.gpu.backend import cupy_available, resolve_device
from varkit.gpu.bootstrap import bootstrap
from varkit.gpu.permutation import permutation_test
from varkit.gpu.splits import five_by_two, repeated_holdout, repeated_kfold

__all__ = [
    "bootstrap",
    "cupy_available",
    "five_by_two",
    "permutation_test",
    "repeated_holdout",
    "repeated_kfold",
    "resolve_device",
]
