"""Per-ad metrics and bootstrap of a log larger than memory: spill by ad, then one bucket at a time.

The per-ad bootstrap resamples an ad's users, so it needs the log reduced to one row per
(ad, user): about as many rows as the log itself when users see an ad on one or two days.
Merging such reductions chunk by chunk (:func:`~varkit.fairness.counts.
count_delivery_chunks`) keeps the whole (ad, user) table in memory, and more. Ads are
independent, though, so :func:`vrs_metrics_chunks` works in two passes:

1. each chunk is reduced to its (ad, user) counts and its rows are appended, by ad, to one
   of ``buckets`` spill files in a temporary folder. A spill file holds a contiguous range
   of the eligible table's sorted ads (about ``n_ads / buckets`` of them);
2. consecutive spill files are read back while their rows add up to at most
   ``bucket_rows`` (a single larger file is read alone), merged into that range's
   (ad, user) counts, and handed to :func:`~varkit.fairness.metrics.vrs_metrics` with the
   eligible rows of the same ads.

**Memory.** Pass 1 holds one chunk and its reduction, O(chunk rows). Pass 2 holds one
group of spill files, O(max(``bucket_rows``, largest spill file)) rows, where a spill file
has about ``n_rows / buckets`` rows when delivery is spread over many ads (never fewer than
the largest ad's users: an ad is never split). Besides these, only per-ad values are kept:
the eligible counts and the results, O(n_ads). So for a fixed chunk size, ``bucket_rows``
and ``n_rows / buckets``, peak memory does not grow with the log.

**Same results as in memory.** The buckets are contiguous ranges of the sorted ads and are
processed in order with one random generator, and each ad's rows are its users in sorted
order as in the one-shot reduction: every ad consumes the same random numbers as in
``vrs_metrics(whole_log, ...)`` (the engine's counter-based weights are keyed on the seed
drawn for the ad and the user's position). Results are identical for integer impressions
and hard labels, and equal to float rounding for soft memberships or fractional (noisy)
impressions, whose sums are added in another order.

Spill files are pickles written and read by this module only, in a folder removed at the
end (pickle keeps the key dtypes exactly, needs no optional dependency, and is never used
on foreign files here).

Examples
--------
>>> from varkit.datasets.fairness import load_impressions_example, load_eligible_example
>>> from varkit.fairness import vrs_metrics
>>> log, eligible = load_impressions_example(), load_eligible_example()
>>> chunks = (log.iloc[i : i + 500] for i in range(0, len(log), 500))
>>> rs = vrs_metrics_chunks(chunks, eligible, "sex", n_resamples=50, random_state=0,
...                         buckets=4, bucket_rows=1000)
>>> rs == vrs_metrics(log, eligible, "sex", n_resamples=50, random_state=0)
True
"""

from __future__ import annotations

import os
import pickle
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO, Any

import numpy as np
import pandas as pd

from varkit.errors import VarkitError, VarkitTypeError
from varkit.fairness.counts import (
    DeliveryCounts,
    EligibleCounts,
    _cells,
    _levels,
    count_delivery,
    count_delivery_chunks,
)
from varkit.fairness.metrics import VrsOptions, checked_eligible, vrs_of_counts
from varkit.results import Result, ResultSet

__all__ = ["vrs_metrics_chunks"]


