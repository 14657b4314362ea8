"""``varkit gate``: hold results JSON files against a TOML rules file (exit 0/1/2)."""

from __future__ import annotations

import os

import click

from varkit.cli.options import echo_decisions, write_text
from varkit.gates import check, load_rules, read_results
from varkit.results import Result


@click.command()
@click.argument("results", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--rules",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="TOML file of [[rule]] tables (see examples/gates.toml).",
)
@click.option(
    "--junit", type=click.Path(dir_okay=False), default=None, help="Write JUnit XML here."
)
@click.option(
    "--markdown",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write a Markdown summary here (also appended to $GITHUB_STEP_SUMMARY when set).",
)
@click.option(
    "--strict",
    is_flag=True,
    default=False,
    show_default=True,
    help="Treat inconclusive decisions as failures (exit 1).",
)
@click.pass_context
def gate(
    ctx: click.Context,
    results: tuple[str, ...],
    rules: str,
    junit: str | None,
    markdown: str | None,
    strict: bool,
) -> None:
    """Check RESULTS (varkit results JSON files) against the gates in --rules.

    Exit 0 when every gate passes (inconclusive ones too, unless --strict), 1 when one
    fails, 2 on a usage or input error.
    """
    rule_list = load_rules(rules)
    items: list[Result] = []
    for path in results:
        items.extend(read_results(path))
    report = check(items, rule_list)
    echo_decisions(report)
    if junit is not None:
        write_text(junit, report.to_junit_xml(), option="--junit")
    text = report.to_markdown()
    if markdown is not None:
        write_text(markdown, text, option="--markdown")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        write_text(summary, text + "\n", option="$GITHUB_STEP_SUMMARY", mode="a")
    if os.environ.get("GITHUB_ACTIONS") == "true":
        for line in report.github_annotations():
            click.echo(line)
    ctx.exit(report.exit_code(strict))
