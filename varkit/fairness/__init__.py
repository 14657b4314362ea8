"""VRS impression-variance (shuffle distance) metrics with honest uncertainty.

The front door is :func:`vrs`: a delivery log and an eligible table (DataFrames, paths or
globs) in, the per-ad shuffle distances with intervals and the compliance coverage out,
in memory, in chunks or on Dask.
"""

from varkit.fairness.chunked import vrs_metrics_chunks
from varkit.fairness.compare import compare_delivery
from varkit.fairness.compliance import (
    compliance_report,
    plot_compliance,
    poisson_binomial_pmf,
    share_interval,
)
from varkit.fairness.counts import (
    DeliveryCounts,
    EligibleCounts,
    count_delivery,
    count_delivery_chunks,
    count_eligible,
)
from varkit.fairness.coverage import compliance_coverage, passes_threshold
from varkit.fairness.distances import (
    clip_and_renormalise,
    js_distance,
    kl_divergence,
    max_gap,
    shuffle_distance,
    signed_gaps,
)
from varkit.fairness.front_door import vrs
from varkit.fairness.metrics import vrs_coverage, vrs_metrics
from varkit.fairness.misclassification import misclassification_matrix
from varkit.fairness.simulate import (
    SimulatedDelivery,
    plot_trajectory,
    simulate_ad_logs,
    simulate_delivery,
    simulate_paired,
)
from varkit.fairness.uncertainty import dp_noise_scale, replicate_counts, summarise_replicates

__all__ = [
    "DeliveryCounts",
    "EligibleCounts",
    "SimulatedDelivery",
    "clip_and_renormalise",
    "compare_delivery",
    "compliance_coverage",
    "compliance_report",
    "count_delivery",
    "count_delivery_chunks",
    "count_eligible",
    "dp_noise_scale",
    "js_distance",
    "kl_divergence",
    "max_gap",
    "misclassification_matrix",
    "passes_threshold",
    "plot_compliance",
    "poisson_binomial_pmf",
    "plot_trajectory",
    "replicate_counts",
    "share_interval",
    "shuffle_distance",
    "signed_gaps",
    "simulate_ad_logs",
    "simulate_delivery",
    "simulate_paired",
    "summarise_replicates",
    "vrs",
    "vrs_coverage",
    "vrs_metrics",
    "vrs_metrics_chunks",
]
