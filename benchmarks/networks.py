"""Network Comparison Test: popaudit against R's NetworkComparisonTest, side by side.

Two populations of p = 20 items, n = 500 + 500 (a sparse Gaussian graphical model; the
second population has two edges changed), 1 000 permutations:

* Pearson input, global tests only (NCT's defaults);
* Pearson input with edge and centrality tests (strength, expected influence; Holm);
* polychoric input: the same latent data cut into 5 categories (R: NCT with its
  ``cor_auto`` estimator, lavaan's polychoric correlations).

popaudit's first call (tracing and compiling the glasso kernel for the chunk shapes, or
loading them from JAX's persistent cache) is timed apart from warm calls. R runs in its
own Rscript process, timed inside R (start-up excluded), with NCT's R files source()d from
a checkout (``--nct``, e.g. the ``fetch`` of github:cvborkulo/NetworkComparisonTest); R is
single-threaded and slow, so it runs ``--r-it`` permutations and its time is extrapolated
linearly to 1 000 (the per-permutation cost is constant: two EBICglasso fits), which the
table says. Both sides see the same machine load in the same run; the load average is
printed.

Usage::

    python benchmarks/networks.py --nct /tmp/nct            # R peers at --r-it 100
    python benchmarks/networks.py --no-r                    # popaudit only
    python benchmarks/networks.py --p 60 --no-r             # the GPU size
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def make_data(n: int, p: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two populations from chain-plus GGMs; the second has two edges changed."""
    rng = np.random.default_rng(seed)
    K = np.eye(p)
    for i in range(p - 1):
        K[i, i + 1] = K[i + 1, i] = -0.3
    for i in range(0, p - 3, 2):
        K[i, i + 3] = K[i + 3, i] = 0.15
    K2 = K.copy()
    K2[0, 1] = K2[1, 0] = 0.0
    K2[2, 9] = K2[9, 2] = -0.25
    out = []
    for k in (K, K2):
        sig = np.linalg.inv(k)
        d = np.sqrt(np.diag(sig))
        out.append(rng.multivariate_normal(np.zeros(p), sig / np.outer(d, d), size=n))
    return out[0], out[1]


def ordinal(x: np.ndarray) -> np.ndarray:
    return np.digitize(x, [-1.2, -0.4, 0.4, 1.2]) + 1


R_TEMPLATE = """
suppressPackageStartupMessages({{library(qgraph); library(Matrix); library(reshape2)}})
source(file.path('{nct}', 'R', 'NCT.R')); source(file.path('{nct}', 'R', 'estimators.R'))
x1 <- as.matrix(read.csv('{g1}')); x2 <- as.matrix(read.csv('{g2}'))
set.seed(1)
t <- system.time(res <- suppressWarnings(suppressMessages({call})))[['elapsed']]
cat(t, res$nwinv.pval, '\\n')
"""

R_CALLS = {
    "pearson": "NCT(x1, x2, it = {it}, progressbar = FALSE)",
    "pearson_tests": ("NCT(x1, x2, it = {it}, progressbar = FALSE, test.edges = TRUE, "
                      "edges = 'all', test.centrality = TRUE, p.adjust.methods = 'holm')"),
    "polychoric": ("NCT(x1, x2, it = {it}, progressbar = FALSE, estimator = NCT_estimator_GGM, "
                   "estimatorArgs = list(corMethod = 'cor_auto', make.positive.definite = TRUE,"
                   " gamma = 0.5))"),
}


