"""WVS wave 7 codebook facts shipped with popaudit (``wvs7_codebook.json``).

The JSON file holds facts only: item codes, scales, category labels,
measurement level, item-specific missing codes and each item's role in the
Inglehart-Welzel map, with the source of every entry. Question texts are
paraphrases of the public WVS-7 master questionnaire; no WVS data are shipped.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from importlib import resources

from popaudit.data.survey import Item

__all__ = [
    "IW_POLES",
    "WVS7_ITEMS",
    "codebook",
    "codebook_items",
    "official_value_labels",
]

#: Inglehart-Welzel dimensions and their poles (first = low, second = high end of the score).
IW_POLES: dict[str, tuple[str, str]] = {
    "traditional_secular": ("traditional", "secular"),
    "survival_self_expression": ("survival", "self_expression"),
}


@lru_cache(maxsize=1)
def _load() -> dict:
    text = resources.files("popaudit.data").joinpath("wvs7_codebook.json").read_text(
        encoding="utf-8")
    return json.loads(text)


def codebook() -> dict:
    """The WVS-7 codebook facts as a dictionary (a fresh copy).

    Keys: ``items`` (answered items), ``derived`` (Y002, Y003 with their
    formulas), ``demographics`` (Q260, Q261, Q262, X003R, Q275, Q275R, Q289,
    Q290 by country), ``admin`` (country codes, weights), ``missing_codes``
    and ``countries``.

    Examples
    --------
    >>> from popaudit.datasets import codebook
    >>> cb = codebook()
    >>> cb["items"]["Q154"]["labels"][1]
    'Giving people more say in important government decisions'
    >>> cb["items"]["Q254"]["missing"]
    [5]
    """
    return copy.deepcopy(_load())


#: Names of the answered items in the shipped codebook, in questionnaire order.
WVS7_ITEMS: tuple[str, ...] = tuple(sorted(_load()["items"], key=lambda q: int(q[1:])))


def _reverse(entry: dict) -> bool:
    iw = entry.get("inglehart_welzel")
    if not iw or iw.get("high_code_pole") is None:
        return False
    return iw["high_code_pole"] in ("traditional", "survival")


def _make_item(name: str, entry: dict) -> Item:
    return Item(name=name, codes=tuple(entry["codes"]), labels=tuple(entry["labels"]),
                kind=entry["kind"], missing=tuple(entry.get("missing", ())),
                text=entry.get("text") or entry.get("variable_label"), reverse=_reverse(entry))


def codebook_items(names=None, *, derived: bool = False) -> tuple[Item, ...]:
    """:class:`~popaudit.Item` metadata for WVS-7 items from the shipped codebook.

    Parameters
    ----------
    names : sequence of str, optional
        Item codes (``"Q164"``, ``"Y002"`` ...). Default: every answered item.
    derived : bool
        With ``names=None``, also return the derived indices Y002 and Y003.

    Notes
    -----
    ``Item.reverse`` is True when a higher raw code points to the traditional
    or the survival pole of the Inglehart-Welzel map (e.g. Q164, Q46, Q209,
    Q57, Q8, Q14), so that "not reversed" always means "towards secular /
    self-expression". Items outside the map are never marked reversed.

    Examples
    --------
    >>> from popaudit.datasets import codebook_items
    >>> q164, = codebook_items(["Q164"])
    >>> q164.codes[:3], q164.reverse
    ((1, 2, 3), True)
    """
    cb = _load()
    table = {**cb["items"], **cb["derived"]}
    if names is None:
        names = list(WVS7_ITEMS) + (list(cb["derived"]) if derived else [])
    out = []
    for nm in names:
        if nm not in table:
            raise KeyError(f"item {nm!r} is not in the shipped WVS-7 codebook; known items are "
                           f"{sorted(table, key=_qkey)}")
        out.append(_make_item(nm, table[nm]))
    return tuple(out)


def _qkey(name: str):
    return (name[0], int(name[1:]) if name[1:].isdigit() else 0, name)


def official_value_labels(country: str = "SGP") -> dict[str, dict[int, str]]:
    """Value labels ``{column: {code: label}}`` for the official WVS-7 layout.

    Item columns get their category labels plus the WVS missing codes
    (-1 don't know ... -5 missing) and item-specific missing codes (Q254: 5);
    demographic columns get their category labels (Q290 for ``country``).
    Suitable for :func:`popaudit.data.io.write_table`.
    """
    cb = _load()
    missing = {int(k): v for k, v in cb["missing_codes"].items()}
    labels: dict[str, dict[int, str]] = {}
    for nm, e in cb["items"].items():
        lab = dict(missing)
        lab.update({int(k): v for k, v in e.get("missing_labels", {}).items()})
        lab.update(dict(zip(e["codes"], e["labels"])))
        labels[nm] = lab
    for nm, e in cb["derived"].items():
        lab = {int(e["missing_code"]): missing[int(e["missing_code"])]}
        lab.update(dict(zip(e["codes"], e["labels"])))
        labels[nm] = lab
    for nm, e in cb["demographics"].items():
        if nm == "Q290":
            by = e["by_country"]
            if country not in by:
                raise KeyError(f"no Q290 ethnic-group codes for country {country!r} in the "
                               f"codebook; available: {sorted(by)}")
            labels[nm] = dict(zip(by[country]["codes"], by[country]["labels"]))
        elif e.get("codes") is not None:
            labels[nm] = dict(zip(e["codes"], e["labels"]))
    return labels
