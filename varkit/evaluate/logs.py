"""``evaluate compare`` over a partitioned predictions log: per-partition counts and sums.

Every result of :func:`varkit.evaluate.compare_predictions` is a function of sums over
the test rows:

* each model's correct count, the pairwise McNemar tables and Cochran's Q come from the
  (L, L) **co-correct counts** ``C[j, k] = sum_i c_ij c_ik`` (``c_ij`` = model j right on
  row i; Cochran's ``sum_i L_i^2`` is ``sum_{j,k} C[j, k]``);
* the paired Poisson bootstrap of each accuracy difference comes from the ``(B, L + 1)``
  replicate sums ``sum_i w_ib (c_i1, ..., c_iL, 1)``, with the engine's weights keyed
  on (seed, row id, replicate), so one pass serves every pair; BCa's acceleration comes
  from the McNemar table
  (:func:`varkit.evaluate.bootstrap_metrics.accuracy_difference_from_sums`).

Each partition emits these sums plus the label sets it saw (a label predicted but never
true is an error, as in memory); a tree reduction adds them; then the in-memory code
(:func:`varkit.evaluate.compare_from_counts`) finishes. Counts and weighted sums of 0/1
values are whole numbers, exact in float64 in any order, so the point results, McNemar
and Cochran's Q equal the in-memory ones exactly and the bootstrap replicates equal
``compare_predictions(..., scheme="poisson", row_ids=ids)``'s bit for bit (the
intervals to rounding of the acceleration).

Examples
--------
>>> import os, tempfile
>>> import numpy as np, pandas as pd
>>> from varkit.evaluate import compare_predictions
>>> rng = np.random.default_rng(0)
>>> y = rng.integers(0, 2, 400)
>>> log = pd.DataFrame({"y_true": y, "a": np.where(rng.random(400) < 0.8, y, 1 - y),
...                     "b": np.where(rng.random(400) < 0.7, y, 1 - y)})
>>> path = os.path.join(tempfile.mkdtemp(), "preds.csv")
>>> log.to_csv(path, index=False)
>>> rs = compare_log(path, "y_true", ["a", "b"], n_resamples=300, random_state=3,
...                  npartitions=3, engine="chunks", device="cpu")
>>> text = log.astype(str)
>>> ref = compare_predictions(text["y_true"], {"a": text["a"], "b": text["b"]},
...                           n_resamples=300, random_state=3, device="cpu", scheme="poisson")
>>> rs[2].pvalue == ref[2].pvalue, bool(np.isclose(rs[3].ci_low, ref[3].ci_low, rtol=1e-12))
(True, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from varkit.engine.reduce import LogSource, map_reduce
from varkit.errors import VarkitError
from varkit.evaluate._inputs import co_correct, correct_matrix
from varkit.evaluate.bootstrap_metrics import accuracy_difference_from_sums, poisson_options
from varkit.evaluate.mcnemar import pair_table
from varkit.evaluate.pairwise import compare_from_counts, model_pairs
from varkit.gpu.backend import resolve_device
from varkit.gpu.logs import partition_details, poisson_row_sums
from varkit.io import Column
from varkit.io.partitions import ROW_ID
from varkit.results import ResultSet

__all__ = ["compare_log", "compare_partial", "merge_compare_partials"]

# n rows, co-correct counts (L, L), replicate sums (B, L + 1), truth labels, labels
# predicted by each model
Partial = tuple[int, np.ndarray, np.ndarray, set[Any], list[set[Any]]]


def _first_column(statistic_sums: np.ndarray) -> Any:
    return statistic_sums[..., 0]


def compare_partial(
    frame: pd.DataFrame,
    truth: str,
    models: Sequence[str],
    seed: int,
    n_resamples: int,
    device: str,
) -> Partial:
    """One piece's row count, co-correct counts, Poisson replicate sums and label sets."""
    y = frame[truth].to_numpy()
    preds = [frame[m].to_numpy() for m in models]
    correct = correct_matrix(y, preds)
    sums = np.zeros((n_resamples, len(models) + 1))
    if len(frame):
        z = np.ones((len(frame), len(models) + 1))
        z[:, :-1] = correct
        sums[:] = poisson_row_sums(
            z,
            frame[ROW_ID].to_numpy(dtype=np.uint64),
            name="sum",
            combine=_first_column,
            seed=seed,
            n_resamples=n_resamples,
            backend=resolve_device(device),
        )
    return (
        len(frame),
        co_correct(correct),
        sums,
        set(pd.unique(y).tolist()),
        [set(pd.unique(p).tolist()) for p in preds],
    )


