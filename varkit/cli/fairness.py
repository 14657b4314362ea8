"""``varkit fairness``: VRS shuffle distance per ad with intervals, coverage, a simulator."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import click

from varkit.checks import resolve_seed
from varkit.cli.options import (
    F,
    RunOptions,
    choice_option,
    count_option,
    float_option,
    if_typed,
    run_options,
    scheme_option,
)
from varkit.errors import VarkitError
from varkit.results import ResultSet

__all__ = ["fairness"]


@click.group()
def fairness() -> None:
    """Ad-delivery fairness: VRS shuffle distance between eligible and delivered audiences."""


def _noise_scale_option(*decls: str, help: str) -> Callable[[F], F]:
    # a plain float: check_noise_scale validates it, one rule with the noise_scale column
    return click.option(*decls, type=float, default=0.0, show_default=True, help=help)


#: ``--eligible ELIG``: the eligible table every fairness command reads.
_eligible_option = click.option(
    "--eligible",
    required=True,
    type=click.Path(dir_okay=False),
    help="Eligible table: ad_id, attribute, group, eligible[, noise_scale].",
)


def _file_option(decl: str, *, help: str) -> Callable[[F], F]:
    """An optional file name (``--calibration``, ``--plot``)."""
    return click.option(decl, default=None, type=click.Path(dir_okay=False), help=help)


@fairness.command("vrs")
@click.argument("impressions")
@_eligible_option
@click.option(
    "--attribute", required=True, help="Protected attribute, as named in the eligible table."
)
@float_option("--threshold", default=0.10, help="Per-ad bar (0.10 passes).")
@float_option(
    "--min-impressions",
    default=0.0,
    help="Ads with fewer impressions do not qualify for coverage (counted as excluded).",
)
@choice_option(
    "--unit",
    choices=("impressions", "reach"),
    default="impressions",
    help="Count impressions (the settlement's unit) or unique users (needs user_id).",
)
@count_option(
    "--resamples", default=1000, help="Bootstrap replicates per ad; 0 for point metrics only."
)
@choice_option(
    "--interval",
    choices=("projection", "percentile", "basic"),
    default="projection",
    help="Per-ad interval; projection keeps 0 when perfect delivery cannot be ruled out.",
)
@choice_option(
    "--estimate",
    choices=("plug-in", "debiased"),
    default="plug-in",
    help="Which distance is reported and compared with the threshold.",
)
@scheme_option(
    help="Bootstrap weights of users (or impressions without user_id); --engine dask "
    "implies poisson, keyed on the user id.",
)
@_noise_scale_option(
    "--delivered-noise-scale",
    help="Scale of DP noise in the delivered counts (allows negative impressions).",
)
@choice_option(
    "--noise",
    choices=("laplace", "gaussian"),
    default="laplace",
    help="DP mechanism of the noise scales (delivered and the eligible noise_scale column): "
    "Laplace b or Gaussian sigma.",
)
@_file_option(
    "--calibration",
    help="Calibration sample of an estimated attribute: its true group in a column named "
    "as --attribute, and p_<group> columns. Corrects each ad's distance for "
    "misclassification (the uncorrected one stays in details); memory engine only.",
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
    noise: str,
    calibration: str | None,
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

    results = vrs_front_door(
        impressions,
        eligible,
        attribute,
        min_impressions=min_impressions,
        unit=unit,
        threshold=threshold,
        n_resamples=resamples,
        scheme=if_typed("scheme", scheme),  # --engine dask implies poisson
        interval=interval,
        delivered_noise_scale=delivered_noise_scale,
        noise=noise,
        calibration=calibration,
        estimate=estimate,
        **run.front_door(),
    )
    run.emit(results)


@fairness.command("simulate")
@click.option(
    "--out-dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder for impressions.csv, eligible.csv, truth.csv and trajectory.csv "
    "(and calibration.csv).",
)
@count_option("--users", low=10, default=5000)
@count_option("--ads", low=1, default=30)
@count_option("--rounds", low=1, default=20)
@float_option(
    "--skew", low=0, default=0.5, help="Spread of each ad's latent delivery propensity by group."
)
@click.option(
    "--controller/--no-controller",
    default=False,
    show_default=True,
    help="Run the VRS-like controller (our proxy, not Meta's system).",
)
@_noise_scale_option(
    "--eligible-noise-scale", help="Laplace scale of DP noise added to the eligible counts."
)
@float_option("--threshold", default=0.10, help="Bar for the true coverage.")
@count_option(
    "--calibration-users",
    default=0,
    help="Also write calibration.csv: this many new users' true race and BISG p_<group>.",
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
    calibration_users: int,
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
        n_calibration=calibration_users,
    )
    paths = {}
    for name, frame in sim.tables().items():
        paths[name] = os.path.join(out_dir, f"{name}.csv")
        # creates the folder; a folder that cannot be written is one error naming the option
        write_text(paths[name], frame.to_csv(index=False), option="--out-dir")
    coverage = sim.true_coverage(threshold=threshold, random_state=seed)
    run.emit(ResultSet(coverage.results, {**coverage.provenance, "outputs": paths}))


def _targets(specs: tuple[str, ...]) -> dict[str, float] | None:
    """``--target sex=0.917`` (repeatable) as a mapping; None keeps the defaults."""
    if not specs:
        return None
    targets = {}
    for spec in specs:
        name, sep, value = spec.partition("=")
        try:
            targets[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise VarkitError(f"--target must be ATTRIBUTE=SHARE, e.g. sex=0.917, got {spec!r}.")
    return targets


@fairness.command("compliance")
@click.argument("impressions")
@_eligible_option
@click.option(
    "--attribute",
    "attributes",
    multiple=True,
    default=("sex", "race"),
    show_default=True,
    help="Protected attribute (repeatable).",
)
@float_option(
    "--tier",
    "tiers",
    low=0,
    multiple=True,
    default=(300.0, 1000.0),
    help="Impression tier: the ads with at least this many impressions (repeatable; "
    "the settlement's volume rule is not public, so the default is varkit's).",
)
@float_option(
    "--bar", "bars", low=0, high=1, multiple=True, default=(0.10,), help="Per-ad bar (repeatable)."
)
@click.option(
    "--target",
    "target_specs",
    multiple=True,
    help="ATTRIBUTE=SHARE target at the 0.10 bar (repeatable); default sex=0.917 race=0.810.",
)
@count_option(
    "--resamples", "n_resamples", low=10, default=1000, help="Bootstrap replicates per ad."
)
@_file_option(
    "--calibration",
    help="Calibration sample of race (true race and p_<group> columns): its distances "
    "are corrected for misclassification.",
)
@_file_option(
    "--plot", help="Write a PNG of the shares (per month with their band when the log has dates)."
)
@run_options(device=False)
def compliance(
    impressions: str, eligible: str, plot: str | None, run: RunOptions, **given: Any
) -> None:
    """Settlement-style report: the share of the log's ads at or under the bar, per
    attribute and tier, with Poisson-binomial intervals and pass / fail / inconclusive
    verdicts against the targets (and per month when IMPRESSIONS has a date column)."""
    from varkit.fairness import compliance_report, plot_compliance

    targets = _targets(given.pop("target_specs"))
    if targets is not None:  # else the report's defaults, the 31 Dec 2023 figures
        given["targets"] = targets
    results = compliance_report(
        impressions,
        eligible,
        **given,
        **run.front_door(device=False, engine=False),
    )
    if plot is not None:
        figure = plot_compliance(results)
        try:
            figure.tight_layout()
            os.makedirs(os.path.dirname(os.path.abspath(plot)), exist_ok=True)
            figure.savefig(plot, dpi=120)
        except OSError as exc:
            raise VarkitError(f"--plot could not write {plot}: {exc.strerror or exc}.") from None
    run.emit(results)


@fairness.command("compare")
@click.argument("on")
@click.argument("off")
@_eligible_option
@click.option(
    "--attribute", required=True, help="Protected attribute, as named in the eligible table."
)
@count_option(
    "--resamples", "n_resamples", low=10, default=1000, help="Paired bootstrap replicates."
)
@run_options(device=False)
def compare(on: str, off: str, eligible: str, run: RunOptions, **given: Any) -> None:
    """VRS on vs off: ON and OFF are delivery logs of the same ads and users with and
    without the controller (user_id needed; an optional cost column gives cost per
    unique user). Reports the change in shuffle distance per ad and pooled, and whether
    the gap closed by the under-served group gaining or the over-served group losing."""
    from varkit.fairness import compare_delivery

    results = compare_delivery(
        on, off, eligible, **given, **run.front_door(device=False, engine=False)
    )
    run.emit(results)
