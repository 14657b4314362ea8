"""Auditing epsilon from a membership-inference log: threshold, counts, intervals, per model.

The attack turns scores into guesses with a threshold. Picking the threshold that gives the
largest epsilon and then reporting that epsilon's interval from the same data (what
privacy-estimates' ``compute_privacy_curve_lo_hi`` and TF-Privacy's ``EpsilonLowerBound``
do over every ROC threshold) overstates epsilon. Two honest strategies are offered, as in
jax_privacy's ``CanaryScoreAuditor``:

``split``
    Choose the threshold on a random part of the rows (``split_fraction``, stratified by
    model and membership) and estimate on the rest; the rows spent on the choice are
    counted in ``details``.
``bonferroni``
    Evaluate a grid of ``n_thresholds`` thresholds fixed from the scores alone (label-free
    quantiles) and compute every interval at level ``1 - alpha/m``; all m hold at once with
    probability ``1 - alpha``, so the one reported (the largest lower bound) does too.

Several challenge points per trained model (the paper's heuristic, Sec. 5) are pooled as if
independent; ``model_id`` keeps a per-model breakdown. Pooling is a heuristic: points that
influence each other's membership make the intervals optimistic.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from statsmodels.stats.proportion import proportion_confint

from varkit.checks import CONFIDENCE_MAX, resolve_seed
from varkit.errors import VarkitError, VarkitTypeError
from varkit.io import check_array
from varkit.privacy.attack import _validate_member_score, counts_at_thresholds
from varkit.privacy.bayes import bayesian_epsilon
from varkit.privacy.bounds import _epsilon_range_over_box
from varkit.privacy.clopper_pearson import clopper_pearson_epsilon
from varkit.privacy.counts import (
    AttackCounts,
    validate_bound,
    validate_confidence,
    validate_delta,
)
from varkit.results import Result, ResultSet, make_provenance

__all__ = ["audit_epsilon"]

METHODS = ("bayes", "clopper-pearson", "both")
STRATEGIES = ("split", "bonferroni")


def _validate_audit(
    member: Any,
    score: Any,
    guess: Any,
    model_id: Any,
    delta: Any,
    method: Any,
    threshold: Any,
    bound: Any,
    confidence: Any,
    n_thresholds: Any,
    split_fraction: Any,
) -> dict[str, Any]:
    if (score is None) == (guess is None):
        raise VarkitError("Pass exactly one of `score` and `guess`.")
    if guess is not None:
        if threshold is not None:
            raise VarkitError("`threshold` applies to `score`, not to `guess`.")
        members, values = _validate_member_score(member, guess, "guess")
    else:
        members, values = _validate_member_score(member, score)
        if threshold is None:
            threshold = "split"
        if isinstance(threshold, str):
            if threshold not in STRATEGIES:
                raise VarkitError(
                    f"`threshold` must be 'split', 'bonferroni' or a number, got {threshold!r}."
                )
        elif isinstance(threshold, bool) or not isinstance(threshold, numbers.Real):
            raise VarkitTypeError(
                f"`threshold` must be 'split', 'bonferroni' or a number, got {threshold!r}."
            )
        elif math.isnan(float(threshold)):
            raise VarkitError("`threshold` must not be NaN.")
    models = None
    if model_id is not None:
        models = check_array(model_id, "model_id", kind="label")
        if models.shape != members.shape:
            raise VarkitError(
                f"`model_id` and `member` must have the same length, got {models.size} "
                f"and {members.size}."
            )
    deltas_in = [delta] if isinstance(delta, numbers.Real) else list(delta)
    if not deltas_in:
        raise VarkitError("`delta` must hold at least one value.")
    deltas = [validate_delta(d) for d in deltas_in]
    if method not in METHODS:
        raise VarkitError(f"`method` must be 'bayes', 'clopper-pearson' or 'both', got {method!r}.")
    if isinstance(n_thresholds, bool) or not isinstance(n_thresholds, numbers.Integral):
        raise VarkitTypeError(f"`n_thresholds` must be a positive integer, got {n_thresholds!r}.")
    if n_thresholds < 1:
        raise VarkitError(f"`n_thresholds` must be a positive integer, got {n_thresholds}.")
    if isinstance(split_fraction, bool) or not isinstance(split_fraction, numbers.Real):
        raise VarkitTypeError(
            f"`split_fraction` must be a number in (0, 1), got {split_fraction!r}."
        )
    if not 0.0 < float(split_fraction) < 1.0:
        raise VarkitError(f"`split_fraction` must be in (0, 1), got {split_fraction}.")
    return {
        "members": members,
        "values": values,
        "is_guess": guess is not None,
        "models": models,
        "deltas": deltas,
        "methods": ["bayes", "clopper-pearson"] if method == "both" else [method],
        "threshold": threshold,
        "bound": validate_bound(bound),
        "confidence": validate_confidence(confidence),
        "n_thresholds": int(n_thresholds),
        "split_fraction": float(split_fraction),
    }


def _threshold_grid(scores: Any, n_thresholds: int) -> Any:
    """Label-free candidate thresholds: interior quantiles of the scores."""
    # more levels than scores only repeat thresholds (and would allocate for nothing)
    n_levels = min(n_thresholds, scores.size)
    levels = np.linspace(0.0, 1.0, n_levels + 2)[1:-1]
    return np.unique(np.quantile(scores, levels, method="inverted_cdf"))


def _cp_lower_bounds(counts: dict[str, Any], delta: float, alpha: Any) -> Any:
    """Clopper-Pearson lower bounds on epsilon (bound='lower' convention), vectorised."""
    fpr_lo, fpr_hi = proportion_confint(counts["fp"], counts["fp"] + counts["tn"], alpha, "beta")
    fnr_lo, fnr_hi = proportion_confint(counts["fn"], counts["fn"] + counts["tp"], alpha, "beta")
    low, _ = _epsilon_range_over_box(
        np.asarray(fpr_lo), np.asarray(fpr_hi), np.asarray(fnr_lo), np.asarray(fnr_hi), delta
    )
    return low


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


def _estimate(
    method: str, counts: AttackCounts, delta: float, confidence: float, bound: str
) -> Result:
    function = bayesian_epsilon if method == "bayes" else clopper_pearson_epsilon
    return function(**counts.as_dict(), delta=delta, confidence=confidence, bound=bound)


def _counts(members: Any, called: Any) -> AttackCounts:
    return AttackCounts(
        fp=int((called & ~members).sum()),
        fn=int((~called & members).sum()),
        tn=int((~called & ~members).sum()),
        tp=int((called & members).sum()),
    )


def audit_epsilon(
    member: ArrayLike,
    score: ArrayLike | None = None,
    *,
    guess: ArrayLike | None = None,
    model_id: ArrayLike | None = None,
    delta: float | Sequence[float] = 0.0,
    method: str = "bayes",
    threshold: str | float | None = None,
    bound: str = "two-sided",
    confidence: float = 0.95,
    n_thresholds: int = 20,
    split_fraction: float = 0.5,
    random_state: Any = None,
) -> ResultSet:
    """Estimate the epsilon a membership-inference attack demonstrates, from its raw log.

    Parameters
    ----------
    member : array_like of 0/1
        1 for challenge points that were in the training set.
    score : array_like of float, optional
        Attack scores, higher meaning "member". Give this or ``guess``.
    guess : array_like of 0/1, optional
        The attack's own guesses (no threshold to choose).
    model_id : array_like, optional
        The trained model each challenge point belongs to; pooled, with a per-model
        breakdown (every method and delta, same threshold) in the results.
    delta : float or sequence of float, default 0
        One result per delta: an epsilon(delta) curve for one attack (one threshold).
    method : {'bayes', 'clopper-pearson', 'both'}, default 'bayes'
    threshold : {'split', 'bonferroni'} or float, optional
        How to pick the threshold for ``score`` (default ``'split'``; see the module
        docstring), or a fixed threshold chosen beforehand. Selection maximises the
        Clopper-Pearson lower bound on epsilon at the first delta.
    bound : {'two-sided', 'lower'}, default 'two-sided'
    confidence : float, default 0.95
        Confidence (credible) level; under ``'bonferroni'`` each of the ``m`` grid
        intervals is computed at ``1 - (1 - confidence)/m``.
    n_thresholds : int, default 20
        Size of the threshold grid.
    split_fraction : float, default 0.5
        Share of the rows spent on choosing the threshold under ``'split'``.
    random_state : None, int or numpy.random.Generator
        Seeds the split; turned into one integer seed (drawn fresh when None) that is
        written in the provenance, so the same seed gives the same results.

    Returns
    -------
    ResultSet
        ``metric='epsilon'`` results, one per method and delta (``group={'delta': ...}``),
        then one per model, method and delta (``group={'delta': ..., 'model_id': ...}``);
        a model whose estimation rows hold only one class is listed in the pooled
        results' ``details['models_without_both_classes']`` instead.
        ``details`` say how the threshold was chosen and how many rows went into it.

    Examples
    --------
    >>> import numpy as np
    >>> from varkit.privacy import audit_epsilon
    >>> rng = np.random.default_rng(0)
    >>> member = rng.integers(0, 2, 4000)
    >>> score = rng.normal(1.5 * member, 1.0)
    >>> rs = audit_epsilon(member, score, delta=1e-5, threshold="bonferroni",
    ...                    method="both", random_state=0)
    >>> [(r.method, round(r.ci_low, 2), round(r.ci_high, 2)) for r in rs]
    [('bayes-jeffreys', 2.67, 4.45), ('clopper-pearson', 2.46, 4.74)]
    """
    args = _validate_audit(
        member, score, guess, model_id, delta, method, threshold, bound,
        confidence, n_thresholds, split_fraction,
    )  # fmt: skip
    members, values, models = args["members"], args["values"], args["models"]
    # One seed, drawn here when none is given, drives the split and goes in the provenance.
    seed = resolve_seed(random_state)
    deltas, conf, bound = args["deltas"], args["confidence"], args["bound"]
    estimate_rows = np.ones(members.size, dtype=bool)
    level = conf
    info: dict[str, Any] = {"score_direction": "higher score means member"}
    if args["is_guess"]:
        called = values.astype(bool)
        info.update(threshold_strategy="guess")
    elif not isinstance(args["threshold"], str):
        cut = float(args["threshold"])
        called = values >= cut
        info.update(threshold_strategy="fixed", threshold=cut)
    elif args["threshold"] == "split":
        rng = np.random.default_rng(seed)
        select = _split_rows(members, models, args["split_fraction"], rng)
        estimate_rows = ~select
        for part, name in ((select, "selection"), (estimate_rows, "estimation")):
            if members[part].all() or not members[part].any():
                raise VarkitError(
                    f"`member` needs more rows of each class for threshold='split': the "
                    f"{name} part holds only one class."
                )
        grid = _threshold_grid(values[select], args["n_thresholds"])
        rate_alpha = 1.0 - conf if bound == "lower" else (1.0 - conf) / 2.0
        lower = _cp_lower_bounds(
            counts_at_thresholds(members[select], values[select], grid), deltas[0], rate_alpha
        )
        cut = float(grid[int(np.argmax(lower))])
        called = values >= cut
        info.update(
            threshold_strategy="split",
            threshold=cut,
            n_thresholds=int(grid.size),
            split_fraction=args["split_fraction"],
            excluded_rows={"threshold_selection": int(select.sum())},
        )
    else:
        grid = _threshold_grid(values, args["n_thresholds"])
        level = 1.0 - (1.0 - conf) / grid.size
        if level > CONFIDENCE_MAX:
            raise VarkitError(
                f"`confidence`={conf:.12g} over {grid.size} Bonferroni thresholds needs "
                f"{level:.12g} per threshold, above the {CONFIDENCE_MAX} varkit computes; "
                "lower the confidence or `n_thresholds`, or use threshold='split'."
            )
        rate_alpha = 1.0 - level if bound == "lower" else (1.0 - level) / 2.0
        lower = _cp_lower_bounds(counts_at_thresholds(members, values, grid), deltas[0], rate_alpha)
        cut = float(grid[int(np.argmax(lower))])
        called = values >= cut
        info.update(
            threshold_strategy="bonferroni",
            threshold=cut,
            n_thresholds=int(grid.size),
            per_threshold_confidence=level,
        )
    pooled = _counts(members[estimate_rows], called[estimate_rows])
    results = []
    for method_name in args["methods"]:
        for d in deltas:
            r = _estimate(method_name, pooled, d, level, bound)
            results.append(
                r.replace(confidence=conf, group={"delta": f"{d:g}"}, details={**r.details, **info})
            )
    if models is not None:
        skipped = []
        for model in np.unique(models):
            rows = estimate_rows & (models == model)
            if members[rows].all() or not members[rows].any():
                skipped.append(str(model))
                continue
            counts = _counts(members[rows], called[rows])
            for method_name in args["methods"]:
                for d in deltas:
                    r = _estimate(method_name, counts, d, level, bound)
                    results.append(
                        r.replace(
                            confidence=conf,
                            group={"delta": f"{d:g}", "model_id": str(model)},
                            details={**r.details, **info},
                        )
                    )
        if skipped:
            note = {"models_without_both_classes": skipped}
            results = [
                r.replace(details={**r.details, **note}) if "model_id" not in r.group else r
                for r in results
            ]
    return ResultSet(
        tuple(results),
        provenance=make_provenance(function="varkit.privacy.audit_epsilon", seed=seed),
    )
