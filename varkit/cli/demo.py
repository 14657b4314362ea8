"""``varkit demo``: run :func:`varkit.demo.demo_results` and print a short report."""

from __future__ import annotations

import os
from pathlib import Path

import click
import numpy as np

from varkit.cli.options import device_option, echo_decisions, write_text
from varkit.demo import demo_results, gate_demo, write_demo
from varkit.errors import VarkitError
from varkit.gates import is_checkpoint

__all__ = ["demo"]


def _check_folder(output: str) -> None:
    """Fail before the work when --output cannot be a folder (a file, a device, unwritable)."""
    folder = Path(output)
    if str(output) == "":
        raise VarkitError("--output is empty; give a folder name.")
    if folder.exists() and not folder.is_dir():
        raise VarkitError(f"--output '{output}' exists and is not a folder.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise VarkitError(f"--output '{output}' cannot be created: {reason}.") from None
    if not os.access(folder, os.W_OK):
        raise VarkitError(f"--output '{output}' is not writable.")


@click.command()
@click.option(
    "--output",
    "-o",
    type=click.Path(file_okay=False),
    default="varkit-demo",
    show_default=True,
    help="Folder for results.json, summary.md and report.html.",
)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed.")
@device_option
def demo(output: str, seed: int, device: str) -> None:
    """Run every module on the bundled example logs and print a short report.

    The same --seed gives the same results; the seed is recorded in results.json.
    """
    _check_folder(output)
    result_set = demo_results(seed=seed, device=device)
    write_demo(result_set, output, lambda path, text: write_text(path, text, option="--output"))
    running = [r for r in result_set if is_checkpoint(r)]
    for result in result_set:
        if not any(result is r for r in running):
            click.echo(str(result))
    if running:
        click.echo(
            f"(and {len(running)} running crash-rate estimates, drawn as the CAV convergence "
            "curve in report.html)"
        )
    click.echo("\nGates (bundled rules; a gate decides on the interval):")
    echo_decisions(gate_demo(result_set))
    click.echo()
    seconds = sum(np.asarray(list(result_set.provenance["seconds_per_section"].values())))
    click.echo(f"{len(result_set)} results in {seconds:.1f} s. Written to {output}/:")
    for name, what in (
        ("results.json", "every result (varkit.results/1 JSON)"),
        ("summary.md", "results and gate decisions as Markdown"),
        ("report.html", "report with plots and gate decisions; open it in a browser"),
    ):
        click.echo(f"  {os.path.join(output, name)}  {what}")
