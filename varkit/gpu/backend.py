"""Choosing the array backend: NumPy on the CPU, CuPy on a GPU.

The engine has one code path written against an array namespace ``xp``; this module
decides which namespace a call gets and moves arrays to and from it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from varkit.errors import VarkitError

__all__ = ["Backend", "cupy_available", "resolve_device", "to_numpy"]

DEVICES = ("auto", "cpu", "gpu")


@dataclass(frozen=True)
class Backend:
    """An array namespace and the name of the device it runs on."""

    xp: Any
    device: str  # "cpu" or "gpu"

    @property
    def is_gpu(self) -> bool:
        return self.device == "gpu"

    def asarray(self, values: Any, dtype: Any = None) -> Any:
        return self.xp.asarray(values, dtype=dtype)


@functools.lru_cache(maxsize=1)
def cupy_available() -> bool:
    """True when CuPy imports and sees at least one GPU."""
    try:
        import cupy
    except Exception:  # ImportError, or a broken CUDA install raising at import
        return False
    try:
        return int(cupy.cuda.runtime.getDeviceCount()) > 0
    except Exception:  # no driver, no device
        return False


def resolve_device(device: str) -> Backend:
    """The backend for ``device`` in {'auto', 'cpu', 'gpu'}.

    ``auto`` picks CuPy only when it imports and a GPU is visible; ``gpu`` without one is
    an error.

    Examples
    --------
    >>> resolve_device("cpu").device
    'cpu'
    """
    if device not in DEVICES:
        raise VarkitError(f"`device` must be one of auto, cpu, gpu; got {device!r}.")
    if device == "cpu" or (device == "auto" and not cupy_available()):
        return Backend(np, "cpu")
    if not cupy_available():
        raise VarkitError(
            "`device='gpu'` needs CuPy and a visible GPU; install varkit[gpu] on a machine "
            "with an NVIDIA GPU, or use device='cpu'."
        )
    import cupy

    return Backend(cupy, "gpu")


def to_numpy(values: Any) -> np.ndarray:
    """A NumPy copy of a NumPy or CuPy array."""
    if hasattr(values, "get") and not isinstance(values, np.ndarray):
        return np.asarray(values.get())
    return np.asarray(values)
