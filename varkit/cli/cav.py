"""``varkit cav``: crash-rate estimates from test logs, and the scenario simulator."""

from __future__ import annotations

import sys
from typing import Any

import click

from varkit.checks import CONFIDENCE_MAX, CONFIDENCE_MIN
from varkit.cli.options import (
    FiniteFloatRange,
    command_line,
    confidence_option,
    emit,
    engine_options,
    output_options,
    seed_option,
)
from varkit.errors import VarkitError
from varkit.results import Result, ResultSet, make_provenance

METHODS = ("nde", "is", "cv", "scv")
# kept here (not imported from varkit.cav.scenarios) so that `varkit --help` stays fast
PROPOSALS = ("one-critical", "all-critical")
CONTROL_FAMILIES = ("twist", "binned", "product", "local", "mixture")


def _control_means(text: str | None, n_controls: int) -> Any:
    if text is None:
        return 0.0
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise VarkitError(
            f"--control-means must be one number or a comma-separated list, got {text!r}."
        ) from None
    if len(values) not in (1, n_controls):
        raise VarkitError(
            f"--control-means has {len(values)} values but the file has {n_controls} cv_* columns."
        )
    return values[0] if len(values) == 1 else values


MAX_SIMULATED_TESTS = 10**9


@click.group()
def cav() -> None:
    """Crash-rate estimation for connected and automated vehicles."""


