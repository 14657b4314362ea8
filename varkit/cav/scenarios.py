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
    ``P_SM(crash | s, u) = expit((d_u - s) / scale)`` (probit in the papers regime, below)
    with ``d`` = ``surrogate_distance``
    for cut in and hard brake and 0 for keep lane. Step t is **critical** when its
    maneuver challenge ``crit(s) = sum_u p(u|s) P_SM(crash|s,u)`` exceeds ``gamma``;
    ``n_critical`` counts the critical steps of a test (Feng et al., Nat. Commun. 12:748,
    2021, "maneuver challenge" and "criticality").

Testing distribution q (``proposal``; gaps and disturbances are always drawn from p)
    The twisted maneuver distribution of a critical step is the defensive mixture
    ``q~(u|s) = eps p(u|s) + (1 - eps) p(u|s) P_SM(u|s)/crit(s)`` (``step_proposal``).

    ``"one-critical"`` (default): in a test with critical steps C, ONE step J in C is
    twisted, chosen with probability ``pi_j = crit(s_j) / sum_{l in C} crit(s_l)``; every
    other maneuver is naturalistic. q is the mixture over j of these one-step components,
    and the likelihood ratio is its balance-heuristic weight
    ``W = 1 / sum_{j in C} pi_j rho_j`` with ``rho_j = q~(u_j|s_j)/p(u_j|s_j)``
    (``W = 1`` without critical steps). Since ``rho_j >= eps``, ``q >= eps p`` for the
    whole test: ``W <= 1/eps`` (default ``eps = 0.5``, so ``W <= 2``).

    ``"all-critical"`` (the previous default, kept to reproduce earlier results): every
    critical maneuver from ``q~`` with ``eps = 0.1``, ``W = prod_{t in C} p/q~``. A benign
    maneuver at a critical step has weight 1/eps = 10, so ``E_q[W^2] = 1.41^40 ~ 1e6``:
    the variance is dominated by tests with ~12 critical steps (probability ~1e-7), the
    sample variance underestimates it and normal intervals under-cover.

    Why the change: importance sampling needs (exactly, ``importance_sampling_variance``)
    2.2e8 / 8.1e8 / 7.2e8 / 7.5e10 tests for relative half-width 0.3 at 90% under
    all-critical, and 726 / 3215 / 2176 / 20738 under one-critical with eps 0.5
    (surrogate / cautious / aggressive / distracted). The naturalistic distribution, the
    surrogate, the criticality threshold and the vehicles are unchanged.

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
    Built only from the critical variables (gap, maneuver and disturbance of the critical
    steps, and the index J of the twisted one). Two facts make the means known:
    ``E_q[W f(s, u_j) | s] = E_p[f(s, u_j) | s]`` for any q with ``W = p/q``; and gaps are
    never twisted, so the critical gaps are i.i.d. log-normal below the critical gap given
    their number ``n_critical``.

    ``controls="twist"`` (default for one-critical, ``TWIST_CONTROL_COLUMNS``): only the
    twisted-step columns ``cv_twist_*`` of the binned family below; bounded, unweighted,
    and mean 0 given the gaps and the twisted step. The same draws as ``binned`` (the
    family changes only the columns written), so a twist log is a binned log without
    ``cv_weight``, ``cv_surrogate`` and ``cv_gap_*``.

    Why twist is the default: with the other binned columns (``cv_weight`` and
    ``cv_surrogate``, which carry the weight W, and the ``cv_gap_*`` counts) the
    cross-fitted coefficients are unstable and inflate the variance instead of reducing it.
    Measured on the surrogate vehicle (90% intervals, 1000 logs of 4000 tests): sparse
    control variates on ALL the binned columns have 6.6 times the variance of importance
    sampling on the same logs and cover 0.809; on the ``cv_twist_*`` columns alone 1.4
    times, covering 0.867 (both with strata 0-3 and 4+ fitted separately; pooled until
    every fit has 10 crashes per control, the default since, the twist columns have 0.82
    times the variance of importance sampling and cover 0.890: tests/cav/test_coverage.py).
    On logs of 100,000 tests the twist columns reduce the variance about 2-fold
    (surrogate; benchmarks/cav_variance_reduction.py).
    ``varkit cav crash-rate --method scv`` uses every ``cv_*`` column of a log, so the
    default log holds only these.

    ``controls="binned"`` (``BINNED_CONTROL_COLUMNS``, kept to reproduce earlier results):
    the critical gap range is cut into ``GAP_BINS`` bins at the quartiles of the twisted
    step's gap (``gap_bin_edges``);
    ``cv_weight = W - 1``; ``cv_surrogate = sum_{j in C} (W P_SM(crash|s_j,u_j) - crit(s_j))``;
    ``cv_gap_b = #{j in C: s_j in b} - n_critical P(b | critical)``; and, for the twisted
    step (mean 0 given the gaps and J, unweighted and bounded):
    ``cv_twist_gap_b = 1{s_J in b} - sum_j pi_j 1{s_j in b}``,
    ``cv_twist_<maneuver>_b = 1{s_J in b} (1{u_J = m} - q~(m|s_J))`` and
    ``cv_twist_verdict_b = 1{s_J in b} (V_J - P_SM(crash|s_J,u_J))`` with
    ``V_J = 1{Phi(e_J) < P_SM(crash|s_J,u_J)}`` the surrogate's crash verdict under the
    same disturbance (common random numbers). Controls that are non-zero only in rare tests
    (W times a dangerous maneuver at an untwisted step) are left out: cross-fitted
    coefficients applied to their rare O(1) values blew the variance up 30-fold.

    ``controls="product"`` (both proposals; ``CONTROL_COLUMNS``): for each critical step j,
    ``cv_cut_in = sum_j (W 1{u_j = cut in} - p_cut_in)``, ``cv_brake`` likewise,
    ``cv_cut_in_gap``/``cv_brake_gap`` the same terms times ``s_j / 10``,
    ``cv_surrogate`` as above, and ``cv_weight`` = ``W - 1`` (one-critical) or
    ``sum_j (w_j - 1)`` with the per-step ratios (all-critical). ``controls="local"``
    (all-critical only) uses the step's own ratio ``w_j`` instead of ``W``.

Owen-Zhou mixture-component controls (all-critical only: ``controls="mixture"``)
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
    With ``G = prod_t (1 - c_t)`` (``c`` the step's crash probability given gap and
    maneuver, the disturbance integrated out), ``Var_q(Y W) = E_p[Y W] - mu^2`` and
    ``E_q[Var(Y W | gaps, maneuvers)] = E_p[W G] - E_p[W G^2]``: the least per-test
    variance that ANY control built from gaps and maneuvers can leave (the residual of the
    best one, ``W E[Y | s, u]``). ``control_variance_bound(vehicle, disturbances=True)``
    also lets the controls use the critical steps' disturbances: only crashes at
    non-critical steps remain, ``E_p[W G_C G_N] - E_p[W G_C G_N^2]``.
    All-critical: steps are independent under q, so these are powers of 1-D quadratures.
    One-critical: ``W`` is a ratio of sums over steps; ``1/a = int_0^inf exp(-t a) dt``
    turns it into an integral of a product over i.i.d. steps, a 1-D integral over t of
    1-D quadratures over the gap (``_one_critical_moments``). The dominant variance under
    one-critical comes from crashes the proposal does not target (at non-critical steps,
    or with the lane kept), which keep weight up to ``1/eps`` and probability ~1e-6.

