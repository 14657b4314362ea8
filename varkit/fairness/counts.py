"""Mergeable per-ad sufficient counts of delivered impressions and eligible audiences.

A delivery log is reduced, chunk by chunk, to one row per ``(ad_id, user_id)`` (or per
``ad_id`` when there are no user ids) holding the impressions and, for every group ``k``
of the attribute, the impression-weighted membership ``sum_rows impressions * p_k``. Hard
labels are one-hot memberships; BISG-style ``p_<group>`` columns are soft ones
(``shared/methods/fairness.md`` section 1.2: counts are sums of probabilities). Two
reductions merge by adding rows with the same key, so a log read in chunks gives the
one-shot counts (exactly for integer impressions and hard labels, to float rounding for
soft memberships), and the same code runs on Dask partitions.

The per-user rows are what the cluster bootstrap resamples; their per-ad sums are the
point metrics' inputs.

Examples
--------
>>> import pandas as pd
>>> log = pd.DataFrame({"ad_id": ["a", "a", "a"], "user_id": ["u1", "u2", "u1"],
...                     "impressions": [2, 1, 1], "sex": ["female", "male", "female"]})
>>> counts = count_delivery(log, "sex")
>>> counts.totals().to_dict("index")
{'a': {'female': 3.0, 'male': 1.0}}
>>> counts.totals(unit="reach").to_dict("index")
{'a': {'female': 1.0, 'male': 1.0}}
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from varkit.errors import VarkitError, VarkitTypeError
from varkit.io import Column

__all__ = [
    "ELIGIBLE_COLUMNS",
    "DeliveryCounts",
    "EligibleCounts",
    "check_noise_scale",
    "count_delivery",
    "count_delivery_chunks",
    "count_eligible",
    "log_columns",
]

PROB_PREFIX = "p_"
UNITS = ("impressions", "reach")

#: The columns of an eligible table, as :func:`varkit.io.read_table` reads them.
ELIGIBLE_COLUMNS = (
    Column("ad_id", "label"),
    Column("attribute", "label"),
    Column("group", "label"),
    Column("eligible", "float"),
    Column("noise_scale", "float", required=False),
)


def log_columns(attribute: str, delivered_noise_scale: float = 0.0) -> list[Column]:
    """The columns of an impressions log for ``attribute``, as :mod:`varkit.io` reads them.

    Impressions are counts, unless DP noise (``delivered_noise_scale > 0``) made them
    real numbers (negative or fractional).

    Examples
    --------
    >>> [c.name for c in log_columns("sex")]
    ['ad_id', 'impressions', 'user_id', 'sex', 'p_']
    >>> log_columns("sex", 2.0)[1].kind
    'float'
    """
    return [
        Column("ad_id", "label"),
        Column("impressions", "count" if delivered_noise_scale == 0 else "float"),
        Column("user_id", "label", required=False),
        Column(attribute, "label", required=False),
        Column("p_", "probability", required=False, prefix=True),
    ]


@dataclass(frozen=True)
class DeliveryCounts:
    """Per-(ad, user) impressions and impression-weighted group memberships.

    Parameters
    ----------
    attribute : str
        The protected attribute (``sex``, ``race`` ...).
    groups : tuple of str
        The attribute's groups, in column order of ``table``.
    table : pandas.DataFrame
        Index ``ad_id`` or ``(ad_id, user_id)``; columns ``impressions`` and one column per
        group with ``sum impressions * membership``.
    soft : bool
        True when memberships came from ``p_<group>`` probabilities.
    info : dict
        Bookkeeping merged with the counts: ``n_rows`` read, ``dropped_impressions``
        (impressions, or probability mass, of groups in ``drop_groups``) and
        ``renormalised_rows`` (probability rows that summed to 1 only within
        ``prob_tolerance``, further than ``ROUNDING_TOLERANCE`` from 1, and were
        rescaled to sum to 1).

    Examples
    --------
    >>> import pandas as pd
    >>> log = pd.DataFrame({"ad_id": ["a", "a", "b"], "user_id": ["u", "v", "u"],
    ...                     "impressions": [2, 1, 4], "sex": ["female", "male", "female"]})
    >>> counts = count_delivery(log, "sex")
    >>> counts.groups, counts.by_user, counts.soft
    (('female', 'male'), True, False)
    >>> counts.table.loc[("a", "u")].tolist()   # impressions, then per group
    [2.0, 2.0, 0.0]
    >>> counts.ads
    ['a', 'b']
    """

    attribute: str
    groups: tuple[str, ...]
    table: pd.DataFrame
    soft: bool
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def by_user(self) -> bool:
        """Whether rows are per (ad, user), so users can be bootstrap clusters."""
        return isinstance(self.table.index, pd.MultiIndex)

    @property
    def ads(self) -> list[str]:
        return list(dict.fromkeys(self.table.index.get_level_values(0)))

    def merge(self, other: DeliveryCounts) -> DeliveryCounts:
        """Counts of the union of two logs (rows with the same key are added).

        Examples
        --------
        >>> import pandas as pd
        >>> a = count_delivery(pd.DataFrame({"ad_id": ["x"], "impressions": [3],
        ...                                  "sex": ["male"]}), "sex")
        >>> b = count_delivery(pd.DataFrame({"ad_id": ["x"], "impressions": [1],
        ...                                  "sex": ["female"]}), "sex")
        >>> a.merge(b).totals().to_dict("index")
        {'x': {'female': 1.0, 'male': 3.0}}
        """
        return _merge_all([self, other])

    def totals(self, unit: str = "impressions") -> pd.DataFrame:
        """Delivered counts per ad (rows) and group (columns) in the given unit.

        ``unit="reach"`` counts each user once per ad, with the user's membership (the
        impression-weighted mean of its rows' memberships); it needs user ids.
        """
        return self.unit_table(unit).groupby(level=0, sort=False).sum()

    def unit_table(self, unit: str = "impressions") -> pd.DataFrame:
        """Per-(ad, user) group counts in the unit: the rows the bootstrap resamples."""
        if unit not in UNITS:
            raise VarkitError(f"`unit` must be 'impressions' or 'reach', got {unit!r}.")
        members = self.table[list(self.groups)]
        if unit == "impressions":
            return members
        if not self.by_user:
            raise VarkitError("`unit`='reach' needs a `user_id` column to count unique users.")
        impressions = self.table["impressions"].to_numpy()
        # A reached user counts once, with its impression-weighted mean membership (one-hot
        # for hard labels; the 'unknown' part, if dropped, stays dropped).
        reached = impressions > 0
        scale = np.where(reached, 1.0 / np.where(reached, impressions, 1.0), 0.0)
        return members.mul(scale, axis=0)


_INFO_KEYS = ("n_rows", "dropped_impressions", "renormalised_rows")

#: How far a row of ``p_<group>`` probabilities may sum from 1 and still count as exact:
#: K probabilities printed to 6 decimals sum to within K * 0.5e-6 of 1 (2e-6 for four
#: BISG groups, as in the bundled example and the simulator's logs), so 1e-5 covers
#: 6-decimal rounding for up to 20 groups, and float error (1e-15) many times over. A
#: row further off (rounded to 4 or fewer decimals, or not normalised) is counted as
#: renormalised. Every row is still divided by its sum: that moves a share by at most
#: 1e-5 within this tolerance, so only the count changes.
ROUNDING_TOLERANCE = 1e-5


@dataclass(frozen=True)
class EligibleCounts:
    """Eligible-audience counts per ad and group for one attribute, with noise scales.

    Parameters
    ----------
    attribute : str
    groups : tuple of str
    counts : pandas.DataFrame
        Index ``ad_id``, one column per group (may be negative when DP noise was added).
    noise_scale : pandas.DataFrame
        Same shape: the Laplace scale ``b`` of the noise in each count (0 when none).
    info : dict
        ``missing_cells``: (ad, group) pairs absent from the table, taken as 0.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"ad_id": ["a", "a"], "attribute": ["sex", "sex"],
    ...                       "group": ["female", "male"], "eligible": [40, 60],
    ...                       "noise_scale": [2.0, 2.0]})
    >>> elig = count_eligible(table, "sex")
    >>> elig.groups, elig.counts.loc["a"].tolist(), elig.noise_scale.loc["a"].tolist()
    (('female', 'male'), [40.0, 60.0], [2.0, 2.0])
    """

    attribute: str
    groups: tuple[str, ...]
    counts: pd.DataFrame
    noise_scale: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)


def _validate_frame(frame: Any, name: str, required: Sequence[str]) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise VarkitTypeError(f"`{name}` must be a pandas DataFrame, got {type(frame).__name__}.")
    if len(frame) == 0:
        raise VarkitError(f"`{name}` has no rows.")
    for column in required:
        if column not in frame.columns:
            raise VarkitError(f"`{name}` has no column {column!r}.")
    return frame


# Largest count a double holds exactly: integer impressions beyond it are not counts.
MAX_EXACT_COUNT = 2**53


def _numeric(
    frame: pd.DataFrame, column: str, name: str, rows: np.ndarray | None = None
) -> np.ndarray:
    """Finite float values of a column; errors name the 1-based row (``rows``: the
    frame's row of each value, 0-based, when ``frame`` is a subset of the caller's)."""
    series = frame[column]
    if isinstance(series.dtype, np.dtype) and series.dtype.kind in "iu":
        return series.to_numpy(dtype=float)  # NumPy integers: never missing, always finite
    try:
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    except OverflowError:  # Python ints of hundreds of digits, in an object column
        values = np.array([_as_float(v) for v in series.tolist()], dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        row = _row(np.flatnonzero(bad)[0], rows)
        raise VarkitError(
            f"`{name}` column {column!r} has a missing, infinite or non-numeric value at row {row}."
        )
    return values


def _as_float(value: Any) -> float:
    """One cell as a float; NaN (reported as non-numeric) when it cannot be one."""
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return math.nan


def _row(position: Any, rows: np.ndarray | None = None) -> int:
    """The 1-based row number (as io.py and a spreadsheet count) of a 0-based position."""
    return int(position if rows is None else rows[int(position)]) + 1


# Largest noise scale accepted: Laplace draws (|x| < 40 b in practice) then stay finite.
MAX_NOISE_SCALE = 1e300


def _noise_scale_invalid(values: Any) -> np.ndarray:
    """The one rule for a Laplace noise scale: in [0, 1e300] (mask of faults; NaN fails)."""
    values = np.asarray(values, dtype=float)
    with np.errstate(invalid="ignore"):
        return ~((values >= 0) & (values <= MAX_NOISE_SCALE))


def check_noise_scale(value: Any, name: str) -> float:
    """A noise-scale argument or option (``name``) as a float, by the rule of the column.

    Examples
    --------
    >>> check_noise_scale(2, "`noise_scale`")
    2.0
    >>> check_noise_scale(-1, "--eligible-noise-scale")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    varkit.errors.VarkitError: --eligible-noise-scale must be a finite non-negative ...
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise VarkitTypeError(f"{name} must be a number (a Laplace scale), got {value!r}.")
    if _noise_scale_invalid(float(value)):
        raise VarkitError(
            f"{name} must be a finite non-negative Laplace scale (at most 1e300), got {value!r}."
        )
    return float(value)


