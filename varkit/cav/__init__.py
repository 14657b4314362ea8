"""Crash-rate estimation for connected and automated vehicles: NDE, importance sampling,
regression and sparse control variates, stopping rules and a scenario simulator.

:func:`crash_rate` is the front door: a test log (DataFrame, path or glob) in, the estimate
of the chosen method, the tests still needed and the provenance out.
"""

from varkit.cav.control_variates import FITS, control_variate_estimate
from varkit.cav.estimators import importance_sampling_estimate, nde_estimate
from varkit.cav.intervals import ALTERNATIVES
from varkit.cav.learned import learned_control_estimate
from varkit.cav.logs import METHODS, crash_rate
from varkit.cav.running import running_estimate
from varkit.cav.scenarios import (
    CONTROL_FAMILIES,
    PROPOSALS,
    REGIMES,
    TESTING,
    VEHICLES,
    OvertakingScenario,
)
from varkit.cav.sparse import SparseControlVariates, sparse_control_variates
from varkit.cav.stopping import n_required

__all__ = [
    "ALTERNATIVES",
    "CONTROL_FAMILIES",
    "FITS",
    "METHODS",
    "PROPOSALS",
    "REGIMES",
    "TESTING",
    "VEHICLES",
    "OvertakingScenario",
    "SparseControlVariates",
    "control_variate_estimate",
    "crash_rate",
    "importance_sampling_estimate",
    "learned_control_estimate",
    "n_required",
    "nde_estimate",
    "running_estimate",
    "sparse_control_variates",
]
