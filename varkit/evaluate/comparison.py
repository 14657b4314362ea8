"""``ModelComparison``: a scikit-learn style front over the refitting tests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, is_classifier
from sklearn.exceptions import NotFittedError

from varkit.checks import check_confidence, resolve_seed
from varkit.errors import VarkitError
from varkit.evaluate._bounded import bounded_t_result, score_range
from varkit.evaluate._fitting import (
    check_folds,
    check_xy,
    default_scoring,
    score_splits,
    scoring_name,
    seed_estimators,
)
from varkit.evaluate._inputs import check_count
from varkit.evaluate.multiple import adjust_pvalues
from varkit.evaluate.paired_ttests import _t_on_differences, five_by_two_results
from varkit.gpu.splits import five_by_two_splits, kfold_splits
from varkit.io import Column, read_table, validate_frame
from varkit.results import Result, ResultSet, make_provenance

__all__ = ["ModelComparison", "compare_models", "parse_cv"]

_CV = ("5x2", "repeated-kfold", "kfold")


class ModelComparison(BaseEstimator):  # type: ignore[misc]
    """Fit several models on the same repeated splits and compare every pair.

    Parameters
    ----------
    estimators : dict of str to estimator
        Unfitted models by name (cloned per split).
    cv : {'5x2', 'repeated-kfold', 'kfold'}
        ``5x2``: Dietterich's 5x2cv t and Alpaydin's combined F per pair;
        ``repeated-kfold`` / ``kfold``: the corrected resampled t-test (Nadeau & Bengio
        2003; Bouckaert & Frank 2004) per pair.
    n_splits, n_repeats : int
        Folds and repetitions of (repeated) k-fold.
    scoring : str, callable or None
        scikit-learn scoring; None = accuracy (classifiers) or r2.
    correction : str
        Adjustment of the pairwise p-values (:func:`varkit.evaluate.adjust_pvalues`).
    confidence : float
        Interval level.
    random_state : None, int or numpy Generator
        Seed of the splits and of every estimator whose ``random_state`` (nested ones
        too) is None: the same seed gives the same results.
    n_jobs : int or None
        Parallel fits (one joblib pool for all models and splits).

    Attributes
    ----------
    results_ : ResultSet
        Per model the mean score with a corrected interval; per pair the tests.
    scores_ : ndarray of shape (n_splits, n_models)
        Test score of each model on each split.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.dummy import DummyClassifier
    >>> from sklearn.naive_bayes import GaussianNB
    >>> X, y = load_iris(return_X_y=True)
    >>> mc = ModelComparison({"nb": GaussianNB(), "dummy": DummyClassifier()}, cv="5x2",
    ...                      random_state=0).fit(X, y)
    >>> mc.summary()["method"].tolist()
    ['corrected-cv-t', 'corrected-cv-t', '5x2cv-t', '5x2cv-combined-f']
    """

    def __init__(
        self,
        estimators: Mapping[str, Any],
        *,
        cv: str = "5x2",
        n_splits: int = 10,
        n_repeats: int = 10,
        scoring: Any = None,
        correction: str = "holm",
        confidence: float = 0.95,
        random_state: Any = None,
        n_jobs: int | None = None,
    ) -> None:
        self.estimators = estimators
        self.cv = cv
        self.n_splits = n_splits
        self.n_repeats = n_repeats
        self.scoring = scoring
        self.correction = correction
        self.confidence = confidence
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _validate(self) -> tuple[dict[str, Any], float]:
        if not isinstance(self.estimators, Mapping) or len(self.estimators) < 2:
            raise VarkitError("`estimators` must map at least 2 names to estimators.")
        if self.cv not in _CV:
            raise VarkitError(f"`cv` must be one of {', '.join(_CV)}, got {self.cv!r}.")
        check_count("n_splits", self.n_splits, minimum=2)
        check_count("n_repeats", self.n_repeats, minimum=1)
        return {str(k): v for k, v in self.estimators.items()}, check_confidence(self.confidence)

    def fit(self, X: Any, y: Any, groups: Any = None) -> ModelComparison:
        """Fit every model on every split and run the tests."""
        named, confidence = self._validate()
        X, y_arr, groups = check_xy(X, y, groups)
        models = list(named.values())
        stratify = is_classifier(models[0])
        check_folds(
            y_arr, 2 if self.cv == "5x2" else int(self.n_splits), stratify=stratify, groups=groups
        )
        if self.cv == "5x2":
            splits = five_by_two_splits(
                y_arr, stratify=stratify, groups=groups, random_state=self.random_state
            )
        else:
            splits = kfold_splits(
                y_arr,
                n_splits=self.n_splits,
                n_repeats=self.n_repeats if self.cv == "repeated-kfold" else 1,
                stratify=stratify,
                groups=groups,
                random_state=self.random_state,
            )
        models = seed_estimators(models, self.random_state)
        scoring = default_scoring(models[0], self.scoring)
        fit_warnings: dict[str, list[str]] = {}
        scores = score_splits(
            models,
            X,
            y_arr,
            splits,
            scoring=scoring,
            n_jobs=self.n_jobs,
            names=list(named),
            fit_warnings=fit_warnings,
        )
        n_rows = int(np.unique(np.concatenate([te for _, te in splits])).size)
        n_train = int(np.mean([len(tr) for tr, _ in splits]))
        n_test = int(np.mean([len(te) for _, te in splits]))
        factor = 1.0 / len(splits) + n_test / n_train
        metric = scoring_name(scoring)
        lo, hi = score_range(metric)
        names = list(named)
        results: list[Result] = []
        for j, name in enumerate(names):
            res = _t_on_differences(
                scores[:, j],
                variance_factor=factor,
                confidence=confidence,
                alternative="two-sided",
                method="corrected-cv-t",
                metric=metric,
                details={"n_train": n_train, "n_test": n_test},
                group={"model": name},
            )
            res, extra = bounded_t_result(res, (lo, hi), n_rows=n_rows)
            if name in fit_warnings:
                extra["fit_warnings"] = fit_warnings[name]
            results.append(res.replace(details={**res.details, **extra}))
        pairs: list[Result] = []
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                diffs = scores[:, names.index(a)] - scores[:, names.index(b)]
                group = {"comparison": f"{a}-{b}", "model_1": a, "model_2": b}
                pairs.extend(
                    self._pair(diffs, factor, confidence, f"{metric}_difference", group, (lo, hi))
                )
        # One family per test method: the 5x2cv t and the combined F test the same pair
        # (two tests of one hypothesis), so they are adjusted across pairs, not together.
        for method in dict.fromkeys(r.method for r in pairs):
            family = [r for r in pairs if r.method == method]
            results.extend(adjust_pvalues(family, method=self.correction))
        self.scores_ = scores
        self.results_ = ResultSet(
            tuple(results),
            {"function": "varkit.evaluate.ModelComparison", "cv": self.cv, "n_splits": len(splits)},
        )
        return self

    def _pair(
        self,
        diffs: np.ndarray,
        factor: float,
        confidence: float,
        metric: str,
        group: dict[str, str],
        bounds: tuple[float, float],
    ) -> list[Result]:
        if self.cv != "5x2":
            res = _t_on_differences(
                diffs,
                variance_factor=factor,
                confidence=confidence,
                alternative="two-sided",
                method="corrected-resampled-t",
                metric=metric,
                details={},
                group=group,
            )
            # the difference of two scores in [lo, hi] lies in [lo - hi, hi - lo]
            width = bounds[1] - bounds[0]
            res, extra = bounded_t_result(res, (-width, width), keep_test=True)
            return [res.replace(details={**res.details, **extra})]
        details = {"differences": diffs.reshape(5, 2)}
        return list(
            five_by_two_results(diffs.reshape(5, 2), metric=metric, group=group, details=details)
        )

    def summary(self) -> pd.DataFrame:
        """The results as a DataFrame (one row per result)."""
        if not hasattr(self, "results_"):
            raise NotFittedError("ModelComparison is not fitted yet; call fit(X, y) first.")
        return self.results_.to_frame()


def parse_cv(text: str) -> tuple[str, int, int]:
    """``(cv, n_splits, n_repeats)`` of :class:`ModelComparison` from ``5x2``, ``kfold:K``
    or ``repeated:KxR``.

    Examples
    --------
    >>> parse_cv("5x2"), parse_cv("kfold:10"), parse_cv("repeated:5x3")
    (('5x2', 2, 5), ('kfold', 10, 1), ('repeated-kfold', 5, 3))
    """
    if text == "5x2":
        return "5x2", 2, 5
    kind, _, rest = text.partition(":")
    try:
        if kind == "kfold":
            return "kfold", int(rest), 1
        if kind == "repeated":
            folds, _, repeats = rest.partition("x")
            return "repeated-kfold", int(folds), int(repeats)
    except ValueError:
        pass
    raise VarkitError(f"`cv` must be 5x2, kfold:K or repeated:KxR, got {text!r}.")


def _features_and_target(
    table: pd.DataFrame, target: str, where: str, regression: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Numeric features as they are, text columns one-hot encoded; a numeric target for
    regressors. One error per problem, naming the column and row."""
    features = table.drop(columns=[target])
    if features.shape[1] == 0:
        raise VarkitError(f"{where}: no feature columns besides '{target}'.")
    if features.isna().any().any():
        column = str(features.columns[features.isna().any()].tolist()[0])
        raise VarkitError(f"{where}: feature column '{column}' has missing values.")
    numeric_features = features.select_dtypes("number")
    infinite = ~np.isfinite(numeric_features.to_numpy(dtype=float))
    if infinite.any():
        row, col = np.argwhere(infinite)[0]
        raise VarkitError(
            f"{where}: feature column '{numeric_features.columns[col]}' is infinite in row "
            f"{int(row) + 1}."
        )
    X = pd.get_dummies(features, dtype=float).to_numpy(dtype=float)
    y = table[target].to_numpy()
    if regression:
        numeric = pd.to_numeric(pd.Series(y), errors="coerce")
        if numeric.isna().any():
            raise VarkitError(f"{where}: target '{target}' must be numeric for regressors.")
        y = numeric.to_numpy(dtype=float)
    return X, y