def probability_columns(frame: pd.DataFrame) -> list[str]:
    """The ``p_<group>`` columns of a delivery log, in file order."""
    return [c for c in frame.columns if str(c).startswith(PROB_PREFIX) and len(str(c)) > 2]


def count_delivery(
    frame: pd.DataFrame,
    attribute: str,
    *,
    groups: Sequence[str] | None = None,
    drop_groups: Sequence[str] = ("unknown",),
    prob_tolerance: float = 0.02,
    allow_negative: bool = False,
    by_user: bool = True,
) -> DeliveryCounts:
    """Reduce one chunk of a delivery log to per-(ad, user) sufficient counts.

    Parameters
    ----------
    frame : pandas.DataFrame
        Columns ``ad_id``, ``impressions``, and either a column named ``attribute`` with
        hard group labels or ``p_<group>`` membership probabilities; ``user_id`` optional.
    attribute : str
        The protected attribute to count.
    groups : sequence of str, optional
        Expected groups (e.g. those of the eligible table); a hard label outside them is an
        error. Default: the labels or ``p_`` columns found.
    drop_groups : sequence of str, default ("unknown",)
        Groups left out of both sides (their impressions are counted in
        ``info["dropped_impressions"]``); shares are renormalised over the rest.
    prob_tolerance : float, default 0.02
        How far a row of probabilities may sum from 1 (BISG output is often rounded); rows
        within it are rescaled to sum to 1, rows beyond it are an error. Rows further
        than ``ROUNDING_TOLERANCE`` (1e-5, rounding to 6 decimals) from 1 are counted in
        ``info["renormalised_rows"]``.
    allow_negative : bool, default False
        Accept negative impressions (DP-noised aggregate counts); they are clipped per
        group later, when shares are taken.
    by_user : bool, default True
        Keep one row per (ad, user) when there is a ``user_id`` column (needed by the
        cluster bootstrap and by reach). False gives one row per ad: enough for point
        metrics in impressions and several times faster on large logs.

    Returns
    -------
    DeliveryCounts

    Examples
    --------
    Soft memberships: each impression counts as its probabilities.

    >>> import pandas as pd
    >>> log = pd.DataFrame({"ad_id": ["a", "a"], "impressions": [3, 1],
    ...                     "p_female": [0.9, 0.2], "p_male": [0.1, 0.8]})
    >>> counts = count_delivery(log, "sex")
    >>> counts.soft, counts.totals().round(2).to_dict("index")
    (True, {'a': {'female': 2.9, 'male': 1.1}})
    """
    frame = _validate_frame(frame, "impressions", ("ad_id", "impressions"))
    if not isinstance(attribute, str) or not attribute:
        raise VarkitTypeError("`attribute` must be a non-empty string.")
    impressions = _impressions(frame, allow_negative)
    drop = {str(g) for g in drop_groups}
    info: dict[str, Any] = dict.fromkeys(_INFO_KEYS, 0)
    info["n_rows"] = len(frame)
    keys = ["ad_id", "user_id"] if by_user and "user_id" in frame.columns else ["ad_id"]
    cells = _Cells.of(frame, keys)
    rows = _LogRows(frame, attribute, cells, impressions, groups, drop)
    soft = attribute not in frame.columns
    if soft:
        names, members, cell_impressions = _soft_members(rows, info, prob_tolerance)
    else:
        names, members, cell_impressions = _hard_members(rows, info)
    if len(keys) == 1:
        members, cell_impressions = _collapse(
            members, cell_impressions, cells.level_of, len(cells.levels[0])
        )
    data = pd.DataFrame(members, columns=names)
    data.insert(0, "impressions", cell_impressions)
    if len(keys) == 2:
        data.index = pd.MultiIndex(levels=cells.levels, codes=cells.codes, names=keys)
    else:
        data.index = cells.levels[0].rename("ad_id")
    return DeliveryCounts(attribute, tuple(names), data, soft, info)


