"""Study B, side by side with its own code.

The fixtures under ``tests/fixtures/study_b/`` were computed by the study's public code
(``tdw75/beyond-marginal-distributions`` at 5025a90) on synthetic files in the official
WVS-7 layout (``tests/study_b/make_fixtures.py``). ``variant="study_b_code"`` must give its
observed statistics to the last printed digit, its null, ceiling and bootstrap draws exactly
when fed the same random indices, and the same distributions (within Monte-Carlo error) from
its own generator. ``variant="study_b"`` is the method as the paper describes it.
"""

from __future__ import annotations

import json
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import popaudit as pa
from popaudit.datasets import codebook_items
from popaudit.structure import study_b as sb
from popaudit.structure.comparison import _resolve_groups

FIX = Path(__file__).parent / "fixtures" / "study_b"
SCENARIOS = ("clean", "missing")
MODELS = ("opinion_gpt", "persona")
LEVELS = ("question", "category")
STATS = {"pearson": "pearson_r", "rmse": "rmse"}


@cache
def _load(scenario: str):
    frame = pd.read_csv(FIX / "inputs" / f"{scenario}_wvs7.csv.gz")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gold = sb.study_b_survey(frame)
    wide = pd.read_csv(FIX / "inputs" / f"{scenario}_sim.csv.gz")
    names = list(gold.item_names)
    sims = {}
    for model in MODELS:
        part = wide[wide["model"] == model].reset_index(drop=True)
        sims[model] = pa.Survey(part, codebook_items(names), demographics=["subgroup"],
                                name=model)
    out = json.loads((FIX / scenario / "study_output.json").read_text())
    draws = dict(np.load(FIX / scenario / "draws.npz"))
    return frame, gold, sims, out, draws


def _inputs(scenario: str, model: str):
    _, gold, sims, _, _ = _load(scenario)
    sim = sims[model]
    names = list(gold.item_names)
    groups = _resolve_groups(gold, sim, sb.study_b_subgroups(gold, sim))
    cats = sb.resolve_categories("study_b", names)
    return gold, sim, groups, names, cats


@cache
def _observed(scenario: str, model: str):
    gold, sim, groups, names, cats = _inputs(scenario, model)
    return sb.code_variant(gold, sim, groups, names, cats, n_boot=0, n_null=0,
                           rng=np.random.default_rng(0))


# ---------------------------------------------------------------------------------------------
# inputs and definitions
# ---------------------------------------------------------------------------------------------
def test_fixture_inputs_are_what_the_study_read():
    _, gold, _, out, draws = _load("missing")
    assert out["subgroups"] == list(sb.STUDY_B_SUBGROUPS)
    # the study's split-half sizes are 2 * floor(n_g / 2) of its subgroups: same groups here
    masks = sb.study_b_subgroups(gold)
    sizes = np.array([int(m.sum()) for m in masks.values()])
    assert np.array_equal(draws["ceiling_sizes"], sizes - sizes % 2)
    assert sb.study_b_items(out["sim_columns"]) == list(gold.item_names)
    # the missing scenario has -2 answers, and -4 for Q199 in every BRA interview
    assert -2 in gold.item("Q6").codes and -4 in gold.item("Q199").codes


def test_item_selection_and_categories():
    assert sb.study_b_items(["Q8", "Q6", "Q254", "Q57", "Q240", "Q152", "Q260", "X003R"]) == \
        ["Q6", "Q240"]
    assert len(sb.STUDY_B_CATEGORIES) == 12
    assert "Q154" not in {q for qs in sb.STUDY_B_CATEGORIES.values() for q in qs}
    assert next(iter(sb.STUDY_B_CATEGORY_LABELS.values())) == \
        "Social Values, Norms, Stereotypes"


