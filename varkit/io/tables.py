"""Reading and checking input data: one clear sentence for each problem.

Every varkit entry point that takes data checks it here first. :func:`read_table` reads a
CSV (or Parquet) log and :func:`validate_frame` checks an in-memory DataFrame against a
list of :class:`Column` declarations; :func:`check_array` checks one array argument of an
API function. A problem raises :class:`VarkitError` (a ``ValueError``) whose message is one
sentence naming the file (or argument), the column and the fault, for example::

    scores.csv: column 'score' must be numeric, but row 17 holds 'abc'.

Row numbers count **data rows from 1**, the header excluded (blank lines in a CSV are
skipped and not counted), so row 1 is the first line under the header. For in-memory
frames a row number is the position in the frame, also from 1, whatever the index.
:func:`check_array` instead reports the 0-based ``index`` of the element, as Python does.

Column kinds
------------
``float``
    A real number, parsed as float64.
``int``
    An integer-valued number (``3`` or ``3.0``), returned as int64.
``binary``
    Only 0 and 1 (written ``0``/``1`` or ``0.0``/``1.0``; in memory, booleans too),
    returned as int64.
``count``
    A non-negative integer-valued number (``3`` or ``3.0``, not ``2.5`` or ``-1``),
    returned as int64.
``probability``
    A real number in [0, 1], returned as float64.
``label``
    Text, kept as ``str``; numbers in memory are turned into their text.

Numeric kinds reject infinite values. A missing value (an empty cell, or one of ``NA``,
``N/A``, ``NaN``, ``nan``, ``NULL``, ``null``, ``None``, ``<NA>``, ``#N/A``) is an error unless
the column says ``allow_nan=True``; then it becomes NaN, and the integer kinds are returned
as float64 so that they can hold it. For a label, only an empty (or all-blank) cell is
missing; with ``allow_nan`` it becomes NaN.

Examples
--------
>>> import pandas as pd
>>> from varkit.io import Column, validate_frame
>>> df = pd.DataFrame({"member": ["1", "0"], "score": ["0.9", "0.2"]})
>>> out = validate_frame(df, [Column("member", "binary"), Column("score")])
>>> out.dtypes.astype(str).tolist()
['int64', 'float64']
>>> validate_frame(pd.DataFrame({"score": ["0.9", "abc"]}), [Column("score")])
Traceback (most recent call last):
...
varkit.errors.VarkitError: data: column 'score' must be numeric, but row 2 holds 'abc'.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from varkit.errors import VarkitError, VarkitTypeError

__all__ = ["KINDS", "Column", "check_array", "csv_header", "read_table", "validate_frame"]

#: The kinds of column :class:`Column` checks a table against.
KINDS = ("float", "int", "binary", "count", "probability", "label")
_INTEGER_KINDS = ("int", "binary", "count")
_PARQUET_SUFFIXES = (".parquet", ".pq")
# The cells pandas reads as missing by default, minus the exotic ones ('-1.#IND' ...).
_MISSING_TOKENS = frozenset(
    ["", "NA", "N/A", "n/a", "NaN", "nan", "-NaN", "-nan", "NULL", "null", "None", "<NA>", "#N/A"]
)
_INT64_LIMIT = 2.0**63
_MAX_LISTED = 10
# pandas warns of a fragmented frame past 100 blocks; below this, columns are set in place
_FEW_COLUMNS = 50
_MAX_SHOWN_CHARS = 40


@dataclass(frozen=True)
class Column:
    """The declaration of one column that a table must (or may) have.

    Parameters
    ----------
    name : str
        The column name, or with ``prefix=True`` the start of the names to match.
    kind : {'float', 'int', 'binary', 'count', 'probability', 'label'}
        What the column holds (see the module docstring).
    required : bool
        Whether a missing column (or, with ``prefix``, no matching column) is an error.
    allow_nan : bool
        Whether missing values are admitted (as NaN). Infinite values never are.
    prefix : bool
        Match every column whose name starts with ``name`` (e.g. ``Column("cv_", prefix=True)``).

    Examples
    --------
    >>> Column("impressions", "count")
    Column(name='impressions', kind='count', required=True, allow_nan=False, prefix=False)
    """

    name: str
    kind: str = "float"
    required: bool = True
    allow_nan: bool = False
    prefix: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise VarkitTypeError(
                f"`name` of a Column must be a non-empty string, got {self.name!r}."
            )
        if self.kind not in KINDS:
            raise VarkitError(f"`kind` must be one of {', '.join(KINDS)}, got {self.kind!r}.")


# -- shared fault finding --------------------------------------------------------------


@dataclass(frozen=True)
class _Fault:
    """The first element at fault: what is wrong, its flat position, how many in all."""

    what: str  # "missing", "nonfinite", "kind" or "range"
    position: int
    count: int


def _first(mask: np.ndarray) -> int:
    return int(np.argmax(mask))


def _find_fault(x: np.ndarray, kind: str, allow_nan: bool) -> _Fault | None:
    """The first problem in the float64 values ``x`` of a numeric ``kind``, or None."""
    nan = np.isnan(x)
    if not allow_nan and nan.any():
        return _Fault("missing", _first(nan), int(nan.sum()))
    inf = np.isinf(x)
    if inf.any():
        return _Fault("nonfinite", _first(inf), int(inf.sum()))
    # NaN compares False with everything, so `& ~nan` keeps admitted NaNs out of `bad`.
    if kind == "binary":
        bad = (x != 0) & (x != 1) & ~nan
    elif kind in ("int", "count"):
        bad = (x != np.floor(x)) & ~nan
        if kind == "count":
            bad |= x < 0
    elif kind == "probability":
        bad = (x < 0) | (x > 1)
    else:
        return None
    if bad.any():
        return _Fault("kind", _first(bad), int(bad.sum()))
    if kind in ("int", "count"):
        # float64 represents 2**63 exactly, so `>=` is the right overflow test for int64.
        big = (x >= _INT64_LIMIT) | (x < -_INT64_LIMIT)
        if big.any():
            return _Fault("range", _first(big), int(big.sum()))
    return None


def _show_number(value: Any) -> str:
    """A number as a person would write it: 2 rather than 2.0, 0.5, inf."""
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    number = float(value)
    if np.isfinite(number) and number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return repr(number)


def _int_text(value: int) -> str:
    """An integer's digits; past Python's 4300-digit str() limit, its leading digits."""
    try:
        return str(value)
    except ValueError:
        return f"an integer of about {int(value.bit_length() * 0.30103) + 1} digits"


def _show_text(text: str) -> str:
    text = text.strip()
    if len(text) > _MAX_SHOWN_CHARS:
        text = text[: _MAX_SHOWN_CHARS - 3] + "..."
    return text


def _fault_message(subject: str, where: str, held: str, fault: _Fault, kind: str) -> str:
    """One sentence for ``fault``; ``where`` is e.g. 'row 4' and ``held`` the shown value."""
    if fault.what == "missing":
        prep = "in" if where.startswith("row") else "at"
        return f"{subject} has a missing value {prep} {where} ({fault.count} missing in all)."
    if fault.what == "nonfinite":
        if held and "inf" not in held.lower():
            # written as a finite number (1e400, a 400-digit integer) beyond float's range
            return (
                f"{subject} must be finite, but {where} holds {held}, a number too large "
                "for a floating-point number (above 1.8e308)."
            )
        return f"{subject} must be finite, but {where} holds {held}."
    if fault.what == "range":
        return f"{subject} must fit in a 64-bit integer, but {where} holds {held}."
    expected = {
        "binary": "must hold only 0 and 1",
        "count": "must be a non-negative integer count",
        "int": "must be integer-valued",
        "probability": "must be a probability in [0, 1]",
    }[kind]
    return f"{subject} {expected}, but {where} holds {held}."


def _capped_float(value: Any) -> Any:
    """A Python integer as a float, +-inf past float's range; anything else unchanged."""
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:
            return np.inf if value > 0 else -np.inf
    return value


