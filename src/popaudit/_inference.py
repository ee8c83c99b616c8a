"""What every component shares: float64 scope, seeds, resampling summaries, effective sizes.

Written once here and imported by the components (marginal and modal floors, structure,
factors, subgroup disparity, the cultural map, networks). Nothing in this module knows
about items or surveys beyond arrays and labels.
"""

from __future__ import annotations

import functools
import os
import sys
import warnings

import jax

__all__ = ["warn", "with_x64", "x64"]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def x64():
    """Context manager: JAX float64 inside popaudit's own computations only.

    popaudit's kernels need float64 (likelihoods near |rho| = 1, glasso convergence), but
    the user's own JAX code keeps whatever precision its process chose: the switch is
    JAX's thread-local config context, restored on exit.
    """
    enable = getattr(jax, "enable_x64", None)
    if enable is None:  # JAX < 0.5 keeps it under experimental
        from jax.experimental import enable_x64 as enable
    return enable(True)


def with_x64(func):
    """Decorator: run ``func`` inside :func:`x64` (public entry points that call kernels)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with x64():
            return func(*args, **kwargs)

    return wrapper


def warn(message: str, category: type[Warning] = UserWarning) -> None:
    """``warnings.warn`` attributed to the first caller outside popaudit.

    A warning then points at the user's line, however deep inside popaudit it was raised
    (``stacklevel`` counted by hand breaks whenever a function moves or gains a wrapper).
    """
    level, frame = 1, sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
