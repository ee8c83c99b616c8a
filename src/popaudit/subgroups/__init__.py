"""Subgroups: definition, per-subgroup fidelity, disparity across subgroups, bias tables.

Modules load on first attribute access (``popaudit.subgroups.<module>``), like the top level.
"""

from popaudit._lazy import lazy_modules

__getattr__ = lazy_modules(__name__, ("definition", "disparity"))
