"""Structure: polychoric correlations, matrix tests, comparison with noise floors, factors, networks.

Modules load on first attribute access (``popaudit.structure.<module>``), like the top level.
"""

import importlib

_MODULES = ("polychoric", "tests", "comparison", "factors")


def __getattr__(name: str):
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return importlib.import_module(f"{__name__}.{name}")
