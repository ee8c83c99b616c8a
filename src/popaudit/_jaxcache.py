"""Compiled programs that outlive the process: a fast first call in a new session.

Two layers, both in popaudit's folder of the user's cache directory
(:func:`default_cache_dir`), both off with ``popaudit.set_options(compilation_cache=False)``
or ``POPAUDIT_COMPILATION_CACHE=0``:

* :func:`compilation_cache`: JAX's own persistent compilation cache, switched on only while
  popaudit computes (public ``jax.config.update``, the user's values put back when the last
  popaudit computation ends; a cache folder the user configured for JAX is used instead).
  A later process still traces and lowers each program, then loads the compiled code.
* :func:`load_or_compile`: for the few programs on the path of a first call (the
  polychoric Newton kernel), the compiled executable itself is stored and loaded without
  tracing or lowering, which is most of what is left of a cached first call. Its key
  holds everything the executable depends on (kernel sources, JAX and jaxlib versions,
  backend and devices, ``XLA_FLAGS``, the CPU's instruction set flags, argument shapes);
  a file that fails to load is compiled again and replaced.

The cache folder is trusted as JAX's is: it holds compiled code that is run.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import sys
import tempfile
import threading
from pathlib import Path

from popaudit._settings import get_options

__all__ = ["cache_dir", "compilation_cache", "default_cache_dir", "load_or_compile"]


def default_cache_dir() -> Path:
    """popaudit's folder for compiled programs in the user's cache directory.

    ``$XDG_CACHE_HOME/popaudit/jax`` (``~/.cache/popaudit/jax``) on Linux,
    ``~/Library/Caches/popaudit/jax`` on macOS, ``%LOCALAPPDATA%\\popaudit\\Cache\\jax`` on
    Windows: under the folders ``platformdirs.user_cache_dir("popaudit")`` gives.
    """
    home = Path.home()
    if sys.platform == "win32":  # pragma: no cover - platform specific
        base = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
        return base / "popaudit" / "Cache" / "jax"
    if sys.platform == "darwin":  # pragma: no cover - platform specific
        return home / "Library" / "Caches" / "popaudit" / "jax"
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(base) if os.path.isabs(base) else home / ".cache") / "popaudit" / "jax"


def cache_dir() -> Path | None:
    """The folder in use (created if needed), or None when the cache is off or unwritable."""
    setting = get_options()["compilation_cache"]
    if setting is False:
        return None
    path = default_cache_dir() if setting is True else Path(setting).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:  # a read-only home: compile every time rather than fail
        return None
    return path


# ----------------------------------------------------------------------------------
# JAX's persistent compilation cache, scoped to popaudit's computations
# ----------------------------------------------------------------------------------
_lock = threading.Lock()
_open = 0  # popaudit scopes open in this process (all threads)
_restore: dict = {}  # the user's values of the options popaudit set, while a scope is open

_DIR = "jax_compilation_cache_dir"
_MIN_TIME = "jax_persistent_cache_min_compile_time_secs"


def _jax_option(name: str):
    import jax

    return jax.config.values.get(name)


@contextlib.contextmanager
def compilation_cache():
    """Context: JAX's persistent compilation cache in popaudit's folder, while inside.

    Only JAX's public API: the first popaudit scope to open sets ``jax_compilation_cache_dir``
    (and a zero minimum compile time: most popaudit programs compile in 0.05-3 s and are
    worth keeping) with ``jax.config.update``; the last one to close puts the user's values
    back and resets JAX's cache object
    (``jax.experimental.compilation_cache.compilation_cache.reset_cache``), so that the
    user's own programs compiled afterwards are never written to popaudit's folder and
    ``jax.config`` reads as before. While a popaudit computation runs, a program the user
    compiles in *another thread* may be cached in popaudit's folder (harmless: a cache
    entry). Does nothing when the cache is off, when JAX's cache is disabled, or when the
    user configured a JAX cache folder of their own (that one is used).
    """
    global _open
    path = cache_dir()
    if path is None or not _jax_option("jax_enable_compilation_cache"):
        yield
        return
    import jax
    from jax.experimental.compilation_cache import compilation_cache as jcc

    ours = str(path)
    with _lock:
        if _open == 0:
            if _jax_option(_DIR) not in (None, ""):  # the user's own folder wins
                yield_plain = True
            else:
                yield_plain = False
                _restore.clear()
                _restore.update({_DIR: _jax_option(_DIR), _MIN_TIME: _jax_option(_MIN_TIME)})
                jcc.reset_cache()  # a cache object made before (without a folder) goes
                jax.config.update(_DIR, ours)
                jax.config.update(_MIN_TIME, 0.0)
        else:
            yield_plain = _jax_option(_DIR) != ours
        if not yield_plain:
            _open += 1
    if yield_plain:
        yield
        return
    try:
        yield
    finally:
        with _lock:
            _open -= 1
            if _open == 0:
                for name, value in _restore.items():
                    jax.config.update(name, value)
                _restore.clear()
                jcc.reset_cache()


@contextlib.contextmanager
def _min_compile_time(seconds: float):
    """Raise JAX's minimum compile time for caching within this block (public config)."""
    import jax

    with _lock:
        old = _jax_option(_MIN_TIME)
        jax.config.update(_MIN_TIME, seconds)
    try:
        yield
    finally:
        with _lock:
            jax.config.update(_MIN_TIME, old)


