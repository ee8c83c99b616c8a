"""Polychoric correlation matrices: popaudit against lavaan, psych, polycor and ordinalcorr.

Generates latent-normal ordinal data (two correlated factors plus noise, cut at
item-specific, partly skewed thresholds) and times, side by side in one run:

* full matrices at (n, p, K) = (5 000, 30, 5) and (20 000, 60, 10):
  popaudit (first call including compilation, and warm), lavaan::lavCor,
  psych::polychoric (max.cat raised to K, smooth = FALSE), polycor::hetcor
  (std.err = FALSE) - each R peer in its own Rscript process, timed inside R with
  system.time() so R's start-up and data reading are excluded - and the Python
  package ordinalcorr (hetcor) when it is installed;
* popaudit alone at WVS scale (100 000, 300, 10), in a fresh process: compile
  time separately and peak resident memory;
* 1 000 bootstrap draws of (2 000, 20, 5) through polychoric_batch.

Prints a Markdown table: seconds, ratio to popaudit's warm time, and the largest
absolute difference of each peer's matrix from popaudit's.

Usage::

    python benchmarks/polychoric.py                  # everything (R peers take minutes)
    python benchmarks/polychoric.py --quick          # small sizes, a minute or two
    python benchmarks/polychoric.py --sizes 5000,30,5 --no-wvs --no-boot
    python benchmarks/polychoric.py --peers lavaan,psych --r-timeout 900
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def make_data(n: int, p: int, k: int, seed: int) -> np.ndarray:
    """(n, p) category indices 0..k-1 from a two-factor latent normal model."""
    rng = np.random.default_rng(seed)
    load = rng.uniform(0.3, 0.8, size=(p, 2)) * rng.choice([-1, 1], size=(p, 2))
    load[:, 1] *= rng.uniform(0, 1, p)
    f = rng.normal(size=(n, 2))
    f[:, 1] = 0.3 * f[:, 0] + np.sqrt(1 - 0.09) * f[:, 1]
    uniq = np.sqrt(np.clip(1 - np.sum(load**2, 1) - 0.6 * load[:, 0] * load[:, 1], 0.15, None))
    x = np.empty((n, p), np.int32)
    base = np.quantile(rng.normal(size=200_000), np.linspace(0, 1, k + 1)[1:-1])
    for j in range(p):  # column by column keeps memory at one float column
        z = f @ load[j] + uniq[j] * rng.normal(size=n)
        z /= z.std()
        cuts = base + rng.normal(0, 0.4) + np.sort(rng.normal(0, 0.15, k - 1))
        x[:, j] = np.searchsorted(np.sort(cuts), z)
    return x


R_CODE = {
    "lavaan": "suppressPackageStartupMessages(library(lavaan)); "
              "t <- system.time(R <- lavCor(d, ordered = names(d)))[['elapsed']]",
    "psych": "suppressPackageStartupMessages(library(psych)); "
             "t <- system.time(R <- suppressWarnings(polychoric(d, max.cat = max(sapply(d, max)),"
             " smooth = FALSE, correct = 0, progress = FALSE))$rho)[['elapsed']]",
    "polycor": "suppressPackageStartupMessages(library(polycor)); "
               "d[] <- lapply(d, ordered); "
               "t <- system.time(R <- hetcor(d, ML = FALSE, std.err = FALSE)$correlations)"
               "[['elapsed']]",
}


def run_r(peer: str, csv: Path, out: Path, timeout: float):
    code = (f"d <- read.csv('{csv.as_posix()}'); {R_CODE[peer]}; "
            f"write.csv(unclass(as.matrix(R)), '{out.as_posix()}', row.names = FALSE); "
            "cat(t)")
    try:
        res = subprocess.run(["Rscript", "-e", code], check=False, capture_output=True,
                             text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, None, f"timed out after {timeout:.0f} s"
    if res.returncode != 0:
        return None, None, "failed: " + res.stderr.strip().splitlines()[-1][:120]
    secs = float(res.stdout.strip().split()[-1])
    return secs, pd.read_csv(out).to_numpy(float), ""


def time_popaudit(x: np.ndarray, repeat: int):
    from popaudit import polychoric

    t0 = time.perf_counter()
    res = polychoric(x, min_pairs=1)
    first = time.perf_counter() - t0
    warm = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = polychoric(x, min_pairs=1)
        warm.append(time.perf_counter() - t0)
    return first, float(np.median(warm)), res.corr.to_numpy()


def time_ordinalcorr(x: np.ndarray, timeout_pairs: int):
    try:
        oc = importlib.import_module("ordinalcorr")
    except ImportError:
        return None, None, "not installed (pip install ordinalcorr)"
    p = x.shape[1]
    if p * (p - 1) // 2 > timeout_pairs:
        return None, None, f"skipped: more than {timeout_pairs} pairs"
    df = pd.DataFrame(x, columns=[f"V{j + 1}" for j in range(p)])
    t0 = time.perf_counter()
    R = oc.hetcor(df, n_categories=int(x.max()) + 1).to_numpy(float)
    return time.perf_counter() - t0, R, ""


def full_matrix_rows(n, p, k, args, tmp: Path):
    x = make_data(n, p, k, seed=n + p + k)
    rows = []
    first, warm, R0 = time_popaudit(x, args.repeat)
    label = f"({n:,}, {p}, {k})"
    rows.append({"task": label, "method": "popaudit (first call, incl. compile)",
                 "seconds": first, "ratio": first / warm, "max_abs_diff": 0.0, "note": ""})
    rows.append({"task": label, "method": "popaudit (warm)", "seconds": warm, "ratio": 1.0,
                 "max_abs_diff": 0.0, "note": ""})
    csv = tmp / f"data_{n}_{p}_{k}.csv"
    pd.DataFrame(x + 1, columns=[f"V{j + 1}" for j in range(p)]).to_csv(csv, index=False)
    iu = np.triu_indices(p, 1)
    for peer in args.peers:
        if peer == "ordinalcorr":
            secs, R, note = time_ordinalcorr(x, args.max_python_pairs)
        elif shutil.which("Rscript") is None:
            secs, R, note = None, None, "Rscript not found"
        else:
            secs, R, note = run_r(peer, csv, tmp / f"out_{peer}_{n}_{p}_{k}.csv",
                                  args.r_timeout)
        rows.append({"task": label, "method": peer, "seconds": secs,
                     "ratio": None if secs is None else secs / warm,
                     "max_abs_diff": None if R is None else float(np.max(np.abs(R[iu] - R0[iu]))),
                     "note": note})
    return rows


WVS_CHILD = r"""
import json, resource, sys, time
import numpy as np
x = np.load(sys.argv[1])
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
from popaudit import polychoric
t0 = time.perf_counter(); r = polychoric(x, min_pairs=1); first = time.perf_counter() - t0
t0 = time.perf_counter(); r = polychoric(x, min_pairs=1); warm = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"first": first, "warm": warm, "peak_kb": peak, "data_kb": base,
                  "converged": bool(r.converged.to_numpy().all())}))
