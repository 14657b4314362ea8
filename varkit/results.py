"""The one results schema: every estimate and test in varkit is a :class:`Result`.

A :class:`Result` holds a point estimate, its interval and, for tests, the statistic and
p-value, with labels (``group``) and JSON-able extras (``details``). A :class:`ResultSet`
is an ordered collection of results with the provenance of the run that made them. Both
convert to strict JSON (non-finite floats written as the strings ``"inf"``, ``"-inf"``,
``"nan"``), to a pandas DataFrame and to Markdown.

This module imports nothing else from varkit but :mod:`varkit.errors` (see DESIGN.md).

Examples
--------
>>> from varkit.results import Result, ResultSet
>>> r = Result(metric="accuracy", estimate=0.912, ci_low=0.897, ci_high=0.925,
...            confidence=0.95, method="bootstrap-bca", n=2000)
>>> print(r)
accuracy = 0.912 [0.897, 0.925] (95% bootstrap-bca, n=2000)
>>> Result.from_json(r.to_json()) == r
True
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import math
import os
import platform
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, NamedTuple

import numpy as np

from varkit.errors import SchemaError, SchemaTypeError, VarkitError, VarkitTypeError

__all__ = [
    "SCHEMA_ID",
    "ConfidenceInterval",
    "Result",
    "format_number",
    "ResultSet",
    "file_sha256",
    "load_json_schema",
    "make_provenance",
]

#: The schema a results document declares (``results.schema.json``).
SCHEMA_ID = "varkit.results/1"


class ConfidenceInterval(NamedTuple):
    """An interval's ends, as :attr:`Result.confidence_interval` gives them.

    Examples
    --------
    >>> ConfidenceInterval(0.1, 0.3).high
    0.3
    """

    low: float | None
    high: float | None


_ALTERNATIVES = ("two-sided", "less", "greater")
_NONFINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


def _to_float(name: str, value: Any) -> float | None:
    """Turn a number (or one of the strings 'inf', '-inf', 'nan') into a float."""
    if value is None:
        return None
    if isinstance(value, str):
        key = value.strip().lower()
        if key in _NONFINITE:
            return _NONFINITE[key]
        raise SchemaTypeError(f"`{name}` must be a number, got the string {value!r}.")
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise SchemaTypeError(f"`{name}` must be a number, got {type(value).__name__}.")
    try:
        return float(value)
    except OverflowError:
        # an integer past float's range (JSON admits integers of any length)
        # (str() of an integer past 4300 digits itself raises, so it is not quoted)
        raise SchemaError(
            f"`{name}` is an integer too large for a floating-point number (above 1.8e308)."
        ) from None


def _jsonable(value: Any) -> Any:
    """Normalise a value to plain Python types that JSON can hold (lists, not tuples).

    The strings ``"inf"``, ``"-inf"`` and ``"nan"`` are how strict JSON spells the
    non-finite floats, so they are read as those floats here: a ``details`` value can
    round-trip through JSON only if this holds on both sides.
    """
    # Exact built-in types first: they are nearly every value, and the checks below
    # (an ABC isinstance against Mapping first) cost several times more per value.
    kind = type(value)
    if kind is float or kind is int or kind is bool or value is None:
        return value
    if kind is str:
        return _NONFINITE.get(value, value)
    if kind is dict:
        return {str(k): _jsonable(v) for k, v in value.items()}
    if kind is list:
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, str):
        # by the schema's convention these strings are the non-finite floats
        return _NONFINITE.get(value, value)
    if value is None:
        return value
    raise SchemaTypeError(f"`details` values must be JSON-able, got {type(value).__name__}.")


def _encode_floats(value: Any) -> Any:
    """Replace non-finite floats by the strings 'inf', '-inf', 'nan' (strict JSON)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {k: _encode_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode_floats(v) for v in value]
    return value


