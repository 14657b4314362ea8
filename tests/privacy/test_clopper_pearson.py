"""clopper_pearson_epsilon against privacy-estimates' binomial_proportion (fixture)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from varkit.privacy import clopper_pearson_epsilon, epsilon_from_rates

REF = pd.read_csv(Path(__file__).parent / "fixtures" / "privacy_estimates_reference.csv")
CP = REF[REF.method == "beta"]


@pytest.mark.parametrize("row", list(CP.itertuples()), ids=lambda r: f"{r.Index}")
def test_matches_privacy_estimates(row) -> None:
    r = clopper_pearson_epsilon(
        fp=row.fp,
        fn=row.fn,
        tn=row.tn,
        tp=row.tp,
        delta=row.delta,
        confidence=1 - row.alpha,
        bound=row.bound,
    )
    assert r.ci_low == pytest.approx(row.lo, rel=1e-9, abs=1e-12)
    if row.bound == "two-sided":
        assert r.ci_high == pytest.approx(row.hi, rel=1e-9)
    else:
        assert r.ci_high == math.inf


def test_zero_false_positives_give_an_infinite_upper_end() -> None:
    r = clopper_pearson_epsilon(fp=0, fn=500, tn=1000, tp=500)
    assert r.ci_high == math.inf and r.estimate == math.inf and math.isfinite(r.ci_low)


def test_interval_contains_the_point_estimate_and_lower_bound_is_tighter() -> None:
    two = clopper_pearson_epsilon(fp=100, fn=100, tn=900, tp=900, delta=1e-5)
    low = clopper_pearson_epsilon(fp=100, fn=100, tn=900, tp=900, delta=1e-5, bound="lower")
    assert two.ci_low <= two.estimate <= two.ci_high
    assert two.estimate == pytest.approx(epsilon_from_rates(0.1, 0.1, 1e-5))
    assert two.ci_low < low.ci_low < two.estimate
    assert low.alternative == "greater" and two.alternative == "two-sided"


def test_rectangle_straddling_the_chance_strip_gives_zero() -> None:
    r = clopper_pearson_epsilon(fp=500, fn=500, tn=500, tp=500, delta=1e-5)
    assert r.ci_low == 0.0 and r.estimate == 0.0


def test_bad_counts_raise() -> None:
    with pytest.raises(ValueError, match="saw no members"):
        clopper_pearson_epsilon(fp=1, fn=0, tn=1, tp=0)
