"""Options shared by every varkit command, and the one way results leave the CLI."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from varkit.checks import CONFIDENCE_MAX, CONFIDENCE_MIN
from varkit.errors import VarkitError, VarkitWarning
from varkit.gates import GateReport
from varkit.progress import show_progress
from varkit.results import ResultSet

F = TypeVar("F", bound=Callable[..., Any])

SEED_MAX = 2**63 - 1  # the counter-based generator keys on 63 bits

FORMATS = ("table", "json", "csv", "markdown")


def quiet_option(func: F) -> F:
    """``--quiet``: no progress bars (:mod:`varkit.progress`)."""
    return click.option(
        "--quiet",
        "-q",
        is_flag=True,
        default=False,
        help="No progress bars (drawn only on a terminal, for jobs over 2 s).",
    )(func)


def output_options(func: F) -> F:
    """``--format`` and ``--output``."""
    func = click.option(
        "--output",
        "-o",
        type=click.Path(dir_okay=False, writable=True),
        default=None,
        help="Write the results to this file instead of standard output.",
    )(func)
    func = choice_option(
        "--format",
        "fmt",
        choices=FORMATS,
        default="table",
        help="Output format; json follows the varkit.results/1 schema.",
    )(func)
    return func


class FiniteFloatRange(click.FloatRange):
    """A ``click.FloatRange`` that also refuses NaN and infinity (click admits both)."""

    name = "float"

    def _describe_range(self) -> str:
        # click describes a range with neither bound as "x<=None" in --help
        if self.min is None and self.max is None:
            return ""
        return super()._describe_range()

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


#: Any finite float (``type=FINITE`` instead of ``type=float``).
FINITE = FiniteFloatRange()


def choice_option(
    *decls: str, choices: Sequence[str], default: str | None, help: str, **attrs: Any
) -> Callable[[F], F]:
    """An option taking one of ``choices``; ``--help`` lists them and shows the default."""
    return click.option(
        *decls,
        type=click.Choice(tuple(choices)),
        default=default,
        show_default=default is not None,
        help=help,
        **attrs,
    )


def count_option(
    *decls: str,
    low: int = 0,
    high: int | None = None,
    default: int | None,
    help: str | None = None,
    **attrs: Any,
) -> Callable[[F], F]:
    """An option taking a whole number in [low, high]; ``--help`` shows the range and default."""
    return click.option(
        *decls,
        type=click.IntRange(low, high),
        default=default,
        show_default=default is not None,
        help=help,
        **attrs,
    )


def float_option(
    *decls: str,
    low: float | None = None,
    high: float | None = None,
    default: float | Sequence[float] | None,
    help: str,
    **attrs: Any,
) -> Callable[[F], F]:
    """An option taking a finite number in [low, high]; ``--help`` shows the default."""
    return click.option(
        *decls,
        type=FiniteFloatRange(low, high),
        default=default,
        show_default=default is not None,
        help=help,
        **attrs,
    )


def scheme_option(*, help: str) -> Callable[[F], F]:
    """``--scheme multinomial|poisson``: pass ``if_typed("scheme", scheme)`` on, since
    ``--engine dask`` implies poisson (the front door chooses an untyped scheme)."""
    return choice_option(
        "--scheme", choices=("multinomial", "poisson"), default="multinomial", help=help
    )


def if_typed(name: str, value: Any) -> Any:
    """``value`` of option ``name`` if the user typed it, else None.

    For an option whose default depends on others (``--scheme``: poisson with
    ``--engine dask``): the front door chooses it, and checks only a value typed.
    """
    ctx = click.get_current_context()
    return None if ctx.get_parameter_source(name) is click.core.ParameterSource.DEFAULT else value


def confidence_option(func: F) -> F:
    return float_option(
        "--confidence",
        low=CONFIDENCE_MIN,
        high=CONFIDENCE_MAX,
        default=0.95,
        help="Confidence (or credible) level of the intervals.",
    )(func)


def seed_option(func: F) -> F:
    return count_option(
        "--seed",
        high=SEED_MAX,
        default=None,
        help="Random seed (0 to 2^63-1); the same seed gives the same results.  "
        "[default: drawn, and written to the provenance]",
    )(func)


def device_option(func: F) -> F:
    return choice_option(
        "--device",
        choices=("auto", "cpu", "gpu"),
        default="auto",
        help="Where resampling runs: gpu needs CuPy and a visible GPU.",
    )(func)


def command_line(ctx: click.Context) -> str:
    """The command as typed, reconstructed from click's parsed parameters (provenance)."""
    parts = [ctx.command_path]
    for name, value in ctx.params.items():
        if value is None or value is False:
            continue
        param = next((p for p in ctx.command.params if p.name == name), None)
        if param is None or isinstance(param, click.Argument):
            parts.append(str(value))
            continue
        flag = max(param.opts, key=len)
        if isinstance(param, click.Option) and param.multiple:
            # a repeatable option is typed once per value (`--delta=0 --delta=1e-05`)
            parts.extend(f"{flag}={item}" for item in value)
            continue
        parts.append(flag if value is True else f"{flag}={value}")
    return " ".join(parts)


