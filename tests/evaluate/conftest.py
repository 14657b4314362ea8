"""Shared fixtures of the varkit.evaluate tests."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest

# The fixture scripts need mlxtend, which the test environment must not have.
collect_ignore_glob = ["fixtures/*"]

FIXTURES = pathlib.Path(__file__).with_name("fixtures")


@pytest.fixture(scope="session")
def reference() -> dict[str, Any]:
    """Values computed once with mlxtend 0.25.0 / statsmodels 0.15.0 (see the script)."""
    return dict(json.loads((FIXTURES / "reference_values.json").read_text()))
