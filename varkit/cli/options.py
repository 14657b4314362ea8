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
