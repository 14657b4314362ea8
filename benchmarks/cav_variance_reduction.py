"""Variance reduction of sparse control variates (SCV) against importance sampling (IS).

On the overtaking simulator (varkit.cav.scenarios), for each vehicle: the exact crash
rate, the tests needed for relative half-width 0.3 at 90% confidence by NDE (exact,
(z/0.3)^2 (1-mu)/mu), IS and SCV (cross-fitted, pool_above=3) from one large log, the
variance-reduction factor IS/SCV from that log, and with --reps R the empirical variance
ratio, bias and 90% coverage of both over R independent logs.

It also prints exact figures from the simulator's quadratures: the tests importance
sampling really needs (from its exact per-test variance, not the sample one) and the largest
variance reduction that ANY control built from gaps and maneuvers can give
(``importance_sampling_variance / control_variance_bound``).

--controls picks the cv_* set: ``product`` (default) or ``local`` (the summed per-step
controls), ``mixture`` (all Owen-Zhou mixture-component controls) or ``bounded`` (only the
bounded mixture components, cv_twisted and cv_step_*).

    python benchmarks/cav_variance_reduction.py [--tests 400000] [--reps 0] [--reps-tests 20000]
        [--controls product|local|mixture|bounded]
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from varkit.cav import (
    VEHICLES,
    OvertakingScenario,
    importance_sampling_estimate,
    sparse_control_variates,
)

Z90 = 1.6448536269514722


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tests", type=int, default=400_000)
    parser.add_argument("--reps", type=int, default=0)
    parser.add_argument("--reps-tests", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--controls", choices=("product", "local", "mixture", "bounded"), default="product"
    )
    args = parser.parse_args()
    scenario = OvertakingScenario(
        controls="mixture" if args.controls == "bounded" else args.controls
    )
    rng = np.random.default_rng(args.seed)

    def controls(log: pd.DataFrame) -> pd.DataFrame:
        if args.controls == "bounded":
            return log.filter(regex="^cv_(twisted|step_)")
        return log.filter(like="cv_")

    print(f"controls: {args.controls}")
    print(
        "vehicle     mu_exact   n_NDE     n_IS      n_SCV     VRF(IS/SCV)  "
        "n_IS(exact var)  max VRF(any gap/maneuver control, exact)"
    )
    for vehicle in VEHICLES:
        mu = scenario.crash_rate(vehicle)
        var_is = scenario.importance_sampling_variance(vehicle)
        n_is_exact = (Z90 / 0.3) ** 2 * var_is / mu**2
        best_vrf = var_is / scenario.control_variance_bound(vehicle)
        log = scenario.simulate(args.tests, vehicle, random_state=rng)
        r = sparse_control_variates(
            log["crash"],
            log["weight"],
            log["n_critical"],
            controls(log),
            pool_above=3,
            random_state=rng,
        )
        n_nde = (Z90 / 0.3) ** 2 * (1 - mu) / mu
        req = r.details["tests_required"]
        print(
            f"{vehicle:11s} {mu:.3e}  {n_nde:8.0f}  {req['is']:8.0f}  {req['scv']:8.0f}  "
            f"{r.details['variance_reduction_factor']:.2f}         {n_is_exact:.2e}        "
            f"{best_vrf:.2f}"
        )
        if args.reps:
            est, cover = [], []
            for _ in range(args.reps):
                d = scenario.simulate(args.reps_tests, vehicle, random_state=rng)
                s = sparse_control_variates(
                    d["crash"],
                    d["weight"],
                    d["n_critical"],
                    controls(d),
                    pool_above=3,
                    confidence=0.9,
                    random_state=rng,
                )
                i = importance_sampling_estimate(d["crash"], d["weight"], confidence=0.9)
                est.append((s.estimate, s.details["same_sample_estimate"], i.estimate))
                cover.append((s.ci_low <= mu <= s.ci_high, i.ci_low <= mu <= i.ci_high))
            e, c = np.array(est), np.array(cover)
            se = e.std(0, ddof=1) / np.sqrt(args.reps)
            print(
                f"    {args.reps} reps x {args.reps_tests}: relative bias scv/same-sample/is "
                f"{np.round(e.mean(0) / mu - 1, 3)} (MC se {np.round(se / mu, 3)}); "
                f"empirical var IS/SCV {e[:, 2].var() / e[:, 0].var():.2f}; "
                f"90% coverage scv {c[:, 0].mean():.3f} is {c[:, 1].mean():.3f}"
            )


if __name__ == "__main__":
    main()
