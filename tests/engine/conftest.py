"""Fixtures of the scale-out tests: logs on disk and a real two-process Dask cluster."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")


def start_cluster() -> Iterator[Any]:
    """A ``LocalCluster`` of 2 worker processes on loopback and its client."""
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            memory_limit="1GiB",
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.fixture(scope="session")
def client() -> Iterator[Any]:
    """One cluster for the whole run (starting one takes a few seconds of CPU)."""
    yield from start_cluster()


def make_log(folder: Path, n: int = 6000, seed: int = 0) -> pd.DataFrame:
    """A session log split over a CSV and a Parquet file (with two row groups)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "revenue": rng.exponential(size=n).round(6),
            "cost": rng.uniform(0.5, 1.5, size=n).round(6),
            "converted": (rng.random(n) < 0.2).astype(int),
            "variant": rng.choice(["control", "treatment"], size=n),
        }
    )
    half = n // 2
    frame.iloc[:half].to_csv(folder / "part-0.csv", index=False)
    frame.iloc[half:].reset_index(drop=True).to_parquet(
        folder / "part-1.parquet", row_group_size=half // 2 + 1
    )
    return frame
