"""Learned control variates against importance sampling and SCV, by repeated campaigns.

Run by hand (not a timed test), e.g.::

    python benchmarks/bench_cav_learned.py --regime papers --tests 2000 5000 --steps 40 80 \
        --reps 200 --jobs 2 --out cav_learned.json

For each vehicle, test budget and horizon it simulates ``--reps`` independent campaigns
(``OvertakingScenario(regime=R, n_steps=T).simulate_with_critical``; simulation seeds from
``numpy.random.SeedSequence(--seed)``, fold seeds from a second, independent
``SeedSequence``) and estimates the crash rate of each by importance sampling (``is``),
sparse control variates (``scv``) and the learned control (``learned``, 5 folds), all at
90%. Per method it reports, against the exact crash rate of the scenario:

* ``bias``: mean relative error, with its Monte Carlo standard error;
* ``coverage`` of the 90% intervals;
* ``vrf``: var(IS) / var(method) across the campaigns (the same campaigns for every
  method), with a 90% bootstrap interval over campaigns (2000 resamples);
* ``tests_needed``: tests for a relative half-width of 0.3 at 90%,
  ``n (1.645 sd / (0.3 mu))^2`` from the across-campaign sd;
* ``vrf_exact``: the exact per-test variance of IS (``importance_sampling_variance``)
  over ``n`` times the method's across-campaign variance, and the ceiling
  ``importance_sampling_variance / control_variance_bound(disturbances=True)``
  (one-critical proposal) that no control on the critical variables can pass.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from varkit.cav import OvertakingScenario, crash_rate

METHODS = ("is", "scv", "learned")
Z90 = 1.6448536269514722


def one_campaign(job: tuple[str, str, int, int, int, int]) -> dict[str, Any]:
    """Estimates of one campaign by every method."""
    regime, vehicle, n_steps, n_tests, sim_seed, fold_seed = job
    scenario = OvertakingScenario(regime=regime, n_steps=n_steps)
    log, critical = scenario.simulate_with_critical(n_tests, vehicle, random_state=sim_seed)
    out: dict[str, Any] = {}
    for method in METHODS:
        extra: dict[str, Any] = {}
        if method == "learned":
            extra = {"critical": critical, "scenario": scenario, "crossfit": 5}
        try:
            r = crash_rate(
                log, method=method, confidence=0.9, random_state=fold_seed, **extra
            ).results[0]
            out[method] = (r.estimate, r.ci_low, r.ci_high)
        except Exception as error:  # noqa: BLE001 (a failed fit is a result to report)
            out[method] = (math.nan, math.nan, math.nan, repr(error))
    return out


def _bootstrap_vrf(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> list[float]:
    idx = rng.integers(0, a.size, size=(2000, a.size))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = a[idx].var(axis=1, ddof=1) / b[idx].var(axis=1, ddof=1)
    return [float(np.nanquantile(ratio, 0.05)), float(np.nanquantile(ratio, 0.95))]


def summarise(
    runs: list[dict[str, Any]], truth: float, n_tests: int, is_var: float, bound: float | None
) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    est = {m: np.array([r[m][0] for r in runs]) for m in METHODS}
    ok = np.all([np.isfinite(est[m]) for m in METHODS], axis=0)
    out: dict[str, Any] = {"reps": int(ok.sum()), "failed": int((~ok).sum())}
    for m in METHODS:
        e = est[m][ok]
        low = np.array([r[m][1] for r in runs])[ok]
        high = np.array([r[m][2] for r in runs])[ok]
        sd = float(e.std(ddof=1))
        out[m] = {
            "bias": float(e.mean() / truth - 1),
            "bias_se": float(sd / truth / math.sqrt(e.size)),
            "coverage": float(np.mean((low <= truth) & (truth <= high))),
            "vrf": float(est["is"][ok].var(ddof=1) / e.var(ddof=1)),
            "vrf_90": _bootstrap_vrf(est["is"][ok], e, rng),
            "vrf_exact": float(is_var / n_tests / e.var(ddof=1)),
            "tests_needed": float(n_tests * (Z90 * sd / (0.3 * truth)) ** 2),
        }
    out["is_tests_needed_exact"] = float(is_var * (Z90 / (0.3 * truth)) ** 2)
    out["ceiling"] = None if bound is None or bound <= 0 else float(is_var / bound)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regime", default="papers")
    parser.add_argument(
        "--vehicles", nargs="+", default=["surrogate", "cautious", "aggressive", "distracted"]
    )
    parser.add_argument("--tests", nargs="+", type=int, default=[2000, 5000])
    parser.add_argument("--steps", nargs="+", type=int, default=[40, 80])
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    sims = np.random.SeedSequence([args.seed, 0])
    folds = np.random.SeedSequence([args.seed, 1])  # the estimator's stream, apart
    report = []
    with ProcessPoolExecutor(args.jobs) as pool:
        for n_steps in args.steps:
            for vehicle in args.vehicles:
                for n_tests in args.tests:
                    started = time.time()
                    scenario = OvertakingScenario(regime=args.regime, n_steps=n_steps)
                    sim_seeds = sims.spawn(args.reps)
                    fold_seeds = folds.spawn(args.reps)
                    jobs = [
                        (
                            args.regime,
                            vehicle,
                            n_steps,
                            n_tests,
                            int(s.generate_state(1)[0]),
                            int(f.generate_state(1)[0]),
                        )
                        for s, f in zip(sim_seeds, fold_seeds, strict=True)
                    ]
                    runs = list(pool.map(one_campaign, jobs, chunksize=4))
                    bound = None
                    if scenario.testing_proposal == "one-critical":
                        bound = scenario.control_variance_bound(vehicle, disturbances=True)
                    row = {
                        "regime": args.regime,
                        "vehicle": vehicle,
                        "n_steps": n_steps,
                        "n_tests": n_tests,
                        "truth": scenario.crash_rate(vehicle),
                        **summarise(
                            runs,
                            scenario.crash_rate(vehicle),
                            n_tests,
                            scenario.importance_sampling_variance(vehicle),
                            bound,
                        ),
                        "seconds": round(time.time() - started, 1),
                    }
                    report.append(row)
                    print(_line(row), flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(report, f, indent=1)


def _line(row: dict[str, Any]) -> str:
    parts = [
        f"{row['regime']} {row['vehicle']:<10} T={row['n_steps']} n={row['n_tests']} "
        f"reps={row['reps']} IS-needs(exact)={row['is_tests_needed_exact']:.0f} "
        f"ceiling={row['ceiling'] if row['ceiling'] is None else round(row['ceiling'], 1)}"
    ]
    for m in METHODS:
        s = row[m]
        parts.append(
            f"  {m:<8} bias {s['bias']:+.3f}±{s['bias_se']:.3f} cov {s['coverage']:.3f} "
            f"VRF {s['vrf']:.1f} [{s['vrf_90'][0]:.1f}, {s['vrf_90'][1]:.1f}] "
            f"VRF(exact IS) {s['vrf_exact']:.1f} tests {s['tests_needed']:.0f}"
        )
    return "\n".join(parts)


if __name__ == "__main__":
    main()