def _impressions(frame: pd.DataFrame, allow_negative: bool) -> np.ndarray:
    """The ``impressions`` column: counts, or (``allow_negative``) noisy real numbers."""
    impressions = _numeric(frame, "impressions", "impressions")
    if not allow_negative:
        # impressions are counts: non-negative integers a double holds exactly (noisy DP
        # counts, allow_negative, may be negative and fractional)
        bad = (impressions < 0) | (impressions != np.floor(impressions))
        bad |= impressions > MAX_EXACT_COUNT
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise VarkitError(
                "`impressions` column 'impressions' must hold non-negative integer counts "
                f"(at most 2**53), but row {row + 1} holds {impressions[row]:g}."
            )
    elif (np.abs(impressions) > MAX_EXACT_COUNT).any():
        row = int(np.flatnonzero(np.abs(impressions) > MAX_EXACT_COUNT)[0])
        raise VarkitError(
            "`impressions` column 'impressions' must be at most 2**53 in absolute value, "
            f"but row {row + 1} holds {impressions[row]:g}."
        )
    return impressions


@dataclass(frozen=True)
class _Cells:
    """Each row's key cell (ad, or (ad, user)), and the cells' levels and codes.

    With one key, cells are the ad codes in first-seen order (``level_of`` maps them to
    the sorted ads); with two, cells are the sorted distinct (ad, user) pairs.
    """

    cell: np.ndarray
    n_cells: int
    levels: list[pd.Index]
    codes: list[np.ndarray]
    level_of: np.ndarray

    @classmethod
    def of(cls, frame: pd.DataFrame, keys: list[str]) -> _Cells:
        if len(keys) == 1:
            # One key: rows are reduced over the ad codes in first-seen order and only the
            # reduced table (one row per ad) is put in sorted order, so no pass over the
            # rows maps codes to sorted ranks.
            cell, uniques = _factorize(frame["ad_id"], "missing", "ad_id")
            ad_levels, level_of = _levels(uniques, as_str=True)
            return cls(cell, len(uniques), [ad_levels], [], level_of)
        key_codes, key_levels = [], []
        for key in keys:
            codes, levels = _sorted_codes(frame[key], as_str=key == "ad_id")
            if (codes < 0).any():
                row = int(np.flatnonzero(codes < 0)[0])
                raise VarkitError(f"`impressions` column {key!r} is missing at row {row + 1}.")
            key_codes.append(codes)
            key_levels.append(levels)
        cell, cell_codes = _cells(key_codes, [len(levels) for levels in key_levels])
        return cls(cell, len(cell_codes[0]), key_levels, cell_codes, np.zeros(0, np.int64))


