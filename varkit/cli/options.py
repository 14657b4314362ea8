"""Options shared by every varkit command, and the one way results leave the CLI."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from varkit.results import ResultSet

F = TypeVar("F", bound=Callable[..., Any])

FORMATS = ("table", "json", "csv", "markdown")


def output_options(func: F) -> F:
    """``--format`` and ``--output``."""
    func = click.option(
        "--output",
        "-o",
        type=click.Path(dir_okay=False, writable=True),
        default=None,
        help="Write the results to this file instead of standard output.",
    )(func)
    func = click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default="table",
        show_default=True,
        help="Output format; json follows the varkit.results/1 schema.",
    )(func)
    return func


def confidence_option(func: F) -> F:
    return click.option(
        "--confidence",
        type=click.FloatRange(0, 1, min_open=True, max_open=True),
        default=0.95,
        show_default=True,
        help="Confidence (or credible) level of the intervals.",
    )(func)


def seed_option(func: F) -> F:
    return click.option(
        "--seed",
        type=click.IntRange(min=0),
        default=None,
        help="Random seed; the same seed gives the same results.  [default: random]",
    )(func)


def device_option(func: F) -> F:
    return click.option(
        "--device",
        type=click.Choice(("auto", "cpu", "gpu")),
        default="auto",
        show_default=True,
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


def emit(results: ResultSet, fmt: str, output: str | None) -> None:
    """Print the results, or write them to ``output``."""
    text = format_results(results, fmt)
    if output is None:
        sys.stdout.write(text)
    else:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)


ENGINES = ("pandas", "dask")


def engine_options(func: F) -> F:
    """``--engine``, ``--scheduler``, ``--row-id`` and ``--partition-rows`` (scale-out)."""
    func = click.option(
        "--partition-rows",
        type=click.IntRange(min=1),
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
    func = click.option(
        "--engine",
        type=click.Choice(ENGINES),
        default="pandas",
        show_default=True,
        help="pandas reads the log into memory; dask reads it in partitions and adds "
        "per-partition sums (Poisson bootstrap weights). Inputs may be globs of CSV or "
        "Parquet files.",
    )(func)
    return func
