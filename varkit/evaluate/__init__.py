"""Model evaluation, model selection and algorithm selection (Raschka 2018).

The front doors of ``varkit evaluate``: :func:`compare_predictions` (one test set's
predictions: a log, a file or a glob, in memory or over partitions), :func:`compare_scores`
(a log of per-split scores) and :func:`compare_models` (refit models on repeated splits).
"""

from varkit.evaluate.bayesian import (
    bayesian_correlated_ttest,
    bayesian_sign_test,
    bayesian_signed_rank,
)
from varkit.evaluate.bootstrap632 import bootstrap_632_score, no_information_rate
from varkit.evaluate.bootstrap_metrics import bootstrap_metric, paired_bootstrap_difference
from varkit.evaluate.cochran import cochrans_q
from varkit.evaluate.comparison import ModelComparison, compare_models
from varkit.evaluate.cv import cross_val_ci, holdout, nested_cv
from varkit.evaluate.ftest import ftest
from varkit.evaluate.mcnemar import mcnemar, mcnemar_table
from varkit.evaluate.multiple import adjust_pvalues, critical_difference, friedman_nemenyi
from varkit.evaluate.paired_ttests import (
    combined_ftest_5x2cv,
    corrected_resampled_ttest,
    five_by_two_cv,
    paired_ttest_5x2cv,
    paired_ttest_kfold_cv,
    paired_ttest_resampled,
)
from varkit.evaluate.permutation import paired_permutation_test
from varkit.evaluate.posthoc import (
    cd_cliques,
    critical_difference_figure,
    pairwise_wilcoxon,
    plot_critical_difference,
    posthoc_conover_friedman,
    posthoc_dunn,
    posthoc_quade,
    posthoc_siegel_friedman,
    pvalue_matrix,
)
from varkit.evaluate.predictions import compare_predictions
from varkit.evaluate.proportion import proportion_ci, proportion_difference
from varkit.evaluate.scores import compare_scores

__all__ = [
    "ModelComparison",
    "adjust_pvalues",
    "bayesian_correlated_ttest",
    "bayesian_sign_test",
    "bayesian_signed_rank",
    "bootstrap_632_score",
    "bootstrap_metric",
    "cd_cliques",
    "critical_difference_figure",
    "cochrans_q",
    "combined_ftest_5x2cv",
    "compare_models",
    "compare_predictions",
    "compare_scores",
    "corrected_resampled_ttest",
    "critical_difference",
    "cross_val_ci",
    "five_by_two_cv",
    "friedman_nemenyi",
    "ftest",
    "holdout",
    "mcnemar",
    "mcnemar_table",
    "nested_cv",
    "no_information_rate",
    "paired_bootstrap_difference",
    "paired_permutation_test",
    "paired_ttest_5x2cv",
    "paired_ttest_kfold_cv",
    "paired_ttest_resampled",
    "pairwise_wilcoxon",
    "plot_critical_difference",
    "posthoc_conover_friedman",
    "posthoc_dunn",
    "posthoc_quade",
    "posthoc_siegel_friedman",
    "proportion_ci",
    "proportion_difference",
    "pvalue_matrix",
]
