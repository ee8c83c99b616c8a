"""Benchmark: parallel analysis on polychoric matrices (popaudit.structure.factors.parallel_analysis).

Default case of the issue: p = 20 items, n = 5 000 respondents, 100 simulated data sets,
on the synthetic WVS-like gold data. Prints a table of seconds: the first (cold) call
includes JAX compilation, the following ones (warm) do not. With ``--r`` it also times
the same parallel analysis in R with psych::polychoric (psych::fa.parallel's resampling loop
written out, since fa.parallel(cor = "poly") refuses 10-category items) and prints the ratio.

    python benchmarks/parallel_analysis.py [--n 5000] [--p 20] [--draws 100] [--repeat 2] [--r]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import tempfile
import time

import jax
import numpy as np
import pandas as pd

import popaudit as pa


def _data(n: int, p: int) -> pa.Survey:
    gold = pa.datasets.wvs_like(n=n, seed=0)
    ordered = [q for q in gold.item_names if gold.item(q).kind != "nominal"]
    if p > len(ordered):
        raise SystemExit(f"the synthetic gold data have {len(ordered)} ordered items; p <= that")
    return gold.select(ordered[:p])


def _time_r(survey: pa.Survey, draws: int) -> float | None:
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "data.csv")
        codes = pd.DataFrame(np.asarray(survey.category_indices()) + 1.0)
        codes[codes < 1] = np.nan
        codes.to_csv(path, header=False, index=False, na_rep="NA")
        # psych::fa.parallel(cor = "poly") refuses items with more than 8 categories, so the
        # same resampling loop is written out with psych::polychoric(max.cat = 10)
        script = (
            "suppressPackageStartupMessages(library(psych));"
            f"x <- as.matrix(read.csv('{path}', header = FALSE));"
            "t <- system.time({"
            "ev <- eigen(polychoric(x, max.cat = 10)$rho, only.values = TRUE)$values;"
            f"sim <- replicate({draws}, eigen(polychoric(apply(x, 2, sample), "
            "max.cat = 10)$rho, only.values = TRUE)$values)"
            "})[['elapsed']];"
            "cat(t)")
        out = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True,
                             check=True)
        return float(out.stdout.strip().split()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--p", type=int, default=20)
    ap.add_argument("--draws", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=2, help="warm repetitions after the cold one")
    ap.add_argument("--batch-size", type=int, default=25)
    ap.add_argument("--r", action="store_true", help="also time the same analysis with psych::polychoric")
    args = ap.parse_args()

    survey = _data(args.n, args.p)
    rows = []
    res = None
    for i in range(1 + args.repeat):
        t0 = time.perf_counter()
        res = pa.structure.factors.parallel_analysis(survey, n_null=args.draws, seed=i,
                                           batch_size=args.batch_size)
        rows.append(("popaudit cold" if i == 0 else f"popaudit warm #{i}",
                     time.perf_counter() - t0))
    warm = min(t for name, t in rows[1:]) if args.repeat else rows[0][1]
    if args.r:
        t_r = _time_r(survey, args.draws)
        if t_r is None:
            rows.append(("psych::polychoric PA", float("nan")))
        else:
            rows.append(("psych::polychoric PA", t_r))

    print(f"parallel analysis, polychoric: n={args.n}, p={args.p}, draws={args.draws}, "
          f"batch_size={args.batch_size}")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"JAX devices: {', '.join(str(d) for d in jax.devices())}")
    print(f"{'run':<22}{'seconds':>10}{'ratio to warm':>16}")
    for name, t in rows:
        print(f"{name:<22}{t:>10.2f}{t / warm:>16.2f}")
    print(f"suggested: {res.n_factors} factors, {res.n_components} components")


if __name__ == "__main__":
    main()
