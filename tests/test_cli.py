"""The command line: demo and audit write their folders."""

import json

import pandas as pd

import popaudit as pa
from popaudit.cli import main


def test_demo_writes_folder(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--n", "600", "--n-boot", "10", "--quiet"]) == 0
    for name in ("results.csv", "summary.json", "report.html", "marginals.png",
                 "modal_accuracy_by_subgroup.png", "subgroup_nmae.png", "polychoric_shuffled.png",
                 "cultural_map.png"):
        assert (out / name).exists(), name
    printed = capsys.readouterr().out
    assert "modal accuracy" in printed and "shuffled" in printed
    summary = json.loads((out / "summary.json").read_text())
    shuffled = [r for r in summary["summary"] if r["population"] == "shuffled"
                and r["metric"] == "modal accuracy"]
    assert shuffled[0]["value"] == 1.0


def test_audit_command(tmp_path, capsys):
    gold = pa.datasets.wvs_like(n=400, seed=3)
    sim = pa.datasets.persona_like(gold, seed=4)
    gold.to_frame().to_csv(tmp_path / "gold.csv", index=False)
    sim.to_frame().to_csv(tmp_path / "model.csv", index=False)
    out = tmp_path / "rep"
    rc = main(["audit", str(tmp_path / "gold.csv"), str(tmp_path / "model.csv"),
               "--items", ",".join(gold.item_names[:10]), "--by", "Q260",
               "--weights", "W_WEIGHT", "--out", str(out), "--n-boot", "10", "--quiet"])
    assert rc == 0
    table = pd.read_csv(out / "results.csv")
    assert set(table["population"]) == {"model"}


def test_cli_error_is_one_line(tmp_path, capsys):
    rc = main(["audit", str(tmp_path / "missing.csv"), str(tmp_path / "x.csv"), "--quiet"])
    assert rc == 2
    assert "popaudit: error: no such survey file" in capsys.readouterr().err


def test_polychoric_command(tmp_path, capsys):
    gold = pa.datasets.wvs_like(n=500, seed=5)
    items = ["Q46", "Q57", "Q164", "Q182", "Q209"]
    gold.to_frame().to_csv(tmp_path / "gold.csv", index=False)
    out = tmp_path / "pc.csv"
    rc = main(["polychoric", str(tmp_path / "gold.csv"), "--items", ",".join(items),
               "--weights", "W_WEIGHT", "--out", str(out)])
    assert rc == 0
    got = pd.read_csv(out, index_col=0)
    ref = pa.polychoric(pa.read_survey(tmp_path / "gold.csv", items=items, weights="W_WEIGHT"))
    pd.testing.assert_frame_equal(got, ref.corr, check_names=False, atol=1e-12, rtol=0)