def _to_numeric(values: pd.Series) -> pd.Series:
    """``pandas.to_numeric(values, errors="coerce")``; integers past float's range (pandas
    raises OverflowError on them) become +-inf, to be reported as too large."""
    try:
        return pd.to_numeric(values, errors="coerce")
    except OverflowError:
        capped = pd.Series([_capped_float(v) for v in values], index=values.index, dtype=object)
        return pd.to_numeric(capped, errors="coerce")


def _to_float64(values: pd.Series) -> np.ndarray:
    """Numeric ``values`` as float64; Python integers past float's range become +-inf
    (then reported as too large) instead of raising OverflowError."""
    try:
        return values.to_numpy(dtype=np.float64, na_value=np.nan)
    except OverflowError:
        out = np.empty(len(values), dtype=np.float64)
        for i, v in enumerate(values.to_numpy(dtype=object)):
            capped = _capped_float(v)
            out[i] = np.nan if capped is None or capped is pd.NA else float(capped)
        return out


def _convert(x: np.ndarray, kind: str, allow_nan: bool) -> np.ndarray:
    """Checked float64 values to the dtype of ``kind``."""
    if kind in _INTEGER_KINDS and not allow_nan:
        return x.astype(np.int64)
    return x


# -- tables ----------------------------------------------------------------------------


