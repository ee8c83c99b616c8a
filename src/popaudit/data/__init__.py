"""The data model: surveys, reading files, the WVS layout, answer distributions, codebook facts.

Modules load on first attribute access (``popaudit.data.<module>``), like the top level.
"""

import importlib

_MODULES = ("survey", "io", "wvs", "distributions", "codebook")


def __getattr__(name: str):
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return importlib.import_module(f"{__name__}.{name}")
