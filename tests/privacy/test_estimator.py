"""EpsilonEstimator follows the scikit-learn estimator contract."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from varkit.privacy import EpsilonEstimator, audit_epsilon


def test_init_stores_params_and_clone_works() -> None:
    est = EpsilonEstimator(delta=1e-5, method="clopper-pearson", threshold=0.5)
    assert clone(est).get_params() == est.get_params()
    assert est.get_params()["threshold"] == 0.5


def test_fit_returns_self_and_matches_the_function() -> None:
    rng = np.random.default_rng(0)
    members = rng.integers(0, 2, 2000)
    scores = rng.normal(members, 1.0)
    est = EpsilonEstimator(delta=1e-5, threshold="bonferroni")
    assert est.fit(scores, members) is est
    direct = audit_epsilon(members, scores, delta=1e-5, threshold="bonferroni")[0]
    assert est.ci_ == (direct.ci_low, direct.ci_high)
    assert est.threshold_ == direct.details["threshold"]
    # The posterior median does not depend on the (Bonferroni-adjusted) level.
    assert est.posterior().median() == pytest.approx(est.estimate_, abs=1e-8)


def test_unfitted_estimator_raises_not_fitted() -> None:
    with pytest.raises(NotFittedError):
        EpsilonEstimator().posterior()
