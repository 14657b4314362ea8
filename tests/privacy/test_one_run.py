"""one_run_audit and audit_one_run: Steinke, Nasr and Jagielski (NeurIPS 2023).

Checked against the bound's definition (delta = 0: the Binomial tail at the bound is
exactly 1 - confidence, in closed form when every guess is right), against published
outputs of the paper's procedure, against the identity that chance guessing bounds
nothing, and by simulating an epsilon-DP mechanism (randomized response) for coverage.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit
from scipy.stats import binom

from varkit.errors import VarkitError
from varkit.privacy import audit_one_run, one_run_audit


def _bound(m, r, v, delta=0.0, confidence=0.95):
    return one_run_audit(
        n_canaries=m, n_guesses=r, n_correct=v, delta=delta, confidence=confidence
    ).ci_low


@pytest.mark.parametrize(("r", "confidence"), [(10, 0.95), (100, 0.95), (1000, 0.99)])
def test_all_right_without_delta_is_the_logit_of_the_rth_root(r, confidence) -> None:
    # the main theorem (delta = 0): P[W >= r] = q^r = 1 - confidence, q = e^eps/(1 + e^eps)
    q = (1 - confidence) ** (1 / r)
    assert _bound(1000, r, r, confidence=confidence) == pytest.approx(
        math.log(q / (1 - q)), abs=1e-8
    )


@pytest.mark.parametrize(("r", "v"), [(100, 80), (500, 300), (50, 40)])
def test_without_delta_the_binomial_tail_at_the_bound_is_the_level(r, v) -> None:
    eps = _bound(1000, r, v)
    assert eps > 0
    assert binom.sf(v - 1, r, expit(eps)) == pytest.approx(0.05, rel=1e-6)


# Published outputs of the paper's Appendix D procedure (get_eps_audit), for a one-run
# audit of m = 500 canaries at delta = 1e-5 ("empirical_epsilon_details": num_guesses,
# correct_guesses; keys 0.05 and 0.01 are 1 - confidence):
# https://huggingface.co/melihcatal/codedp-cpt-models/blob/main/starcoder2-7b/base/audit_results.json
# https://huggingface.co/codedp-ase26/codedp-cpt-models/blob/main/starcoder2-7b/dp8/audit_results.json
# https://huggingface.co/codedp-ase26/codedp-cpt-models/blob/main/starcoder2-7b/dp3/audit_results.json
PUBLISHED = [
    (100, 100, 0.95, 3.4791953936219215),
    (100, 100, 0.99, 3.023197554051876),
    (35, 23, 0.95, 0.014548719860613346),
    (100, 60, 0.95, 0.05073561053723097),
]


@pytest.mark.parametrize(("r", "v", "confidence", "published"), PUBLISHED)
def test_matches_published_outputs_of_the_papers_procedure(r, v, confidence, published) -> None:
    # the published figures come from a 30-step bisection: resolution ~4e-9
    assert _bound(500, r, v, delta=1e-5, confidence=confidence) == pytest.approx(
        published, abs=1e-7
    )


@pytest.mark.parametrize("delta", [0.0, 1e-5])
def test_guessing_at_chance_or_worse_bounds_nothing(delta) -> None:
    assert _bound(1000, 200, 100, delta) == 0.0
    assert _bound(1000, 200, 90, delta) == 0.0
    assert _bound(1000, 0, 0, delta) == 0.0
    r = one_run_audit(n_canaries=10, n_guesses=0, n_correct=0)
    assert r.ci_low == r.estimate == 0.0 and r.ci_high == math.inf


def test_the_bound_grows_with_right_guesses_and_shrinks_with_delta_and_canaries() -> None:
    bounds = [_bound(1000, 200, v, 1e-5) for v in range(110, 201, 10)]
    assert bounds == sorted(bounds) and bounds[0] < bounds[-1]
    assert _bound(1000, 200, 180, 1e-3) < _bound(1000, 200, 180, 1e-5) < _bound(1000, 200, 180)
    assert _bound(100_000, 200, 200, 1e-5) < _bound(1000, 200, 200, 1e-5)
    assert _bound(1000, 200, 180, confidence=0.99) < _bound(1000, 200, 180)


def test_result_schema() -> None:
    r = one_run_audit(n_canaries=1000, n_guesses=200, n_correct=180, delta=1e-5)
    assert (r.metric, r.method, r.alternative, r.n) == (
        "epsilon",
        "one-run-steinke2023",
        "greater",
        1000,
    )
    assert r.estimate == r.ci_low > 0 and r.ci_high == math.inf and r.confidence == 0.95
    assert r.details["n_correct"] == 180 and r.details["accuracy"] == 0.9


def test_covers_the_epsilon_of_randomized_response() -> None:
    """Randomized response with eps0 per canary is eps0-DP and the worst case of the
    theorem: each guess is right with probability e^eps0/(1 + e^eps0). The lower bound
    may exceed eps0 in at most 5% of runs."""
    rng = np.random.default_rng(20231)
    eps0, r, runs = 1.0, 200, 400
    right = rng.binomial(r, expit(eps0), size=runs)
    above = np.mean([_bound(1000, r, int(v)) > eps0 for v in right])
    assert above <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / runs)  # 0.083
    # and it has power: a stronger mechanism is caught as more than eps0 most of the time
    strong = rng.binomial(r, expit(3.0), size=50)
    assert np.mean([_bound(1000, r, int(v)) > eps0 for v in strong]) > 0.9


def test_one_audit_is_fast() -> None:
    _bound(1000, 1000, 990, 1e-5)  # warm
    start = time.perf_counter()
    _bound(1000, 1000, 990, 1e-5)
    assert time.perf_counter() - start < 0.25  # ~2 ms measured; generous for a busy machine


@pytest.mark.parametrize(
    ("kw", "needle"),
    [
        ({"n_canaries": 0}, "`n_canaries`"),
        ({"n_canaries": 10.5}, "`n_canaries`"),
        ({"n_guesses": 2000}, "`n_guesses`"),
        ({"n_guesses": -1}, "`n_guesses`"),
        ({"n_correct": 300}, "`n_correct`"),
        ({"n_correct": True}, "`n_correct`"),
        ({"delta": 1.0}, "`delta`"),
        ({"confidence": 1.0}, "confidence"),
    ],
)
def test_bad_counts_raise_one_varkit_error_naming_them(kw, needle) -> None:
    args = {"n_canaries": 1000, "n_guesses": 200, "n_correct": 150, **kw}
    with pytest.raises(VarkitError, match=needle):
        one_run_audit(**args)


# -- audit_one_run: the guesses from a canary log ----------------------------------------
def _log(m=1000, shift=2.0, seed=0):
    rng = np.random.default_rng(seed)
    included = rng.integers(0, 2, m)
    return pd.DataFrame(
        {"canary_id": np.arange(m), "included": included, "score": rng.normal(shift * included)}
    )


def test_guesses_are_the_extreme_scores_and_the_counts_go_to_one_run_audit() -> None:
    log = _log()
    r = audit_one_run(log, n_guesses=101, delta=1e-5)[0]
    order = np.argsort(log["score"].to_numpy())
    top, bottom = order[-51:], order[:50]  # ceil(k/2) included, floor(k/2) excluded
    right = int(
        log["included"].to_numpy()[top].sum() + (1 - log["included"].to_numpy()[bottom]).sum()
    )
    assert (r.details["guessed_included"], r.details["guessed_excluded"]) == (51, 50)
    assert r.details["n_correct"] == right and r.details["n_guesses"] == 101
    expected = one_run_audit(n_canaries=1000, n_guesses=101, n_correct=right, delta=1e-5)
    assert r.ci_low == expected.ci_low


def test_row_order_does_not_change_the_guesses_and_ties_are_abstained_on() -> None:
    log = _log(m=400)
    shuffled = log.sample(frac=1.0, random_state=1)
    assert audit_one_run(log, n_guesses=40)[0] == audit_one_run(shuffled, n_guesses=40)[0]
    # a log sorted by inclusion, with scores all tied: no guess may use the row order
    tied = pd.DataFrame({"included": [0] * 50 + [1] * 50, "score": [1.0] * 100})
    r = audit_one_run(tied, n_guesses=20)[0]
    assert r.details["n_guesses"] == 0 and r.ci_low == 0.0
    # k = 4: the top 2 would be two of three tied 3s (abstained on: all three), the
    # bottom 2 are both 0s (the next score, 1, differs)
    edge = pd.DataFrame({"included": [0, 0, 1, 0, 1, 1, 1], "score": [0, 0, 1, 2, 3, 3, 3]})
    r = audit_one_run(edge, n_guesses=4)[0]
    assert (r.details["guessed_included"], r.details["guessed_excluded"]) == (0, 2)


def test_reads_a_file_and_names_it_in_the_provenance(tmp_path) -> None:
    path = tmp_path / "canaries.csv"
    _log(m=300).to_csv(path, index=False)
    rs = audit_one_run(path, n_guesses=30)
    assert rs.provenance["function"] == "varkit.privacy.audit_one_run"
    assert rs.provenance["inputs"][0]["path"] == str(path)
    assert rs[0] == audit_one_run(_log(m=300), n_guesses=30)[0]


@pytest.mark.parametrize(
    ("frame", "kw", "needle"),
    [
        (pd.DataFrame({"included": [0, 1], "score": [0.1, 0.2]}), {"n_guesses": 3}, "n_guesses"),
        (pd.DataFrame({"included": [0, 1], "score": [0.1, 0.2]}), {"n_guesses": 0}, "n_guesses"),
        (pd.DataFrame({"included": [0, 2], "score": [0.1, 0.2]}), {"n_guesses": 1}, "included"),
        (pd.DataFrame({"included": [0, 1], "value": [0.1, 0.2]}), {"n_guesses": 1}, "score"),
        (
            pd.DataFrame({"canary_id": [7, 7], "included": [0, 1], "score": [0.1, 0.2]}),
            {"n_guesses": 1},
            "canary_id",
        ),
    ],
)
def test_bad_logs_raise_one_varkit_error(frame, kw, needle) -> None:
    with pytest.raises(VarkitError, match=needle):
        audit_one_run(frame, **kw)