def run_r(kind: str, g1: Path, g2: Path, nct: str, it: int, timeout: float):
    code = R_TEMPLATE.format(nct=nct, g1=g1.as_posix(), g2=g2.as_posix(),
                             call=R_CALLS[kind].format(it=it))
    try:
        res = subprocess.run(["Rscript", "-e", code], check=False, capture_output=True,
                             text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, None
    if res.returncode != 0:
        print(res.stderr[-2000:])
        return None, None
    t, p = res.stdout.split()[:2]
    return float(t), float(p)


def load_average() -> str:
    try:
        return " ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:  # pragma: no cover
        return "?"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=500, help="respondents per population")
    ap.add_argument("--p", type=int, default=20, help="items")
    ap.add_argument("--n-perm", type=int, default=1000)
    ap.add_argument("--nct", default="", help="folder with NetworkComparisonTest's R/ files")
    ap.add_argument("--r-it", type=int, default=100, help="permutations R runs (extrapolated)")
    ap.add_argument("--r-it-poly", type=int, default=20, help="R permutations, cor_auto")
    ap.add_argument("--r-timeout", type=float, default=3600)
    ap.add_argument("--no-r", action="store_true")
    ap.add_argument("--no-poly", action="store_true")
    args = ap.parse_args()

    import popaudit as pa

    x1, x2 = make_data(args.n, args.p, seed=7)
    o1, o2 = ordinal(x1), ordinal(x2)
    cols = [f"x{i + 1}" for i in range(args.p)]
    print(f"load average at start: {load_average()}  (cores: {os.cpu_count()})")
    rows = []

    def timed(label, **kw):
        t0 = time.perf_counter()
        res = pa.compare_networks(**kw)
        return label, time.perf_counter() - t0, res

    # first call: compiles the kernel's chunk shapes (or loads them from the cache)
    t0 = time.perf_counter()
    pa.compare_networks(x1, x2, corr="pearson", n_perm=64, seed=0)
    first = time.perf_counter() - t0
    print(f"first call (n_perm = 64, compile or cache load included): {first:.1f} s")
    cases = [("pearson", {"gold": x1, "simulated": x2, "corr": "pearson"}),
             ("pearson_tests", {"gold": x1, "simulated": x2, "corr": "pearson", "edges": True,
                                    "centrality": True, "p_adjust": "holm"})]
    if not args.no_poly:
        cases.append(("polychoric", {"gold": pd.DataFrame(o1, columns=cols),
                                         "simulated": pd.DataFrame(o2, columns=cols),
                                         "corr": "polychoric"}))
    results = {}
    for kind, kw in cases:
        _label, t, res = timed(kind, n_perm=args.n_perm, seed=1, **kw)
        results[kind] = (t, res.pvalue)
        print(f"popaudit {kind}: {t:.1f} s (p = {res.pvalue:.4f})  load {load_average()}")

    r_times = {}
    have_r = (not args.no_r and shutil.which("Rscript") is not None and args.nct
              and Path(args.nct, "R", "NCT.R").exists())
    if have_r:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            for kind, _ in cases:
                a, b = (o1, o2) if kind == "polychoric" else (x1, x2)
                g1, g2 = tmp / f"{kind}_1.csv", tmp / f"{kind}_2.csv"
                pd.DataFrame(a, columns=cols).to_csv(g1, index=False)
                pd.DataFrame(b, columns=cols).to_csv(g2, index=False)
                it = args.r_it_poly if kind == "polychoric" else args.r_it
                t, _p = run_r(kind, g1, g2, args.nct, it, args.r_timeout)
                if t is not None:
                    r_times[kind] = (t, it, t * args.n_perm / it)
                    print(f"R NCT {kind}: {t:.1f} s for it = {it} -> {t * args.n_perm / it:.0f} s "
                          f"for {args.n_perm}  load {load_average()}")
    print()
    print(f"p = {args.p}, n = {args.n} + {args.n}, {args.n_perm} permutations; "
          f"popaudit first call {first:.1f} s (not in the table)")
    print()
    print("| input | popaudit (s) | R NCT (s) | R permutations run | speed-up |")
    print("| --- | ---: | ---: | ---: | ---: |")
    names = {"pearson": "Pearson, global tests", "pearson_tests":
             "Pearson, + edge and centrality tests", "polychoric": "polychoric (R: cor_auto)"}
    for kind, (t, _) in results.items():
        if kind in r_times:
            _rt, it, full = r_times[kind]
            extra = "" if it == args.n_perm else f" (extrapolated from {it})"
            rows.append(f"| {names[kind]} | {t:.1f} | {full:.0f}{extra} | {it} | "
                        f"{full / t:.1f}x |")
        else:
            rows.append(f"| {names[kind]} | {t:.1f} | - | - | - |")
    print("\n".join(rows))
    print(f"\nload average at end: {load_average()}")


if __name__ == "__main__":
    main()
