"""varkit.testing.assert_gate decides as varkit.gates does."""

from __future__ import annotations

import pytest

from varkit.results import Result
from varkit.testing import assert_gate

STRADDLE = Result("epsilon", 7.5, 6.0, 9.0, 0.95, "bayes")


def test_credible_passes_a_straddling_interval_and_strict_fails_it():
    assert_gate(STRADDLE, max=8.0)
    with pytest.raises(AssertionError, match="inconclusive"):
        assert_gate(STRADDLE, max=8.0, strict=True)


def test_assured_fails_unless_the_whole_interval_is_safe():
    with pytest.raises(AssertionError, match=r"epsilon <= 8 \(assured\): fail"):
        assert_gate(STRADDLE, max=8.0, mode="assured")
    assert_gate(STRADDLE, max=9.5, mode="assured")


def test_credible_fails_a_confident_violation():
    with pytest.raises(AssertionError, match="fail"):
        assert_gate(STRADDLE, min=0.5, max=5.0)