@dataclass(frozen=True)
class _LogRows:
    """What both ways of reading group membership (hard labels, p_<group>) start from."""

    frame: pd.DataFrame
    attribute: str
    cells: _Cells
    impressions: np.ndarray  # per row
    groups: Sequence[str] | None  # the eligible table's, in its order; None: those found
    drop: set[str]


def _hard_members(rows: _LogRows, info: dict[str, Any]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Group names, per-cell impressions by group and per-cell impressions (hard labels)."""
    cell, n_cells = rows.cells.cell, rows.cells.n_cells
    label_codes, label_uniques = _factorize(rows.frame[rows.attribute], "label", rows.attribute)
    labels = np.asarray(label_uniques).astype(str)
    kept_label = ~np.isin(labels, list(rows.drop))
    found = sorted({str(g) for g in labels[kept_label]})
    names = list(rows.groups) if rows.groups is not None else found
    unknown = sorted(set(found) - set(names))
    if unknown:
        raise VarkitError(
            f"`impressions` column {rows.attribute!r} has group {unknown[0]!r}, which the "
            f"eligible table does not list for {rows.attribute!r}."
        )
    # One bincount over the (cell, label) pairs sums every label's impressions at once;
    # the few label columns are then mapped to group columns (dropped labels to an
    # extra last column) on the reduced table, not on the rows.
    n_labels = len(labels)
    by_label = np.bincount(
        cell * n_labels + label_codes, weights=rows.impressions, minlength=n_cells * n_labels
    ).reshape(n_cells, n_labels)
    column_of = np.where(kept_label, pd.Index(names).get_indexer(labels), len(names))
    flat = np.zeros((n_cells, len(names) + 1))
    for j, column in enumerate(column_of.tolist()):
        flat[:, column] += by_label[:, j]
    info["dropped_impressions"] = float(flat[:, -1].sum())
    # every row carries exactly one label: the cell's impressions are its labels' sum
    return names, flat[:, :-1], by_label.sum(axis=1)


def _soft_members(
    rows: _LogRows, info: dict[str, Any], prob_tolerance: float
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Group names, per-cell impressions by group and per-cell impressions (p_<group>)."""
    cell, n_cells = rows.cells.cell, rows.cells.n_cells
    columns = probability_columns(rows.frame)
    if not columns:
        raise VarkitError(
            f"`impressions` has neither a column {rows.attribute!r} nor `p_<group>` "
            f"probability columns for attribute {rows.attribute!r}."
        )
    found = [c[len(PROB_PREFIX) :] for c in columns]
    probs = np.column_stack([_numeric(rows.frame, c, "impressions") for c in columns])
    total = probability_sums(probs, "impressions", prob_tolerance)
    info["renormalised_rows"] = int((np.abs(total - 1.0) > ROUNDING_TOLERANCE).sum())
    probs = probs / np.where(total > 0, total, 1.0)[:, None]
    keep_cols = [i for i, g in enumerate(found) if g not in rows.drop]
    dropped_mass = probs[:, [i for i in range(len(found)) if i not in keep_cols]].sum(axis=1)
    info["dropped_impressions"] = float((rows.impressions * dropped_mass).sum())
    names_found = [found[i] for i in keep_cols]
    names = list(rows.groups) if rows.groups is not None else names_found
    missing = sorted(set(names_found) - set(names))
    if missing:
        raise VarkitError(
            f"`impressions` has a column 'p_{missing[0]}' for a group the eligible "
            f"table does not list for {rows.attribute!r}."
        )
    members = np.zeros((n_cells, len(names)))
    for i in keep_cols:
        members[:, names.index(found[i])] = np.bincount(
            cell, weights=rows.impressions * probs[:, i], minlength=n_cells
        )
    return names, members, np.bincount(cell, weights=rows.impressions, minlength=n_cells)


def probability_sums(probs: np.ndarray, name: str, tolerance: float) -> np.ndarray:
    """Row sums of (n, K) membership probabilities, refusing a value outside [0, 1] and a
    row summing further than ``tolerance`` from 1 (errors name ``name`` and the row)."""
    outside = ((probs < 0) | (probs > 1)).any(axis=1)
    if outside.any():
        row = int(np.flatnonzero(outside)[0])
        raise VarkitError(f"`{name}` has a probability outside [0, 1] at row {row + 1}.")
    total = probs.sum(axis=1)
    off = np.abs(total - 1.0) > tolerance
    if off.any():
        row = int(np.flatnonzero(off)[0])
        raise VarkitError(
            f"`{name}` probabilities p_* sum to {total[row]:.4g}, not 1, at row {row + 1}."
        )
    return total


def _factorize(values: pd.Series, what: str, column: str) -> tuple[np.ndarray, Any]:
    """Integer codes (first-seen order) and distinct values of a key or label column.

    Raises on a missing value: ``what`` is ``"missing"`` for keys, ``"label"`` for labels.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    codes = np.asarray(codes)
    if codes.size and codes.min() < 0:
        row = int(np.flatnonzero(codes < 0)[0])
        if what == "label":
            raise VarkitError(
                f"`impressions` column {column!r} has a missing label at row {row + 1}."
            )
        raise VarkitError(f"`impressions` column {column!r} is missing at row {row + 1}.")
    return codes, uniques


def _levels(uniques: Any, *, as_str: bool) -> tuple[pd.Index, np.ndarray]:
    """Sorted distinct values of a key's uniques, and each unique's position among them.

    Ad ids and labels become strings (they are matched with the eligible table, which is
    read as text); user ids keep an integer dtype, whose numeric sort is much cheaper than
    sorting millions of strings. Two uniques may meet as one string (``1`` and ``"1"``).
    """
    if as_str or np.asarray(uniques).dtype.kind not in "iu":
        uniques = pd.Index(np.asarray(uniques).astype(str), dtype=object)
    levels, rank = np.unique(np.asarray(uniques), return_inverse=True)
    rank = np.asarray(rank, dtype=np.int64).ravel()
    index = pd.Index(levels, dtype=object) if levels.dtype.kind in "OU" else pd.Index(levels)
    return index, rank


def _collapse(
    members: np.ndarray, impressions: np.ndarray, level_of: np.ndarray, n_levels: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of a table reduced per factorize code, put in sorted-level order (and merged)."""
    if n_levels == len(level_of):  # a permutation: no two codes share a level
        order = np.empty(n_levels, dtype=np.int64)
        order[level_of] = np.arange(n_levels)
        return members[order], impressions[order]
    out = np.zeros((n_levels, members.shape[1]))
    np.add.at(out, level_of, members)
    return out, np.bincount(level_of, weights=impressions, minlength=n_levels)


def _sorted_codes(values: pd.Series, *, as_str: bool) -> tuple[np.ndarray, pd.Index]:
    """Integer codes of a key column and its sorted distinct values (-1 marks missing).

    Only the distinct values are converted and sorted (see :func:`_levels`).
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    index, rank = _levels(uniques, as_str=as_str)
    if codes.size and codes.min() < 0:
        mapped = np.where(codes >= 0, rank[np.maximum(codes, 0)], -1)
    else:
        mapped = rank[codes]
    return mapped, index


def _cells(codes: list[np.ndarray], sizes: list[int]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Row -> sorted distinct key cell, and each cell's code per key level."""
    if len(codes) == 1:
        present = np.bincount(codes[0], minlength=sizes[0]) > 0
        cell_of_code = np.cumsum(present) - 1
        return cell_of_code[codes[0]], [np.flatnonzero(present)]
    key = codes[0] * np.int64(sizes[1]) + codes[1]
    # rows with equal keys get one cell whatever their order: no need for a stable sort
    # (the default introsort is about twice as fast on 10 million keys)
    order = np.argsort(key)
    ordered = key[order]
    new = np.empty(ordered.size, dtype=bool)
    new[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    cell = np.empty(key.size, dtype=np.int64)
    cell[order] = np.cumsum(new) - 1
    distinct = ordered[new]
    return cell, [distinct // sizes[1], distinct % sizes[1]]


def count_delivery_chunks(
    chunks: Iterable[pd.DataFrame], attribute: str, **kwargs: Any
) -> DeliveryCounts:
    """Reduce a log given as chunks (e.g. ``pandas.read_csv(..., chunksize=...)``).

    The result equals :func:`count_delivery` on the concatenated log (exactly for hard
    labels and integer impressions, to float rounding otherwise).

    Examples
    --------
    >>> import pandas as pd
    >>> log = pd.DataFrame({"ad_id": ["a"] * 4, "impressions": [1, 2, 3, 4],
    ...                     "sex": ["female", "male", "male", "female"]})
    >>> chunked = count_delivery_chunks([log[:1], log[1:]], "sex")
    >>> chunked.totals().equals(count_delivery(log, "sex").totals())
    True
    """
    # Reductions are merged in batches (one sort of the batch's keys) rather than one by
    # one, which would re-sort the growing table once per chunk.
    parts: list[DeliveryCounts] = []
    for chunk in chunks:
        parts.append(count_delivery(chunk, attribute, **kwargs))
        if len(parts) == _MERGE_BATCH:
            parts = [_merge_all(parts)]
    if not parts:
        raise VarkitError("`chunks` yielded no rows.")
    return _merge_all(parts) if len(parts) > 1 else parts[0]


_MERGE_BATCH = 8


def _merge_all(parts: list[DeliveryCounts]) -> DeliveryCounts:
    """Counts of the union of several logs (rows with the same key are added)."""
    first = parts[0]
    for other in parts[1:]:
        if other.attribute != first.attribute:
            raise VarkitError(
                f"`other` counts attribute {other.attribute!r}, not {first.attribute!r}."
            )
        if other.by_user != first.by_user:
            raise VarkitError("`other` must have user ids exactly when these counts do.")
        if other.soft != first.soft:
            raise VarkitError("`other` must use the same (hard or soft) memberships.")
    groups = tuple(sorted(set().union(*(p.groups for p in parts))))
    columns = ["impressions", *groups]
    tables = [p.table.reindex(columns=columns, fill_value=0.0) for p in parts]
    if first.by_user and len({str(t.index.levels[1].dtype) for t in tables}) > 1:
        # integer user ids in one chunk and text in another: compare them as text
        tables = [
            t.set_axis(t.index.set_levels(t.index.levels[1].astype(str), level=1)) for t in tables
        ]
    both = pd.concat(tables)
    index = both.index
    if isinstance(index, pd.MultiIndex):
        level_codes = [np.asarray(c, dtype=np.int64) for c in index.codes]
        level_values = list(index.levels)
    else:
        flat_codes, uniques = pd.factorize(index)
        level_codes = [np.asarray(flat_codes, dtype=np.int64)]
        level_values = [pd.Index(uniques)]
    key_codes, key_levels = [], []
    for i, (codes, values) in enumerate(zip(level_codes, level_values, strict=True)):
        sorted_codes, levels = _sorted_codes(pd.Series(np.asarray(values)), as_str=i == 0)
        key_codes.append(sorted_codes[codes])
        key_levels.append(levels)
    cell, cell_codes = _cells(key_codes, [len(levels) for levels in key_levels])
    n_cells = len(cell_codes[0])
    values = both.to_numpy(dtype=float)
    data = pd.DataFrame(
        {
            c: np.bincount(cell, weights=values[:, j], minlength=n_cells)
            for j, c in enumerate(columns)
        }
    )
    names = list(index.names) if isinstance(index, pd.MultiIndex) else ["ad_id"]
    if len(key_codes) == 2:
        data.index = pd.MultiIndex(levels=key_levels, codes=cell_codes, names=names)
    else:
        data.index = key_levels[0].take(cell_codes[0]).rename("ad_id")
    info = {k: sum(p.info.get(k, 0) for p in parts) for k in _INFO_KEYS}
    return DeliveryCounts(first.attribute, groups, data, first.soft, info)


def count_eligible(
    frame: pd.DataFrame,
    attribute: str,
    *,
    drop_groups: Sequence[str] = ("unknown",),
) -> EligibleCounts:
    """Eligible counts of one attribute from a table of (ad, attribute, group) rows.

    Parameters
    ----------
    frame : pandas.DataFrame
        Columns ``ad_id``, ``attribute``, ``group``, ``eligible``; optional
        ``noise_scale`` (Laplace scale of DP noise added to ``eligible``; 0 when none).
        Rows repeating an (ad, attribute, group) are added (chunks of one snapshot).
    attribute : str
    drop_groups : sequence of str, default ("unknown",)

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"ad_id": ["a", "a"], "attribute": ["sex", "sex"],
    ...                       "group": ["female", "male"], "eligible": [40, 60]})
    >>> count_eligible(table, "sex").counts.to_dict("index")
    {'a': {'female': 40.0, 'male': 60.0}}
    """
    frame = _validate_frame(frame, "eligible", ("ad_id", "attribute", "group", "eligible"))
    attributes = frame["attribute"].astype(str)
    if attribute not in set(attributes):
        known = ", ".join(sorted(set(attributes)))
        raise VarkitError(
            f"`attribute` {attribute!r} is not in the eligible table (it has: {known})."
        )
    if "noise_scale" in frame.columns:
        # every row's scale, of any attribute: the rule is the option's (check_noise_scale)
        noise_all = _numeric(frame, "noise_scale", "eligible")
        invalid = _noise_scale_invalid(noise_all)
        if invalid.any():
            row = int(np.flatnonzero(invalid)[0])
            raise VarkitError(
                "`eligible` column 'noise_scale' must be a finite non-negative Laplace "
                f"scale (at most 1e300), but row {row + 1} holds {noise_all[row]:g}."
            )
    selected = (attributes == attribute).to_numpy()
    positions = np.flatnonzero(selected)
    rows = frame[selected]
    eligible = _numeric(rows, "eligible", "eligible", positions)
    noise = noise_all[selected] if "noise_scale" in frame.columns else np.zeros(len(rows))
    if ((eligible < 0) & (noise == 0)).any():
        row = _row(np.flatnonzero((eligible < 0) & (noise == 0))[0], positions)
        raise VarkitError(
            f"`eligible` count is negative at row {row} (attribute {attribute!r}) with "
            "no noise_scale to explain it."
        )
    data = pd.DataFrame(
        {
            "ad_id": rows["ad_id"].astype(str).to_numpy(),
            "group": rows["group"].astype(str).to_numpy(),
            "eligible": eligible,
            "noise_var": noise**2,
        }
    )
    data = data[~data["group"].isin({str(g) for g in drop_groups})]
    if len(data) == 0:
        raise VarkitError(f"`eligible` has no groups left for {attribute!r} after drop_groups.")
    groups = tuple(sorted(data["group"].unique()))
    summed = data.groupby(["ad_id", "group"], sort=True)[["eligible", "noise_var"]].sum()
    counts = summed["eligible"].unstack("group").reindex(columns=list(groups))
    missing = int(counts.isna().to_numpy().sum())
    counts = counts.fillna(0.0)
    # Independent noises add in variance; the Laplace scale reported is that of the sum.
    noise_scale = np.sqrt(summed["noise_var"].unstack("group").reindex(columns=list(groups)))
    noise_scale = noise_scale.fillna(0.0)
    counts.columns.name = None
    noise_scale.columns.name = None
    return EligibleCounts(attribute, groups, counts, noise_scale, {"missing_cells": missing})