def _validate_chunked(chunks: Any, buckets: Any, bucket_rows: Any, spill_dir: Any) -> None:
    if isinstance(chunks, (str, bytes, os.PathLike, pd.DataFrame)) or not isinstance(
        chunks, Iterable
    ):
        raise VarkitTypeError(
            "`chunks` must be an iterable of DataFrames (e.g. pandas.read_csv(path, "
            f"chunksize=...)), got {type(chunks).__name__}."
        )
    for name, value in (("buckets", buckets), ("bucket_rows", bucket_rows)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise VarkitError(f"`{name}` must be a positive integer, got {value!r}.")
    if spill_dir is not None and not os.path.isdir(spill_dir):
        raise VarkitError(f"`spill_dir` {os.fspath(spill_dir)!r} is not an existing folder.")


def vrs_metrics_chunks(
    chunks: Iterable[pd.DataFrame],
    eligible: pd.DataFrame | EligibleCounts,
    attribute: str,
    *,
    buckets: int = 64,
    bucket_rows: int = 1_000_000,
    spill_dir: str | os.PathLike[str] | None = None,
    random_state: int | np.random.Generator | None = None,
    **options: Any,
) -> ResultSet:
    """:func:`~varkit.fairness.metrics.vrs_metrics` of a log read in chunks, in bounded memory.

    The method of :func:`varkit.fairness.vrs` with ``engine="chunks"``.

    Parameters
    ----------
    chunks : iterable of pandas.DataFrame
        The delivery log in pieces, e.g. ``pandas.read_csv(path, chunksize=1_000_000)``
        or Parquet record batches; columns as for ``vrs_metrics``. Read once.
    eligible : pandas.DataFrame or EligibleCounts
        The eligible table (held in memory: one row per ad and group).
    attribute : str
    buckets : int, default 64
        Spill files, each a contiguous range of about ``n_ads / buckets`` sorted ads.
        Raise it for logs of more than about ``buckets * bucket_rows`` rows.
    bucket_rows : int, default 1_000_000
        Spill files are read back together while their (ad, user) rows add up to at most
        this; it and the chunk size set the peak memory (see the module docstring).
    spill_dir : path, optional
        Folder for the temporary spill folder (default: the system's temporary folder).
    random_state : None, int or numpy.random.Generator
    **options
        ``unit``, ``threshold``, ``confidence``, ``n_resamples``, ``scheme``,
        ``interval``, ``eligible_sampling``, ``redraw_membership``,
        ``delivered_noise_scale``, ``drop_groups``, ``estimate``, ``tolerance``,
        ``device`` and ``noise``, as for :func:`~varkit.fairness.metrics.vrs_metrics`
        (not ``calibration``: the memory engine only).

    Returns
    -------
    ResultSet
        The results ``vrs_metrics`` gives on the whole log, in the same order (identical
        for hard labels and integer impressions, to float rounding otherwise).

    Raises
    ------
    ValueError
        The input faults of ``vrs_metrics`` (row numbers in messages about a chunk count
        from that chunk's first row), and ``chunks`` yielding nothing.

    Notes
    -----
    Point metrics in impressions (``n_resamples=0``) need per-ad sums only: they are
    merged in memory (:func:`~varkit.fairness.counts.count_delivery_chunks` with
    ``by_user=False``, O(n_ads)) without spilling.

    Examples
    --------
    Two chunks, ads spilled to four files and read back about 500 rows at a time: the
    results of the whole log in memory.

    >>> from varkit.datasets.fairness import load_impressions_example, load_eligible_example
    >>> from varkit.fairness import vrs_metrics
    >>> log, eligible = load_impressions_example(), load_eligible_example()
    >>> chunks = [log.iloc[:2000], log.iloc[2000:]]
    >>> rs = vrs_metrics_chunks(chunks, eligible, "sex", n_resamples=20, random_state=1,
    ...                         buckets=4, bucket_rows=500, unit="reach")
    >>> rs == vrs_metrics(log, eligible, "sex", n_resamples=20, random_state=1, unit="reach")
    True
    """
    _validate_chunked(chunks, buckets, bucket_rows, spill_dir)
    checked = VrsOptions.from_keywords(attribute, options)
    elig = checked_eligible(eligible, checked)
    count_options: dict[str, Any] = dict(
        groups=elig.groups,
        drop_groups=checked.drop_groups,
        allow_negative=checked.delivered_noise_scale > 0,
    )
    if not checked.n_resamples and checked.unit == "impressions":
        per_ad = count_delivery_chunks(chunks, attribute, by_user=False, **count_options)
        return vrs_of_counts(per_ad, elig, checked, random_state)
    with tempfile.TemporaryDirectory(prefix="varkit-fairness-", dir=spill_dir) as folder:
        spill = _Spill(folder, elig, attribute, buckets)
        try:
            for chunk in chunks:
                spill.add(count_delivery(chunk, attribute, by_user=True, **count_options))
        finally:
            spill.close()
        spill.check()
        rng = np.random.default_rng(random_state)
        results: list[Result] = []
        for first_ad, stop_ad in spill.groups(bucket_rows):
            counts = spill.read(first_ad, stop_ad)
            results.extend(vrs_of_counts(counts, spill.eligible(first_ad, stop_ad), checked, rng))
            del counts
    return ResultSet(tuple(results))


class _Spill:
    """Pass 1's spill files (one per range of sorted eligible ads) and pass 2's reads.

    A spill record is one chunk's rows of one file as plain arrays: each row's ad as its
    position among the eligible table's sorted ads, its user as a code into the record's
    sorted distinct users, and its ``impressions`` and group counts. Plain arrays pickle
    and merge without pandas' per-object costs.
    """

    def __init__(self, folder: str, elig: EligibleCounts, attribute: str, buckets: int) -> None:
        self.folder = folder
        self.elig = elig
        self.attribute = attribute
        self.ads = pd.Index(np.asarray(elig.counts.index).astype(str), dtype=object)
        n_ads = len(self.ads)
        self.n_files = max(1, min(buckets, n_ads))
        # file f holds the sorted ads [edges[f], edges[f + 1])
        self.edges = (np.arange(self.n_files + 1) * n_ads) // self.n_files
        self.rows = np.zeros(self.n_files, dtype=np.int64)
        self.handles: dict[int, IO[bytes]] = {}
        self.unknown: set[str] = set()
        self.soft: bool | None = None
        self.by_user: bool | None = None
        self.columns = ["impressions", *elig.groups]

    def _path(self, index: int) -> str:
        return os.path.join(self.folder, f"bucket-{index:05d}.pkl")

    def add(self, counts: DeliveryCounts) -> None:
        """Append a chunk's (ad, user) counts to the spill files of their ads."""
        if self.soft is None:
            self.soft, self.by_user = counts.soft, counts.by_user
        if counts.soft != self.soft:
            raise VarkitError("`chunks` must all hold hard labels or all p_<group> columns.")
        if counts.by_user != self.by_user:
            raise VarkitError("`chunks` must all have a user_id column or all have none.")
        index = counts.table.index
        if isinstance(index, pd.MultiIndex):
            ad_codes = np.asarray(index.codes[0], dtype=np.int64)
            ad_values = index.levels[0]
            user_codes: np.ndarray | None = np.asarray(index.codes[1], dtype=np.int64)
            user_values: np.ndarray | None = np.asarray(index.levels[1])
        else:
            ad_codes, ad_values = np.arange(len(index)), index
            user_codes = user_values = None
        position = self.ads.get_indexer(pd.Index(np.asarray(ad_values).astype(str)))
        unknown = position < 0
        if unknown.any():
            self.unknown.update(str(v) for v in np.asarray(ad_values)[unknown])
        ad_of_row = position[ad_codes]
        file_of_row = np.searchsorted(self.edges, ad_of_row, side="right") - 1
        file_of_row[ad_of_row < 0] = -1
        values = counts.table[self.columns].to_numpy(dtype=np.float64)
        if not (np.diff(file_of_row) >= 0).all():  # rows are sorted by ad: not expected
            order = np.argsort(file_of_row, kind="stable")
            file_of_row, ad_of_row, values = file_of_row[order], ad_of_row[order], values[order]
            user_codes = None if user_codes is None else user_codes[order]
        present = np.unique(file_of_row)
        bounds = np.searchsorted(file_of_row, present, side="left").tolist() + [len(file_of_row)]
        for f, start, stop in zip(present.tolist(), bounds[:-1], bounds[1:], strict=True):
            if f < 0:
                continue
            users: tuple[np.ndarray, np.ndarray] | None = None
            if user_codes is not None and user_values is not None:
                used, codes = np.unique(user_codes[start:stop], return_inverse=True)
                users = (user_values[used], codes.astype(np.int64).ravel())
            record = (ad_of_row[start:stop], users, values[start:stop])
            handle = self.handles.get(f)
            if handle is None:
                handle = self.handles[f] = open(self._path(f), "ab")  # noqa: SIM115
            pickle.dump(record, handle, protocol=pickle.HIGHEST_PROTOCOL)
            self.rows[f] += stop - start

    def close(self) -> None:
        for handle in self.handles.values():
            handle.close()
        self.handles = {}

    def check(self) -> None:
        """The faults only the whole log shows: no rows, ads missing from the table."""
        if self.soft is None:
            raise VarkitError("`chunks` yielded no rows.")
        if self.unknown:
            first = sorted(self.unknown)[0]
            raise VarkitError(
                f"`impressions` has ad {first!r}, which is not in the eligible table for "
                f"{self.attribute!r} ({len(self.unknown)} such ads)."
            )

    def groups(self, bucket_rows: int) -> Iterator[tuple[int, int]]:
        """Ad ranges [first, stop) of consecutive files of at most ``bucket_rows`` rows.

        A group closes before a non-empty file that would take it past ``bucket_rows``,
        so every group holds at least one row (empty files join the group before them).
        """
        start, total = 0, 0
        for f in range(self.n_files):
            rows = int(self.rows[f])
            if total and rows and total + rows > bucket_rows:
                yield int(self.edges[start]), int(self.edges[f])
                start, total = f, 0
            total += rows
        yield int(self.edges[start]), int(self.edges[self.n_files])

    def read(self, first_ad: int, stop_ad: int) -> DeliveryCounts:
        """The (ad, user) counts of the ads [first_ad, stop_ad), as count_delivery gives them.

        Rows are merged by (ad, user) and sorted by ad, then user value: the layout of the
        one-shot reduction, so every ad's users keep their positions.
        """
        files = np.flatnonzero(
            (self.edges[:-1] >= first_ad) & (self.edges[1:] <= stop_ad) & (self.rows > 0)
        )
        ads, values, user_values, user_codes = [], [], [], []
        offset = 0
        for f in files.tolist():
            with open(self._path(f), "rb") as handle:
                while True:
                    try:
                        ad_of_row, users, rows = pickle.load(handle)
                    except EOFError:
                        break
                    ads.append(ad_of_row - first_ad)
                    values.append(rows)
                    if users is not None:
                        user_values.append(users[0])
                        user_codes.append(users[1] + offset)
                        offset += len(users[0])
            os.remove(self._path(f))
        local_ad = np.concatenate(ads)
        data = np.concatenate(values)
        del ads, values
        present = np.bincount(local_ad, minlength=stop_ad - first_ad) > 0
        ad_names = pd.Index(self.ads[first_ad:stop_ad][present], dtype=object)
        ad_code = (np.cumsum(present) - 1)[local_ad]
        if self.by_user:
            user_levels, rank = _levels(np.concatenate(user_values), as_str=False)
            user_code = rank[np.concatenate(user_codes)]
            cell, cell_codes = _cells([ad_code, user_code], [len(ad_names), len(user_levels)])
        else:
            cell, cell_codes = ad_code, [np.arange(len(ad_names))]
        n_cells = len(cell_codes[0])
        table = pd.DataFrame(
            {
                column: np.bincount(cell, weights=data[:, j], minlength=n_cells)
                for j, column in enumerate(self.columns)
            }
        )
        if self.by_user:
            table.index = pd.MultiIndex(
                levels=[ad_names, user_levels], codes=cell_codes, names=["ad_id", "user_id"]
            )
        else:
            table.index = ad_names.rename("ad_id")
        assert self.soft is not None
        return DeliveryCounts(self.attribute, tuple(self.elig.groups), table, self.soft)

    def eligible(self, first_ad: int, stop_ad: int) -> EligibleCounts:
        rows = slice(first_ad, stop_ad)
        return EligibleCounts(
            self.elig.attribute,
            self.elig.groups,
            self.elig.counts.iloc[rows],
            self.elig.noise_scale.iloc[rows],
            self.elig.info,
        )
