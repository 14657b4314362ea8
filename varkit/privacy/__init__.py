"""Estimating the differential-privacy epsilon of a training pipeline from attacks."""

from varkit.privacy.accountant import theoretical_epsilon
from varkit.privacy.attack import attack_counts, attack_roc, counts_at_thresholds, tpr_at_fpr
from varkit.privacy.audit import audit_epsilon
from varkit.privacy.bayes import EpsilonPosterior, bayesian_epsilon
from varkit.privacy.bounds import epsilon_from_rates
from varkit.privacy.clopper_pearson import clopper_pearson_epsilon
from varkit.privacy.counts import AttackCounts
from varkit.privacy.estimator import EpsilonEstimator
from varkit.privacy.gdp import gdp_audit, gdp_epsilon
from varkit.privacy.one_run import audit_one_run, one_run_audit
from varkit.privacy.plot import plot_epsilon

__all__ = [
    "AttackCounts",
    "EpsilonEstimator",
    "EpsilonPosterior",
    "attack_counts",
    "attack_roc",
    "audit_epsilon",
    "audit_one_run",
    "bayesian_epsilon",
    "clopper_pearson_epsilon",
    "counts_at_thresholds",
    "epsilon_from_rates",
    "gdp_audit",
    "gdp_epsilon",
    "one_run_audit",
    "plot_epsilon",
    "theoretical_epsilon",
    "tpr_at_fpr",
]