def _is_missing_cell(values: pd.Series) -> np.ndarray:
    """Which cells of an object/string column are missing (NaN, None or a missing token)."""
    missing = values.isna().to_numpy(dtype=bool, copy=True)
    if missing.all():
        return missing
    present = values[~missing]
    text = present.astype(str).str.strip()
    missing[~missing] = text.isin(_MISSING_TOKENS).to_numpy(dtype=bool)
    return missing


def _numeric_column(series: pd.Series, col: Column, subject: str, first_row: int) -> pd.Series:
    """Check and convert one numeric column of a frame."""
    dtype = series.dtype
    raw_text: pd.Series | None = None
    exact_ints: np.ndarray | None = None
    if pd.api.types.is_bool_dtype(dtype):
        if col.kind != "binary":
            raise VarkitError(f"{subject} must be numeric, but it holds booleans (True/False).")
        x = series.to_numpy(dtype=np.float64, na_value=np.nan)
    elif pd.api.types.is_complex_dtype(dtype):
        raise VarkitError(f"{subject} must hold real numbers, but it holds complex numbers.")
    elif pd.api.types.is_numeric_dtype(dtype):
        if pd.api.types.is_integer_dtype(dtype) and not series.hasnans:
            exact_ints = series.to_numpy()
        x = series.to_numpy(dtype=np.float64, na_value=np.nan)
    elif pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        raise VarkitError(f"{subject} must be numeric, but it holds dates or times.")
    else:
        values = series.astype(object) if isinstance(dtype, pd.CategoricalDtype) else series
        numeric = _to_numeric(values)
        if pd.api.types.is_complex_dtype(numeric.dtype):
            raise VarkitError(f"{subject} must hold real numbers, but it holds complex numbers.")
        x = _to_float64(numeric)
        unparsed = np.isnan(x)
        if unparsed.any():
            bad = unparsed & ~_is_missing_cell(values)
            if bad.any():
                position = _first(bad)
                held = values.iloc[position]
                shown = _show_text(held) if isinstance(held, str) else str(held)
                raise VarkitError(
                    f"{subject} must be numeric, but row {position + first_row} holds {shown!r}."
                )
        if pd.api.types.is_integer_dtype(numeric.dtype) and numeric.dtype.kind == "i":
            exact_ints = numeric.to_numpy()
        raw_text = values
    fault = _find_fault(x, col.kind, col.allow_nan)
    if fault is not None:
        held_raw = None if raw_text is None else raw_text.iloc[fault.position]
        if isinstance(held_raw, str):
            held = _show_text(held_raw)
        elif isinstance(held_raw, int) and not isinstance(held_raw, bool):
            held = _show_text(_int_text(held_raw))
        elif exact_ints is not None:
            held = _show_number(exact_ints[fault.position])
        else:
            held = _show_number(x[fault.position])
        raise VarkitError(
            _fault_message(subject, f"row {fault.position + first_row}", held, fault, col.kind)
        )
    if exact_ints is not None and col.kind in _INTEGER_KINDS and not col.allow_nan:
        converted = exact_ints.astype(np.int64)
    else:
        converted = _convert(x, col.kind, col.allow_nan)
    return pd.Series(converted, index=series.index, name=series.name)


