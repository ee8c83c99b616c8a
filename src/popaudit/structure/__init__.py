"""Structure: polychoric correlations, matrix tests, comparison with noise floors, factors, networks.

Modules load on first attribute access (``popaudit.structure.<module>``), like the top level.
"""

from popaudit._lazy import lazy_modules

__getattr__ = lazy_modules(__name__, ("polychoric", "tests", "comparison", "factors", "study_b"))
