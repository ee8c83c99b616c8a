"""popaudit.structure.polychoric: agreement with lavaan / polycor / psych, invariants, batches, errors."""

import importlib
import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import popaudit as pa
from popaudit import Item, Survey, polychoric, polychoric_batch
from popaudit._inference import nearest_correlation

pcmod = importlib.import_module("popaudit.structure.polychoric")

FIXTURES = Path(__file__).parent / "fixtures" / "polychoric"
R_SCRIPT = Path(__file__).parent / "r" / "polychoric_fixtures.R"

# Tolerances against R, each with its reason:
RHO_LAVAAN = 1e-6  # lavaan: analytic gradient + Hessian, nlminb rel.tol 1e-10 (seen: <= 3e-8)
RHO_POLYCOR = 5e-5  # polycor: BFGS on a numerical gradient (ndeps 1e-3), reltol 1e-12 (<= 1e-5)
RHO_PSYCH = 1e-4  # psych: optimize() default tol ~1.2e-4 and mnormt::sadmvn (seen: <= 2e-5)
THRESH = 1e-10  # all three: qnorm of cumulative proportions, same arithmetic (seen: 5e-15)
SE_POLYCOR_REL = 1e-3  # polycor: optim's finite-difference Hessian, step 1e-3 (seen: 4e-4)


def latent_data(n, R, cuts, seed, missing=0.0):
    rng = np.random.default_rng(seed)
    z = rng.multivariate_normal(np.zeros(len(R)), R, size=n)
    x = np.column_stack([np.searchsorted(c, z[:, j]) for j, c in enumerate(cuts)]).astype(float)
    if missing:
        x[rng.random(x.shape) < missing] = np.nan
    return x


# ---------------------------------------------------------------------------------------
# R fixtures
# ---------------------------------------------------------------------------------------
def _compare_with_r(directory: Path):
    fx = pd.read_csv(directory / "fixtures.csv")
    refs = pd.read_csv(directory / "refs.csv")
    ths = pd.read_csv(directory / "thresholds.csv")
    worst = {}
    for row in fx.itertuples():
        df = pd.read_csv(directory / f"{row.name}.csv")
        w = df.pop("w").to_numpy() if "w" in df else None
        correct = 0.5 if row.name == "tetra_correct" else 0.0
        res = {thr: polychoric(df, weights=w, missing=row.missing, se=True, thresholds=thr,
                               correct=correct, min_pairs=1)
               for thr in ("item", "pair")}
        for thr, r in res.items():
            assert r.converged.to_numpy().all(), (row.name, thr)
        for pkg, sub in refs[refs.fixture == row.name].groupby("package"):
            # polycor uses each pair's own margins for thresholds; lavaan and psych
            # (global = TRUE) the items' margins over all their valid answers
            thr = "pair" if pkg == "polycor" else "item"
            if pkg == "psych" and row.name == "mixed":
                thr = "pair"  # psych switches to global = FALSE for unequal categories
            got = res[thr].to_frame().merge(sub, on=["item1", "item2"], suffixes=("", "_r"))
            assert len(got) == len(sub)
            tol = {"lavaan": RHO_LAVAAN, "polycor": RHO_POLYCOR}.get(pkg, RHO_PSYCH)
            err = np.abs(got.rho - got.rho_r).max()
            worst[(row.name, pkg)] = err
            assert err <= tol, (row.name, pkg, err)
            if pkg == "polycor":
                rel = np.abs(got.se / got.se_r - 1).max()
                assert rel <= SE_POLYCOR_REL, (row.name, rel)
        for pkg, sub in ths[ths.fixture == row.name].groupby("package"):
            got = np.array([res["item"].thresholds[t.item][t.index - 1] for t in sub.itertuples()])
            np.testing.assert_allclose(got, sub.tau.to_numpy(), rtol=0, atol=THRESH)
    return worst


def test_matches_lavaan_polycor_psych_fixtures():
    worst = _compare_with_r(FIXTURES)
    # every fixture has at least one reference
    assert {f for f, _ in worst} == set(pd.read_csv(FIXTURES / "fixtures.csv").name)


