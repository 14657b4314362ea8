"""A bundled web-experiment log for the resampling engine's demo: sessions of two variants.

Each row is one session of one user: its variant (``control``/``treatment``), whether it
converted, its revenue and its page-load latency. Users have several sessions, so sessions
are correlated within users: the demo shows the cluster bootstrap (``--cluster user_id``).
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd

__all__ = ["load_sessions_example", "make_sessions_example"]

FILENAME = "sessions_example.csv"


def make_sessions_example(n_users: int = 600, random_state: int = 20261126) -> pd.DataFrame:
    """Simulate the example log (the bundled file is ``make_sessions_example()``).

    Examples
    --------
    >>> df = make_sessions_example(n_users=50, random_state=1)
    >>> sorted(df.columns)
    ['converted', 'latency_ms', 'revenue', 'session_id', 'user_id', 'variant']
    """
    rng = np.random.default_rng(random_state)
    sessions = rng.geometric(0.25, size=n_users)
    user = np.repeat(np.arange(n_users), sessions)
    variant = np.where(rng.random(n_users) < 0.5, "control", "treatment")[user]
    # a user effect makes sessions of one user alike (intra-cluster correlation)
    user_rate = rng.beta(2, 18, size=n_users)[user]
    lift = np.where(variant == "treatment", 1.15, 1.0)
    converted = (rng.random(user.size) < np.clip(user_rate * lift, 0, 1)).astype(int)
    revenue = np.round(converted * rng.lognormal(3.0, 0.8, size=user.size), 2)
    user_speed = rng.lognormal(0.0, 0.3, size=n_users)[user]
    latency = np.round(rng.lognormal(5.5, 0.5, size=user.size) * user_speed, 1)
    return pd.DataFrame(
        {
            "session_id": np.arange(user.size),
            "user_id": [f"u{u:04d}" for u in user],
            "variant": variant,
            "converted": converted,
            "revenue": revenue,
            "latency_ms": latency,
        }
    )


def load_sessions_example() -> pd.DataFrame:
    """The bundled sessions log as a DataFrame.

    Examples
    --------
    >>> df = load_sessions_example()
    >>> df.equals(make_sessions_example())
    True
    """
    path = resources.files("varkit.datasets").joinpath("data", FILENAME)
    with resources.as_file(path) as real:
        return pd.read_csv(real)


def sessions_example_path() -> str:
    """The file path of the bundled sessions log (for the CLI)."""
    return str(resources.files("varkit.datasets").joinpath("data", FILENAME))
