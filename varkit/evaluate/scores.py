"""Compare models from a log of precomputed per-split scores (the `evaluate scores` workflow)."""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from varkit.checks import check_confidence
from varkit.errors import VarkitError, VarkitTypeError
from varkit.evaluate._bounded import bounded_t_result
from varkit.evaluate.bayesian import _check_rope, bayesian_correlated_ttest
from varkit.evaluate.multiple import adjust_pvalues, friedman_nemenyi
from varkit.evaluate.paired_ttests import _t_on_differences
from varkit.io import ROW_ID, Column, expand_paths, read_all
from varkit.results import Result, ResultSet, make_provenance

__all__ = ["SCORE_COLUMNS", "compare_scores"]

_KEYS = ("repeat", "fold")


#: The columns of a score log (``varkit evaluate scores``).
SCORE_COLUMNS = (
    Column("model", "label"),
    Column("score"),
    Column("dataset", "label", required=False),
    Column("repeat", "int", required=False),
    Column("fold", "int", required=False),
    Column("n_train", "count", required=False),
    Column("n_test", "count", required=False),
)


def _read_scores(scores: Any) -> tuple[pd.DataFrame, list[str]]:
    """The score log as a frame, and the files it came from."""
    if isinstance(scores, (str, os.PathLike)) or (
        isinstance(scores, (list, tuple)) and all(isinstance(p, str) for p in scores)
    ):
        paths = expand_paths(os.fspath(scores) if isinstance(scores, os.PathLike) else scores)
        frame = read_all(paths, SCORE_COLUMNS)
        return frame.drop(columns=[ROW_ID]), paths
    if not isinstance(scores, pd.DataFrame):
        raise VarkitTypeError(
            "`scores` must be a pandas DataFrame in the long score-log format, or the path "
            "or glob of one."
        )
    return scores, []


def _validate_scores(scores: pd.DataFrame) -> pd.DataFrame:
    for column in ("model", "score"):
        if column not in scores.columns:
            raise VarkitError(f"`scores` has no column '{column}'.")
    frame = scores.copy()
    frame["model"] = frame["model"].astype(str)
    if "dataset" in frame.columns:
        frame["dataset"] = frame["dataset"].astype(str)
    else:
        frame["dataset"] = ""
    values = pd.to_numeric(frame["score"], errors="coerce")
    if values.isna().any():
        row = int(np.flatnonzero(values.isna().to_numpy())[0]) + 1
        raise VarkitError(f"column 'score' has a missing or non-numeric value in row {row}.")
    if not np.all(np.isfinite(values.to_numpy(dtype=float))):
        row = int(np.flatnonzero(~np.isfinite(values.to_numpy(dtype=float)))[0]) + 1
        raise VarkitError(f"column 'score' is infinite in row {row}.")
    frame["score"] = values.astype(float)
    for column in ("n_train", "n_test"):
        if column in frame.columns:
            frame[column] = _positive_sizes(frame[column], column)
    if frame["model"].nunique() < 2:
        raise VarkitError("the score log holds fewer than 2 models; need at least two to compare.")
    _check_duplicates(frame)
    return frame


