"""One self-contained HTML page of a result set: provenance, gate decisions, a forest plot
of every interval, per-module figures and a table of all results.

The page is rendered from the Jinja2 templates in ``varkit/report/templates`` (one macro
per section) with autoescaping on, so all text from the results (labels, methods, details,
provenance) is HTML-escaped. It has inline CSS and its figures as SVG ``data:`` URIs: no
script, no font, no stylesheet or image is fetched, so it can be attached to a CI run and
opened offline. The running checkpoints of a sequential estimate are drawn as its curve
only; the forest plot and the table show the final results.

Examples
--------
>>> from varkit.results import Result, ResultSet
>>> page = render_report(ResultSet([Result("accuracy", 0.9, 0.85, 0.94, 0.95,
...                                        group={"model": "<b>a</b>"})]))
>>> page.startswith("<!DOCTYPE html>"), "<b>a</b>" in page, "&lt;b&gt;a&lt;/b&gt;" in page
(True, False, True)
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jinja2

from varkit.errors import VarkitTypeError
from varkit.gates import GateReport, Rule, format_number, interval_text, result_label
from varkit.report import figures
from varkit.results import Result, ResultSet

__all__ = ["render_report", "write_report"]

_MODULE_TITLES = {
    "evaluate": "Evaluation: critical differences and Bayesian comparisons",
    "privacy": "Privacy: posterior of epsilon",
    "cav": "CAV: convergence of the crash-rate estimate",
    "fairness": "Fairness: per-ad shuffle distances",
}
_NAV_LABELS = {
    "evaluate": "Evaluation",
    "privacy": "Privacy",
    "cav": "CAV",
    "fairness": "Fairness",
}


_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("varkit.report", "templates"),
    autoescape=True,  # every value from the results is text, never markup
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


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


def _input(item: Any) -> Any:
    """An input file as the template shows it: path and SHA-256, or the item as text."""
    if not isinstance(item, dict):
        return str(item)
    return {"path": str(item.get("path", "")), "sha256": str(item.get("sha256", ""))}


def _provenance(provenance: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for key, value in provenance.items():
        if key == "inputs" and isinstance(value, list):
            rows.append({"key": key, "kind": "inputs", "value": [_input(v) for v in value]})
        elif isinstance(value, (dict, list)):
            rows.append({"key": key, "kind": "json", "value": json.dumps(value, default=str)})
        else:
            rows.append({"key": key, "kind": "text", "value": "" if value is None else value})
    return rows


def _gates(gate_report: GateReport) -> dict[str, Any]:
    rows = [
        {
            "status": d.status,
            "rule": d.rule,
            "label": d.label,
            "estimate": _fmt(d.estimate),
            "shown": d.interval_text if d.pvalue is None else f"p = {_fmt(d.pvalue)}",
            "bound": d.bound,
            "reason": d.reason,  # it names the paired result or the combination that decided
        }
        for d in gate_report.decisions
    ]
    n_fail, n_inconclusive = len(gate_report.failed), len(gate_report.inconclusive)
    return {
        "rows": rows,
        "n_pass": len(rows) - n_fail - n_inconclusive,
        "n_fail": n_fail,
        "n_inconclusive": n_inconclusive,
    }


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


def _forest(
    results: Sequence[Result],
    statuses: Sequence[str | None],
    rules: Sequence[Rule],
    checkpoints: int,
) -> dict[str, Any]:
    """The forest section: one panel per metric (``results`` holds no running checkpoint;
    ``checkpoints`` counts those left out)."""
    by_metric: dict[str, list[int]] = {}
    for i, r in enumerate(results):
        by_metric.setdefault(r.metric, []).append(i)
    panels: list[dict[str, str]] = []
    without_interval: list[str] = []
    not_drawn: list[str] = []
    for metric, indices in by_metric.items():
        with_ci = [i for i in indices if None not in (results[i].ci_low, results[i].ci_high)]
        if len(indices) > len(with_ci):
            without_interval.append(f"{metric} ({len(indices) - len(with_ci)})")
        if with_ci and len(panels) >= figures.MAX_PANELS:
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
        panels.append({"metric": metric, "uri": figures.to_data_uri(fig), "caption": caption})
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
    if checkpoints:
        notes.append(
            f"{checkpoints} running crash-rate estimates (checkpoints) are drawn in the CAV "
            "convergence figure, not here."
        )
    return {"panels": panels, "notes": notes}


def _modules(results: Sequence[Result], curves: dict[str, list[Result]]) -> list[dict[str, Any]]:
    """The per-module sections that the results call for, in page order."""
    modules: list[dict[str, Any]] = []
    comparisons = figures.evaluate_figures(results)
    if comparisons:
        drawn = [{"uri": figures.to_data_uri(fig), "caption": text} for text, fig in comparisons]
        modules.append({"name": "evaluate", "figures": drawn})
    privacy = figures.privacy_figures(results)
    if privacy:
        audits = [
            {"uri": figures.to_data_uri(fig), "label": result_label(r), "method": r.method}
            for r, fig in privacy
        ]
        n_audits = len(figures.privacy_results(results))
        modules.append({"name": "privacy", "audits": audits, "n_audits": n_audits})
    if curves or any(r.metric == "crash_rate" for r in results):
        fig = figures.cav_figure(results)
        modules.append(
            {
                "name": "cav",
                "uri": None if fig is None else figures.to_data_uri(fig),
                "checkpoints": sum(len(curve) for curve in curves.values()),
                "series": len(curves),
            }
        )
    fig = figures.fairness_figure(results)
    if fig is not None:
        modules.append({"name": "fairness", "uri": figures.to_data_uri(fig)})
    for module in modules:
        module["title"] = _MODULE_TITLES[module["name"]]
    return modules


def _table(results: Sequence[Result], statuses: Sequence[str | None]) -> list[dict[str, Any]]:
    return [
        {
            "metric": r.metric,
            "labels": ", ".join(f"{k}={v}" for k, v in r.group.items()),
            "estimate": _fmt(r.estimate),
            "interval": _interval(r),
            "pvalue": _fmt(r.pvalue),
            "method": r.method,
            "n": "" if r.n is None else r.n,
            "status": status,
            "n_details": len(r.details),
            "details": (
                json.dumps(r.to_dict(strict_json=True)["details"], indent=1) if r.details else ""
            ),
        }
        for r, status in zip(results, statuses, strict=True)
    ]


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
        A complete HTML5 document, self-contained. The provenance shows each input file
        with its SHA-256; running checkpoints (:func:`varkit.gates.is_checkpoint`) are
        drawn as the running-estimate curve, not listed in the forest plot or the table.

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
    everything = list(resultset)
    curves = figures.cav_curves(everything)
    drawn = {id(r) for curve in curves.values() for r in curve}
    # the running checkpoints are drawn as curves only: the forest and table show the rest
    keep = [i for i, r in enumerate(everything) if id(r) not in drawn]
    results = [everything[i] for i in keep]
    every_status = _statuses(everything, gate_report)
    statuses = [every_status[i] for i in keep]
    prov = resultset.provenance
    with figures.quiet():
        forest = _forest(results, statuses, rule_list, len(drawn))
        modules = _modules(everything, curves)
    nav = [("provenance", "Provenance")]
    if gate_report is not None:
        nav.append(("gates", "Gates"))
    nav.append(("forest", "Intervals"))
    nav += [(f"module-{m['name']}", _NAV_LABELS[m["name"]]) for m in modules]
    nav.append(("results", "All results"))
    return _ENVIRONMENT.get_template("report.html.j2").render(
        title=title,
        n_results=len(everything),
        n_metrics=len({r.metric for r in everything}),
        command=prov.get("command"),
        time_utc=prov.get("time_utc"),
        nav=nav,
        provenance=_provenance(prov),
        gates=None if gate_report is None else _gates(gate_report),
        forest=forest,
        modules=modules,
        table={"rows": _table(results, statuses), "left_out": len(drawn)},
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
