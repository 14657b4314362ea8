"""Crash-rate estimation for connected and automated vehicles: NDE, importance sampling,
regression and sparse control variates, stopping rules and a scenario simulator."""

from varkit.cav.control_variates import control_variate_estimate
from varkit.cav.estimators import importance_sampling_estimate, nde_estimate
from varkit.cav.scenarios import VEHICLES, OvertakingScenario
from varkit.cav.sparse import SparseControlVariates, sparse_control_variates
from varkit.cav.stopping import n_required, running_estimate

__all__ = [
    "VEHICLES",
    "OvertakingScenario",
    "SparseControlVariates",
    "control_variate_estimate",
    "importance_sampling_estimate",
    "n_required",
    "nde_estimate",
    "running_estimate",
    "sparse_control_variates",
]