def test_nearest_correlation_matches_matrix_nearpd():
    a = pd.read_csv(FIXTURES / "nearpd_in.csv").to_numpy()
    b = pd.read_csv(FIXTURES / "nearpd_out.csv").to_numpy()
    got = nearest_correlation(a)
    # same algorithm and stopping rule as Matrix::nearPD(corr = TRUE) (conv.tol 1e-7)
    np.testing.assert_allclose(got, b, atol=1e-6)
    assert np.linalg.eigvalsh(got).min() > 0


@pytest.mark.rlive
@pytest.mark.slow
@pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript not installed")
def test_live_r(tmp_path):
    subprocess.run(["Rscript", str(R_SCRIPT), str(tmp_path)], check=True, capture_output=True,
                   timeout=600)
    _compare_with_r(tmp_path)


# ---------------------------------------------------------------------------------------
# analytic cases
# ---------------------------------------------------------------------------------------
def test_median_split_tetrachoric_closed_form():
    # thresholds 0, 0: P11 = 1/4 + arcsin(r) / (2 pi)  =>  r = sin(2 pi (p11 - 1/4))
    n11, n12, n21, n22 = 70, 30, 30, 70
    x = np.array([0] * (n11 + n12) + [1] * (n21 + n22))
    y = np.array([0] * n11 + [1] * n12 + [0] * n21 + [1] * n22)
    res = polychoric(np.column_stack([x, y]), se=True)
    want = np.sin(2 * np.pi * (n11 / 200 - 0.25))
    assert res.corr.iloc[0, 1] == pytest.approx(want, abs=1e-12)
    np.testing.assert_allclose(res.thresholds["V1"], [0.0], atol=1e-15)
    # observed information of the 2x2 likelihood: sum n_ab (P'_ab)^2 / P_ab with
    # P' = +-phi2(0, 0; r) (the second-derivative terms cancel across the 4 cells)
    phi2 = 1 / (2 * np.pi * np.sqrt(1 - want**2))
    info = phi2**2 * (n11 / 0.35 + n12 / 0.15 + n21 / 0.15 + n22 / 0.35) / 2
    info = sum(n * phi2**2 / p**2 for n, p in [(n11, .35), (n12, .15), (n21, .15), (n22, .35)])
    assert res.se.iloc[0, 1] == pytest.approx(1 / np.sqrt(info), rel=1e-9)


def test_perfect_association_is_flagged_at_the_boundary():
    x = np.repeat([0, 1, 2], [30, 40, 30])
    with pytest.warns(UserWarning, match="boundary"):
        res = polychoric(np.column_stack([x, x, 2 - x]), se=True)
    assert res.corr.loc["V1", "V2"] == 1.0
    assert res.corr.loc["V1", "V3"] == -1.0
    assert not res.converged.loc["V1", "V2"]
    assert np.isnan(res.se.loc["V1", "V2"])
    assert not res.is_pd


def test_zero_cell_tetrachoric_with_and_without_correction():
    df = pd.read_csv(FIXTURES / "tetra_correct.csv")
    tab = pd.crosstab(df.x1, df.x2).to_numpy()
    assert (tab == 0).sum() == 1
    with pytest.warns(UserWarning, match="boundary"):
        raw = polychoric(df)
    assert raw.corr.iloc[0, 1] == 1.0  # ML on the boundary, as polycor (0.9999 = maxcor)
    fixed = polychoric(df, correct=0.5)
    assert fixed.converged.to_numpy().all() and 0 < fixed.corr.iloc[0, 1] < 0.9
    assert fixed.settings["correct"] == 0.5


# ---------------------------------------------------------------------------------------
# invariants (hypothesis)
# ---------------------------------------------------------------------------------------
@st.composite
def ordinal_data(draw):
    k = draw(st.sampled_from([2, 3, 5]))
    rho = draw(st.floats(-0.9, 0.9))
    seed = draw(st.integers(0, 2**31 - 1))
    shift = draw(st.floats(-0.8, 0.8))
    R = np.array([[1, rho, rho / 2], [rho, 1, 0.3], [rho / 2, 0.3, 1]])
    R = R + np.eye(3) * max(0.0, -np.linalg.eigvalsh(R).min() + 0.05)
    R = R / np.sqrt(np.outer(np.diag(R), np.diag(R)))
    cuts = [np.linspace(-1, 1, k - 1) + shift * (j - 1) for j in range(3)]
    return latent_data(400, R, cuts, seed, missing=0.05)


