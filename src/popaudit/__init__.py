"""popaudit: audit simulated survey populations against real survey data."""

from popaudit import datasets, factors, inglehart_welzel, marginal, modal, plots
from popaudit.audit import audit
from popaudit.distributions import AnswerDistributions, answer_distributions
from popaudit.factors import compare_factors, efa, parallel_analysis
from popaudit.inglehart_welzel import cultural_map
from popaudit.io import read_survey
from popaudit.marginal import MarginalResult, compare_marginals
from popaudit.modal import ModalDiversityResult, ModalResult, compare_modes, modal_diversity, modes
from popaudit.report import Report
from popaudit.structure import CorrelationComparison, MatrixComparison, compare_correlations
from popaudit.survey import INVALID, MISSING, WVS_MISSING_CODES, Item, Survey, check_compatible

__version__ = "0.1.0"

__all__ = [
    "INVALID",
    "MISSING",
    "WVS_MISSING_CODES",
    "AnswerDistributions",
    "CorrelationComparison",
    "Item",
    "MarginalResult",
    "MatrixComparison",
    "ModalDiversityResult",
    "ModalResult",
    "Report",
    "Survey",
    "__version__",
    "answer_distributions",
    "audit",
    "check_compatible",
    "compare_correlations",
    "compare_factors",
    "compare_marginals",
    "compare_modes",
    "cultural_map",
    "datasets",
    "efa",
    "factors",
    "inglehart_welzel",
    "marginal",
    "modal",
    "modal_diversity",
    "modes",
    "parallel_analysis",
    "plots",
    "read_survey",
]
