"""Agreement with scipy.stats.bootstrap within Monte Carlo error.

The reference intervals were computed once by scipy 1.17.1 with 200,000 resamples and
stored, with the data, in fixtures/scipy_reference.json (script beside it); this module
only reads them.

Tolerance. A bootstrap endpoint estimated from B resamples is a sample quantile, whose
Monte Carlo standard deviation is about sqrt(p (1 - p) / B) / f(q_p) (f the density of
the bootstrap distribution at the quantile; for BCa the estimated z0 adds to it). Rather
than plug in an estimate of f, the fixture script measured that standard deviation
directly: the spread of scipy's endpoint over 30 runs with B = 20,000, the B used here.
varkit at B = 20,000 and scipy at B = 200,000 then differ by an error of standard
deviation sd * sqrt(1 + 20,000 / 200,000); we allow four of them (the sd estimate from
30 runs is itself uncertain by ~13%). For the median the bootstrap distribution is
discrete (n = 41 is odd, every replicate is a data value), so an endpoint sits on a data
value and its spread is ~0: there we also allow the gap to the neighbouring data value.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from varkit.gpu import bootstrap

# many bootstraps of small data: one thread avoids the kernels' per-call start-up cost
pytestmark = pytest.mark.usefixtures("one_numba_thread")

TEST_RESAMPLES = 20_000
DATASETS = ["mean_lognormal", "ratio_of_sums", "mean_difference_independent", "median_callable"]


def _run(entry: dict[str, Any], method: str, seed: int = 5) -> Any:
    statistic = np.median if entry["statistic"] == "median" else entry["statistic"]
    samples = entry["samples"]
    data = samples[0] if len(samples) == 1 else tuple(samples)
    return bootstrap(
        data,
        statistic,
        n_resamples=TEST_RESAMPLES,
        method=method,
        paired=entry["paired"],
        random_state=seed,
        device="cpu",
    )


def _atom_gap(values: np.ndarray, endpoint: float) -> float:
    """Largest gap from the atom nearest ``endpoint`` to its neighbours."""
    atoms = np.unique(values)
    k = int(np.argmin(np.abs(atoms - endpoint)))
    gaps = [atoms[k] - atoms[k - 1] if k > 0 else 0.0]
    gaps.append(atoms[k + 1] - atoms[k] if k + 1 < atoms.size else 0.0)
    return float(max(gaps))


def test_the_fixture_was_made_with_the_sizes_this_module_assumes(
    scipy_reference: dict[str, Any],
) -> None:
    assert scipy_reference["test_resamples"] == TEST_RESAMPLES
    assert scipy_reference["confidence"] == 0.95
    assert sorted(scipy_reference["bootstrap"]) == sorted(DATASETS)


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("method", ["percentile", "basic", "bca"])
def test_interval_agrees_with_scipy_within_monte_carlo_error(
    scipy_reference: dict[str, Any], name: str, method: str
) -> None:
    entry = scipy_reference["bootstrap"][name]
    ref = entry[method]
    result = _run(entry, method)
    assert result.estimate == pytest.approx(entry["estimate"], rel=1e-12)
    inflate = math.sqrt(1.0 + TEST_RESAMPLES / scipy_reference["reference_resamples"])
    for side in ("low", "high"):
        tol = 4.0 * ref[f"mc_sd_{side}"] * inflate
        if name == "median_callable":
            data = np.asarray(entry["samples"][0])
            atoms = 2.0 * entry["estimate"] - data if method == "basic" else data
            tol = max(tol, _atom_gap(atoms, ref[side]))
        got = result.ci_low if side == "low" else result.ci_high
        assert abs(got - ref[side]) <= tol, (side, got, ref[side], tol)


def test_the_tolerance_is_tight_enough_to_tell_methods_apart(
    scipy_reference: dict[str, Any],
) -> None:
    # For the skewed lognormal mean, BCa's upper endpoint is far outside the tolerance
    # around the percentile endpoint: agreement is not a foregone conclusion.
    entry = scipy_reference["bootstrap"]["mean_lognormal"]
    pct = entry["percentile"]
    tol = 4.0 * pct["mc_sd_high"] * math.sqrt(1.1)
    assert abs(_run(entry, "bca").ci_high - pct["high"]) > 3 * tol
