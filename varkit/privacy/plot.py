"""A picture of an epsilon estimate: the posterior density, its interval, and Clopper-Pearson."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from varkit.errors import VarkitError, VarkitTypeError
from varkit.privacy.bayes import LOWER_ENDS, PRIORS, EpsilonPosterior, bayesian_epsilon
from varkit.privacy.clopper_pearson import clopper_pearson_epsilon
from varkit.results import Result

__all__ = ["plot_epsilon"]

_NEEDED = ("fp", "fn", "tn", "tp", "delta", "bound")


def _validate_plot(result: Any) -> dict[str, Any]:
    if not isinstance(result, Result) or result.metric != "epsilon":
        raise VarkitTypeError("`result` must be an epsilon Result from varkit.privacy.")
    missing = [key for key in _NEEDED if key not in result.details]
    if missing:
        raise VarkitError(
            f"`result` details lack {', '.join(missing)}: not a varkit.privacy result."
        )
    details = result.details
    prior = details.get("prior", "jeffreys")
    lower_end = details.get("lower_end", "directions")
    return {
        "counts": {key: int(details[key]) for key in ("fp", "fn", "tn", "tp")},
        "delta": float(details["delta"]),
        "bound": str(details["bound"]),
        # Under threshold='bonferroni' each interval was computed at a higher level.
        "level": float(details.get("per_threshold_confidence", result.confidence or 0.95)),
        "prior": prior if prior in PRIORS else "jeffreys",
        "lower_end": lower_end if lower_end in LOWER_ENDS else "directions",
    }


def _interval_bar(ax: Any, y: float, low: float, high: float, right: float, color: str) -> None:
    """A horizontal interval at height y; an open end at inf becomes an arrow to the edge."""
    if math.isfinite(high):
        ax.errorbar((low + high) / 2.0, y, xerr=[[(high - low) / 2.0]], capsize=4, lw=2.5,
                    color=color)  # fmt: skip
    else:
        ax.annotate(
            "", xy=(right, y), xytext=(low, y),
            arrowprops={"arrowstyle": "-|>", "lw": 2.5, "color": color},
        )  # fmt: skip
        ax.plot([low], [y], marker="|", markersize=9, mew=2.5, color=color)


def _fmt(value: float) -> str:
    return "inf" if math.isinf(value) else f"{value:.3g}"


def plot_epsilon(result: Result, ax: Any = None) -> Any:
    """Plot the posterior density of epsilon, its credible interval and Clopper-Pearson's.

    Needs matplotlib (``pip install 'varkit[plot]'``).

    Parameters
    ----------
    result : Result
        An epsilon result from :func:`~varkit.privacy.bayesian_epsilon`,
        :func:`~varkit.privacy.clopper_pearson_epsilon` or
        :func:`~varkit.privacy.audit_epsilon`; its counts, delta, bound and level are used
        (under ``threshold='bonferroni'``, the per-threshold level the intervals used).
    ax : matplotlib Axes, optional
        Where to draw; a new figure by default.

    Returns
    -------
    matplotlib Axes

    Notes
    -----
    The curve is the density of the continuous part of the posterior; with ``delta > 0``
    the point mass at epsilon = 0 is written on the plot when it is visible (>= 0.001).
    Below the curve, the Bayesian interval and the Clopper-Pearson interval at the same
    level are drawn as bars; an infinite end is an arrow to the edge.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from varkit.privacy import bayesian_epsilon, plot_epsilon
    >>> ax = plot_epsilon(bayesian_epsilon(fp=10, fn=400, tn=990, tp=600, delta=1e-5))
    >>> ax.get_xlabel()
    'epsilon'
    """
    args = _validate_plot(result)
    try:
        import matplotlib.pyplot as plt
        from matplotlib.lines import Line2D
    except ImportError:
        raise ImportError(
            "plotting needs matplotlib, from the plot extra: pip install 'varkit[plot]'."
        ) from None
    counts, delta, bound, level = args["counts"], args["delta"], args["bound"], args["level"]
    posterior = EpsilonPosterior(**counts, delta=delta, prior=args["prior"])
    # the interval bayesian_epsilon reports (its lower-end rules included), at ``level``
    bayes = bayesian_epsilon(
        **counts,
        delta=delta,
        confidence=level,
        bound=bound,
        prior=args["prior"],
        lower_end=args["lower_end"],
    )
    low, high = float(bayes.ci_low or 0.0), float(bayes.ci_high or math.inf)
    cp = clopper_pearson_epsilon(**counts, delta=delta, confidence=level, bound=bound)
    cp_low, cp_high = float(cp.ci_low or 0.0), float(cp.ci_high or math.inf)

    ends = [float(posterior.ppf(0.0005)), float(posterior.ppf(0.9995)), low, cp_low]
    ends += [e for e in (high, cp_high) if math.isfinite(e)]
    left, right = min(ends), max(ends)
    pad = 0.08 * max(right - left, 1e-3)
    left, right = max(0.0, left - pad), right + pad
    grid = np.linspace(left, right, 400)
    density = posterior.pdf(grid)
    top = float(density.max()) if density.max() > 0 else 1.0

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    (curve,) = ax.plot(grid, density, color="C0", lw=1.5, label="posterior density")
    shade_high = high if math.isfinite(high) else right
    inside = (grid >= low) & (grid <= shade_high)
    ax.fill_between(grid, density, where=inside, color="C0", alpha=0.2, lw=0)
    median = posterior.median()
    median_line = ax.axvline(median, color="C0", ls=":", lw=1)
    median_line.set_label(f"posterior median {median:.3g}")
    handles = [curve, median_line]
    if posterior.mass_at_zero >= 1e-3:
        handles.append(
            Line2D([], [], ls="", label=f"P(epsilon = 0) = {posterior.mass_at_zero:.3f}")
        )
    kind = "lower bound" if bound == "lower" else "interval"
    bars = (
        ("Bayesian", low, high, "C0", -0.1),
        ("Clopper-Pearson", cp_low, cp_high, "C3", -0.2),
    )
    for name, lo, hi, color, height in bars:
        _interval_bar(ax, height * top, lo, hi, right, color)
        label = f"{name} {100 * level:.4g}% {kind} [{_fmt(lo)}, {_fmt(hi)}]"
        handles.append(Line2D([], [], color=color, lw=2.5, label=label))
    ax.axhline(0.0, color="0.6", lw=0.8)
    ax.set_xlim(left, right)
    ax.set_ylim(-0.3 * top, 1.5 * top)
    ticks = ax.get_yticks()
    ax.set_yticks(ticks[(ticks >= 0.0) & (ticks <= 1.5 * top)])
    ax.set_xlabel("epsilon")
    ax.set_ylabel("posterior density")
    c = counts
    ax.set_title(
        f"delta = {delta:g};  FP={c['fp']}, FN={c['fn']}, TN={c['tn']}, TP={c['tp']}",
        fontsize=10,
    )
    ax.legend(handles=handles, frameon=False, fontsize=8, loc="upper right")
    return ax
