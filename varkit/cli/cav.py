"""``varkit cav``: crash-rate estimates from test logs, and the scenario simulator."""

from __future__ import annotations

from typing import Any

import click

from varkit.cli.options import confidence_option, emit, output_options, seed_option
from varkit.results import ResultSet, make_provenance

METHODS = ("nde", "is", "cv", "scv")


def _control_means(text: str | None, n_controls: int) -> Any:
    if text is None:
        return 0.0
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise ValueError(
            f"--control-means must be one number or a comma-separated list, got {text!r}."
        ) from None
    if len(values) not in (1, n_controls):
        raise ValueError(
            f"--control-means has {len(values)} values but the file has {n_controls} cv_* columns."
        )
    return values[0] if len(values) == 1 else values


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
    "--target-rhw",
    type=click.FloatRange(0, min_open=True),
    default=0.3,
    show_default=True,
    help="Target relative half-width for the number of tests required.",
)
@click.option(
    "--target-confidence",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.9,
    show_default=True,
    help="Confidence level of the target relative half-width.",
)
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
    target_rhw: float,
    target_confidence: float,
    confidence: float,
    seed: int | None,
    fmt: str,
    output: str | None,
) -> None:
    """Estimate the crash rate from a test log TESTS (CSV or Parquet, one row per test).

    Columns: crash (0/1 or probability); weight (p/q) or log_weight for is/cv/scv;
    n_critical for scv; control variates cv_* for cv/scv.
    """
    from varkit.cav import (
        control_variate_estimate,
        importance_sampling_estimate,
        n_required,
        nde_estimate,
        sparse_control_variates,
    )
    from varkit.io import Column, read_table

    columns = [
        Column("crash", "probability"),
        Column("weight", "float", required=False),
        Column("log_weight", "float", required=False),
        Column("n_critical", "count", required=method == "scv"),
        Column("cv_", "float", required=method in ("cv", "scv"), prefix=True),
    ]
    frame = read_table(tests, columns)
    has_weight = "weight" in frame.columns
    has_log = "log_weight" in frame.columns
    if method != "nde" and has_weight and has_log:
        raise ValueError(f"{tests}: give a weight or a log_weight column, not both.")
    if method in ("is", "scv") and not (has_weight or has_log):
        raise ValueError(f"{tests}: method {method} needs a weight or log_weight column.")
    weight = frame["weight"] if has_weight else None
    log_weight = frame["log_weight"] if has_log and not has_weight else None
    controls = frame[[c for c in frame.columns if str(c).startswith("cv_")]]
    folds = crossfit or None
    if method == "nde":
        result = nde_estimate(frame["crash"], confidence=confidence)
    elif method == "is":
        result = importance_sampling_estimate(
            frame["crash"], weight, log_weight=log_weight, confidence=confidence
        )
    elif method == "cv":
        import numpy as np

        w = (
            None
            if weight is None and log_weight is None
            else (weight if weight is not None else np.exp(np.asarray(log_weight, dtype=float)))
        )
        result = control_variate_estimate(
            frame["crash"],
            controls,
            control_means=_control_means(control_means, controls.shape[1]),
            weights=w,
            fit=fit,
            crossfit=folds,
            confidence=confidence,
            control_names=list(controls.columns),
            metric="crash_rate",
            random_state=seed,
        )
    else:
        result = sparse_control_variates(
            frame["crash"],
            weight,
            frame["n_critical"],
            controls,
            log_weight=log_weight,
            control_means=_control_means(control_means, controls.shape[1]),
            fit=fit,
            crossfit=folds,
            pool_above=pool_above,
            confidence=confidence,
            target_rhw=target_rhw,
            target_confidence=target_confidence,
            control_names=list(controls.columns),
            random_state=seed,
        )
    results = ResultSet(
        (result, n_required(result, rhw=target_rhw, confidence=target_confidence)),
        make_provenance(command="varkit cav crash-rate", inputs=[tests], seed=seed, device="cpu"),
    )
    emit(results, fmt, output)


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
    type=click.IntRange(min=1),
    default=10_000,
    show_default=True,
    help="Number of tests to simulate.",
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
    "--controls",
    type=click.Choice(("product", "local", "mixture")),
    default="product",
    show_default=True,
    help="Family of control-variate columns written (see varkit.cav.scenarios).",
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
    controls: str,
    seed: int | None,
    output: str | None,
) -> None:
    """Write a test log CSV from the overtaking simulator (its exact crash rate on stderr)."""
    import sys

    from varkit.cav.scenarios import OvertakingScenario

    scenario = OvertakingScenario(n_steps=steps, controls=controls)
    log = scenario.simulate(n_tests, vehicle, testing=testing, random_state=seed)
    text = log.to_csv(index=False, float_format="%.10g")
    if output is None:
        sys.stdout.write(text)
    else:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
    click.echo(f"exact crash rate of {vehicle}: {scenario.crash_rate(vehicle):.6g}", err=True)
