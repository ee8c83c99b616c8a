"""The command line: help, version, folders, codebooks, clear errors, the demo's figures."""

import argparse
import json
import re
import subprocess
import sys

import pandas as pd
import pytest

import popaudit as pa
from conftest import two_country_gold
from popaudit.cli import build_parser, main

# every figure the demo writes that an audit of respondent-level files can also write
AUDIT_FIGURES = ("marginals.png", "marginal_distance.png", "modal_accuracy_by_subgroup.png",
                 "noise_floor_rmse.png", "cultural_map.png", "iw_loadings.png")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    gold = pa.datasets.wvs_like(n=400, seed=3)
    sim = pa.datasets.persona_like(gold, seed=4)
    gold.to_frame().to_csv(d / "gold.csv", index=False)
    sim.to_frame().to_csv(d / "model.csv", index=False)
    sim.to_frame().drop(columns=["Q46", "Q57"]).to_csv(d / "short.csv", index=False)
    gold.to_frame().rename(columns={"W_WEIGHT": "w"}).to_csv(d / "gold_w.csv", index=False)
    return d, gold


def _subparsers(parser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices
    return {}


def test_help_is_plain_text_and_every_option_has_help(capsys):
    parser = build_parser()
    parsers = {"popaudit": parser, **_subparsers(parser)}
    assert set(parsers) == {"popaudit", "demo", "audit", "polychoric", "sweep"}
    for name, p in parsers.items():
        text = p.format_help()
        for markup in ("``", ":func:", ":class:", ".. ", "`~"):
            assert markup not in text, (name, markup)
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            assert action.help and action.help.strip(), (name, action.dest)
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "popaudit audit gold.csv" in out and "--out" in out


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"popaudit {pa.__version__}"


def test_demo_writes_folder(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--n", "600", "--n-boot", "10", "--quiet"]) == 0
    for name in ("results.csv", "summary.json", "report.html", "subgroup_nmae.png",
                 "polychoric_shuffled.png", *AUDIT_FIGURES):
        assert (out / name).exists(), name
    # a page that opens fast: figures embedded, the full table only in results.csv
    page = (out / "report.html").read_text(encoding="utf-8")
    assert (out / "report.html").stat().st_size < 3_000_000
    assert page.index("id='scorecard'") < page.index("id='marginal'")
    assert page.count("data:image/png;base64,") == len(list(out.glob("*.png")))
    assert (out / "summary.json").stat().st_size < 200_000
    printed = capsys.readouterr().out
    assert "modal accuracy" in printed and "shuffled" in printed
    summary = json.loads((out / "summary.json").read_text())
    key = "statistic" if "statistic" in summary["summary"][0] else "metric"
    shuffled = [r for r in summary["summary"] if r["population"] == "shuffled"
                and r[key] == "modal accuracy"]
    assert shuffled[0]["value"] == 1.0


def test_audit_writes_the_demo_figures(files, capsys):
    d, gold = files
    out = d / "rep"
    rc = main(["audit", str(d / "gold.csv"), str(d / "model.csv"), "--by", "Q260",
               "--weights", "W_WEIGHT", "--out", str(out), "--n-boot", "10", "--quiet"])
    assert rc == 0
    table = pd.read_csv(out / "results.csv")
    assert set(table["population"].dropna()) >= {"model"}
    for name in (*AUDIT_FIGURES, "polychoric_model.png", "report.html", "summary.json"):
        assert (out / name).exists(), name
    # the WVS layout: the shipped codebook gives the scales, demographics are not items
    items = set(table.loc[table["component"] == "marginal", "item"].dropna())
    assert items == set(gold.item_names)


def test_audit_with_items_subset(files):
    d, gold = files
    out = d / "rep_items"
    rc = main(["audit", str(d / "gold.csv"), str(d / "model.csv"),
               "--items", ",".join(gold.item_names[:6]), "--out", str(out), "--n-boot", "5",
               "--no-structure", "--quiet"])
    assert rc == 0
    table = pd.read_csv(out / "results.csv")
    items = set(table.loc[table["component"] == "marginal", "item"].dropna())
    assert items == set(gold.item_names[:6])


@pytest.mark.parametrize("argv, message", [
    (["--weights", "wt"], "column 'wt' (--weights) not found in gold.csv"),
    (["--by", "sex"], "column 'sex' (--by) not found in gold.csv"),
    (["--items", "Q46,Q999"], "column 'Q999' (--items) not found in gold.csv"),
])
def test_missing_columns_are_named(files, capsys, argv, message):
    d, _ = files
    rc = main(["audit", str(d / "gold.csv"), str(d / "model.csv"), *argv, "--quiet",
               "--out", str(d / "never")])
    assert rc == 2
    err = capsys.readouterr().err
    assert err.startswith("popaudit: error: ") and message in err
    assert err.count("\n") == 1


def test_unnamed_weight_column_gets_a_hint(files, capsys):
    d, _ = files
    rc = main(["audit", str(d / "gold_w.csv"), str(d / "model.csv"), "--by", "Q260",
               "--quiet", "--out", str(d / "never")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "item 'w' has non-integer code" in err and "--weights w" in err
    assert "np.float64" not in err


def test_simulated_file_lacking_items(files, capsys):
    d, _ = files
    rc = main(["audit", str(d / "gold.csv"), str(d / "short.csv"), "--weights", "W_WEIGHT",
               "--quiet", "--out", str(d / "never")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "Usecols" not in err
    assert "simulated file short.csv lacks 2 of gold's 27 item columns: 'Q46', 'Q57'" in err


def test_cli_error_is_one_line(tmp_path, capsys):
    rc = main(["audit", str(tmp_path / "missing.csv"), str(tmp_path / "x.csv"), "--quiet",
               "--out", str(tmp_path / "o")])
    assert rc == 2
    assert "popaudit: error: no such survey file" in capsys.readouterr().err


def test_polychoric_command_writes_a_folder(files, capsys):
    d, _ = files
    items = ["Q46", "Q57", "Q164", "Q182", "Q209"]
    out = d / "pc"
    rc = main(["polychoric", str(d / "gold.csv"), "--items", ",".join(items),
               "--weights", "W_WEIGHT", "--se", "--out", str(out), "--quiet"])
    assert rc == 0
    got = pd.read_csv(out / "polychoric.csv", index_col=0)
    ref = pa.polychoric(pa.read_survey(d / "gold.csv", items=pa.data.codebook.codebook_items(
        items), weights="W_WEIGHT"))
    pd.testing.assert_frame_equal(got, ref.corr, check_names=False, atol=1e-12, rtol=0)
    for name in ("pairwise_n.csv", "thresholds.csv", "polychoric_se.csv"):
        assert (out / name).exists(), name
    assert f"wrote {out}/" in capsys.readouterr().out


@pytest.mark.parametrize("out", ["pc.csv", "report.html"])
def test_out_is_a_folder_for_every_command(files, capsys, out):
    d, _ = files
    rc = main(["polychoric", str(d / "gold.csv"), "--items", "Q46,Q57", "--quiet",
               "--out", str(d / out)])
    assert rc == 2
    err = capsys.readouterr().err
    assert "--out names a folder" in err and not (d / out).exists()


def _toy(tmp_path):
    frame = pd.DataFrame({"happy": [1, 2, 2, 3, 4, 9, 1, 2, 3, 3, 2, 1] * 5,
                          "trust": [1, 2, 1, 2, 2, 1, 1, 2, 2, 1, 2, 2] * 5,
                          "wt": [1.0, 0.5, 2.0] * 20})
    frame.to_csv(tmp_path / "toy.csv", index=False)
    return frame


def test_codebook_csv_declares_scales_and_missing_codes(tmp_path):
    frame = _toy(tmp_path)
    (tmp_path / "codebook.csv").write_text(
        "item,codes,labels,kind,missing\n"
        "happy,1;2;3;4;5,very;rather;neither;not very;not at all,ordinal,9\n"
        "trust,1;2,yes;no,binary,\n")
    out = tmp_path / "pc"
    rc = main(["polychoric", str(tmp_path / "toy.csv"), "--codebook",
               str(tmp_path / "codebook.csv"), "--weights", "wt", "--out", str(out), "--quiet"])
    assert rc == 0
    th = pd.read_csv(out / "thresholds.csv")
    assert (th["item"] == "happy").sum() == 4          # 5 declared codes, 5 is never answered
    n = pd.read_csv(out / "pairwise_n.csv", index_col=0)
    assert n.loc["happy", "happy"] == (frame["happy"] != 9).sum()   # 9 declared missing


def test_codebook_json_and_its_errors(tmp_path, capsys):
    _toy(tmp_path)
    cb = {"items": {"happy": {"codes": [1, 2, 3, 4], "missing": [9]},
                    "trust": {"codes": [1, 2], "labels": ["yes", "no"]}}}
    (tmp_path / "cb.json").write_text(json.dumps(cb))
    rc = main(["polychoric", str(tmp_path / "toy.csv"), "--codebook", str(tmp_path / "cb.json"),
               "--weights", "wt", "--out", str(tmp_path / "pc"), "--quiet"])
    assert rc == 0
    items = pa.read_codebook(tmp_path / "cb.json")
    assert items["trust"].kind == "binary" and items["trust"].labels == ("yes", "no")
    (tmp_path / "bad.csv").write_text("item,codes\nhappy,1;2;x\n")
    rc = main(["polychoric", str(tmp_path / "toy.csv"), "--codebook", str(tmp_path / "bad.csv"),
               "--out", str(tmp_path / "pc2"), "--quiet"])
    assert rc == 2
    err = capsys.readouterr().err
    assert re.search(r"codebook bad\.csv, row 2 \(item 'happy'\): codes must be integers", err)


def test_shipped_wvs_codebook_is_a_valid_codebook_file():
    from importlib import resources

    path = resources.files("popaudit.data").joinpath("wvs7_codebook.json")
    items = pa.read_codebook(path)
    ref = {it.name: it for it in pa.data.codebook.codebook_items()}
    assert set(items) == set(ref)
    assert items["Q254"].missing == ref["Q254"].missing
    assert items["Q164"].codes == ref["Q164"].codes


def test_wvs_codebook_is_used_automatically(files, capsys):
    d, _ = files
    out = d / "pc_wvs"
    rc = main(["polychoric", str(d / "gold.csv"), "--weights", "W_WEIGHT", "--by", "Q260",
               "--out", str(out)])
    assert rc == 0
    err = capsys.readouterr().err
    assert "from the shipped WVS-7 codebook" in err
    assert "not items (demographic / administrative)" in err
    corr = pd.read_csv(out / "polychoric.csv", index_col=0)
    assert "Q262" not in corr.index and "B_COUNTRY_ALPHA" not in corr.index
    th = pd.read_csv(out / "thresholds.csv")
    assert (th["item"] == "Q164").sum() == 9               # the codebook's 10 codes


# ---------------------------------------------------------------------------
# popaudit sweep
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sweep_files(tmp_path_factory):
    """Two synthetic countries; two simulated populations, one lacking country BBB."""
    import warnings

    d = tmp_path_factory.mktemp("sweep")
    gold = two_country_gold(200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim = pa.datasets.persona_like(gold, seed=2)
    keep = [*gold.item_names, "B_COUNTRY_ALPHA", "W_WEIGHT"]
    gold.to_frame()[keep].to_csv(d / "gold.csv", index=False)
    (d / "runs").mkdir()
    frame = sim.to_frame()[keep[:-1]]
    frame.to_csv(d / "runs" / "persona.csv", index=False)
    frame[frame["B_COUNTRY_ALPHA"] == "AAA"].to_csv(d / "aaa_only.csv", index=False)
    return d


def _write_toml(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_sweep_command_runs_a_small_sweep(sweep_files, capsys):
    d = sweep_files
    conf = _write_toml(d / "sweep.toml", """
gold = "gold.csv"
split_by = "B_COUNTRY_ALPHA"
components = ["marginal", "modal"]
store = "store"
n_boot = 5
seed = 3
weights = "W_WEIGHT"

[populations]
"m" = "runs/*.csv"
"m/aaa_only" = "aaa_only.csv"
""")
    rc = main(["sweep", conf])
    assert rc == 0  # a failed task is reported, not fatal
    captured = capsys.readouterr()
    out, err = captured.out, captured.err
    assert "4 tasks (2 split(s) x 2 population(s)): 3 ok, 1 failed" in out
    assert f"store: {d / 'store'}/" in out and "popaudit.read_sweep(" in out
    assert "mean Jensen-Shannon distance" in out and "modal accuracy" in out
    assert "task 'BBB/m/aaa_only' failed" in out
    assert "task 4/4" in err  # one progress line per finished task
    res = pa.read_sweep(d / "store")
    assert sorted(res.tasks["task"]) == ["AAA/m/aaa_only", "AAA/m/persona", "BBB/m/aaa_only",
                                         "BBB/m/persona"]
    assert set(res.summary["component"]) == {"marginal", "modal"}
    # the same numbers as the Python API on the same files (seed 3, each task's from its name)
    gold = pa.read_survey(d / "gold.csv", items=pa.data.codebook.codebook_items(
        ["Q164", "Q182", "Q184", "Q46", "Q57", "Q45"]), demographics=["B_COUNTRY_ALPHA"],
        weights="W_WEIGHT")
    sub = gold.subset((gold.demographics["B_COUNTRY_ALPHA"] == "AAA").to_numpy())
    sim = pa.read_survey(d / "runs" / "persona.csv", items=gold.items,
                         demographics=["B_COUNTRY_ALPHA"])
    sim = sim.subset((sim.demographics["B_COUNTRY_ALPHA"] == "AAA").to_numpy())
    rep = pa.audit(sub, {"m/persona": sim}, components=["marginal", "modal"], n_boot=5,
                   n_null=5, seed=pa._inference.seed_from_name(3, "AAA/m/persona"))
    got = res.summary[res.summary["task"] == "AAA/m/persona"].reset_index(drop=True)
    pd.testing.assert_series_equal(got["value"], rep.summary["value"], check_names=False)


@pytest.mark.parametrize("text, message", [
    ('gold = "gold.csv"\nsplit = "B_COUNTRY_ALPHA"\n[populations]\nm = "aaa_only.csv"\n',
     "unknown key(s) 'split' in bad.toml (did you mean 'split_by'?)"),
    ('gold = "gold.csv"\n', "bad.toml has no 'populations'"),
    ('gold = "gold.csv"\nn_boot = "many"\n[populations]\nm = "aaa_only.csv"\n',
     "n_boot must be an integer"),
    ('gold = "gold.csv"\ncomponents = ["marginal", "modes"]\n[populations]\nm = "aaa_only.csv"\n',
     "unknown component(s) 'modes'"),
    ('gold = "gold.csv"\nsplit_by = "country"\n[populations]\nm = "aaa_only.csv"\n',
     "column 'country' (--by) not found in gold.csv"),
    ('gold = "gold.csv"\n[populations]\nm = "runs/*.parquet"\n',
     "population 'm': no file matches 'runs/*.parquet'"),
    ('gold = "gold.csv"\nby = "Q260"\n[populations]\nm = "aaa_only.csv"\n',
     "population 'm': aaa_only.csv lacks the column(s) 'Q260'"),
    ('gold = "gold.csv"\n[populations\n', "bad.toml is not valid TOML"),
])
def test_sweep_file_errors_are_one_line(sweep_files, capsys, text, message):
    d = sweep_files
    if "Q260" in text:  # gold has Q260; the simulated file does not
        frame = pd.read_csv(d / "gold.csv").assign(Q260=1)
        frame.to_csv(d / "gold_q260.csv", index=False)
        text = text.replace("gold.csv", "gold_q260.csv")
    rc = main(["sweep", _write_toml(d / "bad.toml", text), "--quiet"])
    assert rc == 2
    err = capsys.readouterr().err
    assert err.startswith("popaudit: error: ") and message in err, err
    assert err.count("\n") == 1


def test_help_answers_without_importing_the_numerics():
    # `popaudit --help` and usage errors come from argparse alone: no JAX, SciPy or pandas
    # import (about 2 s) before the answer
    code = ("import sys\nfrom popaudit.cli import main\n"
            "for argv in (['--help'], ['demo', '--help'], ['no-such-command']):\n"
            "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
            "print(sorted(m for m in ('jax', 'scipy', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
    assert "usage: popaudit" in out.stdout + out.stderr
