"""Variance reduction of sparse control variates (SCV) against importance sampling (IS).

On the overtaking simulator (varkit.cav.scenarios), for each vehicle:

* exact figures from the simulator's quadratures: crash rate, tests needed for relative
  half-width 0.3 at 90% confidence by NDE ((z/0.3)^2 (1-mu)/mu) and by IS (from its exact
  per-test variance), and the largest variance reduction ANY control built from the
  critical variables can give (``importance_sampling_variance / control_variance_bound``,
  from gaps and maneuvers, and with the critical disturbances too);
* from one log of ``--tests`` tests: tests needed by IS and SCV (cross-fitted, strata
  pooled by the default ``crashes_per_control=10``; ``--pool-above 4
  --crashes-per-control 0`` gives the previous session's unpooled fit) from their sample
  variances, and the sample variance-reduction factor;
* with ``--reps R``: R independent logs of ``--reps-tests`` tests; relative bias of SCV,
  same-sample SCV and IS (with its Monte Carlo standard error), the empirical variance
  ratio IS/SCV and the 90% coverage of both;
* with ``--figure PATH``: the papers' standard figure, estimate and relative half-width
  against the number of tests for NDE, IS and SCV (one log each of ``--figure-tests``).

``--controls twist`` (the one-critical default) simulates the simulator's twist family: only
the twisted-step columns cv_twist_* (bounded and non-zero in most tests); ``--controls
binned`` adds cv_weight, cv_surrogate and cv_gap_*, which make the cross-fits unstable.
``--proposal all-critical --controls product|bounded|mixture`` reproduces the previous
session's figures (``bounded`` = only cv_twisted and cv_step_* of the mixture family).

    python benchmarks/cav_variance_reduction.py --tests 100000 --reps 200 --reps-tests 4000 \\
        --controls twist --figure benchmarks/cav_convergence.png
    python benchmarks/cav_variance_reduction.py --quick     # a smoke run (seconds)
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import pandas as pd

from varkit.cav import (
    VEHICLES,
    OvertakingScenario,
    importance_sampling_estimate,
    running_estimate,
    sparse_control_variates,
)

Z90 = 1.6448536269514722
POOL = {"pool_above": None, "crashes_per_control": 10.0}  # set from the command line


def _controls(log: pd.DataFrame, family: str) -> pd.DataFrame:
    if family == "bounded":
        return log.filter(regex="^cv_(twisted|step_)")
    return log.filter(like="cv_")


def _scv(log: pd.DataFrame, family: str, rng: np.random.Generator) -> object:
    return sparse_control_variates(
        log["crash"],
        log["weight"],
        log["n_critical"],
        _controls(log, family),
        **POOL,
        confidence=0.9,
        random_state=rng,
    )


def exact_rows(scenario: OvertakingScenario) -> dict[str, dict[str, float]]:
    out = {}
    for vehicle in VEHICLES:
        mu = scenario.crash_rate(vehicle)
        var_is = scenario.importance_sampling_variance(vehicle)
        row = {
            "mu": mu,
            "n_nde": (Z90 / 0.3) ** 2 * (1 - mu) / mu,
            "n_is_exact": (Z90 / 0.3) ** 2 * var_is / mu**2,
            "max_vrf_su": var_is / scenario.control_variance_bound(vehicle),
        }
        if scenario.testing_proposal == "one-critical":
            bound = scenario.control_variance_bound(vehicle, disturbances=True)
            row["max_vrf_sue"] = var_is / bound if bound > 0 else math.inf
        out[vehicle] = row
    return out


def figure(scenario: OvertakingScenario, family: str, n: int, path: str, seed: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(2, len(VEHICLES), figsize=(4 * len(VEHICLES), 6.5), sharex=True)
    for col, vehicle in enumerate(VEHICLES):
        mu = scenario.crash_rate(vehicle)
        nde = scenario.simulate(n, vehicle, testing="nde", random_state=rng)
        log = scenario.simulate(n, vehicle, random_state=rng)
        runs = {
            "NDE": running_estimate(nde["crash"], method="nde", checkpoints=60),
            "IS": running_estimate(log["crash"], log["weight"], method="is", checkpoints=60),
            "SCV": running_estimate(
                log["crash"],
                log["weight"],
                n_critical=log["n_critical"],
                controls=_controls(log, family),
                method="scv",
                checkpoints=25,
                **POOL,
                random_state=seed,
            ),
        }
        for name, rs in runs.items():
            ns = [r.n for r in rs]
            axes[0, col].plot(ns, [r.estimate for r in rs], label=name)
            rhw = [r.details["relative_half_width"] for r in rs]
            axes[1, col].plot(ns, np.where(np.isfinite(rhw), rhw, np.nan), label=name)
        axes[0, col].axhline(mu, color="k", ls="--", lw=1, label="exact")
        axes[0, col].set_ylim(0, 3 * mu)
        axes[0, col].set_title(vehicle)
        axes[1, col].axhline(0.3, color="k", ls=":", lw=1)
        axes[1, col].set_yscale("log")
        axes[1, col].set_ylim(0.03, 10)
        axes[1, col].set_xscale("log")
        axes[1, col].set_xlabel("number of tests")
    axes[0, 0].set_ylabel("crash rate estimate")
    axes[1, 0].set_ylabel("relative half-width (90%)")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(f"NDE vs IS vs SCV ({scenario.testing_proposal} proposal, {family} controls)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"figure written to {path}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tests", type=int, default=200_000)
    parser.add_argument("--reps", type=int, default=0)
    parser.add_argument("--reps-tests", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--proposal", choices=("one-critical", "all-critical"), default="one-critical"
    )
    parser.add_argument(
        "--controls",
        choices=("default", "twist", "binned", "product", "local", "mixture", "bounded"),
        default="default",
    )
    parser.add_argument("--figure", default=None)
    parser.add_argument("--figure-tests", type=int, default=20_000)
    parser.add_argument("--quick", action="store_true", help="smoke run: small sizes")
    parser.add_argument("--pool-above", type=int, default=None)
    parser.add_argument("--crashes-per-control", type=float, default=10.0)
    args = parser.parse_args()
    POOL.update(pool_above=args.pool_above, crashes_per_control=args.crashes_per_control)
    if args.quick:
        args.tests, args.reps, args.reps_tests, args.figure_tests = 20_000, 3, 2000, 3000
    family = {"default": None, "bounded": "mixture"}.get(args.controls, args.controls)
    scenario = OvertakingScenario(proposal=args.proposal, controls=family)
    label = "bounded" if args.controls == "bounded" else scenario.control_family
    rng = np.random.default_rng(args.seed)
    print(f"proposal {scenario.testing_proposal} (eps {scenario.eps}), controls {label}")
    print(f"exact E_q[W^2] = {scenario.weight_second_moment():.4g}")
    exact = exact_rows(scenario)
    for vehicle in VEHICLES:
        e = exact[vehicle]
        start = time.perf_counter()
        log = scenario.simulate(args.tests, vehicle, random_state=rng)
        r = _scv(log, label, rng)
        req = r.details["tests_required"]  # type: ignore[attr-defined]
        vrf = r.details["variance_reduction_factor"]  # type: ignore[attr-defined]
        print(
            f"{vehicle:11s} mu {e['mu']:.3e}  n_NDE {e['n_nde']:.0f}  "
            f"n_IS exact {e['n_is_exact']:.0f}"
            f"  | {args.tests} tests: n_IS {req['is']:.0f}  n_SCV {req['scv']:.0f}  VRF {vrf:.2f}"
            f"  | max VRF (gaps+maneuvers) {e['max_vrf_su']:.2f}"
            + (f", (+disturbances) {e['max_vrf_sue']:.3g}" if "max_vrf_sue" in e else "")
        )
        if args.reps:
            est, cover = [], []
            for _ in range(args.reps):
                d = scenario.simulate(args.reps_tests, vehicle, random_state=rng)
                s = _scv(d, label, rng)
                i = importance_sampling_estimate(d["crash"], d["weight"], confidence=0.9)
                same = s.details["same_sample_estimate"]  # type: ignore[attr-defined]
                est.append((s.estimate, same, i.estimate))  # type: ignore[attr-defined]
                lo, hi = s.ci_low, s.ci_high  # type: ignore[attr-defined]
                cover.append((lo <= e["mu"] <= hi, i.ci_low <= e["mu"] <= i.ci_high))
            x, c = np.array(est), np.array(cover)
            se = x.std(0, ddof=1) / math.sqrt(args.reps)
            print(
                f"    {args.reps} reps x {args.reps_tests}: relative bias scv/same-sample/is "
                f"{np.round(x.mean(0) / e['mu'] - 1, 3)} (MC se {np.round(se / e['mu'], 3)}); "
                f"empirical var IS/SCV {x[:, 2].var() / x[:, 0].var():.2f}; "
                f"90% coverage scv {c[:, 0].mean():.3f} is {c[:, 1].mean():.3f} "
                f"({time.perf_counter() - start:.0f} s)"
            )
    if args.figure:
        figure(scenario, label, args.figure_tests, args.figure, args.seed)


if __name__ == "__main__":
    main()
