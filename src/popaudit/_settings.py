"""Process-wide settings: memory budget of the resampling engines, JAX compilation cache.

``popaudit.set_options(...)`` changes them for the process, or for a ``with`` block;
``popaudit.get_options()`` reads them. Environment variables give the defaults, so a
batch job or a Dask worker can be configured without code:

* ``POPAUDIT_MEMORY_LIMIT``: the memory budget, e.g. ``2GiB`` (default), ``500MB``, or a
  number of bytes.
* ``POPAUDIT_COMPILATION_CACHE``: ``0`` / ``off`` / ``false`` / ``no`` turns JAX's
  persistent compilation cache off for popaudit; any other value is the folder to use
  (default: the user's cache folder, see :func:`default_cache_dir`).

The compilation cache lives in :mod:`popaudit._jaxcache`.
"""

from __future__ import annotations

import math
import os
import re

__all__ = ["get_options", "memory_limit", "parse_bytes", "set_options"]

_DEFAULTS = {"memory_limit": 2 * 2**30, "compilation_cache": True}
_ENV = {"memory_limit": "POPAUDIT_MEMORY_LIMIT", "compilation_cache": "POPAUDIT_COMPILATION_CACHE"}
_set: dict = {}  # values given to set_options (override the environment)
_OFF = ("0", "off", "false", "no", "none", "")

_UNITS = {"": 1, "b": 1, "k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9,
          "t": 1e12, "tb": 1e12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def parse_bytes(value) -> int:
    """A size in bytes from an int or a string such as ``"2GiB"``, ``"500 MB"``, ``"1e9"``.

    Examples
    --------
    >>> parse_bytes("2GiB"), parse_bytes("500MB"), parse_bytes(4096)
    (2147483648, 500000000, 4096)
    """
    if isinstance(value, bool):
        raise TypeError(f"memory size must be a number of bytes or a string like '2GiB', "
                         f"got {value!r}")
    if isinstance(value, int | float):
        size = float(value)
    else:
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]*)\s*", str(value))
        if m is None or m.group(2).lower() not in _UNITS:
            raise ValueError(f"cannot read memory size {value!r}: give a number of bytes or a "
                             "string like '2GiB', '500MB'")
        size = float(m.group(1)) * _UNITS[m.group(2).lower()]
    if not (size > 0 and math.isfinite(size)):
        raise ValueError(f"memory size must be positive and finite, got {value!r}")
    return int(size)


def _check(name, value):
    if name == "memory_limit":
        return parse_bytes(value)
    if name == "compilation_cache":
        if isinstance(value, bool):
            return value
        if isinstance(value, str | os.PathLike):
            return os.fspath(value)
        raise ValueError(f"compilation_cache must be True, False or a folder, got {value!r}")
    raise ValueError(f"unknown option {name!r}; options are {sorted(_DEFAULTS)}")


def _from_env(name):
    raw = os.environ.get(_ENV[name])
    if raw is None:
        return _DEFAULTS[name]
    if name == "compilation_cache":
        return False if raw.strip().lower() in _OFF else raw
    try:
        return parse_bytes(raw)
    except ValueError as err:
        raise ValueError(f"environment variable {_ENV[name]}={raw!r}: {err}") from None


def get_options() -> dict:
    """The current settings: ``memory_limit`` (bytes) and ``compilation_cache``.

    ``compilation_cache`` is True (the default folder), False (off) or a folder.

    Examples
    --------
    >>> import popaudit as pa
    >>> sorted(pa.get_options())
    ['compilation_cache', 'memory_limit']
    """
    return {name: _set[name] if name in _set else _from_env(name) for name in _DEFAULTS}


class set_options:
    """Change popaudit's settings for the process, or for a ``with`` block.

    Parameters
    ----------
    memory_limit : int or str, optional
        Memory budget of the resampling engines (bootstrap draws, gold resamples,
        permutations): they process their draws in chunks sized to stay under it.
        Bytes or a string such as ``"2GiB"`` (default; environment variable
        ``POPAUDIT_MEMORY_LIMIT``). It bounds the working arrays of one call, not
        the input data already in memory.
    compilation_cache : bool or path, optional
        JAX's persistent compilation cache for popaudit's kernels, so that a new
        process does not compile them again: True (default, in the user's cache
        folder), False (off), or a folder (environment variable
        ``POPAUDIT_COMPILATION_CACHE``: ``0`` for off, or a folder). It is active
        only while popaudit computes and never changes the user's JAX settings;
        a cache folder configured for JAX itself is used instead.

    Examples
    --------
    >>> import popaudit as pa
    >>> with pa.set_options(memory_limit="500MB"):
    ...     pa.get_options()["memory_limit"]
    500000000
    """

    def __init__(self, **options):
        new = {name: _check(name, value) for name, value in options.items()}
        self._previous = {name: _set.get(name, _MISSING) for name in new}
        _set.update(new)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for name, value in self._previous.items():
            if value is _MISSING:
                _set.pop(name, None)
            else:
                _set[name] = value

    def __repr__(self):
        return f"set_options({get_options()})"


_MISSING = object()


def memory_limit() -> int:
    """The memory budget in bytes (see :func:`set_options`)."""
    return get_options()["memory_limit"]
