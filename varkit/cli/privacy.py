"""``varkit privacy``: epsilon from a membership-inference log (Bayesian and Clopper-Pearson),
beside DP-SGD's theoretical epsilon, and the one-run audit of a canary log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from varkit.cli.options import (
    RunOptions,
    choice_option,
    count_option,
    float_option,
    run_options,
)
from varkit.errors import VarkitError
from varkit.results import ResultSet

__all__ = ["privacy"]


def _parse_threshold(text: str, guess_col: str | None) -> str | float | None:
    """The --threshold text as the front door takes it (``split``, the default, is no
    threshold at all for a guess column)."""
    if text == "split" and guess_col is not None:
        return None
    if text in ("split", "bonferroni"):
        return text
    try:
        return float(text)
    except ValueError:
        raise VarkitError(
            f"--threshold must be 'split', 'bonferroni' or a number, got {text!r}."
        ) from None


@click.group()
def privacy() -> None:
    """Differential privacy: the epsilon a membership-inference attack demonstrates."""


@privacy.command("epsilon")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--member-col", default="member", show_default=True, help="0/1 membership column.")
@click.option(
    "--score-col",
    default=None,
    help="Attack score column, higher = member.  [default: score]",
)
@click.option(
    "--guess-col", default=None, help="0/1 guess column, instead of a score (no threshold)."
)
@click.option(
    "--model-col",
    default="model_id",
    show_default=True,
    help="Optional trained-model column: pooled, with a per-model breakdown.",
)
@float_option(
    "--delta",
    "deltas",
    multiple=True,
    default=(0.0,),
    help="The delta of (epsilon, delta)-DP; repeat for an epsilon(delta) curve.",
)
@choice_option(
    "--method",
    choices=("bayes", "clopper-pearson", "both"),
    default="bayes",
    help="Bayesian credible interval (Zanella-Béguelin et al. 2023), Clopper-Pearson, or both.",
)
@click.option(
    "--threshold",
    default="split",
    show_default=True,
    help="split (choose on held-out rows), bonferroni (grid, corrected) or a number.",
)
@choice_option(
    "--bound",
    choices=("two-sided", "lower"),
    default="two-sided",
    help="Two-sided interval or one-sided lower bound.",
)
@click.option(
    "--n-thresholds", type=int, default=20, show_default=True, help="Threshold grid size."
)
@float_option(
    "--split-fraction",
    default=0.5,
    help="Share of rows spent on choosing the threshold with --threshold split.",
)
@float_option(
    "--tpr-at-fpr",
    "tpr_fprs",
    multiple=True,
    default=None,
    help="Also report the attack's TPR at this FPR (repeatable), and its AUC.",
)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write a PNG: posterior density of epsilon (pooled, first delta) with the "
    "credible interval and the Clopper-Pearson interval. Needs the plot extra.",
)
@float_option(
    "--noise-multiplier",
    low=0.0,
    default=None,
    help="DP-SGD's noise multiplier: with --sample-rate and --steps, also report the "
    "theoretical epsilon and the audited one over it.",
)
@float_option(
    "--sample-rate",
    low=0.0,
    high=1.0,
    default=None,
    help="DP-SGD's Poisson sampling rate (batch size / dataset size).",
)
@count_option("--steps", low=1, default=None, help="DP-SGD's number of noisy steps.")
@choice_option(
    "--accountant",
    choices=("pld", "rdp", "prv"),
    default="pld",
    help="Privacy accountant of the theoretical epsilon: privacy loss distributions, "
    "Rényi DP or privacy random variables.",
)
@click.option(
    "--gdp",
    is_flag=True,
    default=False,
    help="Also audit Gaussian DP: an interval for mu and the epsilon at each delta it implies.",
)
@run_options(device=False)
def epsilon(
    path: str,
    member_col: str,
    score_col: str | None,
    guess_col: str | None,
    model_col: str,
    deltas: tuple[float, ...],
    method: str,
    threshold: str,
    bound: str,
    n_thresholds: int,
    split_fraction: float,
    tpr_fprs: tuple[float, ...],
    plot: str | None,
    noise_multiplier: float | None,
    sample_rate: float | None,
    steps: int | None,
    accountant: str,
    gdp: bool,
    run: RunOptions,
) -> None:
    """Estimate epsilon from PATH, a CSV with one row per challenge point (or a glob).

    Columns: member (0/1) and score (higher = member) or a 0/1 guess; optional model_id.
    With --noise-multiplier, --sample-rate and --steps (all three), DP-SGD's theoretical
    epsilon follows, and the audited epsilon over it (epsilon_ratio: a lower end above 1
    contradicts the claimed guarantee). With --gdp, the Gaussian-DP audit follows.
    """
    from varkit.privacy import audit_epsilon  # here, so that --help stays fast

    results = audit_epsilon(
        path,
        member_col=member_col,
        score_col=score_col,
        guess_col=guess_col,
        model_col=model_col,
        delta=list(deltas),
        method=method,
        threshold=_parse_threshold(threshold, guess_col),
        bound=bound,
        n_thresholds=n_thresholds,
        split_fraction=split_fraction,
        tpr_at_fpr=tpr_fprs,
        noise_multiplier=noise_multiplier,
        sample_rate=sample_rate,
        steps=steps,
        accountant=accountant,
        gdp=gdp,
        **run.front_door(device=False, engine=False),
    )
    if plot is not None:
        _plot(results, plot)
    run.emit(results)


@privacy.command("one-run")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option(
    "--guesses",
    "n_guesses",
    type=click.IntRange(1),
    required=True,
    help="Number of guesses k: 'included' for the k/2 highest scores, 'excluded' for the "
    "k/2 lowest, abstaining on the rest.",
)
@click.option(
    "--included-col", default="included", show_default=True, help="0/1 column: canary trained on."
)
@click.option(
    "--score-col", default="score", show_default=True, help="Attack score, higher = included."
)
@click.option(
    "--id-col",
    default="canary_id",
    show_default=True,
    help="Optional canary id column (each id once).",
)
@float_option("--delta", default=0.0, help="The delta of (epsilon, delta)-DP.")
@run_options(seed=False, device=False)
def one_run(path: str, run: RunOptions, **options: Any) -> None:
    """Lower bound on epsilon from PATH, the canaries of one training run (Steinke et al.).

    One row per canary, each included in training by a fair coin: included (0/1), the
    attack's score and optionally canary_id.
    """
    from varkit.privacy import audit_one_run  # here, so that --help stays fast

    # the options are audit_one_run's keywords, under its names
    results = audit_one_run(path, **options, **run.front_door(device=False, engine=False))
    run.emit(results)


def _plot(results: ResultSet, path: str) -> None:
    """Posterior density of epsilon with its interval, and Clopper-Pearson beside it."""
    from varkit.privacy import plot_epsilon

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise VarkitError(
            "--plot needs matplotlib, from the plot extra: pip install 'varkit[plot]'."
        ) from None
    pooled = next(r for r in results if "model_id" not in r.group)
    fig, ax = plt.subplots(figsize=(7, 4))
    try:
        plot_epsilon(pooled, ax=ax)
        fig.tight_layout()
        Path(path).parent.mkdir(parents=True, exist_ok=True)  # as write_text does
        fig.savefig(path, dpi=120)
    except OSError as exc:
        raise VarkitError(f"--plot could not write {path}: {exc.strerror or exc}.") from None
    finally:
        plt.close(fig)
