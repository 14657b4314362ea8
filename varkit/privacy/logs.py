"""Reading a membership-inference log (a DataFrame, a CSV/Parquet file or a glob of them).

An attack log has one row per challenge point: a 0/1 ``member`` column, and an attack
``score`` (higher means member) or the attack's 0/1 ``guess``; optionally the
``model_id`` of the trained model the point belongs to. A canary log (one-run auditing)
has one row per canary of the single training run: a 0/1 ``included`` column, the
attack's ``score`` (higher means included) and optionally a ``canary_id``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pandas as pd

from varkit.errors import VarkitError
from varkit.io import Column, expand_paths, read_all, validate_frame

__all__ = ["AttackLog", "CanaryLog", "is_log", "read_attack_log", "read_canary_log"]


@dataclass(frozen=True)
class AttackLog:
    """The columns of a log as arrays, and the files they came from (none for a frame).

    ``from_log`` says whether they were read from a log (messages then name its columns).
    """

    member: Any
    score: Any
    guess: Any
    model_id: Any
    inputs: tuple[str, ...] = ()
    from_log: bool = False


def is_log(data: Any) -> bool:
    """Whether ``data`` is a log (a DataFrame, a path or a glob) rather than an array."""
    return isinstance(data, (pd.DataFrame, str, os.PathLike))


def _read_table(
    log: pd.DataFrame | str | os.PathLike[str], columns: list[Column]
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The checked table of a frame, a file or a glob, and the files read (none for a frame)."""
    if isinstance(log, pd.DataFrame):
        return validate_frame(log, columns), ()
    inputs = tuple(expand_paths(os.fspath(log)))
    return read_all(list(inputs) if len(inputs) > 1 else inputs[0], columns), inputs


def read_attack_log(
    log: pd.DataFrame | str | os.PathLike[str],
    *,
    member_col: str = "member",
    score_col: str | None = None,
    guess_col: str | None = None,
    model_col: str = "model_id",
) -> AttackLog:
    """Read and check the columns of a log; ``score_col`` defaults to ``'score'``.

    Messages name the file, the column and the row (see :func:`varkit.io.read_table`).
    """
    if score_col is not None and guess_col is not None:
        raise VarkitError("Give `score_col` or `guess_col`, not both.")
    value_col = guess_col if guess_col is not None else (score_col or "score")
    columns = [
        Column(member_col, "binary"),
        Column(value_col, "binary" if guess_col is not None else "float"),
        Column(model_col, "label", required=False),
    ]
    table, inputs = _read_table(log, columns)
    values = table[value_col].to_numpy()
    return AttackLog(
        member=table[member_col].to_numpy(),
        score=None if guess_col is not None else values,
        guess=values if guess_col is not None else None,
        model_id=table[model_col].to_numpy() if model_col in table.columns else None,
        inputs=inputs,
        from_log=True,
    )


@dataclass(frozen=True)
class CanaryLog:
    """The columns of a canary log as arrays, and the files they came from."""

    included: Any
    score: Any
    canary_id: Any
    inputs: tuple[str, ...] = ()


def read_canary_log(
    log: pd.DataFrame | str | os.PathLike[str],
    *,
    included_col: str = "included",
    score_col: str = "score",
    id_col: str = "canary_id",
) -> CanaryLog:
    """Read and check a canary log; ``id_col`` is optional but must be unique when present."""
    columns = [
        Column(included_col, "binary"),
        Column(score_col, "float"),
        Column(id_col, "label", required=False),
    ]
    table, inputs = _read_table(log, columns)
    ids = table[id_col].to_numpy() if id_col in table.columns else None
    if ids is not None:
        duplicated = pd.Series(ids).duplicated()
        if duplicated.any():
            row = int(duplicated.to_numpy().argmax())
            raise VarkitError(
                f"column '{id_col}' must name each canary once, but row {row + 1} "
                f"repeats {ids[row]!r}."
            )
    return CanaryLog(
        included=table[included_col].to_numpy().astype(bool),
        score=table[score_col].to_numpy(dtype=float),
        canary_id=ids,
        inputs=inputs,
    )
