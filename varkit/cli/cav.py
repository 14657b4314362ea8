"""``varkit cav``: crash-rate estimates from test logs, and the scenario simulator."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click

from varkit.cav import (
    ALTERNATIVES,
    CONTROL_FAMILIES,
    FITS,
    METHODS,
    PROPOSALS,
    REGIMES,
    TESTING,
    VEHICLES,
    OvertakingScenario,
    crash_rate,
)
from varkit.checks import CONFIDENCE_MAX, CONFIDENCE_MIN, resolve_seed
from varkit.cli.options import (
    FiniteFloatRange,
    RunOptions,
    choice_option,
    count_option,
    quiet_option,
    run_options,
    seed_option,
    write_text,
)
from varkit.errors import VarkitError
from varkit.progress import progress, show_progress


def _control_means(text: str | None) -> float | list[float]:
    """``--control-means``: one number or a comma-separated list (checked against the log)."""
    if text is None:
        return 0.0
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise VarkitError(
            f"--control-means must be one number or a comma-separated list, got {text!r}."
        ) from None


MAX_SIMULATED_TESTS = 10**9
CSV_CHARS = 18  # characters per value of a simulated log ("%.10g" and a comma)


@click.group()
def cav() -> None:
    """Crash-rate estimation for connected and automated vehicles."""


@cav.command("crash-rate")
@click.argument("tests", type=click.Path(dir_okay=False))
@choice_option(
    "--method",
    choices=METHODS,
    default="scv",
    help="nde: crude Monte Carlo; is: importance sampling; cv: regression control "
    "variates; scv: sparse control variates stratified by n_critical; learned: a "
    "cross-fitted per-step crash model as the control, post-stratified on n_critical "
    "(needs --critical and the log's scenario: --regime, --steps, --proposal).",
)
@count_option(
    "--crossfit",
    default=2,
    help="Folds for cross-fitting the control-variate coefficients; 0 fits them on the "
    "same tests (biased when crashes are rare).",
)
@choice_option(
    "--fit",
    choices=FITS,
    default="ols",
    help="Regression for the control-variate coefficients.",
)
@click.option(
    "--control-means",
    default=None,
    help="Known means of the cv_* columns: one number or a comma-separated list.  [default: 0]",
)
@count_option(
    "--pool-above",
    default=None,
    help="scv: pool all strata with more critical variables than this.",
)
@click.option(
    "--crashes-per-control",
    type=FiniteFloatRange(min=0),
    default=10.0,
    show_default=True,
    help="scv: pool a stratum with its neighbour while a fit has fewer crashes than this "
    "per control (0: only when it has fewer tests than coefficients).",
)
@click.option(
    "--target-rhw",
    type=FiniteFloatRange(0, sys.float_info.max, min_open=True),  # finite, positive
    default=0.3,
    show_default=True,
    help="Target relative half-width for the number of tests required.",
)
@click.option(
    "--target-confidence",
    type=FiniteFloatRange(CONFIDENCE_MIN, CONFIDENCE_MAX),
    default=0.9,
    show_default=True,
    help="Confidence level of the target relative half-width.",
)
@choice_option(
    "--alternative",
    choices=ALTERNATIVES,
    default="two-sided",
    help="nde, is: 'less' gives the one-sided upper bound [0, high] (for a claim 'at "
    "most'), 'greater' the lower bound [low, 1].",
)
@click.option(
    "--weight-bound",
    type=FiniteFloatRange(min=1.0),
    default=None,
    help="is: a known bound on the likelihood ratio p/q (1/eps for a defensive mixture: "
    "2 for `varkit cav simulate`'s default proposal), used for the bound when no test "
    "crashed or every test did.  [default: the largest weight in the log]",
)
@count_option(
    "--running",
    low=1,
    default=None,
    metavar="N",
    help="Also report the running estimate after the first n tests at N log-spaced "
    "checkpoints (group tests=<n>, at --target-confidence), from which `varkit report` "
    "draws the convergence curve.",
)
@click.option(
    "--critical",
    type=click.Path(dir_okay=False),
    default=None,
    help="learned: the critical table of the log (`varkit cav simulate --critical-output`).",
)
@choice_option(
    "--regime",
    choices=tuple(REGIMES),
    default="default",
    help="learned: the simulator regime the log was drawn from.",
)
@count_option(
    "--steps",
    low=1,
    default=40,
    help="learned: decision steps per test of the log's scenario.",
)
@choice_option(
    "--proposal",
    choices=PROPOSALS,
    default=None,
    help="learned: the testing proposal of the log's scenario.  [default: the regime's]",
)
@run_options(device=False, engine=True)
def crash_rate_command(
    tests: str,
    method: str,
    crossfit: int,
    fit: str,
    control_means: str | None,
    pool_above: int | None,
    crashes_per_control: float,
    target_rhw: float,
    target_confidence: float,
    alternative: str,
    weight_bound: float | None,
    running: int | None,
    critical: str | None,
    regime: str,
    steps: int,
    proposal: str | None,
    run: RunOptions,
) -> None:
    """Estimate the crash rate from a test log TESTS (CSV or Parquet, one row per test).

    Columns: crash (0/1 or probability); weight (p/q) or log_weight for
    is/cv/scv/learned; n_critical for scv/learned; control variates cv_* for cv/scv;
    p_k (P(n_critical = k)) for the post-strata of learned, when the log has it.

    TESTS may be a glob of CSV or Parquet files (quote it). Cross-fitting folds are a hash
    of (seed, row id), so --engine dask, which adds per-partition sums
    (varkit.cav.logs), gives the memory engine's answer for the same seed.
    """
    results = crash_rate(
        tests,
        method=method,
        fit=fit,
        crossfit=crossfit or None,  # 0: fit the coefficients on the same tests
        control_means=_control_means(control_means),
        pool_above=pool_above,
        crashes_per_control=crashes_per_control,
        target_rhw=target_rhw,
        target_confidence=target_confidence,
        alternative=alternative,
        weight_bound=weight_bound,
        running=running,
        critical=critical if method == "learned" else None,
        scenario=(
            OvertakingScenario(n_steps=steps, proposal=proposal, regime=regime)
            if method == "learned"
            else None
        ),
        **run.front_door(device=False),
    )
    run.emit(results)


@cav.command("simulate")
@choice_option(
    "--vehicle",
    choices=tuple(VEHICLES),
    default="surrogate",
    help="Automated vehicle under test (see varkit.cav.scenarios).",
)
@count_option(
    "--tests",
    "n_tests",
    low=1,
    # a bound users can reach in hours, not years: 1e9 tests are about 150 GB of CSV
    high=MAX_SIMULATED_TESTS,
    default=10_000,
    help="Number of tests to simulate (at most 1e9, about 150 GB of CSV).",
)
@choice_option(
    "--testing",
    choices=TESTING,
    default="is",
    help="Draw critical maneuvers by importance sampling or from the naturalistic model.",
)
@count_option(
    "--steps",
    low=1,
    default=40,
    help="Decision steps per test (three variables each).",
)
@choice_option(
    "--proposal",
    choices=PROPOSALS,
    default=None,
    help="Testing distribution: twist one critical maneuver per test (defensive mixture, "
    "weight <= 2) or every critical maneuver (the previous proposal, kept to reproduce "
    "earlier results).  [default: one-critical; all-critical with --controls local or "
    "mixture]",
)
@choice_option(
    "--controls",
    choices=CONTROL_FAMILIES,
    default=None,
    help="Family of control-variate columns written (see varkit.cav.scenarios); twist, "
    "binned and product go with one-critical, product, local and mixture with "
    "all-critical. twist writes only the bounded cv_twist_* columns, which `crash-rate "
    "--method scv` can use as they are; binned adds cv_weight, cv_surrogate and cv_gap_*, "
    "with which scv has more variance than importance sampling.  [default: the "
    "proposal's own: twist for one-critical, product for all-critical]",
)
@choice_option(
    "--regime",
    choices=tuple(REGIMES),
    default="default",
    help="Simulator regime (see varkit.cav.scenarios): default (as before regimes, draw "
    "for draw); papers (near-deterministic vehicles, the surrogate vehicle = the surrogate "
    "model, sparse critical steps); nade (every critical maneuver twisted, eps 0.1).",
)
@seed_option
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="CSV file to write; standard output when omitted.",
)
@click.option(
    "--critical-output",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Also write the critical variables, one row per critical step (test, step, gap, "
    "maneuver, disturbance, twisted, crash; test = the row of the log from 0), to this CSV.",
)
@quiet_option
def simulate(
    vehicle: str,
    n_tests: int,
    testing: str,
    steps: int,
    proposal: str | None,
    controls: str | None,
    regime: str,
    seed: int | None,
    output: str | None,
    critical_output: str | None,
    quiet: bool,
) -> None:
    """Write a test log CSV from the overtaking simulator (its exact crash rate on stderr).

    The log is simulated and written in pieces (memory of one piece, whatever --tests);
    the seed (drawn when --seed is not given) is printed on stderr with the crash rate.
    Each row ends with crash_step (the first step that crashed, empty if none) and p_k
    (P(n_critical = k) for its k, the same under p and q).
    """
    scenario = OvertakingScenario(
        n_steps=steps, proposal=proposal, controls=controls, regime=regime
    )
    family = scenario.control_family  # one sentence when the pair does not go together
    seed_value = resolve_seed(seed)
    if output is not None:
        _check_free_space(output, n_tests, n_tests * scenario.log_columns() * CSV_CHARS)
    if critical_output is not None:  # 7 values per critical step, n_steps * P(critical) a test
        steps_critical = n_tests * scenario.n_steps * scenario.critical_probability()
        _check_free_space(critical_output, n_tests, int(steps_critical * 7 * CSV_CHARS))
    pieces = scenario.simulate_pieces_with_critical(
        n_tests, vehicle, testing=testing, random_state=seed_value
    )
    with show_progress(not quiet), progress(n_tests, "simulating") as done:
        for i, (log, critical) in enumerate(pieces):
            mode = "w" if i == 0 else "a"
            text = log.to_csv(index=False, header=i == 0, float_format="%.10g")
            if output is None:
                sys.stdout.write(text)
            else:
                write_text(output, text, option="--output", mode=mode)
            if critical_output is not None:
                table = critical.to_csv(index=False, header=i == 0, float_format="%.10g")
                write_text(critical_output, table, option="--critical-output", mode=mode)
            done(len(log))
    click.echo(
        f"exact crash rate of {vehicle} ({regime} regime): {scenario.crash_rate(vehicle):.6g} "
        f"({scenario.testing_proposal} proposal, {family} controls), seed {seed_value}",
        err=True,
    )


def _check_free_space(output: str, n_tests: int, need: int) -> None:
    """Refuse a log that the disk under ``output`` cannot hold (one sentence)."""
    folder = Path(output).resolve().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    free = shutil.disk_usage(folder).free
    if need > free:
        raise VarkitError(
            f"--output: {n_tests:,} tests make a CSV of about {need / 1e9:.3g} GB, more "
            f"than the {free / 1e9:.3g} GB free under '{folder}'; simulate fewer tests."
        )