@cav.command("crash-rate")
@click.argument("tests", type=click.Path(dir_okay=False))
@click.option(
    "--method",
    type=click.Choice(METHODS),
    default="scv",
    show_default=True,
    help="nde: crude Monte Carlo; is: importance sampling; cv: regression control "
    "variates; scv: sparse control variates stratified by n_critical.",
)
@click.option(
    "--crossfit",
    type=click.IntRange(min=0),
    default=2,
    show_default=True,
    help="Folds for cross-fitting the control-variate coefficients; 0 fits them on the "
    "same tests (biased when crashes are rare).",
)
@click.option(
    "--fit",
    type=click.Choice(("ols", "ridge", "lasso")),
    default="ols",
    show_default=True,
    help="Regression for the control-variate coefficients.",
)
@click.option(
    "--control-means",
    default=None,
    help="Known means of the cv_* columns: one number or a comma-separated list.  [default: 0]",
)
@click.option(
    "--pool-above",
    type=click.IntRange(min=0),
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
@click.option(
    "--alternative",
    type=click.Choice(("two-sided", "less", "greater")),
    default="two-sided",
    show_default=True,
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
@click.option(
    "--running",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Also report the running estimate after the first n tests at N log-spaced "
    "checkpoints (group tests=<n>, at --target-confidence), from which `varkit report` "
    "draws the convergence curve.",
)
@engine_options
@confidence_option
@seed_option
@output_options
def crash_rate(
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
    engine: str,
    scheduler: str | None,
    row_id: str | None,
    partition_rows: int | None,
    confidence: float,
    seed: int | None,
    fmt: str,
    output: str | None,
) -> None:
    """Estimate the crash rate from a test log TESTS (CSV or Parquet, one row per test).

    Columns: crash (0/1 or probability); weight (p/q) or log_weight for is/cv/scv;
    n_critical for scv; control variates cv_* for cv/scv.

    TESTS may be a glob of CSV or Parquet files (quote it). Cross-fitting folds are a hash
    of (seed, row id), so --engine dask, which adds per-partition sums
    (varkit.cav.logs), gives the pandas engine's answer for the same seed.
    """
    from varkit.cav import n_required
    from varkit.cav.control_variates import fold_seed
    from varkit.io.partitions import expand_paths

    seed_value = fold_seed(seed)  # one seed for the folds, recorded in the provenance
    folds = crossfit or None
    pooling = {"pool_above": pool_above, "crashes_per_control": crashes_per_control}
    if alternative != "two-sided" and method not in ("nde", "is"):
        raise VarkitError(f"--alternative {alternative} needs --method nde or is.")
    if weight_bound is not None and method != "is":
        raise VarkitError("--weight-bound needs --method is.")
    edges = {"alternative": alternative, "weight_bound": weight_bound}
    if engine == "dask":
        if running is not None:
            raise VarkitError("--running follows the tests in order: it needs --engine pandas.")
        result = _crash_rate_dask(
            tests,
            method,
            fit,
            folds,
            control_means,
            pooling,
            target_rhw,
            target_confidence,
            confidence,
            seed_value,
            scheduler,
            row_id,
            partition_rows,
            edges,
        )
        extra: list[Result] = []
        skipped: list[dict[str, Any]] = []
    else:
        if scheduler is not None or partition_rows is not None:
            raise VarkitError("--scheduler and --partition-rows need --engine dask.")
        result, extra, skipped = _crash_rate_pandas(
            tests,
            method,
            fit,
            folds,
            control_means,
            pooling,
            target_rhw,
            target_confidence,
            confidence,
            seed_value,
            row_id,
            running,
            edges,
        )
    provenance = make_provenance(
        command=command_line(click.get_current_context()),
        inputs=expand_paths(tests),
        seed=seed_value,
        device="cpu",
    )
    if running is not None:  # checkpoints too short for the method, with the reason
        provenance["running_skipped_checkpoints"] = skipped
    results = ResultSet(
        (result, n_required(result, rhw=target_rhw, confidence=target_confidence), *extra),
        provenance,
    )
    emit(results, fmt, output)


def _crash_rate_dask(
    tests: str,
    method: str,
    fit: str,
    folds: int | None,
    control_means: str | None,
    pooling: dict[str, Any],
    target_rhw: float,
    target_confidence: float,
    confidence: float,
    seed: int,
    scheduler: str | None,
    row_id: str | None,
    partition_rows: int | None,
    edges: dict[str, Any],
) -> Result:
    from varkit.cav.logs import crash_rate_log, log_layout
    from varkit.engine.reduce import LogSource, connect

    if fit != "ols":
        raise VarkitError("--engine dask fits the coefficients by OLS from sums: use --fit ols.")
    layout = log_layout(tests, method)
    client = connect(scheduler)
    try:
        return crash_rate_log(
            LogSource(tests, row_id=row_id, rows_per_partition=partition_rows),
            method=method,
            crossfit=folds,
            control_means=_control_means(control_means, len(layout.controls)),
            **pooling,
            confidence=confidence,
            target_rhw=target_rhw,
            target_confidence=target_confidence,
            random_state=seed,
            client=client,
            **edges,
        )
    finally:
        if client is not None:
            client.close()


def _crash_rate_pandas(
    tests: str,
    method: str,
    fit: str,
    folds: int | None,
    control_means: str | None,
    pooling: dict[str, Any],
    target_rhw: float,
    target_confidence: float,
    confidence: float,
    seed: int,
    row_id: str | None,
    running: int | None,
    edges: dict[str, Any],
) -> tuple[Result, list[Result], list[dict[str, Any]]]:
    import numpy as np

    from varkit.cav import (
        control_variate_estimate,
        importance_sampling_estimate,
        nde_estimate,
        running_estimate,
        sparse_control_variates,
    )
    from varkit.cav._checks import check_weights, require_unit_weights
    from varkit.cav.logs import log_columns, log_layout
    from varkit.io.partitions import ROW_ID, read_all

    layout = log_layout(tests, method)
    frame = read_all(tests, log_columns(method), row_id=row_id)
    ids = frame[ROW_ID].to_numpy()
    weight = frame["weight"] if layout.weight == "weight" else None
    log_weight = frame["log_weight"] if layout.weight == "log_weight" else None
    controls = frame[list(layout.controls)]
    names = list(layout.controls)
    options: dict[str, Any] = {}
    if method == "nde":
        for column in layout.unit_weights:  # nde ignores weights: they must all be 1
            require_unit_weights(frame[column].to_numpy(dtype=float), column, "nde")
        result = nde_estimate(
            frame["crash"], confidence=confidence, alternative=edges["alternative"]
        )
    elif method == "is":
        result = importance_sampling_estimate(
            frame["crash"], weight, log_weight=log_weight, confidence=confidence, **edges
        )
        options = {"weight_bound": edges["weight_bound"]}
    elif method == "cv":
        w = (
            None
            if layout.weight is None
            else (
                weight
                if weight is not None
                else check_weights(np.asarray(log_weight, dtype=float), "log_weight")
            )
        )
        options = {
            "control_means": _control_means(control_means, controls.shape[1]),
            "fit": fit,
            "crossfit": folds,
            "control_names": names,
            "random_state": seed,
        }
        result = control_variate_estimate(
            frame["crash"],
            controls,
            weights=w,
            confidence=confidence,
            metric="crash_rate",
            row_ids=ids,
            **options,
        )
    else:
        options = {
            "control_means": _control_means(control_means, controls.shape[1]),
            "fit": fit,
            "crossfit": folds,
            **pooling,
            "target_rhw": target_rhw,
            "target_confidence": target_confidence,
            "control_names": names,
            "random_state": seed,
        }
        result = sparse_control_variates(
            frame["crash"],
            weight,
            frame["n_critical"],
            controls,
            log_weight=log_weight,
            confidence=confidence,
            row_ids=ids,
            **options,
        )
    extra: list[Result] = []
    skipped: list[dict[str, Any]] = []
    if running is not None:
        # The same call as the demo's CAV section: the report draws these as the
        # convergence curve, at the level of the relative half-width target.
        curve = running_estimate(
            frame["crash"],
            None if method == "nde" else weight,
            log_weight=None if method == "nde" else log_weight,
            n_critical=frame["n_critical"] if method == "scv" else None,
            controls=controls if method in ("cv", "scv") else None,
            method=method,
            checkpoints=running,
            confidence=target_confidence,
            row_ids=ids if method in ("cv", "scv") else None,
            **options,
        )
        extra = list(curve)
        skipped = curve.provenance["skipped_checkpoints"]
    return result, extra, skipped


@cav.command("simulate")
@click.option(
    "--vehicle",
    type=click.Choice(("surrogate", "cautious", "aggressive", "distracted")),
    default="surrogate",
    show_default=True,
    help="Automated vehicle under test (see varkit.cav.scenarios).",
)
@click.option(
    "--tests",
    "n_tests",
    # a bound users can reach in hours, not years: 1e9 tests are about 150 GB of CSV
    type=click.IntRange(1, MAX_SIMULATED_TESTS),
    default=10_000,
    show_default=True,
    help="Number of tests to simulate (at most 1e9, about 150 GB of CSV).",
)
@click.option(
    "--testing",
    type=click.Choice(("is", "nde")),
    default="is",
    show_default=True,
    help="Draw critical maneuvers by importance sampling or from the naturalistic model.",
)
@click.option(
    "--steps",
    type=click.IntRange(min=1),
    default=40,
    show_default=True,
    help="Decision steps per test (three variables each).",
)
@click.option(
    "--proposal",
    type=click.Choice(PROPOSALS),
    default=None,
    help="Testing distribution: twist one critical maneuver per test (defensive mixture, "
    "weight <= 2) or every critical maneuver (the previous proposal, kept to reproduce "
    "earlier results).  [default: one-critical; all-critical with --controls local or "
    "mixture]",
)
@click.option(
    "--controls",
    type=click.Choice(CONTROL_FAMILIES),
    default=None,
    help="Family of control-variate columns written (see varkit.cav.scenarios); twist, "
    "binned and product go with one-critical, product, local and mixture with "
    "all-critical. twist writes only the bounded cv_twist_* columns, which `crash-rate "
    "--method scv` can use as they are; binned adds cv_weight, cv_surrogate and cv_gap_*, "
    "with which scv has more variance than importance sampling.  [default: the "
    "proposal's own: twist for one-critical, product for all-critical]",
)
@seed_option
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="CSV file to write; standard output when omitted.",
)
def simulate(
    vehicle: str,
    n_tests: int,
    testing: str,
    steps: int,
    proposal: str | None,
    controls: str | None,
    seed: int | None,
    output: str | None,
) -> None:
    """Write a test log CSV from the overtaking simulator (its exact crash rate on stderr).

    The log is simulated and written in pieces (memory of one piece, whatever --tests);
    the seed (drawn when --seed is not given) is printed on stderr with the crash rate.
    """
    import shutil
    from pathlib import Path

    import numpy as np

    from varkit.cav.scenarios import BATCH_CELLS, OvertakingScenario
    from varkit.checks import resolve_seed
    from varkit.cli.options import write_text

    scenario = OvertakingScenario(n_steps=steps, proposal=proposal, controls=controls)
    family = scenario.control_family  # one sentence when the pair does not go together
    seed_value = resolve_seed(seed)
    if output is not None:
        # ~18 characters per value ("%.10g" and a comma): refuse a log the disk cannot hold
        need = n_tests * scenario.log_columns() * 18
        folder = Path(output).resolve().parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        free = shutil.disk_usage(folder).free
        if need > free:
            raise VarkitError(
                f"--output: {n_tests:,} tests make a CSV of about {need / 1e9:.3g} GB, more "
                f"than the {free / 1e9:.3g} GB free under '{folder}'; simulate fewer tests."
            )
    # A piece is a whole number of the simulator's batches, so the pieces draw exactly
    # what one call for every test would (the same log for a seed, in any number of pieces).
    piece = 10 * max(1, min(50_000, BATCH_CELLS // steps))
    rng = np.random.default_rng(seed_value)
    done = 0
    with (
        click.progressbar(length=n_tests, label="simulating", file=sys.stderr)
        if n_tests > piece and sys.stderr.isatty()
        else _no_bar() as bar
    ):
        while done < n_tests:
            size = min(piece, n_tests - done)
            log = scenario.simulate(size, vehicle, testing=testing, random_state=rng)
            text = log.to_csv(index=False, header=done == 0, float_format="%.10g")
            if output is None:
                sys.stdout.write(text)
            else:
                write_text(output, text, option="--output", mode="w" if done == 0 else "a")
            done += size
            bar.update(size)
    click.echo(
        f"exact crash rate of {vehicle}: {scenario.crash_rate(vehicle):.6g} "
        f"({scenario.testing_proposal} proposal, {family} controls), seed {seed_value}",
        err=True,
    )


class _no_bar:
    """A stand-in for click's progress bar when none is shown."""

    def __enter__(self) -> _no_bar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: int) -> None:
        return None
