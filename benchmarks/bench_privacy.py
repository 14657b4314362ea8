"""varkit.privacy: speed of the Bayesian epsilon interval, interval widths, and coverage.

Three parts, all measured in one run and printed as Markdown:

1. Speed. ``bayesian_epsilon`` (two-sided, 95%) on count cases up to 1e6 per class, and a
   100-point epsilon(delta) curve, against a baseline timed in the same run: a
   straightforward reference computation of the same posterior interval, written here as
   the authors' package privacy-estimates 0.1.0.post1 does it (``joint_density.Beta``):
   the CDF of epsilon is a ``scipy.integrate.dblquad`` of the joint Beta posterior density
   over the privacy region (``epsabs=5e-3``), and each interval end a ``brentq`` on it
   (``xtol=1e-2``). The package itself is not imported. The baseline is slow (tens of
   seconds per interval), so it runs on the first ``--baseline-cases`` small cases only,
   ``--baseline-repeats`` times each (default: two cases, once).
2. The paper's headline claim (Zanella-Béguelin et al., ICML 2023, Sec. 6): on expected
   counts, over a grid of sample sizes and error rates, Clopper-Pearson vs Bayesian
   interval widths at the same confidence, and their ratio.
3. Frequentist coverage of both intervals over simulated attacks with a known epsilon
   (a study, not a gate), with Monte Carlo standard errors.

Run by hand (about 3 minutes on 2 cores)::

    python benchmarks/bench_privacy.py
    python benchmarks/bench_privacy.py --skip-baseline --sims 200   # quicker

Results are recorded in benchmarks/privacy_results.md.
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import platform
import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import integrate, optimize, stats

from varkit.privacy import (
    audit_epsilon,
    bayesian_epsilon,
    clopper_pearson_epsilon,
    epsilon_from_rates,
)

CONFIDENCE = 0.95
DELTA = 1e-5

# name -> (fp, fn, tn, tp); the first ones are small enough for the baseline.
SPEED_CASES: dict[str, tuple[int, int, int, int]] = {
    "paper-style n=2e3": (10, 400, 990, 600),
    "balanced n=2e3": (100, 100, 900, 900),
    "README (all wrong) n=1e3": (0, 512, 1, 487),
    "perfect attack n=200": (0, 0, 100, 100),
    "n=2e5": (1000, 40000, 99000, 60000),
    "n=2e6": (10000, 400000, 990000, 600000),
    "eps~11, n=2e6": (10, 300000, 999990, 700000),
}


def reference_interval(
    fp: int, fn: int, tn: int, tp: int, delta: float, confidence: float
) -> tuple[float, float]:
    """The equal-tailed credible interval as privacy-estimates computes it (see module doc).

    F(e) = double integral of Beta(FN+1/2, TP+1/2)(x) Beta(FP+1/2, TN+1/2)(y) over the
    privacy region R(e, delta), x = FNR in [0, 1], y = FPR between the region's boundaries
    (privacy_region.py), by dblquad with epsabs = xtol / 2; each quantile by brentq with
    xtol = 1e-2. Unlike the package, the upper bracket doubles from 10 instead of raising.
    """
    fnr_post = stats.beta(fn + 0.5, tp + 0.5)
    fpr_post = stats.beta(fp + 0.5, tn + 0.5)
    c = 1.0 - delta

    def density(y: float, x: float) -> float:
        return float(fnr_post.pdf(x) * fpr_post.pdf(y))

    def cdf(eps: float) -> float:
        k = math.exp(eps)

        def low(x: float) -> float:
            return max(0.0, c - x * k, (c - x) / k)

        def high(x: float) -> float:
            return min(1.0, 1.0 + (delta - x) / k, delta + (1.0 - x) * k)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # quad warns at the Jeffreys singularities
            value, _ = integrate.dblquad(density, 0.0, 1.0, low, high, epsabs=5e-3)
        return float(value)

    alpha = 1.0 - confidence
    ends = []
    for q in (alpha / 2.0, 1.0 - alpha / 2.0):
        if cdf(0.0) >= q:
            ends.append(0.0)
            continue
        top = 10.0
        while cdf(top) < q:
            top *= 2.0
        ends.append(float(optimize.brentq(lambda e, q=q: cdf(e) - q, 0.0, top, xtol=1e-2)))
    return ends[0], ends[1]


def _times(function: Callable[[], Any], repeats: int, warmup: int = 1) -> list[float]:
    for _ in range(warmup):
        function()
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        out.append(time.perf_counter() - start)
    return out


def _quartiles(times: list[float]) -> tuple[float, float, float]:
    q1, q2, q3 = np.percentile(times, [25, 50, 75])
    return float(q1), float(q2), float(q3)


def speed(repeats: int, baseline_cases: int, baseline_repeats: int) -> None:
    print("## Speed: two-sided 95% Bayesian interval, delta = 1e-5\n")
    print(
        "| case | (FP, FN, TN, TP) | varkit median [IQR] | varkit interval "
        "| baseline median | baseline interval | max end difference | speed-up |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for index, (name, (fp, fn, tn, tp)) in enumerate(SPEED_CASES.items()):
        counts = {"fp": fp, "fn": fn, "tn": tn, "tp": tp}
        result = bayesian_epsilon(**counts, delta=DELTA, confidence=CONFIDENCE)
        q1, med, q3 = _quartiles(
            _times(lambda c=counts: bayesian_epsilon(**c, delta=DELTA), repeats, warmup=2)
        )
        row = (
            f"| {name} | {(fp, fn, tn, tp)} | {med * 1e3:.1f} ms [{q1 * 1e3:.1f}, {q3 * 1e3:.1f}] "
            f"| [{result.ci_low:.4f}, {result.ci_high:.4f}] "
        )
        if index < baseline_cases:
            base_times = []
            for _ in range(baseline_repeats):
                begin = time.perf_counter()
                low, high = reference_interval(fp, fn, tn, tp, DELTA, CONFIDENCE)
                base_times.append(time.perf_counter() - begin)
            base = statistics.median(base_times)
            diff = max(abs(low - result.ci_low), abs(high - result.ci_high))
            row += (
                f"| {base:.1f} s ({baseline_repeats} run{'s' * (baseline_repeats > 1)}) "
                f"| [{low:.4f}, {high:.4f}] | {diff:.1e} | {base / med:,.0f}x |"
            )
        else:
            row += "| not run | | | |"
        print(row, flush=True)

    print("\n## Speed: a 100-point epsilon(delta) curve (delta from 1e-10 to 1e-1, log-spaced)\n")
    deltas = np.logspace(-10, -1, 100).tolist()
    fp, fn, tn, tp = SPEED_CASES["paper-style n=2e3"]
    member = np.r_[np.zeros(fp + tn, int), np.ones(fn + tp, int)]
    guess = np.r_[np.ones(fp, int), np.zeros(tn, int), np.zeros(fn, int), np.ones(tp, int)]
    plans: dict[str, Callable[[], Any]] = {
        "audit_epsilon(member, guess=..., delta=<100 values>) on a 2000-row log": lambda: (
            audit_epsilon(member, guess=guess, delta=deltas, method="bayes")
        ),
        "same, method='both' (Bayes and Clopper-Pearson)": lambda: audit_epsilon(
            member, guess=guess, delta=deltas, method="both"
        ),
        "100 x bayesian_epsilon on counts (10, 400, 990, 600)": lambda: [
            bayesian_epsilon(fp=fp, fn=fn, tn=tn, tp=tp, delta=d) for d in deltas
        ],
    }
    print("| what | median [IQR] | target |")
    print("|---|---|---|")
    for name, function in plans.items():
        q1, med, q3 = _quartiles(_times(function, max(3, repeats // 4)))
        print(f"| {name} | {med:.3f} s [{q1:.3f}, {q3:.3f}] | < 2 s |", flush=True)


WIDTH_SIZES = (100, 1000, 10000)
WIDTH_RATES = ((0.001, 0.5), (0.01, 0.4), (0.05, 0.2), (0.1, 0.1), (0.2, 0.3))


def _width(low: float, high: float) -> float:
    return high - low


def widths() -> None:
    print(
        "\n## Headline claim: interval widths on expected counts "
        f"(95%, delta = {DELTA:g}, n members = n non-members)\n"
    )
    print(
        "| n per class | FPR | FNR | true epsilon | (FP, FN) | Clopper-Pearson | width "
        "| Bayesian | width | Bayes / CP width |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n in WIDTH_SIZES:
        for fpr, fnr in WIDTH_RATES:
            fp, fn = round(n * fpr), round(n * fnr)
            counts = {"fp": fp, "fn": fn, "tn": n - fp, "tp": n - fn, "delta": DELTA}
            cp = clopper_pearson_epsilon(**counts, confidence=CONFIDENCE)
            bayes = bayesian_epsilon(**counts, confidence=CONFIDENCE)
            cp_w = _width(cp.ci_low, cp.ci_high)
            b_w = _width(bayes.ci_low, bayes.ci_high)
            ratio = f"{b_w / cp_w:.3f}" if math.isfinite(cp_w) else "0 (CP infinite)"
            true_eps = float(epsilon_from_rates(fpr, fnr, DELTA))
            print(
                f"| {n} | {fpr:g} | {fnr:g} | {true_eps:.3f} | ({fp}, {fn}) "
                f"| [{cp.ci_low:.3f}, {cp.ci_high:.3f}] | {cp_w:.3f} "
                f"| [{bayes.ci_low:.3f}, {bayes.ci_high:.3f}] | {b_w:.3f} | {ratio} |"
            )


# (FPR, FNR, n per class, bound)
COVERAGE_SETTINGS = (
    (0.1, 0.1, 500, "two-sided"),  # FPR = FNR: the two directions of epsilon tie
    (0.05, 0.2, 500, "two-sided"),
    (0.01, 0.4, 1000, "two-sided"),
    (0.2, 0.3, 100, "two-sided"),
    (0.001, 0.5, 2000, "two-sided"),
    (0.05, 0.3, 500, "lower"),
    (0.3, 0.3, 200, "lower"),  # tie again
)


def coverage(sims: int, seed: int) -> None:
    print(
        f"\n## Frequentist coverage over {sims} simulated attacks per setting "
        f"(nominal 95%, delta = {DELTA:g})\n"
    )
    print(
        "FP ~ Binomial(n, FPR), FN ~ Binomial(n, FNR); coverage = share of intervals holding "
        "epsilon_from_rates(FPR, FNR, delta); +- one Monte Carlo standard error.\n"
    )
    print(
        "| FPR | FNR | n per class | bound | true epsilon | Bayesian coverage "
        "| Clopper-Pearson coverage | Bayes median width | CP median width |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    rng = np.random.default_rng(seed)
    for fpr, fnr, n, bound in COVERAGE_SETTINGS:
        eps_true = float(epsilon_from_rates(fpr, fnr, DELTA))
        hits = {"bayes": 0, "cp": 0}
        spans: dict[str, list[float]] = {"bayes": [], "cp": []}
        for _ in range(sims):
            fp, fn = int(rng.binomial(n, fpr)), int(rng.binomial(n, fnr))
            counts = {"fp": fp, "fn": fn, "tn": n - fp, "tp": n - fn}
            for name, function in (("bayes", bayesian_epsilon), ("cp", clopper_pearson_epsilon)):
                r = function(**counts, delta=DELTA, confidence=CONFIDENCE, bound=bound)
                hits[name] += r.ci_low <= eps_true <= r.ci_high
                spans[name].append(r.ci_high - r.ci_low)
        cells = []
        for name in ("bayes", "cp"):
            p = hits[name] / sims
            cells.append(f"{p:.3f} +- {math.sqrt(p * (1 - p) / sims):.3f}")
        med = [float(np.median(spans[k])) for k in ("bayes", "cp")]
        width_cells = "| - | - |" if bound == "lower" else f"| {med[0]:.3f} | {med[1]:.3f} |"
        print(
            f"| {fpr:g} | {fnr:g} | {n} | {bound} | {eps_true:.3f} | {cells[0]} | {cells[1]} "
            + width_cells,
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=21, help="timed runs per speed case")
    parser.add_argument("--baseline-cases", type=int, default=2)
    parser.add_argument("--baseline-repeats", type=int, default=1)
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--sims", type=int, default=1000, help="simulations per coverage setting")
    parser.add_argument("--seed", type=int, default=20240611)
    args = parser.parse_args()
    start = time.perf_counter()
    print(
        f"<!-- bench_privacy.py on {platform.node()}, {os.cpu_count()} CPUs, "
        f"{datetime.datetime.now().isoformat(timespec='minutes')}, load average at start "
        f"{os.getloadavg()[0]:.2f}, numpy {np.__version__} -->\n"
    )
    speed(args.repeats, 0 if args.skip_baseline else args.baseline_cases, args.baseline_repeats)
    widths()
    coverage(args.sims, args.seed)
    print(
        f"\n<!-- total {time.perf_counter() - start:.0f} s; load average at end "
        f"{os.getloadavg()[0]:.2f} -->"
    )


if __name__ == "__main__":
    main()
