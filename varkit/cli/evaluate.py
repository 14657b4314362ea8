"""``varkit evaluate``: compare models from predictions, score logs, or by refitting them."""

from __future__ import annotations

import importlib
import math
from typing import Any

import click

from varkit.checks import ALTERNATIVES
from varkit.cli.options import (
    RunOptions,
    choice_option,
    count_option,
    float_option,
    if_typed,
    run_options,
    scheme_option,
)
from varkit.errors import VarkitError

__all__ = ["evaluate"]


_correction_option = choice_option(
    "--correction",
    choices=("holm", "bonferroni", "hochberg", "bh", "by", "sidak", "holm-sidak"),
    default="holm",
    help="Multiple-comparison adjustment of the pairwise p-values.",
)


@click.group()
def evaluate() -> None:
    """Model evaluation and comparison (McNemar, Cochran's Q, 5x2cv, corrected t, Friedman)."""


@evaluate.command("compare")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--truth", default="y_true", show_default=True, help="Column of true labels.")
@click.option(
    "--models",
    default=None,
    help="Comma-separated prediction columns.  [default: every column but the truth and id]",
)
@choice_option(
    "--interval",
    choices=("wilson", "clopper-pearson", "jeffreys", "normal", "agresti-coull"),
    default="wilson",
    help="Interval of each model's accuracy.",
)
@choice_option(
    "--mcnemar",
    "mcnemar_method",
    choices=("exact", "mid-p", "chi2", "chi2-corrected"),
    default="exact",
    help="McNemar test variant for each pair.",
)
@choice_option(
    "--alternative",
    choices=ALTERNATIVES,
    default="two-sided",
    help="Of each pair's McNemar test: 'greater' asks whether the pair's first model "
    "(in --models order) is more accurate, as a gate 'A beats B' needs.",
)
@_correction_option
@count_option(
    "--resamples",
    "n_resamples",
    low=100,
    default=9999,
    help="Bootstrap replicates for the paired accuracy differences.",
)
@scheme_option(
    help="Resampling of the paired bootstrap: multinomial, or Poisson(1) weights keyed on "
    "the row ids; --engine dask implies poisson (the same seed then gives the same "
    "intervals on both engines).",
)
@run_options(engine=True)
def compare(
    path: str,
    truth: str,
    models: str | None,
    interval: str,
    mcnemar_method: str,
    alternative: str,
    correction: str,
    n_resamples: int,
    scheme: str,
    run: RunOptions,
) -> None:
    """Compare models on one test set from PATH, a CSV with one row per test example.

    Columns: the true label (--truth) and one column of predicted labels per model.
    Reports each accuracy with an interval, pairwise McNemar tests (adjusted p-values),
    paired bootstrap intervals of accuracy differences and, for 3+ models, Cochran's Q.

    PATH may be a glob of CSV or Parquet files (quote it). With --engine dask the log is
    read in partitions and only per-partition counts and Poisson replicate sums meet
    (varkit.evaluate.compare_predictions); --scheme poisson on the memory engine gives the
    same results.
    """
    from varkit.evaluate import compare_predictions

    results = compare_predictions(
        path,
        truth=truth,
        models=models,
        interval=interval,
        mcnemar_method=mcnemar_method,
        alternative=alternative,
        correction=correction,
        n_resamples=n_resamples,
        scheme=if_typed("scheme", scheme),  # --engine dask implies poisson
        **run.front_door(),
    )
    run.emit(results)


@evaluate.command("scores")
@click.argument("path", type=click.Path(dir_okay=False))
@_correction_option
@click.option(
    "--lower-is-better",
    is_flag=True,
    default=False,
    help="The score is a loss (rank the lowest first in Friedman/Nemenyi).",
)
@click.option(
    "--score-range",
    default=None,
    metavar="LOW,HIGH",
    help="Range of the score, e.g. 0,1 for accuracy: intervals stay inside it.  "
    "[default: unbounded]",
)
@click.option(
    "--bayesian",
    is_flag=True,
    default=False,
    help="Also give each pair's Bayesian correlated t-test (p_left, p_rope, p_right, "
    "p_not_worse in details).",
)
@float_option(
    "--rope",
    low=0.0,
    default=0.0,
    help="Half-width of the region of practical equivalence of --bayesian, in score units.",
)
@float_option(
    "--test-fraction",
    default=None,
    help="Test share of one split for --bayesian, e.g. 0.3.  [default: n_test/(n_train+"
    "n_test) from the log, else 1/k of k-fold CV with k = splits / repeats]",
)
@run_options(seed=False, device=False)
def scores(
    path: str,
    correction: str,
    lower_is_better: bool,
    score_range: str | None,
    bayesian: bool,
    rope: float,
    test_fraction: float | None,
    run: RunOptions,
) -> None:
    """Compare models from PATH, a CSV of per-split scores (one row per model and split).

    Columns: model, score; optional dataset, repeat, fold, n_train, n_test. Gives each
    model's mean score, corrected resampled t-tests per pair (Nadeau & Bengio; needs
    n_train and n_test) and, with a dataset column, Friedman/Nemenyi across data sets.
    --bayesian adds the Bayesian correlated t-test of each pair (model 1 minus model 2;
    p_right: model 1 better), which a gate can hold to p_not_worse >= 0.95.
    """
    from varkit.evaluate import compare_scores

    bounds = None
    if score_range is not None:
        try:
            low, high = (float(v) for v in score_range.split(","))
        except ValueError:
            raise VarkitError(
                f"--score-range must look like LOW,HIGH (e.g. 0,1), got {score_range!r}."
            ) from None
        if not low < high:
            raise VarkitError(f"--score-range needs LOW < HIGH, got {score_range!r}.")
        bounds = (low, high)
    results = compare_scores(
        path,
        **run.front_door(device=False, engine=False),
        correction=correction,
        higher_is_better=not lower_is_better,
        score_range=bounds,
        bayesian=bayesian,
        rope=rope,
        test_fraction=test_fraction,
    )
    run.emit(results)


