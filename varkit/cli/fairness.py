"""``varkit fairness``: VRS shuffle distance per ad with intervals, coverage, a simulator."""

from __future__ import annotations

import glob
import os
from typing import Any

import click
import numpy as np

from varkit.cli.options import (
    FINITE,
    FiniteFloatRange,
    command_line,
    confidence_option,
    device_option,
    emit,
    engine_options,
    output_options,
    seed_option,
)
from varkit.errors import VarkitError
from varkit.gpu.backend import resolve_device
from varkit.io import Column, read_table
from varkit.results import Result, ResultSet, make_provenance

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
@engine_options
@confidence_option
@seed_option
@device_option
@output_options
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
    engine: str,
    scheduler: str | None,
    row_id: str | None,
    partition_rows: int | None,
    confidence: float,
    seed: int | None,
    device: str,
    fmt: str,
    output: str | None,
) -> None:
    """Shuffle distance of every ad in IMPRESSIONS with intervals, then compliance coverage.

    IMPRESSIONS has one row per (ad, user or group): ad_id, impressions, and a column named
    after the attribute (hard labels) or p_<group> probability columns; user_id optional.
    IMPRESSIONS may be a glob of CSV or Parquet files; --engine dask reads it in
    partitions and adds per-ad Poisson replicate sums (weights keyed on the user id).
    With --engine pandas, --partition-rows N reads the log N rows at a time in one
    process, in memory bounded by N, with the same results as reading it whole.
    """
    from varkit.checks import resolve_seed
    from varkit.fairness.counts import check_noise_scale
    from varkit.fairness.vrs import vrs_metrics

    ctx = click.get_current_context()
    # the rule of the eligible table's noise_scale column, in one place
    delivered_noise_scale = check_noise_scale(delivered_noise_scale, "--delivered-noise-scale")
    if not min_impressions >= 0:
        raise VarkitError(f"--min-impressions must be non-negative, got {min_impressions}.")
    seed = resolve_seed(seed)  # drawn fresh when not given; recorded in the provenance
    if engine == "memory" and scheduler is not None:
        raise VarkitError("--scheduler needs --engine dask.")
    if engine == "dask":
        explicit = ctx.get_parameter_source("scheme") is not click.core.ParameterSource.DEFAULT
        if explicit and scheme != "poisson":
            raise VarkitError("--engine dask uses Poisson weights: drop --scheme or use poisson.")
        scheme = "poisson"
    table = read_table(
        eligible,
        [
            Column("ad_id", "label"),
            Column("attribute", "label"),
            Column("group", "label"),
            Column("eligible", "float"),
            Column("noise_scale", "float", required=False),
        ],
        what="eligible table",
    )
    options: dict[str, Any] = dict(
        unit=unit,
        threshold=threshold,
        confidence=confidence,
        n_resamples=resamples,
        scheme=scheme,
        interval=interval,
        delivered_noise_scale=delivered_noise_scale,
        estimate=estimate,
        random_state=seed,
        device=device,
    )
    columns = [
        Column("ad_id", "label"),
        # counts, unless DP noise made them real numbers (negative or fractional)
        Column("impressions", "count" if delivered_noise_scale == 0 else "float"),
        Column("user_id", "label", required=False),
        Column(attribute, "label", required=False),
        Column("p_", "probability", required=False, prefix=True),
    ]
    if engine == "dask":
        from varkit.engine import LogSource, connect
        from varkit.fairness.logs import vrs_log

        client = connect(scheduler)
        try:
            source = LogSource(impressions, row_id=row_id, rows_per_partition=partition_rows)
            per_ad = vrs_log(source, table, attribute, client=client, **options)
        finally:
            if client is not None:
                client.close()
    elif partition_rows is not None:
        # pandas in chunks: one process, memory bounded by the chunk size (ads spilled to
        # disk in ranges, then bootstrapped range by range; same results as in memory)
        from varkit.fairness.chunked import vrs_metrics_chunks
        from varkit.io.partitions import ROW_ID, iter_frames

        frames = (
            frame.drop(columns=ROW_ID)
            for frame in iter_frames(impressions, columns, rows_per_partition=partition_rows)
        )
        per_ad = vrs_metrics_chunks(frames, table, attribute, bucket_rows=partition_rows, **options)
    else:
        if glob.has_magic(impressions):
            from varkit.io.partitions import ROW_ID, read_all

            log = read_all(impressions, columns).drop(columns=ROW_ID)
        else:
            log = read_table(impressions, columns, what="impressions log")
        per_ad = vrs_metrics(log, table, attribute, **options)
    _emit_vrs(
        ctx, per_ad, impressions, eligible, min_impressions, confidence, seed, device, fmt, output
    )


def _emit_vrs(
    ctx: click.Context,
    per_ad: ResultSet,
    impressions: str,
    eligible: str,
    min_impressions: float,
    confidence: float,
    seed: int,
    device: str,
    fmt: str,
    output: str | None,
) -> None:
    """Per-ad results, then compliance coverage, with provenance (both engines)."""
    from varkit.fairness.vrs import vrs_coverage
    from varkit.io.partitions import expand_paths

    coverage = vrs_coverage(
        per_ad, min_impressions=min_impressions, confidence=confidence, random_state=seed
    )
    provenance = make_provenance(
        command=command_line(ctx),
        inputs=[*expand_paths(impressions), eligible],
        seed=seed,
        device=resolve_device(device).device,
    )
    emit(ResultSet(per_ad.results + coverage.results, provenance), fmt, output)


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
@seed_option
@output_options
def simulate(
    out_dir: str,
    users: int,
    ads: int,
    rounds: int,
    skew: float,
    controller: bool,
    eligible_noise_scale: float,
    threshold: float,
    seed: int | None,
    fmt: str,
    output: str | None,
) -> None:
    """Simulate ad delivery, write the logs, and print the true coverage per attribute."""
    from varkit.checks import resolve_seed
    from varkit.cli.options import write_text
    from varkit.fairness.counts import check_noise_scale
    from varkit.fairness.coverage import compliance_coverage
    from varkit.fairness.simulate import simulate_delivery

    if not out_dir.strip():
        raise VarkitError("--out-dir is empty; give a folder name.")
    eligible_noise_scale = check_noise_scale(eligible_noise_scale, "--eligible-noise-scale")
    seed = resolve_seed(seed)  # drawn fresh when not given; recorded in the provenance
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
    for name, frame in (
        ("impressions", sim.impressions),
        ("eligible", sim.eligible),
        ("truth", sim.truth),
        ("trajectory", sim.trajectory),
    ):
        paths[name] = os.path.join(out_dir, f"{name}.csv")
        # creates the folder; a folder that cannot be written is one error naming the option
        write_text(paths[name], frame.to_csv(index=False), option="--out-dir")
    results: list[Result] = []
    for attribute, part in sim.truth.groupby("attribute", sort=True):
        cover = compliance_coverage(
            part["true_shuffle_distance"].to_numpy(),
            part["impressions"].to_numpy(),
            threshold=threshold,
            attribute=str(attribute),
            random_state=np.random.default_rng(seed),
        )
        results.extend(
            r.replace(details={**r.details, "truth": "true labels", "controller": controller})
            for r in cover
        )
    provenance = make_provenance(
        command=command_line(click.get_current_context()),
        seed=seed,
        device="cpu",
        outputs=paths,
    )
    emit(ResultSet(tuple(results), provenance), fmt, output)
