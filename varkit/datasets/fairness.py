"""Bundled ad-delivery logs for ``varkit fairness vrs`` and the demo.

Both files come from :func:`varkit.fairness.simulate.simulate_delivery` (no controller, so
some ads are skewed): ``impressions_example.csv`` has one row per (date, ad, user) with
hard ``sex`` labels and BISG-style ``p_<race>`` probabilities; ``eligible_example.csv`` has
one row per (ad, attribute, group) with DP noise (``noise_scale``) on the counts.
:func:`make_fairness_example` rebuilds them exactly.
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

__all__ = [
    "ELIGIBLE_FILENAME",
    "IMPRESSIONS_FILENAME",
    "load_eligible_example",
    "load_impressions_example",
    "make_fairness_example",
]

IMPRESSIONS_FILENAME = "impressions_example.csv"
ELIGIBLE_FILENAME = "eligible_example.csv"
_SEED = 20230109  # the day the VRS compliance metrics were announced


def make_fairness_example(random_state: int = _SEED) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate the example logs (the bundled files are ``make_fairness_example()``).

    Examples
    --------
    >>> impressions, eligible = make_fairness_example()
    >>> impressions.equals(load_impressions_example())
    True
    """
    from varkit.fairness.simulate import simulate_delivery

    sim = simulate_delivery(
        n_users=1500,
        n_ads=12,
        n_rounds=7,
        budget=(60, 1200),
        skew=0.4,
        eligible_noise_scale=2.0,
        random_state=random_state,
    )
    eligible = sim.eligible.assign(eligible=sim.eligible["eligible"].round(3))
    return sim.impressions, eligible


def _path(name: str) -> str:
    return str(resources.files("varkit.datasets").joinpath("data", name))


def impressions_example_path() -> str:
    """Path of the bundled impressions log (for the CLI and examples)."""
    return _path(IMPRESSIONS_FILENAME)


def eligible_example_path() -> str:
    """Path of the bundled eligible table."""
    return _path(ELIGIBLE_FILENAME)


def load_impressions_example() -> pd.DataFrame:
    """The bundled impressions log as a DataFrame.

    Examples
    --------
    >>> df = load_impressions_example()
    >>> {"ad_id", "user_id", "impressions", "sex", "p_white"} <= set(df.columns)
    True
    """
    with resources.files("varkit.datasets").joinpath("data", IMPRESSIONS_FILENAME).open() as fh:
        return pd.read_csv(fh, dtype={"ad_id": str, "user_id": str, "date": str, "sex": str})


def load_eligible_example() -> pd.DataFrame:
    """The bundled eligible table as a DataFrame.

    Examples
    --------
    >>> sorted(load_eligible_example()["attribute"].unique())
    ['race', 'sex']
    """
    with resources.files("varkit.datasets").joinpath("data", ELIGIBLE_FILENAME).open() as fh:
        return pd.read_csv(fh, dtype={"ad_id": str, "attribute": str, "group": str})