"""


def wvs_rows(n, p, k, tmp: Path):
    x = make_data(n, p, k, seed=7)
    f = tmp / "wvs.npy"
    np.save(f, x)
    del x
    res = subprocess.run([sys.executable, "-c", WVS_CHILD, str(f)], capture_output=True,
                         text=True, check=True)
    out = json.loads(res.stdout.strip().splitlines()[-1])
    label = f"({n:,}, {p}, {k}) WVS scale"
    note = (f"peak RSS {out['peak_kb'] / 2**20:.2f} GiB for the whole process "
            f"(after loading data: {out['data_kb'] / 2**20:.2f} GiB); all converged: "
            f"{out['converged']}")
    return [
        {"task": label, "method": "popaudit (first call)", "seconds": out["first"],
         "ratio": None, "max_abs_diff": None, "note": note},
        {"task": label, "method": "popaudit (warm)", "seconds": out["warm"], "ratio": None,
         "max_abs_diff": None, "note": f"compile ~ {out['first'] - out['warm']:.1f} s"},
    ]


def boot_rows(draws, n, p, k):
    from popaudit import polychoric_batch

    x = make_data(n, p, k, seed=11)
    rng = np.random.default_rng(12)
    counts = rng.multinomial(n, np.full(n, 1 / n), size=draws)
    t0 = time.perf_counter()
    R = polychoric_batch(x, counts)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    R = polychoric_batch(x, counts)
    warm = time.perf_counter() - t0
    label = f"bootstrap {draws:,} x ({n:,}, {p}, {k})"
    note = f"{draws / warm:.0f} matrices / s; NaN entries: {int(np.isnan(R).sum())}"
    return [{"task": label, "method": "polychoric_batch (first call)", "seconds": first,
             "ratio": None, "max_abs_diff": None, "note": ""},
            {"task": label, "method": "polychoric_batch (warm)", "seconds": warm,
             "ratio": None, "max_abs_diff": None, "note": note}]


def triple(s: str):
    return tuple(int(v) for v in s.split(","))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="5000,30,5;20000,60,10",
                    help="';'-separated n,p,K for the full comparison")
    ap.add_argument("--wvs", default="100000,300,10", help="n,p,K for popaudit alone")
    ap.add_argument("--boot", default="1000,2000,20,5", help="draws,n,p,K for the bootstrap")
    ap.add_argument("--peers", default="lavaan,psych,polycor,ordinalcorr")
    ap.add_argument("--r-timeout", type=float, default=1800.0, help="seconds per R peer")
    ap.add_argument("--max-python-pairs", type=int, default=2000,
                    help="skip ordinalcorr above this many pairs")
    ap.add_argument("--repeat", type=int, default=3, help="warm popaudit repetitions")
    ap.add_argument("--no-wvs", action="store_true")
    ap.add_argument("--no-boot", action="store_true")
    ap.add_argument("--quick", action="store_true",
                    help="small sizes: (2000,10,5);(5000,20,10), WVS (20000,100,10), "
                         "bootstrap 100 x (1000,10,5)")
    ap.add_argument("--json", help="also write the rows to this JSON file")
    args = ap.parse_args(argv)
    if args.quick:
        args.sizes, args.wvs, args.boot = "2000,10,5;5000,20,10", "20000,100,10", "100,1000,10,5"
    args.peers = [s for s in args.peers.split(",") if s]
    rows = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for spec in args.sizes.split(";"):
            if spec:
                rows += full_matrix_rows(*triple(spec), args, tmp)
        if not args.no_wvs:
            rows += wvs_rows(*triple(args.wvs), tmp)
    if not args.no_boot:
        rows += boot_rows(*triple(args.boot))
    table = pd.DataFrame(rows)
    cores = os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"# polychoric benchmark ({cores} cores, load average {load:.1f} at the end)\n")
    fmt = table.copy()
    fmt["seconds"] = fmt.seconds.map(lambda v: "" if v is None or pd.isna(v) else f"{v:.3g}")
    fmt["ratio"] = fmt.ratio.map(lambda v: "" if v is None or pd.isna(v) else f"{v:.1f}x")
    fmt["max_abs_diff"] = fmt.max_abs_diff.map(
        lambda v: "" if v is None or pd.isna(v) else f"{v:.1e}")
    print(fmt.to_markdown(index=False) if _has_tabulate() else fmt.to_string(index=False))
    if args.json:
        table.to_json(args.json, orient="records", indent=1)


def _has_tabulate() -> bool:
    try:
        importlib.import_module("tabulate")
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
