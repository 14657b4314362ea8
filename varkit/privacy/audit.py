"""Auditing epsilon from a membership-inference log: threshold, counts, intervals, per model.

:func:`audit_epsilon` is the privacy domain's front door: it takes the log (a DataFrame, a
CSV/Parquet file or a glob, or the columns as arrays), validates it once, turns scores into
member calls (:mod:`varkit.privacy.thresholds`: a fixed threshold, or one chosen on held-out
rows or over a Bonferroni-corrected grid, so that the choice does not overstate epsilon),
counts the calls, and estimates epsilon with the Bayesian and/or the Clopper-Pearson method,
pooled and per model.

Several challenge points per trained model (the paper's heuristic, Sec. 5) are pooled as if
independent; ``model_id`` keeps a per-model breakdown. Pooling is a heuristic: points that
influence each other's membership make the intervals optimistic.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from varkit.checks import resolve_seed
from varkit.errors import VarkitError, VarkitTypeError
from varkit.io import check_array
from varkit.privacy.accountant import (
    DpSgd,
    accountant_results,
    validate_accountant,
    validate_accounting_delta,
    validate_dp_sgd,
)
from varkit.privacy.attack import _validate_member_score, attack_roc, tpr_at_fpr
from varkit.privacy.bayes import bayesian_epsilon
from varkit.privacy.clopper_pearson import clopper_pearson_epsilon
from varkit.privacy.counts import (
    AttackCounts,
    validate_bound,
    validate_confidence,
    validate_delta,
)
from varkit.privacy.gdp import gdp_audit
from varkit.privacy.logs import AttackLog, is_log, read_attack_log
from varkit.privacy.thresholds import STRATEGIES, Calls, ThresholdChoice, call_members
from varkit.results import Result, ResultSet, make_provenance

__all__ = ["METHODS", "audit_epsilon"]

#: The estimation methods; ``both`` gives the Bayesian and the Clopper-Pearson results.
METHODS = ("bayes", "clopper-pearson", "both")
_ESTIMATORS = {"bayes": bayesian_epsilon, "clopper-pearson": clopper_pearson_epsilon}


@dataclass(frozen=True)
class _Audit:
    """The validated arguments of :func:`audit_epsilon`."""

    members: Any
    values: Any
    models: Any
    deltas: tuple[float, ...]
    methods: tuple[str, ...]
    bound: str
    confidence: float
    choice: ThresholdChoice
    tpr_fprs: tuple[float, ...]
    dp_sgd: DpSgd | None = None
    accountant: str = "pld"
    gdp: bool = False


def _names(from_log: bool) -> dict[str, str]:
    """How messages name the score and guess inputs: columns of a log, or arrays."""
    if from_log:
        return {"score": "a score column", "guess": "`guess_col`"}
    return {"score": "`score`", "guess": "`guess`"}


def _validate_threshold(threshold: Any) -> str | float:
    if threshold is None:
        return "split"
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
    return threshold


def _validate_settings(
    *, n_thresholds: Any, split_fraction: Any, tpr_at_fpr: Any
) -> tuple[int, float, tuple[float, ...]]:
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
    fprs = (tpr_at_fpr,) if isinstance(tpr_at_fpr, numbers.Real) else tuple(tpr_at_fpr)
    return int(n_thresholds), float(split_fraction), fprs


def _validate_theory(dp_sgd: dict[str, Any] | None, deltas: tuple[float, ...]) -> DpSgd | None:
    """The DP-SGD parameters, given all three or none, with a delta > 0 for each result."""
    missing = [name for name, value in (dp_sgd or {}).items() if value is None]
    if dp_sgd is None or len(missing) == len(dp_sgd):
        return None
    if missing:
        listed = " and ".join(f"`{name}`" for name in missing)
        raise VarkitError(
            f"{listed} {'is' if len(missing) == 1 else 'are'} missing: the theoretical "
            "epsilon needs `noise_multiplier`, `sample_rate` and `steps` together."
        )
    run = validate_dp_sgd(**dp_sgd)
    for delta in deltas:
        validate_accounting_delta(delta)
    return run


def _validate_audit(
    data: AttackLog,
    *,
    delta: Any,
    method: Any,
    threshold: Any,
    bound: Any,
    confidence: Any,
    n_thresholds: Any,
    split_fraction: Any,
    tpr_at_fpr: Any = (),
    dp_sgd: dict[str, Any] | None = None,
    accountant: Any = "pld",
    gdp: Any = False,
) -> _Audit:
    member, score, guess, model_id = data.member, data.score, data.guess, data.model_id
    names = _names(data.from_log)
    if (score is None) == (guess is None):
        raise VarkitError("Pass exactly one of `score` and `guess`.")
    if guess is not None:
        if threshold is not None:
            raise VarkitError(f"`threshold` applies to {names['score']}, not to {names['guess']}.")
        members, values = _validate_member_score(member, guess, "guess")
    else:
        members, values = _validate_member_score(member, score)
        threshold = _validate_threshold(threshold)
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
    deltas = tuple(validate_delta(d) for d in deltas_in)
    if method not in METHODS:
        raise VarkitError(f"`method` must be 'bayes', 'clopper-pearson' or 'both', got {method!r}.")
    bound, confidence = validate_bound(bound), validate_confidence(confidence)
    n_thresholds, split_fraction, fprs = _validate_settings(
        n_thresholds=n_thresholds, split_fraction=split_fraction, tpr_at_fpr=tpr_at_fpr
    )
    if fprs and guess is not None:
        raise VarkitError(f"`tpr_at_fpr` needs {names['score']}, not {names['guess']}.")
    accountant = validate_accountant(accountant)
    run = _validate_theory(dp_sgd, deltas)
    if not isinstance(gdp, bool):
        raise VarkitTypeError(f"`gdp` must be True or False, got {gdp!r}.")
    return _Audit(
        members=members,
        values=values,
        models=models,
        deltas=deltas,
        methods=("bayes", "clopper-pearson") if method == "both" else (method,),
        bound=bound,
        confidence=confidence,
        choice=ThresholdChoice(
            threshold,
            deltas[0],
            confidence,
            bound,
            n_thresholds,
            split_fraction,
            "clopper-pearson" if method == "clopper-pearson" else "bayes",
        ),
        tpr_fprs=fprs,
        dp_sgd=run,
        accountant=accountant,
        gdp=gdp,
    )


def _read(log: Any, score: Any, guess: Any, model_id: Any, columns: dict[str, Any]) -> AttackLog:
    """The log's columns as arrays, or the arrays as given (``log`` is then ``member``)."""
    if is_log(log):
        if score is not None or guess is not None or model_id is not None:
            raise VarkitError(
                "`score`, `guess` and `model_id` are arrays that go with a `member` array; "
                "with a log, name its columns with `score_col`, `guess_col` and `model_col`."
            )
        return read_attack_log(log, **columns)
    if columns != _COLUMN_DEFAULTS:
        given = next(k for k in columns if columns[k] != _COLUMN_DEFAULTS[k])
        raise VarkitError(
            f"`{given}` names a column of a log, but a `member` array was given; pass "
            "`score`, `guess` and `model_id` as arrays beside it."
        )
    return AttackLog(member=log, score=score, guess=guess, model_id=model_id)


