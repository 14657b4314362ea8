"""Self-contained HTML reports of varkit results: forest plots, gate decisions, figures.

The page is rendered from Jinja2 templates (``varkit/report/templates``, autoescaped); each
of its figures is also available on its own, as a matplotlib figure.
"""

from varkit.report.figures import (
    cav_figure,
    fairness_figure,
    forest_figure,
    privacy_figures,
    to_data_uri,
)
from varkit.report.html import render_report, write_report

__all__ = [
    "cav_figure",
    "fairness_figure",
    "forest_figure",
    "privacy_figures",
    "render_report",
    "to_data_uri",
    "write_report",
]
