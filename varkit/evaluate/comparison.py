"""``ModelComparison``: a scikit-learn style front over the refitting tests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, is_classifier
from sklearn.exceptions import NotFittedError

from varkit.checks import check_confidence
from varkit.errors import VarkitError
from varkit.evaluate._bounded import bounded_mean_interval, score_range
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
from varkit.results import Result, ResultSet

__all__ = ["ModelComparison"]

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
            low, high, extra = bounded_mean_interval(
                res.estimate,
                float(res.stderr or 0.0),
                len(splits) - 1,
                confidence,
                (lo, hi),
                n_rows=n_rows,
            )
            if name in fit_warnings:
                extra["fit_warnings"] = fit_warnings[name]
            results.append(
                res.replace(
                    ci_low=low,
                    ci_high=high,
                    statistic=None,
                    pvalue=None,
                    alternative=None,
                    details={**res.details, **extra},
                )
            )
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
            low, high, extra = bounded_mean_interval(
                res.estimate, float(res.stderr or 0.0), diffs.size - 1, confidence, (-width, width)
            )
            return [res.replace(ci_low=low, ci_high=high, details={**res.details, **extra})]
        details = {"differences": diffs.reshape(5, 2)}
        return list(
            five_by_two_results(diffs.reshape(5, 2), metric=metric, group=group, details=details)
        )

    def summary(self) -> pd.DataFrame:
        """The results as a DataFrame (one row per result)."""
        if not hasattr(self, "results_"):
            raise NotFittedError("ModelComparison is not fitted yet; call fit(X, y) first.")
        return self.results_.to_frame()
