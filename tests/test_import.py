"""Importing popaudit (and using it) leaves the user's process as it found it."""

import json
import subprocess
import sys

_PROBE = r"""
import json, sys, time
import jax, jax.numpy as jnp, matplotlib
before = {"x64": bool(jax.config.jax_enable_x64), "dtype": str(jnp.array(1.0).dtype),
          "backend": matplotlib.get_backend()}
t0 = time.perf_counter()
import popaudit as pa
import_seconds = time.perf_counter() - t0
after_import = {"x64": bool(jax.config.jax_enable_x64), "dtype": str(jnp.array(1.0).dtype),
                "backend": matplotlib.get_backend()}
gold = pa.datasets.wvs_like(n=300, seed=0)
res = pa.polychoric(gold.select(["Q164", "Q182", "Q184", "Q46"]))
after_call = {"x64": bool(jax.config.jax_enable_x64), "dtype": str(jnp.array(1.0).dtype),
              "backend": matplotlib.get_backend(), "result_dtype": str(res.corr.to_numpy().dtype)}
print(json.dumps({"before": before, "after_import": after_import, "after_call": after_call,
                  "import_seconds": import_seconds}))
"""

_BARE = r"""
import json, sys
import popaudit
heavy = sorted(m for m in ("jax", "matplotlib", "pandas", "scipy", "factor_analyzer", "pingouin",
                           "networkx") if m in sys.modules)
print(json.dumps(heavy))
"""


def _run(code: str):
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_and_use_leave_jax_and_matplotlib_settings_alone():
    got = _run(_PROBE)
    assert got["after_import"] == got["before"]
    # popaudit's own numbers are float64 while the user's JAX stays float32
    assert got["after_call"]["x64"] == got["before"]["x64"] is False
    assert got["after_call"]["dtype"] == "float32"
    assert got["after_call"]["backend"] == got["before"]["backend"]
    assert got["after_call"]["result_dtype"] == "float64"


def test_import_loads_no_heavy_dependency():
    # the public names load on first use (PEP 562), so `import popaudit` is fast (~0.1 s)
    assert _run(_BARE) == []


def test_public_names_resolve_and_shadow_no_module():
    import popaudit as pa

    for name in pa.__all__:
        assert getattr(pa, name) is not None
    assert callable(pa.polychoric) and callable(pa.audit)
    assert "auditing" not in pa.__all__
    assert sorted(pa.__all__) == pa.__all__


def test_importing_modules_never_hides_a_public_function():
    import importlib
    import types

    import popaudit as pa

    for module in sorted(set(pa._PUBLIC.values())):
        importlib.import_module(module)
    hidden = [n for n in pa._PUBLIC if isinstance(getattr(pa, n), types.ModuleType)]
    assert hidden == []
