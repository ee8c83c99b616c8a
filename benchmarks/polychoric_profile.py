"""Where the time of one warm polychoric call goes, beside its arithmetic bound.

Times each stage of ``popaudit.polychoric`` (input coding, contingency tables, pair tables
and thresholds, start values, Newton iterations, result) at (n, p, K) = (20 000, 60, 10)
by default, wall and CPU seconds (median over repeats of warm calls), and beside them the
bound: the GEMM-only time of the same one-hot cross-product ``X' X`` (X is n x pK float32,
numpy's BLAS on all cores), which is the arithmetic of the pair tables. The Newton stage is
split into likelihood evaluations (one per iteration: bivariate normal CDF, density and
its derivative on each pair's threshold grid) and the rest, from a separate timing of one
likelihood evaluation per chunk of 256 pairs.

Usage::

    python benchmarks/polychoric_profile.py
    python benchmarks/polychoric_profile.py --size 5000,30,5 --repeat 9
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from polychoric import make_data


def median_time(f, repeat):
    wall, cpu = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        f()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return float(np.median(wall)), float(np.median(cpu)), float(np.min(wall))


def likelihood_share(pc, x):
    """CPU seconds of likelihood evaluations in one call: per chunk, iterations x one."""
    import jax

    from popaudit._inference import x64
    from popaudit._kernels import polychoric as k

    prep = pc._prepare(x, None)
    n_cat = np.array([len(c) for c in prep.item_codes], np.int32)
    p = n_cat.size
    T = pc._numpy_tables(prep.codes, None, n_cat, np.dtype(np.float32))
    iu, ju = np.triu_indices(p, 1)
    _, _, pad_idx, _ = pc._layout(n_cat)
    npos = np.full(iu.size, float(prep.codes.shape[0]))
    tab, tau = pc._pair_tables_numpy(np.asarray(T, np.float64), npos, pad_idx, n_cat, iu, ju)
    tr, tc = tau[iu], tau[ju]
    order = np.argsort(pc._start_abs(tab, tr, tc), kind="stable")
    tab, tr, tc = tab[order], tr[order], tc[order]
    C = pc._PAIR_CHUNK
    loglik = jax.jit(k._loglik_derivs)
    total, iters = 0.0, 0
    with x64():
        for s in range(0, tab.shape[0], C):
            a = [np.asarray(v[s:s + C]) for v in (tab, tr, tc)]
            out = k.fit_pairs(a[0], a[1], a[2], n_cat[iu][order][s:s + C],
                              n_cat[ju][order][s:s + C], np.asarray(0.0),
                              pair_thresholds=np.asarray(False), pair_chunk=C)
            it = int(out["iterations"])
            phi_r, phi_c = jax.scipy.special.ndtr(a[1]), jax.scipy.special.ndtr(a[2])
            r = np.asarray(out["rho"])
            r = np.where(np.isfinite(r), np.clip(r, -0.99, 0.99), 0.0)
            jax.block_until_ready(loglik(r, a[0], a[1], a[2], phi_r, phi_c))
            _, c, _ = median_time(lambda: jax.block_until_ready(
                loglik(r, a[0], a[1], a[2], phi_r, phi_c)), 5)  # noqa: B023
            total += it * c
            iters += it
    return total, iters, -(-tab.shape[0] // C)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="20000,60,10", help="n,p,K")
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args(argv)
    n, p, k = (int(v) for v in args.size.split(","))
    x = make_data(n, p, k, seed=1)

    import popaudit as pa
    from popaudit.structure import polychoric as pc

    pa.polychoric(x)
    pa.polychoric(x)
    stages: dict = {}
    totals = []
    for _ in range(args.repeat):
        pc._PROFILE = []
        w, c = time.perf_counter(), time.process_time()
        pa.polychoric(x)
        totals.append((time.perf_counter() - w, time.process_time() - c))
        for name, sw, sc in pc._PROFILE:
            stages.setdefault(name, []).append((sw, sc))
    pc._PROFILE = None

    X = np.zeros((n, p * k), np.float32)
    X[np.arange(n)[:, None], np.arange(p) * k + x] = 1.0
    gemm_w, gemm_c, _ = median_time(lambda: X.T @ X, args.repeat)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        one_w, one_c, _ = median_time(lambda: X.T @ X, args.repeat)
    cores = len(os.sched_getaffinity(0))
    # CPU time: on a shared machine the wall time of one thread waits for other processes
    ideal = one_c / cores
    lik, iters, chunks = likelihood_share(pc, x)

    tot_w = float(np.median([t[0] for t in totals]))
    tot_c = float(np.median([t[1] for t in totals]))
    print(f"polychoric at (n, p, K) = ({n:,}, {p}, {k}); median of {args.repeat} warm calls; "
          f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}; "
          f"{time.strftime('%Y-%m-%d %H:%M')}\n")
    print("| stage | wall s | CPU s | share of CPU |")
    print("|:--|--:|--:|--:|")
    for name, v in stages.items():
        sw = float(np.median([a for a, _ in v]))
        sc = float(np.median([b for _, b in v]))
        print(f"| {name} | {sw:.4f} | {sc:.4f} | {sc / tot_c:.0%} |")
        if name.startswith("Newton"):
            print(f"| (of which likelihood evaluations: {iters} iterations over {chunks} "
                  f"chunks, est.) | | {lik:.4f} | |")
    print(f"| **whole call** | **{tot_w:.4f}** | {tot_c:.4f} | |")
    print(f"| GEMM-only X'X (X {n:,} x {p * k} float32), numpy's threads | {gemm_w:.4f} "
          f"| {gemm_c:.4f} | |")
    print(f"| GEMM-only X'X, one thread | {one_w:.4f} | {one_c:.4f} | |")
    print(f"| **bound**: one-thread GEMM CPU / {cores} cores | {ideal:.4f} | | |")
    print(f"\nCPU of the call / CPU of one GEMM: {tot_c / one_c:.2f}: on an idle machine "
          f"that keeps all {cores} cores busy, {tot_c / cores:.4f} s against the bound "
          f"{ideal:.4f} s; median wall here {tot_w:.4f} s ({tot_w / ideal:.1f} x the bound, "
          f"load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