Regimes (``regime=``, ``REGIMES``; ``varkit cav simulate --regime``)
    ``"default"``: the simulator above, draw for draw and value for value as before regimes
    existed (same seed, same log columns; its quadratures unchanged). Its vehicles' own
    disturbance (sd 1-1.5 m) makes a crash close to a coin flip once a critical maneuver
    happens, and crashes at non-critical steps carry 51% (surrogate) and 72% (aggressive)
    of the importance-sampling variance (``control_variance_bound(disturbances=True)`` over
    ``importance_sampling_variance``); no vehicle matches the logistic surrogate.

    ``"papers"`` (the regime the SCV papers describe): the vehicle under test is close to
    deterministic given the scenario and the surrogate is close to it. Every vehicle's
    disturbance sd is 0.1 m (``PAPERS_VEHICLES``); the surrogate is probit,
    ``P_SM = Phi((d_u - s) / 0.1)`` with ``d = (10, 6)``, so the ``surrogate`` vehicle IS
    the surrogate model; ``cautious`` (7, 4) and ``distracted`` (keep lane at 2.5 m) as in
    the default; ``aggressive`` misjudges hard braking by 2 m (8 m instead of 6; the
    default's 12 m lies outside any critical range of this surrogate). The threshold is
    ``gamma = 1e-6`` (critical when the surrogate gives a cut in at least a 0.1% crash
    chance: gaps below 10.31 m): at the default's 1.25e-4 (10.12 m) crashes just beyond the
    critical range carried 68% of the surrogate vehicle's importance-sampling variance, at
    1e-6 they carry 1.0% (0, 0 and 0.3% for the other vehicles; 0.1% at 1e-7). A step
    is critical with probability 0.0088: 0.35 critical steps in 40 on average (sparse),
    and ``E_q[W^2] = 1.30``.

    ``"nade"`` (the NADE proposal of Feng et al. 2021): every critical maneuver twisted
    (``proposal='all-critical'``) with defensive weight ``eps = 0.1``, on the default's
    vehicles and surrogate. The threshold is ``gamma = 5e-4`` (critical gap 10.40 m,
    P(critical) = 0.0093), the round value of the grid 1.25e-4, 2e-4, ..., 5e-4 whose
    exact ``E_q[W^2]`` (``weight_second_moment``) is below 100 at 40 steps: 1.03e6 at
    1.25e-4 (importance sampling would need ~2e8 tests and any ratio against it would be
    meaningless), 1.9e4 at 2e-4, 803 at 3e-4, 103 at 4e-4 and 24.6 at 5e-4. Chosen on the
    weights alone, not on any estimator's variance; with these vehicles importance
    sampling still needs more tests than the NDE for three of the four (crashes the
    surrogate does not target keep weights up to ``10^k``).

    Any parameter set explicitly overrides the regime's (e.g. ``regime='papers',
    proposal='all-critical', epsilon=0.1``: the NADE proposal on the papers' vehicles,
    ``E_q[W^2] = 21.1``). In
    every regime gaps are never twisted and steps are i.i.d. under p, so the exact crash
    rate, ``P(n_critical = k)`` and the exact variances keep the formulas above; outside
    the default, the quadratures split the gap range at the crash distances (the probit
    surrogate and the 0.1 m vehicles jump within centimetres).

Log columns (``simulate``; ``EXTRA_LOG_COLUMNS``, ``CRITICAL_TABLE_COLUMNS``)
    One row per test: ``crash``, ``weight``, ``n_critical`` and the ``cv_*`` controls as
    before, then two appended columns (the readers of ``varkit cav crash-rate`` ignore
    them and still read logs without them):

    ``crash_step``: the first step (1..T) at which the AV crashed; empty (NaN) when the test
    did not crash. ``p_k``: ``P(n_critical = k)`` for the row's own ``k``, Binomial(T,
    ``critical_probability``); the same under the naturalistic and the testing
    distribution, since gaps are never twisted.

    The critical variables, one row per critical step, come as a side table
    (``simulate_with_critical``, ``simulate_pieces_with_critical``; ``varkit cav simulate
    --critical-output FILE``), in test then step order: ``test`` (the row of the log, from
    0: the row id ``varkit.io`` gives a single file's rows), ``step`` (1..T), ``gap`` (m),
    ``maneuver`` (0 keep lane, 1 cut in, 2 hard brake), ``disturbance`` (the AV's ``e_t``,
    standard normal), ``twisted`` (1 when the maneuver was drawn from ``q~``: the step J
    of the one-critical proposal, every critical step of the all-critical one, none for
    NDE testing) and ``crash`` (1 when the AV crashed at that step). A test has
    ``n_critical`` rows. Long, because the number of critical steps varies from test to
    test (up to T); nothing is lost and the per-test log keeps one row per test.

Assumptions (simplifications of a real overtaking NDE): steps are independent (no state
dynamics), gaps are not twisted by q, at most one maneuver is twisted per test (default),
maneuvers are three discrete choices, and the crash rule is a threshold on the gap with
Gaussian noise. The family is built to know the answer exactly, not to reproduce the
papers' experiment, whose details we could not read.

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
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import integrate, optimize, special, stats

from varkit.cav._checks import is_integer
from varkit.errors import VarkitError, VarkitTypeError
from varkit.gpu.backend import available_memory

__all__ = [
    "BINNED_CONTROL_COLUMNS",
    "CONTROL_COLUMNS",
    "CONTROL_FAMILIES",
    "CRITICAL_TABLE_COLUMNS",
    "EXTRA_LOG_COLUMNS",
    "MIXTURE_CONTROL_COLUMNS",
    "PAPERS_VEHICLES",
    "PROPOSALS",
    "REGIMES",
    "TESTING",
    "TWIST_CONTROL_COLUMNS",
    "VEHICLES",
    "OvertakingScenario",
    "Regime",
    "Vehicle",
]

FloatArray = NDArray[np.float64]
_Pair = tuple[pd.DataFrame, pd.DataFrame]  # a log and its critical table
MANEUVERS = ("keep", "cut_in", "brake")
PROPOSALS = ("one-critical", "all-critical")
TESTING = ("is", "nde")  # draw from the testing distribution q, or from p
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
GAP_BINS = 4  # bins of the critical gap range, at quartiles of the twisted step's gap
BINNED_CONTROL_COLUMNS = (
    "cv_weight",
    "cv_surrogate",
    *(f"cv_gap_{b}" for b in range(1, GAP_BINS)),  # the last bin is implied (they sum to 0)
    *(f"cv_twist_gap_{b}" for b in range(1, GAP_BINS)),
    *(f"cv_twist_{m}_{b}" for m in MANEUVERS[1:] for b in range(1, GAP_BINS + 1)),
    *(f"cv_twist_verdict_{b}" for b in range(1, GAP_BINS + 1)),
)
# the twisted-step columns alone: bounded, unweighted (the one-critical default)
TWIST_CONTROL_COLUMNS = tuple(c for c in BINNED_CONTROL_COLUMNS if c.startswith("cv_twist_"))
# control families each proposal supports; the first is its default
CONTROL_SETS = {
    "one-critical": ("twist", "binned", "product"),
    "all-critical": ("product", "local", "mixture"),
}
CONTROL_FAMILIES = tuple(dict.fromkeys(f for fams in CONTROL_SETS.values() for f in fams))
# appended to every simulated log, after the controls (module docstring, "Log columns")
EXTRA_LOG_COLUMNS = ("crash_step", "p_k")
# the side table of critical steps: column -> dtype
CRITICAL_TABLE_COLUMNS: dict[str, type] = {
    "test": np.int64,
    "step": np.int64,
    "gap": np.float64,
    "maneuver": np.int64,
    "disturbance": np.float64,
    "twisted": np.int64,
    "crash": np.int64,
}
_QUAD_PANELS = 160  # composite Gauss-Legendre for the one-critical exact moments
_QUAD_NODES = 12


# working memory of the simulator per (test, step): ~40 float64 arrays of that shape
WORK_BYTES = 320
BATCH_CELLS = 2_000_000  # (test, step) cells per batch: ~640 MB of working arrays


def _bytes(n: float) -> str:
    """A byte count for people: 1.4 GB, 144 TB."""
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.3g} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1000
    return f"{n:.3g} PB"  # pragma: no cover


