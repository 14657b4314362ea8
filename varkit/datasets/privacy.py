"""A bundled membership-inference log for ``varkit privacy epsilon`` and the demo.

``mia_example.csv`` has one row per challenge point: ``model_id`` (8 trained models),
``member`` (an independent fair coin per point, as in the paper's multiple-challenge-points
heuristic) and ``score``, a LiRA-style log-likelihood-ratio score (higher = member). Scores
are Gaussian with a per-model shift, so the attack at any threshold has known rates.
:func:`make_mia_example` rebuilds the file exactly.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd

__all__ = ["MIA_FILENAME", "load_mia_example", "make_mia_example", "mia_example_path"]

MIA_FILENAME = "mia_example.csv"
_SEED = 2206_05199  # arXiv id of Zanella-Béguelin et al. (2023)


def make_mia_example(
    n_models: int = 8, points_per_model: int = 400, random_state: int = _SEED
) -> pd.DataFrame:
    """Simulate the example log (the bundled file is ``make_mia_example()``).

    Members score N(mu_m, 1) and non-members N(0, 1), with a per-model shift mu_m drawn
    uniformly from [0.8, 1.2]: a mechanism that is roughly mu-Gaussian-DP with mu near 1.

    Examples
    --------
    >>> make_mia_example().equals(load_mia_example())
    True
    """
    rng = np.random.default_rng(random_state)
    shifts = rng.uniform(0.8, 1.2, size=n_models)
    model = np.repeat(np.arange(n_models), points_per_model)
    member = rng.integers(0, 2, size=model.size)
    score = rng.normal(shifts[model] * member, 1.0)
    return pd.DataFrame(
        {
            "model_id": [f"m{m}" for m in model],
            "member": member.astype(np.int64),
            "score": np.round(score, 6),
        }
    )


def mia_example_path() -> str:
    """Path of the bundled MIA log (for the CLI and examples)."""
    return str(resources.files("varkit.datasets").joinpath("data", MIA_FILENAME))


def load_mia_example() -> pd.DataFrame:
    """The bundled membership-inference log as a DataFrame (3200 rows).

    Examples
    --------
    >>> df = load_mia_example()
    >>> df.shape, list(df.columns)
    ((3200, 3), ['model_id', 'member', 'score'])
    """
    with resources.files("varkit.datasets").joinpath("data", MIA_FILENAME).open("r") as handle:
        return pd.read_csv(handle, dtype={"model_id": str, "member": np.int64, "score": float})