def _label_column(series: pd.Series, col: Column, subject: str, first_row: int) -> pd.Series:
    """Check one label column: text, with no missing cell unless ``allow_nan``."""
    missing = series.isna().to_numpy(dtype=bool, copy=True)
    present = ~missing
    text = series.astype(object).where(present, "").astype(str)
    missing |= (text.str.strip() == "").to_numpy(dtype=bool)
    if missing.any():
        if not col.allow_nan:
            fault = _Fault("missing", _first(missing), int(missing.sum()))
            raise VarkitError(
                _fault_message(subject, f"row {fault.position + first_row}", "", fault, col.kind)
            )
        return text.where(~missing, np.nan).astype("str").rename(series.name)
    return text.rename(series.name)


def _listing(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_MAX_LISTED])
    if len(names) > _MAX_LISTED:
        shown += f" and {len(names) - _MAX_LISTED} more"
    return shown


def _missing_column_message(source: str, name: str, found: Sequence[str]) -> str:
    message = f"{source}: required column '{name}' is missing (found: {_listing(found)}"
    near = [c for c in found if c.strip().lower() == name.strip().lower()]
    if near:
        return message + f"; did you mean {near[0]!r}?)."
    return message + ")."


def _validate_columns_arg(columns: Any) -> list[Column]:
    if isinstance(columns, Column) or not isinstance(columns, Sequence):
        raise VarkitTypeError("`columns` must be a sequence of Column objects.")
    for col in columns:
        if not isinstance(col, Column):
            raise VarkitTypeError(f"`columns` must hold Column objects, got {type(col).__name__}.")
    return list(columns)


def validate_frame(
    df: pd.DataFrame, columns: Sequence[Column], *, source: str = "data", first_row: int = 1
) -> pd.DataFrame:
    """Check the declared columns of a DataFrame and convert them to their dtypes.

    Parameters
    ----------
    df : pandas.DataFrame
        The data. Cells may be text (as read from a CSV) or already typed.
    columns : sequence of Column
        The declared columns. Columns not declared are left as they are.
    source : str
        What to call the data in messages (:func:`read_table` passes the file name).
    first_row : int
        The row number of the frame's first row in messages: a piece of a file that starts
        at its 1001st data row passes 1001, so that messages count the file's rows.

    Returns
    -------
    pandas.DataFrame
        A new frame (the input is not modified) with every declared column that is present
        converted: float64 for ``float``/``probability``, int64 for ``int``/``binary``/
        ``count`` (float64 when ``allow_nan``), str for ``label``.

    Raises
    ------
    VarkitError
        With one sentence naming ``source``, the column and the fault; a row number counts
        rows by position from 1.
    TypeError
        When ``df`` is not a DataFrame or ``columns`` does not hold Column objects.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"ad_id": ["a1", "a2"], "impressions": [10.0, 3.0],
    ...                    "p_female": [0.5, 0.25]})
    >>> out = validate_frame(df, [Column("ad_id", "label"), Column("impressions", "count"),
    ...                           Column("p_", "probability", prefix=True)])
    >>> out["impressions"].tolist()
    [10, 3]
    >>> validate_frame(df, [Column("clicks", "count")], source="ads.csv")
    Traceback (most recent call last):
    ...
    varkit.errors.VarkitError: ads.csv: required column 'clicks' is missing (found: ad_id, impressions, p_female).
    """  # noqa: E501
    if not isinstance(df, pd.DataFrame):
        raise VarkitTypeError(f"`df` must be a pandas DataFrame, got {type(df).__name__}.")
    declared = _validate_columns_arg(columns)
    names = [str(c) for c in df.columns]
    by_name: dict[str, list[Any]] = {}
    for key, text in zip(df.columns, names, strict=True):
        by_name.setdefault(text, []).append(key)

    # Missing columns first: they are the likeliest mistake (a wrong file or header).
    plan: list[tuple[Any, Column]] = []
    for col in declared:
        if col.prefix:
            matched = [n for n in names if n.startswith(col.name)]
            if not matched and col.required:
                raise VarkitError(f"{source}: no column starts with '{col.name}'.")
            plan.extend((by_name[n][0], Column(n, col.kind, True, col.allow_nan)) for n in matched)
        elif col.name in by_name:
            plan.append((by_name[col.name][0], col))
        elif col.required:
            raise VarkitError(_missing_column_message(source, col.name, names))
    if len(df) == 0:
        raise VarkitError(f"{source} has no rows.")

    if isinstance(first_row, bool) or not isinstance(first_row, int) or first_row < 1:
        raise VarkitError(f"`first_row` must be a positive integer, got {first_row!r}.")
    converted: dict[Any, pd.Series] = {}
    for key, col in plan:
        if len(by_name[col.name]) > 1:
            raise VarkitError(
                f"{source}: column '{col.name}' appears {len(by_name[col.name])} times."
            )
        subject = f"{source}: column '{col.name}'"
        series = df[key]
        if col.kind == "label":
            converted[key] = _label_column(series, col, subject, first_row)
        else:
            converted[key] = _numeric_column(series, col, subject, first_row)
    if len(df.columns) <= _FEW_COLUMNS or not converted:
        out = df.copy(deep=False)
        for key, values in converted.items():
            out[key] = values
        return out
    # Replacing many columns one by one leaves a frame of many blocks, and pandas then
    # warns (PerformanceWarning) at the next column inserted; build it in one go instead.
    data = {i: converted.get(key, df.iloc[:, i]) for i, key in enumerate(df.columns)}
    out = pd.DataFrame(data, index=df.index)
    out.columns = df.columns
    return out