def _load_model(spec: str, params: dict[str, dict[str, Any]]) -> tuple[str, Any]:
    """Import ``NAME=package.module.Class`` and instantiate it: scikit-learn estimators only.

    The class is checked before it is called, so a path to any other callable
    (``builtins.dict``, ``sys.exit``) is an error and is never run.
    """
    from sklearn.base import BaseEstimator

    name, sep, target = spec.partition("=")
    name, target = name.strip(), target.strip()
    if (
        not sep
        or not name
        or "." not in target
        or not all(part.isidentifier() for part in target.split("."))
    ):
        raise VarkitError(f"--model must look like NAME=package.module.Class, got {spec!r}.")
    module_name, _, class_name = target.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError):
        raise VarkitError(f"--model {name}: cannot import {target!r}.") from None
    except Exception as exc:  # importing user code may fail in any way
        raise VarkitError(
            f"--model {name}: importing {module_name!r} failed ({type(exc).__name__}: {exc})."
        ) from None
    estimator_like = isinstance(cls, type) and (
        issubclass(cls, BaseEstimator)
        or all(callable(getattr(cls, m, None)) for m in ("fit", "predict", "get_params"))
    )
    if not estimator_like:
        raise VarkitError(
            f"--model {name}: {target!r} is not a scikit-learn estimator class "
            "(a BaseEstimator subclass, or a class with fit, predict and get_params)."
        )
    try:
        return name, cls(**params.get(name, {}))
    except (TypeError, ValueError) as exc:
        raise VarkitError(f"--model {name}: bad parameters for {target} ({exc}).") from None


_MAX_PARAM_DIGITS = 15  # beyond this an int is not a hyperparameter but a typo


def _parse_value(item: str, text: str) -> Any:
    """An int, float, bool or None from a --param value; other text stays a string."""
    words = {"True": True, "False": False, "None": None, "true": True, "false": False}
    if text in words:
        return words[text]
    if not text.strip():
        raise VarkitError(f"--param {item!r} has no value after '='.")
    try:
        value = int(text)
    except ValueError:
        pass
    else:
        if len(text.strip().lstrip("+-")) > _MAX_PARAM_DIGITS:
            raise VarkitError(
                f"--param {item!r}: an integer of more than {_MAX_PARAM_DIGITS} digits."
            )
        return value
    try:
        number = float(text)
    except ValueError:
        return text
    if not math.isfinite(number):
        raise VarkitError(f"--param {item!r}: the value must be finite.")
    return number


def _parse_params(items: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        key, sep, text = item.partition("=")
        model, dot, param = key.strip().partition(".")
        if not sep or not dot or not model or not param.isidentifier():
            raise VarkitError(f"--param must look like NAME.key=value, got {item!r}.")
        if param in out.get(model, {}):
            raise VarkitError(f"--param {model}.{param} is given twice.")
        out.setdefault(model, {})[param] = _parse_value(item, text)
    return out


@evaluate.command("cv")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--target", required=True, help="Column to predict.")
@click.option(
    "--model",
    "model_specs",
    multiple=True,
    required=True,
    help="NAME=python.path.Class (repeat; at least two).",
)
@click.option("--param", "param_specs", multiple=True, help="NAME.key=value (repeatable).")
@click.option(
    "--cv", "cv_spec", default="5x2", show_default=True, help="5x2, kfold:K or repeated:KxR."
)
@click.option("--scoring", default=None, help="scikit-learn scoring name.  [default: accuracy/r2]")
@click.option("--n-jobs", type=int, default=None, help="Parallel model fits (-1: all cores).")
@run_options(device=False)
def cv(
    path: str,
    target: str,
    model_specs: tuple[str, ...],
    param_specs: tuple[str, ...],
    cv_spec: str,
    scoring: str | None,
    n_jobs: int | None,
    run: RunOptions,
) -> None:
    """Fit and compare models on PATH, a CSV with one row per example.

    Numeric feature columns are used as they are; text columns are one-hot encoded.
    --seed fixes the folds and every model's unset random_state: the same seed gives
    the same results (without --seed one is drawn and written in the provenance).
    """
    from varkit.evaluate import compare_models

    params = _parse_params(param_specs)
    estimators: dict[str, Any] = {}
    for spec in model_specs:
        name, estimator = _load_model(spec, params)
        if name in estimators:
            raise VarkitError(f"--model {name} is given twice.")
        estimators[name] = estimator
    if len(estimators) < 2:
        raise VarkitError("give at least 2 distinct --model NAME=Class options.")
    unknown = set(params) - set(estimators)
    if unknown:
        raise VarkitError(f"--param names a model that is not given: {sorted(unknown)[0]}.")
    results = compare_models(
        path,
        target,
        estimators,
        cv=cv_spec,
        scoring=scoring,
        n_jobs=n_jobs,
        **run.front_door(device=False, engine=False),
    )
    run.emit(results)