def format_results(results: ResultSet, fmt: str) -> str:
    """Render a ResultSet as table, json, csv or markdown text."""
    if fmt == "json":
        return results.to_json() + "\n"
    if fmt == "markdown":
        return results.to_markdown()
    if fmt == "csv":
        return str(results.to_frame().to_csv(index=False))
    return "\n".join(str(r) for r in results) + "\n"


def with_command(results: ResultSet) -> ResultSet:
    """The results with the running command line in their provenance (``command``).

    A front door writes the function it is (``function``); the CLI adds the command that
    called it, so that a result read later says how to make it again.
    """
    ctx = click.get_current_context(silent=True)
    if ctx is None or results.provenance.get("command"):
        return results
    return ResultSet(results.results, {**results.provenance, "command": command_line(ctx)})


_STATUS_STYLES = {"PASS": "bold green", "FAIL": "bold red", "INCONCLUSIVE": "bold yellow"}


def echo_decisions(report: GateReport) -> None:
    """Print a gate report: a rich table on a terminal, the plain text table when piped
    (what scripts, logs and the README's examples read)."""
    if not sys.stdout.isatty():
        click.echo(report.to_table(), nl=False)
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(*report.HEAD, show_lines=False, header_style="bold")
    for row in report.rows():
        # cells as Text: an interval such as [0.1, 0.2] is not rich markup
        status = Text(row[0], style=_STATUS_STYLES.get(row[0], ""))
        table.add_row(status, *(Text(cell) for cell in row[1:]))
    console = Console(highlight=False)
    console.print(table)
    console.print(report.summary())


def emit(results: ResultSet, fmt: str, output: str | None) -> None:
    """Print the results, or write them to ``output``.

    The warnings printed while the command ran are recorded in every result's
    ``details["warnings"]`` first (those a result already holds are not repeated).
    """
    results = with_warnings(with_command(results))
    text = format_results(results, fmt)
    if output is None:
        sys.stdout.write(text)
    else:
        write_text(output, text, option="--output")


