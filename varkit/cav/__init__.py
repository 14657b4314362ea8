"""Crash-rate estimation for connected and automated vehicles: NDE, importance sampling,
regression and sparse control variates, stopping rules and a scenario simulator."""

from varkit.cav.control_variates import control_variate_estimate
from varkit.cav.estimators import importance_sampling_estimate, nde_estimate

__all__ = ["control_variate_estimate", "importance_sampling_estimate", "nde_estimate"]
