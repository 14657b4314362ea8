"""Crash-rate estimation for connected and automated vehicles: NDE, importance sampling,
regression and sparse control variates, stopping rules and a scenario simulator."""

from varkit.cav.estimators import importance_sampling_estimate, nde_estimate

__all__ = ["importance_sampling_estimate", "nde_estimate"]
