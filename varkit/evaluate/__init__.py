"""Model evaluation, model selection and algorithm selection (Raschka 2018)."""

from varkit.evaluate.cochran import cochrans_q
from varkit.evaluate.ftest import ftest
from varkit.evaluate.mcnemar import mcnemar, mcnemar_table
from varkit.evaluate.proportion import proportion_ci, proportion_difference

__all__ = [
    "cochrans_q",
    "ftest",
    "mcnemar",
    "mcnemar_table",
    "proportion_ci",
    "proportion_difference",
]
