"""Batched resampling helpers: count weights, splits, shuffles, Mantel permutations.

Random draws take an explicit ``numpy.random.Generator`` and return whole
batches (a leading axis of draws), so callers never loop over draws. The
arithmetic kernels are jit-compiled JAX functions of arrays; they know nothing
of surveys or item names.
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np

from popaudit._settings import memory_limit

__all__ = [
    "CountDraws",
    "all_permutations",
    "bootstrap_counts",
    "chunk_slices",
    "column_shuffles",
    "compact_bootstrap_counts",
    "compact_multinomial_counts",
    "corr_across_rows",
    "cramers_v_batch",
    "group_means",
    "half_split_masks",
    "mantel_statistics",
    "multinomial_counts",
    "random_permutations",
    "split_labels",
]


def chunk_slices(total: int, per_item: int, budget: int = 20_000_000):
    """Slices of ``range(total)`` so that ``len(slice) * per_item <= budget`` (>= 1 each)."""
    step = max(1, budget // max(per_item, 1))
    return [slice(i, min(i + step, total)) for i in range(0, total, step)]


class CountDraws:
    """Resampling weights ``(n_draws, n)`` kept compact: integer counts and one scale.

    Row ``b`` is ``counts[b] * scale`` (``scale``: None, or an ``(n,)`` vector such as
    survey weights). The counts are stored in the smallest unsigned integer type that
    holds them (a bootstrap of 200 000 respondents: one byte per count instead of eight),
    so the draws of a big resampling run fit in memory; consumers take rows in chunks.

    ``draws[i:j]`` is a lazy view (``CountDraws``); ``np.asarray(draws[i:j])`` gives the
    float64 rows; ``draws * w`` multiplies the scale. ``shape``, ``len`` and ``ndim``
    behave as for the ``(n_draws, n)`` array it stands for.
    """

    ndim = 2
    dtype = np.dtype(np.float64)

    def __init__(self, counts: np.ndarray, scale=None):
        self.counts = counts
        self.scale = None if scale is None else np.asarray(scale, dtype=np.float64)

    @property
    def shape(self) -> tuple[int, int]:
        return self.counts.shape

    @property
    def nbytes(self) -> int:
        return self.counts.nbytes + (0 if self.scale is None else self.scale.nbytes)

    def __len__(self) -> int:
        return self.counts.shape[0]

    def __getitem__(self, rows):
        if isinstance(rows, tuple):  # rows and columns: materialise the rows first
            return np.asarray(self[rows[0]])[(slice(None), *rows[1:])]
        return CountDraws(self.counts[rows], self.scale)

    def __mul__(self, other):
        other = np.asarray(other, dtype=np.float64)
        return CountDraws(self.counts, other if self.scale is None else self.scale * other)

    __rmul__ = __mul__

    def __array__(self, dtype=None, copy=None):
        out = self.counts.astype(np.float64)
        if self.scale is not None:
            out *= self.scale
        return out if dtype is None else out.astype(dtype, copy=False)

    def __repr__(self) -> str:
        return (f"CountDraws({self.shape[0]} draws x {self.shape[1]}, {self.counts.dtype}"
                f"{'' if self.scale is None else ', scaled'})")


def _compact(chunks, n_draws: int, n: int) -> np.ndarray:
    """Stack integer chunks into the smallest unsigned type that holds them (upcast on the way)."""
    out = np.empty((n_draws, n), np.uint8)
    at = 0
    for ch in chunks:
        top = int(ch.max()) if ch.size else 0
        if top > np.iinfo(out.dtype).max:
            dt = next(t for t in (np.uint16, np.uint32, np.uint64) if top <= np.iinfo(t).max)
            out = out.astype(dt)
        out[at:at + ch.shape[0]] = ch
        at += ch.shape[0]
    return out


def compact_multinomial_counts(rng: np.random.Generator, size: int, probs: np.ndarray,
                               n_draws: int, *, chunk_bytes: float = 64e6) -> CountDraws:
    """:func:`multinomial_counts` as :class:`CountDraws` (the same numbers, same stream).

    Drawn in chunks of rows (numpy's multinomial draws row after row, so the chunks are
    the rows one call would give, and the generator ends in the same state).
    """
    probs = np.asarray(probs, dtype=float)
    probs = probs / probs.sum()
    n = probs.size
    step = max(1, int(chunk_bytes // max(8 * n, 1)))
    chunks = (rng.multinomial(int(size), probs, size=min(step, int(n_draws) - i))
              for i in range(0, int(n_draws), step))
    return CountDraws(_compact(chunks, int(n_draws), n))


def compact_bootstrap_counts(rng: np.random.Generator, n: int, n_draws: int) -> CountDraws:
    """:func:`bootstrap_counts` as :class:`CountDraws` (the same numbers, same stream)."""
    return compact_multinomial_counts(rng, n, np.full(n, 1.0 / n), n_draws)


def split_labels(rng: np.random.Generator, n_total: int, n_first: int, n_draws: int, *,
                 chunk_bytes: float = 64e6) -> np.ndarray:
    """``(n_draws, n_total)`` booleans: ``n_first`` rows marked True per draw, at random.

    The same labels as ``argsort(argsort(rng.random((n_draws, n_total)))) < n_first``
    (the ``n_first`` smallest of uniform keys), drawn in chunks of rows with a partial
    sort: memory ``n_draws x n_total`` bytes instead of 24 times that.
    """
    out = np.zeros((int(n_draws), int(n_total)), bool)
    step = max(1, int(chunk_bytes // max(16 * n_total, 1)))
    for i in range(0, int(n_draws), step):  # chunks of draws (memory bound)
        keys = rng.random((min(step, int(n_draws) - i), int(n_total)))
        if 0 < n_first < n_total:
            first = np.argpartition(keys, n_first - 1, axis=1)[:, :n_first]
            np.put_along_axis(out[i:i + keys.shape[0]], first, True, axis=1)
        elif n_first >= n_total:
            out[i:i + keys.shape[0]] = True
    return out


def multinomial_counts(rng: np.random.Generator, size: int, probs: np.ndarray,
                       n_draws: int) -> np.ndarray:
    """``(n_draws, len(probs))`` float64 counts of ``size`` draws with replacement.

    Row ``b`` is one resample: respondent ``i`` appears ``counts[b, i]`` times.
    """
    probs = np.asarray(probs, dtype=float)
    probs = probs / probs.sum()
    return rng.multinomial(int(size), probs, size=int(n_draws)).astype(np.float64)


def bootstrap_counts(rng: np.random.Generator, n: int, n_draws: int) -> np.ndarray:
    """Ordinary bootstrap: ``(n_draws, n)`` counts of ``n`` uniform draws with replacement."""
    return multinomial_counts(rng, n, np.full(n, 1.0 / n), n_draws)


def half_split_masks(rng: np.random.Generator, n: int, n_draws: int) -> np.ndarray:
    """``(n_draws, n)`` booleans: a random half (``n // 2`` rows) marked True per draw."""
    keys = rng.random((int(n_draws), int(n)))
    ranks = np.argsort(np.argsort(keys, axis=1), axis=1)
    return ranks < (n // 2)


def column_shuffles(rng: np.random.Generator, matrix: np.ndarray, n_draws: int) -> np.ndarray:
    """``(n_draws, G, p)``: each column of the ``(G, p)`` matrix permuted independently."""
    g, p = matrix.shape
    order = np.argsort(rng.random((int(n_draws), g, p)), axis=1)
    return np.take_along_axis(np.broadcast_to(matrix, (int(n_draws), g, p)), order, axis=1)


def random_permutations(rng: np.random.Generator, n_perm: int, p: int) -> np.ndarray:
    """``(n_perm, p)`` independent uniform random permutations of ``0..p-1``."""
    return np.argsort(rng.random((int(n_perm), int(p))), axis=1)


def all_permutations(p: int) -> np.ndarray:
    """All ``p!`` permutations of ``0..p-1`` as rows (small ``p`` only)."""
    return np.array(list(itertools.permutations(range(p))), dtype=np.int64)


@jax.jit
def _mantel_kernel(x, bt, perms, i0, i1):
    y = bt[perms[:, i0], perms[:, i1]]
    y = y - y.mean(axis=1, keepdims=True)
    y = y / jnp.sqrt(jnp.sum(y * y, axis=1, keepdims=True))
    return y @ x


def mantel_statistics(x: np.ndarray, bt: np.ndarray, perms: np.ndarray,
                      iu: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Pearson correlation of ``x`` with ``bt[perm][:, perm]``'s upper triangle, per permutation.

    ``x`` is the ``(m,)`` upper triangle of the first matrix, ``bt`` the
    ``(p, p)`` second matrix, ``perms`` ``(P, p)``; returns ``(P,)``.
    """
    x = np.asarray(x, dtype=float)
    xc = x - x.mean()
    ss = np.sum(xc * xc)
    if not ss > 0:  # a constant first matrix: no correlation with anything (NaN, no warning)
        return np.full(perms.shape[0], np.nan)
    xs = xc / np.sqrt(ss)
    i0 = jnp.asarray(iu[0])
    i1 = jnp.asarray(iu[1])
    out = []
    for sl in chunk_slices(perms.shape[0], x.size):
        out.append(np.asarray(_mantel_kernel(jnp.asarray(xs), jnp.asarray(bt, dtype=float),
                                             jnp.asarray(perms[sl]), i0, i1)))
    return np.concatenate(out)


@jax.jit
def corr_across_rows(m):
    """Pearson correlations between columns across rows, batched: ``(B, G, p) -> (B, p, p)``.

    A column constant within a batch entry gives NaN in its row and column.
    """
    c = m - m.mean(axis=-2, keepdims=True)
    cov = jnp.einsum("bgi,bgj->bij", c, c)
    sd = jnp.sqrt(jnp.diagonal(cov, axis1=-2, axis2=-1))
    r = cov / (sd[..., :, None] * sd[..., None, :])
    p = m.shape[-1]
    eye = jnp.eye(p, dtype=bool)
    return jnp.where(eye & jnp.isfinite(r), 1.0, r)


@jax.jit
def group_means(counts, values, valid):
    """Weighted item means per draw: ``counts (B, n)``, ``values, valid (n, p)`` -> ``(B, p)``.

    ``values`` must be 0 where ``valid`` is 0; a draw with no valid answer for
    an item gives NaN.
    """
    num = counts @ (values * valid)
    den = counts @ valid
    return jnp.where(den > 0, num / jnp.where(den > 0, den, 1.0), jnp.nan)


def cramers_v_batch(weights: np.ndarray, onehot: np.ndarray, item_of_column: np.ndarray,
                    n_items: int) -> np.ndarray:
    """Cramér's V between every pair of nominal items, batched over weight vectors.

    ``weights (B, n)`` (frequency or survey weights), ``onehot (n, sum K)`` the
    category indicators (all zero where an answer is missing),
    ``item_of_column (sum K,)`` the item each indicator column belongs to. Each
    pair uses the respondents who answered both (pairwise deletion); empty
    categories do not count in ``min(rows, cols) - 1``. Returns ``(B, q, q)``
    with ones on the diagonal; a pair with fewer than two used categories on
    either side is NaN.
    """
    e = np.zeros((onehot.shape[1], n_items))
    e[np.arange(onehot.shape[1]), np.asarray(item_of_column)] = 1.0
    out = []
    # per draw: the weighted one-hot (n, K) XLA forms on the way to the tables, the
    # tables and their margins (float64), within half the memory_limit setting
    n, k = onehot.shape
    per_draw = 8 * (n * k + 4 * k * k + n)
    budget = max(1, int(memory_limit() // 2 // max(per_draw, 1)))
    for sl in chunk_slices(weights.shape[0], 1, budget):
        out.append(np.asarray(_cramers_v_kernel(jnp.asarray(weights[sl], dtype=float),
                                                jnp.asarray(onehot, dtype=float),
                                                jnp.asarray(e))))
    return np.concatenate(out)


@jax.jit
def _cramers_v_kernel(w, x, e):
    # t[b, a, c]: weighted count of category a (of one item) with category c (of another)
    t = jnp.einsum("bn,na,nc->bac", w, x, x)
    # m[b, a, k]: count of category a among respondents who answered item k,
    # i.e. the row margin of the (item(a), k) table under pairwise deletion
    m = t @ e
    # margins of cell (a, c): rows m[a, item(c)], columns m[c, item(a)]
    r = jnp.einsum("bak,ck->bac", m, e)
    c = jnp.swapaxes(r, 1, 2)
    rc = r * c
    term = jnp.where(rc > 0, t * t / jnp.where(rc > 0, rc, 1.0), 0.0)
    # sum_ab N_ab^2 / (R_a C_b) - 1 = chi^2 / N for each pair of items
    phi2 = jnp.einsum("aj,bac,ck->bjk", e, term, e) - 1.0
    used = jnp.einsum("aj,bak->bjk", e, (m > 0).astype(m.dtype))
    k = jnp.minimum(used, jnp.swapaxes(used, 1, 2))
    v = jnp.sqrt(jnp.clip(phi2, 0.0, None) / jnp.where(k > 1, k - 1.0, 1.0))
    q = e.shape[1]
    v = jnp.where(k > 1, v, jnp.nan)
    v = 0.5 * (v + jnp.swapaxes(v, 1, 2))  # exactly symmetric (summation order differs)
    return jnp.where(jnp.eye(q, dtype=bool), 1.0, v)
