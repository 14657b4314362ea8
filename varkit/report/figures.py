"""The report's pictures: a forest plot per metric and one figure per method module.

Every function takes results and returns a matplotlib :class:`~matplotlib.figure.Figure`
(or ``None`` when the results hold nothing to draw); :func:`to_data_uri` turns a figure into
an SVG ``data:`` URI for an ``<img>`` tag. Figures are built with ``Figure()`` directly, not
pyplot, so no window, no global figure list and no backend choice are involved, and the
output needs no network.

Examples
--------
>>> from varkit.results import Result
>>> fig = forest_figure("accuracy", [Result("accuracy", 0.9, 0.85, 0.94, 0.95,
...                                         group={"model": "a"})])
>>> to_data_uri(fig).startswith("data:image/svg+xml;base64,")
True
"""

from __future__ import annotations

import base64
import contextlib
import io
import logging
import math
import textwrap
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import matplotlib
import numpy as np
from matplotlib.artist import Artist
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from varkit.errors import VarkitWarning
from varkit.gates import format_number, is_checkpoint
from varkit.results import Result

__all__ = [
    "MAX_PANELS",
    "MAX_PRIVACY",
    "MAX_ROWS",
    "quiet",
    "cav_figure",
    "evaluate_figures",
    "fairness_figure",
    "forest_figure",
    "privacy_figures",
    "to_data_uri",
]

MAX_ROWS = 40
"""Most rows a forest panel draws; the rest are counted in a note (the table has them all)."""
MAX_PANELS = 30
"""Most metrics that get a forest panel (each panel takes a fraction of a second to draw)."""
MAX_PRIVACY = 6
"""Most epsilon audits that get a posterior figure."""

STATUS_COLOURS = {"pass": "#1a7f37", "fail": "#cf222e", "inconclusive": "#bf8700"}
_NEUTRAL = "#24292f"


