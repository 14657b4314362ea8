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

Owen-Zhou mixture-component controls (``controls="mixture"``, columns ``MIXTURE_CONTROL_COLUMNS``)
    Owen & Zhou (2000, "Safe and effective importance sampling", JASA 95:135-143, Sec. 3,
    regression estimator Eq. 13-15): when q is a mixture ``sum_S alpha_S q_S``, every
    ``q_S/q - 1`` has mean exactly 0 under q. Here q of a whole test is a product of
    per-step mixtures, so it is a mixture over subsets S of the critical steps, with
    ``q_S = prod_{j in S} q~_j prod_{j in C minus S} p_j`` and
    ``alpha_S = (1-eps)^|S| eps^(k-|S|)``. With ``w_j = p_j/q_j`` and
    ``r_j = q~_j/q_j`` (so ``eps w_j + (1-eps) r_j = 1``) the columns are, for the critical
    steps ordered by gap (``(i)`` = the i-th shortest gap, 0 when a test has fewer than i
    critical steps; order 4 sums the 4th and later):
    ``cv_nde = W - 1`` (S empty: q_S = p), ``cv_twisted = prod_j r_j - 1`` (S = all
    critical steps; bounded by ``(1-eps)^-k``), ``cv_step_i = r_(i) - 1`` (the per-step
    factor, bounded in [-1, eps/(1-eps)]), ``cv_single_i = g_(i) - 1`` with
    ``g_i = r_i prod_{l != i} w_l`` (S = {i}: the component that twists only step i) and
    ``cv_single_crit_i = (g_(i) - 1) crit(s_(i)) / gamma``. Each has conditional mean 0
    given the gaps (the maneuvers are independent given the gaps under q and
    ``E_q[w_j | s] = E_q[r_j | s] = 1``), so any per-stratum coefficients keep the estimate
    unbiased. Only the components close to ``p`` carry the heavy ``prod w_l`` factor that
    dominates ``Y W``; the bounded ones (``cv_twisted``, ``cv_step_i``) cannot cancel it.

Exact variances (``importance_sampling_variance``, ``control_variance_bound``)
    Steps are independent under q too, so with per-step moments ``a = E_q[w^2]``,
    ``b = E_q[w^2 (1 - c)]``, ``b2 = E_q[w^2 (1 - c)^2]`` (``c`` the step's crash
    probability given gap and maneuver) the per-test variance of ``Y W`` is
    ``a^T - b^T - mu^2`` and ``E_q[Var(Y W | gaps, maneuvers)] = b^T - b2^T``: the least
    per-test variance that ANY control built from the gaps and maneuvers can leave (the
    residual of the best one, ``W E[Y | s, u]``). Both are 1-D quadratures. With the
    defaults ``a = 1.41`` so ``E_q[W^2] = a^40 ~ 1e6``: the variance of importance sampling
    is dominated by tests with ~12 critical steps that occur with probability ~1e-7, which
    a feasible sample never contains (the sample variance then underestimates it, and
    normal intervals under-cover).

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