_COLUMN_DEFAULTS = {
    "member_col": "member",
    "score_col": None,
    "guess_col": None,
    "model_col": "model_id",
}


def _estimates(args: _Audit, calls: Calls, rows: Any, group: dict[str, str]) -> list[Result]:
    """One result per method and delta from the calls on ``rows``."""
    counts = AttackCounts.from_calls(args.members[rows], calls.called[rows]).as_dict()
    details = {"score_direction": "higher score means member", **calls.details}
    results = []
    for method in args.methods:
        for delta in args.deltas:
            r = _ESTIMATORS[method](**counts, delta=delta, confidence=calls.level, bound=args.bound)
            results.append(
                r.replace(
                    confidence=args.confidence,
                    group={"delta": f"{delta:g}", **group},
                    details={**r.details, **details},
                )
            )
    return results


def _gdp(args: _Audit, calls: Calls) -> list[Result]:
    """The Gaussian-DP audit of the pooled calls: mu, then epsilon at each delta."""
    if not args.gdp:
        return []
    rows = calls.estimate_rows
    counts: dict[str, Any] = AttackCounts.from_calls(
        args.members[rows], calls.called[rows]
    ).as_dict()
    audit = gdp_audit(**counts, delta=args.deltas, confidence=calls.level, bound=args.bound)
    return [
        r.replace(confidence=args.confidence, details={**r.details, **calls.details}) for r in audit
    ]


def _per_model(args: _Audit, calls: Calls) -> tuple[list[Result], list[str]]:
    """The per-model results, and the models whose estimation rows hold one class only."""
    results: list[Result] = []
    skipped: list[str] = []
    for model in np.unique(args.models):
        rows = calls.estimate_rows & (args.models == model)
        if args.members[rows].all() or not args.members[rows].any():
            skipped.append(str(model))
            continue
        results.extend(_estimates(args, calls, rows, {"model_id": str(model)}))
    return results, skipped


