"""attack_counts, counts_at_thresholds, tpr_at_fpr and attack_roc."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from varkit.privacy import attack_counts, attack_roc, counts_at_thresholds, tpr_at_fpr


def _data(n=2000, shift=1.0, seed=0):
    rng = np.random.default_rng(seed)
    member = rng.integers(0, 2, n)
    return member, rng.normal(shift * member, 1.0)


def test_counts_at_thresholds_match_a_loop() -> None:
    member, score = _data(300)
    grid = np.quantile(score, [0.1, 0.5, 0.9])
    got = counts_at_thresholds(member.astype(bool), score, grid)
    for i, t in enumerate(grid):
        want = attack_counts(member, score, threshold=t)
        assert (got["fp"][i], got["fn"][i], got["tn"][i], got["tp"][i]) == (
            want.fp,
            want.fn,
            want.tn,
            want.tp,
        )


def test_ties_at_the_threshold_count_as_member_guesses() -> None:
    c = attack_counts([1, 0], [0.5, 0.5], threshold=0.5)
    assert (c.tp, c.fp) == (1, 1)


def test_tpr_at_fpr_keeps_the_fpr_and_uses_the_lowest_such_threshold() -> None:
    member, score = _data(20000, shift=2.0, seed=3)
    r = tpr_at_fpr(member, score, fpr=0.01)
    neg = score[member == 0]
    t = r.details["threshold"]
    assert (neg >= t).mean() <= 0.01
    lower = neg[neg < t].max()  # one step lower admits too many false positives
    assert (neg >= lower).mean() > 0.01
    true_tpr = 0.372  # 1 - Phi(Phi^-1(0.99) - 2)
    assert r.ci_low <= true_tpr <= r.ci_high


def test_tpr_at_fpr_zero() -> None:
    member, score = _data(500, seed=4)
    r = tpr_at_fpr(member, score, fpr=0.0)
    assert r.details["fp"] == 0


def test_roc_auc_matches_sklearn_and_hanley_mcneil_by_hand() -> None:
    member, score = _data(100, seed=5)
    r = attack_roc(member, score)
    assert r.estimate == pytest.approx(roc_auc_score(member, score))
    # Hanley & McNeil (1982) Eq. 2 for A = 0.8, 50 + 50 cases, worked by hand: 0.0445.
    a, n1, n2 = 0.8, 50, 50
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    se = math.sqrt((a * (1 - a) + (n1 - 1) * (q1 - a * a) + (n2 - 1) * (q2 - a * a)) / (n1 * n2))
    assert se == pytest.approx(0.0445, abs=1e-4)
    assert r.details["fpr"][0] == 0.0 and r.details["tpr"][-1] == 1.0


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: attack_counts([1, 0], [0.1, 0.2]), TypeError, "`threshold` must be a number"),
        (lambda: attack_counts([1, 0]), ValueError, "exactly one of"),
        (lambda: attack_counts([1, 1], [0.1, 0.2], threshold=0), ValueError, "only members"),
        (lambda: attack_counts([1, 2], [0.1, 0.2], threshold=0), ValueError, "member"),
        (lambda: attack_counts([1, 0], [0.1, np.nan], threshold=0), ValueError, "score"),
        (lambda: attack_counts([1, 0, 1], [0.1, 0.2], threshold=0), ValueError, "same length"),
        (lambda: tpr_at_fpr([1, 0], [0.1, 0.2], fpr=1.0), ValueError, "`fpr` must be"),
    ],
)
def test_bad_input_raises_one_sentence(call, error, message) -> None:
    with pytest.raises(error, match=message):
        call()