@pytest.mark.filterwarnings("ignore:.*boundary:UserWarning")  # rho = .9 with 2 categories
@settings(max_examples=12, deadline=None)
@given(ordinal_data())
def test_matrix_invariants(x):
    try:
        res = polychoric(x, se=True, min_pairs=1)
    except ValueError:  # a constant item in a tiny random draw: correctly refused
        return
    R = res.corr.to_numpy()
    np.testing.assert_array_equal(R, R.T)
    np.testing.assert_array_equal(np.diag(R), 1.0)
    assert np.all(np.abs(R) <= 1)
    # relabelling categories in order (1..K -> 10, 20, ...) changes nothing
    relab = polychoric((x + 1) * 10, se=True, min_pairs=1)
    np.testing.assert_allclose(relab.corr.to_numpy(), R, atol=1e-13)
    # reversing item 1 flips the sign of its correlations and mirrors its thresholds
    xr = x.copy()
    xr[:, 0] = np.nanmax(x[:, 0]) - x[:, 0]
    rev = polychoric(xr, se=True, min_pairs=1).corr.to_numpy()
    flip = np.ones(3)
    flip[0] = -1
    np.testing.assert_allclose(rev, R * np.outer(flip, flip), atol=1e-9)


# ---------------------------------------------------------------------------------------
# batches
# ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small():
    R = np.array([[1, .5, .3, .2], [.5, 1, .4, .1], [.3, .4, 1, .6], [.2, .1, .6, 1]])
    cuts = [[-0.5, 0.6], [-1, 0, 1], [0.3], [-1.2, -0.2, 0.5, 1.1]]
    x = latent_data(300, R, cuts, seed=5, missing=0.05)
    return np.where(np.isnan(x), -1, x).astype(int)


def test_bootstrap_batch_equals_single_calls(small):
    rng = np.random.default_rng(0)
    n = small.shape[0]
    counts = rng.multinomial(n, np.full(n, 1 / n), size=4)
    batch = polychoric_batch(small, counts, n_categories=[3, 4, 2, 5])
    df = pd.DataFrame(np.where(small < 0, np.nan, small))
    for b in range(4):
        single = polychoric(df, weights=counts[b], min_pairs=1).corr.to_numpy()
        # same kernel, same arithmetic up to table summation order
        np.testing.assert_allclose(batch[b], single, atol=1e-9)


def test_weighted_bootstrap_and_permutation_batches(small):
    rng = np.random.default_rng(1)
    n = small.shape[0]
    w = rng.lognormal(0, 0.5, n)  # survey weights x counts: float64 tables
    counts = rng.multinomial(n, np.full(n, 1 / n), size=3) * w
    batch = polychoric_batch(small, counts)
    perm = np.stack([np.column_stack([small[:, 0], rng.permutation(small[:, 1:])])
                     for _ in range(3)])
    pbatch = polychoric_batch(perm, w)
    for b in range(3):
        df = pd.DataFrame(np.where(small < 0, np.nan, small))
        np.testing.assert_allclose(batch[b], polychoric(df, weights=counts[b],
                                                        min_pairs=1).corr, atol=1e-9)
        dp = pd.DataFrame(np.where(perm[b] < 0, np.nan, perm[b]))
        np.testing.assert_allclose(pbatch[b], polychoric(dp, weights=w, min_pairs=1).corr,
                                   atol=1e-9)


def test_batch_constant_item_in_a_resample(small):
    counts = np.ones((4, small.shape[0]))  # same batch shape as the bootstrap test
    counts[1] = small[:, 2] == 0  # item 3 constant in this resample
    with pytest.raises(ValueError, match="batch element 1"):
        polychoric_batch(small, counts)
    out = polychoric_batch(small, counts, on_insufficient="nan")
    assert np.isfinite(out[0]).all()
    assert np.isnan(out[1, 2, [0, 1, 3]]).all() and np.isfinite(out[1, 0, 1])


def test_batch_input_checks(small):
    with pytest.raises(ValueError, match="no batch axis"):
        polychoric_batch(small)
    with pytest.raises(ValueError, match="weights must be"):
        polychoric_batch(small, np.ones((2, 7)))
    with pytest.raises(ValueError, match="n_categories"):
        polychoric_batch(small, np.ones((2, small.shape[0])), n_categories=2)