__all__ = [
    "CONTROL_COLUMNS",
    "MIXTURE_CONTROL_COLUMNS",
    "VEHICLES",
    "OvertakingScenario",
    "Vehicle",
]

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
MIXTURE_ORDERS = 4  # critical steps 1..3 by gap get their own columns; 4 sums the rest
MIXTURE_CONTROL_COLUMNS = (
    "cv_nde",
    "cv_twisted",
    *(f"cv_step_{i}" for i in range(1, MIXTURE_ORDERS + 1)),
    *(f"cv_single_{i}" for i in range(1, MIXTURE_ORDERS + 1)),
    *(f"cv_single_crit_{i}" for i in range(1, MIXTURE_ORDERS + 1)),
)
CONTROL_SETS = ("product", "local", "mixture")


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
    controls : {'product', 'local', 'mixture'}
        Whether the ``cv_*`` maneuver terms carry the test's whole likelihood ratio W or
        only the step's own ratio (bounded, but blind to the other critical steps), or the
        Owen-Zhou mixture-component controls (``MIXTURE_CONTROL_COLUMNS``; see the module
        docstring).
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

    def _weight_moments(self, vehicle: str | Vehicle) -> tuple[float, float, float, float]:
        """Per-step ``E_q[w^2]``, ``E_q[w^2 (1-c)]``, ``E_q[w^2 (1-c)^2]``, ``E_p[1-c]``.

        ``c(s, u) = Phi((D_v(u) - s)/sigma_v)`` is the step's crash probability given gap
        and maneuver; ``w = p/q`` (1 off the critical set). Adaptive quadrature over
        log-gap, split at the critical gap where q changes.
        """
        v = _check_vehicle(vehicle)
        mu, sigma = math.log(self.gap_median), self.gap_sigma
        gap_c = self.critical_gap()
        distance = np.asarray(v.crash_distance)

        def parts(x: float) -> FloatArray:
            gap = np.array(math.exp(x))
            p = self.maneuver_probabilities(gap)
            q = self.proposal(gap) if gap < gap_c else p
            with np.errstate(invalid="ignore"):
                c = np.where(
                    np.isfinite(distance), stats.norm.cdf((distance - gap) / v.noise_sd), 0
                )
            w2q = p * p / q  # q w^2
            dens = stats.norm.pdf(x, mu, sigma)
            return np.asarray(
                dens
                * np.array(
                    [
                        w2q.sum(),
                        (w2q * (1 - c)).sum(),
                        (w2q * (1 - c) ** 2).sum(),
                        (p * (1 - c)).sum(),
                    ]
                )
            )

        edges = (mu - 12 * sigma, math.log(gap_c), mu + 12 * sigma)
        out = np.zeros(4)
        for i in range(4):
            for lo, hi in zip(edges[:-1], edges[1:], strict=True):
                f = lambda x, i=i: float(parts(x)[i])  # noqa: E731
                out[i] += integrate.quad(f, lo, hi, epsabs=0.0, epsrel=1e-11, limit=200)[0]
        return float(out[0]), float(out[1]), float(out[2]), float(out[3])

    def importance_sampling_variance(self, vehicle: str | Vehicle) -> float:
        """Exact per-test variance of ``Y W`` under q, ``a^T - b^T - mu^2`` (module docstring).

        Multiply ``(z / rhw)^2 / mu^2`` by it for the tests importance sampling really needs.
        """
        a, b, _, e = self._weight_moments(vehicle)
        t = self.n_steps
        mu = -math.expm1(t * math.log(e))
        return float(a**t - b**t - mu**2)

    def control_variance_bound(self, vehicle: str | Vehicle) -> float:
        """Least per-test variance any control built from gaps and maneuvers can leave.

        ``E_q[Var(Y W | s, u)] = b^T - b2^T`` (module docstring): the residual variance of
        the best such control, ``W E[Y | s, u]`` (the vehicle's own crash model), so
        ``importance_sampling_variance / control_variance_bound`` bounds the variance
        reduction of every regression on such controls, stratified or not.
        """
        _, b, b2, _ = self._weight_moments(vehicle)
        return float(b**self.n_steps - b2**self.n_steps)

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
        if self.controls not in CONTROL_SETS:
            raise ValueError(
                f"`controls` must be one of {', '.join(CONTROL_SETS)}, got {self.controls!r}."
            )
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
        frame = pd.DataFrame(
            {
                "crash": crash.astype(np.int64),
                "weight": w,
                "n_critical": critical.sum(axis=1).astype(np.int64),
            }
        )
        if self.controls == "mixture":
            mixture = self._mixture_controls(gap, critical, step_w)
            for name in MIXTURE_CONTROL_COLUMNS:
                frame[name] = mixture[name]
            return frame
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
        for name in CONTROL_COLUMNS:
            frame[name] = cols[name]
        return frame

    def _mixture_controls(
        self, gap: FloatArray, critical: NDArray[np.bool_], step_w: FloatArray
    ) -> dict[str, FloatArray]:
        """Owen-Zhou mixture-component controls (module docstring), mean 0 given the gaps."""
        eps = self.epsilon
        # r_j = q~_j / q_j from eps w_j + (1 - eps) r_j = 1 (1 off the critical set)
        r = np.where(critical, (1.0 - eps * step_w) / (1.0 - eps), 1.0)
        w = np.prod(step_w, axis=1)
        # prod_{l != i} w_l without dividing by w_i (which can be 0): prefix x suffix products
        ones = np.ones((gap.shape[0], 1))
        before = np.cumprod(np.hstack([ones, step_w[:, :-1]]), axis=1)
        after = np.cumprod(np.hstack([ones, step_w[:, :0:-1]]), axis=1)[:, ::-1]
        single = r * before * after  # g_i = q_{i}/q for the component twisting step i only
        crit = self.criticality(gap) / self.gamma
        # critical steps ordered by gap; non-critical steps sort last
        order = np.argsort(np.where(critical, gap, np.inf), axis=1, kind="stable")
        rank_of = np.take_along_axis
        n = gap.shape[0]
        cols: dict[str, FloatArray] = {
            "cv_nde": w - 1.0,
            "cv_twisted": np.prod(r, axis=1) - 1.0,
        }
        step_terms = np.where(critical, r - 1.0, 0.0)
        single_terms = np.where(critical, single - 1.0, 0.0)
        for name, terms in (
            ("step", step_terms),
            ("single", single_terms),
            ("single_crit", single_terms * crit),
        ):
            ranked = rank_of(terms, order, axis=1)
            for i in range(1, MIXTURE_ORDERS):
                cols[f"cv_{name}_{i}"] = ranked[:, i - 1].copy()
            rest = ranked[:, MIXTURE_ORDERS - 1 :].sum(axis=1) if n else np.zeros(0)
            cols[f"cv_{name}_{MIXTURE_ORDERS}"] = rest
        return cols