def _at_maneuver(table: FloatArray, u: NDArray[np.int64]) -> FloatArray:
    """``table[..., u]`` step by step: the entry of each step's drawn maneuver."""
    return np.take_along_axis(table, u[..., None], axis=-1)[..., 0]


@dataclass(frozen=True)
class _Draws:
    """What a batch drew, step by step (shape (tests, steps)): for the new log columns."""

    gap: FloatArray
    critical: NDArray[np.bool_]
    maneuver: NDArray[np.int64]
    noise: FloatArray
    hit: NDArray[np.bool_]  # the AV crashed at this step
    twisted: NDArray[np.bool_]  # the maneuver was drawn from the twisted q~


def _drive(
    gap: FloatArray, dist: FloatArray, v: Vehicle, rng: np.random.Generator
) -> tuple[NDArray[np.int64], FloatArray, NDArray[np.bool_]]:
    """Each step's maneuver drawn from ``dist`` (inverse CDF), its disturbance, and
    whether the AV crashed at that step."""
    u = (rng.random(gap.shape)[..., None] > np.cumsum(dist, axis=-1)[..., :2]).sum(axis=-1)
    noise = rng.standard_normal(gap.shape)
    hit = gap + v.noise_sd * noise < np.asarray(v.crash_distance)[u]
    return u, noise, hit


def _crash_step(hit: NDArray[np.bool_]) -> FloatArray:
    """The first step (1-based) at which each test crashed; NaN (empty in a CSV) if none."""
    first = np.argmax(hit, axis=1) + 1.0
    return np.where(hit.any(axis=1), first, np.nan)


def _critical_table(draws: _Draws, offset: int) -> pd.DataFrame:
    """One row per critical step of the batch (``CRITICAL_TABLE_COLUMNS``), tests numbered
    from ``offset``, in test then step order."""
    test, step = np.nonzero(draws.critical)
    return pd.DataFrame(
        {
            "test": (test + offset).astype(np.int64),
            "step": (step + 1).astype(np.int64),
            "gap": draws.gap[test, step],
            "maneuver": draws.maneuver[test, step].astype(np.int64),
            "disturbance": draws.noise[test, step],
            "twisted": draws.twisted[test, step].astype(np.int64),
            "crash": draws.hit[test, step].astype(np.int64),
        }
    )


