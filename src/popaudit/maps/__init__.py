"""The Inglehart–Welzel cultural map.

Modules load on first attribute access (``popaudit.maps.<module>``), like the top level.
"""

import importlib

_MODULES = ("inglehart_welzel",)


def __getattr__(name: str):
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return importlib.import_module(f"{__name__}.{name}")
