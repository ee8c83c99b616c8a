"""Sweeps on Dask: tasks written once each, resumable, identical for any number of workers."""

import os
import signal
import threading
import time
import warnings

import pandas as pd
import pytest
from dask.distributed import Client, LocalCluster

import popaudit as pa
from conftest import two_country_gold
from popaudit._inference import seed_from_name
from popaudit.sweeps import read_sweep, sweep

COMPONENTS = ["marginal", "modal", "structure"]
OPTS = {"components": COMPONENTS, "n_boot": 8, "n_null": 8, "seed": 11}


@pytest.fixture(scope="module")
def data():
    gold = two_country_gold(250)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sims = {"shuffled": pa.datasets.shuffled(gold, seed=1),
                "persona": pa.datasets.persona_like(gold, seed=2)}
    return gold, sims


@pytest.fixture(scope="module")
def two_workers():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        yield client


def _sorted(table):
    cols = ["task", "component", "subgroup", "item", "statistic"]
    return table.sort_values(cols, kind="stable").reset_index(drop=True)


def test_one_and_two_workers_give_identical_tables(data, two_workers, tmp_path):
    gold, sims = data
    res2 = sweep(gold, sims, split_by="B_COUNTRY_ALPHA", store=tmp_path / "two",
                 client=two_workers, **OPTS)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        res1 = sweep(gold, sims, split_by="B_COUNTRY_ALPHA", store=tmp_path / "one",
                     client=client, **OPTS)
    assert list(res2.tasks["task"]) == ["AAA/persona", "AAA/shuffled", "BBB/persona",
                                        "BBB/shuffled"]
    assert (res2.tasks["status"] == "ok").all()
    pd.testing.assert_frame_equal(_sorted(res1.table), _sorted(res2.table))
    # each task's seed derives from its name, whatever ran it
    assert res2.tasks.set_index("task").loc["AAA/persona", "seed"] == seed_from_name(
        11, "AAA/persona")
    # a task equals the same audit run by hand on that split
    g = gold.subset((gold.demographics["B_COUNTRY_ALPHA"] == "BBB").to_numpy().nonzero()[0])
    s = sims["shuffled"]
    s = s.subset((s.demographics["B_COUNTRY_ALPHA"] == "BBB").to_numpy().nonzero()[0])
    rep = pa.audit(g, {"shuffled": s}, components=COMPONENTS, n_boot=8, n_null=8,
                   seed=seed_from_name(11, "BBB/shuffled"))
    got = res2.summary[res2.summary.task == "BBB/shuffled"].reset_index(drop=True)
    pd.testing.assert_series_equal(got["value"], rep.summary["value"], check_names=False)


def test_rerun_recomputes_only_missing_tasks(data, two_workers, tmp_path):
    gold, sims = data
    store = tmp_path / "store"
    first = sweep(gold, sims, split_by="B_COUNTRY_ALPHA", store=store, client=two_workers,
                  **OPTS)
    files = sorted(store.glob("*.parquet"))
    assert len(files) == 4
    stamps = {f.name: f.stat().st_mtime_ns for f in files}
    for f in files[:2]:  # as if the sweep had stopped after two tasks
        f.unlink()
    again = sweep(gold, sims, split_by="B_COUNTRY_ALPHA", store=store, client=two_workers,
                  **OPTS)
    assert len(again.settings["computed"]) == 2
    for f in files[2:]:
        assert f.stat().st_mtime_ns == stamps[f.name]  # untouched
    pd.testing.assert_frame_equal(_sorted(first.table), _sorted(again.table))
    assert any(n.startswith("resumed: 2 of 4") for n in again.notes)


def test_failing_task_is_recorded_and_the_others_go_on(data, two_workers, tmp_path):
    gold, sims = data
    only_aaa = sims["persona"].subset(
        (sims["persona"].demographics["B_COUNTRY_ALPHA"] == "AAA").to_numpy().nonzero()[0])
    res = sweep(gold, {"aaa_only": only_aaa}, split_by="B_COUNTRY_ALPHA",
                store=tmp_path / "s", client=two_workers, **OPTS)
    st = res.tasks.set_index("task")
    assert st.loc["AAA/aaa_only", "status"] == "ok"
    assert st.loc["BBB/aaa_only", "status"] == "failed"
    assert "no respondent with B_COUNTRY_ALPHA = 'BBB'" in st.loc["BBB/aaa_only", "error"]
    row = res.table[res.table.task == "BBB/aaa_only"]
    assert list(row["statistic"]) == ["task failed"]
    assert any("BBB/aaa_only" in n for n in res.notes)


def test_killed_worker_loses_no_task_and_duplicates_none(data, tmp_path):
    gold, sims = data
    many = {f"p{i}": sims["persona"] for i in range(4)}
    store = tmp_path / "killed"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        pids = list(client.run(os.getpid).values())

        def kill_one():
            deadline = time.time() + 120
            while time.time() < deadline and not list(store.glob("*.parquet")):
                time.sleep(0.05)
            os.kill(pids[0], signal.SIGKILL)

        killer = threading.Thread(target=kill_one)
        killer.start()
        res = sweep(gold, many, split_by="B_COUNTRY_ALPHA", store=store, client=client,
                    **OPTS)
        killer.join()
    assert len(res.tasks) == 8 and res.tasks["task"].is_unique
    assert (res.tasks["status"] == "ok").all()
    assert len(list(store.glob("*.parquet"))) == 8
    assert not list(store.glob(".*.tmp"))
    back = read_sweep(store)
    assert back.table.groupby("task").size().nunique() == 1  # every task's rows exactly once
