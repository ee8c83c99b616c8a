"""Attributes loaded on first use (PEP 562), so that importing a package stays cheap."""

from __future__ import annotations

import importlib


def lazy_modules(package: str, modules: tuple[str, ...]):
    """A module-level ``__getattr__`` for ``package`` that imports its ``modules`` on access."""

    def __getattr__(name: str):
        if name not in modules:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return importlib.import_module(f"{package}.{name}")

    return __getattr__
