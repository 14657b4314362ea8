"""The delivery simulator's eligible table counts users, for sex as for race."""

from __future__ import annotations

import numpy as np

from varkit.fairness import simulate_delivery


def test_sex_and_race_eligible_counts_both_sum_to_the_eligible_users() -> None:
    # regression: a boolean matrix product once made the sex counts 0/1 per ad
    sim = simulate_delivery(n_users=300, n_ads=4, n_rounds=2, random_state=3)
    totals = sim.eligible.groupby(["ad_id", "attribute"])["eligible"].sum().unstack()
    np.testing.assert_allclose(totals["sex"], totals["race"], rtol=1e-9)
    assert (totals["sex"] > 1).all()
