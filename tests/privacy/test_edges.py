"""Issue 14 in varkit.privacy: zero-event, all-event and single-class edges, extreme counts,
seeds (API and CLI)."""

from __future__ import annotations

import itertools
import json
import math
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

from varkit.cli.main import cli
from varkit.errors import VarkitError
from varkit.privacy import (
    EpsilonPosterior,
    audit_epsilon,
    bayesian_epsilon,
    clopper_pearson_epsilon,
)
from varkit.privacy.bayes import MAX_COUNT, _betaincinv

EDGE_COUNTS = (0, 1, 50)
HUGE = MAX_COUNT // 2
HUGE_CASES = [(0, HUGE, HUGE, 0), (0, HUGE, 1, 0), (HUGE, 1, 10**6, 1), (1, 0, 1, HUGE)]


def _check_edges(estimator, bound, cases, settings):
    # zero false positives or negatives, no true positives or negatives, one point per
    # class, 5e11 points: epsilon and its interval in [0, inf], ordered, never NaN
    for (fp, fn, tn, tp), (delta, confidence) in itertools.product(cases, settings):
        if fp + tn == 0 or fn + tp == 0:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            r = estimator(
                fp=fp, fn=fn, tn=tn, tp=tp, delta=delta, confidence=confidence, bound=bound
            )
        values = (r.ci_low, r.estimate, r.ci_high)
        assert not any(math.isnan(v) for v in values), (fp, fn, tn, tp, delta, values)
        assert 0.0 <= r.ci_low <= r.estimate <= r.ci_high, (fp, fn, tn, tp, delta, values)


@pytest.mark.parametrize("estimator", [bayesian_epsilon, clopper_pearson_epsilon])
@pytest.mark.parametrize("bound", ["two-sided", "lower"])
def test_zero_all_and_huge_counts_give_an_ordered_epsilon_without_warnings(estimator, bound):
    cases = [*itertools.product(EDGE_COUNTS, repeat=4), *HUGE_CASES]
    _check_edges(estimator, bound, cases, [(0.0, 1 - 1e-9), (0.5, 0.5)])


@pytest.mark.slow
@pytest.mark.parametrize("estimator", [bayesian_epsilon, clopper_pearson_epsilon])
@pytest.mark.parametrize("bound", ["two-sided", "lower"])
def test_every_combination_of_edge_counts_gives_an_ordered_epsilon(estimator, bound):
    # 256 count combinations (zero, one, large, huge in each cell)
    cases = list(itertools.product((0, 1, 10**6, HUGE), repeat=4))
    _check_edges(estimator, bound, cases, [(0.0, 1 - 1e-9), (0.5, 0.5)])


def test_scipy_betaincinv_nan_at_tiny_levels_is_worked_around():
    # scipy 1.17 gives NaN for betaincinv(3.5, 3.5, 1e-150); the quantile is about 1e-43
    from scipy import special

    for level in (1e-150, 1e-250, 1e-300):
        x = float(_betaincinv(3.5, 3.5, level))
        assert 0.0 < x < 1e-40
        assert float(special.betainc(3.5, 3.5, x)) == pytest.approx(level, rel=1e-6)


def test_posterior_quantiles_near_the_corner_match_their_large_sample_limit():
    # (fp, fn, tn, tp) = (0, n, n, 0): FPR and 1 - FNR are independent Beta(1/2, n + 1/2),
    # so for large n, e^epsilon is the ratio of two chi2(1): |log F(1, 1)|. Its median
    # is log F(1, 1).ppf(0.75) = 1.762747174039086 (scipy.stats.f, computed once).
    for n in (10**6, 10**9, 10**12):
        post = EpsilonPosterior(fp=0, fn=n, tn=n, tp=0)
        assert post.median() == pytest.approx(1.762747174039086, abs=2e-4)


def test_counts_beyond_double_precision_are_refused_in_one_sentence():
    with pytest.raises(VarkitError, match="Clopper-Pearson"):
        bayesian_epsilon(fp=0, fn=MAX_COUNT + 1, tn=1, tp=0)
    # Clopper-Pearson has no such limit
    r = clopper_pearson_epsilon(fp=0, fn=MAX_COUNT + 1, tn=1, tp=0)
    assert 0 <= r.ci_low <= r.estimate <= r.ci_high


