"""Compare several models' predictions on one test set: the `evaluate compare` workflow.

:func:`compare_predictions` is the front door: the true labels and a mapping of
predictions, or a log (a DataFrame, a CSV/Parquet file or a glob) with a truth column
and one column of predicted labels per model. It checks the settings once, then runs the
comparison in memory or over the log's partitions (:mod:`varkit.evaluate.logs`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from varkit.checks import resolve_seed
from varkit.engine import check_engine, dask_client
from varkit.errors import VarkitError, VarkitTypeError
from varkit.evaluate._inputs import check_predictions, co_correct, correct_matrix
from varkit.evaluate.bootstrap_metrics import paired_bootstrap_difference
from varkit.evaluate.logs import compare_log
from varkit.evaluate.pairwise import compare_from_counts, model_pairs
from varkit.gpu import resolve_device
from varkit.gpu.logs import LOG_ENGINES, log_scheme
from varkit.io import (
    ROW_ID,
    Column,
    Log,
    expand_paths,
    log_inputs,
    log_source,
    read_header,
    read_log,
    read_table,
)
from varkit.results import ResultSet, make_provenance

__all__ = ["MAX_IMPLICIT_MODELS", "MAX_MODELS", "compare_predictions", "model_columns"]

# Every pair of models gets a McNemar test and a 9,999-replicate paired bootstrap (about
# 0.07 s of CPU each, measured on 2 loaded cores): 20 models are 190 pairs (about 15 s),
# 50 are 1,225 (about 1.5 min); 3,000 columns would be 4.5 million pairs (days).
MAX_IMPLICIT_MODELS = 20
MAX_MODELS = 50


def _listed_models(models: str | Sequence[str]) -> list[str]:
    text = isinstance(models, str)
    listed = models.split(",") if isinstance(models, str) else [str(m) for m in models]
    names = [m.strip() for m in listed if m.strip()]
    if len(names) < 2:
        how = ", separated by commas" if text else ""
        raise VarkitError(f"`models` must name at least 2 prediction columns{how}.")
    twice = sorted({m for m in names if names.count(m) > 1})
    if twice:
        raise VarkitError(f"`models` lists column '{twice[0]}' twice.")
    if len(names) > MAX_MODELS:
        raise VarkitError(
            f"`models` lists {len(names)} columns; at most {MAX_MODELS} models can be "
            f"compared pairwise ({MAX_MODELS * (MAX_MODELS - 1) // 2} pairs)."
        )
    return names


def model_columns(
    log: Log, truth: str, models: str | Sequence[str] | None, row_id: str | None = None
) -> list[str]:
    """The prediction columns to compare: ``models``, or every column but the truth and ids.

    ``models`` may be a comma-separated string. Without it the log's header is read
    (a glob: its first file's) and at most :data:`MAX_IMPLICIT_MODELS` columns are taken.

    Examples
    --------
    >>> import pandas as pd
    >>> model_columns(pd.DataFrame(columns=["id", "y_true", "a", "b"]), "y_true", None)
    ['a', 'b']
    >>> model_columns("unused.csv", "y_true", "a, b")
    ['a', 'b']
    """
    if models is not None:
        names = _listed_models(models)
    else:
        where = "the log" if isinstance(log, pd.DataFrame) else str(log)
        names = [c for c in _header(log, truth) if c not in (truth, "id", row_id)]
        if len(names) < 2:
            raise VarkitError(
                f"{where}: need at least 2 prediction columns besides '{truth}', found "
                f"{len(names)}."
            )
        if len(names) > MAX_IMPLICIT_MODELS:
            raise VarkitError(
                f"{where}: {len(names)} prediction columns besides '{truth}' would be "
                f"{len(names) * (len(names) - 1) // 2} pairwise comparisons; choose at most "
                f"{MAX_MODELS} with `models` (without it at most {MAX_IMPLICIT_MODELS} are "
                "compared)."
            )
    if truth in names:
        raise VarkitError(f"`models` lists the truth column '{truth}'.")
    return names


def _header(log: Log, truth: str) -> list[str]:
    if isinstance(log, pd.DataFrame):
        return [str(c) for c in log.columns]
    paths = expand_paths(log)
    if len(paths) == 1:
        return [str(c) for c in read_table(paths[0], [Column(truth, "label")]).columns]
    return read_header(paths[0])  # a glob: every file is checked when it is read


def _compare_arrays(
    y_true: Any, predictions: Mapping[str, Any], *, scheme: str, row_ids: Any, **settings: Any
) -> ResultSet:
    """The comparison of predictions held in memory."""
    if not isinstance(predictions, Mapping):
        raise VarkitTypeError("`predictions` must map model names to predicted labels.")
    names = [str(k) for k in predictions]
    truth, preds, names = check_predictions(
        y_true, list(predictions.values()), min_models=2, names=names
    )
    correct = correct_matrix(truth, preds)
    counts = {
        k: settings.pop(k) for k in ("interval", "mcnemar_method", "correction", "alternative")
    }
    differences = [
        paired_bootstrap_difference(
            truth,
            preds[i],
            preds[j],
            names=(names[i], names[j]),
            scheme=scheme,
            row_ids=row_ids,
            **settings,
        )
        for i, j in model_pairs(names)
    ]
    return compare_from_counts(
        co_correct(correct),
        truth.size,
        names,
        differences,
        confidence=settings["confidence"],
        **counts,
    )


def compare_predictions(
    log: Any,
    predictions: Mapping[str, Any] | None = None,
    *,
    truth: str = "y_true",
    models: str | Sequence[str] | None = None,
    interval: str = "wilson",
    mcnemar_method: str = "exact",
    correction: str = "holm",
    alternative: str = "two-sided",
    n_resamples: int = 9999,
    confidence: float = 0.95,
    random_state: Any = None,
    device: str = "auto",
    scheme: str | None = None,
    row_ids: Any = None,
    engine: str = "memory",
    scheduler: str | None = None,
    row_id: str | None = None,
    rows_per_partition: int | None = None,
) -> ResultSet:
    """Accuracy of each model, pairwise McNemar tests and paired bootstrap differences.

    Parameters
    ----------
    log : DataFrame, str, list of str, or array-like
        The predictions log (one row per test example): a DataFrame, a CSV/Parquet
        file, a glob or a list of files, with the ``truth`` column and one column of
        predicted labels per model. With ``predictions`` given: the true labels.
    predictions : mapping of str to array-like of shape (n,), optional
        Predicted labels of each model (at least two), when ``log`` holds the labels.
    truth : str
        Column of true labels in the log.
    models : str or sequence of str, optional
        Prediction columns (a list or comma-separated); default every column but
        ``truth``, ``id`` and ``row_id`` (at most :data:`MAX_IMPLICIT_MODELS`).
    interval : str
        Binomial interval of each accuracy (:func:`proportion_ci`).
    mcnemar_method : str
        Method of the pairwise McNemar tests (:func:`mcnemar`).
    correction : str
        Multiple-comparison adjustment of the pairwise McNemar p-values
        (:func:`adjust_pvalues`).
    alternative : {'two-sided', 'less', 'greater'}
        Of each pair's McNemar test: ``greater`` asks whether the pair's first model
        (in the order of ``models``) is more accurate than the second. The accuracy
        differences keep their two-sided intervals.
    n_resamples, confidence, device
        Paired bootstrap of each accuracy difference (BCa on the engine).
    random_state : None, int or numpy.random.Generator
        Seed, resolved once (every pair's bootstrap uses it) and written in the
        provenance.
    scheme : {'multinomial', 'poisson'}, optional
        Resampling of the paired bootstrap; default multinomial in memory, Poisson
        weights (keyed on the row ids) on the partitioned engines. ``poisson`` in memory
        gives the intervals of the partitioned comparison for the same seed.
    row_ids : array-like of int, optional
        With ``predictions``: non-negative row ids keying the Poisson weights (default:
        positions 0..n-1).
    engine : {'memory', 'chunks', 'dask'}
        Read the log whole, piece by piece, or as a Dask graph
        (:func:`varkit.evaluate.logs.compare_log`).
    scheduler, row_id, rows_per_partition
        The Dask scheduler, the column of stable row ids and the rows per piece.

    Returns
    -------
    ResultSet
        ``accuracy`` per model; per pair ``mcnemar`` (adjusted p-value, raw in details) and
        ``accuracy_difference`` (paired bootstrap interval); ``cochrans_q`` over all models
        when there are three or more. The provenance names the function, the input files,
        the seed and the device.

    Examples
    --------
    >>> from varkit.datasets.evaluate import load_predictions_example
    >>> log = load_predictions_example()
    >>> rs = compare_predictions(log, models=["forest", "baseline"], n_resamples=999,
    ...                          random_state=0, device="cpu")
    >>> [r.metric for r in rs]
    ['accuracy', 'accuracy', 'mcnemar', 'accuracy_difference']
    >>> same = compare_predictions(log["y_true"], {m: log[m] for m in ("forest", "baseline")},
    ...                            n_resamples=999, random_state=0, device="cpu")
    >>> same[3].ci_low == rs[3].ci_low, rs.provenance["seed"]
    (True, 0)
    """
    check_engine(
        engine, scheduler=scheduler, rows_per_partition=rows_per_partition, allowed=LOG_ENGINES
    )
    chosen = log_scheme(scheme, engine)
    seed = resolve_seed(random_state)
    settings: dict[str, Any] = {
        "interval": interval,
        "mcnemar_method": mcnemar_method,
        "correction": correction,
        "alternative": alternative,
        "n_resamples": n_resamples,
        "confidence": confidence,
        "random_state": seed,
        "device": device,
    }
    if predictions is not None:
        if engine != "memory":
            raise VarkitError(f"`engine` {engine} reads a log: give it in place of `predictions`.")
        results = _compare_arrays(log, predictions, scheme=chosen, row_ids=row_ids, **settings)
        inputs: list[str] = []
    else:
        if engine == "memory" and row_id is not None and chosen != "poisson":
            raise VarkitError("`row_id` keys Poisson weights: it needs `scheme` poisson.")
        names = model_columns(log, truth, models, row_id)
        if engine == "memory":
            results = _compare_log_in_memory(log, truth, names, row_id, chosen, settings)
        else:
            source = log_source(log, engine, row_id=row_id, rows_per_partition=rows_per_partition)
            with dask_client(scheduler) as client:
                results = compare_log(
                    source, truth, names, engine=engine, client=client, **settings
                )
        inputs = log_inputs(log)
    provenance = make_provenance(
        function="varkit.evaluate.compare_predictions",
        inputs=inputs,
        seed=seed,
        device=resolve_device(device).device,  # what ran, not what was asked ("auto")
    )
    return ResultSet(results.results, provenance)


def _compare_log_in_memory(
    log: Log,
    truth: str,
    names: list[str],
    row_id: str | None,
    scheme: str,
    settings: dict[str, Any],
) -> ResultSet:
    columns = [Column(truth, "label"), *(Column(m, "label") for m in names)]
    with warnings.catch_warnings():
        # the reader adds its row-id column to the frame of every column of the file;
        # on a wide file pandas warns about fragmentation (speed only, not results).
        warnings.simplefilter("ignore", pd.errors.PerformanceWarning)
        table = read_log(log, columns, row_id=row_id)
    return _compare_arrays(
        table[truth].to_numpy(),
        {m: table[m].to_numpy() for m in names},
        scheme=scheme,
        row_ids=table[ROW_ID].to_numpy() if scheme == "poisson" else None,
        **settings,
    )
