"""Psychometric networks: EBICglasso, centralities and the Network Comparison Test.

:func:`network` estimates a Gaussian graphical model of one population the way qgraph's
``EBICglasso`` does (graphical lasso over 100 penalties, the extended BIC picks one; the
network holds the partial correlations) and reads it with qgraph's centralities.
:func:`compare_networks` is the Network Comparison Test of NetworkComparisonTest (van
Borkulo et al. 2023) between a gold and a simulated population, with what NCT lacks: noise
floors (gold against resamples of itself), bootstrap intervals, and fidelity statistics
for an audit table.

Agreement with R
----------------
The glasso kernel (:mod:`popaudit._kernels.glasso`) repeats R ``glasso`` 1.11's iterates,
not only its optimum: R stops at ``thr = 1e-4``, so any other correct solver differs from
qgraph by up to ~1e-5 in the network and can flip EBIC's edge count. Against
``tests/fixtures/networks`` (six data sets; defaults, ``threshold``, ``refit`` and three
gammas) the selected penalty is R's in every case and the networks agree to 1e-15; NCT's
per-permutation statistics on R's own permutations agree to 1e-14 and the p-values are
equal (``docs/networks.md``).

Conventions (qgraph's, kept)
----------------------------
* ``S <- cov2cor(S)``; no positive-definite repair unless asked (``pd_repair``); a matrix
  with a negative eigenvalue is an error, as in qgraph.
* lambda grid ``exp(seq(log(0.01 lambda_max), log(lambda_max), length = 100))``,
  ``lambda_max = max |S_ij|`` (i != j); the diagonal is not penalised.
* EBIC on the penalised precision ``K``: ``-2 L + E log n + 4 E gamma log p`` with
  ``L = n/2 (log det K - tr(K S))`` and ``E`` the exact non-zeros of the lower triangle of
  ``K``; ties go to the smaller lambda.
* network ``= -cov2cor(K)`` with zero diagonal, symmetrised from the upper triangle.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd

from popaudit import _jaxcache
from popaudit._inference import (
    DISTANCE,
    SIMILARITY,
    adjust_pvalues,
    bootstrap_interval,
    cached,
    check_correlation_matrix,
    fingerprint,
    floor_summary,
    nearest_correlation,
    resampling_pvalue,
    resolve_seed,
    spawn,
    warn,
    with_x64,
)
from popaudit._kernels import resample as _rs
from popaudit.data.survey import Survey

__all__ = ["NetworkComparison", "NetworkResult", "compare_networks", "network"]

#: qgraph's messages (EBICglasso), reused as notes
_MSG_LOWEST = ("network with the lowest lambda selected as best network: the assumption of "
               "sparsity might be violated (qgraph's note)")
_MSG_EMPTY = ("an empty network was selected as the best fitting network; a higher "
              "lambda_min_ratio searches sparser networks, a lower gamma is more sensitive "
              "(at the cost of specificity) (qgraph's message)")
_MSG_DENSE = ("a dense regularized network was selected (lambda < 0.1 lambda_max): "
              "specificity may drop, interpret the smallest edges with care; threshold=True "
              "enforces higher specificity at the cost of sensitivity (qgraph's warning)")

MEASURES = ("strength", "expected_influence", "closeness", "betweenness")
_QGRAPH_MEASURE = {"betweenness": "Betweenness", "closeness": "Closeness",
                   "strength": "Strength", "expected_influence": "ExpectedInfluence"}


def _frozen(d) -> Mapping:
    return MappingProxyType(dict(d or {}))


# ============================================================================================
# the glasso engine: qgraph's EBICglasso for a batch of correlation matrices
# ============================================================================================
def _lambda_grid(lmax: np.ndarray, nlambda: int, ratio: float) -> np.ndarray:
    """R's ``exp(seq(log(ratio * lmax), log(lmax), length = nlambda))``, ascending, (B, nlam).

    ``seq`` as R computes it (``from + i * by``, the last value exactly ``to``) and ``exp``
    / ``log`` from the C library, as R's: the largest lambda is then bit-equal to R's, which
    decides whether the pair with ``|S_ij| = lambda_max`` counts as linked there.
    """
    out = np.empty((lmax.size, nlambda))
    for b, lm in enumerate(lmax):
        a, z = math.log(ratio * lm), math.log(lm)
        if nlambda == 1:
            out[b] = [math.exp(a)]
            continue
        by = (z - a) / (nlambda - 1)
        seq = [a] + [a + i * by for i in range(1, nlambda - 1)] + [z]
        out[b] = [math.exp(v) for v in seq]
    return out


def _cov2cor(s: np.ndarray) -> np.ndarray:
    """R's ``cov2cor``: ``Is = sqrt(1 / diag)``, ``(Is_i * S_ij) * Is_j``, diagonal 1."""
    d = np.sqrt(1.0 / np.diagonal(s, axis1=-2, axis2=-1))
    r = (d[..., :, None] * s) * d[..., None, :]
    idx = np.arange(s.shape[-1])
    r[..., idx, idx] = 1.0
    return r


def _wi_to_network(wi: np.ndarray) -> np.ndarray:
    """qgraph's ``wi2net`` + ``forceSymmetric``: ``-cov2cor(wi)``, upper triangle, diagonal 0."""
    d = np.sqrt(1.0 / np.diagonal(wi, axis1=-2, axis2=-1))
    r = -((d[..., :, None] * wi) * d[..., None, :])
    up = np.triu(r, 1)
    return up + np.swapaxes(up, -1, -2)


_CHUNK = 32  # matrices in lock-step: larger wastes steps on the slowest, smaller on overhead


def _chunk_size(batch: int) -> int:
    """Matrices run together by the kernel: few distinct compiled shapes (1, 2, 8, 32)."""
    for c in (1, 2, 8):
        if batch <= c:
            return c
    return _CHUNK


def _workers(n_chunks: int) -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, n_chunks, 2))