def test_a_random_attack_has_clopper_pearson_lower_bound_zero():
    rng = np.random.default_rng(3)
    member = rng.integers(0, 2, 2000)
    for threshold in ("split", "bonferroni", 0.0):
        score = rng.normal(size=member.size)  # independent of membership
        rs = audit_epsilon(
            member, score, method="clopper-pearson", threshold=threshold, random_state=1
        )
        assert rs[0].ci_low == 0.0


def test_all_scores_equal_is_a_chance_attack():
    member = np.array([0, 1] * 20)
    rs = audit_epsilon(member, np.zeros(40), method="both", threshold="bonferroni")
    cp = rs.select("epsilon")[1]
    assert cp.method == "clopper-pearson" and (cp.ci_low, cp.estimate) == (0.0, 0.0)
    for r in rs:
        assert 0.0 <= r.ci_low <= r.estimate <= r.ci_high


def test_a_huge_threshold_grid_is_capped_at_the_number_of_scores():
    member = np.array([0, 1] * 10)
    score = np.arange(20.0)
    rs = audit_epsilon(member, score, threshold="bonferroni", n_thresholds=10**12)
    assert rs[0].details["n_thresholds"] <= 20


def test_the_split_is_reproducible_from_the_seed_and_a_drawn_seed_is_recorded():
    rng = np.random.default_rng(0)
    member = rng.integers(0, 2, 1000)
    score = rng.normal(member, 1.0)
    first = audit_epsilon(member, score, random_state=11)
    second = audit_epsilon(member, score, random_state=11)
    assert [r.estimate for r in first] == [r.estimate for r in second]
    assert first.provenance["seed"] == 11
    drawn = audit_epsilon(member, score)
    seed = drawn.provenance["seed"]
    assert isinstance(seed, int)
    again = audit_epsilon(member, score, random_state=seed)
    assert again[0].details["threshold"] == drawn[0].details["threshold"]
    assert again[0].estimate == drawn[0].estimate


# -- CLI ---------------------------------------------------------------------------------


def _run(*args: str):
    return CliRunner().invoke(cli, ["privacy", "epsilon", *args])


def _write(tmp_path, rows: list[tuple[int, float]], name: str = "mia.csv") -> str:
    path = tmp_path / name
    path.write_text("member,score\n" + "".join(f"{m},{s}\n" for m, s in rows))
    return str(path)


def test_cli_records_the_seed_and_is_reproducible_from_it(tmp_path):
    rng = np.random.default_rng(1)
    path = _write(tmp_path, [(int(m), float(rng.normal(m))) for m in rng.integers(0, 2, 400)])
    drawn = _run(path, "--format", "json")
    assert drawn.exit_code == 0, drawn.output
    seed = json.loads(drawn.stdout)["provenance"]["seed"]
    assert isinstance(seed, int)
    again = _run(path, "--format", "json", "--seed", str(seed))
    assert json.loads(again.stdout)["results"] == json.loads(drawn.stdout)["results"]


@pytest.mark.parametrize(
    ("rows", "fragment"),
    [
        ([(1, 0.5), (1, 0.2), (1, 0.9)], "must contain both classes"),
        ([(1, 0.9), (0, 0.1)], "holds only one class"),  # too few rows for a split
    ],
)
def test_cli_single_class_and_tiny_logs_give_one_error_line(tmp_path, rows, fragment):
    result = _run(_write(tmp_path, rows))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0]


def test_cli_extreme_scores_and_equal_scores_give_ordered_results(tmp_path):
    rows = [(1, 1e308), (0, -1e308), (1, 1e308), (0, 1e-300), (1, 5.0), (0, 0.0)]
    for data in (rows, [(m, 0.5) for m, _ in rows]):
        result = _run(
            _write(tmp_path, data),
            "--method",
            "both",
            "--threshold",
            "bonferroni",
            "--tpr-at-fpr",
            "0.1",
            "--format",
            "json",
        )
        assert result.exit_code == 0, result.output
        assert "warning" not in result.stderr
        for r in json.loads(result.stdout)["results"]:
            low, estimate, high = (float(r[k]) for k in ("ci_low", "estimate", "ci_high"))
            assert 0.0 <= low <= estimate <= high


def test_bonferroni_beyond_the_computable_confidence_says_why(tmp_path):
    rows = [(1, 0.9), (0, 0.1), (1, 0.8), (0, 0.2), (1, 0.7), (0, 0.3)]
    result = _run(
        _write(tmp_path, rows), "--threshold", "bonferroni", "--confidence", "0.999999999"
    )
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    line = result.stderr.strip()
    assert line.startswith("error: --confidence=0.999999999 over") and "per threshold" in line