# ---------------------------------------------------------------------------------------
# inputs, options and errors
# ---------------------------------------------------------------------------------------
def test_survey_input_weights_and_empty_categories():
    x = latent_data(500, np.array([[1, .5], [.5, 1]]), [[-0.5, 0.5], [-1, 0, 1]], seed=2)
    df = pd.DataFrame({"a": x[:, 0] + 1, "b": x[:, 1] + 1})
    w = np.random.default_rng(3).uniform(0.5, 2, 500)
    items = [Item("a", codes=(1, 2, 3, 4)), Item("b", codes=(1, 2, 3, 4))]  # a never says 4
    s = Survey(df, items=items, weights=w)
    res = polychoric(s, se=True)
    ref = polychoric(df, weights=w, se=True)
    np.testing.assert_allclose(res.corr.to_numpy(), ref.corr.to_numpy(), atol=1e-12)
    np.testing.assert_allclose(res.se.to_numpy(), ref.se.to_numpy(), rtol=1e-9)
    assert res.empty_categories == {"a": (4,)}
    assert res.thresholds["a"][-1] == np.inf and len(res.thresholds["a"]) == 3
    # weights= overrides the survey's; a constant multiple of the weights changes nothing
    unw = polychoric(s, weights=np.ones(500))
    assert not np.allclose(unw.corr, res.corr)
    scaled = polychoric(df, weights=w * 7.5, se=True)
    np.testing.assert_allclose(scaled.corr, ref.corr, atol=1e-12)
    np.testing.assert_allclose(scaled.se, ref.se, rtol=1e-9)
    assert ref.settings["weighted"] and (ref.n_eff.to_numpy() < ref.n.to_numpy()).all()
    # weight column by name
    named = polychoric(df.assign(wt=w), weights="wt")
    np.testing.assert_allclose(named.corr, ref.corr, atol=1e-12)


def test_integer_weights_are_frequency_weights():
    x = latent_data(300, np.array([[1, .4], [.4, 1]]), [[-0.3, 0.7], [0.0]], seed=4)
    f = np.random.default_rng(5).integers(1, 4, 300)
    expanded = np.repeat(x, f, axis=0)
    a = polychoric(x, weights=f)
    b = polychoric(expanded)
    np.testing.assert_allclose(a.corr, b.corr, atol=1e-12)
    assert a.n.iloc[0, 1] == 300 and b.n.iloc[0, 1] == f.sum()


def test_listwise_and_pairwise_counts():
    x = latent_data(400, np.eye(3) * 0.6 + 0.4, [[0.0], [-0.5, 0.5], [0.2]], seed=6,
                    missing=0.1)
    pw = polychoric(x)
    lw = polychoric(x, missing="listwise")
    ok = ~np.isnan(x)
    assert pw.n.loc["V1", "V2"] == (ok[:, 0] & ok[:, 1]).sum()
    assert pw.n.loc["V3", "V3"] == ok[:, 2].sum()
    assert (lw.n.to_numpy() == ok.all(1).sum()).all()
    frame = pw.to_frame()
    assert list(frame.columns) == ["item1", "item2", "rho", "se", "n", "converged"]
    assert len(frame) == 3 and frame.se.isna().all()
    assert "PolychoricResult(3 items, 3 pairs, unweighted" in repr(pw)


def test_float32_option_is_close():
    x = latent_data(1000, np.eye(3) * 0.5 + 0.5, [[-1, 0, 1]] * 3, seed=8)
    r64 = polychoric(x).corr.to_numpy()
    r32 = polychoric(x, dtype="float32")
    assert r32.settings["dtype"] == "float32"
    np.testing.assert_allclose(r32.corr.to_numpy(), r64, atol=1e-4)  # float32 Newton tol 1e-6


