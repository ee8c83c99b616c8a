"""popaudit: audit simulated survey populations against real survey data."""

from popaudit import (
    datasets,
    factors,
    inglehart_welzel,
    marginal,
    modal,
    plots,
    subgroups,
    wvs,
)
from popaudit.audit import audit
from popaudit.disparity import (
    BiasResult,
    DisparityComparison,
    DisparityResult,
    bias_table,
    compare_disparity,
    subgroup_disparity,
)
from popaudit.distributions import AnswerDistributions, answer_distributions
from popaudit.factors import compare_factors, efa, parallel_analysis
from popaudit.inglehart_welzel import cultural_map
from popaudit.io import read_survey
from popaudit.marginal import MarginalResult, compare_marginals
from popaudit.modal import ModalDiversityResult, ModalResult, compare_modes, modal_diversity, modes
from popaudit.polychoric import PolychoricResult, polychoric, polychoric_batch
from popaudit.report import Report
from popaudit.structure import CorrelationComparison, MatrixComparison, compare_correlations
from popaudit.subgroups import (
    SubgroupFidelity,
    Subgroups,
    crossed_strata,
    define_subgroups,
    prediction_distributions,
    study_a_subgroups,
    subgroup_fidelity,
)
from popaudit.survey import INVALID, MISSING, WVS_MISSING_CODES, Item, Survey, check_compatible
from popaudit.wvs import read_wvs, wvs_survey

__version__ = "0.1.0"

__all__ = [
    "INVALID",
    "MISSING",
    "WVS_MISSING_CODES",
    "AnswerDistributions",
    "BiasResult",
    "CorrelationComparison",
    "DisparityComparison",
    "DisparityResult",
    "Item",
    "MarginalResult",
    "MatrixComparison",
    "ModalDiversityResult",
    "ModalResult",
    "PolychoricResult",
    "Report",
    "SubgroupFidelity",
    "Subgroups",
    "Survey",
    "__version__",
    "answer_distributions",
    "audit",
    "bias_table",
    "check_compatible",
    "compare_correlations",
    "compare_disparity",
    "compare_factors",
    "compare_marginals",
    "compare_modes",
    "crossed_strata",
    "cultural_map",
    "datasets",
    "define_subgroups",
    "efa",
    "factors",
    "inglehart_welzel",
    "marginal",
    "modal",
    "modal_diversity",
    "modes",
    "parallel_analysis",
    "plots",
    "polychoric",
    "polychoric_batch",
    "prediction_distributions",
    "read_survey",
    "read_wvs",
    "study_a_subgroups",
    "subgroup_disparity",
    "subgroup_fidelity",
    "subgroups",
    "wvs",
    "wvs_survey",
]
