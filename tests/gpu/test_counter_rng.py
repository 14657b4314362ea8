"""The counter-based generator: distributions, independence, seeds and determinism.

Each statistical check runs at a fixed seed with a threshold set in advance, so the tests
are deterministic; the thresholds are wide enough that a correct generator passes at any
seed with probability above 1 - 1e-4, and narrow enough to catch a biased mapping.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from varkit.checks import resolve_seed
from varkit.gpu import counter_rng as crng

# chi-square goodness-of-fit tests reject at this p-value (pre-set, fixed seeds).
GOF_LEVEL = 1e-4


def _poisson_draws(seed: int, n_reps: int, n_units: int) -> np.ndarray:
    keys = crng.replicate_keys(seed, 0, n_reps)
    return crng.poisson_weights(keys, crng.unit_offsets(np.arange(n_units)))


def _uniform53(seed: int, n_reps: int, n_units: int, first_unit: int = 0) -> np.ndarray:
    keys = crng.replicate_keys(seed, 0, n_reps)
    words = crng.unit_words(keys, crng.unit_offsets(np.arange(first_unit, first_unit + n_units)))
    return (words >> np.uint64(11)).astype(np.float64) / 2.0**53


# -- the hash itself ----------------------------------------------------------------------


def test_mix64_reproduces_splitmix64_reference_outputs() -> None:
    # Vigna's splitmix64.c seeded with 0: x += G; return mix(x). First three outputs.
    expected = [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F]
    states = np.array([(k * crng.GOLDEN) % 2**64 for k in (1, 2, 3)], dtype=np.uint64)
    assert crng.mix64(states).tolist() == expected


def test_mix64_array_matches_exact_integer_arithmetic() -> None:
    values = np.random.default_rng(0).integers(0, 2**63, size=200, dtype=np.uint64) * 2 + 1
    exact = [crng._mix64_int(int(v)) for v in values]
    assert crng.mix64(values).tolist() == exact


def test_replicate_keys_of_a_range_are_slices_of_the_full_range() -> None:
    full = crng.replicate_keys(99, 0, 1000)
    assert np.array_equal(crng.replicate_keys(99, 250, 731), full[250:731])
    assert np.unique(full).size == full.size


# -- Poisson(1) weights ---------------------------------------------------------------------


def test_poisson_thresholds_are_the_poisson_cdf_to_2_pow_minus_32() -> None:
    thresholds = crng.POISSON_THRESHOLDS.astype(np.float64) / 2.0**32
    cdf = stats.poisson.cdf(np.arange(thresholds.size), 1.0)
    assert np.max(np.abs(thresholds - cdf)) <= 2.0**-32
    assert thresholds.size == 12  # F(11) < 1 - 2^-32 <= F(12): weights 0..12
    assert np.all(np.diff(crng.POISSON_THRESHOLDS.astype(np.int64)) > 0)


def test_poisson_weights_have_mean_one_and_variance_one() -> None:
    raw = _poisson_draws(seed=2024, n_reps=400, n_units=5000)
    assert raw.dtype == np.uint8 and raw.shape == (400, 5000)
    weights = raw.astype(np.float64)
    count = weights.size
    # Poisson(1): sd of the sample mean is 1/sqrt(N); of the sample variance
    # sqrt((mu4 - sigma^4)/N) with mu4 = 3 lambda^2 + lambda = 4.
    assert abs(weights.mean() - 1.0) < 5.0 / math.sqrt(count)
    assert abs(weights.var() - 1.0) < 5.0 * math.sqrt(3.0 / count)
    assert weights.min() == 0.0 and weights.max() <= 12.0


def test_poisson_weights_follow_the_poisson_pmf() -> None:
    weights = _poisson_draws(seed=7, n_reps=400, n_units=5000).ravel()
    top = 6  # pool 6 and above so every expected count is large (>= 1e3)
    observed = np.bincount(np.minimum(weights, top), minlength=top + 1)
    probs = stats.poisson.pmf(np.arange(top), 1.0)
    probs = np.append(probs, 1.0 - probs.sum())
    chi2, pvalue = stats.chisquare(observed, probs * weights.size)
    assert pvalue > GOF_LEVEL, (chi2, observed.tolist())


def test_poisson_weights_of_a_biased_generator_would_fail_the_pmf_check() -> None:
    # The check has power: shifting a tenth of a percent of the mass from 0 to 1 fails.
    weights = _poisson_draws(seed=7, n_reps=400, n_units=5000).ravel().copy()
    zeros = np.flatnonzero(weights == 0)
    weights[zeros[: weights.size // 1000]] = 1
    observed = np.bincount(np.minimum(weights, 6), minlength=7)
    probs = stats.poisson.pmf(np.arange(6), 1.0)
    probs = np.append(probs, 1.0 - probs.sum())
    assert stats.chisquare(observed, probs * weights.size).pvalue < GOF_LEVEL


# -- uniform indices ------------------------------------------------------------------------


@pytest.mark.parametrize("size", [2, 37, 1000])
def test_uniform_indices_are_uniform(size: int) -> None:
    keys = crng.replicate_keys(11, 0, 500)
    idx = crng.uniform_indices(keys, crng.unit_offsets(np.arange(2000)), size)
    assert idx.dtype == np.int64 and idx.min() >= 0 and idx.max() < size
    observed = np.bincount(idx.ravel(), minlength=size)
    assert stats.chisquare(observed).pvalue > GOF_LEVEL


def test_uniform_indices_cover_every_value_even_for_size_one() -> None:
    keys = crng.replicate_keys(3, 0, 10)
    assert np.all(crng.uniform_indices(keys, crng.unit_offsets(np.arange(10)), 1) == 0)


# -- independence ---------------------------------------------------------------------------


def test_words_of_neighbouring_replicates_and_units_are_uncorrelated() -> None:
    u = _uniform53(seed=5, n_reps=600, n_units=600)
    bound = 5.0 / math.sqrt(u.size)  # sd of a null correlation is 1/sqrt(N)
    lag_replicate = np.corrcoef(u[1:].ravel(), u[:-1].ravel())[0, 1]
    lag_unit = np.corrcoef(u[:, 1:].ravel(), u[:, :-1].ravel())[0, 1]
    assert abs(lag_replicate) < bound
    assert abs(lag_unit) < bound
    # every pair of replicates: the mean squared correlation of independent rows is 1/n
    corr = np.corrcoef(u)
    off = corr[~np.eye(corr.shape[0], dtype=bool)]
    assert abs(np.mean(off**2) * u.shape[1] - 1.0) < 0.05


def test_poisson_weights_of_different_replicates_units_and_seeds_are_uncorrelated() -> None:
    w = _poisson_draws(seed=17, n_reps=500, n_units=500).astype(np.float64)
    other_seed = _poisson_draws(seed=18, n_reps=500, n_units=500).astype(np.float64)
    bound = 5.0 / math.sqrt(w.size)
    assert abs(np.corrcoef(w[1:].ravel(), w[:-1].ravel())[0, 1]) < bound
    assert abs(np.corrcoef(w[:, 1:].ravel(), w[:, :-1].ravel())[0, 1]) < bound
    assert abs(np.corrcoef(w.ravel(), other_seed.ravel())[0, 1]) < bound


def test_every_bit_of_a_word_is_a_fair_coin() -> None:
    keys = crng.replicate_keys(8, 0, 400)
    words = crng.unit_words(keys, crng.unit_offsets(np.arange(500)))
    bits = (words.ravel()[:, None] >> np.arange(64, dtype=np.uint64)) & np.uint64(1)
    freq = bits.mean(axis=0)
    assert np.max(np.abs(freq - 0.5)) < 5.0 * 0.5 / math.sqrt(words.size)


# -- seeds ----------------------------------------------------------------------------------


def test_resolve_seed_accepts_integers() -> None:
    assert resolve_seed(0) == 0
    assert resolve_seed(np.int64(42)) == 42
    assert resolve_seed(2**63 + 5) == 5  # reduced to 63 bits


def test_resolve_seed_from_a_generator_is_reproducible_and_advances_it() -> None:
    rng = np.random.default_rng(0)
    first, second = resolve_seed(rng), resolve_seed(rng)
    assert first == resolve_seed(np.random.default_rng(0))
    assert first != second
    assert 0 <= first < 2**63


def test_resolve_seed_from_a_legacy_random_state() -> None:
    seed = resolve_seed(np.random.RandomState(3))
    assert seed == resolve_seed(np.random.RandomState(3))


def test_resolve_seed_none_draws_fresh_63_bit_seeds() -> None:
    seeds = {resolve_seed(None) for _ in range(5)}
    assert len(seeds) == 5
    assert all(0 <= s < 2**63 for s in seeds)


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (-1, ValueError),
        (True, TypeError),
        (np.bool_(False), TypeError),
        ("1", TypeError),
        (1.5, TypeError),
    ],
)
def test_resolve_seed_rejects_bad_values(value: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="random_state"):
        resolve_seed(value)


def test_same_seed_same_numbers_and_different_seed_different_numbers() -> None:
    a = _poisson_draws(123, 50, 300)
    assert np.array_equal(a, _poisson_draws(123, 50, 300))
    assert not np.array_equal(a, _poisson_draws(124, 50, 300))
    u = _uniform53(123, 50, 300)
    assert np.array_equal(u, _uniform53(123, 50, 300))


def test_a_unit_s_numbers_do_not_depend_on_which_other_units_are_drawn() -> None:
    whole = _uniform53(9, 20, 1000)
    part = _uniform53(9, 20, 300, first_unit=400)
    assert np.array_equal(part, whole[:, 400:700])
