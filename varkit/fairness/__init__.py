"""VRS impression-variance (shuffle distance) metrics with honest uncertainty."""

from varkit.fairness.counts import (
    DeliveryCounts,
    EligibleCounts,
    count_delivery,
    count_delivery_chunks,
    count_eligible,
)
from varkit.fairness.distances import (
    clip_and_renormalise,
    js_distance,
    kl_divergence,
    max_gap,
    shuffle_distance,
    signed_gaps,
)

__all__ = [
    "DeliveryCounts",
    "EligibleCounts",
    "clip_and_renormalise",
    "count_delivery",
    "count_delivery_chunks",
    "count_eligible",
    "js_distance",
    "kl_divergence",
    "max_gap",
    "shuffle_distance",
    "signed_gaps",
]