def write_text(path: str | os.PathLike[str], text: str, *, option: str, mode: str = "w") -> None:
    """Write ``text`` to ``path``, creating missing parent folders.

    A path that cannot be written (under a regular file, a folder, a full disk, no
    permission) raises :class:`~varkit.errors.VarkitError` naming ``option``.
    """
    target = Path(path)
    if str(path) == "":
        raise VarkitError(f"{option} is empty; give a file name.")
    blocking = next((p for p in target.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise VarkitError(f"{option} '{path}' cannot be written: '{blocking}' is a file.")
    try:
        if target.is_dir():
            raise IsADirectoryError(21, "Is a directory")
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, mode, encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise VarkitError(f"{option} '{path}' cannot be written: {reason}.") from None


# -- warnings: printed as `warning:` lines, recorded in the results ------------------
_CAUGHT: list[list[str]] = []


@contextlib.contextmanager
def capture_warnings() -> Iterator[list[str]]:
    """Collect every warning raised while the block runs, once each, as one-line texts.

    varkit's own warnings (:class:`~varkit.errors.VarkitWarning`) keep their message; any
    other (numpy, pandas, scikit-learn) is prefixed by its category. :func:`emit` records
    them in the results' ``details``, and the command's runner prints them as
    ``warning:`` lines once the command has run (:func:`print_warnings`), so that a failed
    command's stderr is its one ``error:`` line.
    """
    caught: list[str] = []

    def show(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
        text = " ".join(str(message).split())
        if not issubclass(category, VarkitWarning):
            text = f"{category.__name__}: {text}"
        if text not in caught:
            caught.append(text)

    with warnings.catch_warnings():
        # deprecations in the libraries varkit uses are for its developers, not its users;
        # varkit's own notes always show, once each (show() deduplicates)
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        warnings.simplefilter("always", VarkitWarning)
        warnings.showwarning = show
        _CAUGHT.append(caught)
        try:
            yield caught
        finally:
            _CAUGHT.remove(caught)


def print_warnings(caught: list[str]) -> None:
    """Print each collected warning as one ``warning: ...`` line on stderr."""
    for text in caught:
        click.echo(f"warning: {text}", err=True)


def with_warnings(results: ResultSet) -> ResultSet:
    """``results`` with the warnings caught so far added to each result's ``details``."""
    caught = _CAUGHT[-1] if _CAUGHT else []
    if not caught:
        return results
    updated = []
    for result in results:
        listed = list(result.details.get("warnings", []))
        extra = [w for w in caught if w not in listed and w.split(": ", 1)[-1] not in listed]
        if extra:
            details = {**result.details, "warnings": listed + extra}
            result = dataclasses.replace(result, details=details)
        updated.append(result)
    return ResultSet(tuple(updated), provenance=results.provenance)


ENGINES = ("memory", "pandas", "dask")  # "pandas" is the earlier name of "memory"


def _engine_name(ctx: click.Context, param: click.Parameter, value: str) -> str:
    return "memory" if value == "pandas" else value


def engine_options(func: F) -> F:
    """``--engine``, ``--scheduler``, ``--row-id`` and ``--partition-rows`` (scale-out)."""
    func = count_option(
        "--partition-rows",
        low=1,
        default=None,
        help="dask: rows per partition (Parquet default: one per row group; CSV: 1,000,000).",
    )(func)
    func = click.option(
        "--row-id",
        default=None,
        help="Column of stable non-negative integer row ids keying the Poisson weights.  "
        "[default: file index and row offset in the sorted glob]",
    )(func)
    func = click.option(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="dask: address of a running distributed scheduler (tcp://host:8786), or "
        "local:N to start N worker processes on this machine for the run (local: one per "
        "CPU).  [default: dask's local threads]",
    )(func)
    func = choice_option(
        "--engine",
        choices=ENGINES,
        default="memory",
        callback=_engine_name,
        help="memory (or pandas) reads the log into memory; dask reads it in partitions and adds "
        "per-partition sums (Poisson bootstrap weights). Inputs may be globs of CSV or "
        "Parquet files.",
    )(func)
    return func


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """The options every computing command shares, parsed once (see :func:`run_options`).

    ``front_door()`` gives them under the front doors' keyword names; ``emit(results)``
    prints or writes the results as ``--format``/``--output`` ask.
    """

    fmt: str = "table"
    output: str | None = None
    confidence: float | None = None
    seed: int | None = None
    device: str | None = None
    engine: str | None = None
    scheduler: str | None = None
    row_id: str | None = None
    partition_rows: int | None = None
    quiet: bool = False

    def engine_kwargs(self) -> dict[str, Any]:
        """``engine``, ``scheduler``, ``row_id``, ``rows_per_partition`` for a front door."""
        return {
            "engine": self.engine,
            "scheduler": self.scheduler,
            "row_id": self.row_id,
            "rows_per_partition": self.partition_rows,
        }

    def front_door(self, *, device: bool = True, engine: bool = True) -> dict[str, Any]:
        """The parsed options under a front door's keyword names, those not given left out.

        An option the command does not declare, or one left at None (``--seed`` not
        given: drawn by the front door), is not passed, so the front door's default holds.
        """
        kwargs: dict[str, Any] = {"confidence": self.confidence, "random_state": self.seed}
        if device:
            kwargs["device"] = self.device
        if engine:
            kwargs.update(self.engine_kwargs())
        return {name: value for name, value in kwargs.items() if value is not None}

    def emit(self, results: ResultSet) -> None:
        """:func:`emit` with this command's ``--format`` and ``--output``."""
        emit(results, self.fmt, self.output)


_RUN_FIELDS = tuple(field.name for field in dataclasses.fields(RunOptions))


def run_options(
    *, confidence: bool = True, seed: bool = True, device: bool = True, engine: bool = False
) -> Callable[[F], F]:
    """Add the shared options and hand them to the command as one ``run: RunOptions``.

    Output (``--format``, ``--output``) and ``--quiet`` always; ``--confidence``,
    ``--seed``, ``--device`` and the scale-out options (:func:`engine_options`) as asked.
    The command's own parameters stay its own; it receives the shared ones parsed, in
    ``run``, and runs inside :func:`varkit.progress.show_progress` unless ``--quiet``.
    """

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def command(*args: Any, **kwargs: Any) -> Any:
            shared = {name: kwargs.pop(name) for name in _RUN_FIELDS if name in kwargs}
            run = RunOptions(**shared)
            with show_progress(not run.quiet):  # bars on a terminal only
                return func(*args, run=run, **kwargs)

        chosen = [output_options, quiet_option]
        chosen += [device_option] if device else []
        chosen += [seed_option] if seed else []
        chosen += [confidence_option] if confidence else []
        chosen += [engine_options] if engine else []
        wrapped: Any = command
        for option in chosen:
            wrapped = option(wrapped)
        return wrapped  # type: ignore[no-any-return]

    return decorate
