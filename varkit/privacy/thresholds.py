"""How an audit turns scores into member calls: a fixed threshold, or one chosen honestly.

Picking the threshold that gives the largest epsilon and then reporting that epsilon's
interval from the same data (what privacy-estimates' ``compute_privacy_curve_lo_hi`` and
TF-Privacy's ``EpsilonLowerBound`` do over every ROC threshold) overstates epsilon. Two
honest strategies are offered, as in jax_privacy's ``CanaryScoreAuditor``:

``split``
    Choose the threshold on a random part of the rows (``split_fraction``, stratified by
    model and membership) and estimate on the rest; the rows spent on the choice are
    counted in ``details``.
``bonferroni``
    Evaluate a grid of ``n_thresholds`` thresholds fixed from the scores alone (label-free
    quantiles) and compute every interval at level ``1 - alpha/m``; all m hold at once with
    probability ``1 - alpha``, so the one reported (the largest lower bound) does too.

Either way the threshold maximises the Clopper-Pearson lower bound on epsilon at the first
delta.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from varkit.checks import CONFIDENCE_MAX
from varkit.errors import VarkitError
from varkit.privacy.attack import counts_at_thresholds
from varkit.privacy.bounds import _epsilon_range_over_box
from varkit.privacy.clopper_pearson import rate_alpha, rate_intervals

__all__ = ["STRATEGIES", "Calls", "ThresholdChoice", "call_members"]

STRATEGIES = ("split", "bonferroni")


@dataclass(frozen=True)
class Calls:
    """The attack's member calls on every row, and which rows estimate epsilon.

    ``level`` is the confidence each interval is computed at (above the requested one
    under ``bonferroni``); ``details`` say how the threshold was chosen.
    """

    called: Any
    estimate_rows: Any
    level: float
    details: dict[str, Any] = field(default_factory=dict)


def _threshold_grid(scores: Any, n_thresholds: int) -> Any:
    """Label-free candidate thresholds: interior quantiles of the scores."""
    # more levels than scores only repeat thresholds (and would allocate for nothing)
    n_levels = min(n_thresholds, scores.size)
    levels = np.linspace(0.0, 1.0, n_levels + 2)[1:-1]
    return np.unique(np.quantile(scores, levels, method="inverted_cdf"))


@dataclass(frozen=True)
class ThresholdChoice:
    """How scores become member calls (validated by :func:`~varkit.privacy.audit_epsilon`).

    ``threshold`` is None when the values are the attack's own 0/1 guesses, a number fixed
    beforehand, or ``'split'``/``'bonferroni'``; a chosen threshold maximises the
    Clopper-Pearson lower bound on epsilon at ``delta`` (the first one), with the
    interval's ``confidence`` and ``bound``, over a grid of ``n_thresholds``.
    """

    threshold: str | float | None
    delta: float
    confidence: float
    bound: str
    n_thresholds: int = 20
    split_fraction: float = 0.5


def _best_threshold(
    members: Any, scores: Any, grid: Any, choice: ThresholdChoice, level: float
) -> float:
    """The grid threshold with the largest Clopper-Pearson lower bound on epsilon (at the
    first delta, each rate's interval at ``level``)."""
    counts = counts_at_thresholds(members, scores, grid)
    (fpr_lo, fpr_hi), (fnr_lo, fnr_hi) = rate_intervals(counts, rate_alpha(level, choice.bound))
    lower, _ = _epsilon_range_over_box(fpr_lo, fpr_hi, fnr_lo, fnr_hi, choice.delta)
    return float(grid[int(np.argmax(lower))])


def _split_rows(members: Any, models: Any, fraction: float, rng: Any) -> Any:
    """Boolean mask of the rows used to choose the threshold, stratified."""
    strata = members.astype(int).astype(str).astype(object)
    if models is not None:
        strata = models.astype(str).astype(object) + "\x00" + strata
    select = np.zeros(members.size, dtype=bool)
    for stratum in np.unique(strata):
        rows = np.flatnonzero(strata == stratum)
        take = int(round(fraction * rows.size))
        select[rng.permutation(rows)[:take]] = True
    return select


def _split(members: Any, scores: Any, models: Any, choice: ThresholdChoice, seed: int) -> Calls:
    fraction = choice.split_fraction
    select = _split_rows(members, models, fraction, np.random.default_rng(seed))
    for part, name in ((select, "selection"), (~select, "estimation")):
        if members[part].all() or not members[part].any():
            raise VarkitError(
                f"`member` needs more rows of each class for threshold='split': the "
                f"{name} part holds only one class."
            )
    grid = _threshold_grid(scores[select], choice.n_thresholds)
    cut = _best_threshold(members[select], scores[select], grid, choice, choice.confidence)
    details = {
        "threshold_strategy": "split",
        "threshold": cut,
        "n_thresholds": int(grid.size),
        "split_fraction": fraction,
        "excluded_rows": {"threshold_selection": int(select.sum())},
    }
    return Calls(scores >= cut, ~select, choice.confidence, details)


def _bonferroni(members: Any, scores: Any, choice: ThresholdChoice) -> Calls:
    grid = _threshold_grid(scores, choice.n_thresholds)
    confidence = choice.confidence
    level = 1.0 - (1.0 - confidence) / grid.size
    if level > CONFIDENCE_MAX:
        raise VarkitError(
            f"`confidence`={confidence:.12g} over {grid.size} Bonferroni thresholds needs "
            f"{level:.12g} per threshold, above the {CONFIDENCE_MAX} varkit computes; "
            "lower the confidence or `n_thresholds`, or use threshold='split'."
        )
    cut = _best_threshold(members, scores, grid, choice, level)
    details = {
        "threshold_strategy": "bonferroni",
        "threshold": cut,
        "n_thresholds": int(grid.size),
        "per_threshold_confidence": level,
    }
    return Calls(scores >= cut, np.ones(members.size, dtype=bool), level, details)


def call_members(
    members: Any, values: Any, models: Any, choice: ThresholdChoice, seed: int = 0
) -> Calls:
    """The member calls of an attack on validated arrays (see the module docstring).

    ``members`` is a bool array, ``values`` the float scores (or 0/1 guesses when
    ``choice.threshold`` is None), ``models`` the labels that stratify the split (or None);
    ``seed`` drives the split.
    """
    everything = np.ones(members.size, dtype=bool)
    threshold = choice.threshold
    if threshold is None:
        return Calls(
            values.astype(bool), everything, choice.confidence, {"threshold_strategy": "guess"}
        )
    if not isinstance(threshold, str):
        cut = float(threshold)
        details: dict[str, Any] = {"threshold_strategy": "fixed", "threshold": cut}
        return Calls(values >= cut, everything, choice.confidence, details)
    if threshold == "split":
        return _split(members, values, models, choice, seed)
    return _bonferroni(members, values, choice)
