"""Sweeps: many audits (models x steering methods x countries) as Dask tasks.

One task audits one simulated population against gold within one split (a country, say).
Tasks run on a ``dask.distributed`` cluster — a ``LocalCluster`` sized to the machine by
default, or any cluster the caller points to — and each finished task is written to the
store at once as one Parquet file (written to a temporary name, then renamed: a file in
the store is always whole). A sweep that stops (a killed worker, a closed laptop) resumes
where it stopped: a task whose file exists is not run again. Each task's seed derives from
its name (:func:`popaudit._inference.seed_from_name`), so the numbers do not depend on the
number of workers or on the order in which tasks finish.
"""

from __future__ import annotations

import glob as _glob
import hashlib
import json
import os
import re
import traceback
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa_arrow
import pyarrow.parquet as pq
from dask.distributed import Client, LocalCluster, as_completed

from popaudit._inference import progress_bar, resolve_seed, seed_from_name
from popaudit.auditing import audit
from popaudit.data.io import read_survey
from popaudit.data.survey import Survey
from popaudit.report import COLUMNS, SUMMARY_COLUMNS

__all__ = ["SweepResult", "read_sweep", "sweep"]

_META_KEY = b"popaudit.sweep"
ALL = "all"  # the split name when the sweep is not split


@dataclass(frozen=True)
class SweepTask:
    """One audit of a sweep: ``population`` against gold within ``split``."""

    split: str
    population: str

    @property
    def name(self) -> str:
        return f"{self.split}/{self.population}"

    @property
    def filename(self) -> str:
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.name)[:80]
        digest = hashlib.sha1(self.name.encode("utf-8")).hexdigest()[:10]
        return f"{slug}-{digest}.parquet"


@dataclass(frozen=True)
class SweepResult:
    """The combined result of a sweep (or of :func:`read_sweep` on its store).

    Attributes
    ----------
    table : DataFrame
        Every task's tidy rows (:data:`popaudit.report.COLUMNS`) with ``task`` and ``split``.
    summary : DataFrame
        Every task's headline rows with ``task`` and ``split``.
    tasks : DataFrame
        One row per task: ``task``, ``split``, ``population``, ``status`` (``ok`` or
        ``failed``), ``error``, ``seed``, ``file``.
    settings : dict
        The options of the sweep (the integer seed included).
    notes : tuple of str
        Tasks that failed, splits missing from a population, what was resumed.
    """

    table: pd.DataFrame
    summary: pd.DataFrame
    tasks: pd.DataFrame
    settings: Mapping = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def scorecard(self, statistic: str = "polychoric RMSE") -> pd.DataFrame:
        """One headline statistic as a populations x splits table."""
        rows = self.summary[self.summary["statistic"] == statistic]
        return rows.pivot_table(index="population", columns="split", values="value",
                                aggfunc="first")

    def __repr__(self) -> str:
        ok = int((self.tasks["status"] == "ok").sum()) if len(self.tasks) else 0
        return (f"SweepResult({len(self.tasks)} tasks, {ok} ok, "
                f"{len(self.tasks) - ok} failed; {len(self.table)} rows)")


# ------------------------------------------------------------------------------------------
# inputs
# ------------------------------------------------------------------------------------------
def _expand_populations(populations: Mapping) -> dict[str, Survey | str]:
    """``name -> Survey | path``; a glob pattern becomes one population per file (its stem)."""
    if not isinstance(populations, Mapping) or not populations:
        raise TypeError("populations must be a non-empty mapping name -> Survey, file or glob")
    out: dict[str, Survey | str] = {}
    for name, pop in populations.items():
        if isinstance(pop, Survey):
            out[str(name)] = pop
        elif isinstance(pop, (str, os.PathLike)):
            text = os.fspath(pop)
            if _glob.has_magic(text):
                files = sorted(_glob.glob(text))
                if not files:
                    raise FileNotFoundError(f"population {name!r}: no file matches {text!r}")
                for f in files:
                    out[f"{name}/{Path(f).stem}"] = f
            elif not os.path.exists(text):
                raise FileNotFoundError(f"population {name!r}: file {text!r} not found")
            else:
                out[str(name)] = text
        else:
            raise TypeError(f"population {name!r} is a {type(pop).__name__}; give a Survey, a "
                            "file path or a glob pattern")
    return out


