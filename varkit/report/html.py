"""One self-contained HTML page of a result set: provenance, gate decisions, a forest plot
of every interval, per-module figures and a table of all results.

The page has inline CSS and its figures as SVG ``data:`` URIs: no script, no font, no
stylesheet or image is fetched, so it can be attached to a CI run and opened offline. All
text from the results (labels, methods, details, provenance) is HTML-escaped.

Examples
--------
>>> from varkit.results import Result, ResultSet
>>> page = render_report(ResultSet([Result("accuracy", 0.9, 0.85, 0.94, 0.95,
...                                        group={"model": "<b>a</b>"})]))
>>> page.startswith("<!DOCTYPE html>"), "<b>a</b>" in page, "&lt;b&gt;a&lt;/b&gt;" in page
(True, False, True)
"""

from __future__ import annotations

import html
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from varkit.errors import VarkitTypeError
from varkit.gates import GateReport, Rule, format_number, interval_text, result_label
from varkit.report import figures
from varkit.results import Result, ResultSet

__all__ = ["render_report", "write_report"]

_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
  color: #24292f; margin: 0; background: #f6f8fa; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 32px 48px; background: #fff; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 36px 0 8px; padding-bottom: 4px; border-bottom: 1px solid #d0d7de; }
h3 { font-size: 15px; margin: 20px 0 6px; }
p.lead { color: #57606a; margin: 0 0 16px; }
p.note { color: #57606a; font-size: 13px; margin: 4px 0; }
table { border-collapse: collapse; width: 100%; font-size: 13px; margin: 6px 0 12px; }
th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; }
tbody tr:nth-child(even) { background: #fbfcfd; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.label { word-break: break-word; }
table.prov { width: auto; }
table.prov th { white-space: nowrap; }
code, pre { font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre { white-space: pre-wrap; word-break: break-all; margin: 4px 0; max-height: 240px;
  overflow: auto; background: #f6f8fa; padding: 6px; }
details summary { cursor: pointer; color: #0969da; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px;
  font-weight: 600; color: #fff; white-space: nowrap; }
.pass { background: #1a7f37; } .fail { background: #cf222e; }
.inconclusive { background: #bf8700; }
.summary { display: flex; gap: 12px; flex-wrap: wrap; margin: 12px 0; }
.summary div { border: 1px solid #d0d7de; border-radius: 6px; padding: 8px 14px; }
.summary b { font-size: 20px; display: block; }
.figures { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
figure { margin: 0; border: 1px solid #d0d7de; border-radius: 6px; padding: 8px;
  background: #fff; max-width: 100%; box-sizing: border-box; }
figure img { display: block; max-width: 100%; height: auto; }
figcaption { font-size: 12px; color: #57606a; margin-top: 4px; max-width: 680px; }
.scroll { overflow-x: auto; }
table.gates td:nth-child(2) { min-width: 150px; }
table.gates td:nth-child(3) { min-width: 230px; }
table.gates td:nth-child(6) { min-width: 110px; }
summary { white-space: nowrap; }
td pre { max-width: 460px; }
nav a { margin-right: 14px; color: #0969da; text-decoration: none; }
"""

_MODULE_TITLES = {
    "privacy": "Privacy: posterior of epsilon",
    "cav": "CAV: convergence of the crash-rate estimate",
    "fairness": "Fairness: per-ad shuffle distances",
}


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fmt(x: float | None) -> str:
    return format_number(x, missing="")


def _interval(r: Result) -> str:
    return interval_text(r.ci_low, r.ci_high, r.confidence, missing="")


def _statuses(results: Sequence[Result], gate_report: GateReport | None) -> list[str | None]:
    """Each result's gate status (the worst when several rules decided on it)."""
    if gate_report is None:
        return [None] * len(results)
    order = {"pass": 0, "inconclusive": 1, "fail": 2}
    worst: dict[Any, str] = {}

    def note(key: Any, status: str) -> None:
        if key not in worst or order[status] > order[worst[key]]:
            worst[key] = status

    for d in gate_report.decisions:
        if d.decided_on:  # a relative rule that decided on a paired result
            note(d.decided_on, d.status)
        elif not d.basis:  # (a basis without a paired result: two intervals combined)
            note((d.label, _fmt(d.estimate), _fmt(d.ci_low), _fmt(d.ci_high)), d.status)
    statuses = []
    for r in results:
        found = [
            worst.get((result_label(r), _fmt(r.estimate), _fmt(r.ci_low), _fmt(r.ci_high))),
            worst.get(result_label(r)),
        ]
        known = [s for s in found if s is not None]
        statuses.append(max(known, key=order.__getitem__) if known else None)
    return statuses


def _img(uri: str, alt: str) -> str:
    return f'<img src="{_e(uri)}" alt="{_e(alt)}">'


def _input(item: Any) -> str:
    if not isinstance(item, dict):
        return _e(item)
    digest = str(item.get("sha256", ""))
    return f"<code>{_e(item.get('path', ''))}</code> sha256 <code>{_e(digest[:16])}…</code>"


def _provenance(provenance: dict[str, Any]) -> str:
    if not provenance:
        return '<p class="note">No provenance recorded.</p>'
    rows = []
    for key, value in provenance.items():
        if key == "inputs" and isinstance(value, list):
            cell = "<br>".join(_input(item) for item in value) or "none"
        elif isinstance(value, (dict, list)):
            cell = f"<code>{_e(json.dumps(value, default=str))}</code>"
        else:
            cell = _e("" if value is None else value)
        rows.append(f"<tr><th>{_e(key)}</th><td>{cell}</td></tr>")
    return f'<table class="prov">{"".join(rows)}</table>'


def _gates_section(gate_report: GateReport) -> str:
    head = ["status", "rule", "result", "estimate", "interval or p", "bound", "reason"]
    rows = []
    for d in gate_report.decisions:
        shown = d.interval_text if d.pvalue is None else f"p = {_fmt(d.pvalue)}"
        reason = _e(d.reason)  # it names the paired result or the combination that decided
        rows.append(
            "<tr>"
            f'<td><span class="badge {_e(d.status)}">{_e(d.status)}</span></td>'
            f'<td class="label">{_e(d.rule)}</td><td class="label"><code>{_e(d.label)}</code></td>'
            f'<td class="num">{_e(_fmt(d.estimate))}</td><td class="num">{_e(shown)}</td>'
            f"<td><code>{_e(d.bound)}</code></td><td>{reason}</td></tr>"
        )
    n_fail, n_inc = len(gate_report.failed), len(gate_report.inconclusive)
    n_pass = len(gate_report.decisions) - n_fail - n_inc
    return (
        '<section id="gates"><h2>Gate decisions</h2>'
        '<p class="note">A gate decides on the interval: <b>credible</b> rules fail only when the '
        "whole interval is on the wrong side of the bound (a straddling interval is "
        "<i>inconclusive</i> and passes with a warning); <b>assured</b> rules pass only when "
        "the whole interval is on the right side.</p>"
        f'<div class="summary"><div><b>{n_pass}</b>passed</div><div><b>{n_fail}</b>failed</div>'
        f"<div><b>{n_inc}</b>inconclusive</div></div>"
        f'<table class="gates"><thead><tr>{"".join(f"<th>{h}</th>" for h in head)}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )


def _rule_bounds(
    rules: Sequence[Rule], results: Sequence[Result], indices: Sequence[int]
) -> list[tuple[float, list[int], str]]:
    """Absolute interval bounds of the rules, with the rows (positions in ``indices``)
    each applies to."""
    bounds = []
    for rule in rules:
        if rule.relative or rule.max_pvalue is not None or rule.field is not None:
            continue
        rows = [pos for pos, i in enumerate(indices) if rule.matches(results[i])]
        if not rows:
            continue
        for value in rule.limits:
            if math.isfinite(value):
                bounds.append((value, rows, rule.name))
    return bounds


def _forest_section(
    results: Sequence[Result], statuses: Sequence[str | None], rules: Sequence[Rule]
) -> str:
    by_metric: dict[str, list[int]] = {}
    for i, r in enumerate(results):
        by_metric.setdefault(r.metric, []).append(i)
    curves = {id(r) for curve in figures.cav_curves(results).values() for r in curve}
    parts: list[str] = []
    without_interval: list[str] = []
    not_drawn: list[str] = []
    for metric, indices in by_metric.items():
        indices = [i for i in indices if id(results[i]) not in curves]
        with_ci = [i for i in indices if None not in (results[i].ci_low, results[i].ci_high)]
        if len(indices) > len(with_ci):
            without_interval.append(f"{metric} ({len(indices) - len(with_ci)})")
        if with_ci and len(parts) >= figures.MAX_PANELS:
            not_drawn.append(metric)
            continue
        shown = [results[i] for i in with_ci]
        fig = figures.forest_figure(
            metric,
            shown,
            statuses=[statuses[i] for i in with_ci],
            bounds=_rule_bounds(rules, results, with_ci),
        )
        if fig is None:
            continue
        caption = f"{len(shown)} interval(s)."
        if len(shown) > figures.MAX_ROWS:
            caption = (
                f"The first {figures.MAX_ROWS} of {len(shown)} intervals are drawn; "
                "the table below lists all of them."
            )
        image = _img(figures.to_data_uri(fig), f"forest plot of {metric}")
        parts.append(
            f'<figure class="forest" data-metric="{_e(metric)}">{image}'
            f"<figcaption>{_e(caption)}</figcaption></figure>"
        )
    notes = [
        "Dot: estimate; bar: interval; an arrow marks an infinite end. Colour is the gate "
        "decision on that result (green pass, amber inconclusive, red fail; black: no rule "
        "decided on it); dashed purple marks are the rules' bounds, on the rows they apply to."
    ]
    if without_interval:
        notes.append(
            "Not drawn, having no interval (tests with a p-value; see the table): "
            + ", ".join(without_interval)
            + "."
        )
    if not_drawn:
        notes.append(
            f"Only the first {figures.MAX_PANELS} metrics get a panel; not drawn: "
            + ", ".join(not_drawn)
            + " (see the table)."
        )
    if curves:
        notes.append(
            f"{len(curves)} running crash-rate estimates are drawn in the CAV convergence "
            "figure, not here."
        )
    note_html = "".join(f'<p class="note">{_e(n)}</p>' for n in notes)
    body = "".join(parts) or '<p class="note">No result has an interval.</p>'
    return (
        f'<section id="forest"><h2>Intervals</h2>{note_html}'
        f'<div class="figures">{body}</div></section>'
    )


def _module_sections(results: Sequence[Result]) -> str:
    sections = []
    privacy = figures.privacy_figures(results)
    if privacy:
        figs = "".join(
            f'<figure class="module-figure" data-module="privacy">'
            f"{_img(figures.to_data_uri(fig), 'posterior density of epsilon')}"
            f"<figcaption>{_e(result_label(r))}: posterior density of epsilon (continuous part), "
            f"its {_e(r.method)} interval and the Clopper-Pearson interval at the same level "
            "from the same attack counts.</figcaption></figure>"
            for r, fig in privacy
        )
        audits = len(figures.privacy_results(results))
        if audits > len(privacy):
            figs += (
                f'<p class="note">The first {len(privacy)} of {audits} epsilon audits are '
                "drawn; the table lists all of them.</p>"
            )
        sections.append(("privacy", f'<div class="figures">{figs}</div>'))
    crash = [r for r in results if r.metric == "crash_rate"]
    if crash:
        fig = figures.cav_figure(results)
        if fig is None:
            body = (
                '<p class="note">These results hold no running estimate (crash-rate results '
                "labelled <code>tests</code>, as <code>varkit.cav.running_estimate</code> "
                "returns), so there is no convergence curve to draw; the crash-rate interval "
                "is in the forest plot.</p>"
            )
        else:
            body = (
                '<figure class="module-figure" data-module="cav">'
                f"{_img(figures.to_data_uri(fig), 'CAV convergence curve')}"
                "<figcaption>Top: the crash-rate estimate after the first n tests, with its "
                "normal interval. Bottom: its relative half-width (log scales); testing can stop "
                "once it is below the target (Feng et al., Nat. Commun. 12:748, 2021).</figcaption>"
                "</figure>"
            )
        sections.append(("cav", body))
    fig = figures.fairness_figure(results)
    if fig is not None:
        body = (
            '<figure class="module-figure" data-module="fairness">'
            f"{_img(figures.to_data_uri(fig), 'per-ad shuffle distance histogram')}"
            "<figcaption>Per-ad shuffle distance (point estimates), coloured by where each ad's "
            "interval lies against the threshold; the title gives the share of ads meeting it "
            "(compliance coverage) with its interval.</figcaption></figure>"
        )
        sections.append(("fairness", body))
    return "".join(
        f'<section id="module-{name}"><h2>{_e(_MODULE_TITLES[name])}</h2>{body}</section>'
        for name, body in sections
    )


def _results_table(results: Sequence[Result], statuses: Sequence[str | None]) -> str:
    head = ["#", "metric", "labels", "estimate", "interval", "p-value", "method", "n"]
    head += ["gate", "details"]
    rows = []
    for i, (r, status) in enumerate(zip(results, statuses, strict=True), start=1):
        badge = f'<span class="badge {_e(status)}">{_e(status)}</span>' if status else ""
        details = ""
        if r.details:
            text = json.dumps(r.to_dict(strict_json=True)["details"], indent=1)
            summary = f"<summary>{len(r.details)} key(s)</summary>"
            details = f"<details>{summary}<pre>{_e(text)}</pre></details>"
        cells = [
            f'<td class="num">{i}</td>',
            f"<td>{_e(r.metric)}</td>",
            f'<td class="label">{_e(", ".join(f"{k}={v}" for k, v in r.group.items()))}</td>',
            f'<td class="num">{_e(_fmt(r.estimate))}</td>',
            f'<td class="num">{_e(_interval(r))}</td>',
            f'<td class="num">{_e(_fmt(r.pvalue))}</td>',
            f"<td>{_e(r.method)}</td>",
            f'<td class="num">{_e("" if r.n is None else r.n)}</td>',
            f"<td>{badge}</td>",
            f"<td>{details}</td>",
        ]
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f'<section id="results"><h2>All results ({len(results)})</h2>'
        f'<div class="scroll"><table><thead><tr>{"".join(f"<th>{_e(h)}</th>" for h in head)}'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div></section>"
    )


def _validate_render(resultset: Any, gate_report: Any, rules: Any, title: Any) -> list[Rule]:
    if not isinstance(resultset, ResultSet):
        raise VarkitTypeError(f"`resultset` must be a ResultSet, got {type(resultset).__name__}.")
    if gate_report is not None and not isinstance(gate_report, GateReport):
        raise VarkitTypeError(
            f"`gate_report` must be a GateReport or None, got {type(gate_report).__name__}."
        )
    rule_list = [] if rules is None else list(rules)
    if not all(isinstance(r, Rule) for r in rule_list):
        raise VarkitTypeError("`rules` must be a sequence of Rule objects or None.")
    if not isinstance(title, str):
        raise VarkitTypeError(f"`title` must be a string, got {type(title).__name__}.")
    return rule_list


def render_report(
    resultset: ResultSet,
    gate_report: GateReport | None = None,
    *,
    rules: Sequence[Rule] | None = None,
    title: str = "varkit report",
) -> str:
    """The HTML page of a result set (a string; see :func:`write_report`).

    Parameters
    ----------
    resultset : ResultSet
        The results; its provenance heads the page.
    gate_report : GateReport, optional
        Gate decisions (from :func:`varkit.gates.check`): a decisions table, and each
        result's status colours its row in the forest plot and the results table.
    rules : sequence of Rule, optional
        The rules behind ``gate_report``; their absolute bounds are drawn on the rows they
        apply to.
    title : str
        The page title.

    Returns
    -------
    str
        A complete HTML5 document, self-contained.

    Examples
    --------
    >>> from varkit.gates import Rule, check
    >>> from varkit.results import Result, ResultSet
    >>> rs = ResultSet([Result("epsilon", 3.0, 2.0, 4.5, 0.95, "bayes-jeffreys")])
    >>> rules = [Rule("audit", "epsilon", max=8.0, mode="assured")]
    >>> page = render_report(rs, check(rs, rules), rules=rules)
    >>> 'id="gates"' in page and 'id="forest"' in page and 'id="results"' in page
    True
    """
    rule_list = _validate_render(resultset, gate_report, rules, title)
    results = list(resultset)
    statuses = _statuses(results, gate_report)
    prov = resultset.provenance
    metrics = sorted({r.metric for r in results})
    subtitle = (
        f"{len(results)} result(s), {len(metrics)} metric(s)"
        + (f" from <code>{_e(prov['command'])}</code>" if prov.get("command") else "")
        + (f", {_e(prov['time_utc'])}" if prov.get("time_utc") else "")
    )
    nav = ['<a href="#provenance">Provenance</a>']
    if gate_report is not None:
        nav.append('<a href="#gates">Gates</a>')
    nav.append('<a href="#forest">Intervals</a>')
    with figures.quiet():
        modules = _module_sections(results)
    for name in ("privacy", "cav", "fairness"):
        if f'id="module-{name}"' in modules:
            nav.append(
                f'<a href="#module-{name}">{name.capitalize() if name != "cav" else "CAV"}</a>'
            )
    nav.append('<a href="#results">All results</a>')
    body = [
        f"<h1>{_e(title)}</h1>",
        f'<p class="lead">{subtitle}</p>',
        f"<nav>{''.join(nav)}</nav>",
        f'<section id="provenance"><h2>Provenance</h2>{_provenance(prov)}</section>',
    ]
    if gate_report is not None:
        body.append(_gates_section(gate_report))
    with figures.quiet():
        body.append(_forest_section(results, statuses, rule_list))
    body.append(modules)
    body.append(_results_table(results, statuses))
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head>"
        f"<body><main>{''.join(body)}</main></body></html>\n"
    )


def write_report(
    resultset: ResultSet,
    path: str | os.PathLike[str],
    gate_report: GateReport | None = None,
    *,
    rules: Sequence[Rule] | None = None,
    title: str = "varkit report",
) -> Path:
    """Write :func:`render_report` to ``path`` (UTF-8) and return the path.

    Examples
    --------
    >>> import tempfile
    >>> from varkit.results import Result, ResultSet
    >>> path = write_report(ResultSet([Result("mean", 1.0, 0.8, 1.2, 0.95)]),
    ...                     tempfile.mkdtemp() + "/report.html")
    >>> path.read_text(encoding="utf-8").count("<img")
    1
    """
    text = render_report(resultset, gate_report, rules=rules, title=title)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return out
