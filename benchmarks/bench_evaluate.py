"""varkit.evaluate against mlxtend.evaluate, measured in the same run.

Three speed goals of the evaluate issue, each timed for varkit and for mlxtend in one
process, interleaved (mlxtend, varkit, mlxtend, varkit, ...), medians reported:

1. ``paired_ttest_5x2cv`` and ``combined_ftest_5x2cv`` together, RandomForest (100 trees)
   vs LogisticRegression on 20,000 rows of ``make_classification``. mlxtend needs two
   calls (20 fits per model, sequential); varkit's ``five_by_two_cv`` fits once (10 per
   model) with ``n_jobs=-1``. Goal: varkit at least 3x faster on 2 cores. Both use the
   same splits (``split_seeding="mlxtend"``), so the statistics must agree exactly; the
   script checks it.
2. Cochran's Q and Looney's F-test with 12 models on 10,000 rows. Goal: at least 100x.
3. ``.632+`` on 20,000 rows, 200 rounds: varkit's time per round (LogisticRegression, all
   200 rounds; RandomForest, ``--rf-rounds`` rounds). mlxtend's no-information rate loops
   over all n^2 (label, prediction) pairs in Python; it is timed at small n and its time at
   n = 20,000 extrapolated as O(n^2) (running it would take hours).

mlxtend is the baseline and is not a varkit dependency: run in an environment with both::

    python -m venv /tmp/mlx && /tmp/mlx/bin/pip install -e . mlxtend
    /tmp/mlx/bin/python benchmarks/bench_evaluate.py            # about 10 minutes on 2 cores
    /tmp/mlx/bin/python benchmarks/bench_evaluate.py --quick    # smaller, for a smoke test

Prints Markdown for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

import varkit
from varkit.evaluate import bootstrap_632_score, cochrans_q, five_by_two_cv, ftest


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def _row(name: str, times: list[float]) -> str:
    runs = ", ".join(f"{t:.3g}" for t in times)
    return f"| {name} | {statistics.median(times):.4g} | {runs} |"


def bench_5x2cv(n_rows: int, repeats: int) -> list[str]:
    from mlxtend.evaluate import combined_ftest_5x2cv, paired_ttest_5x2cv

    X, y = make_classification(n_samples=n_rows, n_features=20, n_informative=10, random_state=0)
    rf = RandomForestClassifier(n_estimators=100, random_state=0)
    lr = LogisticRegression(max_iter=1000)

    def mlx() -> tuple[Any, Any]:
        t = paired_ttest_5x2cv(rf, lr, X, y, random_seed=1)
        f = combined_ftest_5x2cv(rf, lr, X, y, random_seed=1)
        return t, f

    def vk() -> Any:
        return five_by_two_cv(rf, lr, X, y, random_state=1, split_seeding="mlxtend", n_jobs=-1)

    t_mlx: list[float] = []
    t_vk: list[float] = []
    for _ in range(repeats):
        dt, (mt, mf) = _timed(mlx)
        t_mlx.append(dt)
        dt, rs = _timed(vk)
        t_vk.append(dt)
    # same splits, same statistics: the comparison is like for like
    np.testing.assert_allclose([rs[0].statistic, rs[0].pvalue], mt, rtol=1e-9)
    np.testing.assert_allclose([rs[1].statistic, rs[1].pvalue], mf, rtol=1e-9)
    ratio = statistics.median(t_mlx) / statistics.median(t_vk)
    return [
        f"**(1) 5x2cv t-test + combined F-test**, RandomForest(100) vs LogisticRegression, "
        f"{n_rows:,} rows, {repeats} interleaved runs each (statistics identical: "
        f"t = {rs[0].statistic:.6g}, F = {rs[1].statistic:.6g})",
        "",
        "| method | median s | runs (s) |",
        "|---|---|---|",
        _row("mlxtend `paired_ttest_5x2cv` + `combined_ftest_5x2cv` (2 calls, 40 fits)", t_mlx),
        _row("varkit `five_by_two_cv(..., n_jobs=-1)` (1 call, 20 fits)", t_vk),
        "",
        f"mlxtend / varkit = **{ratio:.2f}x** (goal >= 3x).",
        "",
    ]


def bench_many_models(n_rows: int, n_models: int, repeats: int) -> list[str]:
    from mlxtend.evaluate import cochrans_q as mlx_q
    from mlxtend.evaluate import ftest as mlx_f

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, n_rows)
    preds = [np.where(rng.random(n_rows) < 0.7, y, 1 - y) for _ in range(n_models)]
    lines = [
        f"**(2) Cochran's Q and Looney's F**, {n_models} models, {n_rows:,} rows, "
        f"{repeats} interleaved runs each",
        "",
        "| method | median s | runs (s) |",
        "|---|---|---|",
    ]
    summary = []
    for name, ours, theirs in (("Cochran's Q", cochrans_q, mlx_q), ("F-test", ftest, mlx_f)):
        t_mlx: list[float] = []
        t_vk: list[float] = []
        for _ in range(repeats):
            dt, (m_stat, m_p) = _timed(lambda theirs=theirs: theirs(y, *preds))
            t_mlx.append(dt)
            dt, res = _timed(lambda ours=ours: ours(y, *preds))
            t_vk.append(dt)
        np.testing.assert_allclose([res.statistic, res.pvalue], [m_stat, m_p], rtol=1e-7)
        lines.append(_row(f"mlxtend `{theirs.__name__}`", t_mlx))
        lines.append(_row(f"varkit `{ours.__name__}`", t_vk))
        summary.append(
            f"{name}: **{statistics.median(t_mlx) / statistics.median(t_vk):.0f}x** (goal >= 100x)"
        )
    agree = "Statistics and p-values agree to 1e-7 (relative)."
    return [*lines, "", "; ".join(summary) + ". " + agree, ""]


def bench_632(n_rows: int, lr_rounds: int, rf_rounds: int, small_n: list[int]) -> list[str]:
    from mlxtend.evaluate import bootstrap_point632_score

    X, y = make_classification(n_samples=n_rows, n_features=20, n_informative=10, random_state=0)
    lr = LogisticRegression(max_iter=1000)
    rf = RandomForestClassifier(n_estimators=100, random_state=0)
    dt_lr, r_lr = _timed(
        lambda: bootstrap_632_score(
            lr, X, y, method=".632+", n_splits=lr_rounds, random_state=0, n_jobs=-1
        )
    )
    dt_rf, r_rf = _timed(
        lambda: bootstrap_632_score(
            rf, X, y, method=".632+", n_splits=rf_rounds, random_state=0, n_jobs=-1
        )
    )
    lines = [
        f"**(3) .632+ bootstrap**, {n_rows:,} rows, `n_jobs=-1`",
        "",
        "| model | rounds | total s | s per round | .632+ error [95% CI] |",
        "|---|---|---|---|---|",
        f"| LogisticRegression | {lr_rounds} | {dt_lr:.3g} | {dt_lr / lr_rounds:.3g} | "
        f"{r_lr.estimate:.4f} [{r_lr.ci_low:.4f}, {r_lr.ci_high:.4f}] |",
        f"| RandomForest(100) | {rf_rounds} | {dt_rf:.3g} | {dt_rf / rf_rounds:.3g} | "
        f"{r_rf.estimate:.4f} [{r_rf.ci_low:.4f}, {r_rf.ci_high:.4f}] |",
        "",
        "mlxtend `bootstrap_point632_score(..., method='.632+', n_splits=1)` (one round; its "
        "no-information rate is O(n^2)):",
        "",
        "| n | s for one round | extrapolated to n = 20,000 as n^2 |",
        "|---|---|---|",
    ]
    for n in small_n:
        dt, _ = _timed(
            lambda n=n: bootstrap_point632_score(
                lr, X[:n], y[:n], method=".632+", n_splits=1, random_seed=0
            )
        )
        lines.append(f"| {n:,} | {dt:.3g} | {dt * (n_rows / n) ** 2 / 3600:.2g} h |")
    return [*lines, ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rf-rounds", type=int, default=10)
    args = parser.parse_args()
    if args.quick:
        n5, nq, lr_rounds, rf_rounds, small = 2_000, 2_000, 20, 2, [300, 600]
    else:
        n5, nq, lr_rounds, rf_rounds, small = 20_000, 10_000, 200, args.rf_rounds, [2000, 4000]
    import mlxtend
    import sklearn

    load = os.getloadavg()[0]
    out = [
        f"### {datetime.date.today()} — {platform.node() or 'host'}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "",
        f"varkit {varkit.__version__}, mlxtend {mlxtend.__version__}, scikit-learn "
        f"{sklearn.__version__}, numpy {np.__version__}. Load average before: {load:.2f}.",
        "",
    ]
    out += bench_many_models(nq, 12, max(args.repeats, 5))
    out += bench_5x2cv(n5, args.repeats)
    out += bench_632(n5, lr_rounds, rf_rounds, small)
    out.append(f"Load average after: {os.getloadavg()[0]:.2f}.")
    print("\n".join(out))


if __name__ == "__main__":
    main()
