"""Where varkit's compiled numba kernels are cached: a per-user folder, never the package.

numba's ``cache=True`` writes its index and object files into ``__pycache__`` next to the
source when it can, that is into ``site-packages/varkit`` after a regular install. pip
does not know those files, so when it later replaces that install by an editable one
(the README's two commands, run one after the other) they stay behind, and the leftover
``site-packages/varkit`` folder is found as a second, partial ``varkit`` package: the
test run then fails to collect. Kernels therefore cache in a folder of the user's, and
when that folder cannot be written they are compiled afresh in each process rather than
cached next to the source.

The folder is, in this order: ``NUMBA_CACHE_DIR`` (from the environment, or
``numba.config.CACHE_DIR`` set in code before varkit is imported), else
``$XDG_CACHE_HOME/varkit/numba``, else ``~/.cache/varkit/numba``. numba keys each entry on
the source file's folder and contents, so several checkouts and versions share it safely.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

__all__ = ["cached_njit", "kernel_cache_dir"]


def _candidate(environ: Mapping[str, str]) -> Path | None:
    import numba

    chosen = environ.get("NUMBA_CACHE_DIR") or getattr(numba.config, "CACHE_DIR", "")
    if chosen:
        return Path(chosen).expanduser()
    xdg = environ.get("XDG_CACHE_HOME", "")
    # The XDG base-directory spec says a relative path is to be ignored.
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "varkit" / "numba"
    try:
        return Path.home() / ".cache" / "varkit" / "numba"
    except RuntimeError:  # no HOME and no password-database entry
        return None


def kernel_cache_dir(environ: Mapping[str, str] | None = None) -> Path | None:
    """The folder compiled kernels are cached in, created if needed; None when not writable.

    Parameters
    ----------
    environ : mapping, optional
        The environment to read ``NUMBA_CACHE_DIR`` and ``XDG_CACHE_HOME`` from;
        ``os.environ`` by default.

    Returns
    -------
    pathlib.Path or None
        The folder (see the module docstring for the order in which it is chosen), or
        None when it cannot be created or written: kernels are then not cached.

    Examples
    --------
    >>> import tempfile
    >>> home = tempfile.mkdtemp()
    >>> kernel_cache_dir({"NUMBA_CACHE_DIR": home}) == Path(home)
    True
    """
    folder = _candidate(os.environ if environ is None else environ)
    if folder is None:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # numba's own test of a usable folder: create and remove a file in it.
        tempfile.TemporaryFile(dir=folder).close()
    except OSError:
        return None
    return folder


@contextlib.contextmanager
def _numba_cache_dir(folder: Path) -> Iterator[None]:
    # numba picks a function's cache folder once, when it is decorated: set the folder
    # for that moment only, so the user's own numba functions keep their setting.
    # (numba.config sets its names at run time, hence getattr/setattr for mypy)
    import numba

    before = getattr(numba.config, "CACHE_DIR", "")
    setattr(numba.config, "CACHE_DIR", str(folder))  # noqa: B010
    try:
        yield
    finally:
        setattr(numba.config, "CACHE_DIR", before)  # noqa: B010


def cached_njit(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``numba.njit(cache=True, **options)`` caching in :func:`kernel_cache_dir`.

    Use it for every cached kernel in varkit instead of ``njit(cache=True)``. When the
    folder cannot be written the kernel is compiled without a cache (never cached next to
    its source, see the module docstring), and so is a function without a source file
    (typed at a prompt, or in a doctest like the one below).

    Parameters
    ----------
    **options
        Passed to ``numba.njit`` (``parallel``, ``fastmath`` ...); not ``cache``.

    Returns
    -------
    callable
        A decorator that returns the numba dispatcher.

    Examples
    --------
    >>> @cached_njit()
    ... def twice(x):
    ...     return 2 * x
    >>> twice(21)
    42
    """
    from numba import njit

    if "cache" in options:
        raise TypeError("cached_njit decides `cache` itself; do not pass it.")

    def decorate(func: Callable[..., Any]) -> Any:
        folder = kernel_cache_dir()
        if folder is not None:
            with _numba_cache_dir(folder):
                try:
                    return njit(cache=True, **options)(func)
                except RuntimeError:  # numba: "no locator available" (no source file)
                    pass
        return njit(cache=False, **options)(func)

    return decorate
