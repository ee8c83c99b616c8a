"""popaudit: audit simulated survey populations against real survey data.

The public face: functions and result classes, listed in ``__all__``. They are loaded on
first use (PEP 562), so ``import popaudit`` is fast and imports neither JAX nor matplotlib;
``pa.polychoric`` is the function, ``popaudit.structure.polychoric`` its module. No module
has the name of a public function (``audit`` lives in ``auditing``, ``sweep`` in ``sweeps``),
so importing a module never hides a function.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> module that defines it
_PUBLIC = {
    # data model
    "INVALID": "popaudit.data.survey",
    "MISSING": "popaudit.data.survey",
    "WVS_MISSING_CODES": "popaudit.data.survey",
    "Item": "popaudit.data.survey",
    "Survey": "popaudit.data.survey",
    "check_compatible": "popaudit.data.survey",
    "infer_items": "popaudit.data.survey",
    "read_survey": "popaudit.data.io",
    "read_codebook": "popaudit.data.codebook",
    "read_wvs": "popaudit.data.wvs",
    "wvs_survey": "popaudit.data.wvs",
    "AnswerDistributions": "popaudit.data.distributions",
    "answer_distributions": "popaudit.data.distributions",
    "ModelAnswers": "popaudit.data.answers",
    "read_answer_probabilities": "popaudit.data.answers",
    "read_answers": "popaudit.data.answers",
    # metrics
    "MarginalResult": "popaudit.metrics.marginal",
    "compare_marginals": "popaudit.metrics.marginal",
    "ModalDiversityResult": "popaudit.metrics.modal",
    "ModalResult": "popaudit.metrics.modal",
    "compare_modes": "popaudit.metrics.modal",
    "modal_diversity": "popaudit.metrics.modal",
    "modes": "popaudit.metrics.modal",
    # subgroups
    "SubgroupFidelity": "popaudit.subgroups.definition",
    "Subgroups": "popaudit.subgroups.definition",
    "crossed_strata": "popaudit.subgroups.definition",
    "define_subgroups": "popaudit.subgroups.definition",
    "prediction_distributions": "popaudit.subgroups.definition",
    "study_a_subgroups": "popaudit.subgroups.definition",
    "subgroup_fidelity": "popaudit.subgroups.definition",
    "BiasResult": "popaudit.subgroups.disparity",
    "DisparityComparison": "popaudit.subgroups.disparity",
    "DisparityResult": "popaudit.subgroups.disparity",
    "bias_table": "popaudit.subgroups.disparity",
    "compare_disparity": "popaudit.subgroups.disparity",
    "subgroup_disparity": "popaudit.subgroups.disparity",
    # structure
    "PolychoricResult": "popaudit.structure.polychoric",
    "polychoric": "popaudit.structure.polychoric",
    "polychoric_batch": "popaudit.structure.polychoric",
    "CorrelationComparison": "popaudit.structure.comparison",
    "MatrixComparison": "popaudit.structure.comparison",
    "compare_correlations": "popaudit.structure.comparison",
    "study_b_items": "popaudit.structure.study_b",
    "study_b_subgroups": "popaudit.structure.study_b",
    "study_b_survey": "popaudit.structure.study_b",
    "align_loadings": "popaudit.structure.factors",
    "compare_factors": "popaudit.structure.factors",
    "congruence": "popaudit.structure.factors",
    "efa": "popaudit.structure.factors",
    "parallel_analysis": "popaudit.structure.factors",
    "NetworkComparison": "popaudit.structure.networks",
    "NetworkResult": "popaudit.structure.networks",
    "compare_networks": "popaudit.structure.networks",
    "network": "popaudit.structure.networks",
    # the cultural map
    "cultural_map": "popaudit.maps.inglehart_welzel",
    "fit_map": "popaudit.maps.inglehart_welzel",
    # audit and report
    "audit": "popaudit.auditing",
    "SweepResult": "popaudit.sweeps",
    "read_sweep": "popaudit.sweeps",
    "sweep": "popaudit.sweeps",
    "SteerabilityResult": "popaudit.steering",
    "steerability": "popaudit.steering",
    "Report": "popaudit.report",
    # settings
    "get_options": "popaudit._settings",
    "set_options": "popaudit._settings",
}

# subpackages and modules reachable as attributes (``pa.datasets.wvs_like``, ``pa.plots``)
_MODULES = ("data", "datasets", "maps", "metrics", "plots", "structure", "subgroups")

__all__ = sorted([*_PUBLIC, *_MODULES, "__version__"])  # noqa: PLE0605


def __getattr__(name: str):
    if name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
    elif name in _MODULES:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module 'popaudit' has no attribute {name!r}")
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__():
    return __all__

