"""Fixtures shared by the tests of the resampling engine (varkit.gpu)."""

from __future__ import annotations

import json
import pathlib
from collections.abc import Iterator
from typing import Any

import numba
import pytest

# The fixture script imports scipy's resampling functions; it is run by hand, not collected.
collect_ignore_glob = ["fixtures/*"]

FIXTURES = pathlib.Path(__file__).with_name("fixtures")


@pytest.fixture(scope="session")
def scipy_reference() -> dict[str, Any]:
    """scipy.stats.bootstrap / permutation_test values (see fixtures/make_scipy_reference.py)."""
    return dict(json.loads((FIXTURES / "scipy_reference.json").read_text(encoding="utf-8")))


@pytest.fixture
def one_numba_thread() -> Iterator[None]:
    """Run the numba kernels on one thread for simulations of many small problems.

    Each parallel kernel call pays the OpenMP team's wake-up; on a loaded 2-core machine
    that was measured at ~15 ms a call (7 us when idle), which dominates thousands of
    bootstraps of n=50. The numbers computed do not depend on the thread count.
    """
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(before)
