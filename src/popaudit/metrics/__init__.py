"""Per-item metrics: marginal distances and modal agreement.

Modules load on first attribute access (``popaudit.metrics.<module>``), like the top level.
"""

from popaudit._lazy import lazy_modules

__getattr__ = lazy_modules(__name__, ("marginal", "modal"))
