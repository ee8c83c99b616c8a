"""popaudit's settings (memory budget, compilation cache) and the scoped JAX compilation cache."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

import popaudit as pa
from popaudit import _jaxcache, _settings


def test_parse_bytes():
    assert _settings.parse_bytes("2GiB") == 2 * 2**30
    assert _settings.parse_bytes("500 MB") == 500_000_000
    assert _settings.parse_bytes("1.5kib") == 1536
    assert _settings.parse_bytes(1e9) == 1_000_000_000
    for bad in ("lots", "-1GB", 0, "2 parsecs", float("nan")):
        with pytest.raises(ValueError, match="memory size|cannot read"):
            _settings.parse_bytes(bad)
    with pytest.raises(TypeError, match="memory size"):
        _settings.parse_bytes(True)


def test_set_options_globally_and_in_a_block(monkeypatch):
    monkeypatch.delenv("POPAUDIT_MEMORY_LIMIT", raising=False)
    assert pa.get_options()["memory_limit"] == 2 * 2**30
    with pa.set_options(memory_limit="100MB", compilation_cache=False):
        assert pa.get_options() == {"memory_limit": 100_000_000, "compilation_cache": False}
        with pa.set_options(memory_limit=10**6):
            assert _settings.memory_limit() == 10**6
        assert _settings.memory_limit() == 100_000_000
    assert pa.get_options()["memory_limit"] == 2 * 2**30
    monkeypatch.setenv("POPAUDIT_MEMORY_LIMIT", "1GB")
    assert _settings.memory_limit() == 10**9
    monkeypatch.setenv("POPAUDIT_COMPILATION_CACHE", "off")
    assert pa.get_options()["compilation_cache"] is False
    with pytest.raises(ValueError, match="unknown option 'memory'"):
        pa.set_options(memory=1)
    monkeypatch.setenv("POPAUDIT_MEMORY_LIMIT", "plenty")
    with pytest.raises(ValueError, match="POPAUDIT_MEMORY_LIMIT='plenty'"):
        pa.get_options()


# A fresh process: the user's JAX configuration before and after popaudit computes, the
# cache folder, and how the Newton kernel was obtained (compiled or loaded from the folder).
CHILD = textwrap.dedent("""
    import json, os, sys
    import numpy as np
    import jax
    if len(sys.argv) > 1:  # the user's own JAX cache
        jax.config.update("jax_compilation_cache_dir", sys.argv[1])
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    before = {k: repr(v) for k, v in jax.config.values.items()}
    import popaudit as pa
    from popaudit import _jaxcache
    from jax._src import compilation_cache as jcc
    rng = np.random.default_rng(0)
    z = rng.normal(size=(300, 1)) + rng.normal(size=(300, 3))
    res = pa.polychoric((z > 0).astype(int))
    def popaudit_side(v):
        return v * 2.0 + 1.0
    def user_side(v):
        return v - 7.0
    with _jaxcache.compilation_cache():
        jax.jit(popaudit_side)(np.arange(3.0)).block_until_ready()
    jax.jit(user_side)(np.arange(3.0)).block_until_ready()
    after = {k: repr(v) for k, v in jax.config.values.items()}
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    print(json.dumps({"changed": changed, "cache_object_left": jcc._cache is not None
                      and str(getattr(jcc._cache, "_path", "")) != (sys.argv[1:] or [""])[0],
                      "stats": _jaxcache.stats, "rho": float(res.corr.iloc[0, 1])}))
""")


def _child(tmp_path, setting, *args):
    env = dict(os.environ, POPAUDIT_COMPILATION_CACHE=setting, JAX_PLATFORMS="cpu")
    env.pop("XLA_FLAGS", None)
    out = subprocess.run([sys.executable, "-c", CHILD, *args], env=env, check=True,
                         capture_output=True, text=True, cwd=tmp_path)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_compilation_cache_is_scoped_and_reused(tmp_path):
    folder = tmp_path / "cache"
    first = _child(tmp_path, str(folder))
    assert first["changed"] == []  # jax.config is the same after popaudit computed
    assert not first["cache_object_left"]  # and JAX's cache object was put back
    assert first["stats"] == {"loaded": 0, "compiled": 1}
    stored = list((folder / "programs").glob("fit_pairs-*.bin"))
    assert len(stored) == 1
    # JAX's own cache: popaudit's programs while popaudit computes, never the user's; not
    # the Newton kernel (its stored executable is its cache)
    jax_files = [f.name for f in folder.iterdir() if f.name.startswith("jit_")]
    assert any(f.startswith("jit_popaudit_side-") for f in jax_files)
    assert not any(f.startswith(("jit_user_side-", "jit_fit_pairs-")) for f in jax_files)
    second = _child(tmp_path, str(folder))  # a new session loads the compiled kernel
    assert second["stats"] == {"loaded": 1, "compiled": 0}
    assert second["rho"] == first["rho"]
    assert second["changed"] == []
    # a broken file is compiled again and replaced
    stored[0].write_bytes(b"not a program")
    third = _child(tmp_path, str(folder))
    assert third["stats"] == {"loaded": 0, "compiled": 1}
    assert third["rho"] == first["rho"]


def test_compilation_cache_off(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with pa.set_options(compilation_cache=False):
        assert _jaxcache.cache_dir() is None
    assert _jaxcache.cache_dir() == tmp_path / "popaudit" / "jax"
    monkeypatch.setenv("POPAUDIT_COMPILATION_CACHE", "0")
    assert _jaxcache.cache_dir() is None


def test_users_own_jax_cache_folder_wins(tmp_path):
    folder = tmp_path / "popaudit-cache"
    users = tmp_path / "users-jax-cache"
    own = _child(tmp_path, str(folder), str(users))
    assert own["changed"] == []
    # the user's folder wins
    assert any(f.name.startswith("jit_popaudit_side-") for f in users.iterdir())
    assert not any(f.name.startswith("jit_") for f in folder.iterdir())


def test_import_leaves_jax_config_alone():
    code = ("import jax; b = dict(jax.config.values); import popaudit as pa; "
            "from popaudit.structure import polychoric; import popaudit._jaxcache; "
            "print(b == dict(jax.config.values))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True)
    assert out.stdout.strip() == "True"