def _attack_summary(args: _Audit) -> list[Result]:
    """TPR at each requested FPR and the ROC's AUC (none unless ``tpr_at_fpr``)."""
    if not args.tpr_fprs:
        return []
    conf = args.confidence
    summary = [tpr_at_fpr(args.members, args.values, f, confidence=conf) for f in args.tpr_fprs]
    return [*summary, attack_roc(args.members, args.values, confidence=conf)]


def _ratio(audited: Result, theory: Result) -> Result:
    """The audited epsilon (estimate and interval) over the theoretical one."""
    eps = theory.estimate

    def over(x: float) -> float:
        # an accountant may give 0 (no privacy loss at all): any audited epsilon is then
        # infinitely above it
        if eps > 0:
            return x / eps
        return math.inf if x > 0 else math.nan

    low, high = audited.ci_low, audited.ci_high
    return Result(
        metric="epsilon_ratio",
        estimate=over(audited.estimate),
        ci_low=None if low is None else over(low),
        ci_high=None if high is None else over(high),
        confidence=audited.confidence,
        method=f"{audited.method} / {theory.method}",
        n=audited.n,
        alternative=audited.alternative,
        group=audited.group,
        details={"audited": audited.method, "theoretical_epsilon": eps},
    )


def _beside_theory(args: _Audit, results: list[Result]) -> list[Result]:
    """The results, the theoretical epsilon at each delta and, for each pooled result,
    the audited over the theoretical epsilon (``ci_low`` over it: ``audit_ratio``)."""
    if args.dp_sgd is None:
        return results
    theory = accountant_results(args.dp_sgd, args.deltas, args.accountant)
    by_delta = {r.group["delta"]: r for r in theory}
    marked, ratios = [], []
    for r in results:
        if "model_id" not in r.group:
            ratio = _ratio(r, by_delta[r.group["delta"]])
            extra = {"theoretical_epsilon": ratio.details["theoretical_epsilon"]}
            r = r.replace(details={**r.details, **extra, "audit_ratio": ratio.ci_low})
            ratios.append(ratio)
        marked.append(r)
    return marked + theory + ratios


