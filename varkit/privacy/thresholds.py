"""How an audit turns scores into member calls: a fixed threshold, or one chosen honestly.

Picking the threshold that gives the largest epsilon and then reporting that epsilon's
interval from the same data (what privacy-estimates' ``compute_privacy_curve_lo_hi`` and
TF-Privacy's ``EpsilonLowerBound`` do over every ROC threshold) overstates epsilon. Two
honest strategies are offered, as in jax_privacy's ``CanaryScoreAuditor``:

``split``
    Choose the threshold on a random part of the rows (``split_fraction``, stratified by
    model and membership) and estimate on the rest; the rows spent on the choice are
    counted in ``details``. The estimate is valid whatever rule chose the threshold,
    because the estimation rows played no part in the choice.
``bonferroni``
    Evaluate a grid of ``n_thresholds`` thresholds fixed from the scores alone (label-free
    quantiles) and compute every interval at level ``1 - alpha/m``; if each interval
    covers at its level, all m hold at once with probability ``1 - alpha`` and so does
    the one reported (the largest lower bound). This is exact for Clopper-Pearson; for
    the Bayesian interval it holds to the extent that its lower end is calibrated, which
    is what its default lower end is built for (:func:`~varkit.privacy.bayesian_epsilon`
    Notes; ``tests/privacy/test_thresholds_protocol.py`` measures it).

The threshold maximises the lower bound of the *same* estimator that is reported (the
first method: the Bayesian lower end before the chance rule, or Clopper-Pearson's) at the
first delta, at the level the interval is computed at. Candidates must leave at least
``MIN_SIDE_ROWS`` selection rows on each side (the grid's quantiles already leave
``1/(m + 1)`` of them), and ties, such as the lower bounds that are all 0 for an attack
near chance, go to the most balanced threshold (the most rows on its smaller side), not
to the lowest one (which made random attacks pick FPR near 0.93). ``details['protocol']``
states all of this in one line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from varkit.checks import CONFIDENCE_MAX
from varkit.errors import VarkitError
from varkit.privacy.attack import counts_at_thresholds
from varkit.privacy.bayes import PRIORS, _direction_lower_ends
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
    beforehand, or ``'split'``/``'bonferroni'``; a chosen threshold maximises the lower
    bound on epsilon of ``method`` (``'bayes'`` or ``'clopper-pearson'``, the estimator
    reported first) at ``delta`` (the first one), with the interval's ``confidence`` and
    ``bound``, over a grid of ``n_thresholds``.
    """

    threshold: str | float | None
    delta: float
    confidence: float
    bound: str
    n_thresholds: int = 20
    split_fraction: float = 0.5
    method: str = "bayes"


#: Candidate thresholds leave at least this many selection rows on each side.
MIN_SIDE_ROWS = 20


def _lower_bounds(counts: dict[str, Any], choice: ThresholdChoice, level: float) -> Any:
    """The lower end of the reported estimator at each threshold's counts."""
    if choice.method == "bayes":
        a0, b0 = PRIORS["jeffreys"]
        tail = (1.0 - level) / 2.0 if choice.bound == "two-sided" else 1.0 - level
        px = (counts["fn"] + a0, counts["tp"] + b0)
        py = (counts["fp"] + a0, counts["tn"] + b0)
        # to 1e-4 in epsilon: enough to rank thresholds, and a third of the iterations
        return _direction_lower_ends(tail / 2.0, choice.delta, px, py, xatol=1e-4)
    (fpr_lo, fpr_hi), (fnr_lo, fnr_hi) = rate_intervals(counts, rate_alpha(level, choice.bound))
    lower, _ = _epsilon_range_over_box(fpr_lo, fpr_hi, fnr_lo, fnr_hi, choice.delta)
    return lower


def _best_threshold(
    members: Any, scores: Any, grid: Any, choice: ThresholdChoice, level: float
) -> float:
    """The eligible grid threshold with the largest lower bound on epsilon (see the module
    docstring), each interval at ``level``."""
    counts = counts_at_thresholds(members, scores, grid)
    called = np.asarray(counts["tp"]) + np.asarray(counts["fp"])
    side = np.minimum(called, members.size - called)
    eligible = (side >= MIN_SIDE_ROWS) | (side == side.max())
    lower = np.where(eligible, _lower_bounds(counts, choice, level), -np.inf)
    # ties (all 0 for an attack near chance) go to the most balanced threshold
    best = np.lexsort((side, lower))[-1]
    return float(grid[int(best)])


def _protocol(choice: ThresholdChoice, grid_size: int, level: float) -> str:
    """One line that says how the threshold was chosen and what the interval means."""
    how = (
        f"threshold maximising the {choice.method} lower bound over {grid_size} score "
        f"quantiles (>= {MIN_SIDE_ROWS} rows on each side; ties to the most balanced)"
    )
    if choice.threshold == "split":
        share = f"{choice.split_fraction:.0%}"
        return f"split: {how}, chosen on {share} of the rows, estimated on the rest"
    return (
        f"bonferroni: {how}, every interval at {level:.6g} so that all {grid_size} hold "
        f"together at {choice.confidence:g}"
    )


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
        "selection_method": choice.method,
        "protocol": _protocol(choice, int(grid.size), choice.confidence),
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
        "selection_method": choice.method,
        "protocol": _protocol(choice, int(grid.size), level),
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
            values.astype(bool),
            everything,
            choice.confidence,
            {"threshold_strategy": "guess", "protocol": "guess: the attack's own 0/1 calls"},
        )
    if not isinstance(threshold, str):
        cut = float(threshold)
        details: dict[str, Any] = {
            "threshold_strategy": "fixed",
            "threshold": cut,
            "protocol": f"fixed: threshold {cut:g} given beforehand, every row estimates",
        }
        return Calls(values >= cut, everything, choice.confidence, details)
    if threshold == "split":
        return _split(members, values, models, choice, seed)
    return _bonferroni(members, values, choice)
