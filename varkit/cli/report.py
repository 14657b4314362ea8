"""``varkit report``: one self-contained HTML page of results JSON files (optionally gated)."""

from __future__ import annotations

import click

from varkit.cli.options import write_text
from varkit.gates import check, load_rules, read_results
from varkit.results import Result, ResultSet, make_provenance


@click.command()
@click.argument("results", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True),
    default="report.html",
    show_default=True,
    help="Where to write the HTML page.",
)
@click.option(
    "--rules",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="TOML gates file: adds the gate decisions (no exit code 1 here; use varkit gate).",
)
@click.option("--title", default="varkit report", show_default=True, help="Page title.")
def report(results: tuple[str, ...], output: str, rules: str | None, title: str) -> None:
    """Write an HTML report of RESULTS (varkit results JSON files): provenance, gate
    decisions, a forest plot of every interval, per-module figures and a results table.

    The page is one file with inline CSS and SVG figures; it loads nothing from the network.
    """
    from varkit.report import render_report

    rule_list = load_rules(rules) if rules is not None else None
    items: list[Result] = []
    sources = []
    for path in results:
        loaded = read_results(path)
        items.extend(loaded.results)
        sources.append({"path": path, "results": len(loaded), **loaded.provenance})
    if len(results) == 1:
        provenance = dict(sources[0])
        provenance.pop("results")
        provenance.pop("path")
    else:
        # the device that ran the results, when they all ran on one (the page runs nothing)
        devices = {source.get("device") for source in sources}
        device = devices.pop() if len(devices) == 1 else None
        provenance = make_provenance(
            command="varkit report", inputs=results, device=device, sources=sources
        )
    result_set = ResultSet(tuple(items), provenance)
    gate_report = check(result_set, rule_list) if rule_list else None
    page = render_report(result_set, gate_report, rules=rule_list, title=title)
    write_text(output, page, option="--output")
    summary = f"{len(result_set)} results"
    if gate_report is not None:
        summary += f", {len(gate_report.decisions)} gate decisions"
    click.echo(f"wrote {output} ({summary})")
