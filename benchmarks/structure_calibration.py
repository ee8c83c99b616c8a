"""Calibration of popaudit.structure.comparison: type-I error of its tests, noise-floor and CI behaviour.

Run from the repository root:

    python benchmarks/structure_calibration.py            # 500 replications: 11-12 min
    python benchmarks/structure_calibration.py --reps 200 # about 5 min, wider intervals
    python benchmarks/structure_calibration.py --timing   # 1000 draws at n = 2000, p = 20

(times on 2 CPU cores shared with other jobs; part B runs its configurations in
two worker processes, ``--jobs``). The output is the same for the same ``--seed``.

Part A - asymptotic tests on Pearson matrices of normal data (numpy, batched over
replications): Jennrich (paper's form and psych's), Steiger, per-pair Fisher-z with
Holm / Benjamini-Hochberg, under H0 "two samples of one population"; Mantel under
its own H0 "no association" (identity population).

Part B - ``compare_correlations`` end to end on ordinal survey data (polychoric
matrices through ``polychoric_batch``), one call per replication: rejection
rates of the asymptotic and bootstrap p-values, of the noise floor
(``beyond_floor``) with both floor constructions, and coverage of the RMSE CIs
for the population RMSE (known: the latent correlation matrices are the
population polychoric matrices).

Every rate comes with its 95 % Clopper-Pearson interval. Target: type-I error in
[0.035, 0.065], coverage at least 0.93.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import multiprocessing
import sys
import time

import numpy as np
import pandas as pd
from scipy import stats

from popaudit import Item, Survey
from popaudit.structure.comparison import _bootstrap_interval, compare_correlations
from popaudit.structure.tests import jennrich_statistic, steiger_statistic

ALPHA = 0.05


def rate(k: int, n: int) -> str:
    ci = stats.binomtest(int(k), int(n)).proportion_ci(method="exact")
    return f"{k / n:.3f} [{ci.low:.3f}, {ci.high:.3f}]"


def one_factor(p: int, load) -> np.ndarray:
    lam = np.broadcast_to(np.asarray(load, dtype=float), (p,))
    r = np.outer(lam, lam)
    np.fill_diagonal(r, 1.0)
    return r


def spread_loadings(p: int, scale: float = 1.0) -> np.ndarray:
    """Heterogeneous loadings .8 .. .3: correlations from .09 to .56 (a pattern to match)."""
    return scale * np.linspace(0.8, 0.3, p)


# ----------------------------------------------------------------------------------------
# Part A: asymptotic tests, Pearson matrices


def batched_pearson(x: np.ndarray) -> np.ndarray:
    xc = x - x.mean(axis=1, keepdims=True)
    cov = np.einsum("rni,rnj->rij", xc, xc)
    sd = np.sqrt(np.einsum("rii->ri", cov))
    return cov / (sd[:, :, None] * sd[:, None, :])


def part_a(reps: int, rng: np.random.Generator) -> list[str]:
    lines = [("| population | n1 | n2 | p | Jennrich (1970) | Jennrich (psych form) | Steiger | "
             "pairs Holm (any) | pairs BH (any) | Mantel |"),
             "|---|---|---|---|---|---|---|---|---|---|"]
    configs = [("one factor .6", 200, 100, 6, 0.6), ("one factor .6", 1000, 500, 10, 0.6),
               ("one factor .6", 2000, 2000, 20, 0.6), ("identity", 300, 300, 8, 0.0)]
    for label, n1, n2, p, load in configs:
        sig = one_factor(p, load)
        chol = np.linalg.cholesky(sig)
        r1 = batched_pearson(rng.normal(size=(reps, n1, p)) @ chol.T)
        r2 = batched_pearson(rng.normal(size=(reps, n2, p)) @ chol.T)
        df = p * (p - 1) / 2
        crit = stats.chi2.isf(ALPHA, df)
        j70 = int(np.sum(jennrich_statistic(r1, r2, n1, n2) > crit))
        jps = int(np.sum(jennrich_statistic(r1, r2, n1, n2, form="psych") > crit))
        ste = int(np.sum(steiger_statistic(r1, r2, n1, n2) > crit))
        iu = np.triu_indices(p, 1)
        z = (np.arctanh(r2[:, iu[0], iu[1]]) - np.arctanh(r1[:, iu[0], iu[1]])) / np.sqrt(
            1 / (n1 - 3) + 1 / (n2 - 3))
        pv = np.sort(2 * stats.norm.sf(np.abs(z)), axis=1)
        m = pv.shape[1]
        holm_any = int(np.sum(pv[:, 0] <= ALPHA / m))          # Holm rejects any iff min p <= a/m
        bh_any = int(np.sum(np.any(pv <= ALPHA * np.arange(1, m + 1) / m, axis=1)))
        mantel = "-"
        if load == 0.0:  # Mantel's H0 (no association) holds only here
            from popaudit.structure.tests import mantel_test

            k = sum(mantel_test(a, b, n_perm=199, seed=i).pvalue <= ALPHA
                    for i, (a, b) in enumerate(zip(r1, r2)))
            mantel = rate(k, reps)
        lines.append(f"| {label} | {n1} | {n2} | {p} | {rate(j70, reps)} | {rate(jps, reps)} | "
                     f"{rate(ste, reps)} | {rate(holm_any, reps)} | {rate(bh_any, reps)} | "
                     f"{mantel} |")
    return lines


# ----------------------------------------------------------------------------------------
# Part B: compare_correlations end to end on ordinal data


def ordinal_sample(rng, n: int, sig: np.ndarray, k: int) -> Survey:
    p = sig.shape[0]
    x = rng.normal(size=(n, p)) @ np.linalg.cholesky(sig).T
    cuts = np.linspace(-1.2, 1.2, k - 1) if k > 2 else np.array([0.3])
    idx = np.searchsorted(cuts, x)
    return Survey.from_category_indices(idx, [Item(f"Q{j + 1}", tuple(range(1, k + 1)))
                                              for j in range(p)])


def part_b_config(label, reps, seed, *, n_gold, n_sim, p, k, load_gold, load_sim, draws,
                  floor="independent", n_boot=None):
    rng = np.random.default_rng(seed)
    n_boot = draws if n_boot is None else n_boot
    sg, ss = one_factor(p, load_gold), one_factor(p, load_sim)
    iu = np.triu_indices(p, 1)
    true_rmse = float(np.sqrt(np.mean((ss[iu] - sg[iu]) ** 2)))
    null = np.array_equal(np.asarray(load_gold), np.asarray(load_sim))
    keys = ["jennrich_asym", "jennrich_boot", "steiger_asym", "steiger_boot", "holm", "bh",
            "mantel", "rmse_floor", "mae_floor", "max_floor", "pearson_floor", "cover_shifted",
            "cover_basic", "cover_pct"]
    hits = dict.fromkeys(keys, 0)
    counted = dict.fromkeys(keys, 0)
    t0 = time.time()
    for _ in range(reps):
        gold = ordinal_sample(rng, n_gold, sg, k)
        sim = ordinal_sample(rng, n_sim, ss, k)
        res = compare_correlations(gold, sim, n_boot=n_boot, n_null=draws, n_perm=199,
                                   floor=floor, seed=rng)
        t = res.to_frame().set_index("statistic")
        for name in ("jennrich", "steiger"):
            p_asym = stats.chi2.sf(t.loc[name, "value"], t.loc[name, "df"])
            for tag, pv in (("asym", p_asym), ("boot", t.loc[name, "pvalue"])):
                if np.isfinite(pv):
                    counted[f"{name}_{tag}"] += 1
                    hits[f"{name}_{tag}"] += pv <= ALPHA
        for tag, col in (("holm", "pair_tests_holm"), ("bh", "pair_tests_bh")):
            counted[tag] += 1
            hits[tag] += t.loc[col, "value"] > 0
        counted["mantel"] += 1
        hits["mantel"] += t.loc["mantel", "pvalue"] <= ALPHA
        for tag, stat in (("rmse_floor", "rmse"), ("mae_floor", "mae"),
                          ("max_floor", "max_abs_diff"), ("pearson_floor", "pearson")):
            b = t.loc[stat, "beyond_floor"]
            if not pd.isna(b):
                counted[tag] += 1
                hits[tag] += bool(b)
        bd = res.main.bootstrap.get("rmse")
        if bd is None:
            continue
        for tag, method in (("cover_shifted", "shifted"), ("cover_basic", "basic"),
                            ("cover_pct", "percentile")):
            ci = _bootstrap_interval("rmse", t.loc["rmse", "value"], bd, 0.95, method, p)
            counted[tag] += 1
            hits[tag] += ci["ci_low"] <= true_rmse <= ci["ci_high"]
    secs = time.time() - t0
    print(f"  {label}: {secs:.0f} s", file=sys.stderr, flush=True)
    return label, null, true_rmse, hits, counted, secs


def _run_config(args):
    label, reps, seed, draws, kw = args
    return part_b_config(label, reps, seed, draws=draws, **kw)


def part_b(reps: int, draws: int, seed: int, jobs: int) -> tuple[list[str], list[str], float]:
    lam5, lam6 = spread_loadings(5), spread_loadings(6)
    base = {"n_gold": 300, "n_sim": 300, "p": 5, "k": 5, "load_gold": lam5, "load_sim": lam5}
    configs = [
        ("K=5, n 300 vs 300, p=5", base),
        ("K=5, n 600 vs 150, p=5", {**base, "n_gold": 600, "n_sim": 150}),
        ("binary, n 400 vs 400, p=6", {**base, "n_gold": 400, "n_sim": 400, "p": 6, "k": 2,
                                        "load_gold": lam6, "load_sim": lam6}),
        ("K=5, equal loadings .6, n 300 vs 300, p=5", {**base, "load_gold": .6,
                                                        "load_sim": .6}),
        ("K=5, identity, n 300 vs 300, p=6", {**base, "p": 6, "load_gold": 0.0,
                                               "load_sim": 0.0}),
        ("K=5, n 300 vs 300, p=5, floor='resample'", {**base, "floor": "resample",
                                                       "n_boot": 0}),
        # coverage rows: twice the draws, since 95 % intervals rest on the 2.5 % tails
        ("K=5, n 600 vs 300, p=5, sim loadings x .75 (H0 false)",
         {**base, "n_gold": 600, "load_sim": spread_loadings(5, .75), "n_boot": 2 * draws}),
        ("K=5, n 600 vs 300, p=8, sim loadings x .9 (H0 false)",
         {**base, "n_gold": 600, "p": 8, "load_gold": spread_loadings(8),
          "load_sim": spread_loadings(8, .9), "n_boot": 2 * draws}),
    ]
    seeds = np.random.SeedSequence(seed).spawn(len(configs))
    work = [(label, reps, sd, draws, kw) for (label, kw), sd in zip(configs, seeds)]
    if jobs > 1:
        ctx = multiprocessing.get_context("spawn")  # JAX is multithreaded: no fork
        with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=ctx) as pool:
            results = list(pool.map(_run_config, work))
    else:
        results = [_run_config(w) for w in work]
    tests = [("| data (polychoric) | Jennrich asympt. | Jennrich bootstrap | Steiger asympt. | "
             "Steiger bootstrap | pairs Holm (any) | pairs BH (any) | Mantel |"),
             "|---|---|---|---|---|---|---|---|"]
    floors = [("| data (polychoric) | true RMSE | RMSE beyond floor | MAE beyond floor | "
              "max beyond floor | Pearson beyond floor | RMSE CI coverage: shifted (default) | "
              "basic | percentile |"),
              "|---|---|---|---|---|---|---|---|---|"]
    total = 0.0
    for (_, kw), (label, null, true_rmse, h, c, secs) in zip(configs, results):
        total += secs

        def r(key, h=h, c=c):
            return rate(h[key], c[key]) if c[key] else "-"

        if null and kw.get("floor", "independent") == "independent":
            mantel = r("mantel") if np.all(np.asarray(kw["load_gold"]) == 0) else "(H0 false)"
            tests.append(f"| {label} | {r('jennrich_asym')} | {r('jennrich_boot')} | "
                         f"{r('steiger_asym')} | {r('steiger_boot')} | {r('holm')} | {r('bh')} "
                         f"| {mantel} |")
        floors.append(f"| {label} | {true_rmse:.3f} | {r('rmse_floor')} | {r('mae_floor')} | "
                      f"{r('max_floor')} | {r('pearson_floor')} | {r('cover_shifted')} | "
                      f"{r('cover_basic')} | {r('cover_pct')} |")
    return tests, floors, total


def timing(rng) -> list[str]:
    """Seconds for 1000 bootstrap draws at n = 2000, p = 20 (K = 5), warm (after compilation)."""
    from popaudit.structure.polychoric import polychoric_batch

    p, n = 20, 2000
    lam = spread_loadings(p)
    gold = ordinal_sample(rng, n, one_factor(p, lam), 5)
    sim = ordinal_sample(rng, n, one_factor(p, lam), 5)
    codes = gold.category_indices()
    counts = rng.multinomial(n, np.full(n, 1 / n), size=1000).astype(float)
    polychoric_batch(codes, counts[:10], n_categories=5)  # compile
    polychoric_batch(codes, counts, n_categories=5)
    t0 = time.time()
    polychoric_batch(codes, counts, n_categories=5)
    t_batch = time.time() - t0
    kw = {"n_boot": 1000, "n_null": 1000, "n_perm": 999, "seed": 0}
    compare_correlations(gold, sim, **kw)  # compile every shape
    t0 = time.time()
    compare_correlations(gold, sim, **kw)
    t_full = time.time() - t0
    return ["| what | seconds |", "|---|---|",
            (f"| polychoric_batch, 1000 bootstrap draws of one population (n=2000, p=20, K=5) "
            f"| {t_batch:.1f} |"),
            (f"| compare_correlations(n_boot=1000, n_null=1000, n_perm=999): 3000 polychoric "
            f"matrices + statistics + Mantel | {t_full:.1f} |")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=500, help="replications per configuration")
    ap.add_argument("--draws", type=int, default=100,
                    help="bootstrap and floor draws per compare_correlations call")
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--jobs", type=int, default=2, help="worker processes for part B")
    ap.add_argument("--timing", action="store_true",
                    help="only time 1000 bootstrap draws at n = 2000, p = 20")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    if args.timing:
        print("\n".join(timing(rng)))
        return
    t0 = time.time()
    print(f"## Part A: asymptotic tests, Pearson matrices of normal data "
          f"({2 * args.reps} replications, alpha = {ALPHA})\n")
    print("\n".join(part_a(2 * args.reps, rng)))
    ta = time.time() - t0
    t1 = time.time()
    tests, floors, _ = part_b(args.reps, args.draws, args.seed + 1, args.jobs)
    tb = time.time() - t1
    print(f"\n## Part B: compare_correlations on ordinal data ({args.reps} replications, "
          f"{args.draws} floor draws and {args.draws} bootstrap draws ({2 * args.draws} in the "
          f"coverage rows), alpha = {ALPHA})\n")
    print("Type-I error (H0 true: both samples from one population)\n")
    print("\n".join(tests))
    print("\nNoise floor (share beyond the floor; H0 rows should be ~0.05) and RMSE CI coverage "
          "of the population RMSE\n")
    print("\n".join(floors))
    print(f"\n(part A {ta:.0f} s, part B {tb:.0f} s, total {time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
