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

__all__ = ["KINDS", "Column", "check_array", "read_table", "validate_frame"]

KINDS = ("float", "int", "binary", "count", "probability", "label")
_INTEGER_KINDS = ("int", "binary", "count")
_PARQUET_SUFFIXES = (".parquet", ".pq")
# The cells pandas reads as missing by default, minus the exotic ones ('-1.#IND' ...).
_MISSING_TOKENS = frozenset(
    ["", "NA", "N/A", "n/a", "NaN", "nan", "-NaN", "-nan", "NULL", "null", "None", "<NA>", "#N/A"]
)
_INT64_LIMIT = 2.0**63
_MAX_LISTED = 10
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


def _numeric_column(series: pd.Series, col: Column, subject: str) -> pd.Series:
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
        numeric = pd.to_numeric(values, errors="coerce")
        if pd.api.types.is_complex_dtype(numeric.dtype):
            raise VarkitError(f"{subject} must hold real numbers, but it holds complex numbers.")
        x = numeric.to_numpy(dtype=np.float64, na_value=np.nan)
        unparsed = np.isnan(x)
        if unparsed.any():
            bad = unparsed & ~_is_missing_cell(values)
            if bad.any():
                position = _first(bad)
                held = values.iloc[position]
                shown = _show_text(held) if isinstance(held, str) else str(held)
                raise VarkitError(
                    f"{subject} must be numeric, but row {position + 1} holds {shown!r}."
                )
        if pd.api.types.is_integer_dtype(numeric.dtype) and numeric.dtype.kind == "i":
            exact_ints = numeric.to_numpy()
        raw_text = values
    fault = _find_fault(x, col.kind, col.allow_nan)
    if fault is not None:
        held_raw = None if raw_text is None else raw_text.iloc[fault.position]
        if isinstance(held_raw, str):
            held = _show_text(held_raw)
        elif exact_ints is not None:
            held = _show_number(exact_ints[fault.position])
        else:
            held = _show_number(x[fault.position])
        raise VarkitError(
            _fault_message(subject, f"row {fault.position + 1}", held, fault, col.kind)
        )
    if exact_ints is not None and col.kind in _INTEGER_KINDS and not col.allow_nan:
        converted = exact_ints.astype(np.int64)
    else:
        converted = _convert(x, col.kind, col.allow_nan)
    return pd.Series(converted, index=series.index, name=series.name)


def _label_column(series: pd.Series, col: Column, subject: str) -> pd.Series:
    """Check one label column: text, with no missing cell unless ``allow_nan``."""
    missing = series.isna().to_numpy(dtype=bool, copy=True)
    present = ~missing
    text = series.astype(object).where(present, "").astype(str)
    missing |= (text.str.strip() == "").to_numpy(dtype=bool)
    if missing.any():
        if not col.allow_nan:
            fault = _Fault("missing", _first(missing), int(missing.sum()))
            raise VarkitError(
                _fault_message(subject, f"row {fault.position + 1}", "", fault, col.kind)
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
    df: pd.DataFrame, columns: Sequence[Column], *, source: str = "data"
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

    out = df.copy(deep=False)
    for key, col in plan:
        if len(by_name[col.name]) > 1:
            raise VarkitError(
                f"{source}: column '{col.name}' appears {len(by_name[col.name])} times."
            )
        subject = f"{source}: column '{col.name}'"
        series = df[key]
        if col.kind == "label":
            out[key] = _label_column(series, col, subject)
        else:
            out[key] = _numeric_column(series, col, subject)
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
        numeric = pd.to_numeric(flat, errors="coerce")
        if pd.api.types.is_complex_dtype(numeric.dtype):
            raise VarkitTypeError(f"`{name}` must hold real numbers, got complex numbers.")
        parsed = numeric.to_numpy(dtype=np.float64, na_value=np.nan)
        bad = np.isnan(parsed) & ~flat.isna().to_numpy(dtype=bool)
        if bad.any():
            position = _first(bad)
            raise VarkitTypeError(
                f"`{name}` must be numeric, but {_where(position, arr.shape)} holds "
                f"{flat.iloc[position]!r}."
            )
        arr = parsed.reshape(arr.shape)
    elif dtype_kind not in "iuf":
        raise VarkitTypeError(f"`{name}` must be numeric, got dtype {arr.dtype}.")

    x = arr.astype(np.float64, copy=False)
    fault = _find_fault(x.ravel(), kind, allow_nan)
    if fault is not None:
        held = _show_number(arr.ravel()[fault.position])
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
