"""The data model: surveys, reading files, the WVS layout, answer distributions, codebook facts.

Modules load on first attribute access (``popaudit.data.<module>``), like the top level.
"""

from popaudit._lazy import lazy_modules

__getattr__ = lazy_modules(__name__, ("survey", "io", "wvs", "distributions", "codebook", "answers"))