def _same(a: Any, b: Any) -> bool:
    """Equality that treats NaN as equal to NaN, recursively."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def format_number(x: float | None, *, missing: str = "NA", digits: int = 4) -> str:
    """A number as the reports print it: ``digits`` significant digits, ``inf``,
    ``-inf`` or ``nan`` as such, and ``missing`` for None.

    Examples
    --------
    >>> format_number(0.0123456), format_number(-float("inf")), format_number(None)
    ('0.01235', '-inf', 'NA')
    >>> format_number(2.71828, digits=3), format_number(None, missing="")
    ('2.72', '')
    """
    if x is None:
        return missing
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.{digits}g}"


@dataclass(frozen=True, eq=False)
class Result:
    """One estimate or test with its uncertainty.

    Parameters
    ----------
    metric : str
        What was estimated or tested (``accuracy``, ``epsilon``, ``crash_rate`` ...).
    estimate : float
        The point estimate (posterior median for Bayesian methods).
    ci_low, ci_high : float or None
        Interval bounds; may be infinite.
    confidence : float or None
        Level of the interval, in (0, 1).
    method : str
        How it was computed (``bootstrap-bca``, ``clopper-pearson`` ...).
    n : int or None
        Number of independent units used.
    stderr : float or None
        Standard error when defined.
    statistic, pvalue : float or None
        For hypothesis tests.
    df : tuple of float or None
        Degrees of freedom.
    alternative : {'two-sided', 'less', 'greater'} or None
        The alternative hypothesis of a test.
    group : dict of str to str
        Labels that say which model, ad or comparison the result belongs to.
    details : dict
        JSON-able extras (variance-reduction factor, excluded rows and why, device ...).

    Examples
    --------
    >>> r = Result(metric="accuracy", estimate=0.9, ci_low=0.85, ci_high=0.94,
    ...            confidence=0.95, method="wilson", n=200)
    >>> r.ci_low <= r.estimate <= r.ci_high
    True
    >>> Result.from_dict(r.to_dict()) == r
    True
    """

    metric: str
    estimate: float
    ci_low: float | None = None
    ci_high: float | None = None
    confidence: float | None = None
    method: str = ""
    n: int | None = None
    stderr: float | None = None
    statistic: float | None = None
    pvalue: float | None = None
    df: tuple[float, ...] | None = None
    alternative: str | None = None
    group: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.metric, str) or not self.metric:
            raise SchemaTypeError("`metric` must be a non-empty string.")
        if not isinstance(self.method, str):
            raise SchemaTypeError("`method` must be a string.")
        set_ = object.__setattr__
        for name in ("estimate", "ci_low", "ci_high", "stderr", "statistic", "pvalue"):
            value = _to_float(name, getattr(self, name))
            if name == "estimate" and value is None:
                raise SchemaTypeError("`estimate` must be a number, got None.")
            set_(self, name, value)
        if self.confidence is not None:
            conf = _to_float("confidence", self.confidence)
            assert conf is not None
            if not 0.0 < conf < 1.0:
                raise SchemaError(f"`confidence` must be in (0, 1), got {conf}.")
            set_(self, "confidence", conf)
        if self.n is not None:
            if isinstance(self.n, bool) or not isinstance(self.n, (int, np.integer)):
                raise SchemaTypeError(f"`n` must be an integer, got {type(self.n).__name__}.")
            if self.n < 0:
                raise SchemaError(f"`n` must be non-negative, got {self.n}.")
            set_(self, "n", int(self.n))
        if self.df is not None:
            dfs = self.df if isinstance(self.df, (list, tuple, np.ndarray)) else (self.df,)
            values = tuple(_to_float("df", d) for d in dfs)
            if any(v is None for v in values):
                raise SchemaTypeError("`df` must hold numbers, got None.")
            set_(self, "df", values)
        if self.alternative is not None and self.alternative not in _ALTERNATIVES:
            raise SchemaError(
                f"`alternative` must be one of {', '.join(_ALTERNATIVES)}, "
                f"got {self.alternative!r}."
            )
        lo, hi = self.ci_low, self.ci_high
        if lo is not None and hi is not None and lo > hi:
            raise SchemaError(f"`ci_low` ({lo}) is above `ci_high` ({hi}).")
        est = self.estimate
        if (lo is not None and est < lo) or (hi is not None and est > hi):
            # NaN compares False, so an undefined estimate or bound passes this check
            raise SchemaError(f"`estimate` ({est}) is outside its interval [{lo}, {hi}].")
        if not isinstance(self.group, Mapping):
            raise SchemaTypeError("`group` must be a mapping of label names to values.")
        set_(self, "group", {str(k): str(v) for k, v in self.group.items()})
        if not isinstance(self.details, Mapping):
            raise SchemaTypeError("`details` must be a mapping.")
        set_(self, "details", _jsonable(self.details))

    # -- comparison and display -------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Result):
            return NotImplemented
        return all(
            _same(getattr(self, f.name), getattr(other, f.name)) for f in dataclasses.fields(self)
        )

    __hash__ = None  # type: ignore[assignment]

    # -- scipy-style access ---------------------------------------------------------------
    @property
    def confidence_interval(self) -> ConfidenceInterval:
        """The interval as a named ``(low, high)`` pair, as scipy's results give it.

        Examples
        --------
        >>> r = Result("accuracy", 0.9, 0.85, 0.94, 0.95, "wilson")
        >>> r.confidence_interval
        ConfidenceInterval(low=0.85, high=0.94)
        >>> low, high = r.confidence_interval
        """
        return ConfidenceInterval(self.ci_low, self.ci_high)

    def __iter__(self) -> Iterator[float | None]:
        """A test unpacks as ``statistic, pvalue``, like scipy's and mlxtend's results.

        Only a result with a p-value unpacks: an estimate has no (statistic, pvalue) pair,
        and unpacking one is an error rather than a silent pair of Nones.

        Examples
        --------
        >>> test = Result("mcnemar_chi2", 4.0, method="mcnemar", statistic=4.0, pvalue=0.0455)
        >>> chi2, p = test
        >>> chi2, p
        (4.0, 0.0455)
        """
        if self.pvalue is None:
            raise TypeError(
                f"a {self.metric!r} result is an estimate, not a test: it does not unpack; "
                "use .estimate and .confidence_interval."
            )
        return iter((self.statistic, self.pvalue))

    def __str__(self) -> str:
        label = ", ".join(f"{k}={v}" for k, v in self.group.items())
        head = f"{self.metric}[{label}]" if label else self.metric
        text = f"{head} = {format_number(self.estimate)}"
        if self.ci_low is not None or self.ci_high is not None:
            text += f" [{format_number(self.ci_low)}, {format_number(self.ci_high)}]"
        if self.pvalue is not None:
            text += f", p = {format_number(self.pvalue)}"
        bits = []
        if self.confidence is not None:
            bits.append(f"{self.confidence * 100:g}% {self.method}".strip())
        elif self.method:
            bits.append(self.method)
        if self.n is not None:
            bits.append(f"n={self.n}")
        return text + (f" ({', '.join(bits)})" if bits else "")

    # -- conversion -------------------------------------------------------------------
    def to_dict(self, *, strict_json: bool = False) -> dict[str, Any]:
        """All fields as a dict; with ``strict_json`` non-finite floats become strings."""
        out: dict[str, Any] = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["df"] = list(self.df) if self.df is not None else None
        out["group"] = dict(self.group)
        out["details"] = _jsonable(self.details)
        return _encode_floats(out) if strict_json else out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Result:
        """Build a Result from :meth:`to_dict` output (strict-JSON strings accepted).

        A document that breaks the schema raises :class:`~varkit.errors.VarkitError`.
        """
        try:
            return cls._from_dict(data)
        except SchemaError as exc:
            raise _input_error(exc) from None

    @classmethod
    def _from_dict(cls, data: Mapping[str, Any]) -> Result:
        if not isinstance(data, Mapping):
            raise SchemaTypeError(f"a result must be an object, got {type(data).__name__}.")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise SchemaError(f"unknown result field(s): {', '.join(sorted(unknown))}.")
        for required in ("metric", "estimate"):
            if required not in data:
                raise SchemaError(f"`{required}` is missing.")
        kwargs = dict(data)
        try:
            kwargs["details"] = _decode_floats(kwargs.get("details") or {})
            return cls(**kwargs)
        except RecursionError:
            raise SchemaError("`details` is nested too deeply.") from None

    def to_json(self, **kwargs: Any) -> str:
        """Strict JSON text of this result."""
        return json.dumps(self.to_dict(strict_json=True), allow_nan=False, **kwargs)

    @classmethod
    def from_json(cls, text: str) -> Result:
        return cls.from_dict(json.loads(text))

    def replace(self, **changes: Any) -> Result:
        """A copy with some fields changed (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)


