import math

import numpy as np
import pytest
from sklearn.metrics import f1_score

from varkit.evaluate import bootstrap_metric, paired_bootstrap_difference


def test_accuracy_difference_is_mean_of_correctness_difference():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    p1 = np.where(rng.random(300) < 0.8, y, (y + 1) % 3)
    p2 = np.where(rng.random(300) < 0.7, y, (y + 2) % 3)
    r = paired_bootstrap_difference(
        y, p1, p2, names=("a", "b"), n_resamples=2000, random_state=1, device="cpu"
    )
    assert r.estimate == pytest.approx(np.mean(p1 == y) - np.mean(p2 == y))
    assert r.metric == "accuracy_difference"
    assert r.group["comparison"] == "a-b"
    assert r.details["paired"] is True
    d = (p1 == y).astype(float) - (p2 == y)
    assert r.stderr == pytest.approx(d.std(ddof=1) / math.sqrt(300), rel=0.1)


def test_callable_metric_and_string_labels():
    y = np.array(["no", "yes"] * 60)
    p = np.where(np.arange(120) % 7 == 0, "no", y)
    r = bootstrap_metric(
        y, p, metric=f1_score, n_resamples=300, method="percentile", random_state=0, device="cpu"
    )
    # labels are coded by sorted order: 'yes' -> 1 is the positive class.
    assert r.estimate == pytest.approx(f1_score(y, p, pos_label="yes"))
    assert r.metric == "f1_score"


def test_bad_metric_and_inputs():
    with pytest.raises(ValueError, match="`metric`"):
        bootstrap_metric([0, 1], [0, 1], metric="auc")
    # a metric that codes the labels needs predicted labels among the true ones
    with pytest.raises(ValueError, match="not in `y_true`"):
        paired_bootstrap_difference([0, 1, 0], [0, 1, 2], [0, 1, 1], metric=f1_score)


@pytest.mark.slow
def test_paired_difference_coverage():
    # Rows: (model 1 right, model 2 right) with known probabilities; true diff = 0.05.
    rng = np.random.default_rng(12)
    probs = [0.6, 0.15, 0.1, 0.15]  # both, only 1, only 2, neither
    truth_diff = probs[1] - probs[2]
    reps, n = 300, 200
    hits = 0
    for rep in range(reps):
        cell = rng.choice(4, size=n, p=probs)
        y = np.zeros(n, dtype=int)
        p1 = np.where(np.isin(cell, [0, 1]), 0, 1)
        p2 = np.where(np.isin(cell, [0, 2]), 0, 1)
        y[:1] = 1  # keep two classes in y_true; row 0 then flips both models' correctness
        p1[0], p2[0] = 1 - p1[0], 1 - p2[0]
        r = paired_bootstrap_difference(
            y, p1, p2, n_resamples=999, method="percentile", random_state=rep, device="cpu"
        )
        hits += r.ci_low <= truth_diff <= r.ci_high
    assert abs(hits / reps - 0.95) < 3 * math.sqrt(0.95 * 0.05 / reps) + 0.01