def _parse_csv(path: str, label: str, **options: Any) -> pd.DataFrame:
    """``pandas.read_csv`` with its errors turned into one-sentence InputErrors."""
    try:
        with warnings.catch_warnings():
            # A column with text among numbers is checked (and reported) by validate_frame.
            warnings.simplefilter("ignore", pd.errors.DtypeWarning)
            return pd.read_csv(path, **options)
    except pd.errors.EmptyDataError:
        raise VarkitError(f"{label} is empty.") from None
    except pd.errors.ParserError as exc:
        reason = " ".join(str(exc).split()).rstrip(".")
        raise VarkitError(f"{label} is not a valid CSV file ({reason}).") from None
    except UnicodeDecodeError as exc:
        raise VarkitError(
            f"{label} is not UTF-8 text (byte {exc.start} cannot be decoded)."
        ) from None
    except OSError as exc:  # unreadable: permissions, a broken gzip stream ...
        raise VarkitError(f"{label} cannot be read ({exc.strerror or exc}).") from None


def csv_header(path: str | os.PathLike[str], label: str | None = None) -> list[str]:
    """The column names of a CSV file as written in its header line.

    pandas renames a repeated name (``x``, ``x.1``), which would let a file with two
    ``score`` columns be read silently; a repeated name is an error here.

    Parameters
    ----------
    path : str or path-like
        The CSV file (compressed CSV works too).
    label : str, optional
        What to call the file in messages (default ``file '<path>'``).

    Raises
    ------
    VarkitError
        When the file is empty, not valid CSV, or repeats a column name.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "dup.csv")
    >>> with open(path, "w") as handle:
    ...     _ = handle.write("model,score,score\\na,1,2\\n")
    >>> csv_header(path)
    Traceback (most recent call last):
    ...
    varkit.errors.VarkitError: file '...dup.csv' has the column name 'score' twice (columns 2 and 3); column names must be unique.
    """  # noqa: E501
    shown = os.fspath(path)
    label = label or f"file '{shown}'"
    if os.path.getsize(shown) == 0:
        raise VarkitError(f"{label} is empty.")
    head = _parse_csv(
        shown, label, header=None, nrows=1, dtype=str, keep_default_na=False, na_filter=False
    )
    names = [str(c) for c in head.iloc[0].tolist()] if len(head) else []
    seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        if name in seen:
            raise VarkitError(
                f"{label} has the column name {name!r} twice (columns {seen[name]} and "
                f"{position}); column names must be unique."
            )
        seen[name] = position
    return names


def _declares(col: Column, name: str) -> bool:
    return name.startswith(col.name) if col.prefix else name == col.name


