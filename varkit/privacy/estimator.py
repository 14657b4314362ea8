"""A scikit-learn-style front over :func:`~varkit.privacy.audit_epsilon`."""

from __future__ import annotations

from typing import Any

from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from varkit.privacy.audit import audit_epsilon
from varkit.privacy.bayes import EpsilonPosterior
from varkit.results import Result

__all__ = ["EpsilonEstimator"]


class EpsilonEstimator(BaseEstimator):  # type: ignore[misc]
    """Estimate the epsilon a membership-inference attack demonstrates.

    Parameters
    ----------
    delta : float or sequence of float, default 0
    method : {'bayes', 'clopper-pearson', 'both'}, default 'bayes'
    threshold : {'split', 'bonferroni'} or float, default 'split'
    bound : {'two-sided', 'lower'}, default 'two-sided'
    confidence : float, default 0.95
    n_thresholds : int, default 20
    split_fraction : float, default 0.5
    random_state : None, int or numpy.random.Generator

    Attributes
    ----------
    results_ : ResultSet
        Everything :func:`~varkit.privacy.audit_epsilon` returned.
    result_ : Result
        The first result: the pooled estimate at the first delta with the first method.
    estimate_ : float
    ci_ : tuple of float
    threshold_ : float or None
        The threshold used (None for 0/1 guesses).
    counts_ : dict
        The pooled counts ``fp, fn, tn, tp`` behind ``result_``.

    Examples
    --------
    >>> from varkit.datasets import load_mia_example
    >>> from varkit.privacy import EpsilonEstimator
    >>> log = load_mia_example()
    >>> est = EpsilonEstimator(delta=1e-5, threshold="bonferroni")
    >>> est = est.fit(log["score"], log["member"])
    >>> est.ci_[0] > 0, est.result_.method, est.counts_["tp"] + est.counts_["fn"]
    (True, 'bayes-jeffreys', 1616)
    """

    def __init__(
        self,
        delta: Any = 0.0,
        method: str = "bayes",
        threshold: Any = "split",
        bound: str = "two-sided",
        confidence: float = 0.95,
        n_thresholds: int = 20,
        split_fraction: float = 0.5,
        random_state: Any = None,
    ) -> None:
        self.delta = delta
        self.method = method
        self.threshold = threshold
        self.bound = bound
        self.confidence = confidence
        self.n_thresholds = n_thresholds
        self.split_fraction = split_fraction
        self.random_state = random_state

    def fit(
        self, scores: ArrayLike, members: ArrayLike, model_id: ArrayLike | None = None
    ) -> EpsilonEstimator:
        """Choose the threshold and estimate epsilon from ``scores`` (higher = member)."""
        # the constructor's parameters are audit_epsilon's keywords, unchanged
        results = audit_epsilon(members, scores, model_id=model_id, **self.get_params())
        first: Result = results[0]
        self.results_ = results
        self.result_ = first
        self.estimate_ = first.estimate
        self.ci_ = (first.ci_low, first.ci_high)
        self.threshold_ = first.details.get("threshold")
        self.counts_ = {k: first.details[k] for k in ("fp", "fn", "tn", "tp")}
        return self

    def posterior(self, delta: float | None = None) -> EpsilonPosterior:
        """The Bayesian posterior of epsilon for the pooled counts (at ``delta``)."""
        check_is_fitted(self, "result_")
        d = self.result_.details["delta"] if delta is None else delta
        return EpsilonPosterior(**self.counts_, delta=d)