def test_pd_repair_on_an_inconsistent_pairwise_matrix():
    # three groups of respondents, each answering two of three items:
    # x1 ~ x2 and x2 ~ x3 strongly positive, x1 ~ x3 strongly negative (not PD jointly)
    rng = np.random.default_rng(9)
    blocks = []
    for (i, j, sign) in [(0, 1, 1), (1, 2, 1), (0, 2, -1)]:
        z = rng.multivariate_normal([0, 0], [[1, .9 * sign], [.9 * sign, 1]], size=400)
        b = np.full((400, 3), np.nan)
        b[:, i] = np.searchsorted([-0.5, 0.5], z[:, 0])
        b[:, j] = np.searchsorted([-0.5, 0.5], z[:, 1])
        blocks.append(b)
    x = np.vstack(blocks)
    raw = polychoric(x)
    assert not raw.is_pd and not raw.pd_repaired
    fixed = polychoric(x, pd_repair="nearest")
    assert fixed.pd_repaired and not fixed.is_pd
    assert np.linalg.eigvalsh(fixed.corr.to_numpy()).min() > 0
    np.testing.assert_array_equal(np.diag(fixed.corr), 1.0)
    np.testing.assert_allclose(fixed.corr, nearest_correlation(raw.corr.to_numpy()))
    assert any("nearest correlation matrix" in n for n in fixed.notes)
    assert not any("nearest correlation matrix" in n for n in raw.notes)
    with pytest.warns(DeprecationWarning, match=r"PolychoricResult.options is deprecated, "
                                                r"use .settings"):
        assert fixed.options == fixed.settings


def test_errors_name_the_problem():
    x = latent_data(200, np.eye(3) * 0.5 + 0.5, [[0.0]] * 3, seed=10)
    const = x.copy()
    const[:, 1] = 1
    with pytest.raises(ValueError, match=r"constant item\(s\) 'V2' \(only code 1\)"):
        polychoric(const)
    sparse = x.copy()
    sparse[5:, 2] = np.nan  # only 5 joint answers with V3
    with pytest.raises(ValueError, match=r"\('V1', 'V3'\), \('V2', 'V3'\).*min_pairs=10"):
        polychoric(sparse)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = polychoric(sparse, on_insufficient="nan")
    assert np.isnan(res.corr.loc["V1", "V3"]) and not res.converged.loc["V1", "V3"]
    assert np.isfinite(res.corr.loc["V1", "V2"])
    with pytest.raises(ValueError, match="non-integer code 1.5"):
        polychoric(x + 0.5)
    with pytest.raises(ValueError, match="weights must be non-negative"):
        polychoric(x, weights=-np.ones(200))
    with pytest.raises(ValueError, match="missing must be"):
        polychoric(x, missing="fiml")
    with pytest.raises(ValueError, match="non-numeric value 'yes'"):
        polychoric(pd.DataFrame({"a": ["yes", 1, 2], "b": [1, 2, 1]}))
    nominal = Survey(pd.DataFrame({"a": [1, 2, 3, 1], "b": [1, 2, 1, 2]}),
                     items=[Item("a", codes=(1, 2, 3), kind="nominal"), "b"])
    with pytest.raises(ValueError, match=r"\['a'\] are nominal"):
        polychoric(nominal)


def test_public_names():
    assert pa.polychoric is polychoric and pa.PolychoricResult is pcmod.PolychoricResult
    assert {"polychoric", "polychoric_batch", "PolychoricResult"} <= set(pa.__all__)


def test_docstring_examples():
    import doctest

    fails, _ = doctest.testmod(pcmod, optionflags=doctest.ELLIPSIS)
    assert fails == 0


def test_on_insufficient_nan_leaks_no_foreign_warning():
    """Pairs with too few joint answers become NaN; no numpy 'All-NaN slice' (or any other
    foreign) warning leaks, even when no pair at all is estimable."""
    import warnings

    rng = np.random.default_rng(0)
    n = 200
    df = pd.DataFrame({"a": rng.integers(1, 4, n).astype(float),
                       "b": rng.integers(1, 4, n).astype(float)})
    df.loc[:150, "a"] = np.nan
    df.loc[100:, "b"] = np.nan          # a and b share no respondent
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = pa.polychoric(df, on_insufficient="nan")
        text = repr(r)
        r.to_frame()
        three = pa.polychoric(df.assign(c=rng.integers(1, 4, n).astype(float)),
                              on_insufficient="nan", weights=rng.uniform(0.5, 2, n))
        repr(three)
        codes = np.where(np.isnan(df.to_numpy()), -1, df.to_numpy() - 1).astype(int)
        pa.polychoric_batch(np.stack([codes, codes]), None, n_categories=[3, 3],
                            on_insufficient="nan")
    assert np.isnan(r.corr.loc["a", "b"]) and "rho: none estimable" in text