# ---------------------------------------------------------------------------------------------
# observed statistics: to the last printed digit
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("model", MODELS)
def test_code_variant_observed_matches_study(scenario, model):
    _, _, _, out, _ = _load(scenario)
    res = _observed(scenario, model)
    for lvl in LEVELS:
        r = res[lvl]
        for who, fname in (("sim", model), ("gold", "true")):
            means = pd.read_csv(FIX / scenario / "observed" / f"{lvl}-means-subgroup-{fname}.csv",
                                index_col=0)
            corr = pd.read_csv(FIX / scenario / "observed" /
                               f"{lvl}-correlation-matrix-subgroup-{fname}.csv", index_col=0)
            # the study writes its means table rounded to 2 dp, its matrices to 3 dp
            np.testing.assert_array_equal(np.round(r[f"{who}_means"], 2), means.to_numpy().T)
            np.testing.assert_array_equal(r[who], corr.to_numpy())
        assert r["pearson"] == out["observed"][lvl][model]["pearson_r"]
        assert r["rmse"] == out["observed"][lvl][model]["rmse"]


# ---------------------------------------------------------------------------------------------
# reference distributions fed the study's own random indices: exactly
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_null_on_shared_permutations_is_exact(scenario):
    _, _, _, _, draws = _load(scenario)
    res = _observed(scenario, "persona")   # the null reads gold only
    for lvl in LEVELS:
        perms = draws[f"null_idx_{lvl}"].astype(np.intp)
        rho, rmse = sb.code_null(res[lvl]["gold_means"], perms)
        k = perms.shape[0]
        np.testing.assert_array_equal(rho, draws[f"null_{lvl}_pearson_r"][:k])
        np.testing.assert_array_equal(rmse, draws[f"null_{lvl}_rmse"][:k])


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_ceiling_on_shared_permutations_is_exact(scenario):
    _, _, _, _, draws = _load(scenario)
    gold, sim, groups, names, cats = _inputs(scenario, "persona")
    inp = sb.code_inputs(gold, sim, groups, names, cats)
    sizes = draws["ceiling_sizes"]
    for lvl in LEVELS:
        flat = draws[f"ceiling_idx_{lvl}"].astype(np.intp)
        perms = np.split(flat, np.cumsum(sizes)[:-1], axis=1)
        k = flat.shape[0]
        rho, rmse = sb.code_ceiling(inp, lvl, k, perms=perms)
        np.testing.assert_array_equal(rho, draws[f"ceiling_{lvl}_pearson_r"][:k])
        np.testing.assert_array_equal(rmse, draws[f"ceiling_{lvl}_rmse"][:k])


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("model", MODELS)
def test_bootstrap_on_shared_indices_is_exact(scenario, model):
    _, _, _, out, draws = _load(scenario)
    gold, sim, groups, names, cats = _inputs(scenario, model)
    inp = sb.code_inputs(gold, sim, groups, names, cats)
    cols = [out["sim_columns"].index(q) for q in names]
    idx = draws["boot_idx"][:, :, MODELS.index(model)][:, :, cols].astype(np.intp)
    k = idx.shape[0]
    per_group = [idx[:, g] for g in range(idx.shape[1])]             # (k, p, m_g)
    boot = sb.code_bootstrap(inp, sb.code_observed(inp), k, indices=per_group)
    for lvl in LEVELS:
        np.testing.assert_array_equal(boot[lvl][0], draws[f"boot_{lvl}_{model}_pearson_r"][:k])
        np.testing.assert_array_equal(boot[lvl][1], draws[f"boot_{lvl}_{model}_rmse"][:k])


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_printed_summaries_from_the_studys_draws(scenario):
    """mean / sd of null and ceiling and the 0.25-0.975 'interval' as the study printed them."""
    _, _, _, out, draws = _load(scenario)
    for ref in ("null", "ceiling"):
        for lvl in LEVELS:
            for key in STATS.values():
                m, sd = sb.study_mean_sd(draws[f"{ref}_{lvl}_{key}"])
                assert m == out[ref]["mean"][lvl][key]
                assert sd == out[ref]["sd"][lvl][key]
    for lvl in LEVELS:
        for model in MODELS:
            for key in STATS.values():
                lo, hi = sb.study_interval(draws[f"boot_{lvl}_{model}_{key}"])
                assert [lo, hi] == out["bootstrap_interval"][lvl][model][key]