# ----------------------------------------------------------------------------------
# stored executables (no tracing in a new process)
# ----------------------------------------------------------------------------------
_FORMAT = "popaudit-program-2"  # part of every key: a change of format orphans old files
_programs: dict = {}  # in-process: key -> compiled program
#: how the programs of this process were obtained (read by the tests)
stats = {"loaded": 0, "compiled": 0}
_fingerprint_cache: list = []


def _fingerprint() -> str:
    """What a stored executable depends on besides its own arguments."""
    if _fingerprint_cache:
        return _fingerprint_cache[0]
    import jax
    import jaxlib

    h = hashlib.sha256()
    kernels = Path(__file__).parent / "_kernels"
    for f in sorted(kernels.glob("*.py")):  # the kernels' source: any edit recompiles
        h.update(f.name.encode() + f.read_bytes())
    dev = jax.devices()[0]
    platform = f"{dev.platform}|{getattr(getattr(dev, 'client', None), 'platform_version', '')}"
    devices = ",".join(sorted({d.device_kind for d in jax.devices()}))
    cpu = ""
    try:  # an executable for one instruction set must not run on another
        with open("/proc/cpuinfo") as fh:
            cpu = next((line for line in fh if line.startswith("flags")), "")
    except OSError:  # pragma: no cover - not Linux
        import platform as _platform
        cpu = _platform.processor()
    for part in (jax.__version__, jaxlib.__version__, platform, devices,
                 str(jax.device_count()), os.environ.get("XLA_FLAGS", ""), cpu, sys.version):
        h.update(b"\0" + part.encode())
    _fingerprint_cache.append(h.hexdigest())
    return _fingerprint_cache[0]


def _aval(x) -> str:
    import numpy as np

    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return f"{np.dtype(x.dtype).str}{tuple(x.shape)}w{getattr(x, 'weak_type', False)}"
    return repr(x)


