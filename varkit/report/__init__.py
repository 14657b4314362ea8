"""Self-contained HTML reports of varkit results: forest plots, gate decisions, figures."""

from varkit.report.html import render_report, write_report

__all__ = ["render_report", "write_report"]