def _check_range(score_range: Any, values: np.ndarray) -> tuple[float, float]:
    if score_range is None:
        return -math.inf, math.inf
    try:
        low, high = (float(v) for v in score_range)
    except (TypeError, ValueError):
        raise VarkitTypeError("`score_range` must be a pair of numbers (low, high).") from None
    if not low < high or math.isnan(low) or math.isnan(high):
        raise VarkitError(f"`score_range` must have low < high, got ({low}, {high}).")
    outside = (values < low) | (values > high)
    if outside.any():
        row = int(np.flatnonzero(outside)[0]) + 1
        raise VarkitError(
            f"column 'score' holds {values[row - 1]} in row {row}, outside the score range "
            f"[{low:g}, {high:g}]."
        )
    return low, high


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds (for messages)."""
    return value.item() if isinstance(value, np.generic) else value


def _positive_sizes(column: pd.Series, name: str) -> pd.Series:
    """Training/test set sizes: positive integers (``n_test / n_train`` is the correction)."""
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(values) | (values < 1) | (values != np.floor(values))
    if bad.any():
        row = int(np.flatnonzero(bad)[0]) + 1
        raise VarkitError(
            f"column '{name}' must hold positive integers (set sizes), but row {row} holds "
            f"{_plain(column.iloc[row - 1])!r}."
        )
    return pd.Series(values, index=column.index)


def _check_duplicates(frame: pd.DataFrame) -> None:
    """One row per (model, dataset, repeat, fold): a repeated key is an error, not averaged."""
    keys = ["model", "dataset", *(k for k in _KEYS if k in frame.columns)]
    if len(keys) == 2:  # without repeat/fold the rows of a model are its splits in order
        return
    repeated = frame.duplicated(subset=keys, keep=False).to_numpy()
    if repeated.any():
        first = int(np.flatnonzero(repeated)[0])
        key = frame.iloc[first][keys]
        same = (frame[keys] == key).all(axis=1).to_numpy()
        rows = [int(i) + 1 for i in np.flatnonzero(same)]
        shown = ", ".join(
            f"{k}={_plain(key[k])!r}" for k in keys if not (k == "dataset" and key[k] == "")
        )
        raise VarkitError(
            f"the score log has {len(rows)} duplicate rows for the same split ({shown}): rows "
            f"{', '.join(map(str, rows[:10]))}; give one score per model and split."
        )


def _split_keys(frame: pd.DataFrame) -> list[str]:
    keys = [k for k in _KEYS if k in frame.columns]
    if not keys:
        # rows of one model in file order are its splits
        frame["split"] = frame.groupby(["dataset", "model"]).cumcount()
        keys = ["split"]
    return keys


def _bayesian_pairs(
    complete: pd.DataFrame,
    models: list[str],
    label: dict[str, str],
    *,
    rope: float,
    test_fraction: Any,
    sizes: tuple[float, float] | None,
    confidence: float,
) -> list[Result]:
    """The Bayesian correlated t-test of each pair on one data set's complete splits.

    The test share is, in this order: ``test_fraction``; the mean ``n_test / (n_train +
    n_test)`` of the log; else k-fold CV with ``k = splits / repeats`` (baycomp's rule).
    """
    runs = 1
    if test_fraction is None and sizes is not None:
        test_fraction = sizes[1] / (sizes[0] + sizes[1])
    elif test_fraction is None and "repeat" in complete.index.names:
        runs = int(complete.index.get_level_values("repeat").nunique())
    if test_fraction is None and len(complete) % runs:
        raise VarkitError(
            f"data set {label.get('dataset', '(all)')}: {len(complete)} splits scored for "
            f"every model are not {runs} repeats of the same folds; give `test_fraction`."
        )
    out = []
    for i, a in enumerate(models):
        for b in models[i + 1 :]:
            result = bayesian_correlated_ttest(
                complete[a].to_numpy() - complete[b].to_numpy(),
                rope=rope,
                runs=runs,
                test_fraction=test_fraction,
                confidence=confidence,
            )
            group = {**label, "comparison": f"{a}-{b}", "model_1": a, "model_2": b}
            out.append(result.replace(group=group))
    return out


def _across_datasets(frame: pd.DataFrame, *, higher_is_better: bool) -> list[Result]:
    """Friedman/Nemenyi (3+ models) or Wilcoxon (2 models) on per-data-set mean scores."""
    results: list[Result] = []
    if frame["dataset"].nunique() < 2:
        return results
    means = frame.pivot_table(index="dataset", columns="model", values="score", aggfunc="mean")
    means = means.dropna()
    models = list(means.columns)
    if len(models) >= 3 and len(means) >= 2:
        results.extend(
            friedman_nemenyi(means.to_numpy(), models=models, higher_is_better=higher_is_better)
        )
    elif len(models) == 2 and len(means) >= 2:
        diff = means[models[0]] - means[models[1]]
        test = stats.wilcoxon(diff.to_numpy()) if np.any(diff != 0) else None
        results.append(
            Result(
                metric="score_difference",
                estimate=float(diff.median()),
                method="wilcoxon-signed-rank",
                n=int(len(diff)),
                statistic=float(test.statistic) if test else 0.0,
                pvalue=float(test.pvalue) if test else 1.0,
                alternative="two-sided",
                group={"comparison": f"{models[0]}-{models[1]}", "dataset": "(across)"},
                details={"estimate": "median of per-data-set mean differences"},
            )
        )
    return results


def compare_scores(
    scores: Any,
    *,
    confidence: float = 0.95,
    correction: str = "holm",
    higher_is_better: bool = True,
    score_range: tuple[float, float] | None = None,
    bayesian: bool = False,
    rope: float = 0.0,
    test_fraction: float | tuple[int, int] | None = None,
) -> ResultSet:
    """Corrected resampled t-tests from per-split scores; Friedman/Nemenyi across data sets.

    Parameters
    ----------
    scores : DataFrame, str or list of str
        The score log: a DataFrame, or a CSV/Parquet file, glob or list of them. Long
        format, one row per (model, dataset, repeat, fold): ``model``, ``score``;
        optional ``dataset``, ``repeat``, ``fold``, ``n_train``, ``n_test``. Splits are
        matched across models by (dataset, repeat, fold); without repeat/fold columns the
        k-th row of each model is its k-th split.
    confidence : float
        Interval level.
    correction : str
        Adjustment of the pairwise p-values within each data set (:func:`adjust_pvalues`).
    higher_is_better : bool
        Direction of the score (for the Friedman ranks).
    score_range : (float, float), optional
        The range of the score, e.g. ``(0, 1)`` for accuracy: each model's interval is
        then kept inside it (logit scale for [0, 1], clipping stated otherwise; see
        ``varkit.evaluate.cross_val_ci``) and every score must lie in it. Default: unbounded.
    bayesian : bool
        Also give each pair's Bayesian correlated t-test (:func:`bayesian_correlated_ttest`).
    rope : float
        Its region of practical equivalence, in score units (only with ``bayesian``).
    test_fraction : float, (int, int) or None
        Its test share of a split (only with ``bayesian``). Default: from the
        ``n_train``/``n_test`` columns, else k-fold CV with ``k = splits / repeats``.

    Returns
    -------
    ResultSet
        Per data set: each model's mean score with a corrected t interval, and each pair's
        corrected resampled t-test (Nadeau & Bengio 2003) with adjusted p-value. When
        ``n_train``/``n_test`` are absent the plain t-test is used and ``details`` say so.
        With two or more data sets and three or more models: Friedman and Nemenyi on the
        per-data-set mean scores (Demsar 2006); with two models: the Wilcoxon signed-rank
        test across data sets. With ``bayesian``, after each data set's pairs: their
        ``method='bayesian-correlated-t'`` results (``details``: ``p_left``, ``p_rope``,
        ``p_right`` that model 1 is better, ``p_not_worse``).

    Examples
    --------
    >>> import pandas as pd
    >>> log = pd.DataFrame({"model": ["a"] * 5 + ["b"] * 5,
    ...                     "score": [.80, .82, .79, .81, .83, .75, .78, .74, .77, .76],
    ...                     "n_train": 80, "n_test": 20})
    >>> rs = compare_scores(log)
    >>> [r.metric for r in rs], rs[2].method
    (['score', 'score', 'score_difference'], 'corrected-resampled-t')
    >>> b = compare_scores(log, bayesian=True, rope=0.01)[3]
    >>> b.method, round(b.details["p_right"], 3)
    ('bayesian-correlated-t', 0.996)
    """
    table, inputs = _read_scores(scores)
    frame = _validate_scores(table)
    confidence = check_confidence(confidence)
    rope = _check_rope(rope)
    if not bayesian and (rope != 0 or test_fraction is not None):
        raise VarkitError("`rope` and `test_fraction` apply only with `bayesian`.")
    bounds = _check_range(score_range, frame["score"].to_numpy())
    keys = _split_keys(frame)
    has_sizes = {"n_train", "n_test"} <= set(frame.columns)
    results: list[Result] = []
    for dataset, rows in frame.groupby("dataset", sort=False):
        label = {"dataset": str(dataset)} if dataset else {}
        table = rows.pivot_table(index=keys, columns="model", values="score", aggfunc="mean")
        models = [m for m in pd.unique(rows["model"]) if m in table.columns]
        complete = table[models].dropna()
        dropped = int(len(table) - len(complete))
        if len(complete) < 2:
            raise VarkitError(
                f"data set {dataset or '(all)'} has fewer than 2 splits scored for every model."
            )
        sizes = None
        if has_sizes:
            sizes = (
                float(pd.to_numeric(rows["n_train"]).mean()),
                float(pd.to_numeric(rows["n_test"]).mean()),
            )
        ratio = sizes[1] / sizes[0] if sizes else 0.0
        method = "corrected-resampled-t" if has_sizes else "resampled-t"
        extra = {
            "n_splits": int(len(complete)),
            "excluded_splits": {"not_scored_for_every_model": dropped},
            "corrected": has_sizes,
        }
        if not has_sizes:
            extra["note"] = "n_train/n_test columns absent: uncorrected t (too narrow)"
        j = len(complete)
        for model in models:
            res = _t_on_differences(
                complete[model].to_numpy(),
                variance_factor=1.0 / j + ratio,
                confidence=confidence,
                alternative="two-sided",
                method=method.replace("resampled-t", "cv-t"),
                metric="score",
                details=extra,
                group={**label, "model": model},
            )
            res, interval = bounded_t_result(res, bounds)
            if score_range is not None:
                res = res.replace(details={**res.details, **interval})
            results.append(res)
        pairs = []
        for i, a in enumerate(models):
            for b in models[i + 1 :]:
                pairs.append(
                    _t_on_differences(
                        complete[a].to_numpy() - complete[b].to_numpy(),
                        variance_factor=1.0 / j + ratio,
                        confidence=confidence,
                        alternative="two-sided",
                        method=method,
                        metric="score_difference",
                        details=extra,
                        group={**label, "comparison": f"{a}-{b}", "model_1": a, "model_2": b},
                    )
                )
        results.extend(adjust_pvalues(pairs, method=correction) if len(pairs) > 1 else pairs)
        if bayesian:
            results.extend(
                _bayesian_pairs(
                    complete,
                    models,
                    label,
                    rope=rope,
                    test_fraction=test_fraction,
                    sizes=sizes,
                    confidence=confidence,
                )
            )
    results.extend(_across_datasets(frame, higher_is_better=higher_is_better))
    provenance = make_provenance(
        function="varkit.evaluate.compare_scores", inputs=inputs, seed=None, device="cpu"
    )
    return ResultSet(tuple(results), provenance)
