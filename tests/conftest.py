"""Fixtures shared by the whole test suite; keep only generic helpers here."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Stop at once, with the reason, when ``varkit`` imports as a namespace package.

    That happens when a folder named ``varkit`` without ``__init__.py`` comes first on
    the path, e.g. ``site-packages/varkit`` holding only files that an earlier install
    wrote there (numba kernel caches, before they moved to a per-user folder) after pip
    replaced that install by an editable one. Without this check every test module fails
    to import with "cannot import name ... from 'varkit' (unknown location)".
    """
    import varkit

    if getattr(varkit, "__file__", None) is None:
        folders = ", ".join(map(str, getattr(varkit, "__path__", [])))
        raise pytest.UsageError(
            f"varkit imports as an empty namespace package from {folders}: files left "
            "there by an earlier install. Delete that folder (or the virtual environment) "
            "and install again."
        )


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[[str, str | bytes], Path]:
    """Write text (or bytes) to a file named ``name`` under ``tmp_path`` and return its path."""

    def write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return write