def load_or_compile(jitted, name: str, args: tuple, kwargs: dict, static: dict, device=None):
    """``jitted.lower(*args, **kwargs, **static).compile()``, stored in the cache folder.

    ``args`` / ``kwargs`` are example arrays (their shapes and dtypes are the key),
    ``static`` the static keyword arguments. The result is called with ``*args,
    **kwargs`` of the same shapes. The first call in a process loads the stored
    executable (no tracing, no compilation); later calls reuse it from memory.
    ``device``: the device the program runs on (default: JAX's default device); one
    program per device, all compiled from the same lowering, so all give the same bits.
    """
    import jax

    if device is not None and device == jax.devices()[0]:
        device = None
    key_parts = [_FORMAT, name, *map(_aval, args),
                 *(f"{k}={_aval(v)}" for k, v in sorted(kwargs.items())),
                 *(f"{k}={v!r}" for k, v in sorted(static.items())),
                 f"x64={jax.config.jax_enable_x64}",
                 f"device={'default' if device is None else device.id}"]
    mem_key = "|".join(key_parts)
    prog = _programs.get(mem_key)
    if prog is not None:
        return prog
    folder = cache_dir()
    path = None
    if folder is not None:
        digest = hashlib.sha256((mem_key + "|" + _fingerprint()).encode()).hexdigest()[:40]
        path = folder / "programs" / f"{name}-{digest}.bin"
        if path.exists():
            try:
                from jax.experimental import serialize_executable as se

                with open(path, "rb") as fh:
                    blob, in_tree, out_tree = pickle.load(fh)
                prog = _Loaded(se.deserialize_and_load(blob, in_tree, out_tree), path,
                               (jitted, args, kwargs, static, device), mem_key)
                stats["loaded"] += 1
            except Exception:  # noqa: BLE001 - any stale or broken file: compile again
                prog = None
    if prog is None:
        prog, fresh = _compile_fresh(jitted, args, kwargs, static, device)
        stats["compiled"] += 1
        if path is not None and fresh:
            _store(prog, path)
    _programs[mem_key] = prog
    return prog


class _Loaded:
    """A loaded executable whose first run is checked: on a runtime error of the executable
    (not of the arguments) the file is deleted and the program compiled afresh."""

    def __init__(self, prog, path, spec, mem_key):
        self.prog, self.path, self.spec, self.mem_key = prog, path, spec, mem_key

    def __call__(self, *args, **kwargs):
        import jax

        try:
            out = jax.block_until_ready(self.prog(*args, **kwargs))
        except jax.errors.JaxRuntimeError:
            with contextlib.suppress(OSError):
                self.path.unlink()
            prog, fresh = _compile_fresh(*self.spec)
            stats["loaded"] -= 1
            stats["compiled"] += 1
            if fresh:
                _store(prog, self.path)
            _programs[self.mem_key] = prog
            return prog(*args, **kwargs)
        _programs[self.mem_key] = self.prog  # checked: later calls go straight to it
        return out


def _compile_fresh(jitted, args, kwargs, static, device=None):
    """Compile; also say whether XLA compiled it (rather than JAX's persistent cache).

    An executable that JAX loaded from its persistent cache serialises into a blob that
    loads but fails when run (XLA:CPU, jax 0.10: "Function ... not found"), so only
    freshly compiled programs are stored. JAX's cache does not keep them either (minimum
    compile time raised for this compilation): the stored executable is their cache.
    """
    import jax
    import jax.monitoring as mon

    hits = []
    ident = threading.get_ident()

    def listener(event, **_):
        if event == "/jax/compilation_cache/cache_hits" and threading.get_ident() == ident:
            hits.append(event)

    mon.register_event_listener(listener)
    try:
        if device is not None:  # committed to the device: the program runs there
            args, kwargs = jax.device_put((args, kwargs), device)
        with _min_compile_time(1e9):
            prog = jitted.lower(*args, **kwargs, **static).compile()
    finally:
        unregister = getattr(mon, "unregister_event_listener", None)
        if unregister is not None:
            with contextlib.suppress(Exception):
                unregister(listener)
    return prog, not hits


def _store(prog, path: Path) -> None:
    tmp = None
    try:
        from jax.experimental import serialize_executable as se

        payload = pickle.dumps(se.serialize(prog))
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        os.replace(tmp, path)  # atomic: concurrent processes never read half a file
    except Exception:  # noqa: BLE001 # pragma: no cover - unsupported, or disk full
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