def _load(pop, gold: Survey, read_options: Mapping, name: str) -> Survey:
    if isinstance(pop, Survey):
        return pop
    opts = {"items": list(gold.items), "demographics": list(gold.demographics.columns),
            **dict(read_options)}
    return read_survey(pop, name=name, **opts)


def _split_values(gold: Survey, split_by: str | None) -> list[str]:
    if split_by is None:
        return [ALL]
    if split_by not in gold.demographics.columns:
        raise ValueError(f"split_by column {split_by!r} is not a demographic column of gold "
                         f"(have {list(gold.demographics.columns)})")
    vals = gold.demographics[split_by].dropna()
    return sorted({str(v) for v in vals})


def _subset(survey: Survey, split_by: str | None, split: str) -> Survey:
    if split_by is None:
        return survey
    if split_by not in survey.demographics.columns:
        raise ValueError(f"population {survey.name!r} has no column {split_by!r} to split by")
    rows = np.flatnonzero(survey.demographics[split_by].astype(str).to_numpy() == split)
    if rows.size == 0:
        raise ValueError(f"population {survey.name!r} has no respondent with "
                         f"{split_by} = {split!r}")
    return survey.subset(rows)


# ------------------------------------------------------------------------------------------
# one task (runs on a worker)
# ------------------------------------------------------------------------------------------
def _write_atomic(table: pd.DataFrame, meta: dict, path: Path) -> None:
    arrow = pa_arrow.Table.from_pandas(table.astype({c: "string" for c in table.columns
                                                     if table[c].dtype == object}),
                                       preserve_index=False)
    arrow = arrow.replace_schema_metadata({**(arrow.schema.metadata or {}),
                                           _META_KEY: json.dumps(meta, default=str).encode()})
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(arrow, tmp)
    os.replace(tmp, path)  # atomic on POSIX and Windows: readers see no half-written file


def _run_task(task: SweepTask, gold, pop, store: str, split_by, read_options: Mapping,
              audit_options: Mapping, seed: int) -> dict:
    """Audit one (split, population), write its file, return its status row."""
    path = Path(store) / task.filename
    meta = {"task": task.name, "split": task.split, "population": task.population,
            "seed": seed, "status": "ok", "error": None, "summary": []}
    try:
        g = gold if isinstance(gold, Survey) else read_survey(gold, **dict(read_options))
        sim = _load(pop, g, read_options, task.population)
        g_s, sim_s = _subset(g, split_by, task.split), _subset(sim, split_by, task.split)
        rep = audit(g_s, {task.population: sim_s}, seed=seed, progress=False,
                    **dict(audit_options))
        table = rep.table
        meta["summary"] = rep.summary.to_dict(orient="records")
        meta["notes"] = list(rep.notes)
    except Exception as err:  # noqa: BLE001 - a failing task is recorded, the others go on
        meta.update(status="failed", error=f"{type(err).__name__}: {err}",
                    traceback=traceback.format_exc(limit=5))
        table = pd.DataFrame({"population": [task.population], "statistic": ["task failed"],
                              "note": [meta["error"]]}).reindex(columns=COLUMNS)
    table = table.assign(task=task.name, split=task.split)
    _write_atomic(table, meta, path)
    return {"task": task.name, "split": task.split, "population": task.population,
            "status": meta["status"], "error": meta["error"], "seed": seed,
            "file": path.name}


# ------------------------------------------------------------------------------------------
# the public functions
# ------------------------------------------------------------------------------------------
def _client_for(client, n_tasks: int):
    """(client, cluster or None): the caller's client, one for an address, or a LocalCluster."""
    if isinstance(client, Client):
        return client, None
    if isinstance(client, str):
        return Client(client), None
    if client is not None:
        raise TypeError("client must be a dask.distributed.Client, a scheduler address or None")
    n_workers = max(1, min(os.cpu_count() or 1, n_tasks))
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                           dashboard_address=":0")
    return Client(cluster), cluster


