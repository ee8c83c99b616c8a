"""The first polychoric call of a fresh process: cold, with the compilation cache, warm.

A notebook user meets the first call first. On a survey of real size (1 391 respondents x
25 ordinal and binary items, the synthetic WVS-like gold with its weights and missing
answers) this prints, each in fresh Python processes:

* cold: an empty compilation cache folder (the first run ever: JAX compiles);
* cached: the same folder again (JAX loads the compiled programs);
* cache off: ``POPAUDIT_COMPILATION_CACHE=0`` (compiles in every process);
* warm: the second and later calls in one process (median of 5).

The import of popaudit (with JAX, pandas, scipy) is timed separately; making the data
is not timed.

Usage::

    python benchmarks/first_call.py              # 3 processes per row
    python benchmarks/first_call.py --repeat 5 --n 1391 --p 25
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

CHILD = r"""
import json, sys, time
n, p = int(sys.argv[1]), int(sys.argv[2])
t0 = time.perf_counter()
import popaudit as pa
from popaudit.structure import polychoric as _mod  # noqa: F401 (JAX, pandas, scipy)
t1 = time.perf_counter()
s = pa.datasets.wvs_like(n=n, seed=0)
items = [it.name for it in s.items if it.kind != "nominal"][:p]
s = s.select(items)
t2 = time.perf_counter()
pa.polychoric(s)
t3 = time.perf_counter()
warm = []
for _ in range(5):
    a = time.perf_counter()
    pa.polychoric(s)
    warm.append(time.perf_counter() - a)
warm.sort()
print(json.dumps({"import": t1 - t0, "first": t3 - t2, "warm": warm[2], "p": len(items),
                  "n": s.n_respondents}))
"""


def run(env_value: str, n: int, p: int) -> dict:
    env = dict(os.environ, POPAUDIT_COMPILATION_CACHE=env_value)
    out = subprocess.run([sys.executable, "-c", CHILD, str(n), str(p)], env=env, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1391)
    ap.add_argument("--p", type=int, default=25)
    ap.add_argument("--repeat", type=int, default=3, help="processes per row")
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cold = []
        for r in range(args.repeat):  # each cold run gets its own empty folder
            cold.append(run(os.path.join(tmp, f"cold{r}"), args.n, args.p))
        cached = [run(os.path.join(tmp, "cold0"), args.n, args.p) for _ in range(args.repeat)]
        off = [run("0", args.n, args.p) for _ in range(args.repeat)]

    def med(xs, key):
        v = sorted(x[key] for x in xs)
        return v[len(v) // 2], v[0], v[-1]

    for label, xs in (("cold (empty cache, compiles)", cold),
                      ("first call with the cache", cached),
                      ("cache off (compiles)", off)):
        m, lo, hi = med(xs, "first")
        rows.append((label, m, lo, hi))
    m, lo, hi = med(cold + cached + off, "warm")
    rows.append(("warm (later calls, one process)", m, lo, hi))
    im, ilo, ihi = med(cold + cached + off, "import")
    n, p = cold[0]["n"], cold[0]["p"]
    print(f"polychoric on a ({n}, {p}) survey; {args.repeat} fresh processes per row; "
          f"load average {os.getloadavg()[0]:.1f} at the end; "
          f"{time.strftime('%Y-%m-%d %H:%M')}\n")
    print("| call | median s | min s | max s |")
    print("|:--|--:|--:|--:|")
    for label, m, lo, hi in rows:
        print(f"| {label} | {m:.3f} | {lo:.3f} | {hi:.3f} |")
    print(f"| (import popaudit.structure.polychoric, not in the above) | {im:.3f} | {ilo:.3f} "
          f"| {ihi:.3f} |")


if __name__ == "__main__":
    main()