def _input_error(exc: Exception, prefix: str = "") -> VarkitError:
    """``exc`` (a schema or input error) as the input error of a document."""
    kind = VarkitTypeError if isinstance(exc, TypeError) else VarkitError
    return kind(f"{prefix}{exc}")


def _decode_floats(value: Any) -> Any:
    """Inverse of :func:`_encode_floats` inside ``details``."""
    if isinstance(value, str) and value in _NONFINITE:
        return _NONFINITE[value]
    if isinstance(value, dict):
        return {k: _decode_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode_floats(v) for v in value]
    return value


def _label_column(key: str) -> str:
    """Frame column of a group label; prefixed when it would clash with a field."""
    return f"group.{key}" if key in _COLUMNS or key == "details" else key


def _cell(text: str) -> str:
    """A Markdown table cell: pipes escaped, line breaks flattened."""
    return " ".join(text.replace("|", "\\|").split()) if text.strip() else ""


_COLUMNS = (
    "metric",
    "estimate",
    "ci_low",
    "ci_high",
    "confidence",
    "method",
    "n",
    "stderr",
    "statistic",
    "pvalue",
    "df",
    "alternative",
)


@dataclass(frozen=True, eq=False)
class ResultSet:
    """An ordered collection of :class:`Result` with the provenance of the run.

    Examples
    --------
    >>> rs = ResultSet([Result("mean", 1.0, 0.9, 1.1, 0.95, "bootstrap-bca", n=100)],
    ...                provenance={"function": "doc"})
    >>> ResultSet.from_json(rs.to_json()) == rs
    True
    >>> rs.to_frame()[["metric", "estimate", "ci_low"]].to_dict("records")
    [{'metric': 'mean', 'estimate': 1.0, 'ci_low': 0.9}]
    """

    results: tuple[Result, ...] = ()
    provenance: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        items = tuple(self.results)
        for item in items:
            if not isinstance(item, Result):
                raise SchemaTypeError(f"ResultSet holds Result objects, got {type(item).__name__}.")
        object.__setattr__(self, "results", items)
        object.__setattr__(self, "provenance", _jsonable(dict(self.provenance)))

    def __iter__(self) -> Iterator[Result]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def __getitem__(self, index: int) -> Result:
        return self.results[index]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ResultSet):
            return NotImplemented
        return (
            len(self) == len(other)
            and all(a == b for a, b in zip(self.results, other.results, strict=True))
            and _same(self.provenance, other.provenance)
        )

    __hash__ = None  # type: ignore[assignment]

    def __str__(self) -> str:
        return "\n".join(str(r) for r in self.results)

    def select(self, metric: str | None = None, **group: str) -> ResultSet:
        """The results with this metric whose group labels include ``group``."""
        keep = [
            r
            for r in self.results
            if (metric is None or r.metric == metric)
            and all(r.group.get(k) == str(v) for k, v in group.items())
        ]
        return ResultSet(tuple(keep), self.provenance)

    def extend(self, results: Iterable[Result]) -> ResultSet:
        """A new set with ``results`` appended (provenance kept)."""
        return ResultSet((*self.results, *results), self.provenance)

    # -- conversion -------------------------------------------------------------------
    def to_dict(self, *, strict_json: bool = False) -> dict[str, Any]:
        prov = _encode_floats(self.provenance) if strict_json else dict(self.provenance)
        return {
            "schema": SCHEMA_ID,
            "provenance": prov,
            "results": [r.to_dict(strict_json=strict_json) for r in self.results],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ResultSet:
        """Build a ResultSet from a ``varkit.results/1`` document (a dict).

        A document that breaks the schema raises :class:`~varkit.errors.VarkitError`
        naming the 1-based result.
        """
        try:
            return cls._from_dict(data)
        except SchemaError as exc:
            raise _input_error(exc) from None

    @classmethod
    def _from_dict(cls, data: Mapping[str, Any]) -> ResultSet:
        if data.get("schema") != SCHEMA_ID:
            raise SchemaError(
                f"not a varkit results document: `schema` is {data.get('schema')!r}, "
                f"expected {SCHEMA_ID!r}."
            )
        items = data.get("results", [])
        if not isinstance(items, list):
            raise SchemaTypeError(f"`results` must be a list, got {type(items).__name__}.")
        results = []
        for position, item in enumerate(items, start=1):
            try:
                results.append(Result.from_dict(item))
            except (SchemaError, VarkitError) as exc:
                # a document is the user's input: name the result as a person counts them
                raise _input_error(exc, f"result {position}: ") from None
        provenance = data.get("provenance") or {}
        if not isinstance(provenance, Mapping):
            raise SchemaTypeError(
                f"`provenance` must be an object, got {type(provenance).__name__}."
            )
        try:
            return cls(tuple(results), _decode_floats(provenance))
        except RecursionError:
            raise SchemaError("`provenance` is nested too deeply.") from None

    def to_json(self, indent: int | None = 2) -> str:
        """Strict JSON text (schema ``varkit.results/1``)."""
        return json.dumps(self.to_dict(strict_json=True), indent=indent, allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> ResultSet:
        try:
            data = json.loads(text)
        except RecursionError:
            raise VarkitError("the results JSON is nested too deeply.") from None
        except ValueError as exc:  # JSONDecodeError, or an integer past 4300 digits
            reason = " ".join(str(exc).split()).rstrip(".")
            raise VarkitError(f"the results JSON is not valid ({reason}).") from None
        if not isinstance(data, Mapping):
            raise VarkitError("not a varkit results document: the JSON is not an object.")
        return cls.from_dict(data)

    def to_frame(self) -> Any:
        """A pandas DataFrame: one row per result, group labels as columns."""
        import pandas as pd

        keys: list[str] = []
        for r in self.results:
            keys.extend(k for k in r.group if k not in keys)
        rows = []
        for r in self.results:
            row: dict[str, Any] = {_label_column(k): r.group.get(k) for k in keys}
            row.update({c: getattr(r, c) for c in _COLUMNS})
            row["df"] = None if r.df is None else ",".join(f"{d:g}" for d in r.df)
            row["details"] = json.dumps(_encode_floats(r.details), sort_keys=True)
            rows.append(row)
        columns = [_label_column(k) for k in keys]
        return pd.DataFrame(rows, columns=[*columns, *_COLUMNS, "details"])

    def to_markdown(self) -> str:
        """A GitHub-flavoured Markdown table of the results."""
        keys: list[str] = []
        for r in self.results:
            keys.extend(k for k in r.group if k not in keys)
        head = [*keys, "metric", "estimate", "interval", "p-value", "method", "n"]
        lines = ["| " + " | ".join(_cell(h) for h in head) + " |", "|" + "---|" * len(head)]
        for r in self.results:
            interval = (
                f"[{format_number(r.ci_low)}, {format_number(r.ci_high)}]"
                if r.ci_low is not None or r.ci_high is not None
                else ""
            )
            if interval and r.confidence is not None:
                interval += f" ({r.confidence * 100:g}%)"
            cells = [
                *(r.group.get(k, "") for k in keys),
                r.metric,
                format_number(r.estimate),
                interval,
                "" if r.pvalue is None else format_number(r.pvalue),
                r.method,
                "" if r.n is None else str(r.n),
            ]
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        return "\n".join(lines) + "\n"


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks.

    Examples
    --------
    >>> import tempfile
    >>> path = tempfile.mkstemp()[1]
    >>> _ = open(path, "wb").write(b"abc")
    >>> file_sha256(path)[:16]
    'ba7816bf8f01cfea'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def make_provenance(
    *,
    command: str | None = None,
    function: str | None = None,
    inputs: Sequence[str | os.PathLike[str]] = (),
    seed: int | None = None,
    device: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Provenance for a :class:`ResultSet`: version, command, input hashes, seed, device, time.

    Examples
    --------
    >>> p = make_provenance(function="varkit.gpu.bootstrap", seed=1, device="cpu")
    >>> sorted(p)
    ['device', 'function', 'inputs', 'python', 'seed', 'time_utc', 'varkit_version']
    """
    from importlib.metadata import PackageNotFoundError, version

    try:
        varkit_version = version("varkit")
    except PackageNotFoundError:  # running from a source tree
        varkit_version = "unknown"
    prov: dict[str, Any] = {
        "varkit_version": varkit_version,
        "python": platform.python_version(),
        "time_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "inputs": [{"path": os.fspath(p), "sha256": file_sha256(p)} for p in inputs],
        "seed": seed,
        "device": device,
    }
    if command is not None:
        prov["command"] = command
    if function is not None:
        prov["function"] = function
    prov.update(extra)
    return prov


def load_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the ``varkit.results/1`` document.

    Examples
    --------
    >>> load_json_schema()["properties"]["schema"]["const"]
    'varkit.results/1'
    """
    text = resources.files("varkit").joinpath("results.schema.json").read_text("utf-8")
    return dict(json.loads(text))