def sweep(gold, populations: Mapping, *, split_by: str | None = None,
          components: Sequence[str] | None = None, store="sweep", client=None,
          n_boot: int = 200, n_null: int = 200, seed=None, by=None,
          read_options: Mapping | None = None, audit_options: Mapping | None = None,
          retry_failed: bool = True, progress=None) -> SweepResult:
    """Audit many simulated populations, split by country (or any column), on Dask.

    Parameters
    ----------
    gold : Survey or path
        The real population (all splits).
    populations : mapping name -> Survey, file path or glob pattern
        Simulated populations, e.g. ``{"model-a/persona": "a_persona.csv"}``; a glob such as
        ``"runs/*.parquet"`` adds one population per file, named ``name/<file stem>``.
    split_by : str, optional
        Demographic column (e.g. ``"B_COUNTRY_ALPHA"``): each value's simulated respondents
        are audited against that value's gold respondents, one task each.
    components : sequence of str, optional
        Audit components to run (default: ``marginal``, ``modal``, ``invalid``,
        ``structure``; see :data:`popaudit.components.COMPONENTS`).
    store : path
        Folder of the results, one Parquet file per task. Re-running a sweep on the same
        store computes only the tasks without a file (and, with ``retry_failed``, the
        failed ones).
    client : dask.distributed.Client, scheduler address or None
        Where to run. None starts a ``LocalCluster`` with one single-threaded worker process
        per core (at most one per task) and closes it at the end.
    n_boot, n_null, by
        As in :func:`popaudit.audit`.
    seed : int, Generator or None
        The sweep's seed; task ``t`` uses ``seed_from_name(seed, t)``.
    read_options : mapping, optional
        Passed to :func:`popaudit.read_survey` for files (gold's item metadata is used for
        the simulated files unless given).
    audit_options : mapping, optional
        More keyword arguments of :func:`popaudit.audit` (e.g. ``{"factors": 3}``).
    retry_failed : bool
        Re-run tasks whose stored result is a failure.
    progress : bool, callable or None
        A progress bar over tasks (None: only on a terminal); a callable is called with one
        line per finished task (``"task 3/12 DEU/model-a/persona: ok"``), as the CLI does.

    Returns
    -------
    SweepResult
        The whole store read back (:func:`read_sweep`), with ``settings`` and ``notes``.

    Examples
    --------
    >>> import tempfile
    >>> import pandas as pd
    >>> import popaudit as pa
    >>> frames = [pa.datasets.wvs_like_frame(n=400, seed=i).assign(B_COUNTRY_ALPHA=c)
    ...           for i, c in enumerate(["DEU", "USA"])]  # two synthetic "countries"
    >>> gold = pa.wvs_survey(pd.concat(frames, ignore_index=True), name="gold")
    >>> sims = {"shuffled": pa.datasets.shuffled(gold, seed=1)}
    >>> res = pa.sweep(gold, sims, split_by="B_COUNTRY_ALPHA", components=["marginal"],
    ...                store=tempfile.mkdtemp(), seed=0)  # doctest: +SKIP
    >>> res.tasks[["task", "status"]]  # doctest: +SKIP
                task status
    0  DEU/shuffled     ok
    1  USA/shuffled     ok
    """
    seed_value = resolve_seed(seed)[1]
    pops = _expand_populations(populations)
    gold_survey = gold if isinstance(gold, Survey) else read_survey(gold, **dict(read_options or {}))
    splits = _split_values(gold_survey, split_by)
    store_path = Path(store)
    store_path.mkdir(parents=True, exist_ok=True)
    audit_opts = {"components": list(components or ("marginal", "modal", "invalid",
                                                    "structure")),
                  "n_boot": int(n_boot), "n_null": int(n_null), "by": by,
                  **dict(audit_options or {})}
    tasks = [SweepTask(s, p) for s in splits for p in pops]
    done = _stored_status(store_path)
    todo = [t for t in tasks if done.get(t.filename) not in ("ok",)
            and not (done.get(t.filename) == "failed" and not retry_failed)]
    notes = []
    if len(todo) < len(tasks):
        notes.append(f"resumed: {len(tasks) - len(todo)} of {len(tasks)} task(s) already in "
                     f"the store were not recomputed")
    if todo:
        dask_client, cluster = _client_for(client, len(todo))
        try:
            run_id = uuid.uuid4().hex[:8]  # keys unique to this run: a second sweep on the
            # same client must not meet the first one's data while it is being released
            gold_ref = dask_client.scatter(gold if not isinstance(gold, Survey) else gold_survey,
                                           broadcast=True, hash=False)
            futures = [dask_client.submit(
                _run_task, t, gold_ref, pops[t.population], os.fspath(store_path), split_by,
                dict(read_options or {}), audit_opts, seed_from_name(seed_value, t.name),
                key=f"popaudit-sweep-{run_id}-{t.filename}", pure=False, retries=2) for t in todo]
            say = progress if callable(progress) else None
            with progress_bar(total=len(futures), desc="sweep", unit="task",
                              progress=None if say else progress) as bar:
                for k, fut in enumerate(as_completed(futures), 1):
                    row = fut.result()
                    bar.update(1)
                    if say:
                        say(f"task {k}/{len(futures)} {row['task']}: {row['status']}"
                            + (f" ({row['error']})" if row["error"] else ""))
        finally:
            if cluster is not None:
                dask_client.close()
                cluster.close()
    result = read_sweep(store_path, tasks=[t.name for t in tasks])
    failed = result.tasks[result.tasks["status"] == "failed"]
    notes += [f"task {r.task!r} failed: {r.error}" for r in failed.itertuples()]
    settings = {"split_by": split_by, "splits": splits, "populations": list(pops),
                "seed": seed_value, "store": os.fspath(store_path),
                "computed": [t.name for t in todo], **audit_opts}
    return SweepResult(table=result.table, summary=result.summary, tasks=result.tasks,
                       settings=settings, notes=tuple(notes))


