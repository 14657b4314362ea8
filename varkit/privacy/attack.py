"""From raw attack output to counts: thresholds, ROC and TPR at a low FPR.

A membership-inference log holds one row per challenge point: ``member`` (1 when the point
was in the training set) and either a ``score`` (higher means "member") or a 0/1 ``guess``.
The functions here turn it into :class:`~varkit.privacy.AttackCounts` at a threshold,
evaluate many thresholds at once, and summarise the attack's ROC. Choosing the threshold
that maximises epsilon on the same data that then estimates it overstates epsilon; see
:func:`~varkit.privacy.audit_epsilon` for the held-out and Bonferroni strategies.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import norm
from sklearn.metrics import roc_auc_score, roc_curve
from statsmodels.stats.proportion import proportion_confint

from varkit.errors import VarkitError, VarkitTypeError
from varkit.io import check_array
from varkit.privacy.counts import AttackCounts, validate_confidence
from varkit.results import Result

__all__ = ["attack_counts", "attack_roc", "counts_at_thresholds", "tpr_at_fpr"]


def _validate_member_score(member: Any, score: Any, name: str = "score") -> tuple[Any, Any]:
    members = check_array(member, "member", kind="binary")
    scores = check_array(score, name, kind="binary" if name == "guess" else "float")
    if members.shape != scores.shape:
        raise VarkitError(
            f"`member` and `{name}` must have the same length, got {members.size} and "
            f"{scores.size}."
        )
    n_members = int(members.sum())
    if n_members == 0 or n_members == members.size:
        only = "members" if n_members else "non-members"
        raise VarkitError(f"`member` must contain both classes, but it holds only {only}.")
    return members.astype(bool), scores.astype(float)


def counts_at_thresholds(member: Any, score: Any, thresholds: ArrayLike) -> dict[str, Any]:
    """Confusion counts of the rule ``score >= t`` for every threshold ``t`` at once.

    Unvalidated helper (``member`` a bool array, ``score`` a float array): sorts once and
    counts with ``searchsorted``, O((n + m) log n) for m thresholds.

    Returns
    -------
    dict
        Arrays ``fp``, ``fn``, ``tn``, ``tp`` (int64), one entry per threshold.

    Examples
    --------
    >>> import numpy as np
    >>> from varkit.privacy import attack_counts, counts_at_thresholds
    >>> member = np.array([1, 1, 0, 0, 1], dtype=bool)
    >>> score = np.array([0.9, 0.2, 0.4, 0.1, 0.7])
    >>> counts = counts_at_thresholds(member, score, [0.15, 0.5])
    >>> {k: v.tolist() for k, v in counts.items()}
    {'fp': [1, 0], 'fn': [0, 1], 'tn': [1, 2], 'tp': [3, 2]}
    >>> attack_counts(member, score, threshold=0.5)     # the second threshold, validated
    AttackCounts(fp=0, fn=1, tn=2, tp=2)
    """
    t = np.asarray(thresholds, dtype=float)
    pos = np.sort(score[member])
    neg = np.sort(score[~member])
    tp = pos.size - np.searchsorted(pos, t, side="left")
    fp = neg.size - np.searchsorted(neg, t, side="left")
    return {"fp": fp, "fn": pos.size - tp, "tn": neg.size - fp, "tp": tp}


def attack_counts(
    member: ArrayLike,
    score: ArrayLike | None = None,
    *,
    threshold: float | None = None,
    guess: ArrayLike | None = None,
) -> AttackCounts:
    """Confusion counts of an attack, from scores and a threshold or from 0/1 guesses.

    Parameters
    ----------
    member : array_like of 0/1
        1 for challenge points that were in the training set.
    score : array_like of float, optional
        Attack scores, higher meaning "member"; the attack guesses member when
        ``score >= threshold``.
    threshold : float, optional
        Required with ``score``.
    guess : array_like of 0/1, optional
        The attack's guesses, instead of ``score`` and ``threshold``.

    Returns
    -------
    AttackCounts

    Examples
    --------
    >>> from varkit.privacy import attack_counts
    >>> attack_counts([1, 1, 0, 0, 1], [0.9, 0.2, 0.4, 0.1, 0.7], threshold=0.5)
    AttackCounts(fp=0, fn=1, tn=2, tp=2)
    >>> attack_counts([1, 0, 0], guess=[1, 1, 0])
    AttackCounts(fp=1, fn=0, tn=1, tp=1)
    """
    if (score is None) == (guess is None):
        raise VarkitError("Pass exactly one of `score` (with `threshold`) and `guess`.")
    if guess is not None:
        if threshold is not None:
            raise VarkitError("`threshold` applies to `score`, not to `guess`.")
        members, guesses = _validate_member_score(member, guess, "guess")
        called = guesses.astype(bool)
    else:
        if threshold is None or isinstance(threshold, bool):
            raise VarkitTypeError("`threshold` must be a number when `score` is given.")
        t = float(threshold)
        if math.isnan(t):
            raise VarkitError("`threshold` must not be NaN.")
        members, scores = _validate_member_score(member, score)
        called = scores >= t
    return AttackCounts.from_calls(members, called)


def tpr_at_fpr(
    member: ArrayLike, score: ArrayLike, fpr: float = 0.001, *, confidence: float = 0.95
) -> Result:
    """The attack's true-positive rate at a fixed low false-positive rate, with an interval.

    The threshold is the lowest that keeps the empirical FPR at most ``fpr`` (set from the
    non-members' scores only), so the Clopper-Pearson interval for the TPR, computed from
    the members, is exact conditionally on it (Carlini et al. 2022, "Membership Inference
    Attacks From First Principles", report TPR at FPR 0.1% and 0.001%).

    Parameters
    ----------
    member : array_like of 0/1
    score : array_like of float
        Higher means "member".
    fpr : float, default 0.001
        Target false-positive rate in [0, 1).
    confidence : float, default 0.95

    Returns
    -------
    Result
        ``metric='tpr_at_fpr'``, ``method='clopper-pearson'``, ``group={'fpr': ...}``;
        ``details`` holds the threshold, the achieved FPR and its interval, and the counts.

    Examples
    --------
    >>> import numpy as np
    >>> from varkit.privacy import tpr_at_fpr
    >>> rng = np.random.default_rng(0)
    >>> member = rng.integers(0, 2, 20000)
    >>> score = rng.normal(2.0 * member, 1.0)
    >>> r = tpr_at_fpr(member, score, fpr=0.01)
    >>> r.details["achieved_fpr"] <= 0.01, round(r.estimate, 2)   # true value 0.37
    (True, 0.36)
    """
    members, scores = _validate_member_score(member, score)
    if isinstance(fpr, bool) or not isinstance(fpr, (int, float)) or not 0.0 <= fpr < 1.0:
        raise VarkitError(f"`fpr` must be a number in [0, 1), got {fpr!r}.")
    confidence = validate_confidence(confidence)
    neg = np.sort(scores[~members])[::-1]
    allowed = int(math.floor(fpr * neg.size + 1e-9))
    threshold = -math.inf if allowed >= neg.size else float(np.nextafter(neg[allowed], math.inf))
    counts = counts_at_thresholds(members, scores, [threshold])
    tp, fp = int(counts["tp"][0]), int(counts["fp"][0])
    n_pos, n_neg = int(members.sum()), int(neg.size)
    alpha = 1.0 - confidence
    lo, hi = proportion_confint(tp, n_pos, alpha, "beta")
    fpr_lo, fpr_hi = proportion_confint(fp, n_neg, alpha, "beta")
    return Result(
        metric="tpr_at_fpr",
        estimate=tp / n_pos,
        ci_low=float(lo),
        ci_high=float(hi),
        confidence=confidence,
        method="clopper-pearson",
        n=n_pos,
        alternative="two-sided",
        group={"fpr": f"{fpr:g}"},
        details={
            "target_fpr": float(fpr),
            "threshold": threshold,
            "achieved_fpr": fp / n_neg,
            "fpr_interval": [float(fpr_lo), float(fpr_hi)],
            "fp": fp,
            "fn": n_pos - tp,
            "tn": n_neg - fp,
            "tp": tp,
        },
    )


def attack_roc(
    member: ArrayLike, score: ArrayLike, *, confidence: float = 0.95, max_points: int = 200
) -> Result:
    """The attack's ROC curve and its AUC with a Hanley-McNeil interval.

    Parameters
    ----------
    member : array_like of 0/1
    score : array_like of float
        Higher means "member".
    confidence : float, default 0.95
    max_points : int, default 200
        The ROC (scikit-learn's ``roc_curve``, intermediate collinear points dropped) is
        thinned to at most this many points in ``details``, keeping both ends.

    Returns
    -------
    Result
        ``metric='auc'``, ``method='hanley-mcneil'``: the AUC with the normal interval from
        Hanley & McNeil (1982), Radiology 143:29-36, Eq. 2, clipped to [0, 1];
        ``details`` holds ``fpr``, ``tpr`` and ``thresholds`` lists.

    Examples
    --------
    >>> from varkit.privacy import attack_roc
    >>> r = attack_roc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> r.estimate, r.details["tpr"]
    (0.75, [0.0, 0.5, 0.5, 1.0, 1.0])
    """
    members, scores = _validate_member_score(member, score)
    confidence = validate_confidence(confidence)
    if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 2:
        raise VarkitError(f"`max_points` must be an integer of at least 2, got {max_points!r}.")
    auc = float(roc_auc_score(members, scores))
    fpr, tpr, thresholds = roc_curve(members, scores)
    if fpr.size > max_points:
        keep = np.unique(np.linspace(0, fpr.size - 1, max_points).round().astype(int))
        fpr, tpr, thresholds = fpr[keep], tpr[keep], thresholds[keep]
    n_pos, n_neg = int(members.sum()), int((~members).sum())
    # Hanley & McNeil (1982), Eq. 2, with Q1 = A/(2-A), Q2 = 2A^2/(1+A).
    q1, q2 = auc / (2.0 - auc), 2.0 * auc**2 / (1.0 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2) + (n_neg - 1) * (q2 - auc**2)) / (
        n_pos * n_neg
    )
    stderr = math.sqrt(max(var, 0.0))
    z = float(norm.ppf(0.5 + confidence / 2.0))
    return Result(
        metric="auc",
        estimate=auc,
        ci_low=max(0.0, auc - z * stderr),
        ci_high=min(1.0, auc + z * stderr),
        confidence=confidence,
        method="hanley-mcneil",
        n=n_pos + n_neg,
        stderr=stderr,
        details={
            "fpr": fpr.tolist(),
            "tpr": tpr.tolist(),
            "thresholds": [float(t) for t in thresholds],
            "n_members": n_pos,
            "n_nonmembers": n_neg,
        },
    )