# ---------------------------------------------------------------------------------------------
# from popaudit's own generator: the same distributions within Monte-Carlo error
# ---------------------------------------------------------------------------------------------
def _same_distribution(ours: np.ndarray, theirs: np.ndarray, what: str):
    ours, theirs = ours[np.isfinite(ours)], theirs[np.isfinite(theirs)]
    se = np.sqrt(ours.var(ddof=1) / ours.size + theirs.var(ddof=1) / theirs.size)
    # 4.5 standard errors (a family of ~50 comparisons), plus the 3-dp rounding of the draws
    assert abs(ours.mean() - theirs.mean()) <= 4.5 * se + 1e-3, what
    for q in (0.1, 0.5, 0.9):
        a, b = np.quantile(ours, q), np.quantile(theirs, q)
        spread = np.quantile(theirs, 0.75) - np.quantile(theirs, 0.25)
        assert abs(a - b) <= 0.35 * spread + 2e-3, (what, q, a, b)
    assert stats.ks_2samp(ours, theirs).pvalue > 1e-4, what


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("model", MODELS)
def test_own_draws_match_the_studys_in_distribution(scenario, model):
    _, _, _, _, draws = _load(scenario)
    gold, sim, groups, names, cats = _inputs(scenario, model)
    res = sb.code_variant(gold, sim, groups, names, cats, n_boot=1000, n_null=1000,
                          rng=np.random.default_rng(20261129 + MODELS.index(model)))
    for lvl in LEVELS:
        for stat, key in STATS.items():
            _same_distribution(res[lvl]["bootstrap"][stat], draws[f"boot_{lvl}_{model}_{key}"],
                               f"{scenario} {model} {lvl} bootstrap {stat}")
            if model == "persona":   # null and ceiling read gold only
                for ref in ("null", "ceiling"):
                    _same_distribution(res[lvl][ref][stat], draws[f"{ref}_{lvl}_{key}"],
                                       f"{scenario} {lvl} {ref} {stat}")


# ---------------------------------------------------------------------------------------------
# the public face: both variants side by side
# ---------------------------------------------------------------------------------------------
def _compare(scenario, model, variant, n=200, seed=3):
    _, gold, sims, _, _ = _load(scenario)
    sim = sims[model]
    return pa.compare_correlations(gold, sim, level="ecological", variant=variant,
                                   by=sb.study_b_subgroups(gold, sim), categories="study_b",
                                   n_boot=n, n_null=n, seed=seed)


def test_compare_correlations_study_b_code_reports_the_studys_numbers():
    _, _, _, out, _ = _load("missing")
    res = _compare("missing", "persona", "study_b_code")
    assert res.variant == "study_b_code" and res.settings["variant"] == "study_b_code"
    tab = res.to_frame()
    assert set(tab["variant"]) == {"study_b_code"}
    assert set(tab["matrix"]) == {"ecological", "ecological_category"}
    for lvl, kind in (("question", "ecological"), ("category", "ecological_category")):
        for stat, key in STATS.items():
            row = res.statistic(stat, matrix=kind)
            assert row["value"] == out["observed"][lvl]["persona"][key]
            for col in ("ci_low", "ci_high", "null_mean", "null_sd", "null_median", "null_p",
                        "ceiling_mean", "ceiling_sd", "ceiling_median"):
                assert np.isfinite(row[col]), col
    assert res.category is not None and res.category.kind == "ecological_category"


def test_default_variant_is_the_paper_method_with_mean_and_sd_beside_quantiles():
    res = _compare("missing", "persona", None)
    assert res.variant == "study_b"
    tab = res.to_frame()
    assert set(tab["variant"]) == {"study_b"}
    row = res.statistic("pearson")
    for col in ("null_mean", "null_sd", "null_median", "null_p", "ceiling_mean", "ceiling_sd",
                "ceiling_low", "ceiling_high", "floor_median"):
        assert np.isfinite(row[col]), col
    assert row["null_sd"] > 0 and row["ceiling_sd"] > 0
    assert any("read as missing in variant 'study_b'" in n for n in res.notes)


