"""Small bundled example logs used by ``varkit demo``, the examples and the tests."""

from varkit.datasets.cav import load_cav_example
from varkit.datasets.evaluate import load_predictions_example
from varkit.datasets.fairness import load_eligible_example, load_impressions_example
from varkit.datasets.privacy import load_mia_example
from varkit.datasets.sessions import load_sessions_example

__all__ = [
    "load_cav_example",
    "load_eligible_example",
    "load_impressions_example",
    "load_mia_example",
    "load_predictions_example",
    "load_sessions_example",
]
