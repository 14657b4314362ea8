"""Model evaluation, model selection and algorithm selection (Raschka 2018)."""

from varkit.evaluate.bootstrap632 import bootstrap_632_score, no_information_rate
from varkit.evaluate.cochran import cochrans_q
from varkit.evaluate.ftest import ftest
from varkit.evaluate.mcnemar import mcnemar, mcnemar_table
from varkit.evaluate.paired_ttests import (
    combined_ftest_5x2cv,
    corrected_resampled_ttest,
    five_by_two_cv,
    paired_ttest_5x2cv,
    paired_ttest_kfold_cv,
    paired_ttest_resampled,
)
from varkit.evaluate.proportion import proportion_ci, proportion_difference

__all__ = [
    "bootstrap_632_score",
    "cochrans_q",
    "combined_ftest_5x2cv",
    "corrected_resampled_ttest",
    "five_by_two_cv",
    "ftest",
    "mcnemar",
    "mcnemar_table",
    "no_information_rate",
    "paired_ttest_5x2cv",
    "paired_ttest_kfold_cv",
    "paired_ttest_resampled",
    "proportion_ci",
    "proportion_difference",
]