@with_x64
@_jaxcache.compilation_cache()
def _run_path(s, lambdas, n, gamma, cut, *, thr, maxit, keep_path):
    """The kernel over a batch in fixed-size calls.

    A call takes ``parts`` slices of ``c`` matrices (one per core, at most 2) as independent
    loops of one program; padding matrices are identities (every variable its own block:
    no work).
    """
    import jax.numpy as jnp

    from popaudit._kernels import glasso as _g

    batch, p, _ = s.shape
    c = _chunk_size(batch)
    parts = _workers(-(-batch // c)) if c == _CHUNK else 1
    step = c * parts
    nch = -(-batch // step)
    pad = nch * step - batch
    if pad:
        eye = np.broadcast_to(np.eye(p), (pad, p, p))
        s = np.concatenate([s, eye])
        lambdas = np.concatenate([lambdas, np.ones((pad, lambdas.shape[1]))])
        n, gamma, cut = (np.concatenate([a, np.full(pad, a[0])]) for a in (n, gamma, cut))
    static = {"thr": float(thr), "maxit": int(maxit), "keep_path": bool(keep_path)}
    parts_out = []
    for k in range(nch):
        sl = slice(k * step, (k + 1) * step)
        args = (jnp.asarray(a[sl]) for a in (s, lambdas, n, gamma, cut))
        out = (_g.glasso_path(*args, **static) if parts == 1
               else _g.glasso_path_parts(*args, parts=parts, **static))
        parts_out.append([np.asarray(o) for o in out])
    return [np.concatenate([q[i] for q in parts_out])[:batch] for i in range(6)]


@with_x64
@_jaxcache.compilation_cache()
def _run_refit(s, rho, *, thr, maxit):
    import jax.numpy as jnp

    from popaudit._kernels import glasso as _g

    _, wi, _ = _g.glasso(jnp.asarray(s), jnp.asarray(rho), thr=thr, maxit=maxit)
    return np.asarray(wi)


def _ebicglasso(s, n, *, gamma=0.5, threshold=False, refit=False, nlambda=100,
                lambda_min_ratio=0.01, thr=1e-4, maxit=10_000, keep_path=False) -> dict:
    """qgraph's ``EBICglasso(S, n, gamma, ...)`` for a batch (B, p, p) of matrices.

    Returns a dict of arrays: ``network`` (B, p, p), ``precision`` (B, p, p; R's ``optwi``,
    not symmetric), ``lambdas``, ``ebic``, ``edges`` (B, nlam; ascending lambda as R),
    ``selected`` (B,; 0-based into the ascending grid, -1 if every EBIC is NaN),
    ``lambda_max`` (B,), ``sweeps`` (B, nlam) and, with ``keep_path``, ``path``
    (B, nlam, p, p).
    """
    s = np.asarray(s, dtype=float)
    batch, p, _ = s.shape
    n = np.broadcast_to(np.asarray(n, dtype=float), (batch,)).copy()
    s = _cov2cor(0.5 * (s + np.swapaxes(s, 1, 2)))
    off = s - np.eye(p)
    lmax = np.maximum(off.max(axis=(1, 2)), -off.min(axis=(1, 2)))
    lam = _lambda_grid(lmax, nlambda, lambda_min_ratio)
    cut = (np.full(batch, math.log(p * (p - 1) / 2)) / np.sqrt(n) if threshold
           else np.zeros(batch))
    gam = np.full(batch, float(gamma))
    ebic, edges, sel, wi, sweeps, path = _run_path(
        s, np.ascontiguousarray(lam[:, ::-1]), n, gam, cut, thr=thr, maxit=maxit,
        keep_path=keep_path)
    selected = np.where(sel >= 0, nlambda - 1 - sel, -1)
    if refit:
        net0 = _wi_to_network(wi)
        off_mask = ~np.eye(p, dtype=bool)
        from popaudit._kernels.glasso import BIG

        rho = np.where((net0 == 0) & off_mask, BIG, 0.0)
        wi = _run_refit(s, rho, thr=thr, maxit=maxit)
    out = {"network": _wi_to_network(wi), "precision": wi, "lambdas": lam,
           "ebic": ebic[:, ::-1], "edges": edges[:, ::-1].astype(int), "selected": selected,
           "lambda_max": lmax, "sweeps": sweeps[:, ::-1], "correlation": s}
    if keep_path:
        out["path"] = path[:, ::-1]
    return out


def _selection_notes(sel: int, net: np.ndarray, lam: np.ndarray, lmax: float,
                     threshold: bool) -> list[str]:
    notes = []
    if sel == 0:
        notes.append(_MSG_LOWEST)
    if not np.any(net != 0):
        notes.append(_MSG_EMPTY)
    if sel >= 0 and lam[sel] < 0.1 * lmax and not threshold:
        notes.append(_MSG_DENSE)
    return notes


# ============================================================================================
# centralities (qgraph's conventions, computed with networkx)
# ============================================================================================
def _graph(net: np.ndarray, names=None):
    import networkx as nx

    p = net.shape[0]
    g = nx.Graph()
    g.add_nodes_from(range(p) if names is None else names)
    labels = list(range(p)) if names is None else list(names)
    iu, ju = np.nonzero(np.triu(net, 1))
    for i, j in zip(iu, ju, strict=True):
        w = float(net[i, j])
        g.add_edge(labels[i], labels[j], weight=w, abs_weight=abs(w), distance=1.0 / abs(w))
    return g


def _largest_component(g, order) -> list:
    """qgraph's largest component: the biggest, ties to the one holding the first node."""
    import networkx as nx

    comps = list(nx.connected_components(g))
    rank = {v: k for k, v in enumerate(order)}
    comps.sort(key=lambda c: (-len(c), min(rank[v] for v in c)))
    return sorted(comps[0], key=rank.get)


def _centrality(net: np.ndarray, names) -> tuple[pd.DataFrame, list[str]]:
    """qgraph's ``centrality_auto`` of one weighted undirected network.

    strength = sum |w|, expected influence = sum w, closeness = 1 / sum of shortest-path
    distances (edge length 1/|w|) inside the largest component (NaN outside it when the
    network is disconnected; 0 for every node of an empty network, as qgraph gives),
    betweenness = networkx's unnormalised weighted betweenness (qgraph's count / 2).
    """
    import networkx as nx

    names = list(names)
    p = len(names)
    g = _graph(net, names)
    notes = []
    strength = dict(g.degree(weight="abs_weight"))
    influence = dict(g.degree(weight="weight"))
    betw = nx.betweenness_centrality(g, weight="distance", normalized=False)
    largest = _largest_component(g, names)
    closeness = dict.fromkeys(names, np.nan)
    if len(largest) == 1:  # no edges at all (or isolated nodes only): qgraph gives 0
        closeness = dict.fromkeys(names, 0.0)
    else:
        sub = g.subgraph(largest)
        k = len(largest)
        c = nx.closeness_centrality(sub, distance="distance", wf_improved=False)
        for v in largest:
            closeness[v] = c[v] / (k - 1)  # networkx: (k - 1) / sum d; qgraph: 1 / sum d
        if k < p:
            notes.append(f"the network is disconnected: closeness is computed in its largest "
                         f"component ({k} of {p} nodes) and NaN for the others, as qgraph does")
    frame = pd.DataFrame({"strength": [float(strength[v]) for v in names],
                          "expected_influence": [float(influence[v]) for v in names],
                          "closeness": [closeness[v] for v in names],
                          "betweenness": [float(betw[v]) for v in names]},
                         index=pd.Index(names, name="node"))
    return frame, notes


def _scale2(x: np.ndarray) -> np.ndarray:
    """qgraph's ``scale2``: z-scores with the n - 1 SD, NaN ignored; 0 when the SD is 0."""
    x = np.asarray(x, dtype=float)
    fin = x[np.isfinite(x)]
    if fin.size == 0:
        return np.full_like(x, np.nan)
    sd = np.std(fin, ddof=1) if fin.size > 1 else np.nan
    if not np.isfinite(sd) or sd == 0:
        return np.where(np.isfinite(x), 0.0, np.nan) if sd == 0 else np.full_like(x, np.nan)
    return (x - fin.mean()) / sd


def _strength_batch(nets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Strength and expected influence of (B, p, p) networks (zero diagonals)."""
    return np.abs(nets).sum(axis=-1), nets.sum(axis=-1)


def _centrality_batch(nets: np.ndarray, measures, names) -> np.ndarray:
    """(B, p, len(measures)) centralities; networkx only for closeness / betweenness."""
    out = np.empty(nets.shape[:2] + (len(measures),))
    st, ei = _strength_batch(nets)
    slow = [m for m in measures if m in ("closeness", "betweenness")]
    for k, m in enumerate(measures):
        if m == "strength":
            out[..., k] = st
        elif m == "expected_influence":
            out[..., k] = ei
    if slow:
        for b in range(nets.shape[0]):  # networkx per network (closeness, betweenness)
            frame, _ = _centrality(nets[b], names)
            for k, m in enumerate(measures):
                if m in slow:
                    out[b, :, k] = frame[m].to_numpy()
    return out


# ============================================================================================
# input: a Survey, raw data, a polychoric result or a correlation matrix
# ============================================================================================
@dataclass
class _Input:
    names: tuple
    corr_kind: str  # "polychoric", "pearson" or "matrix"
    corr: np.ndarray  # (p, p) correlation matrix of the whole data
    n: float  # EBIC's n
    codes: np.ndarray | None = None  # (N, p) int category indices, -1 missing (polychoric)
    values: np.ndarray | None = None  # (N, p) float with NaN missing (pearson)
    weights: np.ndarray | None = None  # survey weights (N,) or None
    notes: list = field(default_factory=list)

    @property
    def n_rows(self) -> int:
        arr = self.codes if self.codes is not None else self.values
        return 0 if arr is None else arr.shape[0]

    @property
    def has_data(self) -> bool:
        return self.codes is not None or self.values is not None


def _is_polychoric_result(x) -> bool:
    return type(x).__name__ == "PolychoricResult" and hasattr(x, "corr")


def _mean_pairwise(valid: np.ndarray) -> float:
    v = valid.astype(float)
    cnt = v.T @ v
    p = cnt.shape[0]
    if p < 2:
        return float(cnt[0, 0]) if p else 0.0
    iu = np.triu_indices(p, 1)
    return float(cnt[iu].mean())


def _check_pairs(valid: np.ndarray, names) -> None:
    v = valid.astype(float)
    cnt = v.T @ v
    iu, ju = np.triu_indices(len(names), 1)
    bad = cnt[iu, ju] < 2
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(f"items {names[iu[k]]!r} and {names[ju[k]]!r} have "
                         f"{int(cnt[iu[k], ju[k]])} respondents in common: their correlation "
                         "cannot be estimated; drop one of them with items=[...]")


def _pearson(values: np.ndarray, weights=None) -> np.ndarray:
    """Pearson correlations with pairwise deletion (weighted if given), two-pass."""
    x = np.asarray(values, dtype=float)
    n, p = x.shape
    ok = np.isfinite(x)
    if ok.all():
        w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
        mu = (w @ x) / w.sum()
        xc = x - mu
        c = (xc * w[:, None]).T @ xc
        d = np.sqrt(np.diag(c))
        r = c / np.outer(d, d)
        np.fill_diagonal(r, 1.0)
        return 0.5 * (r + r.T)
    r = np.eye(p)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    for i in range(p):  # pairwise deletion: one small problem per pair (input prep only)
        for j in range(i + 1, p):
            m = ok[:, i] & ok[:, j]
            wi = w[m]
            a, b = x[m, i], x[m, j]
            a, b = a - (wi @ a) / wi.sum(), b - (wi @ b) / wi.sum()
            r[i, j] = r[j, i] = (wi * a) @ b / math.sqrt(((wi * a) @ a) * ((wi * b) @ b))
    return r


def _check_items_vary(arr: np.ndarray, names, missing) -> None:
    for j, nm in enumerate(names):
        col = arr[:, j]
        col = col[~missing[:, j]]
        if col.size == 0:
            raise ValueError(f"item {nm!r} has no valid answers; drop it with items=[...]")
        if np.unique(col).size < 2:
            raise ValueError(f"item {nm!r} is constant (a single observed answer): it has no "
                             "correlations and no place in a network; drop it with "
                             "items=[...]")


def _from_survey(s: Survey, corr: str, items) -> _Input:
    if items is not None:
        s = s.select(list(items))
    names = s.item_names
    kinds = [it.kind for it in s.items]
    nominal = [nm for nm, k in zip(names, kinds, strict=True) if k == "nominal"]
    if nominal:
        raise ValueError(f"item(s) {nominal} are nominal: a Gaussian graphical model needs "
                         "ordinal or binary items (polychoric) or numeric ones (pearson); "
                         "drop them with items=[...]")
    idx = np.asarray(s.category_indices(), dtype=np.int32)
    missing = idx < 0
    _check_items_vary(idx, names, missing)
    _check_pairs(~missing, names)
    weights = s.weights
    notes = []
    if corr in ("auto", "polychoric"):
        from popaudit.structure.polychoric import polychoric

        if corr == "auto":
            notes.append("corr='auto': polychoric correlations (every item is ordinal or "
                         "binary); corr='pearson' gives NCT's and bootnet's default")
        pc = polychoric(s, on_insufficient="raise")
        return _Input(names=names, corr_kind="polychoric", corr=pc.corr.to_numpy(),
                      n=_mean_pairwise(~missing), codes=idx, weights=weights, notes=notes)
    values = s.responses().to_numpy(dtype=float, na_value=np.nan)
    return _Input(names=names, corr_kind="pearson", corr=_pearson(values, weights),
                  n=_mean_pairwise(~missing), values=values, weights=weights, notes=notes)


def _from_raw(df: pd.DataFrame, corr: str, items) -> _Input:
    if items is not None:
        df = df[list(items)]
    names = tuple(str(c) for c in df.columns)
    x = df.to_numpy(dtype=float, na_value=np.nan)
    missing = ~np.isfinite(x)
    _check_items_vary(np.where(missing, 0, x), names, missing)
    _check_pairs(~missing, names)
    notes = []
    if corr == "auto":
        ordinal = all(np.all(x[~missing[:, j], j] == np.round(x[~missing[:, j], j]))
                      and np.unique(x[~missing[:, j], j]).size <= 7 for j in range(x.shape[1]))
        corr = "polychoric" if ordinal else "pearson"
        notes.append(f"corr='auto': {corr} correlations ("
                     + ("every column integer-valued with at most 7 distinct values"
                        if ordinal else "some column is not integer-valued with at most 7 "
                        "distinct values") + ")")
    if corr == "polychoric":
        from popaudit.structure.polychoric import polychoric

        codes = np.full(x.shape, -1, np.int32)
        for j in range(x.shape[1]):
            ok = ~missing[:, j]
            cats = np.unique(x[ok, j])
            codes[ok, j] = np.searchsorted(cats, x[ok, j])
        pc = polychoric(codes, on_insufficient="raise")
        return _Input(names=names, corr_kind="polychoric", corr=pc.corr.to_numpy(),
                      n=_mean_pairwise(~missing), codes=codes, notes=notes)
    return _Input(names=names, corr_kind="pearson", corr=_pearson(x), n=_mean_pairwise(~missing),
                  values=x, notes=notes)


def _prepare(data, *, corr: str, n, items) -> _Input:
    if corr not in ("auto", "polychoric", "pearson"):
        raise ValueError(f"corr must be 'auto', 'polychoric' or 'pearson', got {corr!r}")
    if isinstance(data, Survey):
        if n is not None:
            raise ValueError("n is taken from the Survey; pass n only with a correlation matrix")
        return _from_survey(data, corr, items)
    if _is_polychoric_result(data):
        names = tuple(data.item_names)
        r = data.corr.to_numpy()
        if items is not None:
            pos = [names.index(i) for i in items]
            r, names = r[np.ix_(pos, pos)], tuple(items)
        if n is None:
            cnt = data.n.to_numpy()
            if items is not None:
                cnt = cnt[np.ix_(pos, pos)]
            iu = np.triu_indices(len(names), 1)
            n = float(cnt[iu].mean()) if iu[0].size else float(cnt[0, 0])
        r = check_correlation_matrix(r, names=names, what="the polychoric matrix")
        return _Input(names=names, corr_kind="polychoric", corr=r, n=float(n),
                      notes=["correlation matrix from a PolychoricResult; n = mean pairwise "
                             "count" if n is None else "correlation matrix from a "
                             "PolychoricResult"])
    if n is not None:  # a correlation matrix
        names = (tuple(str(c) for c in data.columns) if isinstance(data, pd.DataFrame)
                 else None)
        arr = np.asarray(data, dtype=float)
        if names is None and arr.ndim == 2:
            names = tuple(f"V{i + 1}" for i in range(arr.shape[0]))
        r = check_correlation_matrix(arr, names=names, what="the correlation matrix")
        if items is not None:
            pos = [names.index(i) for i in items]
            r, names = r[np.ix_(pos, pos)], tuple(items)
        n = float(n)
        if not np.isfinite(n) or n <= 0:
            raise ValueError(f"n must be a positive number of respondents, got {n}")
        return _Input(names=names, corr_kind="matrix", corr=r, n=n)
    if isinstance(data, pd.DataFrame):
        return _from_raw(data, corr, items)
    arr = np.asarray(data)
    if arr.ndim == 2 and arr.shape[0] == arr.shape[1] and np.allclose(np.diag(arr), 1):
        raise ValueError("this looks like a correlation matrix: pass n= (the number of "
                         "respondents) with it")
    if arr.ndim != 2:
        raise ValueError(f"data must be a Survey, a DataFrame, a 2-D array of answers, a "
                         f"PolychoricResult or a correlation matrix with n=; got shape "
                         f"{arr.shape}")
    return _from_raw(pd.DataFrame(arr, columns=[f"V{i + 1}" for i in range(arr.shape[1])]),
                     corr, items)


def _pd_check(r: np.ndarray, names, pd_repair, what: str) -> tuple[np.ndarray, list[str]]:
    ev = np.linalg.eigvalsh(r)
    if ev[0] >= 0:  # qgraph: stop if any eigenvalue < 0
        return r, []
    if pd_repair != "nearest":
        raise ValueError(f"{what} is not positive definite (smallest eigenvalue {ev[0]:.3g}); "
                         "EBICglasso needs a positive definite matrix (R requires "
                         "Matrix::nearPD first): pass pd_repair='nearest' to use the nearest "
                         "correlation matrix")
    fixed = nearest_correlation(r)
    return fixed, [(f"{what} was not positive definite (smallest eigenvalue {ev[0]:.3g}); "
                    "replaced by the nearest correlation matrix (pd_repair='nearest', "
                    "Matrix::nearPD's defaults)")]


# batched correlations of weighted resamples (permutations, bootstrap, floors) ---------------
def _batch_pearson(values: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Correlations (B, p, p) and EBIC n (B,) of ``values`` (N, p) under weights (B, N).

    Weights are frequency weights (0/1 for permutations, counts for the bootstrap); n is
    the mean pairwise count of respondents with positive weight (their number for
    complete data). Pairwise deletion with missing values.
    """
    x = np.asarray(values, dtype=float)
    nobs, p = x.shape
    ok = np.isfinite(x)
    x0 = np.where(ok, x - np.nanmean(x, axis=0), 0.0)  # centring improves the one-pass sums
    w = np.asarray(weights, dtype=float)
    iu = np.triu_indices(p, 1)
    present = (w > 0).astype(float)
    if ok.all():
        sw = w.sum(axis=1)
        m1 = (w @ x0) / sw[:, None]
        m2 = (w @ (x0[:, :, None] * x0[:, None, :]).reshape(nobs, p * p)).reshape(-1, p, p)
        c = m2 / sw[:, None, None] - m1[:, :, None] * m1[:, None, :]
        d = np.sqrt(np.diagonal(c, axis1=1, axis2=2))
        r = c / (d[:, :, None] * d[:, None, :])
        n = np.full(w.shape[0], 0.0) + present.sum(axis=1)
    else:
        mk = ok.astype(float)
        pair = (mk[:, :, None] * mk[:, None, :]).reshape(nobs, p * p)
        sw = (w @ pair).reshape(-1, p, p)
        sx = (w @ (x0[:, :, None] * pair.reshape(nobs, p, p)).reshape(nobs, p * p)
              ).reshape(-1, p, p)  # sum over pairs of x_i
        sxx = (w @ ((x0 ** 2)[:, :, None] * pair.reshape(nobs, p, p)).reshape(nobs, p * p)
               ).reshape(-1, p, p)
        sxy = (w @ (x0[:, :, None] * x0[:, None, :] * pair.reshape(nobs, p, p)).reshape(
            nobs, p * p)).reshape(-1, p, p)
        mi, mj = sx / sw, np.swapaxes(sx, 1, 2) / sw
        vi = sxx / sw - mi ** 2
        vj = np.swapaxes(sxx, 1, 2) / sw - mj ** 2
        r = (sxy / sw - mi * mj) / np.sqrt(vi * vj)
        cnt = (present @ pair).reshape(-1, p, p)
        n = cnt[:, iu[0], iu[1]].mean(axis=1) if p > 1 else cnt[:, 0, 0]
    idx = np.arange(p)
    r[:, idx, idx] = 1.0
    return 0.5 * (r + np.swapaxes(r, 1, 2)), n


def _batch_corr(inp: _Input, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Correlation matrices and EBIC n of the resamples given by weights (B, N)."""
    w = np.asarray(weights, dtype=float)
    sw = w if inp.weights is None else w * inp.weights[None, :]
    if inp.corr_kind == "polychoric":
        from popaudit.structure.polychoric import polychoric_batch

        r = polychoric_batch(inp.codes, sw, on_insufficient="nan")
        valid = (inp.codes >= 0).astype(float)
        pair = (valid[:, :, None] * valid[:, None, :]).reshape(inp.codes.shape[0], -1)
        p = inp.codes.shape[1]
        cnt = ((w > 0).astype(float) @ pair).reshape(-1, p, p)
        iu = np.triu_indices(p, 1)
        n = cnt[:, iu[0], iu[1]].mean(axis=1) if p > 1 else cnt[:, 0, 0]
        return r, n
    r, n = _batch_pearson(inp.values, sw)
    if inp.weights is not None:  # the survey weights scale the sums, not the count
        present = (w > 0).astype(float)
        ok = np.isfinite(inp.values).astype(float)
        p = ok.shape[1]
        cnt = (present @ (ok[:, :, None] * ok[:, None, :]).reshape(ok.shape[0], -1)
               ).reshape(-1, p, p)
        iu = np.triu_indices(p, 1)
        n = cnt[:, iu[0], iu[1]].mean(axis=1) if p > 1 else cnt[:, 0, 0]
    return r, n


def _networks_of(inp: _Input, weights: np.ndarray, *, gamma, threshold, refit, nlambda,
                 lambda_min_ratio, pd_repair) -> tuple[np.ndarray, int, int]:
    """Networks (B, p, p) of weighted resamples; NaN networks where the correlation matrix
    could not be estimated (an item constant in the resample). Returns (nets, n_failed,
    n_repaired); with ``pd_repair=None`` a non-PD resample is a failure too."""
    r, n = _batch_corr(inp, weights)
    bad = ~np.all(np.isfinite(r), axis=(1, 2))
    repaired = 0
    good = np.flatnonzero(~bad)
    if good.size:
        ev = np.linalg.eigvalsh(r[good])[:, 0]
        neg = good[ev < 0]
        if neg.size:
            if pd_repair == "nearest":
                for b in neg:  # rare: a few resamples
                    r[b] = nearest_correlation(r[b])
                repaired = int(neg.size)
            else:
                bad[neg] = True
    nets = np.full(r.shape, np.nan)
    keep = np.flatnonzero(~bad)
    if keep.size:
        est = _ebicglasso(r[keep], n[keep], gamma=gamma, threshold=threshold, refit=refit,
                          nlambda=nlambda, lambda_min_ratio=lambda_min_ratio)
        nets[keep] = est["network"]
    return nets, int(bad.sum()), repaired


# ============================================================================================
# one network
# ============================================================================================
@dataclass(frozen=True, repr=False)
class NetworkResult:
    """A Gaussian graphical model estimated with qgraph's EBICglasso, and its centralities.

    Attributes
    ----------
    network : DataFrame
        p x p partial correlations (the selected glasso precision, ``-cov2cor``), zero
        diagonal, item names on both axes.
    precision : DataFrame
        The selected penalised precision matrix as R returns it (``optwi``): column ``j``
        comes from the lasso of item ``j``, so it is not exactly symmetric.
    correlation : DataFrame
        The correlation matrix given to the glasso (after ``cov2cor`` and any PD repair).
    lambda_ : float
        The selected penalty.
    path : DataFrame
        One row per penalty of the grid, ascending as in R: ``lambda``, ``ebic``, ``edges``
        (exact non-zeros of the lower triangle of the precision, what the EBIC counts),
        ``selected``.
    edges : DataFrame
        One row per non-zero edge: item1, item2, weight, abs_weight (and, with ``n_boot``,
        ci_low, ci_high and ``inclusion``, the share of bootstrap networks holding it).
    centrality : DataFrame
        Per node (rows): strength, expected_influence, closeness, betweenness, as qgraph's
        ``centrality_auto`` (see :func:`network`).
    n : float
        The sample size in the EBIC.
    item_names : tuple of str
    bootstrap : mapping
        ``"edges"``: (n_boot, n_pairs) bootstrap edge weights (upper triangle, row-major)
        when ``n_boot > 0``.
    settings : dict
    notes : tuple of str
    """

    network: pd.DataFrame
    precision: pd.DataFrame
    correlation: pd.DataFrame
    lambda_: float
    path: pd.DataFrame
    edges: pd.DataFrame
    centrality: pd.DataFrame
    n: float
    item_names: tuple
    bootstrap: Mapping = field(default_factory=lambda: _frozen({}))
    settings: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def n_edges(self) -> int:
        """Non-zero edges of the network."""
        return int(np.count_nonzero(np.triu(self.network.to_numpy(), 1)))

    @property
    def density(self) -> float:
        """Non-zero edges over possible edges."""
        p = len(self.item_names)
        return self.n_edges / (p * (p - 1) / 2) if p > 1 else float("nan")

    @property
    def global_strength(self) -> float:
        """Sum of absolute edge weights (NCT's global strength)."""
        return float(np.abs(np.triu(self.network.to_numpy(), 1)).sum())

    def to_networkx(self):
        """A ``networkx.Graph``: nodes are items, edges carry ``weight`` (partial correlation),
        ``abs_weight`` and ``distance`` = ``1/|weight|`` (the length qgraph's paths use)."""
        return _graph(self.network.to_numpy(), self.item_names)

    def centrality_table(self, standardized: bool = True) -> pd.DataFrame:
        """qgraph's ``centralityTable``: long table node, measure, value.

        ``standardized=True`` gives qgraph's z-scores (mean 0, SD with n - 1, NaN ignored;
        0 when a measure does not vary). Measures in qgraph's order: Betweenness,
        Closeness, Strength, ExpectedInfluence (named in snake case here).
        """
        rows = []
        for m in ("betweenness", "closeness", "strength", "expected_influence"):
            v = self.centrality[m].to_numpy()
            v = _scale2(v) if standardized else v
            rows.append(pd.DataFrame({"node": list(self.item_names), "measure": m, "value": v}))
        return pd.concat(rows, ignore_index=True)

    def communities(self, method: str = "greedy", *, resolution: float = 1.0,
                    seed=None) -> pd.Series:
        """Communities of the network by modularity on ``|weights|`` (networkx).

        ``method="greedy"`` (Clauset-Newman-Moore, deterministic) or ``"louvain"`` (with
        ``seed``). Returns a Series node -> community number (0 = the largest).
        """
        import networkx as nx

        g = _graph(self.network.to_numpy(), self.item_names)
        if method == "greedy":
            comms = nx.community.greedy_modularity_communities(g, weight="abs_weight",
                                                               resolution=resolution)
        elif method == "louvain":
            _, s = resolve_seed(seed)
            comms = nx.community.louvain_communities(g, weight="abs_weight",
                                                     resolution=resolution, seed=s)
        else:
            raise ValueError(f"method must be 'greedy' or 'louvain', got {method!r}")
        comms = sorted((sorted(c, key=list(self.item_names).index) for c in comms),
                       key=lambda c: (-len(c), list(self.item_names).index(c[0])))
        lab = {v: k for k, c in enumerate(comms) for v in c}
        return pd.Series([lab[v] for v in self.item_names],
                         index=pd.Index(self.item_names, name="node"), name="community")

    def to_frame(self) -> pd.DataFrame:
        """One row per item pair (upper triangle): item1, item2, weight, nonzero (and the
        bootstrap ci_low, ci_high, inclusion when computed)."""
        names = list(self.item_names)
        iu, ju = np.triu_indices(len(names), 1)
        w = self.network.to_numpy()[iu, ju]
        out = pd.DataFrame({"item1": [names[i] for i in iu], "item2": [names[j] for j in ju],
                            "weight": w, "nonzero": w != 0})
        if "edges" in self.bootstrap:
            d = self.bootstrap["edges"]
            lvl = self.settings.get("confidence_level", 0.95)
            _, lo, hi = bootstrap_interval(w, d, confidence_level=lvl,
                                           method=self.settings.get("ci_method", "percentile"),
                                           axis=0, bounds=(-1.0, 1.0))
            out["ci_low"], out["ci_high"] = lo, hi
            out["inclusion"] = np.mean(np.abs(d) > 0, axis=0)
        return out

    def __repr__(self) -> str:
        p = len(self.item_names)
        lines = [(f"NetworkResult({p} items, {self.n_edges} of {p * (p - 1) // 2} edges, "
                  f"lambda = {self.lambda_:.4g}, gamma = {self.settings.get('gamma')}, "
                  f"corr = {self.settings.get('corr')!r}, n = {self.n:g})")]
        if self.n_edges:
            e = self.edges.reindex(self.edges["abs_weight"].sort_values(ascending=False).index)
            top = ", ".join(f"{a}-{b} {w:+.3f}" for a, b, w in
                            e[["item1", "item2", "weight"]].head(5).itertuples(index=False))
            lines.append(f"  strongest edges: {top}")
        for nt in self.notes:
            lines.append(f"  note: {nt}")
        return "\n".join(lines)


def _edge_table(net: np.ndarray, names) -> pd.DataFrame:
    iu, ju = np.nonzero(np.triu(net, 1))
    w = net[iu, ju]
    return pd.DataFrame({"item1": [names[i] for i in iu], "item2": [names[j] for j in ju],
                         "weight": w, "abs_weight": np.abs(w)})


def _check_sizes(inp: _Input, what: str = "the data") -> None:
    p = len(inp.names)
    if p < 2:
        raise ValueError("a network needs at least two items")
    if inp.n <= p:
        raise ValueError(f"{what}: n = {inp.n:g} respondents for p = {p} items; EBICglasso "
                         "needs more respondents than items (the EBIC of the unpenalised end "
                         "of the path is undefined): use fewer items or more respondents")


def _fit_one(inp: _Input, *, gamma, threshold, refit, nlambda, lambda_min_ratio, pd_repair,
             what: str) -> tuple[dict, list[str]]:
    r, notes = _pd_check(inp.corr, inp.names, pd_repair, what)
    est = _ebicglasso(r[None], np.array([inp.n]), gamma=gamma, threshold=threshold,
                      refit=refit, nlambda=nlambda, lambda_min_ratio=lambda_min_ratio,
                      keep_path=False)
    est = {k: v[0] for k, v in est.items()}
    sel = int(est["selected"])
    net = est["network"]
    notes += _selection_notes(sel, net, est["lambdas"], float(est["lambda_max"]), threshold)
    if refit:
        notes.append("refit=True: the selected network re-estimated without penalty, absent "
                     "edges held at zero (glasso with rho = 0 and zero = absent edges)")
    return est, notes


def _network_result(inp: _Input, *, gamma, threshold, refit, nlambda, lambda_min_ratio,
                    pd_repair, n_boot, confidence_level, ci_method, rng, seed_int,
                    what: str = "the correlation matrix", warn_dense: bool = True
                    ) -> NetworkResult:
    """The NetworkResult of prepared input (shared by network and compare_networks)."""
    est, notes = _fit_one(inp, gamma=gamma, threshold=threshold, refit=refit, nlambda=nlambda,
                          lambda_min_ratio=lambda_min_ratio, pd_repair=pd_repair, what=what)
    names = list(inp.names)
    net = est["network"]
    cent, cnotes = _centrality(net, names)
    boot = {}
    if n_boot:
        N = inp.n_rows
        counts = _rs.bootstrap_counts(rng, N, int(n_boot))
        nets, failed, repaired = _networks_of(
            inp, counts, gamma=gamma, threshold=threshold, refit=refit, nlambda=nlambda,
            lambda_min_ratio=lambda_min_ratio, pd_repair=pd_repair or "nearest")
        iu = np.triu_indices(len(names), 1)
        boot["edges"] = nets[:, iu[0], iu[1]]
        if failed:
            notes.append(f"{failed} of {n_boot} bootstrap networks could not be estimated "
                         "(an item constant in the resample) and are left out")
        if repaired:
            notes.append(f"{repaired} of {n_boot} bootstrap correlation matrices were not "
                         "positive definite and were repaired (nearest correlation matrix)")
    edges = _edge_table(net, names)
    if boot:
        iu = np.triu_indices(len(names), 1)
        key = {(names[i], names[j]): k for k, (i, j) in enumerate(zip(*iu, strict=True))}
        cols = [key[(a, b)] for a, b in zip(edges["item1"], edges["item2"], strict=True)]
        d = boot["edges"][:, cols]
        _, lo, hi = bootstrap_interval(edges["weight"].to_numpy(), d,
                                       confidence_level=confidence_level, method=ci_method,
                                       axis=0, bounds=(-1.0, 1.0))
        edges["ci_low"], edges["ci_high"] = lo, hi
        with np.errstate(invalid="ignore"):
            edges["inclusion"] = np.nanmean(np.where(np.isfinite(d), np.abs(d) > 0, np.nan),
                                            axis=0)
    lam = est["lambdas"]
    sel = int(est["selected"])
    path = pd.DataFrame({"lambda": lam, "ebic": est["ebic"], "edges": est["edges"],
                         "selected": np.arange(lam.size) == sel})
    if warn_dense and _MSG_DENSE in notes:  # qgraph warns; NCT silences it (a note here)
        warn(_MSG_DENSE)
    settings = {"corr": inp.corr_kind, "gamma": float(gamma), "threshold": bool(threshold),
                "refit": bool(refit), "nlambda": int(nlambda),
                "lambda_min_ratio": float(lambda_min_ratio), "pd_repair": pd_repair,
                "thr": 1e-4, "maxit": 10_000, "n_boot": int(n_boot),
                "confidence_level": float(confidence_level), "ci_method": ci_method,
                "seed": seed_int}
    idx = pd.Index(names)
    return NetworkResult(
        network=pd.DataFrame(net, index=idx, columns=idx),
        precision=pd.DataFrame(est["precision"], index=idx, columns=idx),
        correlation=pd.DataFrame(est["correlation"], index=idx, columns=idx),
        lambda_=float(lam[sel]) if sel >= 0 else float("nan"), path=path, edges=edges,
        centrality=cent, n=float(inp.n), item_names=tuple(names), bootstrap=_frozen(boot),
        settings=settings, notes=tuple(dict.fromkeys(list(inp.notes) + notes + cnotes)))


@with_x64
def network(data, *, corr: str = "auto", n=None, items=None, gamma: float = 0.5,
            threshold: bool = False, refit: bool = False, nlambda: int = 100,
            lambda_min_ratio: float = 0.01, pd_repair: str | None = None, n_boot: int = 0,
            confidence_level: float = 0.95, ci_method: str = "percentile",
            seed=None) -> NetworkResult:
    """A psychometric network (Gaussian graphical model) estimated as qgraph's EBICglasso.

    Parameters
    ----------
    data : Survey, DataFrame, 2-D array, PolychoricResult or correlation matrix
        Respondents x items answers (a :class:`~popaudit.Survey`, or numbers with NaN for
        missing), a :class:`~popaudit.PolychoricResult`, or a correlation matrix (array or
        DataFrame) together with ``n``.
    corr : {"auto", "polychoric", "pearson"}
        Correlations of raw data. ``"auto"``: polychoric for a Survey (its items are
        ordinal or binary) and for columns that are integer-valued with at most 7 distinct
        values (qgraph's ``cor_auto`` rule), Pearson otherwise; the choice is in
        ``notes``. ``"pearson"`` is NCT's and bootnet's default. Pairwise deletion.
    n : float, optional
        Sample size for the EBIC; required with a correlation matrix. From data: the mean
        number of respondents answering each pair (``nrow`` for complete data).
    items : list of str, optional
        Items to use (default all).
    gamma : float
        EBIC hyperparameter (qgraph's default 0.5).
    threshold : bool
        qgraph's ``threshold = TRUE``: precision entries below ``log(p (p-1)/2) / sqrt(n)``
        in absolute value are set to zero before the EBIC.
    refit : bool
        qgraph's ``refit = TRUE``: re-estimate the selected network without penalty, absent
        edges forced to zero.
    nlambda, lambda_min_ratio : int, float
        The penalty grid (qgraph's 100 and 0.01).
    pd_repair : {None, "nearest"}
        A correlation matrix with a negative eigenvalue is an error (as in qgraph);
        ``"nearest"`` replaces it by the nearest correlation matrix (``Matrix::nearPD``).
    n_boot : int
        Bootstrap networks (respondents resampled) for percentile edge intervals and the
        inclusion frequency of each edge (bootnet's nonparametric bootstrap). Needs data.
    confidence_level, ci_method : float, str
        Of the bootstrap edge intervals (``"percentile"``, ``"basic"`` or ``"shifted"``).
    seed : int, numpy.random.Generator or None
        For the bootstrap.

    Returns
    -------
    NetworkResult

    Notes
    -----
    Graphical lasso path as R ``glasso``/``glassopath`` (Friedman, Hastie and Tibshirani
    2008; the same block coordinate descent and stopping rule, see
    :mod:`popaudit._kernels.glasso`), EBIC selection as qgraph (Foygel and Drton 2010;
    Epskamp and Fried 2018). Centralities with qgraph's conventions: strength
    ``sum_j |w_ij|``, expected influence ``sum_j w_ij``, closeness ``1 / sum_j d_ij`` and
    betweenness on shortest paths with edge length ``1/|w|`` (networkx; unnormalised;
    equal to qgraph's ``centrality_auto``). Closeness of a disconnected network is
    computed in its largest component and NaN elsewhere (a note says so).

    Examples
    --------
    >>> import numpy as np
    >>> import popaudit as pa
    >>> rng = np.random.default_rng(0)
    >>> K = np.eye(5) + np.diag([-.4] * 4, 1) + np.diag([-.4] * 4, -1)   # a chain
    >>> x = rng.multivariate_normal(np.zeros(5), np.linalg.inv(K), size=500)
    >>> res = pa.network(x, corr="pearson")
    >>> res.n_edges >= 4, res.network.shape
    (True, (5, 5))
    >>> res.centrality.columns.tolist()
    ['strength', 'expected_influence', 'closeness', 'betweenness']
    """
    inp = _prepare(data, corr=corr, n=n, items=items)
    _check_sizes(inp)
    if gamma < 0:
        raise ValueError(f"gamma must be >= 0, got {gamma}")
    if n_boot and not inp.has_data:
        raise ValueError("n_boot needs the data (a Survey or answers), not a correlation matrix")
    rng, seed_int = resolve_seed(seed)
    return _network_result(inp, gamma=gamma, threshold=threshold, refit=refit, nlambda=nlambda,
                           lambda_min_ratio=lambda_min_ratio, pd_repair=pd_repair,
                           n_boot=n_boot, confidence_level=confidence_level,
                           ci_method=ci_method, rng=rng, seed_int=seed_int)


# ============================================================================================
# the Network Comparison Test
# ============================================================================================
_DIRECTIONS = {"max_edge_difference": DISTANCE, "global_strength_difference": DISTANCE,
               "edge_correlation": SIMILARITY, "edge_jaccard": SIMILARITY,
               "edge_sensitivity": SIMILARITY, "edge_specificity": SIMILARITY,
               "strength_correlation": SIMILARITY, "global_strength_gold": "descriptor",
               "global_strength_simulated": "descriptor", "density_gold": "descriptor",
               "density_simulated": "descriptor"}
_STAT_ORDER = list(_DIRECTIONS)


def _pair_statistics(g: np.ndarray, s: np.ndarray, *, abs_strength: bool = True) -> dict:
    """Network statistics of gold (..., p, p) against simulated (..., p, p), vectorised."""
    p = g.shape[-1]
    iu = np.triu_indices(p, 1)
    wg, ws = g[..., iu[0], iu[1]], s[..., iu[0], iu[1]]
    eg, es = wg != 0, ws != 0
    f = np.abs if abs_strength else (lambda a: a)
    gs_g, gs_s = f(wg).sum(-1), f(ws).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        def corr(a, b):
            a = a - a.mean(-1, keepdims=True)
            b = b - b.mean(-1, keepdims=True)
            return (a * b).sum(-1) / np.sqrt((a * a).sum(-1) * (b * b).sum(-1))

        union = (eg | es).sum(-1)
        out = {
            "max_edge_difference": np.abs(wg - ws).max(-1),
            "global_strength_difference": np.abs(gs_g - gs_s),
            "edge_correlation": corr(wg, ws),
            "edge_jaccard": np.where(union > 0, (eg & es).sum(-1) / union, np.nan),
            "edge_sensitivity": (eg & es).sum(-1) / eg.sum(-1),
            "edge_specificity": (~eg & ~es).sum(-1) / (~eg).sum(-1),
            "strength_correlation": corr(np.abs(g).sum(-1), np.abs(s).sum(-1)),
            "global_strength_gold": gs_g, "global_strength_simulated": gs_s,
            "density_gold": eg.mean(-1), "density_simulated": es.mean(-1),
        }
    return {k: np.asarray(v, dtype=float) for k, v in out.items()}


def _shrunk_correlation(g: np.ndarray, d1: np.ndarray, d2: np.ndarray) -> np.ndarray:
    """Correlations of ``c + d1`` with ``c + d2`` (draws x k), ``c`` = g with its spread
    shrunk by the noise the draws share: ``c = mean(g) + lam (g - mean(g))``,
    ``lam^2 = max(0, 1 - mean_k Var(d1_k) / Var_k(g_k))``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        noise = float(np.mean(np.var(d1, axis=0)))
        spread = float(np.var(g))
        lam = math.sqrt(max(0.0, 1.0 - noise / spread)) if spread > 0 else 0.0
        c = g.mean() + lam * (g - g.mean())
        a, b = c + d1, c + d2
        a = a - a.mean(-1, keepdims=True)
        b = b - b.mean(-1, keepdims=True)
        return (a * b).sum(-1) / np.sqrt((a * a).sum(-1) * (b * b).sum(-1))


def _pattern_floor(g: np.ndarray, fg: np.ndarray, fs: np.ndarray) -> dict:
    """Floor draws of edge_correlation and strength_correlation without gold's own noise.

    Both floor networks come from gold's data, ``g + e1`` and ``g + e2``, so they share
    gold's sampling noise, which two independent samples would not: their correlation
    across edges (or nodes) would be too high and the floor too strict. As the structure
    component does, the shared part is replaced by ``g`` with its spread shrunk by the
    noise variance (distances depend on ``e2 - e1`` only and need no change; Jaccard,
    sensitivity and specificity, which count exact zeros, keep the plain draws).
    """
    p = g.shape[-1]
    iu = np.triu_indices(p, 1)
    gu = g[iu]
    out = {"edge_correlation": _shrunk_correlation(gu, fg[:, iu[0], iu[1]] - gu,
                                                   fs[:, iu[0], iu[1]] - gu)}
    sg = np.abs(g).sum(-1)
    out["strength_correlation"] = _shrunk_correlation(sg, np.abs(fg).sum(-1) - sg,
                                                      np.abs(fs).sum(-1) - sg)
    return out


def _permutation_weights(rng, n1: int, n2: int, n_perm: int, paired: bool) -> np.ndarray:
    """(n_perm, n1 + n2) 0/1 group-1 memberships of the pooled rows (gold rows first).

    Unpaired: a random n1-subset of the pooled rows (NCT's ``sample(1:(n1+n2), n1)``);
    paired: each pair (row i of both groups) swapped with probability 1/2.
    """
    N = n1 + n2
    if paired:
        swap = rng.random((n_perm, n1)) < 0.5
        return np.concatenate([~swap, swap], axis=1).astype(float)
    keys = rng.random((n_perm, N))
    ranks = np.argsort(np.argsort(keys, axis=1), axis=1)
    return (ranks < n1).astype(float)


def _weights_from_perms(perms: np.ndarray, N: int) -> np.ndarray:
    """0/1 group-1 weights (B, N) from index draws (B, n1), 0-based."""
    w = np.zeros((perms.shape[0], N))
    w[np.arange(perms.shape[0])[:, None], perms] = 1.0
    return w


@dataclass(frozen=True, repr=False)
class NetworkComparison:
    """Network Comparison Test of a gold and a simulated population, with noise floors.

    Attributes
    ----------
    gold, simulated : NetworkResult
        The two networks.
    statistics : DataFrame
        One row per statistic: ``statistic``, ``direction``, ``value``, ``p_value`` (the
        permutation test, for ``max_edge_difference`` and ``global_strength_difference``),
        ``estimate``, ``ci_low``, ``ci_high`` (bootstrap), and the noise floor columns
        (``floor_median``, ``floor_low``, ``floor_high``, ``floor_percentile``,
        ``floor_p``, ``beyond_floor``).
    edges : DataFrame or None
        With ``edges=True``: per pair weight_gold, weight_simulated, difference
        (gold - simulated), abs_difference, p_value, p_adjusted.
    centrality : DataFrame or None
        With ``centrality=True``: per node and measure gold, simulated, difference,
        p_value, p_adjusted.
    permutations, floor, bootstrap : mapping of str to ndarray
        The draws: permutation statistics (``max_edge_difference``,
        ``global_strength_difference``, ``edges`` (n_perm, n_pairs), ``centrality``
        (n_perm, p, n_measures)), noise-floor and bootstrap statistics.
    settings : dict
    notes : tuple of str
    """

    gold: NetworkResult
    simulated: NetworkResult
    statistics: pd.DataFrame
    edges: pd.DataFrame | None
    centrality: pd.DataFrame | None
    permutations: Mapping = field(default_factory=lambda: _frozen({}))
    floor: Mapping = field(default_factory=lambda: _frozen({}))
    bootstrap: Mapping = field(default_factory=lambda: _frozen({}))
    settings: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def statistic(self, name: str) -> pd.Series:
        """The row of one statistic; a ``KeyError`` lists the available ones."""
        hit = self.statistics[self.statistics["statistic"] == name]
        if hit.empty:
            raise KeyError(f"no statistic {name!r}; available: "
                           f"{self.statistics['statistic'].tolist()}")
        return hit.iloc[0]

    @property
    def pvalue(self) -> float:
        """p-value of network structure invariance (NCT's M test)."""
        return float(self.statistic("max_edge_difference")["p_value"])

    def to_frame(self) -> pd.DataFrame:
        """The statistics table (one row per statistic)."""
        return self.statistics.copy()

    def __repr__(self) -> str:
        s = self.settings
        lines = [(f"NetworkComparison({len(self.gold.item_names)} items, n_perm = "
                  f"{s.get('n_perm')}, corr = {s.get('corr')!r}, paired = {s.get('paired')})"),
                 f"  edges: gold {self.gold.n_edges}, simulated {self.simulated.n_edges}"]
        for name in ("max_edge_difference", "global_strength_difference", "edge_correlation",
                     "edge_jaccard", "strength_correlation"):
            r = self.statistic(name)
            extra = ""
            if np.isfinite(r["p_value"]):
                extra += f", p = {r['p_value']:.4g}"
            if np.isfinite(r["floor_median"]):
                extra += (f", floor median {r['floor_median']:.3g}"
                          f" ({'beyond' if r['beyond_floor'] else 'within'} floor)")
            lines.append(f"  {name}: {r['value']:.4g}{extra}")
        for nt in self.notes:
            lines.append(f"  note: {nt}")
        return "\n".join(lines)


def _prepare_pair(gold, simulated, *, corr: str, items) -> tuple[_Input, _Input, _Input]:
    """Prepared gold, simulated and pooled (gold rows first) input with one coding.

    Surveys must be compatible (same items, codes and kinds). Raw data are coded jointly,
    so a category missing from one population keeps the same index in both.
    """
    if isinstance(gold, Survey) != isinstance(simulated, Survey):
        raise TypeError("gold and simulated must both be Surveys or both raw answers")
    if isinstance(gold, Survey):
        from popaudit.data.survey import check_compatible

        check_compatible(gold, simulated)
        names = list(items) if items is not None else list(gold.item_names)
        g_in = _from_survey(gold, corr, names)
        s_in = _from_survey(simulated, corr, names)
    else:
        dg = gold if isinstance(gold, pd.DataFrame) else pd.DataFrame(
            np.asarray(gold), columns=[f"V{i + 1}" for i in range(np.asarray(gold).shape[1])])
        ds = simulated if isinstance(simulated, pd.DataFrame) else pd.DataFrame(
            np.asarray(simulated), columns=list(dg.columns))
        if items is not None:
            dg, ds = dg[list(items)], ds[list(items)]
        if list(ds.columns) != list(dg.columns):
            raise ValueError(f"gold and simulated must have the same columns; gold has "
                             f"{list(dg.columns)[:10]}, simulated {list(ds.columns)[:10]}")
        both = _from_raw(pd.concat([dg, ds], ignore_index=True), corr, None)
        n1 = len(dg)
        g_in, s_in = (_split(both, sl) for sl in (slice(0, n1), slice(n1, None)))
    if g_in.corr_kind != s_in.corr_kind:  # pragma: no cover - same rule on both
        raise ValueError("gold and simulated would use different correlations; pass corr=")
    if g_in.corr_kind == "polychoric":
        pooled = _Input(names=g_in.names, corr_kind="polychoric", corr=g_in.corr, n=g_in.n,
                        codes=np.concatenate([g_in.codes, s_in.codes]))
    else:
        pooled = _Input(names=g_in.names, corr_kind="pearson", corr=g_in.corr, n=g_in.n,
                        values=np.concatenate([g_in.values, s_in.values]))
    if g_in.weights is not None or s_in.weights is not None:
        wg = np.ones(g_in.n_rows) if g_in.weights is None else g_in.weights
        ws = np.ones(s_in.n_rows) if s_in.weights is None else s_in.weights
        pooled.weights = np.concatenate([wg, ws])
    return g_in, s_in, pooled


def _split(both: _Input, rows: slice) -> _Input:
    """One population's input from jointly coded raw data."""
    if both.corr_kind == "polychoric":
        from popaudit.structure.polychoric import polychoric

        codes = both.codes[rows]
        miss = codes < 0
        _check_items_vary(codes, both.names, miss)
        _check_pairs(~miss, both.names)
        r = polychoric(codes, on_insufficient="raise").corr.to_numpy()
        return _Input(names=both.names, corr_kind="polychoric", corr=r,
                      n=_mean_pairwise(~miss), codes=codes, notes=list(both.notes))
    x = both.values[rows]
    miss = ~np.isfinite(x)
    _check_items_vary(np.where(miss, 0, x), both.names, miss)
    _check_pairs(~miss, both.names)
    return _Input(names=both.names, corr_kind="pearson", corr=_pearson(x),
                  n=_mean_pairwise(~miss), values=x, notes=list(both.notes))


def _as_measures(centrality_measures) -> tuple[str, ...]:
    ms = tuple(centrality_measures)
    bad = [m for m in ms if m not in MEASURES]
    if bad:
        raise ValueError(f"unknown centrality measure(s) {bad}; choose from {list(MEASURES)}")
    return ms


def _normalise_adjust(method: str) -> str:
    m = str(method).lower()
    return {"fdr": "bh", "benjamini-hochberg": "bh"}.get(m, m)


@with_x64
def compare_networks(gold, simulated, *, corr: str = "auto", items=None, n_perm: int = 1000,
                     gamma: float = 0.5, paired: bool = False, edges: bool = False,
                     centrality: bool = False,
                     centrality_measures=("strength", "expected_influence"),
                     p_adjust: str = "holm", abs_strength: bool = True, weighted: bool = True,
                     pd_repair: str | None = "nearest", n_null: int = 0,
                     floor: str = "independent", n_boot: int = 0,
                     confidence_level: float = 0.95, ci_method: str = "percentile",
                     seed=None, permutations=None, cache=None) -> NetworkComparison:
    """Network Comparison Test (van Borkulo et al. 2023) of gold against simulated.

    Parameters
    ----------
    gold, simulated : Survey, DataFrame or 2-D array
        The two populations' answers (same items).
    corr : {"auto", "polychoric", "pearson"}
        As in :func:`network`. NCT's default estimator is Pearson; ``"auto"`` uses
        polychoric correlations for ordinal and binary items (NCT's ``cor_auto`` variant),
        with permuted group labels passed to :func:`~popaudit.polychoric_batch` as weights.
    items : list of str, optional
    n_perm : int
        Permutations (NCT's ``it``); 0 skips the test (p-values NaN) and keeps the other
        statistics, floors and intervals.
    gamma : float
        EBIC hyperparameter.
    paired : bool
        Dependent samples (the same respondents twice, rows aligned): each pair's labels
        are swapped with probability 1/2.
    edges : bool
        Test every edge: ``|w_gold - w_sim|`` against its permutation distribution.
    centrality : bool
        Test centrality differences (``centrality_measures``: ``strength``,
        ``expected_influence``, ``closeness``, ``betweenness``) per node.
    p_adjust : str
        Multiple-testing adjustment of the edge and of the centrality p-values
        (``"holm"``, ``"bonferroni"``, ``"bh"``, ``"by"``, ``"none"``; NCT's default is
        ``"none"``).
    abs_strength : bool
        Global strength on absolute weights (NCT's ``abs = TRUE``) or raw (global expected
        influence).
    weighted : bool
        Compare weighted networks (default) or their 0/1 edge patterns (NCT's
        ``weighted``).
    pd_repair : {"nearest", None}
        NCT projects every correlation matrix onto the nearest positive definite one
        (``make.positive.definite = TRUE``); here only the matrices that are not positive
        definite are replaced (for the others R's projection changes nothing but
        rounding). ``None``: such a matrix is an error (observed) or a dropped
        permutation.
    n_null : int
        Noise-floor draws for every statistic: what two real samples of gold's population
        give (see ``floor``).
    floor : {"independent", "resample"}
        ``"independent"`` (default): a floor draw compares the networks of a bootstrap
        replicate of gold (gold's size) and of an independent resample of gold of the
        simulated size, so both sides carry sampling noise as two real samples would (the
        structure component's default). ``"resample"``: gold's own network against the
        resample's, which omits gold's noise and is too tight unless gold is much larger.
        Both sides come from the same data, so similarities (edge correlation, Jaccard)
        are a little higher in the floor than between two independent samples.
    n_boot : int
        Bootstrap draws (both populations resampled) for intervals of the statistics.
    confidence_level, ci_method : float, str
    seed : int, numpy.random.Generator or None
    permutations : int array (n_perm, n_gold), optional
        Group-1 row indices of each permutation (0-based, pooled rows gold first), e.g. R's
        ``sample()`` draws exported from NCT, to reproduce its test exactly. Overrides
        ``n_perm``.
    cache : dict, optional
        A dict shared by comparisons of one gold with several simulated populations
        (:func:`popaudit.audit` passes one): the noise-floor networks depend only on gold,
        the simulated size, ``n_null``, ``floor``, the network options and the seed, so they
        are estimated once per such key and reused; the numbers are those of a call without
        it.

    Returns
    -------
    NetworkComparison

    Notes
    -----
    Statistics, named by meaning (NCT's letters in brackets): ``max_edge_difference``
    (network structure invariance M, ``max |w_gold - w_sim|``), ``global_strength_difference``
    (global strength invariance S, ``|sum |w_gold| - sum |w_sim||``), edge differences (E)
    and centrality differences (C). p-values are ``(#{permuted >= observed} + 1) /
    (n_perm + 1)`` (centrality: absolute values). As in NCT, an edge absent from both
    networks gets p = 1.

    Beyond NCT, for an audit table: ``edge_correlation`` (Pearson r of the edge weights),
    ``edge_jaccard`` (of the edge sets), ``edge_sensitivity`` and ``edge_specificity``
    (gold's edges and non-edges recovered), ``strength_correlation``; with ``n_null`` the
    noise floor of each; with ``n_boot`` bootstrap intervals.

    Every permutation network is a full EBICglasso path; they run in batches through the
    glasso kernel (one thread per core). The permutations are drawn from ``seed``.

    Examples
    --------
    >>> import numpy as np
    >>> import popaudit as pa
    >>> rng = np.random.default_rng(0)
    >>> K = np.eye(4) + np.diag([-.4] * 3, 1) + np.diag([-.4] * 3, -1)
    >>> a = rng.multivariate_normal(np.zeros(4), np.linalg.inv(K), size=300)
    >>> b = rng.multivariate_normal(np.zeros(4), np.linalg.inv(K), size=300)
    >>> res = pa.compare_networks(a, b, corr="pearson", n_perm=20, seed=1)
    >>> 0 < res.pvalue <= 1
    True
    """
    measures = _as_measures(centrality_measures)
    p_adjust = _normalise_adjust(p_adjust)
    if floor not in ("independent", "resample"):
        raise ValueError(f"floor must be 'independent' or 'resample', got {floor!r}")
    if p_adjust not in ("holm", "bonferroni", "bh", "by", "none", "fdr_bh", "fdr_by"):
        raise ValueError(f"p_adjust must be 'holm', 'bonferroni', 'bh', 'by' or 'none', got "
                         f"{p_adjust!r}")
    g_in, s_in, pooled = _prepare_pair(gold, simulated, corr=corr, items=items)
    _check_sizes(g_in, "gold")
    _check_sizes(s_in, "simulated")
    n1, n2 = g_in.n_rows, s_in.n_rows
    if paired and n1 != n2:
        raise ValueError(f"paired=True needs the same respondents in both (rows aligned); "
                         f"gold has {n1} rows, simulated {n2}")
    rng, seed_int = resolve_seed(seed)
    # one stream per kind of draw: the floor's draws do not depend on how many
    # permutations came before them, so they can be shared between comparisons (cache)
    rng_perm, rng_floor, rng_boot = spawn(seed_int, 3)
    opts = {"gamma": gamma, "threshold": False, "refit": False, "nlambda": 100,
            "lambda_min_ratio": 0.01}
    notes = list(dict.fromkeys(g_in.notes + s_in.notes))
    # observed networks
    common = {"gamma": gamma, "threshold": False, "refit": False, "nlambda": 100,
              "lambda_min_ratio": 0.01, "pd_repair": pd_repair, "n_boot": 0,
              "confidence_level": confidence_level, "ci_method": ci_method, "rng": rng,
              "seed_int": seed_int, "warn_dense": False}
    res_g = _network_result(g_in, **common, what="gold's correlation matrix")
    res_s = _network_result(s_in, **common, what="the simulated correlation matrix")
    names = list(g_in.names)
    ng = _prep(res_g.network.to_numpy(), weighted)
    ns = _prep(res_s.network.to_numpy(), weighted)
    obs = _pair_statistics(ng, ns, abs_strength=abs_strength)
    # permutations: group-1 weights over the pooled rows
    if permutations is not None:
        perms = np.asarray(permutations, dtype=int)
        if perms.ndim != 2 or perms.shape[1] != n1:
            raise ValueError(f"permutations must be (n_perm, {n1}) row indices")
        w1 = _weights_from_perms(perms, n1 + n2)
    else:
        w1 = _permutation_weights(rng_perm, n1, n2, int(n_perm), paired)
    p1, p2 = _permuted_networks(pooled, w1, opts, pd_repair, weighted, notes)
    n_valid = p1.shape[0]
    perm_stats = _pair_statistics(p1, p2, abs_strength=abs_strength)
    perm_draws = {k: perm_stats[k] for k in ("max_edge_difference",
                                              "global_strength_difference")}
    pvals = {k: float(resampling_pvalue(np.sum(v >= obs[k]), n_valid)) if n_valid else np.nan
             for k, v in perm_draws.items()}
    edge_tab = cent_tab = None
    if edges:
        edge_tab, perm_draws["edges"] = _edge_tests(ng, ns, p1, p2, names, p_adjust)
    if centrality:
        cent_tab, perm_draws["centrality"] = _centrality_tests(ng, ns, p1, p2, names, measures,
                                                               p_adjust)
    floor_draws = {}
    if n_null:
        floor_draws = _floor_draws(g_in, ng, n2, n_null=int(n_null), floor=floor, opts=opts,
                                   rng=rng_floor, seed_int=seed_int, cache=cache,
                                   weighted=weighted, abs_strength=abs_strength, notes=notes)
    boot_draws = {}
    if n_boot:
        bg = _networks_of(g_in, _rs.bootstrap_counts(rng_boot, n1, int(n_boot)), **opts,
                          pd_repair="nearest")[0]
        bs = _networks_of(s_in, _rs.bootstrap_counts(rng_boot, n2, int(n_boot)), **opts,
                          pd_repair="nearest")[0]
        bok = _finite_networks(bg) & _finite_networks(bs)
        boot_draws = _pair_statistics(_prep(bg[bok], weighted), _prep(bs[bok], weighted),
                                      abs_strength=abs_strength)
    stats_tab = _statistics_table(obs, pvals, boot_draws, floor_draws, confidence_level,
                                  ci_method)
    for nm, r in (("gold", res_g), ("simulated", res_s)):
        if r.n_edges == 0:
            notes.append(f"the {nm} network is empty (EBIC selected no edge)")
    if not np.isfinite(obs["edge_correlation"]):
        notes.append("edge_correlation is undefined: a network without edges has no variance "
                     "in its weights")
    settings = {"corr": pooled.corr_kind, "n_perm": int(w1.shape[0]), "gamma": float(gamma),
                "paired": bool(paired), "edges": bool(edges), "centrality": bool(centrality),
                "centrality_measures": list(measures), "p_adjust": p_adjust,
                "abs_strength": bool(abs_strength), "weighted": bool(weighted),
                "pd_repair": pd_repair, "n_null": int(n_null), "floor": floor,
                "n_boot": int(n_boot),
                "confidence_level": float(confidence_level), "ci_method": ci_method,
                "seed": seed_int, "n_gold": int(n1), "n_simulated": int(n2),
                "permutations_given": permutations is not None}
    return NetworkComparison(
        gold=res_g, simulated=res_s, statistics=stats_tab, edges=edge_tab, centrality=cent_tab,
        permutations=_frozen(perm_draws), floor=_frozen(floor_draws),
        bootstrap=_frozen(boot_draws), settings=settings,
        notes=tuple(dict.fromkeys(notes + list(res_g.notes) + list(res_s.notes))))


# the steps of compare_networks ---------------------------------------------------------------
#: What the floor calibration (docs/networks.md, 200 pairs of samples of one population)
#: found; every comparison with noise floors carries it.
FLOOR_CALIBRATION_NOTE = (
    "calibration (docs/networks.md): the floors of max_edge_difference and "
    "global_strength_difference hold their level (0.5-6 % of same-population pairs beyond at "
    "the nominal 5 %); those of the edge-pattern statistics (edge_correlation, edge_jaccard, "
    "edge_sensitivity, edge_specificity) are too strict on survey-like data (10-22 % beyond): "
    "read them beside the headline, not alone")
def _prep(nets: np.ndarray, weighted: bool) -> np.ndarray:
    """Weighted networks as they are, or their edge patterns (``weighted=False``)."""
    return nets if weighted else (nets != 0).astype(float)


def _finite_networks(nets: np.ndarray) -> np.ndarray:
    """(B,) True where a network of the stack could be estimated (no NaN)."""
    return np.all(np.isfinite(nets), axis=(1, 2))


def _permuted_networks(pooled: _Input, w1: np.ndarray, opts: dict, pd_repair, weighted: bool,
                       notes: list) -> tuple[np.ndarray, np.ndarray]:
    """The two groups' networks of every permutation that could be estimated (with notes)."""
    n_perm = w1.shape[0]
    p = len(pooled.names)
    if not n_perm:  # n_perm=0: no test, the other statistics only (p-values NaN)
        return np.empty((0, p, p)), np.empty((0, p, p))
    nets, failed, repaired = _networks_of(pooled, np.concatenate([w1, 1.0 - w1]), **opts,
                                          pd_repair=pd_repair)
    p1, p2 = _prep(nets[:n_perm], weighted), _prep(nets[n_perm:], weighted)
    ok = _finite_networks(p1) & _finite_networks(p2)
    if failed:
        notes.append(f"{int((~ok).sum())} of {n_perm} permutations gave a group whose "
                     "correlation matrix could not be estimated and were left out of the "
                     "p-values")
    if repaired:
        notes.append(f"{repaired} permuted correlation matrices were not positive definite "
                     "and were replaced by the nearest correlation matrix (NCT's "
                     "make.positive.definite)")
    return p1[ok], p2[ok]


def _edge_tests(ng, ns, p1, p2, names, p_adjust) -> tuple[pd.DataFrame, np.ndarray]:
    """NCT's edge invariance tests: ``|w_gold - w_sim|`` per edge against its permutations."""
    iu = np.triu_indices(len(names), 1)
    n_valid = p1.shape[0]
    d_obs = np.abs(ng - ns)[iu]
    d_perm = np.abs(p1 - p2)[:, iu[0], iu[1]]
    pe = (resampling_pvalue(np.sum(d_perm >= d_obs[None, :], axis=0), n_valid) if n_valid
          else np.full(d_obs.shape, np.nan))
    table = pd.DataFrame({"item1": [names[i] for i in iu[0]],
                          "item2": [names[j] for j in iu[1]],
                          "weight_gold": ng[iu], "weight_simulated": ns[iu],
                          "difference": ng[iu] - ns[iu], "abs_difference": d_obs,
                          "p_value": pe, "p_adjusted": adjust_pvalues(pe, p_adjust)})
    return table, d_perm


def _centrality_tests(ng, ns, p1, p2, names, measures, p_adjust
                      ) -> tuple[pd.DataFrame, np.ndarray]:
    """NCT's centrality invariance tests: each node's and measure's |difference| against its
    permutations, adjusted over all nodes and measures together (measure-major, as NCT)."""
    p, n_valid = len(names), p1.shape[0]
    cg = _centrality_batch(ng[None], measures, names)[0]
    cs = _centrality_batch(ns[None], measures, names)[0]
    dc_obs = cg - cs
    dc_perm = _centrality_batch(p1, measures, names) - _centrality_batch(p2, measures, names)
    with np.errstate(invalid="ignore"):
        cnt = np.sum(np.abs(dc_perm) >= np.abs(dc_obs)[None], axis=0)
    pc = resampling_pvalue(cnt, n_valid) if n_valid else np.full(dc_obs.shape, np.nan)
    pc = np.where(np.isfinite(dc_obs), pc, np.nan)
    padj = adjust_pvalues(pc.T.ravel(), p_adjust).reshape(len(measures), p).T
    table = pd.DataFrame({
        "node": np.repeat(names, len(measures)), "measure": list(measures) * p,
        "gold": cg.ravel(), "simulated": cs.ravel(), "difference": dc_obs.ravel(),
        "p_value": pc.ravel(), "p_adjusted": padj.ravel()})
    return table, dc_perm


def _floor_draws(g_in: _Input, ng: np.ndarray, n2: int, *, n_null: int, floor: str,
                 opts: dict, rng, seed_int: int, cache, weighted: bool, abs_strength: bool,
                 notes: list) -> dict:
    """Noise-floor draws of every statistic: two real samples of gold's population.

    ``floor="independent"``: a bootstrap replicate of gold (gold's size) against a resample
    of gold of the simulated size ``n2``; ``"resample"``: gold's own network against the
    resample's. The networks come from gold alone, so with a ``cache`` they are estimated
    once per (gold, ``n2``, draws, options, seed).
    """
    n1 = g_in.n_rows
    independent = floor == "independent"

    def gold_floor() -> dict:
        counts_s = _rs.multinomial_counts(rng, n2, np.ones(n1), n_null)
        fs, failed, _ = _networks_of(g_in, counts_s, **opts, pd_repair="nearest")
        out = {"simulated_size": fs, "failed": failed}
        if independent:
            counts_g = _rs.bootstrap_counts(rng, n1, n_null)
            out["gold_size"], g_failed, _ = _networks_of(g_in, counts_g, **opts,
                                                          pd_repair="nearest")
            out["failed"] += g_failed
        return out

    key = ("compare_networks/floor", fingerprint(g_in.codes, g_in.values, g_in.weights,
                                                 g_in.corr_kind, g_in.names, g_in.n),
           int(n2), n_null, floor, tuple(sorted(opts.items())), seed_int)
    fl = cached(cache, key, gold_floor)
    fs = fl["simulated_size"]
    fg = fl["gold_size"] if independent else np.broadcast_to(ng, fs.shape)
    fok = _finite_networks(fs) & _finite_networks(fg)
    fg, fs = _prep(fg[fok], weighted), _prep(fs[fok], weighted)
    draws = _pair_statistics(fg, fs, abs_strength=abs_strength)
    if independent and fok.sum() > 1:
        draws.update(_pattern_floor(ng, fg, fs))
    if fl["failed"]:
        notes.append(f"{fl['failed']} noise-floor networks could not be estimated and were "
                     "left out")
    notes.append(FLOOR_CALIBRATION_NOTE)
    return draws


def _statistics_table(obs: dict, pvals: dict, boot_draws: dict, floor_draws: dict,
                      confidence_level: float, ci_method: str) -> pd.DataFrame:
    """One row per statistic: value, permutation p-value, bootstrap interval, noise floor."""
    rows = []
    for name in _STAT_ORDER:
        direction = _DIRECTIONS[name]
        val = float(obs[name])
        row = {"statistic": name, "direction": direction, "value": val,
               "p_value": pvals.get(name, np.nan)}
        if name in boot_draws:
            bounds = None if name.startswith(("max_", "global_")) else (-1.0, 1.0)
            est, lo, hi = bootstrap_interval(val, boot_draws[name],
                                             confidence_level=confidence_level,
                                             method=ci_method, bounds=bounds)
            row.update(estimate=float(est), ci_low=float(lo), ci_high=float(hi))
        else:
            row.update(estimate=np.nan, ci_low=np.nan, ci_high=np.nan)
        row.update(floor_summary(val, floor_draws.get(name), direction, confidence_level))
        rows.append(row)
    return pd.DataFrame(rows)
