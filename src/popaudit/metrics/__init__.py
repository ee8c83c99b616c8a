"""Per-item metrics: marginal distances and modal agreement.

Modules load on first attribute access (``popaudit.metrics.<module>``), like the top level.
"""

import importlib

_MODULES = ("marginal", "modal")


def __getattr__(name: str):
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return importlib.import_module(f"{__name__}.{name}")