def audit_epsilon(
    log: pd.DataFrame | str | os.PathLike[str] | ArrayLike,
    score: ArrayLike | None = None,
    *,
    guess: ArrayLike | None = None,
    model_id: ArrayLike | None = None,
    member_col: str = "member",
    score_col: str | None = None,
    guess_col: str | None = None,
    model_col: str = "model_id",
    delta: float | Sequence[float] = 0.0,
    method: str = "bayes",
    threshold: str | float | None = None,
    bound: str = "two-sided",
    confidence: float = 0.95,
    n_thresholds: int = 20,
    split_fraction: float = 0.5,
    tpr_at_fpr: float | Sequence[float] = (),
    random_state: Any = None,
    noise_multiplier: float | None = None,
    sample_rate: float | None = None,
    steps: int | None = None,
    accountant: str = "pld",
    gdp: bool = False,
) -> ResultSet:
    """Estimate the epsilon a membership-inference attack demonstrates, from its raw log.

    Parameters
    ----------
    log : DataFrame, str, path-like or array_like of 0/1
        The membership-inference log, one row per challenge point: a DataFrame, a CSV or
        Parquet file, or a glob of such files (read in name order, as one table). Its
        columns are named by ``member_col``, ``score_col`` or ``guess_col`` and
        ``model_col``. Or, with ``score`` or ``guess`` arrays, the ``member`` array itself:
        1 for challenge points that were in the training set.
    score : array_like of float, optional
        With a ``member`` array: attack scores, higher meaning "member". Give this or
        ``guess``.
    guess : array_like of 0/1, optional
        With a ``member`` array: the attack's own guesses (no threshold to choose).
    model_id : array_like, optional
        With a ``member`` array: the trained model each challenge point belongs to; pooled,
        with a per-model breakdown (every method and delta, same threshold) in the results.
    member_col, score_col, guess_col, model_col : str, optional
        With a log: its 0/1 membership column (default ``'member'``), its score column
        (default ``'score'``) or instead its 0/1 guess column, and its trained-model column
        (default ``'model_id'``, used when the log has it).
    delta : float or sequence of float, default 0
        One result per delta: an epsilon(delta) curve for one attack (one threshold).
    method : {'bayes', 'clopper-pearson', 'both'}, default 'bayes'
    threshold : {'split', 'bonferroni'} or float, optional
        How to pick the threshold for ``score`` (default ``'split'``; see the module
        docstring), or a fixed threshold chosen beforehand; ``details['protocol']`` says
        which, and by which estimator's lower bound (the one reported first).
    bound : {'two-sided', 'lower'}, default 'two-sided'
    confidence : float, default 0.95
        Confidence (credible) level; under ``'bonferroni'`` each of the ``m`` grid
        intervals is computed at ``1 - (1 - confidence)/m``.
    n_thresholds : int, default 20
        Size of the threshold grid.
    split_fraction : float, default 0.5
        Share of the rows spent on choosing the threshold under ``'split'``.
    tpr_at_fpr : float or sequence of float, optional
        Also report the attack's TPR at each of these FPRs (:func:`tpr_at_fpr`) and the
        ROC's AUC (:func:`attack_roc`), after the epsilon results; needs scores.
    random_state : None, int or numpy.random.Generator
        Seeds the split; turned into one integer seed (drawn fresh when None) that is
        written in the provenance, so the same seed gives the same results.
    noise_multiplier, sample_rate, steps : optional
        DP-SGD's parameters, all three or none: then the theoretical epsilon at each
        delta (> 0) is computed too (:func:`theoretical_epsilon`, with ``accountant``).
    accountant : {'pld', 'rdp', 'prv'}, default 'pld'
    gdp : bool, default False
        Also the Gaussian-DP audit of the pooled calls (:func:`~varkit.privacy.gdp_audit`),
        before the attack summary.

    Returns
    -------
    ResultSet
        ``metric='epsilon'`` results, one per method and delta (``group={'delta': ...}``),
        then one per model, method and delta (``group={'delta': ..., 'model_id': ...}``);
        a model whose estimation rows hold only one class is listed in the pooled
        results' ``details['models_without_both_classes']`` instead.
        ``details`` say how the threshold was chosen and how many rows went into it.
        With DP-SGD parameters, one ``metric='theoretical_epsilon'`` result per delta
        follows, then for each pooled result its ``metric='epsilon_ratio'``: estimate
        and interval over the theoretical epsilon (``ci_low`` above 1 contradicts the
        claimed guarantee); the pooled results' ``details`` add ``theoretical_epsilon``
        and ``audit_ratio`` (their ``ci_low`` over it).
        The provenance names the function, the files read, the seed and the device.

    Examples
    --------
    A log (here the bundled example; a path or a glob of files reads the same), with a
    threshold chosen on half of the rows:

    >>> from varkit.datasets import load_mia_example
    >>> from varkit.privacy import audit_epsilon
    >>> log = load_mia_example()
    >>> rs = audit_epsilon(log, delta=1e-5, random_state=0)
    >>> pooled = rs[0]
    >>> pooled.method, pooled.n, round(pooled.ci_low, 2), round(pooled.ci_high, 2)
    ('bayes-jeffreys', 1600, 1.87, 4.29)
    >>> len(rs), rs[1].group                    # then one result per model
    (9, {'delta': '1e-05', 'model_id': 'm0'})

    The same columns as arrays, every row estimating over a Bonferroni-corrected grid:

    >>> rs = audit_epsilon(log["member"], log["score"], delta=1e-5, threshold="bonferroni",
    ...                    method="both", random_state=0)
    >>> [(r.method, round(r.ci_low, 2), round(r.ci_high, 2)) for r in rs]
    [('bayes-jeffreys', 1.75, 3.8), ('clopper-pearson', 1.49, 4.2)]
    """
    columns = {
        "member_col": member_col,
        "score_col": score_col,
        "guess_col": guess_col,
        "model_col": model_col,
    }
    data = _read(log, score, guess, model_id, columns)
    args = _validate_audit(
        data,
        delta=delta,
        method=method,
        threshold=threshold,
        bound=bound,
        confidence=confidence,
        n_thresholds=n_thresholds,
        split_fraction=split_fraction,
        tpr_at_fpr=tpr_at_fpr,
        dp_sgd={"noise_multiplier": noise_multiplier, "sample_rate": sample_rate, "steps": steps},
        accountant=accountant,
        gdp=gdp,
    )
    # One seed, drawn here when none is given, drives the split and goes in the provenance.
    seed = resolve_seed(random_state)
    calls = call_members(args.members, args.values, args.models, args.choice, seed)
    results = _estimates(args, calls, calls.estimate_rows, {})
    if args.models is not None:
        per_model, skipped = _per_model(args, calls)
        if skipped:
            note = {"models_without_both_classes": skipped}
            results = [r.replace(details={**r.details, **note}) for r in results]
        results.extend(per_model)
    provenance = make_provenance(
        function="varkit.privacy.audit_epsilon", inputs=data.inputs, seed=seed, device="cpu"
    )
    results = _beside_theory(args, results) + _gdp(args, calls)
    return ResultSet(tuple(results + _attack_summary(args)), provenance=provenance)
