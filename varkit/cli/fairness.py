"""``varkit fairness``: VRS shuffle distance per ad with intervals, coverage, a simulator."""

from __future__ import annotations

import os

import click

from varkit.checks import resolve_seed
from varkit.cli.options import (
    FINITE,
    FiniteFloatRange,
    RunOptions,
    run_options,
)
from varkit.errors import VarkitError
from varkit.results import ResultSet

__all__ = ["fairness"]


@click.group()
def fairness() -> None:
    """Ad-delivery fairness: VRS shuffle distance between eligible and delivered audiences."""


@fairness.command("vrs")
@click.argument("impressions")
@click.option(
    "--eligible",
    required=True,
    type=click.Path(dir_okay=False),
    help="Eligible table: ad_id, attribute, group, eligible[, noise_scale].",
)
@click.option(
    "--attribute", required=True, help="Protected attribute, as named in the eligible table."
)
@click.option(
    "--threshold", type=FINITE, default=0.10, show_default=True, help="Per-ad bar (0.10 passes)."
)
@click.option(
    "--min-impressions",
    type=FINITE,
    default=0.0,
    show_default=True,
    help="Ads with fewer impressions do not qualify for coverage (counted as excluded).",
)
@click.option(
    "--unit",
    type=click.Choice(("impressions", "reach")),
    default="impressions",
    show_default=True,
    help="Count impressions (the settlement's unit) or unique users (needs user_id).",
)
@click.option(
    "--resamples",
    type=click.IntRange(min=0),
    default=1000,
    show_default=True,
    help="Bootstrap replicates per ad; 0 for point metrics only.",
)
@click.option(
    "--interval",
    type=click.Choice(("projection", "percentile", "basic")),
    default="projection",
    show_default=True,
    help="Per-ad interval; projection keeps 0 when perfect delivery cannot be ruled out.",
)
@click.option(
    "--estimate",
    type=click.Choice(("plug-in", "debiased")),
    default="plug-in",
    show_default=True,
    help="Which distance is reported and compared with the threshold.",
)
@click.option(
    "--scheme",
    type=click.Choice(("multinomial", "poisson")),
    default="multinomial",
    show_default=True,
    help="Bootstrap weights of users (or impressions without user_id); --engine dask "
    "implies poisson, keyed on the user id.",
)
@click.option(
    "--delivered-noise-scale",
    type=float,  # validated by check_noise_scale, one rule with the column
    default=0.0,
    show_default=True,
    help="Laplace scale of DP noise in the delivered counts (allows negative impressions).",
)
@run_options(engine=True)
def vrs(
    impressions: str,
    eligible: str,
    attribute: str,
    threshold: float,
    min_impressions: float,
    unit: str,
    resamples: int,
    interval: str,
    estimate: str,
    scheme: str,
    delivered_noise_scale: float,
    run: RunOptions,
) -> None:
    """Shuffle distance of every ad in IMPRESSIONS with intervals, then compliance coverage.

    IMPRESSIONS has one row per (ad, user or group): ad_id, impressions, and a column named
    after the attribute (hard labels) or p_<group> probability columns; user_id optional.
    IMPRESSIONS may be a glob of CSV or Parquet files; --engine dask reads it in
    partitions and adds per-ad Poisson replicate sums (weights keyed on the user id).
    With --engine memory, --partition-rows N reads the log N rows at a time in one
    process, in memory bounded by N, with the same results as reading it whole.
    """
    from varkit.fairness import vrs as vrs_front_door

    ctx = click.get_current_context()
    given = ctx.get_parameter_source("scheme") is not click.core.ParameterSource.DEFAULT
    results = vrs_front_door(
        impressions,
        eligible,
        attribute,
        min_impressions=min_impressions,
        unit=unit,
        threshold=threshold,
        n_resamples=resamples,
        scheme=scheme if given else None,  # the default depends on the engine
        interval=interval,
        delivered_noise_scale=delivered_noise_scale,
        estimate=estimate,
        **run.front_door(),
    )
    run.emit(results)


@fairness.command("simulate")
@click.option(
    "--out-dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder for impressions.csv, eligible.csv, truth.csv and trajectory.csv.",
)
@click.option("--users", type=click.IntRange(min=10), default=5000, show_default=True)
@click.option("--ads", type=click.IntRange(min=1), default=30, show_default=True)
@click.option("--rounds", type=click.IntRange(min=1), default=20, show_default=True)
@click.option(
    "--skew",
    type=FiniteFloatRange(min=0),
    default=0.5,
    show_default=True,
    help="Spread of each ad's latent delivery propensity by group.",
)
@click.option(
    "--controller/--no-controller",
    default=False,
    show_default=True,
    help="Run the VRS-like controller (our proxy, not Meta's system).",
)
@click.option(
    "--eligible-noise-scale",
    type=float,  # validated by check_noise_scale, one rule with the column
    default=0.0,
    show_default=True,
    help="Laplace scale of DP noise added to the eligible counts.",
)
@click.option(
    "--threshold", type=FINITE, default=0.10, show_default=True, help="Bar for the true coverage."
)
@run_options(confidence=False, device=False)
def simulate(
    out_dir: str,
    users: int,
    ads: int,
    rounds: int,
    skew: float,
    controller: bool,
    eligible_noise_scale: float,
    threshold: float,
    run: RunOptions,
) -> None:
    """Simulate ad delivery, write the logs, and print the true coverage per attribute."""
    from varkit.cli.options import write_text
    from varkit.fairness import simulate_delivery

    if not out_dir.strip():
        raise VarkitError("--out-dir is empty; give a folder name.")
    seed = resolve_seed(run.seed)  # drawn fresh when not given; recorded in the provenance
    sim = simulate_delivery(
        n_users=users,
        n_ads=ads,
        n_rounds=rounds,
        skew=skew,
        controller=controller,
        eligible_noise_scale=eligible_noise_scale,
        random_state=seed,
    )
    paths = {}
    for name, frame in sim.tables().items():
        paths[name] = os.path.join(out_dir, f"{name}.csv")
        # creates the folder; a folder that cannot be written is one error naming the option
        write_text(paths[name], frame.to_csv(index=False), option="--out-dir")
    coverage = sim.true_coverage(threshold=threshold, random_state=seed)
    run.emit(ResultSet(coverage.results, {**coverage.provenance, "outputs": paths}))