def _read_csv(path: str, label: str, declared: Sequence[Column]) -> pd.DataFrame:
    """Read a CSV with pandas' own type inference, labels kept as text.

    This is the fast path: a numeric column that parses as numbers needs no further
    conversion. Label columns are read as text so that ``007`` stays ``007``; only the
    missing-value tokens of this module count as missing, and not in labels.
    """
    if os.path.getsize(path) == 0:
        raise VarkitError(f"{label} is empty.")
    csv_header(path, label)  # a repeated column name is an error, not a renamed column
    header = [str(c) for c in _parse_csv(path, label, nrows=0).columns]
    labels = [n for n in header if any(c.kind == "label" and _declares(c, n) for c in declared)]
    missing_tokens = {n: sorted(_MISSING_TOKENS) for n in header if n not in labels}
    return _parse_csv(
        path,
        label,
        dtype=dict.fromkeys(labels, str),
        keep_default_na=False,
        na_values=missing_tokens,
    )


def _read_csv_text(path: str, label: str) -> pd.DataFrame:
    """Read a CSV with every cell as text, so that a bad cell can be quoted as written."""
    return _parse_csv(path, label, dtype=str, keep_default_na=False, na_filter=False)


def _parsed_booleans(frame: pd.DataFrame, declared: Sequence[Column]) -> bool:
    """Whether pandas turned a declared numeric column into booleans (true/false text)."""
    return any(
        pd.api.types.is_bool_dtype(frame[n])
        for n in map(str, frame.columns)
        if any(c.kind != "label" and _declares(c, n) for c in declared)
    )


def _read_parquet(path: str, label: str) -> pd.DataFrame:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise VarkitError(
            f"reading the Parquet {label} needs pyarrow (pip install 'varkit[parquet]')."
        ) from None
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        reason = " ".join(str(exc).split()).rstrip(".")
        raise VarkitError(f"{label} is not a valid Parquet file ({reason}).") from None


def read_table(
    path: str | os.PathLike[str], columns: Sequence[Column], *, what: str | None = None
) -> pd.DataFrame:
    """Read a CSV or Parquet log and check its declared columns.

    A file ending in ``.parquet`` or ``.pq`` is read as Parquet (this needs pyarrow);
    anything else as CSV with a header line (compressed CSV such as ``.csv.gz`` works too).

    Parameters
    ----------
    path : str or path-like
        The file; messages name it as given.
    columns : sequence of Column
        The declared columns (see :class:`Column`). Other columns are left as pandas
        reads them (numbers where the whole column parses as numbers, else text), with
        this module's missing-value tokens read as NaN.
    what : str, optional
        A short noun for the file in messages, e.g. ``"eligibility table"``: messages then
        read ``eligibility table 'e.csv' is empty.`` instead of ``file 'e.csv' is empty.``

    Returns
    -------
    pandas.DataFrame
        The whole table, declared columns converted as :func:`validate_frame` does.

    Raises
    ------
    VarkitError
        One sentence naming the file, the column and the fault: a missing or empty file, a
        header with no rows, a missing column, a non-numeric value, a missing value, a value
        that the column's kind does not admit. A row number counts data rows from 1, the
        header excluded and blank lines skipped.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "mia.csv")
    >>> with open(path, "w") as handle:
    ...     _ = handle.write("member,score\\n1,0.9\\n0,0.2\\n2,0.4\\n")
    >>> read_table(path, [Column("score")])["score"].tolist()
    [0.9, 0.2, 0.4]
    >>> read_table(path, [Column("member", "binary")])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    varkit.errors.VarkitError: ...: column 'member' must hold only 0 and 1, but row 3 holds 2.
    """
    shown = os.fspath(path)
    if isinstance(shown, bytes):
        raise VarkitTypeError("`path` must be a string or os.PathLike of str, got bytes.")
    declared = _validate_columns_arg(columns)
    label = f"{what or 'file'} '{shown}'"
    source = shown if what is None else label
    if not os.path.exists(shown):
        raise VarkitError(f"{label} does not exist.")
    if os.path.isdir(shown):
        raise VarkitError(f"{label} is a directory, not a file.")
    if Path(shown).suffix.lower() in _PARQUET_SUFFIXES:
        frame = _read_parquet(shown, label)
        if len(frame) == 0:
            raise VarkitError(f"{label} has no rows.")
    else:
        frame = _read_csv(shown, label, declared)
        if len(frame) == 0:
            raise VarkitError(f"{label} has a header but no rows.")
        # A CSV cell reading `true` is text, not a 0/1 value: check such columns as text.
        if _parsed_booleans(frame, declared):
            frame = _read_csv_text(shown, label)
        try:
            return validate_frame(frame, declared, source=source)
        except VarkitError:
            # Find the fault again on the cells as written, so that the message quotes
            # them (`Infinity`, `2.0`) rather than pandas' parse of them.
            validate_frame(_read_csv_text(shown, label), declared, source=source)
            raise
    return validate_frame(frame, declared, source=source)


