"""Distances against hand-computed values and the identities of total variation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import entropy

from varkit.fairness.distances import (
    clip_and_renormalise,
    js_distance,
    kl_divergence,
    max_gap,
    shares,
    shuffle_distance,
    signed_gaps,
)

counts_pair = st.integers(min_value=2, max_value=6).flatmap(
    lambda k: st.tuples(
        st.lists(st.integers(0, 10_000), min_size=k, max_size=k).filter(lambda v: sum(v) > 0),
        st.lists(st.integers(0, 10_000), min_size=k, max_size=k).filter(lambda v: sum(v) > 0),
    )
)


def test_shuffle_distance_hand_computed_values():
    # d = (.7, .3), e = (.5, .5): 1/2 (.2 + .2) = .2
    assert shuffle_distance([70, 30], [50, 50]) == 0.2
    # d = (1/2, 1/3, 1/6), e = (1/3, 1/3, 1/3): 1/2 (1/6 + 0 + 1/6) = 1/6
    assert shuffle_distance([3, 2, 1], [1, 1, 1]) == pytest.approx(1 / 6, abs=1e-15)
    # a group absent from delivery: d = (1, 0), e = (.5, .5) -> .5, finite
    assert shuffle_distance([10, 0], [5, 5]) == 0.5
    # disjoint supports -> 1
    assert shuffle_distance([0, 10], [10, 0]) == 1.0


def test_shuffle_distance_exact_at_the_threshold_where_naive_floats_drift():
    delivered, eligible = np.array([2, 8]), np.array([3, 7])
    naive = 0.5 * np.abs(delivered / 10 - eligible / 10).sum()
    assert naive > 0.1  # 0.10000000000000003 would fail a pass at exactly 10 points
    assert shuffle_distance(delivered, eligible) == 0.1
    assert shuffle_distance([55, 45], [45, 55]) == 0.1
    assert shuffle_distance([600, 400], [5000, 5000]) == 0.1


def test_shuffle_distance_vectorised_over_replicates():
    stack = np.array([[70, 30], [50, 50], [60, 40]])
    assert shuffle_distance(stack, np.array([50, 50])).tolist() == [0.2, 0.0, 0.1]


def test_shuffle_distance_nan_without_mass():
    assert math.isnan(shuffle_distance([0, 0], [1, 1]))


@settings(max_examples=200, deadline=None)
@given(counts_pair)
def test_total_variation_identities(pair):
    delivered, eligible = (np.array(v, dtype=float) for v in pair)
    sd = shuffle_distance(delivered, eligible)
    gaps = signed_gaps(delivered, eligible)
    assert 0.0 <= sd <= 1.0
    assert sd == pytest.approx(gaps[gaps > 0].sum(), abs=1e-12)
    assert sd == pytest.approx(-gaps[gaps < 0].sum(), abs=1e-12)
    assert gaps.sum() == pytest.approx(0.0, abs=1e-12)
    assert sd == pytest.approx(shuffle_distance(eligible, delivered), abs=1e-15)
    assert max_gap(delivered, eligible) <= sd + 1e-12
    equal = np.allclose(shares(delivered), shares(eligible), atol=0, rtol=1e-12)
    assert (sd < 1e-12) == equal
    if len(delivered) == 2:
        assert sd == pytest.approx(max_gap(delivered, eligible), abs=1e-12)


@settings(max_examples=50, deadline=None)
@given(counts_pair, st.integers(1, 50))
def test_shuffle_distance_is_scale_free(pair, factor):
    delivered, eligible = (np.array(v, dtype=float) for v in pair)
    assert shuffle_distance(delivered * factor, eligible) == pytest.approx(
        shuffle_distance(delivered, eligible), abs=1e-12
    )


def test_signed_gaps_and_max_gap_hand_computed():
    assert signed_gaps([30, 70], [50, 50]).tolist() == [-0.2, 0.2]
    assert max_gap([50, 30, 20], [40, 40, 20]) == pytest.approx(0.1, abs=1e-15)


def test_kl_matches_scipy_entropy_and_is_infinite_when_a_group_is_absent():
    # KL(e || d), e = (.5, .5), d = (.25, .75): .5 ln 2 + .5 ln(2/3) = 0.143841036...
    value = kl_divergence([25, 75], [50, 50])
    assert value == pytest.approx(0.5 * math.log(2) + 0.5 * math.log(2 / 3), abs=1e-15)
    assert value == pytest.approx(entropy([0.5, 0.5], [0.25, 0.75]), abs=1e-15)
    assert kl_divergence([0, 10], [1, 1]) == math.inf
    # a group absent from eligibility but delivered: 0 log 0 = 0, finite
    assert kl_divergence([1, 1], [0, 10]) == pytest.approx(math.log(2), abs=1e-15)


def test_js_distance_bounds():
    assert js_distance([0, 10], [10, 0]) == pytest.approx(1.0)
    assert js_distance([3, 7], [3, 7]) == pytest.approx(0.0, abs=1e-8)
    assert np.isfinite(js_distance([0, 10], [1, 1]))


def test_clip_and_renormalise_marks_the_clipped_cells():
    clipped, mask = clip_and_renormalise(np.array([12.0, -3.0, 8.0]))
    assert clipped.tolist() == [12.0, 0.0, 8.0]
    assert mask.tolist() == [False, True, False]
    assert shares(clipped).tolist() == [0.6, 0.0, 0.4]
