"""Progress bars for long jobs: drawn on a terminal, never when piped or under ``--quiet``.

The commands of the CLI run inside :func:`show_progress`; a library call outside it draws
nothing, so importing varkit never writes to a user's terminal unasked. Inside, a job's
loop reports its steps to :func:`progress`, which draws a tqdm bar on standard error once
the job has run for two seconds (short jobs show none) and only when standard error is a
terminal. Bars are drawn by tqdm rather than by hand: it handles terminal width, rates,
time estimates and non-terminal streams.

Examples
--------
>>> with show_progress(), progress(3, "steps") as step:  # doctest output is not a terminal
...     for _ in range(3):
...         step(1)
>>> bars_shown()
False
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import TypeVar

__all__ = ["bars_shown", "progress", "show_progress", "tracked"]

T = TypeVar("T")

_SHOWN: ContextVar[bool] = ContextVar("varkit_progress_shown", default=False)
# a job shorter than this draws no bar at all
_DELAY_SECONDS = 2.0


@contextlib.contextmanager
def show_progress(enabled: bool = True) -> Iterator[None]:
    """Let the jobs run inside this block draw progress bars, when standard error is a
    terminal and ``enabled`` (``--quiet`` passes False).

    Examples
    --------
    >>> with show_progress(enabled=False):
    ...     bars_shown()
    False
    """
    token = _SHOWN.set(bool(enabled) and sys.stderr.isatty())
    try:
        yield
    finally:
        _SHOWN.reset(token)


def bars_shown() -> bool:
    """Whether a job run now would draw its progress bar (see :func:`show_progress`).

    Examples
    --------
    >>> bars_shown()
    False
    """
    return _SHOWN.get()


def _ignore(steps: int) -> None:
    return None


@contextlib.contextmanager
def progress(total: int | None, label: str) -> Iterator[Callable[[int], None]]:
    """A callback taking the number of steps just done, out of ``total`` (None: not known
    ahead, a counter is drawn); it draws a bar labelled ``label`` when
    :func:`bars_shown`, and does nothing otherwise.

    Examples
    --------
    >>> with progress(10, "replicates") as step:
    ...     step(10)
    """
    if not _SHOWN.get() or (total is not None and total < 2):
        yield _ignore
        return
    from tqdm import tqdm  # only where a bar is drawn

    with tqdm(
        total=total, desc=label, file=sys.stderr, delay=_DELAY_SECONDS, leave=False, unit="step"
    ) as bar:
        yield bar.update


def tracked(items: Iterable[T], total: int | None, label: str) -> Iterator[T]:
    """The ``items``, one step of a bar of ``total`` each (e.g. joblib's model fits as
    they finish: ``Parallel(return_as="generator")``).

    Examples
    --------
    >>> list(tracked(range(3), 3, "fits"))
    [0, 1, 2]
    """
    with progress(total, label) as step:
        for item in items:
            yield item
            step(1)
