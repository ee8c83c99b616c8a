"""Survey-like data for calibration: what real multi-country survey records look like.

Real survey records (WVS-7 pooled files, ESS rounds) are not complete, homogeneous samples of
one normal population. This generator draws data that share their awkward features, so that
popaudit's p-values and intervals can be calibrated where they will be used
(``benchmarks/calibration.py``, ``docs/validity.md``):

* **country-like groups**: a mixture of ``n_groups`` groups of unequal size; each group
  shifts the latent factor means, the item thresholds (item intercepts, between-group share
  of an item's latent variance up to ``between_share``: religiosity-like items, those loading
  on the first factor, get the most) and perturbs the loadings (``loading_jitter``);
* **item bank from popaudit.datasets**: loadings (three factors) and thresholds of the 25
  WVS-7-like items of :func:`popaudit.datasets.wvs_like_truth` (2 to 10 categories, skewed
  marginals), cycled with jitter when ``p > 25``;
* **missing answers**, 5-15 %: ``"mar"`` - respondent propensity (log-normal, by group)
  times item propensity (sensitive items more), independent of the answer; ``"mnar"`` -
  the same rate, but the probability of a missing answer grows with the item's own latent
  response (agreeing with a sensitive statement is left blank);
* **unequal survey weights**: log-normal within groups, design effect ``1 + cv^2`` (Kish)
  about ``deff`` (1.5 by default), normalised to mean 1;
* ``n`` 250 - 3 000, ``p`` 10 - 60, ``K`` 2 - 10; with small ``n``, many items and binary
  items, pairwise-deletion polychoric matrices are often not positive definite
  (:func:`min_eigenvalue` reports it).

A :class:`Spec` describes one generator; :func:`draw` draws one sample as a
:class:`popaudit.Survey` (group label ``country`` in the demographics). Two samples from the
same ``Spec`` (different seeds) are two samples of one population; :func:`halves` splits one
sample into random halves (the real-records check of issue 15); :func:`departure` changes a
``Spec`` by a known amount (power). :data:`PRESETS` holds the named cells of the study.

Run ``python benchmarks/survey_like.py`` for a summary of every preset (missing share,
design effect, between-group share, share of non-positive-definite matrices).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from popaudit import Item, Survey

__all__ = ["PRESETS", "Spec", "between_share", "departure", "draw", "halves", "item_bank",
           "min_eigenvalue", "population_polychoric"]

_SENSITIVE = ("Q164", "Q182", "Q184", "Q185", "Q186", "Q240")


@dataclass(frozen=True)
class Spec:
    """One survey-like population (see the module docstring).

    ``structure_seed`` fixes the population (group sizes, group shifts, loadings,
    thresholds, item missingness); a sample's own ``seed`` only draws respondents, so two
    draws with different seeds are two samples of the same population.
    """

    n: int = 1000
    p: int = 20
    n_groups: int = 12
    between_share: float = 0.5      # largest between-group share of an item's latent variance
    loading_jitter: float = 0.15    # sd of the relative loading perturbation per group
    missing_rate: float = 0.10
    missing: str = "mar"            # "mar" or "mnar" (or "none")
    deff: float = 1.5               # Kish design effect of the weights (1 = unweighted)
    binary_share: float | None = None  # if set, this share of items is dichotomised
    max_categories: int | None = None  # if set, longer scales are collapsed (cheaper fits)
    structure_seed: int = 15
    # departures (power): applied to the population, see :func:`departure`
    loading_scale: tuple[float, ...] = field(default=())  # per-item loading multipliers
    group_tilt: float = 0.0         # reweights groups' sizes: log-size += tilt * rank z-score
    name: str = "survey-like"


def item_bank(p: int, rng: np.random.Generator, binary_share: float | None = None,
              max_categories: int | None = None):
    """``(names, loadings (p, 3), thresholds list, sensitive mask)`` from the WVS-like model."""
    from popaudit.datasets import wvs_like_truth

    t = wvs_like_truth(n=10, seed=0)
    base = t.loadings.to_numpy(float)
    bank = list(t.loadings.index)
    names, lam, taus, sens = [], [], [], []
    for j in range(p):
        q = bank[j % len(bank)]
        rep = j // len(bank)
        names.append(q if rep == 0 else f"{q}_{rep + 1}")
        l = base[j % len(bank)].copy()
        tau = np.asarray(t.thresholds[q], float)
        if rep:  # a repeated item: jittered loadings and thresholds, same number of categories
            l = l * rng.uniform(0.7, 1.2) + rng.normal(0, 0.05, 3) * (l != 0)
            tau = np.sort(tau + rng.normal(0, 0.2))
        lam.append(l)
        taus.append(tau)
        sens.append(q in _SENSITIVE)
    lam = np.asarray(lam)
    if max_categories:  # collapse long scales: keep evenly spaced thresholds
        for j, tau in enumerate(taus):
            if len(tau) + 1 > max_categories:
                keep = np.round(np.linspace(0, len(tau) - 1, max_categories - 1)).astype(int)
                taus[j] = tau[keep]
    if binary_share:
        k = round(binary_share * p)
        for j in rng.choice(p, size=k, replace=False):
            taus[j] = np.array([rng.normal(0, 0.6)])
    # keep the uniqueness positive (the factors have unit variance, correlation .25 on 1-2)
    phi = np.array([[1, .25, 0], [.25, 1, 0], [0, 0, 1]])
    comm = np.einsum("jf,fg,jg->j", lam, phi, lam)
    lam = lam * np.sqrt(np.minimum(1.0, 0.85 / np.maximum(comm, 1e-12)))[:, None]
    return names, lam, taus, np.asarray(sens)


@dataclass(frozen=True)
class _Population:
    names: list
    lam: np.ndarray          # (G, p, 3) group loadings
    shift_f: np.ndarray      # (G, 3) group factor means
    shift_y: np.ndarray      # (G, p) group item intercepts
    psi: np.ndarray          # (G, p) residual variances
    taus: list
    sizes: np.ndarray        # (G,) group probabilities
    item_miss: np.ndarray    # (p,) relative item propensity
    group_miss: np.ndarray   # (G,) group propensity multiplier
    group_wcv: np.ndarray    # (G,) log-normal sd of the weights per group
    sensitive: np.ndarray
    loc: np.ndarray          # (p,) pooled latent mean and sd before any tilt: the thresholds
    scale: np.ndarray        # are tau * scale + loc, so pooled marginals keep the bank's shapes


_PHI = np.array([[1, .25, 0], [.25, 1, 0], [0, 0, 1]])
_CACHE: dict = {}


def _population(spec: Spec) -> _Population:
    key = dataclasses.astuple(spec)
    if key in _CACHE:
        return _CACHE[key]
    rng = np.random.default_rng(spec.structure_seed)
    names, lam0, taus, sens = item_bank(spec.p, rng, spec.binary_share,
                                         spec.max_categories)
    p, G = spec.p, spec.n_groups
    if spec.loading_scale:
        scale = np.ones(p)
        scale[:len(spec.loading_scale)] = spec.loading_scale[:p]
        lam0 = lam0 * scale[:, None]
    # group sizes: Dirichlet (unequal countries); tilt shifts the mixture for departures
    sizes = rng.dirichlet(np.full(G, 3.0))
    # group factor means (countries differ on the value dimensions) and item intercepts;
    # the between-group share of an item's latent variance grows with its first loading
    shift_f = rng.normal(0, 1, (G, 3)) * np.array([0.7, 0.5, 0.2])
    w1 = np.abs(lam0[:, 0]) / max(np.abs(lam0[:, 0]).max(), 1e-12)
    target = spec.between_share * (0.2 + 0.8 * w1)             # share per item, up to max
    shift_y = rng.normal(0, 1, (G, p))
    shift_y = (shift_y - shift_y.mean(0)) / (shift_y.std(0) + 1e-12)
    # intercept variance so that between / (between + 1) ~ target (within variance is 1)
    from_f = np.einsum("jf,gf->gj", lam0, shift_f).var(0)
    need = np.maximum(target / (1 - target) - from_f, 0.0)
    shift_y = shift_y * np.sqrt(need)[None, :]
    lam = lam0[None] * (1 + spec.loading_jitter * rng.normal(0, 1, (G, p, 1)))
    comm = np.einsum("gjf,fh,gjh->gj", lam, _PHI, lam)
    lam = lam * np.sqrt(np.minimum(1.0, 0.9 / np.maximum(comm, 1e-12)))[..., None]
    psi = 1 - np.einsum("gjf,fh,gjh->gj", lam, _PHI, lam)
    means = np.einsum("gf,gjf->gj", shift_f, lam) + shift_y
    loc = np.sum(sizes[:, None] * means, 0)
    scale = np.sqrt(np.sum(sizes[:, None] * ((means - loc) ** 2 + 1.0), 0))
    if spec.group_tilt:
        z = (np.argsort(np.argsort(shift_f[:, 0])) - (G - 1) / 2) / max(G / 2, 1)
        sizes = sizes * np.exp(spec.group_tilt * z)
        sizes = sizes / sizes.sum()
    item_miss = np.where(sens, 2.0, 1.0) * rng.uniform(0.5, 1.5, p)
    item_miss = item_miss / item_miss.mean()
    group_miss = np.exp(rng.normal(0, 0.4, G))
    group_miss = group_miss / np.sum(sizes * group_miss)
    # weight sd so that 1 + cv^2 = deff (log-normal: cv^2 = exp(s^2) - 1)
    s = np.sqrt(np.log(max(spec.deff, 1.0)))
    group_wcv = s * rng.uniform(0.8, 1.2, G)
    pop = _Population(names, lam, shift_f, shift_y, psi, taus, sizes, item_miss, group_miss,
                      group_wcv, sens, loc, scale)
    _CACHE[key] = pop
    return pop


def _latent(spec: Spec, pop: _Population, rng: np.random.Generator, n: int):
    G = spec.n_groups
    grp = rng.choice(G, size=n, p=pop.sizes)
    chol = np.linalg.cholesky(_PHI)
    f = rng.standard_normal((n, 3)) @ chol.T + pop.shift_f[grp]
    y = (np.einsum("nf,njf->nj", f, pop.lam[grp]) + pop.shift_y[grp]
         + rng.standard_normal((n, spec.p)) * np.sqrt(pop.psi[grp]))
    return grp, y


def draw(spec: Spec, seed, *, n: int | None = None, name: str = "sample") -> Survey:
    """One sample of ``spec``'s population as a weighted :class:`popaudit.Survey`.

    Demographics: ``country`` (group label ``C01`` ...). Missing answers are category index -1.
    """
    rng = np.random.default_rng(seed)
    pop = _population(spec)
    n = spec.n if n is None else int(n)
    grp, y = _latent(spec, pop, rng, n)
    idx = np.empty((n, spec.p), np.int16)
    for j, tau in enumerate(pop.taus):
        idx[:, j] = np.searchsorted(tau * pop.scale[j] + pop.loc[j], y[:, j])
    # weights: log-normal within groups (mean 1 within each group), Kish deff ~ spec.deff
    if spec.deff > 1.0:
        s = pop.group_wcv[grp]
        w = np.exp(s * rng.standard_normal(n) - s * s / 2)
        w = w / w.mean()
    else:
        w = None
    if spec.missing != "none" and spec.missing_rate > 0:
        resp = np.exp(rng.normal(0, 0.5, n) - 0.125) * pop.group_miss[grp]
        prob = spec.missing_rate * resp[:, None] * pop.item_miss[None, :]
        if spec.missing == "mnar":
            # not at random: the probability of a blank grows with the item's own latent
            # answer (logistic tilt), rescaled to the same expected rate
            z = (y - pop.loc) / pop.scale
            tilt = np.exp(0.8 * z * np.where(pop.sensitive, 1.5, 1.0)[None, :])
            prob = prob * tilt / tilt.mean(0, keepdims=True)
        elif spec.missing != "mar":
            raise ValueError(f"missing must be 'mar', 'mnar' or 'none', got {spec.missing!r}")
        miss = rng.random((n, spec.p)) < np.minimum(prob, 0.9)
        idx[miss] = -1
    items = [Item(nm, tuple(range(1, len(tau) + 2))) for nm, tau in zip(pop.names, pop.taus)]
    demo = {"country": np.array([f"C{g + 1:02d}" for g in grp], dtype=object)}
    return Survey.from_category_indices(idx, items, demographics=demo, weights=w, name=name)


def halves(survey: Survey, rng: np.random.Generator) -> tuple[Survey, Survey]:
    """Random halves of one sample (sizes floor(n/2) and ceil(n/2)), as gold and simulated."""
    n = survey.n_respondents
    perm = rng.permutation(n)
    a, b = np.sort(perm[: n // 2]), np.sort(perm[n // 2:])
    return survey.subset(a).with_name("half A"), survey.subset(b).with_name("half B")


def departure(spec: Spec, kind: str, size: float) -> Spec:
    """The population of ``spec`` changed by a known amount (for power).

    ``kind="loadings"``: the first third of the items' loadings multiplied by ``1 - size``
    (their correlations shrink); ``kind="mixture"``: the group mixture tilted by ``size``
    towards the groups high on the first factor (the pooled correlations change through
    the between-group part only).
    """
    if kind == "loadings":
        k = max(1, spec.p // 3)
        return dataclasses.replace(spec, loading_scale=tuple([1 - size] * k),
                                   name=f"{spec.name}, loadings x{1 - size:g}")
    if kind == "mixture":
        return dataclasses.replace(spec, group_tilt=size, name=f"{spec.name}, mixture tilt {size:g}")
    raise ValueError(f"kind must be 'loadings' or 'mixture', got {kind!r}")


def between_share(spec: Spec) -> np.ndarray:
    """Between-group share of each item's latent variance in the population."""
    pop = _population(spec)
    means = np.einsum("gf,gjf->gj", pop.shift_f, pop.lam) + pop.shift_y
    m = np.sum(pop.sizes[:, None] * means, 0)
    between = np.sum(pop.sizes[:, None] * (means - m) ** 2, 0)
    within = np.sum(pop.sizes[:, None] * (np.einsum("gjf,fh,gjh->gj", pop.lam, _PHI, pop.lam)
                                          + pop.psi), 0)
    return between / (between + within)


