"""Synthetic subgroup-level predictions with known per-subgroup accuracy and error size.

:func:`modal_predictions` writes a prediction table (one predicted answer, or a
probability vector, per subgroup x item) for the subgroups of a gold
population, hitting each subgroup's gold modal answer on a chosen share of
items and missing by a chosen ordinal distance elsewhere.
:func:`paradox_predictions` uses it to build two "methods" whose comparison
shows study A's fairness paradox by construction: the second improves mean
accuracy and mean NMAE, narrows the disparity of accuracy across subgroups and
widens the disparity of NMAE. Like the simulators, these are generators of
known truth for tests and demonstrations, not models of any language model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from popaudit.data.distributions import AnswerDistributions

__all__ = ["modal_predictions", "paradox_predictions"]


def _per_subgroup(value, labels, name: str, lo: float, hi: float) -> np.ndarray:
    if callable(value):
        out = np.array([float(value(lab)) for lab in labels])
    elif isinstance(value, Mapping):
        missing = [lab for lab in labels if lab not in value]
        if missing:
            raise KeyError(f"{name} has no value for subgroup(s) {missing[:5]}")
        out = np.array([float(value[lab]) for lab in labels])
    else:
        arr = np.asarray(value, dtype=float)
        out = np.broadcast_to(arr, (len(labels),)).astype(float) if arr.ndim <= 1 else arr
        if out.shape != (len(labels),):
            raise ValueError(f"{name} must be a scalar or one value per subgroup "
                             f"({len(labels)}), got shape {arr.shape}")
    if not np.all((out >= lo) & (out <= hi)):
        raise ValueError(f"{name} values must lie in [{lo}, {hi}]")
    return out


def modal_predictions(gold, hit_rate, miss_distance=0.5, *, seed=0,
                      shared_difficulty: bool = True, difficulty=None, kind: str = "answers",
                      temperature: float = 0.5) -> pd.DataFrame:
    """Predicted answers per subgroup x item with set accuracy and miss distance.

    Parameters
    ----------
    gold : AnswerDistributions or Subgroups
        Gold subgroup distributions (``Subgroups.gold`` is used for Subgroups).
    hit_rate : float, sequence, mapping {label: float} or callable(label) -> float
        Share of each subgroup's items whose prediction is the gold modal
        answer (the first mode in code order when gold ties).
    miss_distance : float, sequence, mapping or callable
        Target distance of a miss from the gold mode, as a share of the scale
        (``|predicted - mode| / (K - 1)``, at least one category); on short
        scales it is rounded to the nearest reachable distance (a binary miss
        is always 1). Nominal items miss to a random other option.
    seed : int or numpy.random.Generator
    shared_difficulty : bool
        True: one random item order shared by all subgroups, a subgroup hits
        the easiest ``round(hit_rate * P)`` items (so resampling items moves
        all subgroups together and each subgroup's accuracy is exact); False:
        each subgroup hits a random set of items of that size.
    difficulty : array_like, shape (P,), optional
        The shared item order (higher = harder) instead of a random one, e.g.
        the same for two methods so that the better one gets right what the
        other gets right and more.
    kind : {"answers", "probabilities"}
        One predicted answer per subgroup x item (columns ``subgroup``,
        ``item``, ``answer``), or a probability table (``subgroup``, ``item``,
        ``option``, ``probability``) with ``p_k`` proportional to
        ``exp(-|k - predicted| / temperature)`` on category positions (its mode
        is the predicted answer).
    temperature : float
        Spread of the probability table (``kind="probabilities"``).

    Returns
    -------
    DataFrame

    Examples
    --------
    >>> import pandas as pd
    >>> import popaudit as pa
    >>> items = [pa.Item("Q1", codes=(1, 2, 3, 4, 5)), pa.Item("Q2", codes=(1, 2, 3, 4, 5))]
    >>> tab = pd.DataFrame({"subgroup": ["a"] * 2, "item": ["Q1", "Q2"], "answer": [1, 2]})
    >>> gold = pa.AnswerDistributions.from_predictions(tab, items)
    >>> modal_predictions(gold, hit_rate=0.5, miss_distance=1.0, seed=0)["answer"].tolist()
    [5, 2]
    """
    if not isinstance(gold, AnswerDistributions):
        gold = getattr(gold, "gold", None)
        if not isinstance(gold, AnswerDistributions):
            raise TypeError("gold must be AnswerDistributions or Subgroups")
    if kind not in ("answers", "probabilities"):
        raise ValueError(f"kind must be 'answers' or 'probabilities', got {kind!r}")
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature!r}")
    rng = np.random.default_rng(seed)
    labels = gold.labels
    G, P = gold.n_subgroups, gold.n_items
    hits = _per_subgroup(hit_rate, labels, "hit_rate", 0.0, 1.0)
    dist = _per_subgroup(miss_distance, labels, "miss_distance", 0.0, 1.0)
    K = gold.n_categories
    kinds = np.array([it.kind for it in gold.items])
    kk = np.arange(gold.kmax)
    valid = kk[None, None, :] < K[None, :, None]
    mode = np.where(valid, gold.probs, -np.inf).argmax(axis=-1)            # (G, P)
    has = gold.has_data
    # which items each subgroup hits: the easiest round(hit * P_g) of its items
    if difficulty is not None:
        diff = np.asarray(difficulty, dtype=float)
        if diff.shape != (P,):
            raise ValueError(f"difficulty must have one value per item ({P}), got {diff.shape}")
        key = np.broadcast_to(diff, (G, P))
    else:
        key = (np.broadcast_to(rng.random(P), (G, P)) if shared_difficulty
               else rng.random((G, P)))
    key = np.where(has, key, np.inf)
    rank = np.argsort(np.argsort(key, axis=1), axis=1)
    n_hit = np.round(hits * has.sum(axis=1)).astype(np.int64)
    hit = rank < n_hit[:, None]
    # misses: a distance of round(d (K - 1)) >= 1 positions, on a side with room
    step = np.clip(np.round(dist[:, None] * (K[None, :] - 1)), 1, K[None, :] - 1).astype(np.int64)
    up_room = (K[None, :] - 1) - mode
    down_room = mode
    up_ok, down_ok = up_room >= step, down_room >= step
    go_up = np.where(up_ok & down_ok, rng.random((G, P)) < 0.5, up_ok)
    reach = np.where(up_ok | down_ok, step, np.maximum(up_room, down_room))
    go_up = np.where(up_ok | down_ok, go_up, up_room >= down_room)
    miss_pos = np.where(go_up, mode + reach, mode - reach)
    nominal = kinds == "nominal"
    if nominal.any():
        other = (mode + 1 + np.floor(rng.random((G, P)) * (K[None, :] - 1)).astype(np.int64)) \
            % K[None, :]
        miss_pos = np.where(nominal[None, :], other, miss_pos)
    pred = np.where(hit, mode, miss_pos)
    g, j = np.nonzero(has)
    codes = gold.code_matrix().astype(np.int64)
    if kind == "answers":
        return pd.DataFrame({"subgroup": np.asarray(labels, dtype=object)[g],
                             "item": np.asarray(gold.item_names, dtype=object)[j],
                             "answer": codes[j, pred[g, j]]})
    logits = -np.abs(kk[None, :] - pred[g, j][:, None]) / temperature
    w = np.where(kk[None, :] < K[j][:, None], np.exp(logits), 0.0)
    if nominal.any():  # nominal: all mass off the predicted option spread evenly
        nom = nominal[j]
        off = np.exp(-1.0 / temperature)
        flat = np.where(kk[None, :] == pred[g, j][:, None], 1.0, off)
        w[nom] = np.where(kk[None, :] < K[j][nom][:, None], flat[nom], 0.0)
    prob = w / w.sum(axis=1, keepdims=True)
    gg, kcol = np.nonzero(kk[None, :] < K[j][:, None])
    return pd.DataFrame({"subgroup": np.asarray(labels, dtype=object)[g][gg],
                         "item": np.asarray(gold.item_names, dtype=object)[j][gg],
                         "option": codes[j[gg], kcol], "probability": prob[gg, kcol]})


def paradox_predictions(subgroups, *, seed=0, minority: Callable[[str], bool] | None = None,
                        reference=None) -> dict[str, pd.DataFrame]:
    """Two prediction tables that show study A's fairness paradox by construction.

    Parameters
    ----------
    subgroups : Subgroups
        Gold subgroups (:func:`popaudit.subgroups.definition.define_subgroups`).
    seed : int or numpy.random.Generator
    minority : callable(label) -> bool, optional
        Subgroups whose remaining errors the fine-tuned method makes far off.
        Default: subgroups with fewer gold respondents than the median.
    reference : Subgroups or AnswerDistributions, optional
        Distributions whose modes the methods aim at, e.g. the same subgroups
        in a large independent sample ("a model that knows the population").
        Default: the subgroups' own gold, i.e. predictions that copy this
        sample's modes, which no real model does: resampling gold then only
        ever lowers agreement, and single-method bias corrections overshoot.

    Returns
    -------
    dict
        ``{"base": table, "fine-tuned": table}``, single predicted answers
        (columns ``subgroup``, ``item``, ``answer``).

    Notes
    -----
    ``base``: accuracy spread evenly over [0.30, 0.60] across subgroups,
    misses at ``0.27 / (1 - accuracy)`` of the scale, so that every
    subgroup's NMAE is about 0.27 (study A's base). ``fine-tuned``: accuracy
    over [0.60, 0.68] (higher mean, narrower normalised range); misses near
    (0.15 of the scale) for the majority subgroups but far (0.9) for the
    minority ones. NMAE_g is about (1 - accuracy_g) x miss distance_g (binary
    items always miss by the whole scale), so the fine-tuned method lowers
    mean NMAE while widening its spread. Both methods share one item
    difficulty order (the fine-tuned method gets right what the base gets
    right, and more), so the construction survives item
    resampling.

    Examples
    --------
    >>> import popaudit as pa
    >>> sg = pa.define_subgroups(pa.wvs_survey(pa.datasets.wvs_like_frame(n=800, seed=0)),
    ...                          ["sex", "age_group"])
    >>> sorted(paradox_predictions(sg))
    ['base', 'fine-tuned']
    """
    gold = subgroups.gold
    if reference is not None:
        ref = getattr(reference, "gold", reference)
        missing = [lab for lab in gold.labels if lab not in set(ref.labels)]
        if missing:
            raise KeyError(f"the reference lacks subgroup(s) {missing[:5]}")
        gold = ref.select(items=gold.item_names, subgroups=list(gold.labels))
    labels = list(gold.labels)
    G = len(labels)
    rng = np.random.default_rng(seed)
    s_base, s_ft, s_b2, s_f2 = rng.spawn(4)
    difficulty = rng.random(gold.n_items)
    order_b = s_base.permutation(G)
    order_f = s_ft.permutation(G)
    base_hit = np.empty(G)
    base_hit[order_b] = np.linspace(0.30, 0.60, G) if G > 1 else 0.45
    ft_hit = np.empty(G)
    ft_hit[order_f] = np.linspace(0.60, 0.68, G) if G > 1 else 0.64
    if minority is None:
        sizes = subgroups.table.set_index("subgroup").loc[labels, "n_respondents"].to_numpy()
        small = sizes < np.median(sizes)
    else:
        small = np.array([bool(minority(lab)) for lab in labels])
    ft_dist = np.where(small, 0.9, 0.15)
    base_dist = np.clip(0.27 / (1.0 - base_hit), 0.0, 1.0)   # NMAE_g ~ 0.27 in every subgroup
    return {"base": modal_predictions(gold, base_hit, base_dist, seed=s_b2,
                                      difficulty=difficulty),
            "fine-tuned": modal_predictions(gold, ft_hit, ft_dist, seed=s_f2,
                                            difficulty=difficulty)}