def merge_compare_partials(a: Partial, b: Partial) -> Partial:
    """Add two partials (the reduce step); label sets are joined."""
    return (
        a[0] + b[0],
        a[1] + b[1],
        a[2] + b[2],
        a[3] | b[3],
        [x | y for x, y in zip(a[4], b[4], strict=True)],
    )


def _validate_compare_log(truth: str, models: Sequence[str]) -> list[str]:
    names = [str(m) for m in models]
    if len(names) < 2:
        raise VarkitError(f"need predictions of at least 2 models, got {len(names)}.")
    if len(set(names)) != len(names):
        raise VarkitError("`models` must name distinct prediction columns.")
    if truth in names:
        raise VarkitError(f"`models` lists the truth column '{truth}'.")
    return names


def compare_log(
    source: str | LogSource,
    truth: str,
    models: Sequence[str],
    *,
    interval: str = "wilson",
    mcnemar_method: str = "exact",
    correction: str = "holm",
    alternative: str = "two-sided",
    n_resamples: int = 9999,
    confidence: float = 0.95,
    random_state: Any = None,
    device: str = "auto",
    engine: str = "dask",
    row_id: str | None = None,
    npartitions: int | None = None,
    rows_per_partition: int | None = None,
    client: Any = None,
) -> ResultSet:
    """:func:`varkit.evaluate.compare_predictions` of a partitioned predictions log.

    Parameters
    ----------
    source : str or LogSource
        CSV/Parquet path, glob or list of the log (one row per test example), or a
        :class:`~varkit.engine.reduce.LogSource`.
    truth : str
        Column of true labels.
    models : sequence of str
        Columns of predicted labels, one per model (at least two).
    interval, mcnemar_method, correction, alternative, confidence
        As in :func:`~varkit.evaluate.compare_predictions`.
    n_resamples, random_state, device
        Poisson bootstrap of the accuracy differences (BCa), weights keyed on (seed, row
        id, replicate).
    engine : {'dask', 'chunks'}
        A Dask graph (local threads, or ``client``'s cluster) or one process, piece by
        piece.
    row_id, npartitions, rows_per_partition
        Row ids and partitioning (:mod:`~varkit.io.partitions`).
    client : distributed.Client, optional

    Returns
    -------
    ResultSet
        The results of ``compare_predictions(..., scheme="poisson", row_ids=ids)`` on the
        whole log; the differences' ``details`` add ``engine`` and ``n_partitions``.
    """
    names = _validate_compare_log(truth, models)
    opts = poisson_options(n_resamples, confidence, random_state, device)
    if not isinstance(source, LogSource):
        source = LogSource(source, row_id, npartitions, rows_per_partition)
    columns = [Column(truth, "label"), *(Column(m, "label") for m in names)]
    merged, n_parts = map_reduce(
        source,
        columns,
        compare_partial,
        merge_compare_partials,
        args=(truth, names, opts.seed, opts.n_resamples, opts.backend.device),
        engine=engine,
        client=client,
    )
    # Like compare_predictions: one true class, or predicted labels absent from the
    # truth, are valid inputs for accuracies, McNemar and Cochran's Q.
    n, counts, sums, classes, predicted = merged
    details = partition_details(engine, client, n_parts, source)
    differences = [
        accuracy_difference_from_sums(
            sums[:, [i, j, len(names)]],
            pair_table(counts, i, j, n),
            names=(names[i], names[j]),
            n_resamples=opts.n_resamples,
            confidence=confidence,
            random_state=opts.seed,
            device=opts.backend.device,
            details=details,
        )
        for i, j in model_pairs(names)
    ]
    return compare_from_counts(
        counts,
        n,
        names,
        differences,
        interval=interval,
        mcnemar_method=mcnemar_method,
        correction=correction,
        alternative=alternative,
        confidence=confidence,
    )