# -- arrays ----------------------------------------------------------------------------


def _where(position: int, shape: tuple[int, ...]) -> str:
    if len(shape) == 1:
        return f"index {position}"
    index = tuple(int(i) for i in np.unravel_index(position, shape))
    return f"index {index}"


def _array_from(values: Any, name: str, kind: str) -> np.ndarray:
    """``values`` as a NumPy array, with pandas' nullable dtypes turned into NaN."""
    if values is None or isinstance(values, (str, bytes, Mapping, set, frozenset)):
        raise VarkitTypeError(f"`{name}` must be array-like, got {type(values).__name__}.")
    if isinstance(values, (pd.Series, pd.Index)) and kind != "label":
        dtype = values.dtype
        if pd.api.types.is_bool_dtype(dtype) and values.hasnans:
            return values.to_numpy(dtype=np.float64, na_value=np.nan)
        if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
            if pd.api.types.is_integer_dtype(dtype) and not values.hasnans:
                return values.to_numpy(dtype=np.int64)
            if not pd.api.types.is_complex_dtype(dtype):
                return values.to_numpy(dtype=np.float64, na_value=np.nan)
        return values.to_numpy()
    try:
        return np.asarray(values, dtype=object if kind == "label" else None)
    except ValueError:
        raise VarkitError(f"`{name}` must be a rectangular array, not ragged lists.") from None


def _check_labels(arr: np.ndarray, name: str, allow_nan: bool) -> np.ndarray:
    flat = pd.Series(arr.ravel(), dtype=object)
    missing = flat.isna().to_numpy(dtype=bool, copy=True)
    text = flat.where(~missing, "").astype(str)
    missing |= (text.str.strip() == "").to_numpy(dtype=bool)
    if missing.any() and not allow_nan:
        fault = _Fault("missing", _first(missing), int(missing.sum()))
        raise VarkitError(
            _fault_message(f"`{name}`", _where(fault.position, arr.shape), "", fault, "label")
        )
    out = np.asarray(text.to_numpy(dtype=object), dtype=object)
    out[missing] = np.nan
    return out.reshape(arr.shape)


