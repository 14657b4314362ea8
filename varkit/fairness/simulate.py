"""Synthetic ad delivery with known truth, and a VRS-like controller (our proxy).

Two generators:

* :func:`simulate_ad_logs` draws logs of ads whose *population* delivered and eligible
  shares are known exactly: the ground truth for bias and interval-coverage tests.
* :func:`simulate_delivery` runs an auction: users with BISG-style group probabilities and
  activity rates, ads with targeting, budgets and a latent delivery skew correlated with
  the (true) group, and optionally a VRS-like controller that boosts bids to close the
  measured gap using only DP-noised aggregate measurements and noisy user summaries. The
  controller is **our proxy** built from the public descriptions (``shared/methods/
  fairness.md`` section 1.6), not Meta's system. True labels are kept aside, so the
  shuffle-distance trajectory and coverage with and without the controller can be scored.

Examples
--------
>>> sim = simulate_delivery(n_users=600, n_ads=4, n_rounds=6, random_state=0)
>>> sorted(sim.impressions.columns)[:4]
['ad_id', 'date', 'impressions', 'p_asian_pi']
>>> set(sim.eligible["attribute"]) == {"sex", "race"}
True
>>> sim.truth.columns.tolist()
['ad_id', 'attribute', 'impressions', 'true_shuffle_distance', 'bisg_shuffle_distance']
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from varkit.checks import resolve_seed
from varkit.errors import VarkitError, VarkitTypeError
from varkit.fairness.counts import check_noise_scale
from varkit.fairness.coverage import compliance_coverage
from varkit.fairness.distances import shuffle_distance
from varkit.progress import tracked
from varkit.results import Result, ResultSet, make_provenance

__all__ = [
    "RACE_GROUPS",
    "SimulatedDelivery",
    "plot_trajectory",
    "simulate_ad_logs",
    "simulate_delivery",
    "simulate_paired",
    "simulation_cost",
]

RACE_GROUPS = ("white", "black", "hispanic", "asian_pi")
RACE_SHARES = (0.6, 0.13, 0.19, 0.08)
SEX_GROUPS = ("female", "male")


@dataclass(frozen=True)
class SimulatedDelivery:
    """Logs written by the simulator and the truth kept aside.

    Attributes
    ----------
    impressions : pandas.DataFrame
        ``date, ad_id, user_id, impressions, sex, p_<race group>`` (the CSV format).
    eligible : pandas.DataFrame
        ``ad_id, attribute, group, eligible, noise_scale``.
    truth : pandas.DataFrame
        Per ad and attribute: impressions, the shuffle distance with the true labels of
        delivered and eligible users, and (race) the one an exact BISG soft count gives.
        They differ when delivery depends on the true group beyond what BISG captures
        (selection breaks calibration within the delivered audience): soft counts then
        understate the true distance, a limit of any BISG-based measurement.
    trajectory : pandas.DataFrame
        ``round, ad_id, attribute, impressions, shuffle_distance``: cumulative true
        distance after every round.
    controller : bool
        Whether the VRS-like controller ran.
    calibration : pandas.DataFrame or None
        With ``n_calibration > 0``: a calibration sample of that many new users from the
        same population, ``race`` (true) and ``p_<race group>`` (their BISG
        memberships), for :func:`~varkit.fairness.misclassification.misclassification_matrix`.

    Examples
    --------
    >>> sim = simulate_delivery(n_users=300, n_ads=3, n_rounds=4, random_state=1)
    >>> sorted(sim.tables())
    ['eligible', 'impressions', 'trajectory', 'truth']
    >>> cover = sim.true_coverage(threshold=0.10, random_state=1)
    >>> [(r.metric, r.group["attribute"], r.group["weighting"]) for r in cover][:2]
    [('compliance_coverage', 'race', 'ads'), ('compliance_coverage', 'race', 'impressions')]
    >>> cover[0].details["truth"], cover[0].details["controller"]
    ('true labels', False)
    """

    impressions: pd.DataFrame
    eligible: pd.DataFrame
    truth: pd.DataFrame
    trajectory: pd.DataFrame
    controller: bool = False
    calibration: pd.DataFrame | None = None

    def tables(self) -> dict[str, pd.DataFrame]:
        """The four tables (and the calibration sample, if any) by name, as the CLI
        writes them."""
        tables = {
            "impressions": self.impressions,
            "eligible": self.eligible,
            "truth": self.truth,
            "trajectory": self.trajectory,
        }
        if self.calibration is not None:
            tables["calibration"] = self.calibration
        return tables

    def true_coverage(
        self,
        *,
        threshold: float = 0.10,
        random_state: int | np.random.Generator | None = None,
    ) -> ResultSet:
        """Compliance coverage of the ads per attribute with their **true** shuffle distance.

        What a perfect measurement would report
        (:func:`~varkit.fairness.coverage.compliance_coverage` of ``truth``); every
        attribute's ad bootstrap starts from the same seed. The provenance names the seed.
        """
        seed = resolve_seed(random_state)
        results: list[Result] = []
        for attribute, part in self.truth.groupby("attribute", sort=True):
            cover = compliance_coverage(
                part["true_shuffle_distance"].to_numpy(),
                part["impressions"].to_numpy(),
                threshold=threshold,
                attribute=str(attribute),
                random_state=np.random.default_rng(seed),
            )
            results.extend(
                r.replace(
                    details={**r.details, "truth": "true labels", "controller": self.controller}
                )
                for r in cover
            )
        provenance = make_provenance(
            function="varkit.fairness.SimulatedDelivery.true_coverage", seed=seed, device="cpu"
        )
        return ResultSet(tuple(results), provenance)


def _memberships(
    latent: np.ndarray, n_groups: int, blur: float, rng: np.random.Generator
) -> np.ndarray:
    """Calibrated soft memberships: ``(1 - blur) onehot + blur Dirichlet(1)``.

    The true label is then drawn from the membership, so E[membership] is the true-label
    share exactly: soft counts are unbiased for the truth, as calibrated BISG would be.
    """
    onehot = np.eye(n_groups)[latent]
    return (1 - blur) * onehot + blur * rng.dirichlet(np.ones(n_groups), size=len(latent))


def _draw_labels(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    edges = np.cumsum(probs, axis=1)
    edges[:, -1] = 1.0
    return (rng.random(len(probs))[:, None] >= edges).sum(axis=1)


def simulate_ad_logs(
    delivered_shares: Sequence[float],
    eligible_shares: Sequence[float],
    *,
    n_ads: int = 1,
    n_users: int = 200,
    mean_frequency: float = 2.0,
    n_eligible: int = 20_000,
    soft: bool = False,
    blur: float = 0.3,
    noise_scale: float = 0.0,
    groups: Sequence[str] | None = None,
    attribute: str = "race",
    random_state: int | np.random.Generator | None = None,
    noise: str = "laplace",
) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    """Logs of ads with known population delivered and eligible shares.

    Each delivered user has a latent class drawn from ``delivered_shares`` and a frequency
    ``1 + Poisson(lambda)``, ``lambda ~ Exponential(mean_frequency - 1)`` (overdispersed:
    impressions cluster within users), independent of the class. With ``soft=True`` the
    log holds calibrated memberships ``(1 - blur) onehot + blur Dirichlet(1)`` instead of
    labels, and the population shares become ``(1 - blur) s + blur / K``. Eligible counts
    are drawn the same way from ``n_eligible`` users, plus Laplace(``noise_scale``), or
    with ``noise="gaussian"`` normal noise of standard deviation ``noise_scale``.

    Returns
    -------
    impressions, eligible : pandas.DataFrame
        In the CSV formats of ``varkit fairness vrs``.
    true_shuffle_distance : float
        The population shuffle distance every ad shares.

    Examples
    --------
    >>> imp, elig, truth = simulate_ad_logs([0.6, 0.4], [0.5, 0.5], random_state=0)
    >>> round(truth, 12), sorted(imp.columns)
    (0.1, ['ad_id', 'impressions', 'race', 'user_id'])
    """
    check_noise_scale(noise_scale, "`noise_scale`")
    if noise not in ("laplace", "gaussian"):
        raise VarkitError(f"`noise` must be 'laplace' or 'gaussian', got {noise!r}.")
    rng = np.random.default_rng(random_state)
    d = np.asarray(delivered_shares, dtype=float)
    e = np.asarray(eligible_shares, dtype=float)
    k = d.size
    names = list(groups) if groups is not None else [f"g{i}" for i in range(k)]
    blur_used = blur if soft else 0.0
    truth = float(
        shuffle_distance((1 - blur_used) * d + blur_used / k, (1 - blur_used) * e + blur_used / k)
    )
    imp_parts, elig_parts = [], []
    for a in range(n_ads):
        ad = f"ad_{a:03d}"
        latent = rng.choice(k, size=n_users, p=d)
        rate = rng.exponential(max(mean_frequency - 1.0, 1e-12), size=n_users)
        freq = 1 + rng.poisson(rate)
        part = pd.DataFrame(
            {"ad_id": ad, "user_id": [f"u{a}_{i}" for i in range(n_users)], "impressions": freq}
        )
        if soft:
            probs = _memberships(latent, k, blur, rng)
            for j, g in enumerate(names):
                part[f"p_{g}"] = probs[:, j]
        else:
            part[attribute] = np.asarray(names)[latent]
        imp_parts.append(part)
        if soft:
            latent_e = rng.choice(k, size=n_eligible, p=e)
            counts = _memberships(latent_e, k, blur, rng).sum(axis=0)
        else:
            counts = rng.multinomial(n_eligible, e).astype(float)
        if noise_scale > 0:
            draw = rng.normal if noise == "gaussian" else rng.laplace
            counts = counts + draw(0, noise_scale, size=k)
        elig_parts.append(
            pd.DataFrame(
                {
                    "ad_id": ad,
                    "attribute": attribute,
                    "group": names,
                    "eligible": counts,
                    "noise_scale": noise_scale,
                }
            )
        )
    return pd.concat(imp_parts, ignore_index=True), pd.concat(elig_parts, ignore_index=True), truth


# What one simulate_delivery call may use: about 4 GiB, and about 2e9 element
# operations (a few minutes on one core, at 50-150 ns each); linear in rounds.
MAX_SIMULATION_BYTES = 4 * 2**30
MAX_SIMULATION_WORK = 2 * 10**9
MAX_ROUNDS = 10_000


def _positive_int(value: Any, name: str, minimum: int = 1) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise VarkitTypeError(f"`{name}` must be an integer, got {value!r}.")
    if value < minimum:
        raise VarkitError(f"`{name}` must be at least {minimum}, got {value}.")
    return int(value)


def _finite(value: Any, name: str, low: float = 0.0, high: float = math.inf) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise VarkitTypeError(f"`{name}` must be a number, got {value!r}.")
    number = float(value)
    if not (math.isfinite(number) and low <= number <= high):
        upper = "" if high == math.inf else f" and at most {high:g}"
        raise VarkitError(f"`{name}` must be finite, at least {low:g}{upper}, got {value!r}.")
    return number


def simulation_cost(
    n_users: int, n_ads: int, n_rounds: int, budget: tuple[int, int] = (100, 3000)
) -> tuple[float, float]:
    """Approximate peak memory (bytes) and work (element operations) of a simulation.

    Per round the auction holds a few (ads x users) float arrays and a few (ads x
    opportunities) ones, about four opportunities per impression the ads can buy in the
    round; the logs and trajectory grow with the impressions bought and the rounds.

    Examples
    --------
    >>> memory, work = simulation_cost(5000, 30, 20)
    >>> memory < 2**30, work < 10**9
    (True, True)
    """
    low, high = budget
    mean_budget = (high - low) / math.log(high / low) if high > low else float(low)
    # an ad buys at least one impression a round until its budget is spent
    per_round = n_ads * max(mean_budget / n_rounds, 1.0)
    opportunities = 4.0 * per_round
    impressions = n_ads * mean_budget
    memory = 8.0 * (6.0 * n_ads * n_users + 6.0 * n_ads * opportunities)
    memory += 200.0 * impressions + 500.0 * 2 * n_ads * n_rounds + 4000.0 * n_rounds
    work = n_rounds * (6.0 * n_ads * n_users + 8.0 * n_ads * opportunities + 4.0 * n_users)
    return memory, work


def _validate_simulation(
    *,
    n_users: Any,
    n_ads: Any,
    n_rounds: Any,
    budget: Any,
    skew: Any,
    gain: Any,
    max_boost: Any,
    measurement_noise_scale: Any,
    eligible_noise_scale: Any,
    blur: Any,
) -> None:
    n_users = _positive_int(n_users, "n_users")
    n_ads = _positive_int(n_ads, "n_ads")
    n_rounds = _positive_int(n_rounds, "n_rounds")
    if n_rounds > MAX_ROUNDS:
        raise VarkitError(
            f"`n_rounds` must be at most {MAX_ROUNDS} (a round is a day of delivery), "
            f"got {n_rounds}."
        )
    if not isinstance(budget, (tuple, list)) or len(budget) != 2:
        raise VarkitError(f"`budget` must be a pair (low, high), got {budget!r}.")
    low, high = (_positive_int(b, "budget") for b in budget)
    if low > high:
        raise VarkitError(f"`budget` must be (low, high) with low <= high, got {budget!r}.")
    _finite(skew, "skew", 0.0, 20.0)
    _finite(gain, "gain")
    _finite(max_boost, "max_boost", 1.0)
    check_noise_scale(measurement_noise_scale, "`measurement_noise_scale`")
    check_noise_scale(eligible_noise_scale, "`eligible_noise_scale`")
    _finite(blur, "blur", 0.0, 1.0)
    memory, work = simulation_cost(n_users, n_ads, n_rounds, (low, high))
    if memory > MAX_SIMULATION_BYTES:
        raise VarkitError(
            f"Simulating {n_ads} ads x {n_users} users would need about "
            f"{memory / 2**30:,.1f} GiB of memory, more than the "
            f"{MAX_SIMULATION_BYTES / 2**30:g} GiB allowed; use fewer ads or users."
        )
    if work > MAX_SIMULATION_WORK:
        raise VarkitError(
            f"Simulating {n_rounds} rounds of {n_ads} ads x {n_users} users would take "
            f"about {work:.1e} operations (tens of minutes or more), more than the "
            f"{MAX_SIMULATION_WORK:.0e} allowed; the cost is linear in rounds, ads and "
            "users, so use fewer."
        )


def simulate_delivery(
    *,
    n_users: int = 5000,
    n_ads: int = 30,
    n_rounds: int = 20,
    budget: tuple[int, int] = (100, 3000),
    skew: float = 0.5,
    controller: bool = False,
    gain: float = 2.0,
    max_boost: float = 4.0,
    measurement_noise_scale: float = 5.0,
    eligible_noise_scale: float = 0.0,
    blur: float = 0.3,
    random_state: int | np.random.Generator | None = None,
    n_calibration: int = 0,
    cost: bool = False,
) -> SimulatedDelivery:
    """Run a synthetic auction for a set of ads over ``n_rounds`` rounds (days).

    Parameters
    ----------
    n_users, n_ads, n_rounds : int
        Audience size, number of (housing) ads, and rounds; a round is a ``date``.
    budget : (int, int), default (100, 3000)
        Each ad's impression budget is log-uniform in this range, spent evenly by round.
    skew : float, default 0.5
        Standard deviation of each ad's latent log-propensity per race group and for
        female users: the delivery skew the system learned, correlated with true group.
    controller : bool, default False
        Enable the VRS-like controller (our proxy): after every round it measures the
        ad's delivered race and sex mix from aggregate counts with Laplace noise of scale
        ``measurement_noise_scale``, and moves a per-group log-boost by ``gain`` times the
        relative gap ``(e_k - d_k) / e_k``; a user's boost is ``exp(q_u . theta)``
        clipped to ``[1/max_boost, max_boost]``, with ``q_u`` the user's noisy summary
        (BISG probabilities; for sex, 0.8 on the true sex), never an exact label.
    measurement_noise_scale, eligible_noise_scale : float
        Laplace scales of the controller's measurements and of the published eligible
        counts (written to ``noise_scale``).
    blur : float, default 0.3
        How uncertain the BISG memberships are (see :func:`simulate_ad_logs`).
    random_state : None, int or numpy.random.Generator
    n_calibration : int, default 0
        Also draw a calibration sample of this many new users (true race beside BISG
        memberships), after the auction, so the logs are those of ``n_calibration=0``.
    cost : bool, default False
        Also write a ``cost`` column: each row's spend at second prices (the winner
        pays the least bid that would still have won: its bid times the next best score
        over its own), in bid units. In this proxy the controller's boost raises the
        winner's own score, so a boosted win costs less, not more: the platform, not
        the advertiser, pays for the boost. It draws nothing, so the other columns are
        those of ``cost=False``.

    Returns
    -------
    SimulatedDelivery

    Raises
    ------
    VarkitError
        For a size whose memory or work (:func:`simulation_cost`) exceeds
        ``MAX_SIMULATION_BYTES`` (4 GiB) or ``MAX_SIMULATION_WORK``, more than
        ``MAX_ROUNDS`` rounds, or a negative or non-finite parameter.

    Examples
    --------
    >>> sim = simulate_delivery(n_users=300, n_ads=3, n_rounds=4, random_state=1)
    >>> sim.truth.shape, int(sim.trajectory["round"].max())   # 3 ads x 2 attributes
    ((6, 5), 3)
    >>> steered = simulate_delivery(n_users=300, n_ads=3, n_rounds=4, controller=True,
    ...                             random_state=1)
    >>> steered.controller, steered.eligible.equals(sim.eligible)   # same audience
    (True, True)
    """
    _validate_simulation(
        n_users=n_users,
        n_ads=n_ads,
        n_rounds=n_rounds,
        budget=budget,
        skew=skew,
        gain=gain,
        max_boost=max_boost,
        measurement_noise_scale=measurement_noise_scale,
        eligible_noise_scale=eligible_noise_scale,
        blur=blur,
    )
    n_calibration = _positive_int(n_calibration, "n_calibration", minimum=0)
    rng = np.random.default_rng(random_state)
    users = _draw_users(n_users, blur, rng)
    ads = _draw_ads(users, n_ads, n_rounds, budget, skew, rng)
    eligible_table, elig_race, elig_sex = _eligible_counts(users, ads, eligible_noise_scale, rng)
    e_race_meas = np.maximum(elig_race, 0) / np.maximum(elig_race.sum(axis=1, keepdims=True), 1e-12)
    e_sex_meas = elig_sex / np.maximum(elig_sex.sum(axis=1, keepdims=True), 1e-12)
    k = len(RACE_GROUPS)
    true_elig_race = np.stack(
        [np.bincount(users.race[ads.eligible[a]], minlength=k) for a in range(n_ads)]
    )
    theta_race = np.zeros((n_ads, k))
    theta_sex = np.zeros((n_ads, 2))
    delivered = np.zeros((n_ads, n_users))  # impressions per ad and user
    log_rows: list[pd.DataFrame] = []
    trajectory: list[tuple[Any, ...]] = []
    for round_ in tracked(range(n_rounds), n_rounds, "delivery rounds"):
        this_round, spend = _auction_round(
            users, ads, delivered, theta_race, theta_sex, max_boost, rng
        )
        delivered += this_round
        part = _round_log(round_, this_round, users, spend if cost else None)
        if part is not None:
            log_rows.append(part)
        trajectory.extend(
            _trajectory_rows(round_, delivered, users, elig_race, true_elig_race, elig_sex)
        )
        if controller:
            # Only aggregate, noised measurements reach the controller.
            meas_race = delivered @ users.bisg + rng.laplace(
                0, measurement_noise_scale, size=(n_ads, k)
            )
            meas_sex = np.column_stack(
                [delivered @ users.female, delivered @ ~users.female]
            ) + rng.laplace(0, measurement_noise_scale, size=(n_ads, 2))
            _steer(meas_race, e_race_meas, theta_race, gain, max_boost)
            _steer(meas_sex, e_sex_meas, theta_sex, gain, max_boost)
    sim = _simulated(log_rows, eligible_table, trajectory, n_rounds, controller)
    if not n_calibration:
        return sim
    race, bisg = _draw_race(n_calibration, blur, rng)
    calibration = pd.DataFrame({"race": np.asarray(RACE_GROUPS)[race]})
    for j, g in enumerate(RACE_GROUPS):
        calibration[f"p_{g}"] = np.round(bisg[:, j], 6)  # as the log prints them
    return dataclasses.replace(sim, calibration=calibration)


@dataclass(frozen=True)
class _Users:
    """The simulated audience: true race, BISG memberships, sex, activity, interest."""

    race: np.ndarray
    bisg: np.ndarray
    female: np.ndarray
    activity: np.ndarray
    interest: np.ndarray
    sex_summary: np.ndarray  # the controller's noisy view of sex


def _draw_race(
    n_users: int, blur: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """True race codes and BISG memberships of ``n_users`` people of the population."""
    k = len(RACE_GROUPS)
    latent = rng.choice(k, size=n_users, p=RACE_SHARES)
    bisg = _memberships(latent, k, blur, rng)
    return _draw_labels(bisg, rng), bisg  # true race, drawn from calibrated BISG


def _draw_users(n_users: int, blur: float, rng: np.random.Generator) -> _Users:
    race, bisg = _draw_race(n_users, blur, rng)
    female = rng.random(n_users) < 0.5
    activity = rng.lognormal(0.0, 0.7, size=n_users)
    interest = rng.normal(0.4 * (race - 1.0), 1.0)  # targeting feature, correlated with race
    sex_summary = np.column_stack([np.where(female, 0.8, 0.2), np.where(female, 0.2, 0.8)])
    return _Users(race, bisg, female, activity, interest, sex_summary)


@dataclass(frozen=True)
class _Ads:
    """The ads: who they may reach, budgets, and the delivery skew the system learned."""

    eligible: np.ndarray  # (ads, users) bool
    budgets: np.ndarray
    per_round: np.ndarray
    base_score: np.ndarray  # (ads, users)
    bid: np.ndarray


def _draw_ads(
    users: _Users,
    n_ads: int,
    n_rounds: int,
    budget: tuple[int, int],
    skew: float,
    rng: np.random.Generator,
) -> _Ads:
    k = len(RACE_GROUPS)
    centre = rng.normal(0, 1, size=n_ads)
    width = rng.uniform(0.7, 2.5, size=n_ads)
    eligible = np.abs(users.interest[None, :] - centre[:, None]) < width[:, None]
    budgets = np.exp(rng.uniform(np.log(budget[0]), np.log(budget[1]), size=n_ads)).round()
    per_round = np.ceil(budgets / n_rounds)
    bid = rng.lognormal(0, 0.3, size=n_ads)
    log_prop = rng.normal(0, skew, size=(n_ads, k))
    log_prop_female = rng.normal(0, skew, size=n_ads)
    base_score = bid[:, None] * np.exp(
        log_prop[:, users.race] + log_prop_female[:, None] * users.female[None, :]
    )
    return _Ads(eligible, budgets, per_round, base_score, bid)


def _eligible_counts(
    users: _Users, ads: _Ads, noise_scale: float, rng: np.random.Generator
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The eligible table (soft race counts, hard sex counts, optional DP noise), and the
    race and sex counts without noise."""
    eligible = ads.eligible
    elig_race = eligible.astype(float) @ users.bisg
    elig_sex = np.column_stack(
        [eligible @ users.female.astype(float), eligible @ (~users.female).astype(float)]
    )
    rows = []
    for attribute, groups, table in (
        ("race", RACE_GROUPS, elig_race),
        ("sex", SEX_GROUPS, elig_sex),
    ):
        noisy = table + (rng.laplace(0, noise_scale, size=table.shape) if noise_scale else 0.0)
        for a in range(len(eligible)):
            for j, g in enumerate(groups):
                rows.append((f"ad_{a:03d}", attribute, g, float(noisy[a, j]), noise_scale))
    eligible_table = pd.DataFrame(
        rows, columns=["ad_id", "attribute", "group", "eligible", "noise_scale"]
    )
    return eligible_table, elig_race, elig_sex