def _style() -> Any:
    """The report's matplotlib settings, as a context manager."""
    return matplotlib.rc_context(
        {
            "svg.fonttype": "none",  # text stays text: small files, selectable labels
            "svg.hashsalt": "varkit",  # deterministic ids
            "font.size": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence what drawing says about itself while the block runs.

    matplotlib warns about glyphs missing from its font and logs font lookups, and numpy
    warns when the tick arithmetic of extreme values overflows. None of it concerns the
    results (the page's tables state every value exactly), so none of it reaches the user.
    varkit's own warnings still do.
    """
    logger = logging.getLogger("matplotlib")
    level = logger.level
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        warnings.simplefilter("always", VarkitWarning)
        logger.setLevel(logging.ERROR)
        try:
            yield
        finally:
            logger.setLevel(level)


def safe_text(text: str) -> str:
    """Text for matplotlib: a ``$`` would start mathtext (and can raise on bad input)."""
    return str(text).replace("$", r"\$")


def to_data_uri(fig: Figure) -> str:
    """The figure as a base64 SVG ``data:`` URI, for an ``<img>`` tag.

    Each image is its own SVG document, so the ids inside one cannot clash with another's;
    text stays text and the ids are deterministic.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        Any figure, e.g. from :func:`forest_figure`.

    Returns
    -------
    str
        ``data:image/svg+xml;base64,...``.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> fig = Figure()
    >>> _ = fig.subplots().plot([0, 1], [1, 0])
    >>> to_data_uri(fig)[:26]
    'data:image/svg+xml;base64,'
    """
    buffer = io.BytesIO()
    with _style():
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _new_figure(width: float, height: float, **subplots: Any) -> tuple[Figure, Any]:
    with _style():
        fig = Figure(figsize=(width, height), layout="constrained")
        axes = fig.subplots(**subplots)
    return fig, axes


def _fmt(x: float) -> str:
    return format_number(x, digits=3)


# Beyond this magnitude an axis cannot be drawn: the limits' padding and the tick spacing
# overflow to inf (matplotlib then fails). Such values are drawn like infinite ends, as
# arrows to the edge of the panel; the table states them exactly.
_DRAW_LIMIT = 1e300


def _drawable(x: float) -> bool:
    return math.isfinite(x) and abs(x) <= _DRAW_LIMIT


def _determined(rows: Sequence[dict[str, str]], keys: Sequence[str], key: str) -> bool:
    """Whether the values of ``keys`` determine the value of ``key`` in every row."""
    seen: dict[tuple[str, ...], str] = {}
    for row in rows:
        known = tuple(row.get(k, "") for k in keys)
        if seen.setdefault(known, row.get(key, "")) != row.get(key, ""):
            return False
    return True


_METHOD = "\0method"


def row_labels(results: Sequence[Result]) -> list[str]:
    """Short labels: the group labels that vary between the results, less those the
    earlier ones already determine (``comparison=a-b`` makes ``model_1=a`` redundant), and
    the method when it still tells results apart.

    Examples
    --------
    >>> from varkit.results import Result
    >>> rs = [Result("d", 0.0, group={"comparison": f"{a}-{b}", "model_1": a, "model_2": b})
    ...       for a, b in (("x", "y"), ("x", "z"))]
    >>> row_labels(rs)
    ['comparison=x-y', 'comparison=x-z']
    """
    rows = [{**r.group, _METHOD: r.method} for r in results]
    keys: list[str] = []
    for r in results:
        keys.extend(k for k in r.group if k not in keys)
    keys.append(_METHOD)
    shown: list[str] = []
    for key in keys:
        if len({row.get(key, "") for row in rows}) > 1 and not _determined(rows, shown, key):
            shown.append(key)
    labels = []
    for r, row in zip(results, rows, strict=True):
        bits = [row[k] if k == _METHOD else f"{k}={row[k]}" for k in shown if k in row]
        labels.append(", ".join(bits) or r.method or r.metric)
    return labels


def common_labels(results: Sequence[Result]) -> str:
    """The group labels every result shares, as ``key=value, ...``."""
    if not results:
        return ""
    shared = dict(results[0].group)
    for r in results[1:]:
        shared = {k: v for k, v in shared.items() if r.group.get(k) == v}
    return ", ".join(f"{k}={v}" for k, v in shared.items())


def forest_figure(
    metric: str,
    results: Sequence[Result],
    *,
    statuses: Sequence[str | None] | None = None,
    bounds: Sequence[tuple[float, Sequence[int], str]] = (),
    max_rows: int = MAX_ROWS,
) -> Figure | None:
    """Forest plot: point and interval of each result of one metric, one row each.

    An infinite end is an arrow to the edge of the panel; rows are labelled by what tells
    the results apart, the title by what they share.

    Parameters
    ----------
    metric : str
        The metric, for the title and the axis label.
    results : sequence of Result
        Its results, drawn top to bottom; those without an interval are not drawn (the
        caller counts them).
    statuses : sequence of {'pass', 'fail', 'inconclusive', None}, optional
        Each result's gate decision, colouring its row (green, red, amber; black: none).
    bounds : sequence of (float, sequence of int, str)
        ``(value, rows, rule name)``: a rule's bound, drawn as a dashed mark across those
        rows (positions in ``results``).
    max_rows : int
        Most rows drawn (the first ones).

    Returns
    -------
    matplotlib.figure.Figure or None
        ``None`` when no result has an interval.

    Examples
    --------
    >>> from varkit.results import Result
    >>> models = [Result("accuracy", 0.86, 0.83, 0.88, 0.95, group={"model": "forest"}),
    ...           Result("accuracy", 0.60, 0.56, 0.64, 0.95, group={"model": "baseline"})]
    >>> fig = forest_figure("accuracy", models, statuses=["pass", "fail"],
    ...                     bounds=[(0.8, [0, 1], "at least 0.8")])
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['model=forest', 'model=baseline']
    >>> forest_figure("mcnemar", [Result("mcnemar", 3.1, pvalue=0.04)]) is None
    True
    """
    rows = [i for i, r in enumerate(results) if r.ci_low is not None and r.ci_high is not None]
    rows = rows[:max_rows]
    if not rows:
        return None
    shown = [results[i] for i in rows]
    labels = [safe_text(t) for t in row_labels(shown)]
    n = len(shown)
    fig, ax = _new_figure(5.4, 1.1 + 0.24 * n)
    values = [x for r in shown for x in (r.estimate, r.ci_low, r.ci_high) if x is not None]
    finite = [x for x in values if _drawable(x)]
    finite += [b for b, _, _ in bounds if _drawable(b)]
    left, right = (min(finite), max(finite)) if finite else (0.0, 1.0)
    pad = 0.06 * (right - left) if right > left else max(abs(left) * 0.1, 0.05)
    left, right = left - pad, right + pad
    for y, (index, r) in enumerate(zip(rows, shown, strict=True)):
        status = statuses[index] if statuses is not None else None
        colour = STATUS_COLOURS.get(status or "", _NEUTRAL)
        assert r.ci_low is not None and r.ci_high is not None
        low, high = r.ci_low, r.ci_high
        if math.isnan(low) or math.isnan(high):
            ax.text(left, y, " interval is NaN", va="center", fontsize=8, color="#cf222e")
            continue
        ax.plot(
            [min(max(low, left), right), max(min(high, right), left)],
            [y, y],
            color=colour,
            lw=2,
            solid_capstyle="butt",
        )
        for end, edge, marker in ((low, left, "<"), (high, right, ">")):
            if not _drawable(end):
                ax.plot([edge], [y], marker=marker, color=colour, markersize=6)
            else:
                ax.plot([end], [y], marker="|", color=colour, markersize=7, mew=1.5)
        if _drawable(r.estimate):
            ax.plot([r.estimate], [y], marker="o", color=colour, markersize=5)
    for value, bound_rows, name in bounds:
        if not _drawable(value):
            continue
        ys = [rows.index(i) for i in bound_rows if i in rows]
        for y in ys:
            ax.plot([value, value], [y - 0.45, y + 0.45], color="#8250df", lw=1.2, ls="--")
        if ys:
            ax.plot(
                [],
                [],
                color="#8250df",
                lw=1.2,
                ls="--",
                label=safe_text(f"bound {value:g}: {name}"),
            )
    ax.set_yticks(range(n), labels)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xlim(left, right)
    ax.grid(axis="x", color="#d0d7de", lw=0.6)
    ax.set_axisbelow(True)
    levels = {r.confidence for r in shown}
    level = next(iter(levels)) if len(levels) == 1 else None
    level_text = f"{level * 100:g}% intervals" if level is not None else "intervals"
    ax.set_xlabel(safe_text(f"{metric} ({level_text})"))
    shared = common_labels(shown)
    title = metric + (f"  [{shared}]" if shared else "")
    # a figure title starts at the figure's left edge, so a long one is wrapped, not clipped
    fig.suptitle(safe_text(textwrap.fill(title, 80)), x=0.01, ha="left", fontsize=10)
    if any(_drawable(b) for b, _, _ in bounds):
        fig.legend(loc="outside lower left", fontsize=7, frameon=False)
    return fig


# -- privacy ---------------------------------------------------------------------------
_PRIVACY_NEEDED = ("fp", "fn", "tn", "tp", "delta", "bound")


def privacy_results(results: Sequence[Result]) -> list[Result]:
    """Epsilon results that carry their attack counts, one per (counts, delta, bound):
    ``plot_epsilon`` draws the Bayesian and the Clopper-Pearson interval together."""
    seen: dict[tuple[Any, ...], Result] = {}
    for r in results:
        if r.metric != "epsilon" or not all(k in r.details for k in _PRIVACY_NEEDED):
            continue
        key = (
            tuple(sorted(r.group.items())),
            *(r.details[k] for k in _PRIVACY_NEEDED),
        )
        # the Bayesian result, when both are present, holds the prior
        if key not in seen or r.method.startswith("bayes"):
            seen[key] = r
    return list(seen.values())


def privacy_figures(
    results: Sequence[Result], limit: int = MAX_PRIVACY
) -> list[tuple[Result, Figure]]:
    """Posterior densities of epsilon, one figure per privacy audit.

    Each draws the posterior density of epsilon with its interval and the Clopper-Pearson
    interval at the same level from the same attack counts
    (:func:`varkit.privacy.plot_epsilon`).

    Parameters
    ----------
    results : sequence of Result
        Any results; the ``epsilon`` ones that carry their attack counts are drawn, one per
        audit (the Bayesian result when both methods are present).
    limit : int
        Most audits drawn.

    Returns
    -------
    list of (Result, matplotlib.figure.Figure)
        Each audit's result and its figure; empty when there is none.

    Examples
    --------
    >>> from varkit.privacy import bayesian_epsilon
    >>> audit = bayesian_epsilon(fp=10, fn=400, tn=990, tp=600, delta=1e-5)
    >>> [(r.metric, len(fig.axes)) for r, fig in privacy_figures([audit])]
    [('epsilon', 1)]
    """
    from varkit.privacy import plot_epsilon

    figures = []
    for r in privacy_results(results)[:limit]:
        fig, ax = _new_figure(7.0, 3.6)
        with _style():
            plot_epsilon(r, ax=ax)
        shared = ", ".join(f"{k}={v}" for k, v in r.group.items())
        if shared:
            ax.set_title(safe_text(f"{shared}\n{ax.get_title()}"), fontsize=9)
        figures.append((r, fig))
    return figures


# -- evaluate --------------------------------------------------------------------------
def _critical_difference(results: Sequence[Result]) -> tuple[dict[str, float], float, float] | None:
    """Average ranks, critical difference and level of a Friedman-Nemenyi comparison."""
    ranks = {
        r.group["model"]: r.estimate
        for r in results
        if r.metric == "average_rank" and r.method == "friedman-ranks" and "model" in r.group
    }
    nemenyi = [r for r in results if r.metric == "rank_difference" and r.method == "nemenyi"]
    if len(ranks) < 2 or not nemenyi:
        return None
    details = nemenyi[0].details
    return ranks, float(details["critical_difference"]), float(details.get("alpha", 0.05))


def evaluate_figures(
    results: Sequence[Result], limit: int = MAX_PRIVACY
) -> list[tuple[str, Figure]]:
    """The model comparisons people would rather look at: the critical-difference diagram
    of a Friedman-Nemenyi comparison (Demsar 2006) and the posterior of each Bayesian
    comparison (:func:`varkit.evaluate.critical_difference_figure`,
    :func:`varkit.evaluate.plot_posterior`).

    Parameters
    ----------
    results : sequence of Result
        Any results; ``average_rank`` with ``rank_difference`` results draw the diagram,
        results of the Bayesian tests their posteriors (at most ``limit``).
    limit : int
        Most posteriors drawn.

    Returns
    -------
    list of (str, matplotlib.figure.Figure)
        A caption and the figure; empty when there is nothing to draw.

    Examples
    --------
    >>> from varkit.evaluate import bayesian_correlated_ttest, friedman_nemenyi
    >>> scores = [[0.9, 0.8, 0.7], [0.85, 0.8, 0.6], [0.95, 0.9, 0.8], [0.7, 0.75, 0.5]]
    >>> rs = [*friedman_nemenyi(scores, models=["a", "b", "c"]),
    ...       bayesian_correlated_ttest([0.02, 0.01, 0.03, 0.0, 0.02], rope=0.01)]
    >>> [caption.split(":")[0] for caption, fig in evaluate_figures(rs)]
    ['Critical-difference diagram', 'score_difference']
    """
    from varkit.evaluate import critical_difference_figure, plot_posterior

    drawn: list[tuple[str, Figure]] = []
    found = _critical_difference(results)
    if found is not None:
        ranks, cd, alpha = found
        with _style():
            fig = critical_difference_figure(ranks, cd, alpha=alpha)
        caption = (
            "Critical-difference diagram: average ranks over the data sets (1 = best); models "
            f"joined by a thick line do not differ at {alpha:g} (Nemenyi, CD = {cd:.3g}; "
            "Demsar 2006)."
        )
        drawn.append((caption, fig))
    bayesian = [r for r in results if r.method.startswith("bayesian-") and "p_rope" in r.details]
    for r in bayesian[:limit]:
        with _style():
            fig = plot_posterior(r)
        labels = ", ".join(f"{k}={v}" for k, v in r.group.items())
        caption = (
            f"{r.metric}{f'[{labels}]' if labels else ''}: posterior of the comparison "
            f"({r.method}, rope {r.details['rope']:g}); model 1 minus model 2."
        )
        drawn.append((safe_text(caption), fig))
    return drawn


# -- CAV -------------------------------------------------------------------------------
def cav_curves(results: Sequence[Result]) -> dict[str, list[Result]]:
    """The running checkpoints (:func:`varkit.gates.is_checkpoint`) that draw a curve, per
    series (their labels less ``tests``, and the method), by test count.

    A series of one checkpoint draws no curve and is left out (the table lists it).
    """
    curves: dict[str, list[Result]] = {}
    for r in results:
        if not is_checkpoint(r) or r.n is None:
            continue
        others = ", ".join(f"{k}={v}" for k, v in r.group.items() if k != "tests")
        name = ", ".join(bit for bit in (others, r.method) if bit)
        curves.setdefault(name, []).append(r)
    return {k: sorted(v, key=lambda r: r.n or 0) for k, v in curves.items() if len(v) >= 2}


def cav_figure(results: Sequence[Result]) -> Figure | None:
    """Running estimate with its band, and its relative half-width, against tests run.

    Top: each series of running checkpoints as its estimate with the interval as a band;
    bottom: the relative half-width on log scales, with the target (from a
    ``tests_required`` result when there is one, else 0.3: Feng et al., Nat. Commun.
    12:748, 2021, Fig. 3, at 90%) and the number of tests it needs.

    Parameters
    ----------
    results : sequence of Result
        Any results; the running checkpoints (``details["checkpoint"]``, as
        :func:`varkit.cav.running_estimate` returns) are drawn.

    Returns
    -------
    matplotlib.figure.Figure or None
        Two panels sharing the axis of tests run; ``None`` when no series has two
        checkpoints.

    Examples
    --------
    >>> import numpy as np
    >>> from varkit.cav import running_estimate
    >>> crash = np.random.default_rng(1).random(400) < 0.05
    >>> fig = cav_figure(running_estimate(crash, np.ones(400), checkpoints=12))
    >>> [ax.get_ylabel() for ax in fig.axes]
    ['crash rate (running)', 'relative half-width']
    """
    curves = cav_curves(results)
    if not curves:
        return None
    targets = [r for r in results if r.metric == "tests_required" and "rhw" in r.details]
    target = float(targets[0].details["rhw"]) if targets else 0.3
    needed = targets[0].estimate if targets else math.nan
    fig, (top, bottom) = _new_figure(7.0, 5.2, nrows=2, sharex=True)
    for i, (name, curve) in enumerate(curves.items()):
        colour = f"C{i % 10}"
        tests = np.array([r.n for r in curve], dtype=float)
        estimate = np.array([r.estimate for r in curve])
        low = np.array([np.nan if r.ci_low is None else r.ci_low for r in curve])
        high = np.array([np.nan if r.ci_high is None else r.ci_high for r in curve])
        rhw = np.array([r.details.get("relative_half_width", np.nan) for r in curve], float)
        level = curve[-1].confidence
        label = safe_text(name + (f" ({level * 100:g}%)" if level else ""))
        top.plot(tests, estimate, color=colour, lw=1.5, label=label)
        top.fill_between(tests, low, high, color=colour, alpha=0.18, lw=0)
        bottom.plot(tests, np.where(np.isfinite(rhw), rhw, np.nan), color=colour, lw=1.5)
    top.axhline(0.0, color="#8c959f", lw=0.6)
    top.set_ylabel("crash rate (running)")
    top.legend(fontsize=7, frameon=False, loc="upper right")
    top.set_title("Running estimate and its interval as tests accumulate", loc="left", fontsize=10)
    bottom.axhline(target, color="#8250df", ls="--", lw=1.2, label=f"target {target:g}")
    if math.isfinite(needed) and needed > 0:
        bottom.axvline(
            needed, color="#8250df", ls=":", lw=1.2, label=f"tests needed ~{needed:,.0f}"
        )
    bottom.set_xscale("log")
    bottom.set_yscale("log")
    plain = FuncFormatter(lambda value, _: f"{value:g}")
    bottom.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    for axis in (bottom.xaxis, bottom.yaxis):
        axis.set_major_formatter(plain)
        axis.set_minor_formatter(NullFormatter())
    bottom.set_xlabel("tests run")
    bottom.set_ylabel("relative half-width")
    bottom.legend(fontsize=7, frameon=False, loc="upper right")
    top.grid(color="#d0d7de", lw=0.5)
    bottom.grid(color="#d0d7de", lw=0.5)
    return fig


# -- fairness --------------------------------------------------------------------------
def fairness_per_ad(results: Sequence[Result]) -> dict[str, list[Result]]:
    """Per-ad shuffle-distance results (``group`` has ``ad_id``), per attribute."""
    out: dict[str, list[Result]] = {}
    for r in results:
        if r.metric == "shuffle_distance" and "ad_id" in r.group:
            out.setdefault(r.group.get("attribute", ""), []).append(r)
    return out


def _coverage(results: Sequence[Result], attribute: str) -> Result | None:
    for r in results:
        if (
            r.metric == "compliance_coverage"
            and r.group.get("attribute", "") == attribute
            and r.group.get("weighting", "ads") == "ads"
        ):
            return r
    return None


def fairness_figure(results: Sequence[Result]) -> Figure | None:
    """Histogram of the per-ad shuffle distances, with the threshold as a bar.

    One panel per attribute; the ads are stacked by where their interval lies against the
    threshold (wholly below, straddling, wholly above), and the title gives the compliance
    coverage with its interval when a ``compliance_coverage`` result is present.

    Parameters
    ----------
    results : sequence of Result
        Any results; the ``shuffle_distance`` ones labelled ``ad_id`` are drawn, the
        threshold taken from their ``details["threshold"]`` (default 0.10, the VRS
        settlement's bar).

    Returns
    -------
    matplotlib.figure.Figure or None
        ``None`` when no result is a per-ad shuffle distance.

    Examples
    --------
    >>> from varkit.results import Result
    >>> ads = [Result("shuffle_distance", d, d - 0.03, d + 0.03, 0.95,
    ...               group={"ad_id": str(i), "attribute": "sex"}, details={"threshold": 0.1})
    ...        for i, d in enumerate([0.03, 0.05, 0.09, 0.2])]
    >>> fig = fairness_figure(ads)
    >>> fig.axes[0].get_title(loc="left").splitlines()[1]
    'intervals below / straddling / above 0.1: 2 / 1 / 1'
    """
    per_ad = fairness_per_ad(results)
    if not per_ad:
        return None
    groups = [("meets", "#1a7f37"), ("uncertain", "#bf8700"), ("fails", "#cf222e")]
    fig, axes = _new_figure(min(3.8 * len(per_ad), 11.0), 4.0, ncols=len(per_ad), squeeze=False)
    for ax, (attribute, ads) in zip(axes[0], per_ad.items(), strict=True):
        threshold = float(ads[0].details.get("threshold", 0.10))
        estimates = np.array([r.estimate for r in ads], dtype=float)
        kinds = []
        for r in ads:
            low = r.ci_low if r.ci_low is not None else r.estimate
            high = r.ci_high if r.ci_high is not None else r.estimate
            kinds.append(
                "meets" if high <= threshold else ("fails" if low > threshold else "uncertain")
            )
        drawable = np.isfinite(estimates) & (np.abs(estimates) <= _DRAW_LIMIT)
        finite = estimates[drawable]
        shown_threshold = threshold if _drawable(threshold) else 0.0
        top = max(float(finite.max()) if finite.size else 0.0, shown_threshold, 1e-12) * 1.1
        bins = np.linspace(0.0, top, 16)
        data = [
            finite[[k == kind for k, ok in zip(kinds, drawable, strict=True) if ok]]
            for kind, _ in groups
        ]
        ax.hist(
            data, bins=bins, stacked=True, color=[c for _, c in groups], edgecolor="white", lw=0.5
        )
        ax.axvline(threshold, color="#24292f", ls="--", lw=1.2)
        ax.set_xlabel("shuffle distance per ad (point estimate)")
        ax.set_ylabel("ads")
        ax.yaxis.get_major_locator().set_params(integer=True)
        counts = {kind: kinds.count(kind) for kind, _ in groups}
        title = (
            f"{attribute or 'all'}: {len(ads)} ads\nintervals below / straddling / above "
            f"{threshold:g}: {counts['meets']} / {counts['uncertain']} / {counts['fails']}"
        )
        coverage = _coverage(results, attribute)
        if coverage is not None:
            title += f"\ncoverage {_fmt(coverage.estimate)}"
            if coverage.ci_low is not None and coverage.ci_high is not None:
                title += f" [{_fmt(coverage.ci_low)}, {_fmt(coverage.ci_high)}]"
                if coverage.confidence is not None:
                    title += f" ({coverage.confidence * 100:g}%)"
        ax.set_title(safe_text(title), loc="left", fontsize=8)
    words = {"meets": "wholly below", "uncertain": "straddles", "fails": "wholly above"}
    thresholds = {r.details.get("threshold", 0.10) for ads in per_ad.values() for r in ads}
    line = f"threshold {thresholds.pop():g}" if len(thresholds) == 1 else "threshold"
    handles: list[Artist] = [
        Patch(color=c, label=f"interval {words[k]} the threshold") for k, c in groups
    ]
    handles.append(Line2D([], [], color="#24292f", ls="--", label=line))
    fig.legend(handles=handles, fontsize=7, frameon=False, loc="outside lower center", ncols=4)
    return fig
