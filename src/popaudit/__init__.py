"""popaudit: audit simulated survey populations against real survey data."""

from popaudit.survey import INVALID, MISSING, WVS_MISSING_CODES, Item, Survey, check_compatible
from popaudit.io import read_survey

__version__ = "0.1.0"

__all__ = [
    "INVALID",
    "MISSING",
    "WVS_MISSING_CODES",
    "Item",
    "Survey",
    "check_compatible",
    "read_survey",
    "__version__",
]