def check_array(
    values: Any,
    name: str,
    *,
    kind: str = "float",
    ndim: int = 1,
    allow_nan: bool = False,
    min_size: int = 1,
) -> np.ndarray:
    """Check an array argument of an API function and return it as a NumPy array.

    Parameters
    ----------
    values : array-like
        A list, tuple, NumPy array or pandas Series (or, with ``ndim=2``, a DataFrame).
    name : str
        The argument's name, used in messages.
    kind : {'float', 'int', 'binary', 'count', 'probability', 'label'}
        What the values must be (see the module docstring). Booleans are accepted only
        for ``binary``.
    ndim : int
        The required number of dimensions.
    allow_nan : bool
        Whether NaN (or None, or pandas' NA) is admitted; infinite values never are.
    min_size : int
        The least number of elements.

    Returns
    -------
    numpy.ndarray
        float64 for ``float``/``probability``, int64 for ``int``/``binary``/``count``
        (float64 when ``allow_nan``), object holding str for ``label``. It may share memory
        with ``values`` when no conversion was needed.

    Raises
    ------
    TypeError
        When ``values`` is not array-like or not numeric (strings, booleans, complex, dates).
    VarkitError
        A ``ValueError`` for a wrong shape, too few values, NaN, infinity or a value that
        ``kind`` does not admit; it names the 0-based index of the first bad element.

    Examples
    --------
    >>> check_array([0, 1, 1], "member", kind="binary")
    array([0, 1, 1])
    >>> check_array([0.5, float("nan")], "score")
    Traceback (most recent call last):
    ...
    varkit.errors.VarkitError: `score` has a missing value at index 1 (1 missing in all).
    >>> check_array(["a", "b"], "score")
    Traceback (most recent call last):
    ...
    varkit.errors.VarkitTypeError: `score` must be numeric, got strings.
    """
    if kind not in KINDS:
        raise VarkitError(f"`kind` must be one of {', '.join(KINDS)}, got {kind!r}.")
    if isinstance(ndim, bool) or not isinstance(ndim, int) or ndim < 0:
        raise VarkitError(f"`ndim` must be a non-negative integer, got {ndim!r}.")
    if isinstance(min_size, bool) or not isinstance(min_size, int) or min_size < 0:
        raise VarkitError(f"`min_size` must be a non-negative integer, got {min_size!r}.")
    arr = _array_from(values, name, kind)
    if arr.ndim != ndim:
        got = "a scalar" if arr.ndim == 0 else f"{arr.ndim} dimensions"
        raise VarkitError(f"`{name}` must be {ndim}-dimensional, got {got}.")
    if arr.size < min_size:
        if arr.size == 0:
            raise VarkitError(f"`{name}` is empty; it needs at least {min_size} value(s).")
        raise VarkitError(f"`{name}` must hold at least {min_size} values, got {arr.size}.")
    if kind == "label":
        return _check_labels(arr, name, allow_nan)

    dtype_kind = arr.dtype.kind
    raw_flat: np.ndarray | None = None
    if dtype_kind == "b":
        if kind != "binary":
            raise VarkitTypeError(f"`{name}` must be numeric, got booleans.")
        arr = arr.astype(np.int64)
    elif dtype_kind in "US":
        raise VarkitTypeError(f"`{name}` must be numeric, got strings.")
    elif dtype_kind == "c":
        raise VarkitTypeError(f"`{name}` must hold real numbers, got complex numbers.")
    elif dtype_kind in "mM":
        raise VarkitTypeError(f"`{name}` must be numeric, got dates or times.")
    elif dtype_kind == "O":
        flat = pd.Series(arr.ravel(), dtype=object)
        numeric = _to_numeric(flat)
        if pd.api.types.is_complex_dtype(numeric.dtype):
            raise VarkitTypeError(f"`{name}` must hold real numbers, got complex numbers.")
        parsed = _to_float64(numeric)
        bad = np.isnan(parsed) & ~flat.isna().to_numpy(dtype=bool)
        if bad.any():
            position = _first(bad)
            raise VarkitTypeError(
                f"`{name}` must be numeric, but {_where(position, arr.shape)} holds "
                f"{flat.iloc[position]!r}."
            )
        raw_flat = arr.ravel()
        arr = parsed.reshape(arr.shape)
    elif dtype_kind not in "iuf":
        raise VarkitTypeError(f"`{name}` must be numeric, got dtype {arr.dtype}.")

    x = arr.astype(np.float64, copy=False)
    fault = _find_fault(x.ravel(), kind, allow_nan)
    if fault is not None:
        held = _show_number(arr.ravel()[fault.position])
        raw = None if raw_flat is None else raw_flat[fault.position]
        if isinstance(raw, int) and not isinstance(raw, bool):
            held = _show_text(_int_text(raw))  # an integer past float's range, as given
        where = _where(fault.position, arr.shape)
        raise VarkitError(_fault_message(f"`{name}`", where, held, fault, kind))
    if kind in _INTEGER_KINDS and not allow_nan and arr.dtype.kind in "iu":
        if arr.dtype.kind == "u" and arr.size and int(arr.max()) >= 2**63:
            position = _first(arr.ravel() >= 2**63)
            raise VarkitError(
                f"`{name}` must fit in a 64-bit integer, but "
                f"{_where(position, arr.shape)} holds {arr.ravel()[position]}."
            )
        return arr.astype(np.int64, copy=False)
    return _convert(x, kind, allow_nan)
