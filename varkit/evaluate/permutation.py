"""Paired permutation test of two models' scores (per data set, split or test example)."""

from __future__ import annotations

from typing import Any

import numpy as np

from varkit.errors import VarkitError
from varkit.gpu import permutation_test
from varkit.results import Result

__all__ = ["paired_permutation_test"]


def paired_permutation_test(
    scores1: Any,
    scores2: Any,
    *,
    names: tuple[str, str] = ("model_1", "model_2"),
    metric: str = "score_difference",
    n_resamples: int = 9999,
    alternative: str = "two-sided",
    random_state: Any = None,
    device: str = "auto",
) -> Result:
    """Sign-flip permutation test that two models' paired scores have the same mean.

    Under H0 each paired difference is as likely to have either sign, so the null
    distribution of the mean difference comes from flipping signs (exact when
    ``2^n <= n_resamples``, else Monte Carlo), run on the engine
    :func:`varkit.gpu.permutation_test`. Use it on per-data-set scores across data sets
    (Demsar 2006 recommends Wilcoxon or a sign test there; this test keeps the scale of
    the differences) or on per-example correctness (0/1) of two models on one test set.
    Do not use it on the folds of one CV run: fold differences are correlated (use
    :func:`varkit.evaluate.corrected_resampled_ttest`).

    Examples
    --------
    >>> a = [0.81, 0.75, 0.90, 0.66, 0.72, 0.85]
    >>> b = [0.78, 0.74, 0.86, 0.61, 0.73, 0.80]
    >>> r = paired_permutation_test(a, b, random_state=0, device="cpu")
    >>> round(r.estimate, 4), r.pvalue  # exact: 6 of the 64 sign vectors are as extreme
    (0.0283, 0.09375)
    """
    x = np.asarray(scores1, dtype=float)
    y = np.asarray(scores2, dtype=float)
    if x.ndim != 1 or x.shape != y.shape or x.size < 2:
        raise VarkitError("`scores1` and `scores2` must be 1-D of the same length, at least 2.")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise VarkitError("`scores1` or `scores2` contains NaN or infinite values.")
    result = permutation_test(
        x,
        y,
        paired=True,
        n_resamples=n_resamples,
        alternative=alternative,
        random_state=random_state,
        device=device,
    )
    a, b = names
    return result.replace(
        metric=metric, group={"comparison": f"{a}-{b}", "model_1": a, "model_2": b}
    )