def compare_models(
    log: Any,
    target: str,
    estimators: Mapping[str, Any],
    *,
    cv: str = "5x2",
    scoring: str | None = None,
    n_jobs: int | None = None,
    confidence: float = 0.95,
    random_state: Any = None,
) -> ResultSet:
    """Fit and compare models on a log of examples (``varkit evaluate cv``).

    Parameters
    ----------
    log : DataFrame or str
        One row per example: a DataFrame or a CSV/Parquet file. Numeric feature columns
        are used as they are; text columns are one-hot encoded.
    target : str
        The column to predict (numeric for regressors).
    estimators : mapping of str to estimator
        Unfitted scikit-learn models by name (at least two).
    cv : str
        ``5x2``, ``kfold:K`` or ``repeated:KxR`` (:func:`parse_cv`).
    scoring, n_jobs, confidence
        As in :class:`ModelComparison`.
    random_state : None, int or numpy.random.Generator
        Seed of the folds and of every model's unset ``random_state``, resolved once and
        written in the provenance.

    Returns
    -------
    ResultSet
        :class:`ModelComparison`'s results, with provenance.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn.dummy import DummyClassifier
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=120)
    >>> log = pd.DataFrame({"x": x, "y": (x + rng.normal(size=120) > 0).astype(int)})
    >>> rs = compare_models(log, "y", {"lr": LogisticRegression(), "dummy": DummyClassifier()},
    ...                     cv="kfold:5", random_state=0)
    >>> [r.group.get("model", r.group.get("comparison")) for r in rs]
    ['lr', 'dummy', 'lr-dummy']
    """
    from sklearn.base import is_classifier

    kind, folds, repeats = parse_cv(cv)
    if n_jobs == 0:
        raise VarkitError("`n_jobs` must be a positive number of workers, or negative (-1: all).")
    if not isinstance(estimators, Mapping) or len(estimators) < 2:
        raise VarkitError("give at least 2 distinct `estimators`.")
    seed = resolve_seed(random_state)
    if isinstance(log, pd.DataFrame):
        table, where, inputs = validate_frame(log, [Column(target, "label")]), "the log", []
    else:
        table, where, inputs = read_table(log, [Column(target, "label")]), str(log), [log]
    regression = not is_classifier(next(iter(estimators.values())))
    X, y = _features_and_target(table, target, where, regression)
    comparison = ModelComparison(
        dict(estimators),
        cv=kind,
        n_splits=folds,
        n_repeats=repeats,
        scoring=scoring,
        confidence=confidence,
        random_state=seed,
        n_jobs=n_jobs,
    ).fit(X, y)
    provenance = make_provenance(
        function="varkit.evaluate.compare_models", inputs=inputs, seed=seed, device="cpu"
    )
    return ResultSet(comparison.results_.results, provenance)