_DEVICES_CHILD = """
import sys, numpy as np, jax
import popaudit as pa
rng = np.random.default_rng(3)
z = rng.multivariate_normal(np.zeros(5), 0.5 * np.eye(5) + 0.5, size=400)
x = np.digitize(z, [-0.8, 0.0, 0.9])
x[rng.random(x.shape) < 0.05] = -1
boot = rng.multinomial(400, np.full(400, 1 / 400), size=13)
perm = np.stack([np.column_stack([x[:, 0], x[rng.permutation(400), 1:]]) for _ in range(7)])
sw = rng.uniform(0.5, 2.0, 400)
out = dict(devices=len(jax.devices()),
           boot=pa.polychoric_batch(x, boot), perm=pa.polychoric_batch(perm),
           weighted=pa.polychoric_batch(x, boot * sw),
           units=pa.polychoric_batch(x, boot, batch_chunk=3))
# the accelerator path: tables from the JAX kernel, units of draws spread over the devices
from popaudit.structure import polychoric as pc
pc._BATCH_TABLES_ON_CPU = False
out.update(jax_boot=pa.polychoric_batch(x, boot, batch_chunk=4),
           jax_perm=pa.polychoric_batch(perm, sw, batch_chunk=2))
np.savez(sys.argv[1], **out)
"""


def test_batch_on_two_devices_gives_the_same_bits(tmp_path):
    """Draws spread over two (CPU) devices: bit-identical to one device, for bootstrap
    counts, permuted codes, float weights and several units of draws per device."""
    import os
    import subprocess
    import sys

    out = {}
    for n_dev in (1, 2):
        env = dict(os.environ, JAX_PLATFORMS="cpu",
                   XLA_FLAGS=f"--xla_force_host_platform_device_count={n_dev}")
        path = tmp_path / f"d{n_dev}.npz"
        subprocess.run([sys.executable, "-c", _DEVICES_CHILD, str(path)], env=env, check=True,
                       capture_output=True)
        out[n_dev] = np.load(path)
    assert int(out[1]["devices"]) == 1 and int(out[2]["devices"]) == 2
    for key in ("boot", "perm", "weighted", "units", "jax_boot", "jax_perm"):
        assert np.isfinite(out[1][key]).all()
        np.testing.assert_array_equal(out[2][key], out[1][key], err_msg=key)
    np.testing.assert_allclose(out[1]["units"], out[1]["boot"], atol=1e-14)
    np.testing.assert_allclose(out[1]["jax_boot"], out[1]["boot"], atol=1e-12)


def test_batch_tables_numpy_and_jax_paths_and_memory_units(small):
    """On CPU the batch tables come from numpy's BLAS; the JAX kernel (the accelerator path)
    gives the same matrices, and so does a memory limit small enough for one draw a unit."""
    rng = np.random.default_rng(5)
    n = small.shape[0]
    w = rng.lognormal(0, 0.5, n)
    counts = rng.multinomial(n, np.full(n, 1 / n), size=5)
    perm = np.stack([np.column_stack([small[:, 0], rng.permutation(small[:, 1:])])
                     for _ in range(4)])
    cases = [(small, counts), (small, counts * w), (perm, None), (perm, w)]
    for codes, weights in cases:
        got = polychoric_batch(codes, weights, on_insufficient="nan")
        try:
            pcmod._BATCH_TABLES_ON_CPU = False
            ref = polychoric_batch(codes, weights, on_insufficient="nan")
        finally:
            pcmod._BATCH_TABLES_ON_CPU = True
        # same tables (exact for counts); thresholds from numpy's and JAX's ndtri
        np.testing.assert_allclose(got, ref, atol=1e-12)
        # one draw a unit: other chunks of pairs in the Newton kernel, whose quadrature
        # (6, 12 or 20 nodes by the chunk's largest |rho|) is exact to 1e-15 either way
        one = polychoric_batch(codes, weights, on_insufficient="nan", memory_limit=1)
        np.testing.assert_allclose(one, got, atol=1e-14)
