"""Choosing the array backend: NumPy on the CPU, CuPy on a GPU.

The engine has one code path written against an array namespace ``xp``; this module
decides which namespace a call gets and moves arrays to and from it.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from varkit.errors import VarkitError

__all__ = [
    "Backend",
    "available_block_bytes",
    "available_memory",
    "check_memory",
    "cupy_available",
    "format_bytes",
    "resolve_device",
    "to_numpy",
]

#: Where resampling runs: ``auto`` (CuPy when a GPU is visible), ``cpu`` or ``gpu``.
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
    """True when CuPy imports and sees at least one GPU.

    ``device="auto"`` runs on the GPU exactly when this is true (:func:`resolve_device`).

    Examples
    --------
    >>> cupy_available() == (resolve_device("auto").device == "gpu")
    True
    """
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


# what a job may hold at once, as a share of the memory available when it starts: the
# rest is left for copies numpy makes on the way (sorting for percentiles, masks)
_MEMORY_SHARE = 0.5
_FALLBACK_MEMORY = 4 << 30


def available_memory() -> int:
    """Bytes of memory available to a new allocation on this machine (an estimate).

    ``MemAvailable`` of ``/proc/meminfo`` on Linux (free memory plus reclaimable caches),
    else the free physical pages, else 4 GiB.
    """
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, OSError, ValueError):
        return _FALLBACK_MEMORY


def available_block_bytes() -> float:
    """Bytes one block of batched work may take: a quarter of a job's share of memory."""
    return _MEMORY_SHARE * available_memory() / 4


def format_bytes(n_bytes: float) -> str:
    """``n_bytes`` in binary units: ``'7.3 TiB'``, ``'512 MiB'``.

    Examples
    --------
    >>> format_bytes(3 * 2**30), format_bytes(1.5 * 2**40), format_bytes(100)
    ('3 GiB', '1.5 TiB', '100 B')
    """
    for unit, power in (("PiB", 50), ("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n_bytes >= 2**power:
            return f"{n_bytes / 2**power:.3g} {unit}"
    return f"{int(n_bytes)} B"


def check_memory(needed: float, what: str, *, hint: str = "") -> None:
    """Refuse, before allocating, a job that needs more memory than this machine has.

    Parameters
    ----------
    needed : float
        Bytes the job holds at once (an estimate; see the caller).
    what : str
        The job, for the message: ``"n_resamples=1000000000000 replicates"``.
    hint : str
        What to do instead, appended to the message.

    Raises
    ------
    VarkitError
        One sentence: how much the job would need and how much is available.
    """
    budget = _MEMORY_SHARE * available_memory()
    if needed > budget:
        message = (
            f"{what} would need about {format_bytes(needed)} of memory, more than the "
            f"{format_bytes(budget)} this machine can give it"
        )
        raise VarkitError(message + (f"; {hint}" if hint else "") + ".")
