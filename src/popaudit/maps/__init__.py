"""The Inglehart–Welzel cultural map.

Modules load on first attribute access (``popaudit.maps.<module>``), like the top level.
"""

from popaudit._lazy import lazy_modules

__getattr__ = lazy_modules(__name__, ("inglehart_welzel",))