def test_variants_agree_where_the_code_only_rounds():
    """Clean file: the paper's means are the code's before its 2-dp rounding."""
    paper = _compare("clean", "opinion_gpt", "study_b", n=0)
    code = _compare("clean", "opinion_gpt", "study_b_code", n=0)
    for kind in ("ecological", "ecological_category"):
        comp_p = next(c for c in paper.comparisons if c.kind == kind)
        comp_c = next(c for c in code.comparisons if c.kind == kind)
        for side in ("gold_means", "sim_means"):
            a = comp_p.extra[side]
            b = comp_c.extra[side][a.columns]
            tol = 0.006 if kind == "ecological" else 0.011
            assert np.nanmax(np.abs(a.to_numpy() - b.to_numpy())) <= tol, (kind, side)
        # correlations across only 10 subgroups move more, but stay close
        d = np.abs(comp_p.gold.to_numpy() -
                   comp_c.gold.loc[comp_p.gold.index, comp_p.gold.columns].to_numpy())
        assert np.nanmax(d) < 0.1


def test_missing_codes_are_where_the_variants_part():
    """-4 (not asked) for Q199 in BRA: averaged in by the code, dropped by the paper's method."""
    paper = _compare("missing", "persona", "study_b", n=0)
    code = _compare("missing", "persona", "study_b_code", n=0)
    q199_code = code.main.extra["gold_means"].loc["latin_america", "Q199"]
    q199_paper = paper.main.extra["gold_means"].loc["latin_america", "Q199"]
    assert q199_code < 0 <= q199_paper
    assert not any("study_b_survey" in n for n in code.notes)


def test_study_b_code_on_a_standard_survey_says_what_it_cannot_reproduce():
    frame, gold_b, sims, _, _ = _load("missing")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gold = pa.wvs_survey(frame, items=list(gold_b.item_names))
    sim = sims["persona"]
    res = pa.compare_correlations(gold, sim, level="ecological", variant="study_b_code",
                                  by=sb.study_b_subgroups(gold, sim), n_boot=0, n_null=0)
    assert any("study_b_survey" in n for n in res.notes)


def test_variant_arguments_are_checked():
    _, gold, sims, _, _ = _load("clean")
    sim = sims["persona"]
    by = sb.study_b_subgroups(gold, sim)
    with pytest.raises(ValueError, match="ecological level"):
        pa.compare_correlations(gold, sim, variant="study_b_code")
    with pytest.raises(ValueError, match="variant must be"):
        pa.compare_correlations(gold, sim, level="ecological", by=by, variant="study_c")
    with pytest.raises(ValueError, match="unweighted"):
        pa.compare_correlations(gold, sim, level="ecological", by=by, variant="study_b_code",
                                weighted=True)
    with pytest.raises(ValueError, match="categories must be"):
        pa.compare_correlations(gold, sim, level="ecological", by=by, categories="topics",
                                n_boot=0, n_null=0)


def test_subgroups_from_definitions_on_both_sides():
    frame, gold, _, _, _ = _load("clean")
    masks = sb.study_b_subgroups(gold)
    assert list(masks) == list(sb.STUDY_B_SUBGROUPS)
    f = frame
    assert masks["liberal"].sum() == f["Q240"].isin([1, 2, 3]).sum()
    assert masks["people_over_30"].sum() == (f["Q262"].between(30, 45)
                                             & ~f["Q261"].between(1900, 1980)).sum()
    assert masks["latin_america"].sum() == f["B_COUNTRY_ALPHA"].isin(["MEX", "BRA"]).sum()
    pairs = sb.study_b_subgroups(gold, gold, column=None)
    assert all(np.array_equal(a, b) for a, b in pairs.values())


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_study_b_survey_reads_a_file_like_the_frame(tmp_path, suffix):
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    frame, gold, _, _, _ = _load("missing")
    path = tmp_path / f"wvs7{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        read = sb.study_b_survey(path)
    assert read.item_names == gold.item_names
    assert [it.codes for it in read.items] == [it.codes for it in gold.items]
    np.testing.assert_array_equal(read.category_indices(), gold.category_indices())
    assert sb.kept_codes(read) == sb.kept_codes(gold)
    plain = sb.study_b_survey(path, keep_codes=False)
    assert not sb.kept_codes(plain) and -2 not in plain.item("Q6").codes
