"""Resampling at size: compare_correlations' bootstrap and noise floor, time and peak memory.

For each size (n respondents, p items, K categories) a gold and a simulated population
(latent-normal ordinal data, different loadings) are compared with
``compare_correlations(gold, sim, n_boot=B, n_null=B)`` in a fresh Python process, which
reports wall time, CPU time and the peak resident memory of the whole process (and the
resident memory before the call: the data and the imports). Beside them, the bound: the
GEMM-only time of the same draws on the same machine. Every draw's pair tables are one
weighted one-hot cross-product, n x (pK)^2 multiply-adds; the default run resamples
3B matrices (B bootstrap draws of gold and of sim, B gold resamples at the simulated size
for the floor; the floor's gold side reuses the gold bootstrap), so the bound is
3B x the time of one ``X' X`` (X: n x pK float32) with every core busy: the CPU time of
the fastest of three single-threaded products divided by the number of cores (numpy's
threaded BLAS is up to forty times slower than that on a busy machine, so it is not
used as the yardstick). The memory budget is the ``memory_limit`` setting (default 2 GiB;
``--memory-limit``).

Usage::

    python benchmarks/resampling.py                       # the three sizes, B = 200
    python benchmarks/resampling.py --sizes 200000,20,5 --n-boot 50
    python benchmarks/resampling.py --sizes 100000,300,10 --n-boot 10   # WVS scale, few draws
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

CHILD = r"""
import json, resource, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
from polychoric import make_data
n, p, k, B = (int(v) for v in sys.argv[2:6])
limit = sys.argv[6]
import popaudit as pa
from popaudit import Item, Survey

def survey(seed, name):
    x = make_data(n, p, k, seed)
    items = [Item(f"Q{j + 1}", tuple(range(1, k + 1))) for j in range(p)]
    return Survey.from_category_indices(x, items, name=name)

gold, sim = survey(1, "gold"), survey(2, "sim")
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
with pa.set_options(memory_limit=limit):
    w, c = time.perf_counter(), time.process_time()
    res = pa.compare_correlations(gold, sim, n_boot=B, n_null=B, seed=0)
    wall, cpu = time.perf_counter() - w, time.process_time() - c
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
# the bound: one one-hot cross-product X'X in float32, timed alone
X = np.zeros((n, p * k), np.float32)
X[np.arange(n)[:, None], np.arange(p) * k + make_data(n, p, k, 1)] = 1.0
from threadpoolctl import threadpool_limits
ts = []
with threadpool_limits(limits=1, user_api="blas"):  # threaded BLAS on a busy machine: x40
    for _ in range(3):
        t = time.process_time()
        X.T @ X
        ts.append(time.process_time() - t)
import os
cores = len(os.sched_getaffinity(0))
stats = res.to_frame() if hasattr(res, "to_frame") else None
print(json.dumps({"wall": wall, "cpu": cpu, "peak": peak, "rss0": rss0,
                  "gemm": float(np.min(ts)) / cores, "rows": 0 if stats is None else len(stats)}))
"""


def run(n, p, k, b, limit, timeout):
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        out = subprocess.run([sys.executable, "-c", CHILD, here, str(n), str(p), str(k), str(b),
                              limit], capture_output=True, text=True, timeout=timeout,
                             check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["?"])[-1][:200]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="200000,20,5;100000,100,10;100000,300,10",
                    help="n,p,K;n,p,K;...")
    ap.add_argument("--n-boot", type=int, default=200, help="B: n_boot = n_null")
    ap.add_argument("--memory-limit", default="2GiB")
    ap.add_argument("--timeout", type=float, default=6 * 3600)
    args = ap.parse_args(argv)
    sizes = [tuple(int(v) for v in s.split(",")) for s in args.sizes.split(";") if s]
    print(f"compare_correlations(gold, sim, n_boot={args.n_boot}, n_null={args.n_boot}); "
          f"memory_limit {args.memory_limit}; {os.cpu_count()} cores; "
          f"{time.strftime('%Y-%m-%d %H:%M')}\n")
    print("| (n, p, K) | matrices | wall s | CPU s | bound s (GEMM only) | wall / bound "
          "| peak RSS GiB | RSS before GiB | load avg |")
    print("|:--|--:|--:|--:|--:|--:|--:|--:|--:|")
    for n, p, k in sizes:
        r = run(n, p, k, args.n_boot, args.memory_limit, args.timeout)
        load = os.getloadavg()[0]
        mats = 3 * args.n_boot
        if "error" in r:
            print(f"| ({n:,}, {p}, {k}) | {mats} | {r['error']} | | | | | | {load:.1f} |")
            continue
        bound = mats * r["gemm"]
        print(f"| ({n:,}, {p}, {k}) | {mats} | {r['wall']:.1f} | {r['cpu']:.1f} | {bound:.1f} "
              f"| {r['wall'] / bound:.1f} | {r['peak'] / 2**30:.2f} | {r['rss0'] / 2**30:.2f} "
              f"| {load:.1f} |", flush=True)


if __name__ == "__main__":
    main()
