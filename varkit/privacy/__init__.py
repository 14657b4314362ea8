"""Estimating the differential-privacy epsilon of a training pipeline from attacks."""

from varkit.privacy.attack import attack_counts, attack_roc, counts_at_thresholds, tpr_at_fpr
from varkit.privacy.audit import audit_epsilon
from varkit.privacy.bayes import EpsilonPosterior, bayesian_epsilon
from varkit.privacy.bounds import epsilon_from_rates
from varkit.privacy.clopper_pearson import clopper_pearson_epsilon
from varkit.privacy.counts import AttackCounts
from varkit.privacy.estimator import EpsilonEstimator
from varkit.privacy.plot import plot_epsilon

__all__ = [
    "AttackCounts",
    "EpsilonEstimator",
    "EpsilonPosterior",
    "attack_counts",
    "attack_roc",
    "audit_epsilon",
    "bayesian_epsilon",
    "clopper_pearson_epsilon",
    "counts_at_thresholds",
    "epsilon_from_rates",
    "plot_epsilon",
    "tpr_at_fpr",
]