def _test_frame(
    crash: NDArray[np.bool_], w: FloatArray, critical: NDArray[np.bool_]
) -> pd.DataFrame:
    """The log's leading columns: one row a test."""
    return pd.DataFrame(
        {
            "crash": crash.astype(np.int64),
            "weight": w,
            "n_critical": critical.sum(axis=1).astype(np.int64),
        }
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
# The papers-like regime: near-deterministic vehicles (disturbance sd 0.1 m) whose crash
# regions lie inside the surrogate's critical range (gaps below ~10.1 m); ``surrogate`` IS
# the surrogate model. Chosen before any estimator was run on them, not tuned to one.
PAPERS_VEHICLES: dict[str, Vehicle] = {
    "surrogate": Vehicle((-math.inf, 10.0, 6.0), 0.1),
    "cautious": Vehicle((-math.inf, 7.0, 4.0), 0.1),
    # misjudges hard braking by 2 m (8 m, still critical; the default's 12 m is not)
    "aggressive": Vehicle((-math.inf, 10.0, 8.0), 0.1),
    "distracted": Vehicle((2.5, 10.0, 6.0), 0.1),
}


@dataclass(frozen=True)
class Regime:
    """The settings a regime gives the parameters of :class:`OvertakingScenario` left None.

    ``surrogate_link`` is the form of ``P_SM(crash | s, u)``: ``'logistic'``
    (``expit((d_u - s) / scale)``) or ``'probit'`` (``Phi((d_u - s) / scale)``, the
    vehicles' own form, so a vehicle with crash distances ``d`` and sd ``scale`` IS the
    surrogate model).

    Examples
    --------
    >>> REGIMES["nade"].proposal, REGIMES["nade"].epsilon, REGIMES["nade"].gamma
    ('all-critical', 0.1, 0.0005)
    >>> REGIMES["papers"].surrogate_link, REGIMES["papers"].vehicles["surrogate"].noise_sd
    ('probit', 0.1)
    """

    vehicles: dict[str, Vehicle]
    surrogate_link: str
    surrogate_scale: float
    gamma: float
    proposal: str | None  # None: one-critical unless the controls need all-critical
    epsilon: float | None  # None: the proposal's default


REGIMES: dict[str, Regime] = {
    # today's simulator, bit for bit
    "default": Regime(VEHICLES, "logistic", 2.0, 1.25e-4, None, None),
    # near-deterministic vehicles, the surrogate vehicle = the surrogate model, sparse
    # critical steps (P(critical) = 0.0078 a step: 0.31 of 40 on average)
    "papers": Regime(PAPERS_VEHICLES, "probit", 0.1, 1e-6, None, None),
    # every critical step twisted (eps 0.1) on today's vehicles and surrogate, with the
    # round threshold 5e-4 that keeps E_q[W^2] moderate (24.6 at 40 steps; 1.03e6 at the
    # default's 1.25e-4, 803 at 3e-4, 103 at 4e-4)
    "nade": Regime(VEHICLES, "logistic", 2.0, 5e-4, "all-critical", 0.1),
}


def _check_count(value: Any, name: str) -> None:
    if not is_integer(value) or value < 1:
        raise VarkitError(f"`{name}` must be a positive integer, got {value!r}.")


def _check_vehicle(vehicle: str | Vehicle, vehicles: dict[str, Vehicle]) -> Vehicle:
    if isinstance(vehicle, Vehicle):
        return vehicle
    if vehicle not in vehicles:
        raise VarkitError(f"`vehicle` must be one of {', '.join(vehicles)}, got {vehicle!r}.")
    return vehicles[vehicle]


def _gauss_legendre(lo: float, hi: float, panels: int, nodes: int) -> tuple[FloatArray, FloatArray]:
    """Nodes and weights of composite Gauss-Legendre quadrature on [lo, hi]."""
    return _gauss_legendre_panels(np.linspace(lo, hi, panels + 1), nodes)


def _gauss_legendre_panels(edges: FloatArray, nodes: int) -> tuple[FloatArray, FloatArray]:
    """Nodes and weights of Gauss-Legendre quadrature on each panel between ``edges``."""
    x, w = np.polynomial.legendre.leggauss(nodes)
    half = np.diff(edges)[:, None] / 2.0
    mid = (edges[:-1] + edges[1:])[:, None] / 2.0
    return (mid + half * x).ravel(), (half * w).ravel()


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
    surrogate_scale : float or None
        Scale of the surrogate crash probability (logistic scale, or probit sd in the
        papers regime). ``None``: the regime's (2.0; papers 0.1).
    gamma : float or None
        Criticality threshold on the maneuver challenge. ``None``: the regime's
        (1.25e-4; nade 5e-4).
    epsilon : float or None
        Defensive weight of p in the twisted maneuver distribution of a critical step;
        for the one-critical proposal this makes ``q = eps p + (1 - eps) q_twist`` for the
        whole test, so ``W <= 1/eps``. ``None``: 0.5 for one-critical (the value with the
        least exact importance-sampling variance over the four vehicles, among
        0.1/0.2/0.3/0.5/0.7) and 0.1 for all-critical (the previous default).
        The nade regime sets 0.1.
    proposal : {'one-critical', 'all-critical'} or None
        Testing distribution: twist the maneuver of ONE critical step per test, chosen in
        proportion to its criticality (the default), or of every critical step (the
        previous proposal, kept so that its results stay reproducible). ``None`` picks
        'one-critical', or 'all-critical' when ``controls`` is a family only that proposal
        has ('local', 'mixture'); the nade regime sets 'all-critical'.
    controls : {'twist', 'binned', 'product', 'local', 'mixture'} or None
        Family of ``cv_*`` columns (module docstring). ``None``: 'twist' for the
        one-critical proposal, 'product' for the all-critical one.
    regime : {'default', 'papers', 'nade'}, default 'default'
        Which simulator (module docstring, "Regimes"; ``REGIMES``): the vehicles, the
        surrogate model and the defaults of the parameters left None. 'default' is the
        simulator as before regimes existed, draw for draw.

    Examples
    --------
    A log of 4000 importance-sampled tests, whose interval holds the exact crash rate:

    >>> from varkit.cav import OvertakingScenario, importance_sampling_estimate
    >>> scenario = OvertakingScenario()
    >>> scenario.testing_proposal, scenario.control_family, scenario.eps
    ('one-critical', 'twist', 0.5)
    >>> log = scenario.simulate(4000, "surrogate", random_state=1)
    >>> r = importance_sampling_estimate(log["crash"], log["weight"])
    >>> bool(r.ci_low <= scenario.crash_rate("surrogate") <= r.ci_high)
    True
    >>> float(log["weight"].max()) <= 1 / scenario.eps
    True
    """

    n_steps: int = 40
    gap_median: float = 30.0
    gap_sigma: float = 0.45
    p_cut_in: float = 1e-3
    p_brake: float = 5e-4
    surrogate_distance: tuple[float, float] = (10.0, 6.0)
    surrogate_scale: float | None = None
    gamma: float | None = None
    epsilon: float | None = None
    proposal: str | None = None
    controls: str | None = None
    regime: str = "default"
    _cache: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    # -- configuration -----------------------------------------------------------------
    @property
    def settings(self) -> Regime:
        """The :class:`Regime` of ``regime`` (checked)."""
        if not isinstance(self.regime, str) or self.regime not in REGIMES:
            raise VarkitError(f"`regime` must be one of {', '.join(REGIMES)}, got {self.regime!r}.")
        return REGIMES[self.regime]

    @property
    def vehicles(self) -> dict[str, Vehicle]:
        """The vehicles under test of the regime, by name (the names of ``VEHICLES``)."""
        return self.settings.vehicles

    def vehicle(self, vehicle: str | Vehicle) -> Vehicle:
        """The regime's vehicle of that name (a :class:`Vehicle` is returned as it is).

        Examples
        --------
        >>> OvertakingScenario(regime="papers").vehicle("surrogate").noise_sd
        0.1
        """
        return _check_vehicle(vehicle, self.vehicles)

    @property
    def threshold(self) -> float:
        """The criticality threshold in use (``gamma`` or the regime's)."""
        return float(self.settings.gamma if self.gamma is None else self.gamma)

    @property
    def sm_scale(self) -> float:
        """The surrogate's scale in use (``surrogate_scale`` or the regime's)."""
        scale = self.surrogate_scale
        return float(self.settings.surrogate_scale if scale is None else scale)

    @property
    def testing_proposal(self) -> str:
        """The proposal in use ('one-critical' or 'all-critical')."""
        proposal = self.settings.proposal if self.proposal is None else self.proposal
        if proposal is None:
            return "all-critical" if self.controls in ("local", "mixture") else "one-critical"
        if proposal not in PROPOSALS:
            raise VarkitError(
                f"`proposal` must be one of {', '.join(PROPOSALS)}, got {proposal!r}."
            )
        return proposal

    @property
    def eps(self) -> float:
        """The defensive weight in use (``epsilon``, the regime's or the proposal's default)."""
        if self.epsilon is not None:
            return float(self.epsilon)
        if self.settings.epsilon is not None:
            return float(self.settings.epsilon)
        return 0.5 if self.testing_proposal == "one-critical" else 0.1

    @property
    def control_family(self) -> str:
        """The ``cv_*`` family in use (checked against the proposal)."""
        allowed = CONTROL_SETS[self.testing_proposal]
        if self.controls is None:
            return allowed[0]
        if self.controls not in allowed:
            raise VarkitError(
                f"`controls` must be one of {', '.join(allowed)} for the "
                f"{self.testing_proposal} proposal, got {self.controls!r}."
            )
        return self.controls

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
        link = special.expit if self.settings.surrogate_link == "logistic" else special.ndtr
        for m, d in zip((1, 2), self.surrogate_distance, strict=True):
            out[..., m] = link((d - gap) / self.sm_scale)
        return out

    def criticality(self, gap: FloatArray) -> FloatArray:
        """Maneuver challenge crit(s) = sum_u p(u|s) P_SM(crash|s,u)."""
        return np.sum(self.maneuver_probabilities(gap) * self.surrogate_crash(gap), axis=-1)

    def critical_gap(self) -> float:
        """Steps with a gap below this are critical (crit(s) decreases in s)."""
        if "critical_gap" not in self._cache:
            f = lambda s: float(self.criticality(np.array(s))) - self.threshold  # noqa: E731
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

    def step_proposal(self, gap: FloatArray) -> FloatArray:
        """Twisted maneuver distribution of a critical step: eps p + (1 - eps) p P_SM / crit.

        The defensive mixture of Feng et al. (2021, Methods, "NADE"); ``q~`` in the module
        docstring. Shape (..., 3).
        """
        p = self.maneuver_probabilities(gap)
        tilted = p * self.surrogate_crash(gap)
        total = tilted.sum(axis=-1, keepdims=True)
        # p where the surrogate sees no danger at all (a probit surrogate underflows to 0
        # far from its crash distances; such steps are never critical)
        tilted = np.divide(tilted, total, out=p.copy(), where=total > 0)
        return self.eps * p + (1.0 - self.eps) * tilted

    def gap_bin_edges(self) -> FloatArray:
        """Edges (0, e_1, ..., critical gap) of the ``GAP_BINS`` bins of the binned controls.

        Quartiles of the gap of the twisted step, whose density is proportional to
        ``crit(s) f(s)`` on the critical range (f the naturalistic gap density): each bin
        receives the twisted step equally often. Outside the default regime, from the
        cumulative sums of that density on the quadrature nodes of the exact moments (the
        controls have mean 0 whatever the edges; quantiles to the nodes' spacing suffice).
        """
        if "gap_bins" not in self._cache and self.regime != "default":
            mu, sigma = math.log(self.gap_median), self.gap_sigma
            xc = math.log(self.critical_gap())
            x, wx = self._gap_nodes(None, mu - 12 * sigma, xc, _QUAD_PANELS, _QUAD_NODES)
            cdf = np.cumsum(wx * self.criticality(np.exp(x)) * stats.norm.pdf(x, mu, sigma))
            levels = np.arange(1, GAP_BINS) / GAP_BINS
            quantiles = np.exp(np.interp(levels, cdf / cdf[-1], x))
            self._cache["gap_bins"] = np.array([0.0, *quantiles, self.critical_gap()])
        if "gap_bins" not in self._cache:
            mu, sigma = math.log(self.gap_median), self.gap_sigma
            xc = math.log(self.critical_gap())

            def density(y: float) -> float:
                return float(self.criticality(np.array(math.exp(y)))) * float(
                    stats.norm.pdf(y, mu, sigma)
                )

            def mass(x: float) -> float:
                return float(
                    integrate.quad(density, mu - 12 * sigma, x, epsrel=1e-10, limit=200)[0]
                )

            total = mass(xc)
            inner = [
                math.exp(
                    optimize.brentq(
                        lambda x, b=b: mass(x) / total - b / GAP_BINS,
                        mu - 12 * sigma,
                        xc,
                        xtol=1e-10,
                    )
                )
                for b in range(1, GAP_BINS)
            ]
            self._cache["gap_bins"] = np.array([0.0, *inner, self.critical_gap()])
        return np.asarray(self._cache["gap_bins"], dtype=np.float64)

    def gap_bin_probabilities(self) -> FloatArray:
        """P(gap in bin b | step critical), b = 1..GAP_BINS (log-normal CDF, closed form)."""
        edges = self.gap_bin_edges()
        with np.errstate(divide="ignore"):
            z = (np.log(edges) - math.log(self.gap_median)) / self.gap_sigma
        cdf = stats.norm.cdf(z)
        return np.asarray(np.diff(cdf) / cdf[-1], dtype=np.float64)

    # -- the exact answer ----------------------------------------------------------------
    def step_crash_rate(self, vehicle: str | Vehicle) -> float:
        """r_v = P_p(crash at one step), by quadrature over log-gap."""
        v = self.vehicle(vehicle)
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

        edges = self._breaks(
            v, [mu - 12 * sigma, math.log(self.critical_gap()), mu, mu + 12 * sigma]
        )
        total = 0.0
        for lo, hi in zip(edges[:-1], edges[1:], strict=True):
            total += integrate.quad(integrand, lo, hi, epsabs=0.0, epsrel=1e-11, limit=200)[0]
        return total

    def crash_rate(self, vehicle: str | Vehicle) -> float:
        """Exact crash rate per test, ``1 - (1 - r_v)^T``."""
        return float(-math.expm1(self.n_steps * math.log1p(-self.step_crash_rate(vehicle))))

    def _features(self, v: Vehicle | None) -> list[tuple[float, float]]:
        """Log-gaps where the vehicle's (if any) or a probit surrogate's crash probability
        jumps, and the log-width of each jump (none in the default regime: its quadrature
        stays as it was, so its exact values do too)."""
        if self.regime == "default":
            return []
        distances = () if v is None else v.crash_distance
        out = [(d, v.noise_sd) for d in distances if v is not None and math.isfinite(d) and d > 0]
        if self.settings.surrogate_link == "probit":
            out += [(d, self.sm_scale) for d in self.surrogate_distance if d > 0]
        return [(math.log(d), sd / d) for d, sd in out]

    def _breaks(self, v: Vehicle, edges: list[float]) -> list[float]:
        """``edges`` (sorted, the first and last the range) with the jumps inside added."""
        lo, hi = min(edges), max(edges)
        inner = [c for c, _ in self._features(v) if lo < c < hi]
        return sorted({*edges, *inner})

    def _gap_nodes(
        self, v: Vehicle | None, lo: float, hi: float, panels: int, nodes: int
    ) -> tuple[FloatArray, FloatArray]:
        """Composite Gauss-Legendre nodes over log-gap on [lo, hi], with panels 1/4 of a
        jump's width over +-6 widths of every jump (``_features``)."""
        edges = np.linspace(lo, hi, panels + 1)
        fine = [c + width * np.arange(-24, 25) / 4 for c, width in self._features(v)]
        if fine:
            extra = np.concatenate(fine)
            edges = np.unique(np.concatenate([edges, extra[(extra > lo) & (extra < hi)]]))
        return _gauss_legendre_panels(edges, nodes)

    def _step_crash(self, gap: FloatArray, v: Vehicle) -> FloatArray:
        """c(s, u) = Phi((D_v(u) - s)/sigma_v): the step's crash probability, shape (..., 3)."""
        distance = np.asarray(v.crash_distance)
        with np.errstate(invalid="ignore"):
            c = stats.norm.cdf((distance - np.asarray(gap)[..., None]) / v.noise_sd)
        return np.asarray(np.where(np.isfinite(distance), c, 0.0), dtype=np.float64)

    def _non_critical_moments(self, v: Vehicle) -> FloatArray:
        """One step, off the critical set: ``E_p[g 1{s >= s_c}]`` for the four ``g``.

        ``g`` = 1, ``E_p[1-c | s]``, ``E_p[(1-c)^2 | s]`` and ``E_p[1-c | s]^2`` (the
        maneuver of a non-critical step is never twisted, so it is averaged out).
        """
        mu, sigma = math.log(self.gap_median), self.gap_sigma
        xc = math.log(self.critical_gap())
        probs = self.maneuver_probabilities(np.zeros(()))

        def part(x: float, which: int) -> float:
            c = self._step_crash(np.array(math.exp(x)), v)
            g = (
                1.0,
                float(np.sum(probs * (1 - c))),
                float(np.sum(probs * (1 - c) ** 2)),
                float(np.sum(probs * (1 - c))) ** 2,
            )[which]
            return g * float(stats.norm.pdf(x, mu, sigma))

        edges = self._breaks(v, [xc, mu + 12 * sigma])
        return np.array(
            [
                sum(
                    integrate.quad(part, lo, hi, args=(k,), epsabs=0, epsrel=1e-12)[0]
                    for lo, hi in zip(edges[:-1], edges[1:], strict=True)
                )
                for k in range(4)
            ]
        )

    def _weight_moments(self, vehicle: str | Vehicle) -> tuple[float, float, float, float]:
        """Per-step ``E_q[w^2]``, ``E_q[w^2 (1-c)]``, ``E_q[w^2 (1-c)^2]``, ``E_p[1-c]``.

        All-critical proposal only (a product over steps). ``c(s, u)`` is the step's crash
        probability given gap and maneuver; ``w = p/q`` (1 off the critical set). Adaptive
        quadrature over log-gap, split at the critical gap where q changes.
        """
        v = self.vehicle(vehicle)
        mu, sigma = math.log(self.gap_median), self.gap_sigma
        gap_c = self.critical_gap()

        def parts(x: float) -> FloatArray:
            gap = np.array(math.exp(x))
            p = self.maneuver_probabilities(gap)
            q = self.step_proposal(gap) if gap < gap_c else p
            c = self._step_crash(gap, v)
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

        edges = self._breaks(v, [mu - 12 * sigma, math.log(gap_c), mu + 12 * sigma])
        out = np.zeros(4)
        for i in range(4):
            for lo, hi in zip(edges[:-1], edges[1:], strict=True):
                f = lambda x, i=i: float(parts(x)[i])  # noqa: E731
                out[i] += integrate.quad(f, lo, hi, epsabs=0.0, epsrel=1e-11, limit=200)[0]
        return float(out[0]), float(out[1]), float(out[2]), float(out[3])

    def _one_critical_moments(
        self, vehicle: str | Vehicle, panels: int = _QUAD_PANELS, nodes: int = _QUAD_NODES
    ) -> FloatArray:
        """``E_p[W G^k]`` for k = 0, 1, 2 under the one-critical proposal, and ``E_p[G]``.

        ``G = prod_t (1 - c_t)`` is the probability of no crash given gaps and maneuvers;
        ``W = S / sum_j kappa_j rho_j`` with ``kappa_j = crit(s_j) 1{j critical}``,
        ``S = sum_j kappa_j`` and ``rho_j = q~_j(u_j)/p(u_j)``. The identity
        ``1/a = int_0^inf exp(-t a) dt`` turns ``W`` into an integral of a product over
        steps, and the steps are i.i.d. under p, so
        ``E_p[W prod_t g_t] = D^T + T int_0^inf A(t) B(t)^(T-1) dt`` with the one-step
        ``B(t) = E_p[g exp(-t kappa rho)]``, ``A(t) = E_p[kappa g exp(-t kappa rho)]`` and
        ``D = E_p[g 1{not critical}]`` (tests without a critical step have ``W = 1``).
        ``B`` and ``A`` are Gauss-Legendre quadratures over log-gap on the critical range,
        the t-integral one over log t.
        """
        v = self.vehicle(vehicle)
        key = ("one-critical", v, panels, nodes)
        if key in self._cache:
            return np.asarray(self._cache[key])
        mu, sigma = math.log(self.gap_median), self.gap_sigma
        xc = math.log(self.critical_gap())
        x, wx = self._gap_nodes(v, mu - 12 * sigma, xc, panels, nodes)
        gap = np.exp(x)
        dens = wx * stats.norm.pdf(x, mu, sigma)  # quadrature weight of each gap node
        p = self.maneuver_probabilities(gap)
        kappa = self.criticality(gap)
        rate = kappa[:, None] * self.step_proposal(gap) / p  # kappa rho, shape (gaps, 3)
        c = self._step_crash(gap, v)
        off = self._non_critical_moments(v)
        t_log, wt = _gauss_legendre(
            math.log(1e-6 / rate.max()), math.log(60.0 / rate.min()), 4 * panels, nodes
        )
        t = np.exp(t_log)
        out = np.empty(5)
        # (power of 1 - c on the critical steps, which g off the critical set)
        for i, (k, off_k) in enumerate(((0, 0), (1, 1), (2, 2), (1, 3))):
            g = dens[:, None] * p * (1 - c) ** k  # (gaps, 3)
            a = np.zeros(t.size)
            b = np.zeros(t.size)
            for chunk in np.array_split(np.arange(t.size), max(1, t.size // 256)):
                e = np.exp(-t[chunk, None, None] * rate[None])  # (chunk, gaps, 3)
                b[chunk] = np.einsum("cgm,gm->c", e, g)
                a[chunk] = np.einsum("cgm,gm->c", e, g * kappa[:, None])
            b += off[off_k]
            integral = float(np.sum(wt * t * a * b ** (self.n_steps - 1)))
            out[i] = off[off_k] ** self.n_steps + self.n_steps * integral
        no_crash = float(np.sum(dens[:, None] * p * (1 - c))) + off[1]
        out[4] = no_crash**self.n_steps
        self._cache[key] = out
        return out

    def importance_sampling_variance(self, vehicle: str | Vehicle) -> float:
        """Exact per-test variance of ``Y W`` under the testing distribution q.

        ``Var_q(Y W) = E_p[Y W] - mu^2`` (``Y^2 = Y``). All-critical proposal:
        ``a^T - b^T - mu^2`` from per-step moments; one-critical:
        ``E_p[W] - E_p[W G] - mu^2`` (``_one_critical_moments``). Multiply
        ``(z / rhw)^2 / mu^2`` by it for the tests importance sampling really needs.
        """
        if self.testing_proposal == "one-critical":
            m = self._one_critical_moments(vehicle)
            mu = 1.0 - m[4]
            return float(m[0] - m[1] - mu**2)
        a, b, _, e = self._weight_moments(vehicle)
        t = self.n_steps
        mu = -math.expm1(t * math.log(e))
        return float(a**t - b**t - mu**2)

    def control_variance_bound(
        self, vehicle: str | Vehicle, *, disturbances: bool = False
    ) -> float:
        """Least per-test variance any control built from the critical variables can leave.

        ``disturbances=False``: controls from gaps and maneuvers,
        ``E_q[Var(Y W | s, u)] = E_p[W G] - E_p[W G^2]`` (module docstring), the residual
        of the best such control ``W E[Y | s, u]`` (the vehicle's own crash model). With
        ``disturbances=True`` (one-critical only) the controls may also use the critical
        steps' disturbances; the residual is then the variance of crashes at non-critical
        steps, ``E_p[W G_C G_N] - E_p[W G_C G_N^2]``. ``importance_sampling_variance``
        over the bound bounds the variance reduction of every regression on such
        controls, stratified or not. The twisted step's index adds nothing: ``Y`` depends
        on it only through the maneuvers.
        """
        if self.testing_proposal == "one-critical":
            m = self._one_critical_moments(vehicle)
            return float(m[1] - (m[3] if disturbances else m[2]))
        if disturbances:
            raise VarkitError("`disturbances=True` needs the one-critical proposal.")
        _, b, b2, _ = self._weight_moments(vehicle)
        return float(b**self.n_steps - b2**self.n_steps)

    def weight_second_moment(self) -> float:
        """Exact ``E_q[W^2] = E_p[W]`` (1 for a perfect proposal; large = weight degeneracy)."""
        if self.testing_proposal == "one-critical":
            return float(self._one_critical_moments("surrogate")[0])
        return float(self._weight_moments("surrogate")[0] ** self.n_steps)

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
            The AV under test (a key of ``VEHICLES``; the regime's vehicle of that name).
        testing : {'is', 'nde'}, default 'is'
            Draw maneuvers from the testing distribution q (importance sampling) or from p.
        random_state : None, int or numpy Generator
        batch : int, default 50000
            Tests simulated at once, at most ``BATCH_CELLS // n_steps`` (memory is
            O(batch * n_steps)). A log that would not fit in the memory available is
            refused with the memory it needs (one sentence).

        Returns
        -------
        pandas.DataFrame
            ``crash`` (0/1), ``weight`` (p/q), ``n_critical``, the ``cv_*`` controls, then
            ``crash_step`` and ``p_k`` (``EXTRA_LOG_COLUMNS``, module docstring "Log
            columns").
        """
        options = {"testing": testing, "random_state": random_state, "batch": batch}
        return self._simulate(n_tests, vehicle, table=False, **options)[0]

    def simulate_with_critical(
        self, n_tests: int, vehicle: str | Vehicle = "surrogate", **options: Any
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The log of :meth:`simulate` and the critical variables of its tests.

        Same arguments (``options``: ``testing``, ``random_state``, ``batch``) and the same
        draws as :meth:`simulate` (the log is the one it returns for the same
        ``random_state``). The second frame has one row per critical step
        (``CRITICAL_TABLE_COLUMNS``, module docstring "Log columns"), its ``test`` the row
        of the log (from 0); ``table=False`` leaves it empty.

        Examples
        --------
        >>> scenario = OvertakingScenario(n_steps=10)
        >>> log, crit = scenario.simulate_with_critical(200, random_state=2)
        >>> log.equals(scenario.simulate(200, random_state=2))
        True
        >>> bool((crit.groupby("test").size() == log["n_critical"][log["n_critical"] > 0]).all())
        True
        """
        return self._simulate(n_tests, vehicle, **{"table": True, **options})

    def _simulate(
        self,
        n_tests: int,
        vehicle: str | Vehicle,
        *,
        table: bool,
        testing: str = "is",
        random_state: Any = None,
        batch: int = 50_000,
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        _check_count(n_tests, "n_tests")
        _check_count(batch, "batch")
        family = self.control_family  # raises on an unknown proposal or control family
        if testing not in TESTING:
            raise VarkitError(f"`testing` must be 'is' or 'nde', got {testing!r}.")
        v = self.vehicle(vehicle)
        batch = self._fit_memory(int(n_tests), int(batch), family, table=table)
        rng = (
            random_state
            if isinstance(random_state, np.random.Generator)
            else np.random.default_rng(random_state)
        )
        p_k = self.n_critical_distribution()
        parts, tables = [], []
        done = 0
        while done < n_tests:
            size = min(batch, n_tests - done)
            run = (
                self._simulate_one_critical
                if self.testing_proposal == "one-critical"
                else self._simulate_batch
            )
            frame, draws = run(size, v, testing == "is", family, rng)
            frame["crash_step"] = _crash_step(draws.hit)
            frame["p_k"] = p_k[frame["n_critical"].to_numpy()]
            parts.append(frame)
            if table:
                tables.append(_critical_table(draws, done))
            done += size
        critical = (
            pd.concat(tables, ignore_index=True)
            if tables
            else pd.DataFrame({c: np.zeros(0, dtype=t) for c, t in CRITICAL_TABLE_COLUMNS.items()})
        )
        return pd.concat(parts, ignore_index=True), critical

    @property
    def piece_tests(self) -> int:
        """Tests per piece of :meth:`simulate_pieces`: ten of the simulator's batches."""
        return 10 * max(1, min(50_000, BATCH_CELLS // self.n_steps))

    def simulate_pieces(
        self,
        n_tests: int,
        vehicle: str | Vehicle = "surrogate",
        *,
        testing: str = "is",
        random_state: Any = None,
    ) -> Iterator[pd.DataFrame]:
        """The log of :meth:`simulate` in pieces of at most :attr:`piece_tests` tests.

        A piece is a whole number of the simulator's batches, so the pieces draw exactly
        what one call for every test would: the same log for a seed, in memory of one
        piece whatever ``n_tests`` (``varkit cav simulate`` writes them one by one).

        Examples
        --------
        >>> import pandas as pd
        >>> scenario = OvertakingScenario(n_steps=10)
        >>> pieces = list(scenario.simulate_pieces(50, random_state=3))
        >>> whole = scenario.simulate(50, random_state=3)
        >>> len(pieces), pd.concat(pieces, ignore_index=True).equals(whole)
        (1, True)
        """
        options = {"testing": testing, "random_state": random_state}
        for log, _ in self._pieces(n_tests, vehicle, False, **options):
            yield log

    def simulate_pieces_with_critical(
        self, n_tests: int, vehicle: str | Vehicle = "surrogate", **options: Any
    ) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
        """:meth:`simulate_with_critical` in the pieces of :meth:`simulate_pieces`.

        ``options``: ``testing`` and ``random_state``, as for :meth:`simulate_pieces`.
        Each piece's critical table numbers its tests by their row in the whole log.

        Examples
        --------
        >>> scenario = OvertakingScenario(n_steps=10)
        >>> [(len(log), bool(crit["test"].max() < 50)) for log, crit in
        ...  scenario.simulate_pieces_with_critical(50, random_state=3)]
        [(50, True)]
        """
        yield from self._pieces(n_tests, vehicle, True, **options)

    def _pieces(self, n_tests: int, vehicle: Any, table: bool, **options: Any) -> Iterator[_Pair]:
        _check_count(n_tests, "n_tests")
        testing = options.pop("testing", "is")
        random_state = options.pop("random_state", None)
        if options:
            raise VarkitTypeError(f"unexpected keyword arguments: {', '.join(options)}.")
        rng = (
            random_state
            if isinstance(random_state, np.random.Generator)
            else np.random.default_rng(random_state)
        )
        done = 0
        while done < n_tests:
            size = min(self.piece_tests, n_tests - done)
            log, crit = self._simulate(
                size, vehicle, table=table, testing=testing, random_state=rng
            )
            crit["test"] += done
            yield log, crit
            done += size

    def log_columns(self) -> int:
        """Columns of a simulated log: crash, weight, n_critical, the controls, crash_step
        and p_k."""
        family = self.control_family
        return (
            3
            + len(EXTRA_LOG_COLUMNS)
            + len(
                {
                    "twist": TWIST_CONTROL_COLUMNS,
                    "binned": BINNED_CONTROL_COLUMNS,
                    "product": CONTROL_COLUMNS,
                    "local": CONTROL_COLUMNS,
                    "mixture": MIXTURE_CONTROL_COLUMNS,
                }[family]
            )
        )

    def _fit_memory(self, n_tests: int, batch: int, family: str, *, table: bool = False) -> int:
        """The batch size to use, after checking that the log fits in memory.

        The log takes 8 bytes per value and is built from its batches (twice its size at
        the end); a batch's working arrays take about ``WORK_BYTES`` per (test, step), and
        a batch holds at most ``BATCH_CELLS`` of them. Refuses, in one sentence with the
        memory needed, what cannot fit instead of failing with a MemoryError partway.
        """
        available = available_memory()
        per_test = 8 * self.log_columns()
        if table:  # the critical table: its columns for each critical step, on average
            per_test += (
                int(8 * len(CRITICAL_TABLE_COLUMNS) * self.n_steps * self.critical_probability())
                + 1
            )
        log_bytes = 2 * n_tests * per_test
        per_batch_test = WORK_BYTES * self.n_steps
        # Capped by the number of (test, step) cells, not by the memory of this machine,
        # so that a seed gives the same log everywhere (40 steps: the default 50000 tests).
        batch = max(1, min(batch, n_tests, BATCH_CELLS // self.n_steps))
        need = log_bytes + batch * per_batch_test
        if batch * per_batch_test > available:
            raise VarkitError(
                f"simulating a test of {self.n_steps:,} steps needs about "
                f"{_bytes(per_batch_test)} of memory, more than the {_bytes(available)} "
                "available; use fewer steps."
            )
        if need > available:
            raise VarkitError(
                f"simulating {n_tests:,} tests needs about {_bytes(need)} of memory "
                f"({_bytes(2 * per_test)} per test for the log), more than the "
                f"{_bytes(available)} available; simulate fewer tests (`varkit cav simulate "
                "-o FILE` writes a log in pieces)."
            )
        return int(batch)

    def _draw_gaps(
        self, n: int, rng: np.random.Generator
    ) -> tuple[FloatArray, NDArray[np.bool_], FloatArray]:
        """The gaps of ``n`` tests, which steps are critical, and p of each step's maneuver."""
        shape = (n, self.n_steps)
        gap = np.exp(math.log(self.gap_median) + self.gap_sigma * rng.standard_normal(shape))
        return gap, gap < self.critical_gap(), self.maneuver_probabilities(gap)

    def _maneuver_controls(
        self,
        gap: FloatArray,
        critical: NDArray[np.bool_],
        u: NDArray[np.int64],
        factor: FloatArray,
        p: FloatArray,
    ) -> dict[str, FloatArray]:
        """Maneuver and surrogate controls of the critical steps, each step's term weighted
        by ``factor`` (the test's W, or the step's own p/q).

        Mean 0 under any q with ``W = p/q``: ``E_q[W f(s, u_j) | s] = E_p[f(s, u_j) | s]``
        for every critical step j.
        """
        sm = self.surrogate_crash(gap)
        crit = np.sum(p * sm, axis=-1)
        surrogate = np.where(critical, factor * _at_maneuver(sm, u) - crit, 0.0)
        cols: dict[str, FloatArray] = {"cv_surrogate": surrogate.sum(axis=1)}
        scaled_gap = gap / 10.0
        for m, name in ((1, "cut_in"), (2, "brake")):
            term = np.where(critical, factor * (u == m) - p[..., m], 0.0)
            cols[f"cv_{name}"] = term.sum(axis=1)
            cols[f"cv_{name}_gap"] = (term * scaled_gap).sum(axis=1)
        return cols

    def _simulate_one_critical(
        self, n: int, v: Vehicle, twist: bool, family: str, rng: np.random.Generator
    ) -> tuple[pd.DataFrame, _Draws]:
        gap, critical, p = self._draw_gaps(n, rng)
        q_step = self.step_proposal(gap)
        kappa = np.where(critical, self.criticality(gap), 0.0)
        total = kappa.sum(axis=1)
        # the twisted step J: chosen with probability kappa_j / S among the critical steps
        share = np.cumsum(kappa, axis=1) / np.where(total > 0, total, 1.0)[:, None]
        chosen = np.minimum((rng.random(n)[:, None] > share).sum(axis=1), self.n_steps - 1)
        has_twist = (total > 0) & twist
        rows = np.flatnonzero(has_twist)
        dist = p.copy()
        dist[rows, chosen[rows]] = q_step[rows, chosen[rows]]
        u, noise, hit = _drive(gap, dist, v, rng)
        crash = np.any(hit, axis=1)
        twisted = np.zeros(gap.shape, dtype=bool)
        twisted[rows, chosen[rows]] = True
        draws = _Draws(gap, critical, u, noise, hit, twisted)
        rho = _at_maneuver(q_step, u) / _at_maneuver(p, u)
        mix = np.sum(kappa * rho, axis=1)
        w = np.ones(n)
        if twist:
            w = np.where(total > 0, total / np.where(total > 0, mix, 1.0), 1.0)
        frame = _test_frame(crash, w, critical)
        names = {
            "twist": TWIST_CONTROL_COLUMNS,
            "binned": BINNED_CONTROL_COLUMNS,
            "product": CONTROL_COLUMNS,
        }[family]
        cols: dict[str, FloatArray] = {}
        if family != "twist":
            cols["cv_weight"] = w - 1.0
            cols.update(self._maneuver_controls(gap, critical, u, w[:, None], p))
            cols.update(self._gap_bin_controls(gap, critical))
        if family in ("twist", "binned"):
            cols.update(self._twisted_controls(gap, u, noise, kappa, chosen, has_twist))
        for name in names:
            frame[name] = cols[name]
        return frame, draws

    def _gap_bin_controls(
        self, gap: FloatArray, critical: NDArray[np.bool_]
    ) -> dict[str, FloatArray]:
        """The critical steps' gap bins against their expected counts, mean 0 because the
        critical gaps are i.i.d. given their number (gaps are never twisted)."""
        cols: dict[str, FloatArray] = {}
        edges, probs = self.gap_bin_edges(), self.gap_bin_probabilities()
        k = critical.sum(axis=1)
        for b in range(GAP_BINS - 1):
            in_bin = critical & (gap >= edges[b]) & (gap < edges[b + 1])
            cols[f"cv_gap_{b + 1}"] = in_bin.sum(axis=1) - k * probs[b]
        return cols

    def _twisted_controls(
        self,
        gap: FloatArray,
        u: NDArray[np.int64],
        noise: FloatArray,
        kappa: FloatArray,
        chosen: NDArray[np.int64],
        has_twist: NDArray[np.bool_],
    ) -> dict[str, FloatArray]:
        """Controls of the twisted step J, mean 0 given the gaps and J (module docstring).

        Unweighted and bounded, and non-zero in most tests with a critical step: the bin of
        ``s_J`` against its expectation ``sum_j pi_j 1{s_j in b}``, the maneuver at J
        against ``q~_J``, and the surrogate's crash verdict at J, taken with the same
        disturbance ``e_J`` (common random numbers), against ``P_SM(u_J | s_J)``.
        """
        n = gap.shape[0]
        rows = np.arange(n)
        edges = self.gap_bin_edges()
        bins = np.clip(np.searchsorted(edges, gap, side="right") - 1, 0, GAP_BINS - 1)
        pi = kappa / np.where(has_twist, kappa.sum(axis=1), 1.0)[:, None]
        gap_j, u_j, bin_j = gap[rows, chosen], u[rows, chosen], bins[rows, chosen]
        q_j = self.step_proposal(gap_j)
        sm_j = self.surrogate_crash(gap_j)[rows, u_j]
        verdict = stats.norm.cdf(noise[rows, chosen]) < sm_j
        cols: dict[str, FloatArray] = {}
        for b in range(GAP_BINS):
            at_b = has_twist & (bin_j == b)
            if b < GAP_BINS - 1:
                expected = np.sum(pi * (bins == b), axis=1)
                cols[f"cv_twist_gap_{b + 1}"] = np.where(has_twist, at_b - expected, 0.0)
            for m, name in ((1, "cut_in"), (2, "brake")):
                cols[f"cv_twist_{name}_{b + 1}"] = np.where(at_b, (u_j == m) - q_j[:, m], 0.0)
            cols[f"cv_twist_verdict_{b + 1}"] = np.where(at_b, verdict - sm_j, 0.0)
        return cols

    def _simulate_batch(
        self, n: int, v: Vehicle, twist: bool, family: str, rng: np.random.Generator
    ) -> tuple[pd.DataFrame, _Draws]:
        """All-critical proposal (the previous default): every critical step twisted."""
        gap, critical, p = self._draw_gaps(n, rng)
        q = np.where(critical[..., None] & twist, self.step_proposal(gap), p)
        u, noise, hit = _drive(gap, q, v, rng)
        crash = np.any(hit, axis=1)
        draws = _Draws(gap, critical, u, noise, hit, critical & twist)
        # p/q of each step; 1 off the critical set
        step_w = np.where(critical, _at_maneuver(p, u) / _at_maneuver(q, u), 1.0)
        w = np.prod(step_w, axis=1)
        frame = _test_frame(crash, w, critical)
        if family == "mixture":
            mixture = self._mixture_controls(gap, critical, step_w)
            for name in MIXTURE_CONTROL_COLUMNS:
                frame[name] = mixture[name]
            return frame, draws
        cols = {"cv_weight": np.where(critical, step_w - 1.0, 0.0).sum(axis=1)}
        # "local" controls use the step's own likelihood ratio; "product" ones the test's W
        factor = step_w if family == "local" else w[:, None]
        cols.update(self._maneuver_controls(gap, critical, u, factor, p))
        for name in CONTROL_COLUMNS:
            frame[name] = cols[name]
        return frame, draws

    def _mixture_controls(
        self, gap: FloatArray, critical: NDArray[np.bool_], step_w: FloatArray
    ) -> dict[str, FloatArray]:
        """Owen-Zhou mixture-component controls (module docstring), mean 0 given the gaps."""
        eps = self.eps
        # r_j = q~_j / q_j from eps w_j + (1 - eps) r_j = 1 (1 off the critical set)
        r = np.where(critical, (1.0 - eps * step_w) / (1.0 - eps), 1.0)
        w = np.prod(step_w, axis=1)
        # prod_{l != i} w_l without dividing by w_i (which can be 0): prefix x suffix products
        ones = np.ones((gap.shape[0], 1))
        before = np.cumprod(np.hstack([ones, step_w[:, :-1]]), axis=1)
        after = np.cumprod(np.hstack([ones, step_w[:, :0:-1]]), axis=1)[:, ::-1]
        single = r * before * after  # g_i = q_{i}/q for the component twisting step i only
        crit = self.criticality(gap) / self.threshold
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
