"""A high-dimensional overtaking scenario family with an exactly known crash rate.

The automated vehicle (AV) overtakes along ``n_steps`` decision steps (default 40). At
each step t a background vehicle (BV) in the adjacent lane is at gap ``s_t`` metres and
takes a maneuver ``u_t`` in {keep lane, cut in, hard brake}; an AV-side disturbance
``e_t`` (perception/actuation noise) decides how the AV copes. A test is the whole sequence
``x = (s_t, u_t, e_t)_{t=1..T}``: 120 variables by default.

Naturalistic distribution p (the NDE)
    ``log s_t ~ N(log gap_median, gap_sigma^2)``; ``u_t | s_t`` takes cut in / hard brake
    with the small constant probabilities ``p_cut_in`` / ``p_brake`` and keeps its lane
    otherwise; ``e_t ~ N(0, 1)``; all steps independent.

Surrogate model (what the test designer knows, not the AV under test)
    ``P_SM(crash | s, u) = expit((d_u - s) / scale)`` with ``d`` = ``surrogate_distance``
    for cut in and hard brake and 0 for keep lane. Step t is **critical** when its
    maneuver challenge ``crit(s) = sum_u p(u|s) P_SM(crash|s,u)`` exceeds ``gamma``;
    ``n_critical`` counts the critical steps of a test (Feng et al., Nat. Commun. 12:748,
    2021, "maneuver challenge" and "criticality").

Testing distribution q (NADE-style importance sampling)
    Gaps and disturbances are drawn from p; at critical steps only, the maneuver is drawn
    from the defensive mixture ``q(u|s) = eps p(u|s) + (1 - eps) p(u|s) P_SM(u|s)/crit(s)``;
    elsewhere ``q = p``. The likelihood ratio is
    ``W = prod_{t critical} p(u_t|s_t) / q(u_t|s_t)``.

Vehicles under test (``VEHICLES``)
    The AV crashes at step t when ``s_t + sigma_v e_t < D_v(u_t)``, so
    ``P(crash at t | s, u) = Phi((D_v(u) - s) / sigma_v)``; a test crashes when any step
    does. ``surrogate`` behaves like the surrogate model; ``cautious`` copes better;
    ``aggressive`` misjudges hard braking much worse than the surrogate thinks; and
    ``distracted`` also crashes at very short gaps when the BV merely keeps its lane, a
    failure the surrogate does not model at all (so q barely targets it).

Exact crash rate
    Steps are independent and identically distributed under p, so
    ``mu_v = 1 - (1 - r_v)^T`` with
    ``r_v = E_p[Phi((D_v(u) - s)/sigma_v)]``, a one-dimensional integral over ``log s``
    computed by adaptive quadrature (``scipy.integrate.quad``, relative error ~1e-10).

Control variates (columns ``cv_*``, mean exactly 0 under the testing distribution)
    Built only from the critical variables. For a critical step j,
    ``E_q[W f(u_j) | s] = E_p[f(u_j) | s_j]`` because the other critical factors have
    conditional mean 1 (``controls="product"``, the default); ``controls="local"`` uses the
    step's own ratio ``w_j`` instead of ``W``, also mean-preserving. Summing over the
    critical steps gives controls whose number does not depend on ``n_critical`` (steps
    are exchangeable, so per-step coefficients would be equal at the optimum anyway):
    ``cv_weight = sum_j (w_j - 1)``, ``cv_cut_in = sum_j (W 1{u_j = cut in} - p_cut_in)``,
    ``cv_brake`` likewise, ``cv_cut_in_gap``/``cv_brake_gap`` the same terms times
    ``s_j / 10``, and ``cv_surrogate = sum_j (W P_SM(crash|s_j,u_j) - crit(s_j))``.

Assumptions (simplifications of a real overtaking NDE): steps are independent (no state
dynamics), gaps are not twisted by q, maneuvers are three discrete choices, and the crash
rule is a threshold on the gap with Gaussian noise. The family is built to know the answer
exactly, not to reproduce the papers' experiment, whose details we could not read.

Examples
--------
>>> from varkit.cav.scenarios import OvertakingScenario
>>> scenario = OvertakingScenario()
>>> f"{scenario.crash_rate('surrogate'):.3e}"
'3.922e-04'
>>> log = scenario.simulate(1000, vehicle="surrogate", random_state=0)
>>> list(log.columns[:3])
['crash', 'weight', 'n_critical']
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import integrate, optimize, special, stats

__all__ = ["CONTROL_COLUMNS", "VEHICLES", "OvertakingScenario", "Vehicle"]

FloatArray = NDArray[np.float64]
MANEUVERS = ("keep", "cut_in", "brake")
CONTROL_COLUMNS = (
    "cv_weight",
    "cv_cut_in",
    "cv_brake",
    "cv_cut_in_gap",
    "cv_brake_gap",
    "cv_surrogate",
)


@dataclass(frozen=True)
class Vehicle:
    """An automated vehicle under test: crash distance per maneuver and noise scale."""

    crash_distance: tuple[float, float, float]  # keep lane, cut in, hard brake (metres)
    noise_sd: float


VEHICLES: dict[str, Vehicle] = {
    "surrogate": Vehicle((-math.inf, 10.0, 6.0), 1.5),
    "cautious": Vehicle((-math.inf, 7.0, 4.0), 1.0),
    "aggressive": Vehicle((-math.inf, 10.0, 12.0), 1.5),
    "distracted": Vehicle((2.5, 10.0, 6.0), 1.0),
}


def _check_vehicle(vehicle: str | Vehicle) -> Vehicle:
    if isinstance(vehicle, Vehicle):
        return vehicle
    if vehicle not in VEHICLES:
        raise ValueError(f"`vehicle` must be one of {', '.join(VEHICLES)}, got {vehicle!r}.")
    return VEHICLES[vehicle]


@dataclass(frozen=True)
class OvertakingScenario:
    """Overtaking scenarios: naturalistic distribution, surrogate, IS proposal, exact rate.

    Parameters
    ----------
    n_steps : int, default 40
        Decision steps per test (each with a gap, a maneuver and a disturbance).
    gap_median, gap_sigma : float
        Log-normal gap distribution (metres).
    p_cut_in, p_brake : float
        Naturalistic probabilities of the two dangerous maneuvers at each step.
    surrogate_distance : tuple of float
        Surrogate crash distance for cut in and hard brake.
    surrogate_scale : float
        Logistic scale of the surrogate crash probability.
    gamma : float
        Criticality threshold on the maneuver challenge.
    epsilon : float
        Defensive weight of p in the importance-sampling mixture at critical steps.
    controls : {'product', 'local'}
        Whether the ``cv_*`` maneuver terms carry the test's whole likelihood ratio W or
        only the step's own ratio (bounded, but blind to the other critical steps).
    """

    n_steps: int = 40
    gap_median: float = 30.0
    gap_sigma: float = 0.45
    p_cut_in: float = 1e-3
    p_brake: float = 5e-4
    surrogate_distance: tuple[float, float] = (10.0, 6.0)
    surrogate_scale: float = 2.0
    gamma: float = 1.25e-4
    epsilon: float = 0.1
    controls: str = "product"
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    # -- model pieces ----------------------------------------------------------------
    def maneuver_probabilities(self, gap: FloatArray) -> FloatArray:
        """p(u | s) for keep, cut in, hard brake: shape (..., 3)."""
        gap = np.asarray(gap, dtype=np.float64)
        out = np.empty((*gap.shape, 3))
        out[..., 1] = self.p_cut_in
        out[..., 2] = self.p_brake
        out[..., 0] = 1.0 - self.p_cut_in - self.p_brake
        return out

    def surrogate_crash(self, gap: FloatArray) -> FloatArray:
        """P_SM(crash | s, u): shape (..., 3); keep lane is never a surrogate crash."""
        gap = np.asarray(gap, dtype=np.float64)
        out = np.zeros((*gap.shape, 3))
        for m, d in zip((1, 2), self.surrogate_distance, strict=True):
            out[..., m] = special.expit((d - gap) / self.surrogate_scale)
        return out

    def criticality(self, gap: FloatArray) -> FloatArray:
        """Maneuver challenge crit(s) = sum_u p(u|s) P_SM(crash|s,u)."""
        return np.sum(self.maneuver_probabilities(gap) * self.surrogate_crash(gap), axis=-1)

    def critical_gap(self) -> float:
        """Steps with a gap below this are critical (crit(s) decreases in s)."""
        if "critical_gap" not in self._cache:
            f = lambda s: float(self.criticality(np.array(s))) - self.gamma  # noqa: E731
            self._cache["critical_gap"] = float(optimize.brentq(f, 1e-6, 1e4, xtol=1e-12))
        return float(self._cache["critical_gap"])

    def critical_probability(self) -> float:
        """P(step is critical), the same under p and q since gaps are not twisted."""
        z = (math.log(self.critical_gap()) - math.log(self.gap_median)) / self.gap_sigma
        return float(stats.norm.cdf(z))

    def n_critical_distribution(self) -> FloatArray:
        """P(n_critical = k), k = 0..n_steps: Binomial(n_steps, critical_probability)."""
        k = np.arange(self.n_steps + 1)
        return np.asarray(stats.binom.pmf(k, self.n_steps, self.critical_probability()))

    def proposal(self, gap: FloatArray) -> FloatArray:
        """q(u | s) at critical steps: eps p + (1 - eps) p P_SM / crit (defensive mixture)."""
        p = self.maneuver_probabilities(gap)
        tilted = p * self.surrogate_crash(gap)
        tilted /= tilted.sum(axis=-1, keepdims=True)
        return self.epsilon * p + (1.0 - self.epsilon) * tilted

    # -- the exact answer ----------------------------------------------------------------
    def step_crash_rate(self, vehicle: str | Vehicle) -> float:
        """r_v = P_p(crash at one step), by quadrature over log-gap."""
        v = _check_vehicle(vehicle)
        probs = self.maneuver_probabilities(np.zeros(()))
        mu, sigma = math.log(self.gap_median), self.gap_sigma

        def integrand(x: float) -> float:
            gap = math.exp(x)
            cond = sum(
                probs[m] * stats.norm.cdf((v.crash_distance[m] - gap) / v.noise_sd)
                for m in range(3)
                if math.isfinite(v.crash_distance[m])
            )
            return float(cond * stats.norm.pdf(x, mu, sigma))

        edges = sorted({mu - 12 * sigma, math.log(self.critical_gap()), mu, mu + 12 * sigma})
        total = 0.0
        for lo, hi in zip(edges[:-1], edges[1:], strict=True):
            total += integrate.quad(integrand, lo, hi, epsabs=0.0, epsrel=1e-11, limit=200)[0]
        return total

    def crash_rate(self, vehicle: str | Vehicle) -> float:
        """Exact crash rate per test, ``1 - (1 - r_v)^T``."""
        return float(-math.expm1(self.n_steps * math.log1p(-self.step_crash_rate(vehicle))))

    # -- simulation --------------------------------------------------------------------
    def simulate(
        self,
        n_tests: int,
        vehicle: str | Vehicle = "surrogate",
        *,
        testing: str = "is",
        random_state: Any = None,
        batch: int = 50_000,
    ) -> pd.DataFrame:
        """Run ``n_tests`` tests; one row each in the ``varkit cav crash-rate`` format.

        Parameters
        ----------
        n_tests : int
            Number of tests.
        vehicle : str or Vehicle, default 'surrogate'
            The AV under test (a key of ``VEHICLES``).
        testing : {'is', 'nde'}, default 'is'
            Draw maneuvers at critical steps from q (importance sampling) or from p.
        random_state : None, int or numpy Generator
        batch : int, default 50000
            Tests simulated at once (memory is O(batch * n_steps)).

        Returns
        -------
        pandas.DataFrame
            ``crash`` (0/1), ``weight`` (p/q), ``n_critical`` and the ``cv_*`` controls.
        """
        if isinstance(n_tests, bool) or not isinstance(n_tests, (int, np.integer)) or n_tests < 1:
            raise ValueError(f"`n_tests` must be a positive integer, got {n_tests!r}.")
        if testing not in ("is", "nde"):
            raise ValueError(f"`testing` must be 'is' or 'nde', got {testing!r}.")
        v = _check_vehicle(vehicle)
        rng = (
            random_state
            if isinstance(random_state, np.random.Generator)
            else np.random.default_rng(random_state)
        )
        parts = []
        done = 0
        while done < n_tests:
            size = min(batch, n_tests - done)
            parts.append(self._simulate_batch(size, v, testing == "is", rng))
            done += size
        return pd.concat(parts, ignore_index=True)

    def _simulate_batch(
        self, n: int, v: Vehicle, twist: bool, rng: np.random.Generator
    ) -> pd.DataFrame:
        shape = (n, self.n_steps)
        gap = np.exp(math.log(self.gap_median) + self.gap_sigma * rng.standard_normal(shape))
        critical = gap < self.critical_gap()
        p = self.maneuver_probabilities(gap)
        q = np.where(critical[..., None] & twist, self.proposal(gap), p)
        # inverse-CDF draw of one maneuver per step
        u = (rng.random(shape)[..., None] > np.cumsum(q, axis=-1)[..., :2]).sum(axis=-1)
        noise = rng.standard_normal(shape)
        distance = np.asarray(v.crash_distance)[u]
        crash = np.any(gap + v.noise_sd * noise < distance, axis=1)
        pu = np.take_along_axis(p, u[..., None], axis=-1)[..., 0]
        qu = np.take_along_axis(q, u[..., None], axis=-1)[..., 0]
        step_w = np.where(critical, pu / qu, 1.0)  # p/q of each step; 1 off the critical set
        w = np.prod(step_w, axis=1)
        sm = self.surrogate_crash(gap)
        sm_u = np.take_along_axis(sm, u[..., None], axis=-1)[..., 0]
        crit = np.sum(p * sm, axis=-1)
        scaled_gap = gap / 10.0
        cols: dict[str, FloatArray] = {}
        cols["cv_weight"] = np.where(critical, step_w - 1.0, 0.0).sum(axis=1)
        # "local" controls use the step's own likelihood ratio; "product" ones the test's W
        factor = step_w if self.controls == "local" else w[:, None]
        for m, name in ((1, "cut_in"), (2, "brake")):
            term = np.where(critical, factor * (u == m) - p[..., m], 0.0)
            cols[f"cv_{name}"] = term.sum(axis=1)
            cols[f"cv_{name}_gap"] = (term * scaled_gap).sum(axis=1)
        cols["cv_surrogate"] = np.where(critical, factor * sm_u - crit, 0.0).sum(axis=1)
        frame = pd.DataFrame(
            {
                "crash": crash.astype(np.int64),
                "weight": w,
                "n_critical": critical.sum(axis=1).astype(np.int64),
            }
        )
        for name in CONTROL_COLUMNS:
            frame[name] = cols[name]
        return frame
