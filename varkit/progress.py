"""Progress bars for long jobs: drawn on a terminal, never when piped or under ``--quiet``.

The commands of the CLI run inside :func:`show_progress`; a library call outside it draws
nothing, so importing varkit never writes to a user's terminal unasked. Inside, a job's
loop reports its steps to :func:`progress`, which draws a bar on standard error once the
job has run for two seconds (short jobs show none) and only when standard error is a
terminal. Bars are drawn by rich rather than by hand (it handles terminal width, rates and
time estimates), the one library the CLI also draws its terminal tables with.

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
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import Any, TypeVar

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


class _DelayedBar:
    """A rich progress bar that appears only once its job has run ``_DELAY_SECONDS``."""

    def __init__(self, total: int | None, label: str) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        # show_progress checked that standard error is a terminal
        console = Console(file=sys.stderr, force_terminal=True)
        self.display = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self.total, self.label = total, label
        self.start = time.monotonic()
        self.done = 0
        self.task: Any = None

    def step(self, steps: int) -> None:
        self.done += steps
        if self.task is None:
            if time.monotonic() - self.start < _DELAY_SECONDS:
                return
            self.display.start()
            self.task = self.display.add_task(self.label, total=self.total)
        self.display.update(self.task, completed=self.done)

    def close(self) -> None:
        if self.task is not None:
            self.display.stop()


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
    bar = _DelayedBar(total, label)
    try:
        yield bar.step
    finally:
        bar.close()


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
