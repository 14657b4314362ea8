import itertools

import numpy as np
import pytest

from varkit.evaluate import paired_permutation_test


def test_exact_sign_flip_pvalue_matches_enumeration():
    rng = np.random.default_rng(0)
    a = rng.normal(0.8, 0.05, 9)
    b = a - rng.normal(0.01, 0.02, 9)
    d = a - b
    observed = abs(d.mean())
    flips = np.array(list(itertools.product([1, -1], repeat=9)))
    null = np.abs((flips * d).mean(axis=1))
    expected = np.mean(null >= observed - 1e-12)
    r = paired_permutation_test(a, b, names=("a", "b"), random_state=0, device="cpu")
    assert r.pvalue == pytest.approx(expected)
    assert r.estimate == pytest.approx(d.mean())
    assert r.group["comparison"] == "a-b"


def test_bad_inputs():
    with pytest.raises(ValueError, match="same length"):
        paired_permutation_test([0.1, 0.2], [0.1])
    with pytest.raises(ValueError, match="NaN"):
        paired_permutation_test([0.1, np.nan], [0.1, 0.2])
