"""varkit's one exception type and its one warning type.

Every check of an argument or an input in varkit raises :class:`VarkitError` (a
``ValueError``; :class:`VarkitTypeError` is the same error for a value of the wrong type,
and also a ``TypeError``), with one sentence that names the column, the 1-based row or the
option at fault. The command line turns exactly this type into ``error: ...`` and exit
status 2; any other exception is a bug in varkit and exits 3 with its traceback.

Notes a user should see (rows excluded, strata pooled, intervals truncated) are
:class:`VarkitWarning`\\ s: the command line prints them as ``warning: ...`` lines on
standard error, and :func:`note` also records them in a result's ``details``.

:class:`SchemaError` is the one exception that is not an input error: a result that breaks
the schema.

This module imports nothing else from varkit, so every module may use it.

Examples
--------
>>> from varkit.errors import VarkitError
>>> issubclass(VarkitError, ValueError)
True
>>> details = {}
>>> import warnings
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     note(details, "3 rows were excluded: `crash` is missing.")
>>> details["warnings"], caught[0].category.__name__
(['3 rows were excluded: `crash` is missing.'], 'VarkitWarning')
"""

from __future__ import annotations

import warnings
from collections.abc import MutableMapping
from typing import Any

__all__ = [
    "SchemaError",
    "SchemaTypeError",
    "VarkitError",
    "VarkitTypeError",
    "VarkitWarning",
    "note",
]


class VarkitError(ValueError):
    """An argument or input that varkit cannot use; the message says why in one sentence.

    Examples
    --------
    >>> from varkit.checks import check_confidence
    >>> try:
    ...     check_confidence(1.5)
    ... except ValueError as exc:
    ...     print(exc)
    `confidence` must be between 0.5 and 0.999999999, got 1.5.
    """


class VarkitTypeError(VarkitError, TypeError):
    """A :class:`VarkitError` for a value of the wrong type (also a ``TypeError``).

    Examples
    --------
    >>> from varkit.checks import resolve_seed
    >>> try:
    ...     resolve_seed("seven")
    ... except TypeError as exc:
    ...     print(type(exc).__name__, isinstance(exc, ValueError))
    VarkitTypeError True
    """


class SchemaError(ValueError):
    """A :class:`~varkit.results.Result` that breaks the schema (an estimate outside its
    interval, a confidence outside (0, 1) ...).

    Deliberately *not* a :class:`VarkitError`: when varkit's own methods build such a
    result it is a bug, and the command line reports it as one (exit 3). Reading a
    results document (``ResultSet.from_json`` ...) turns it into a :class:`VarkitError`
    that names the result, because there the document is the user's input.

    Examples
    --------
    >>> from varkit.results import Result
    >>> try:
    ...     Result(metric="rate", estimate=0.5, ci_low=0.6, ci_high=0.9, method="doc")
    ... except ValueError as exc:
    ...     print(type(exc).__name__, [c.__name__ for c in type(exc).__mro__[1:3]])
    SchemaError ['ValueError', 'Exception']
    """


class SchemaTypeError(SchemaError, TypeError):
    """A :class:`SchemaError` for a field of the wrong type (also a ``TypeError``).

    Examples
    --------
    >>> issubclass(SchemaTypeError, TypeError) and issubclass(SchemaTypeError, SchemaError)
    True
    """


class VarkitWarning(UserWarning):
    """A note for the user about a result: the command line prints it as ``warning:``.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warnings.warn("strata were pooled", VarkitWarning)
    >>> caught[0].category is VarkitWarning
    True
    """


def note(details: MutableMapping[str, Any] | None, message: str, *, stacklevel: int = 2) -> None:
    """Warn with ``message`` (a :class:`VarkitWarning`) and record it in ``details``.

    Parameters
    ----------
    details : dict or None
        A result's ``details`` being built; the message is appended to its ``"warnings"``
        list (created when missing). ``None`` only warns.
    message : str
        One sentence for the user.
    stacklevel : int
        Passed to :func:`warnings.warn` (2: the caller of ``note``).

    Examples
    --------
    >>> import warnings
    >>> details = {}
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     note(details, "2 rows were excluded.")
    ...     note(details, "2 rows were excluded.")
    >>> details
    {'warnings': ['2 rows were excluded.']}
    """
    if details is not None:
        listed = details.setdefault("warnings", [])
        if message not in listed:
            listed.append(message)
    warnings.warn(message, VarkitWarning, stacklevel=stacklevel + 1)
