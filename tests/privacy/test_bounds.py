"""epsilon_from_rates against the four DP constraints (Kairouz et al. 2015, Thm 2.1)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from varkit.privacy import epsilon_from_rates


def _four_terms(fpr: float, fnr: float, delta: float) -> float:
    """Direct max of the four log-ratios of the privacy region, floored at 0."""
    terms = [0.0]
    for num, den in (
        (1 - delta - fpr, fnr),
        (1 - delta - fnr, fpr),
        (fpr - delta, 1 - fnr),
        (fnr - delta, 1 - fpr),
    ):
        if num <= 0:
            continue
        terms.append(math.inf if den == 0 else math.log(num) - math.log(den))
    return max(terms)


def _constraints_hold(fpr: float, fnr: float, delta: float, eps: float) -> bool:
    k = math.exp(eps)
    tol = 1e-12
    return (
        fpr + k * fnr >= 1 - delta - tol
        and fnr + k * fpr >= 1 - delta - tol
        and (1 - fpr) + k * (1 - fnr) >= 1 - delta - tol
        and (1 - fnr) + k * (1 - fpr) >= 1 - delta - tol
    )


rates = st.floats(0.0, 1.0, allow_nan=False)
deltas = st.one_of(st.just(0.0), st.floats(0.0, 0.999, allow_nan=False))


@given(rates, rates, deltas)
def test_equals_the_max_of_the_four_log_ratios(fpr: float, fnr: float, delta: float) -> None:
    got = epsilon_from_rates(fpr, fnr, delta)
    want = _four_terms(fpr, fnr, delta)
    if math.isinf(want):
        assert math.isinf(got)
    else:
        assert got == pytest.approx(want, rel=1e-12, abs=1e-12)


@given(rates, rates, deltas)
def test_is_the_smallest_epsilon_inside_the_privacy_region(fpr, fnr, delta) -> None:
    eps = epsilon_from_rates(fpr, fnr, delta)
    if eps < 700:  # e^eps overflows beyond
        assert _constraints_hold(fpr, fnr, delta, eps)
        if eps > 1e-6 and 1e-9 < min(fpr, fnr) and max(fpr, fnr) < 1 - 1e-9:
            assert not _constraints_hold(fpr, fnr, delta, eps * (1 - 1e-6) - 1e-9)


dyadic = st.integers(0, 1024).map(lambda k: k / 1024)  # 1 - x is exact for these


@given(dyadic, dyadic, deltas)
def test_is_symmetric_in_the_rates_and_under_reflection(fpr, fnr, delta) -> None:
    eps = epsilon_from_rates(fpr, fnr, delta)
    assert epsilon_from_rates(fnr, fpr, delta) == pytest.approx(eps, rel=1e-9, abs=1e-12)
    assert epsilon_from_rates(1 - fnr, 1 - fpr, delta) == pytest.approx(eps, rel=1e-6, abs=1e-9)


def test_hand_values() -> None:
    assert epsilon_from_rates(0.01, 0.4) == pytest.approx(math.log(0.6 / 0.01))
    assert epsilon_from_rates(0.01, 0.4, 0.1) == pytest.approx(math.log(0.5 / 0.01))
    assert epsilon_from_rates(0.5, 0.5) == 0.0
    assert epsilon_from_rates(0.3, 0.3, 0.5) == 0.0  # large delta swallows the attack
    assert epsilon_from_rates(0.0, 0.3) == math.inf
    assert epsilon_from_rates(0.0, 0.3, 0.75) == 0.0  # 1 - delta < fnr: no evidence
    assert epsilon_from_rates(0.0, 1.0) == 0.0  # "always a member" is chance
    assert epsilon_from_rates(1.0, 1.0) == math.inf  # always wrong = perfect when flipped
    assert epsilon_from_rates(0.0, 0.0) == math.inf


def test_vectorised_over_a_grid_without_warnings() -> None:
    grid = np.linspace(0, 1, 41)
    fpr, fnr = np.meshgrid(grid, grid)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        eps = epsilon_from_rates(fpr, fnr, np.array([[0.0]]))
        eps_d = epsilon_from_rates(fpr[..., None], fnr[..., None], [0.0, 1e-5, 0.5])
    assert eps.shape == (41, 41) and eps_d.shape == (41, 41, 3)
    assert not np.isnan(eps_d).any() and (eps_d >= 0).all()
    # More delta never certifies more epsilon.
    assert (eps_d[..., 1:] <= eps_d[..., :-1]).all()
    assert isinstance(epsilon_from_rates(0.1, 0.2), float)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fpr": -0.1, "fnr": 0.2}, "`fpr` must lie in"),
        ({"fpr": 0.1, "fnr": 1.2}, "`fnr` must lie in"),
        ({"fpr": 0.1, "fnr": 0.2, "delta": 1.0}, "`delta` must lie in"),
        ({"fpr": float("nan"), "fnr": 0.2}, "`fpr` must not contain NaN"),
        ({"fpr": [0.1, 0.2], "fnr": [0.1, 0.2, 0.3]}, "broadcast"),
    ],
)
def test_bad_input_raises_one_sentence(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        epsilon_from_rates(**kwargs)


def test_non_numeric_input_raises_type_error() -> None:
    with pytest.raises(TypeError, match="`fnr` must be a number"):
        epsilon_from_rates(0.1, "abc")
