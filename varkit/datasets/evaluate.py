"""A bundled predictions log for ``varkit evaluate compare`` and the demo.

``predictions_example.csv`` has one row per test example: ``id``, ``y_true`` (three
classes ``0, 1, 2``) and the predicted class of three models, ``forest``, ``logistic`` and
``baseline``. Each example has a latent difficulty shared by the models, so their errors
are correlated as real models' errors are; true accuracies are about 0.86, 0.83 and 0.60.
:func:`make_predictions_example` rebuilds the file exactly.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd

__all__ = [
    "PREDICTIONS_FILENAME",
    "load_predictions_example",
    "make_predictions_example",
    "predictions_example_path",
]

PREDICTIONS_FILENAME = "predictions_example.csv"
_SEED = 1811_12808  # arXiv id of Raschka (2018)


def make_predictions_example(n: int = 600, random_state: int = _SEED) -> pd.DataFrame:
    """Simulate the example log (the bundled file is ``make_predictions_example()``).

    A model is right on example i when ``u_i + e_ij < a_j``, with ``u_i`` a shared uniform
    difficulty, ``e_ij`` small independent noise and ``a_j`` the model's skill; a wrong
    model predicts one of the two other classes at random.

    Examples
    --------
    >>> make_predictions_example().equals(load_predictions_example())
    True
    """
    rng = np.random.default_rng(random_state)
    y = rng.integers(0, 3, size=n)
    difficulty = rng.uniform(size=n)
    frame = {"id": np.arange(1, n + 1), "y_true": y}
    for name, skill in (("forest", 0.86), ("logistic", 0.83), ("baseline", 0.60)):
        right = difficulty + rng.normal(scale=0.12, size=n) < skill
        wrong = (y + rng.integers(1, 3, size=n)) % 3
        frame[name] = np.where(right, y, wrong)
    return pd.DataFrame(frame).astype(np.int64)


def predictions_example_path() -> str:
    """Path of the bundled predictions log (for the CLI and examples)."""
    return str(resources.files("varkit.datasets").joinpath("data", PREDICTIONS_FILENAME))


def load_predictions_example() -> pd.DataFrame:
    """The bundled predictions log as a DataFrame (600 rows).

    Examples
    --------
    >>> list(load_predictions_example().columns)
    ['id', 'y_true', 'forest', 'logistic', 'baseline']
    """
    return pd.read_csv(predictions_example_path())


if __name__ == "__main__":  # pragma: no cover - regenerates the bundled file
    make_predictions_example().to_csv(
        resources.files("varkit.datasets").joinpath("data", PREDICTIONS_FILENAME), index=False
    )
