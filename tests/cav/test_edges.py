"""Crash rates at the edges (issue 14): zero and all crashes, the range [0, 1], weights a
method would ignore, extreme values, seeds; through the API and ``varkit cav``."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from varkit.cav import (
    control_variate_estimate,
    importance_sampling_estimate,
    n_required,
    nde_estimate,
    running_estimate,
    sparse_control_variates,
    stopping,
)
from varkit.cav.intervals import RateEdges, bound_rate, clopper_pearson
from varkit.cav.scenarios import OvertakingScenario
from varkit.cli.main import cli
from varkit.errors import VarkitError
from varkit.results import ResultSet


def _in_range(r) -> None:
    assert 0.0 <= r.ci_low <= r.estimate <= r.ci_high <= 1.0, r


def _cli(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _one_error_line(out, *needles: str) -> str:
    assert out.exit_code == 2, out.output
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), out.stderr
    assert "Traceback" not in out.output
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def _write(tmp_path, frame: pd.DataFrame, name: str = "log.csv") -> str:
    path = tmp_path / name
    frame.to_csv(path, index=False, float_format="%.17g")
    return str(path)


@pytest.fixture(scope="module")
def log() -> pd.DataFrame:
    return OvertakingScenario().simulate(3000, "surrogate", random_state=7)


# -- 1. zero and all crashes ------------------------------------------------------------
def test_is_without_crash_bounds_by_the_weight_bound_times_the_exact_bound():
    n, alpha = 50, 0.05
    exact = 1 - (alpha / 2) ** (1 / n)
    given = importance_sampling_estimate(np.zeros(n), np.full(n, 0.8), weight_bound=2.0)
    assert (given.estimate, given.ci_low) == (0, 0)
    assert given.ci_high == pytest.approx(2 * exact, rel=1e-12)
    bound = given.details["zero_crash_bound"]
    assert bound["weight_bound"] == 2.0 and "given" in bound["weight_bound_source"]
    # default: the largest weight in the log, never below 1, and said so
    seen = importance_sampling_estimate(np.zeros(n), np.r_[np.full(n - 1, 0.5), 1.7])
    assert seen.ci_high == pytest.approx(1.7 * exact, rel=1e-12)
    assert "largest weight" in seen.details["zero_crash_bound"]["weight_bound_source"]
    small = importance_sampling_estimate(np.zeros(n), np.full(n, 0.5))
    assert small.ci_high == pytest.approx(exact, rel=1e-12)  # sup p/q >= 1
    one_sided = importance_sampling_estimate(
        np.zeros(n), np.ones(n), alternative="less", weight_bound=1.0
    )
    assert one_sided.ci_high == pytest.approx(1 - alpha ** (1 / n), rel=1e-12)


def test_is_bound_never_exceeds_one_and_weight_bound_must_hold():
    r = importance_sampling_estimate(np.zeros(3), np.full(3, 50.0))
    assert r.ci_high == 1.0
    with pytest.raises(VarkitError, match="weight_bound"):
        importance_sampling_estimate(np.zeros(3), np.full(3, 3.0), weight_bound=2.0)
    with pytest.raises(VarkitError, match="at least 1"):
        importance_sampling_estimate(np.zeros(3), np.ones(3), weight_bound=0.5)


def test_crashes_of_weight_zero_bound_like_no_crash():
    y, w = np.r_[1, 1, np.zeros(38)], np.r_[0.0, 0.0, np.full(37, 1.5), 2.0]
    r = importance_sampling_estimate(y, w)
    assert (r.estimate, r.ci_low) == (0, 0)
    assert r.ci_high == pytest.approx(2.0 * (1 - 0.025 ** (1 / 40)), rel=1e-12)


def test_is_all_crashes_lower_bound_and_upper_one():
    n = 40
    r = importance_sampling_estimate(np.ones(n), np.ones(n))
    assert r.ci_high == 1.0
    assert r.ci_low == pytest.approx(0.025 ** (1 / n), rel=1e-12)  # = Clopper-Pearson
    wide = importance_sampling_estimate(np.ones(n), np.ones(n), weight_bound=2.0)
    assert wide.ci_low == pytest.approx(1 - 2 * (1 - 0.025 ** (1 / n)), rel=1e-12)
    assert "all_crash_bound" in wide.details


@pytest.mark.parametrize("method", ["cv", "scv"])
def test_control_variates_without_crash_get_the_zero_crash_bound(log, method):
    frame = log.assign(crash=0)
    controls = frame.filter(like="cv_")
    if method == "cv":
        r = control_variate_estimate(
            frame["crash"],
            controls,
            weights=frame["weight"],
            metric="crash_rate",
            random_state=0,
        )
    else:
        r = sparse_control_variates(
            frame["crash"], frame["weight"], frame["n_critical"], controls, random_state=0
        )
    assert (r.estimate, r.ci_low) == (0, 0)
    upper = 1 - 0.025 ** (1 / len(frame))
    assert r.ci_high == pytest.approx(frame["weight"].max() * upper, rel=1e-12)
    assert "zero_crash_bound" in r.details


@pytest.mark.parametrize("method", ["nde", "is"])
def test_running_estimates_have_the_edges_at_every_checkpoint(method):
    y = np.r_[np.zeros(30), 1, np.zeros(20), np.ones(3)]
    w = np.ones(y.size) if method == "nde" else np.linspace(0.5, 2.0, y.size)
    rs = running_estimate(y, w, method=method, checkpoints=range(2, y.size + 1))
    for r in rs:
        _in_range(r)
        ref = (nde_estimate if method == "nde" else importance_sampling_estimate)(
            *((y[: r.n],) if method == "nde" else (y[: r.n], w[: r.n])), confidence=0.9
        )
        assert (r.ci_low, r.estimate, r.ci_high) == pytest.approx(
            (ref.ci_low, ref.estimate, ref.ci_high), rel=1e-9, abs=1e-15
        )
    assert all(r.ci_high > 0 for r in rs)  # never [0, 0] before the first crash


def test_running_control_variates_share_one_seed_in_the_provenance(log):
    args = (log["crash"], log["weight"])
    kwargs = {
        "n_critical": log["n_critical"],
        "controls": log.filter(like="cv_"),
        "method": "scv",
        "checkpoints": [1500, 3000],
        "pool_above": 3,
    }
    first = running_estimate(*args, **kwargs)
    seed = first.provenance["seed"]
    assert isinstance(seed, int)
    again = running_estimate(*args, **kwargs, random_state=seed)
    assert [r.estimate for r in again] == [r.estimate for r in first]
    assert all(r.details["seed"] == seed for r in first)


# -- the gate end to end ----------------------------------------------------------------
@pytest.mark.parametrize("method", ["nde", "is"])
def test_assured_gate_does_not_pass_on_50_crash_free_tests(tmp_path, method):
    path = _write(tmp_path, pd.DataFrame({"crash": np.zeros(50, int), "weight": 1.0}))
    results = tmp_path / "results.json"
    out = _cli("cav", "crash-rate", path, "--method", method, "--format", "json", "-o", results)
    assert out.exit_code == 0, out.output
    crash = json.loads(results.read_text())["results"][0]
    assert crash["ci_high"] == pytest.approx(1 - 0.025 ** (1 / 50))  # 0.0711, not 0
    rules = tmp_path / "rules.toml"
    rules.write_text(
        '[[rule]]\nname = "at most 1 crash in 1000 tests"\nmetric = "crash_rate"\n'
        'max = 1e-3\nmode = "assured"\n'
    )
    gate = _cli("gate", results, "--rules", rules)
    assert gate.exit_code == 1, gate.output
    assert "fail" in gate.output and "Traceback" not in gate.output


def test_one_sided_cli_bound_is_0058_for_50_crash_free_tests(tmp_path):
    path = _write(tmp_path, pd.DataFrame({"crash": np.zeros(50, int)}))
    out = _cli("cav", "crash-rate", path, "--method", "nde", "--alternative", "less",
               "--format", "json")  # fmt: skip
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)["results"][0]
    assert round(result["ci_high"], 3) == 0.058 and result["alternative"] == "less"
    _one_error_line(_cli("cav", "crash-rate", path, "--method", "scv", "--alternative", "less"),
                    "--alternative")  # fmt: skip


def test_cli_weight_bound_sets_the_zero_crash_bound(tmp_path):
    path = _write(tmp_path, pd.DataFrame({"crash": np.zeros(50, int), "weight": 0.9}))
    out = _cli("cav", "crash-rate", path, "--method", "is", "--weight-bound", 2, "--format",
               "json")  # fmt: skip
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)["results"][0]
    assert result["ci_high"] == pytest.approx(2 * (1 - 0.025 ** (1 / 50)), rel=1e-12)
    assert "given" in result["details"]["zero_crash_bound"]["weight_bound_source"]
    _one_error_line(_cli("cav", "crash-rate", path, "--method", "is", "--weight-bound", 0.5),
                    "--weight-bound")  # fmt: skip
    _one_error_line(_cli("cav", "crash-rate", path, "--method", "scv", "--weight-bound", 2),
                    "--weight-bound")  # fmt: skip


# -- 2. the range [0, 1] ----------------------------------------------------------------
def test_bound_rate_clips_and_says_so():
    details: dict = {}
    est, low, high = bound_rate(1.0004, 0.98, 1.039, 0.95, RateEdges(10, 5, 5, 2.0), details)
    assert (est, low, high) == (1.0, 0.98, 1.0)
    assert "estimate clipped from 1.0004 to 1" in details["truncated"]
    assert "ci_high clipped from 1.039 to 1" in details["truncated"]


def test_every_estimator_stays_in_range_on_tiny_and_heavy_logs():
    rng = np.random.default_rng(14)
    for _ in range(60):
        n = int(rng.integers(2, 30))
        y = (rng.random(n) < rng.choice([0.0, 0.05, 0.5, 0.95, 1.0])).astype(float)
        w = rng.choice([0.02, 0.5, 1.0, 2.0, 40.0], size=n)
        _in_range(nde_estimate(y))
        _in_range(importance_sampling_estimate(y, w))
        for r in running_estimate(y, w, method="is", checkpoints=range(2, n + 1)):
            _in_range(r)
        if n >= 8:
            h = rng.standard_normal((n, 1)) + 3 * y[:, None]
            _in_range(control_variate_estimate(y, h, weights=w, metric="crash_rate",
                                               random_state=0))  # fmt: skip


def test_is_interval_above_one_is_clipped():
    r = importance_sampling_estimate([1, 0, 0, 0, 0], [2, 1, 1, 1, 1])
    assert (r.ci_low, r.ci_high) == (0.0, 1.0)
    assert "ci_low clipped" in r.details["truncated"]
    assert "ci_high clipped" in r.details["truncated"]


def test_demo_log_running_curve_stays_in_range():
    from varkit.datasets.cav import load_cav_example

    ex = load_cav_example()
    for r in running_estimate(ex["crash"], ex["weight"], method="is", checkpoints=30):
        _in_range(r)


# -- 3. weights a method would ignore ---------------------------------------------------
def test_nde_on_weighted_log_is_an_error_naming_importance_sampling(tmp_path, log):
    path = _write(tmp_path, log)
    line = _one_error_line(_cli("cav", "crash-rate", path, "--method", "nde"), "importance")
    assert "`weight`" in line and "row 1" in line
    lw = log.drop(columns="weight").assign(log_weight=np.log(log["weight"]))
    _one_error_line(
        _cli("cav", "crash-rate", _write(tmp_path, lw, "lw.csv"), "--method", "nde"),
        "`log_weight`",
        "importance",
    )
    ones = _write(tmp_path, log.assign(weight=1.0), "ones.csv")
    assert _cli("cav", "crash-rate", ones, "--method", "nde").exit_code == 0
    with pytest.raises(VarkitError, match="importance sampling"):
        running_estimate(log["crash"], log["weight"], method="nde")


# -- 4. extremes -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("column", "value", "needle"),
    [
        ("weight", 1e308, "`weight` must be at most"),
        ("log_weight", 1e308, "`log_weight` must be at most"),
        ("cv_twist_gap_1", 1e300, "column 'cv_twist_gap_1'"),
    ],
)
def test_extreme_values_are_one_error_line(tmp_path, log, column, value, needle):
    frame = log.head(200).copy()
    if column == "log_weight":
        frame = frame.drop(columns="weight").assign(log_weight=0.0)
    frame.loc[3, column] = value
    path = _write(tmp_path, frame)
    method = "scv" if column.startswith("cv_") else "is"
    for engine in ("pandas", "dask"):
        out = _cli("cav", "crash-rate", path, "--method", method, "--engine", engine)
        line = _one_error_line(out, needle)  # fmt: skip
        assert "RuntimeWarning" not in out.output and ("row" in line)


def test_very_negative_log_weight_is_a_zero_weight(tmp_path):
    frame = pd.DataFrame({"crash": [1, 0, 1, 0], "log_weight": [-1e308, 0.0, 0.0, -800.0]})
    out = _cli("cav", "crash-rate", _write(tmp_path, frame), "--method", "is", "--format", "json")
    assert out.exit_code == 0 and "warning" not in out.stderr, out.output
    assert json.loads(out.stdout)["results"][0]["estimate"] == pytest.approx(0.25)


@pytest.mark.parametrize("rhw", ["1e308", "1e-300"])
def test_extreme_target_rhw_gives_a_count_without_overflow(tmp_path, log, rhw):
    path = _write(tmp_path, log)
    out = _cli("cav", "crash-rate", path, "--method", "is", "--target-rhw", rhw,
               "--format", "json")  # fmt: skip
    assert out.exit_code == 0 and "warning: RuntimeWarning" not in out.stderr, out.output
    needed = json.loads(out.stdout)["results"][1]["estimate"]
    assert needed == (1.0 if rhw == "1e308" else "inf")


def test_tests_required_in_logs():
    assert stopping.tests_required(1e-4, 1e-3, 0.3, 0.9) == np.ceil(1.6448536**2 * 1e-4 / 0.3e-3**2)
    assert stopping.tests_required(1e-4, 1e-3, 1e-300, 0.9) == np.inf
    assert stopping.tests_required(1e-4, 1e-3, 1e308, 0.9) == 1.0
    assert stopping.tests_required(1e-4, 5e-324, 0.3, 0.9) == np.inf
    with pytest.raises(VarkitError, match="rhw"):
        n_required(nde_estimate([0, 1, 0]), rhw=float("inf"))


@pytest.mark.parametrize("option", ["--target-confidence", "--confidence"])
def test_confidence_too_close_to_one_is_an_error(tmp_path, log, option):
    path = _write(tmp_path, log.head(100))
    _one_error_line(_cli("cav", "crash-rate", path, "--method", "is", option,
                         "0.9999999999999999"), option)  # fmt: skip


@pytest.mark.parametrize("method", ["cv", "scv"])
def test_more_folds_than_tests_is_an_error_at_once(tmp_path, log, method):
    path = _write(tmp_path, log.head(500))
    start = time.perf_counter()
    _one_error_line(
        _cli("cav", "crash-rate", path, "--method", method, "--crossfit", "1000000"),
        "--crossfit",
        "500 tests",
    )
    assert time.perf_counter() - start < 10


def test_as_many_folds_as_tests_runs_in_linear_time(log):
    small = log.head(600)
    start = time.perf_counter()
    r = control_variate_estimate(
        small["crash"],
        small.filter(like="cv_"),
        weights=small["weight"],
        crossfit=600,
        metric="crash_rate",
        random_state=0,
    )
    assert time.perf_counter() - start < 10
    _in_range(r)


def test_simulating_more_than_memory_holds_is_one_line(tmp_path, monkeypatch):
    with pytest.raises(VarkitError, match=r"needs about .* of memory"):
        OvertakingScenario().simulate(10**12)
    _one_error_line(_cli("cav", "simulate", "--tests", 10**12), "--tests", "1000000000")
    # a log the disk cannot hold is refused before simulating (1 MB free here)
    import shutil

    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda _: usage._replace(free=10**6))
    out = _cli("cav", "simulate", "--tests", 10**6, "-o", tmp_path / "big.csv")
    _one_error_line(out, "GB", "free")
    _one_error_line(_cli("cav", "simulate", "--tests", 2, "--steps", 10**12), "steps")


def test_running_with_more_checkpoints_than_tests_is_every_test():
    rs = running_estimate(np.r_[0, 1, 0, 0, 1], np.ones(5), checkpoints=10**12)
    assert [r.n for r in rs] == [2, 3, 4, 5]


def test_n_critical_too_large_is_an_error(log):
    k = log["n_critical"].to_numpy(dtype=float)
    k[0] = 1e300
    with pytest.raises(VarkitError, match="`n_critical` must be at most"):
        sparse_control_variates(log["crash"], log["weight"], k, log.filter(like="cv_"))


# -- 5. seeds --------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["nde", "is", "cv", "scv"])
def test_same_seed_same_results_and_seed_in_provenance(tmp_path, log, method):
    path = _write(tmp_path, log.assign(weight=1.0) if method == "nde" else log)
    args = ("cav", "crash-rate", path, "--method", method, "--format", "json", "--running", 5)
    runs = [_cli(*args, "--seed", 123) for _ in range(2)]
    docs = [json.loads(r.stdout) for r in runs]
    assert docs[0]["results"] == docs[1]["results"]
    assert docs[0]["provenance"]["seed"] == 123
    fresh = ResultSet.from_json(_cli(*args).stdout)
    seed = fresh.provenance["seed"]
    assert isinstance(seed, int)
    again = ResultSet.from_json(_cli(*args, "--seed", seed).stdout)
    assert [r.estimate for r in again] == [r.estimate for r in fresh]


def test_simulate_same_seed_same_log_and_fresh_seed_printed(tmp_path):
    paths = [tmp_path / f"{i}.csv" for i in range(3)]
    outs = [_cli("cav", "simulate", "--tests", 300, "--seed", 9, "-o", paths[i]) for i in (0, 1)]
    assert all(o.exit_code == 0 for o in outs)
    assert paths[0].read_text() == paths[1].read_text() and "seed 9" in outs[0].stderr
    fresh = _cli("cav", "simulate", "--tests", 300, "-o", paths[2])
    seed = int(fresh.stderr.rsplit("seed ", 1)[1].split()[0])
    _cli("cav", "simulate", "--tests", 300, "--seed", seed, "-o", paths[0])
    assert paths[0].read_text() == paths[2].read_text()


def test_api_seed_in_details_reproduces(log):
    controls = log.filter(like="cv_")
    first = sparse_control_variates(log["crash"], log["weight"], log["n_critical"], controls)
    again = sparse_control_variates(
        log["crash"], log["weight"], log["n_critical"], controls,
        random_state=first.details["seed"],
    )  # fmt: skip
    assert again.estimate == first.estimate


# -- coverage by simulation (exact and simulated) ----------------------------------------
@pytest.mark.parametrize("n", [2, 5, 20, 50])
def test_clopper_pearson_covers_at_least_nominal_exactly(n):
    # exact coverage sum_k P(k) 1{p in CI(k)}, over rates down to 1e-4 and up to 1 - 1e-4
    from scipy import stats

    bounds = np.array([clopper_pearson(k, n, 0.95) for k in range(n + 1)])
    for p in np.r_[1e-4, 1e-3, np.linspace(0.01, 0.99, 50), 0.999, 1 - 1e-4]:
        inside = (bounds[:, 0] <= p) & (p <= bounds[:, 1])
        assert stats.binom.pmf(np.arange(n + 1), n, p) @ inside >= 0.95 - 1e-12


@pytest.mark.parametrize(("n", "rate"), [(5, 0.01), (20, 0.001), (50, 0.5), (30, 0.995)])
def test_nde_interval_covers_by_simulation(n, rate):
    rng = np.random.default_rng(1400 + n)
    reps = 800
    hits = sum(
        (r := nde_estimate(rng.random(n) < rate)).ci_low <= rate <= r.ci_high for _ in range(reps)
    )
    assert hits / reps >= 0.95 - 3 * np.sqrt(0.95 * 0.05 / reps)


@pytest.mark.parametrize(("n", "rate"), [(10, 0.002), (40, 0.002), (10, 0.998), (40, 0.998)])
def test_is_edges_cover_by_simulation(n, rate):
    # p = Bernoulli(rate), q = 1/2 p + 1/2 Bernoulli(r): a defensive mixture, W <= 2, with
    # r near the edge, so that most logs have no crash (or only crashes)
    rng = np.random.default_rng(2800 + n)
    q_crash = 0.5 * rate + 0.5 * (0.02 if rate < 0.5 else 0.98)
    reps, hits, edge = 800, 0, 0
    for _ in range(reps):
        y = rng.random(n) < q_crash
        w = np.where(y, rate / q_crash, (1 - rate) / (1 - q_crash))
        r = importance_sampling_estimate(y, w, weight_bound=2.0)
        hits += r.ci_low <= rate <= r.ci_high
        edge += y.all() or not y.any()
    assert edge > reps / 2
    assert hits / reps >= 0.95 - 3 * np.sqrt(0.95 * 0.05 / reps)