def _auction_round(
    users: _Users,
    ads: _Ads,
    delivered: np.ndarray,
    theta_race: np.ndarray,
    theta_sex: np.ndarray,
    max_boost: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """One round's impressions and spend per ad and user: opportunities, boosted scores,
    second prices, pacing."""
    n_ads, n_users = delivered.shape
    # About four ad opportunities per impression the ads could buy this round.
    opportunities = rng.poisson(users.activity / users.activity.sum() * 4.0 * ads.per_round.sum())
    seen_by = np.repeat(np.arange(n_users), opportunities)
    rng.shuffle(seen_by)
    boost = np.exp(theta_race @ users.bisg.T + theta_sex @ users.sex_summary.T)
    boost = np.clip(boost, 1.0 / max_boost, max_boost)
    remaining = np.maximum(np.minimum(ads.per_round, ads.budgets - delivered.sum(axis=1)), 0)
    score = (
        (ads.base_score * boost)[:, seen_by] * ads.eligible[:, seen_by] * (remaining > 0)[:, None]
    )
    score = score * np.exp(rng.gumbel(size=score.shape) * 0.5)
    outside = np.exp(rng.gumbel(size=len(seen_by)) * 0.5) * 0.5  # competing advertisers
    winner = np.where(score.max(axis=0) > outside, score.argmax(axis=0), -1)
    # Second price: the winner pays the least bid that would still have won, its bid
    # times the next best score (competing ads, outside advertisers) over its own.
    top = score.max(axis=0)
    second = np.partition(score, -2, axis=0)[-2] if n_ads > 1 else np.zeros_like(outside)
    bids = ads.bid[np.maximum(winner, 0)]
    price = bids * np.maximum(second, outside) / np.where(top > 0, top, 1.0)
    # Pacing: each ad keeps its first `remaining` wins of the round.
    this_round = np.zeros((n_ads, n_users))
    spend = np.zeros((n_ads, n_users))
    for a in np.unique(winner[winner >= 0]):
        kept = np.flatnonzero(winner == a)[: int(remaining[a])]
        np.add.at(this_round[a], seen_by[kept], 1.0)
        np.add.at(spend[a], seen_by[kept], price[kept])
    return this_round, spend


def _round_log(
    round_: int, this_round: np.ndarray, users: _Users, spend: np.ndarray | None = None
) -> pd.DataFrame | None:
    """The round's rows of the impressions log (None when nothing was delivered)."""
    ad_idx, user_idx = np.nonzero(this_round)
    if not ad_idx.size:
        return None
    part = pd.DataFrame(
        {
            "date": f"2023-05-{round_ + 1:02d}",
            "ad_id": [f"ad_{a:03d}" for a in ad_idx],
            "user_id": [f"u{u:05d}" for u in user_idx],
            "impressions": this_round[ad_idx, user_idx].astype(int),
            "sex": np.where(users.female[user_idx], "female", "male"),
        }
    )
    for j, g in enumerate(RACE_GROUPS):
        part[f"p_{g}"] = np.round(users.bisg[user_idx, j], 6)
    if spend is not None:
        part["cost"] = np.round(spend[ad_idx, user_idx], 6)
    return part


def _trajectory_rows(
    round_: int,
    delivered: np.ndarray,
    users: _Users,
    elig_race: np.ndarray,
    true_elig_race: np.ndarray,
    elig_sex: np.ndarray,
) -> list[tuple[Any, ...]]:
    """Every ad's cumulative true (and BISG) shuffle distance after the round."""
    n_ads = len(delivered)
    k = len(RACE_GROUPS)
    true_race = np.stack(
        [np.bincount(users.race, weights=delivered[a], minlength=k) for a in range(n_ads)]
    )
    female = users.female
    true_sex = np.column_stack([delivered @ female, delivered @ ~female]).astype(float)
    bisg_sd = np.asarray(shuffle_distance(delivered @ users.bisg, elig_race))
    rows = []
    for attribute, d_true, e_true in (
        ("race", true_race, true_elig_race),
        ("sex", true_sex, elig_sex),
    ):
        sd = np.asarray(shuffle_distance(d_true, e_true))
        proxy = bisg_sd if attribute == "race" else sd
        for a in range(n_ads):
            rows.append(
                (
                    round_,
                    f"ad_{a:03d}",
                    attribute,
                    float(d_true[a].sum()),
                    float(sd[a]),
                    float(proxy[a]),
                )
            )
    return rows


def _steer(
    meas: np.ndarray, e_meas: np.ndarray, theta: np.ndarray, gain: float, max_boost: float
) -> None:
    """The controller's step: move the log-boosts ``theta`` (in place) to close the gap."""
    meas = np.maximum(meas, 0)
    total = meas.sum(axis=1, keepdims=True)
    d_meas = np.where(total > 0, meas / np.maximum(total, 1e-12), e_meas)
    theta += gain * (e_meas - d_meas) / np.maximum(e_meas, 0.05)
    np.clip(theta, -np.log(max_boost), np.log(max_boost), out=theta)


def _simulated(
    log_rows: list[pd.DataFrame],
    eligible_table: pd.DataFrame,
    trajectory: list[tuple[Any, ...]],
    n_rounds: int,
    controller: bool,
) -> SimulatedDelivery:
    impressions = (
        pd.concat(log_rows, ignore_index=True)
        if log_rows
        else pd.DataFrame(columns=["date", "ad_id", "user_id", "impressions", "sex"])
    )
    traj = pd.DataFrame(
        trajectory,
        columns=[
            "round",
            "ad_id",
            "attribute",
            "impressions",
            "shuffle_distance",
            "bisg_shuffle_distance",
        ],
    )
    last = traj[traj["round"] == n_rounds - 1]
    truth = last.rename(columns={"shuffle_distance": "true_shuffle_distance"})[
        ["ad_id", "attribute", "impressions", "true_shuffle_distance", "bisg_shuffle_distance"]
    ].reset_index(drop=True)
    return SimulatedDelivery(
        impressions, eligible_table, truth, traj.reset_index(drop=True), controller
    )


def plot_trajectory(trajectory: pd.DataFrame, ax: Any = None, threshold: float = 0.10) -> Any:
    """Plot the impression-weighted mean shuffle distance per round and attribute.

    Needs matplotlib (a dependency of varkit); returns the axes.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> sim = simulate_delivery(n_users=300, n_ads=3, n_rounds=4, random_state=1)
    >>> ax = plot_trajectory(sim.trajectory, ax=Figure().subplots())
    >>> [line.get_label() for line in ax.get_lines()][:2], ax.get_xlabel()
    (['race', 'sex'], 'round')
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - optional dependency
        raise ImportError("plot_trajectory needs matplotlib: pip install 'varkit[plot]'.") from exc
    if ax is None:
        _, ax = plt.subplots()
    for attribute, part in trajectory.groupby("attribute"):
        weighted = part.assign(w=part["impressions"] * part["shuffle_distance"]).groupby("round")
        mean = weighted["w"].sum() / weighted["impressions"].sum()
        ax.plot(mean.index, mean.to_numpy(), label=str(attribute))
    ax.axhline(threshold, linestyle="--", color="grey")
    ax.set_xlabel("round")
    ax.set_ylabel("impression-weighted shuffle distance (true labels)")
    ax.legend()
    return ax


def simulate_paired(
    *, random_state: int | np.random.Generator | None = None, **options: Any
) -> tuple[SimulatedDelivery, SimulatedDelivery]:
    """Paired logs: the same users, ads and audiences with the controller on and off.

    Both runs of :func:`simulate_delivery` start from the same seed, so they draw the
    same users, ads, budgets and eligible counts; only the delivery differs (the
    controller is **our proxy** of VRS, see the module docstring). The logs carry a
    ``cost`` column (second prices), for :func:`~varkit.fairness.compare.compare_delivery`.

    Parameters
    ----------
    random_state : None, int or numpy.random.Generator
        A seed drawn from it is used for both runs.
    **options
        Other keyword arguments of :func:`simulate_delivery` (not ``controller``).

    Returns
    -------
    (on, off) : tuple of SimulatedDelivery

    Examples
    --------
    >>> on, off = simulate_paired(n_users=300, n_ads=3, n_rounds=4, random_state=1)
    >>> on.controller, off.controller, on.eligible.equals(off.eligible)
    (True, False, True)
    >>> "cost" in on.impressions.columns
    True
    """
    if "controller" in options:
        raise VarkitTypeError("`controller` is set by simulate_paired: one run with, one without.")
    seed = resolve_seed(random_state)
    options.setdefault("cost", True)
    on = simulate_delivery(controller=True, random_state=seed, **options)
    off = simulate_delivery(controller=False, random_state=seed, **options)
    return on, off