def _stored_status(store: Path) -> dict[str, str]:
    out = {}
    for f in store.glob("*.parquet"):
        meta = pq.read_schema(f).metadata or {}
        if _META_KEY in meta:
            out[f.name] = json.loads(meta[_META_KEY])["status"]
    return out


def read_sweep(store, *, tasks: Sequence[str] | None = None) -> SweepResult:
    """Read a sweep's store back: every task's rows, headlines and status.

    Parameters
    ----------
    store : path
        The folder :func:`sweep` wrote.
    tasks : sequence of str, optional
        Keep only these task names (``"<split>/<population>"``).
    """
    store = Path(store)
    if not store.is_dir():
        raise FileNotFoundError(f"sweep store {os.fspath(store)!r} does not exist")
    tables, summaries, rows = [], [], []
    for f in sorted(store.glob("*.parquet")):
        arrow = pq.read_table(f)
        meta_raw = (arrow.schema.metadata or {}).get(_META_KEY)
        if meta_raw is None:
            continue
        meta = json.loads(meta_raw)
        if tasks is not None and meta["task"] not in tasks:
            continue
        table = arrow.to_pandas()
        tables.append(table)
        summ = pd.DataFrame(meta.get("summary") or [], columns=SUMMARY_COLUMNS)
        if len(summ):  # a failed task has none (an empty frame would make columns object)
            summaries.append(summ.assign(task=meta["task"], split=meta["split"]))
        rows.append({"task": meta["task"], "split": meta["split"],
                     "population": meta["population"], "status": meta["status"],
                     "error": meta["error"], "seed": meta["seed"], "file": f.name})
    cols = [*COLUMNS, "task", "split"]
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=cols)
    summary = (pd.concat(summaries, ignore_index=True) if summaries
               else pd.DataFrame(columns=[*SUMMARY_COLUMNS, "task", "split"]))
    task_table = pd.DataFrame(rows, columns=["task", "split", "population", "status", "error",
                                             "seed", "file"])
    order = task_table.sort_values(["split", "population"]).index
    task_table = task_table.loc[order].reset_index(drop=True)
    return SweepResult(table=table, summary=summary, tasks=task_table,
                       settings={"store": os.fspath(store)})
