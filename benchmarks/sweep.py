"""Sweeps: time per audit as n, p, populations and bootstrap draws grow; workers; a projection.

Synthetic "countries" (``popaudit.datasets.wvs_like_frame`` with a different seed per
country, ``B_COUNTRY_ALPHA`` set to the country's code) and simulated populations named
``model/method``. Three parts, printed as tables:

1. **time per audit** — one sweep task as a worker runs it (one country's gold against one
   population, the sweep's default components: marginal, modal, invalid, structure), in
   this process, as the respondents per country ``n``, the items ``p``, the bootstrap draws
   and gold resamples ``B`` (``n_boot = n_null = B``) and the populations of one audit
   grow. Each size is run three times; the table gives the first run (cold: JAX compiles
   the programs of that shape, unless its persistent cache has them) and the faster of the
   other two (warm).
2. **workers** — the same sweep of ``C`` countries x ``P`` populations on a ``LocalCluster``
   of 1 and 2 single-threaded worker processes (what ``pa.sweep`` starts by default):
   cluster start-up, wall time of the sweep, per-task compute times from Dask's task
   stream (each worker's first task compiles), speed-up.
3. **projection** — 66 countries x 30 models x 5 methods (9 900 tasks) on N workers, from
   the warm per-task cost measured with one worker (each worker of a cluster has a core of
   its own) and one compilation per worker, assuming independent tasks scale linearly (a
   task's Dask overhead is milliseconds), for the benchmark's task and for a larger task
   extrapolated with the fitted exponents of part 1.

The machine's load average is printed at the start and at the end: on a shared machine
the times are upper bounds of what a quiet one gives.

Usage::

    python benchmarks/sweep.py                                   # default run, ~4-5 min busy
    python benchmarks/sweep.py --figure docs/figures/sweep_scaling.png
    python benchmarks/sweep.py --n 250,500,1000 --p 6,12,24 --boot 10,20,40 --workers 1,2
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import warnings

import numpy as np
import pandas as pd

import popaudit as pa
from popaudit._inference import seed_from_name
from popaudit.auditing import audit

COMPONENTS = ["marginal", "modal", "invalid", "structure"]
CODES = ["AAA", "BBB", "CCC", "DDD", "EEE", "FFF", "GGG", "HHH"]


def countries(n: int, p: int, n_countries: int, seed: int = 0):
    """Gold of ``n_countries`` synthetic countries (``n`` respondents each, ``p`` items)."""
    frames = [pa.datasets.wvs_like_frame(n=n, seed=seed + i).assign(B_COUNTRY_ALPHA=c)
              for i, c in enumerate(CODES[:n_countries])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gold = pa.wvs_survey(pd.concat(frames, ignore_index=True), name="gold")
    ordinal = [it.name for it in gold.items if it.kind != "nominal"]
    if p > len(ordinal):
        raise SystemExit(f"p = {p}: the synthetic data have {len(ordinal)} ordered items")
    return gold.select(ordinal[:p])


def populations(gold, n_pop: int, seed: int = 1) -> dict:
    makers = [pa.datasets.persona_like, pa.datasets.shuffled]
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in range(n_pop):
            make = makers[k % len(makers)]
            out[f"model-{k // 2}/{'persona' if make is makers[0] else 'default'}"] = \
                make(gold, seed=seed + k)
    return out


def one_audit(gold, sims, B: int) -> float:
    split = (gold.demographics["B_COUNTRY_ALPHA"] == CODES[0]).to_numpy()
    g = gold.subset(split)
    s = {k: v.subset((v.demographics["B_COUNTRY_ALPHA"] == CODES[0]).to_numpy())
         for k, v in sims.items()}
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        audit(g, s, components=COMPONENTS, n_boot=B, n_null=B,
              seed=seed_from_name(0, "bench"), progress=False)
    return time.perf_counter() - t


def part_audits(ns, ps, boots, pops, base):
    n0, p0, b0 = base
    configs = ([("n", n, (n, p0, b0, 1)) for n in ns] + [("p", p, (n0, p, b0, 1)) for p in ps]
               + [("B", b, (n0, p0, b, 1)) for b in boots]
               + [("populations", k, (n0, p0, b0, k)) for k in pops])
    rows, cache = [], {}
    for axis, value, (n, p, b, k) in configs:
        key = (n, p, b, k)
        if key not in cache:
            gold = countries(n, p, 1)
            sims = populations(gold, k)
            cold = one_audit(gold, sims, b)
            warm = min(one_audit(gold, sims, b) for _ in range(2))
            cache[key] = (cold, warm)
        cold, warm = cache[key]
        rows.append({"grows": axis, "value": value, "n": n, "p": p, "B": b, "populations": k,
                     "cold_s": cold, "warm_s": warm, "warm_s_per_population": warm / k})
        print(f"  {axis:>11} = {value:<5} n={n:<5} p={p:<3} B={b:<4} pops={k}: "
              f"cold {cold:6.2f} s, warm {warm:6.2f} s", flush=True)
    return pd.DataFrame(rows)


def exponent(df: pd.DataFrame, axis: str) -> float:
    """Slope of log(warm time) on log(size) along one axis of part 1."""
    d = df[df["grows"] == axis]
    x = np.log(d["value"].to_numpy(float))
    y = np.log(d["warm_s"].to_numpy(float))
    return float(np.polyfit(x, y, 1)[0]) if len(d) > 1 else float("nan")


def part_workers(workers, n, p, B, n_countries, n_pop):
    from dask.distributed import Client, LocalCluster, get_task_stream

    gold = countries(n, p, n_countries)
    sims = populations(gold, n_pop)
    rows = []
    for w in workers:
        t0 = time.perf_counter()
        with LocalCluster(n_workers=w, threads_per_worker=1, processes=True,
                          dashboard_address=":0") as cluster, Client(cluster) as client:
            started = time.perf_counter() - t0
            with tempfile.TemporaryDirectory() as store, get_task_stream(client) as ts:
                t1 = time.perf_counter()
                res = pa.sweep(gold, sims, split_by="B_COUNTRY_ALPHA", components=COMPONENTS,
                               store=store, client=client, n_boot=B, n_null=B, seed=0)
                wall = time.perf_counter() - t1
        durations = {}
        for rec in ts.data:
            if "popaudit-sweep" not in str(rec.get("key")):
                continue
            compute = [s for s in rec["startstops"] if s["action"] == "compute"]
            if compute:
                durations[rec["key"]] = (rec["worker"], compute[0]["start"],
                                         compute[0]["stop"] - compute[0]["start"])
        by_worker: dict[str, list] = {}
        for worker, start, d in durations.values():
            by_worker.setdefault(worker, []).append((start, d))
        first = [min(v)[1] for v in by_worker.values()]
        rest = [d for v in by_worker.values() for _, d in sorted(v)[1:]]
        ok = int((res.tasks["status"] == "ok").sum())
        rows.append({"workers": w, "tasks": len(res.tasks), "ok": ok,
                     "cluster_start_s": started, "sweep_wall_s": wall,
                     "first_task_s": float(np.mean(first)) if first else np.nan,
                     "warm_task_s": float(np.median(rest)) if rest else np.nan,
                     "task_compute_sum_s": float(sum(d for _, _, d in durations.values()))})
        print(f"  {w} worker(s): start {started:5.1f} s, sweep {wall:6.1f} s, "
              f"{len(res.tasks)} tasks ({ok} ok), first task {rows[-1]['first_task_s']:.1f} s,"
              f" warm task {rows[-1]['warm_task_s']:.2f} s", flush=True)
    out = pd.DataFrame(rows)
    out["speed_up"] = out["sweep_wall_s"].iloc[0] / out["sweep_wall_s"]
    return out


def projection(warm_s: float, compile_s: float, n_workers, n_tasks: int) -> pd.DataFrame:
    rows = []
    for w in n_workers:
        hours = (compile_s + n_tasks * warm_s / w) / 3600
        rows.append({"workers": w, "hours": hours, "days": hours / 24})
    return pd.DataFrame(rows)


def figure(audits: pd.DataFrame, path: str, load, base) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FormatStrFormatter

    axes_info = [("n", "respondents per country n"), ("p", "items p"),
                 ("B", "bootstrap draws = gold resamples B"),
                 ("populations", "populations in one audit")]
    fig, axes = plt.subplots(1, 4, figsize=(13, 3.2), sharey=True)
    for ax, (key, label) in zip(axes, axes_info):
        d = audits[audits["grows"] == key]
        ax.plot(d["value"], d["warm_s"], "o-", label="warm")
        ax.plot(d["value"], d["cold_s"], "s--", alpha=0.6, label="cold (compiles)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(d["value"].to_numpy())
        ax.set_xticklabels([str(v) for v in d["value"]])
        ax.minorticks_off()
        ax.set_xlabel(label)
        ax.grid(alpha=0.3)
    lo, hi = audits[["warm_s", "cold_s"]].min().min(), audits[["warm_s", "cold_s"]].max().max()
    ticks = [t for t in (0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200) if lo / 2 <= t <= hi * 2]
    axes[0].set_yticks(ticks)
    axes[0].yaxis.set_major_formatter(FormatStrFormatter("%g"))
    axes[0].set_ylim(lo / 1.5, hi * 1.3)
    axes[0].set_ylabel("seconds per audit")
    axes[0].legend(fontsize=8)
    fig.suptitle(f"One sweep task (marginal, modal, invalid, structure); the others fixed at "
                 f"n={base[0]}, p={base[1]}, B={base[2]}, 1 population; load average "
                 f"{load[0]:.1f} on {os.cpu_count()} cores", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"figure: {path}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ints = lambda s: [int(v) for v in s.split(",")]
    ap.add_argument("--n", type=ints, default=[250, 500, 1000], help="respondents per country")
    ap.add_argument("--p", type=ints, default=[6, 12, 24], help="items")
    ap.add_argument("--boot", type=ints, default=[10, 20, 40], help="n_boot = n_null")
    ap.add_argument("--pops", type=ints, default=[1, 2, 4], help="populations in one audit")
    ap.add_argument("--base", type=ints, default=[500, 12, 20],
                    help="n,p,B held fixed while another grows")
    ap.add_argument("--workers", type=ints, default=[1, 2], help="LocalCluster sizes")
    ap.add_argument("--sweep", type=ints, default=[4, 2],
                    help="countries,populations of the worker runs")
    ap.add_argument("--project", type=ints, default=[1200, 40, 200],
                    help="n,p,B of the larger task of the projection")
    ap.add_argument("--figure", help="write the figure of part 1 here (PNG)")
    ap.add_argument("--json", help="write every table here")
    args = ap.parse_args(argv)

    load0 = os.getloadavg()
    t_start = time.perf_counter()
    print(f"load average at start: {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f} "
          f"({os.cpu_count()} cores); popaudit {pa.__version__}")
    print("\n1. time per audit (one task, this process; cold = first run of that shape, warm = "
          "best of the next two)")
    audits = part_audits(args.n, args.p, args.boot, args.pops, tuple(args.base))
    expo = {k: exponent(audits, k) for k in ("n", "p", "B", "populations")}
    with pd.option_context("display.width", 140, "display.float_format", "{:.2f}".format):
        print(audits.drop(columns=["value"]).to_string(index=False))
    print("fitted exponents (warm time ~ size^k): "
          + ", ".join(f"{k}: {v:.2f}" for k, v in expo.items()))

    n0, p0, b0 = args.base
    c, k = args.sweep
    print(f"\n2. workers: {c} countries x {k} populations = {c * k} tasks, n={n0} per "
          f"country, p={p0}, B={b0}")
    work = part_workers(args.workers, n0, p0, b0, c, k)
    with pd.option_context("display.width", 140, "display.float_format", "{:.2f}".format):
        print(work.to_string(index=False))

    print("\n3. projection: 66 countries x 30 models x 5 methods = 9900 tasks, one core per "
          "worker")
    # per-task cost of one worker alone (on N dedicated cores each worker has its own);
    # compilation: what its first task took beyond a warm one
    one = work[work["workers"] == work["workers"].min()].iloc[0]
    warm, compile_s = float(one["warm_task_s"]), float(one["first_task_s"] - one["warm_task_s"])
    n1, p1, b1 = args.project
    scale = ((n1 / n0) ** expo["n"]) * ((p1 / p0) ** expo["p"]) * ((b1 / b0) ** expo["B"])
    workers = [1, 8, 32, 128, 512]
    small = projection(warm, compile_s, workers, 9900)
    large = projection(warm * scale, compile_s, workers, 9900)
    table = pd.DataFrame({"workers": workers,
                          f"benchmark task ({warm:.2f} s): hours": small["hours"],
                          f"task n={n1}, p={p1}, B={b1} (~{warm * scale:.0f} s): hours":
                              large["hours"],
                          "days": large["days"]})
    with pd.option_context("display.width", 160, "display.float_format", "{:.2f}".format):
        print(table.to_string(index=False))
    print(f"(per-worker compilation {compile_s:.1f} s added once; the larger task is "
          f"extrapolated with the exponents of part 1: x{scale:.1f})")
    load1 = os.getloadavg()
    print(f"\nload average at end: {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}; "
          f"whole run {time.perf_counter() - t_start:.0f} s")
    if args.figure:
        figure(audits, args.figure, load0, args.base)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"load_start": load0, "load_end": load1, "exponents": expo,
                       "audits": audits.to_dict(orient="records"),
                       "workers": work.to_dict(orient="records"),
                       "projection": table.to_dict(orient="records")}, fh, indent=1)


if __name__ == "__main__":
    main()