def population_polychoric(spec: Spec, n: int = 200_000, seed: int = 0) -> np.ndarray:
    """The population's (pooled) latent correlation matrix, by a large complete draw.

    The pooled latent responses are a normal mixture, not normal, so this is the latent
    Pearson matrix - the quantity the polychoric estimates approximate; used for interval
    coverage of population RMSE, where only differences between populations matter.
    """
    rng = np.random.default_rng(seed)
    _, y = _latent(spec, _population(spec), rng, n)
    return np.corrcoef(y, rowvar=False)


def min_eigenvalue(corr) -> float:
    """Smallest eigenvalue of a correlation matrix (negative: not positive definite)."""
    return float(np.linalg.eigvalsh(np.asarray(corr, float))[0])


#: Named cells of the calibration study (``benchmarks/calibration.py``).
PRESETS: dict[str, Spec] = {
    # the real-records check of issue 15: one 1 400-respondent, 48-country sample, 25 items,
    # about 10 % missing; its random halves are compared
    "halves": Spec(n=1400, p=25, n_groups=48, missing_rate=0.10, name="random halves"),
    # two samples of one population, equal and unequal sizes
    "two_samples": Spec(n=800, p=20, n_groups=12, missing_rate=0.10, name="two samples"),
    "two_samples_mnar": Spec(n=800, p=20, n_groups=12, missing_rate=0.15, missing="mnar",
                             name="two samples, MNAR"),
    # small samples, many items, a third binary: pairwise matrices often not PD
    "small_nonpd": Spec(n=250, p=40, n_groups=8, missing_rate=0.15, binary_share=0.33,
                        name="n 250, p 40, not PD"),
}


def _summary() -> None:  # pragma: no cover - a look at the presets
    import popaudit as pa

    for key, spec in PRESETS.items():
        s = draw(spec, 1)
        fit = pa.polychoric(s, on_insufficient="nan") if hasattr(pa, "polychoric") else None
        w = s.weights_or_ones()
        deff = len(w) * np.sum(w * w) / w.sum() ** 2
        ev = min_eigenvalue(np.nan_to_num(fit.corr.to_numpy(float))) if fit is not None else np.nan
        print(f"{key:18s} n={s.n_respondents:5d} p={s.n_items:3d} "
              f"K={sorted(set(s.n_categories.tolist()))} missing={s.missing_mask.mean():.3f} "
              f"deff={deff:.2f} between<= {between_share(spec).max():.2f} "
              f"min eigenvalue={ev:.3f}")


if __name__ == "__main__":  # pragma: no cover
    _summary()
