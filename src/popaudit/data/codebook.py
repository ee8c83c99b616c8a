"""WVS wave 7 codebook facts shipped with popaudit (``wvs7_codebook.json``).

The JSON file holds facts only: item codes, scales, category labels,
measurement level, item-specific missing codes and each item's role in the
Inglehart-Welzel map, with the source of every entry. Question texts are
paraphrases of the public WVS-7 master questionnaire; no WVS data are shipped.
"""

from __future__ import annotations

import copy
import json
import math
from functools import lru_cache
from importlib import resources
from pathlib import Path

import pandas as pd

from popaudit.data.survey import Item

__all__ = [
    "IW_POLES",
    "WVS7_ITEMS",
    "codebook",
    "codebook_items",
    "official_value_labels",
    "read_codebook",
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


# ---------------------------------------------------------------------------
# The user's own codebook file
# ---------------------------------------------------------------------------

_CODEBOOK_FIELDS = ("codes", "labels", "kind", "missing", "text", "reverse")


def _blank(value) -> bool:
    """None or NaN (an empty cell)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def _split_list(value, *, field: str, where: str, integers: bool) -> list:
    if _blank(value):
        return []
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(";") if p.strip()]
    elif isinstance(value, list | tuple):
        parts = list(value)
    else:
        parts = [value]
    if not integers:
        return [str(p) for p in parts]
    out = []
    for p in parts:
        try:
            f = float(p)
        except (TypeError, ValueError):
            f = float("nan")
        if math.isnan(f) or f != int(f):
            raise ValueError(f"codebook {where}: {field} must be integers separated by ';', "
                             f"got {p!r}")
        out.append(int(f))
    return out


def _codebook_item(name: str, entry: dict, where: str) -> Item:
    codes = _split_list(entry.get("codes"), field="codes", where=where, integers=True)
    if not codes:
        raise ValueError(f"codebook {where}: no codes; list the valid answer codes, e.g. "
                         "'1;2;3;4'")
    labels = _split_list(entry.get("labels"), field="labels", where=where, integers=False)
    missing = _split_list(entry.get("missing"), field="missing", where=where, integers=True)
    kind = entry.get("kind")
    if _blank(kind) or str(kind).strip() == "":
        kind = "binary" if len(codes) == 2 else "ordinal"
    text = entry.get("text")
    text = None if _blank(text) else str(text)
    reverse = entry.get("reverse", False)
    if isinstance(reverse, str):
        reverse = reverse.strip().lower() in ("true", "1", "yes")
    elif _blank(reverse):
        reverse = False
    try:
        return Item(name=name, codes=tuple(codes), labels=tuple(labels) if labels else None,
                    kind=str(kind).strip(), missing=tuple(missing), text=text,
                    reverse=bool(reverse))
    except ValueError as exc:
        raise ValueError(f"codebook {where}: {exc}") from None


def read_codebook(path) -> dict[str, Item]:
    """Item scales declared in a codebook file (JSON or CSV).

    Parameters
    ----------
    path : path-like
        A ``.json`` or ``.csv`` file. **CSV**: one row per item with the
        columns ``item`` and ``codes`` and optionally ``labels``, ``kind``
        (``ordinal``, ``nominal`` or ``binary``; default ``binary`` for two
        codes, else ``ordinal``), ``missing`` (item-specific missing codes, in
        addition to the WVS codes -1..-5), ``text`` and ``reverse``; lists are
        separated by ``;`` (``1;2;3;4``). **JSON**: ``{"items": {name: entry}}``
        (the layout of the shipped WVS-7 codebook, which is itself a valid
        input), ``{name: entry}``, or a list of entries with an ``item`` key;
        an entry holds the same fields, lists as JSON arrays.

    Returns
    -------
    dict of str -> Item
        In file order; pass ``list(result.values())`` as ``items=`` to
        :func:`popaudit.read_survey`, or use ``popaudit audit --codebook``.

    Examples
    --------
    >>> import os, tempfile
    >>> from popaudit.data.codebook import read_codebook
    >>> path = os.path.join(tempfile.mkdtemp(), "codebook.csv")
    >>> with open(path, "w") as f:
    ...     _ = f.write("item,codes,labels,kind,missing\\n"
    ...                 "trust,1;2,yes;no,,\\n"
    ...                 "happy,1;2;3;4,very;rather;not very;not at all,ordinal,9\\n")
    >>> cb = read_codebook(path)
    >>> cb["happy"].codes, cb["happy"].missing, cb["trust"].kind
    ((1, 2, 3, 4), (9,), 'binary')
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such codebook file: {path}")
    suffix = path.suffix.lower()
    entries: list[tuple[str, dict, str]] = []
    if suffix == ".json":
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"codebook {path.name} is not valid JSON: {exc}") from None
        if isinstance(raw, dict) and isinstance(raw.get("items"), dict | list):
            raw = raw["items"]
        if isinstance(raw, dict):
            for name, entry in raw.items():
                if not isinstance(entry, dict):  # bad file content: the CLI expects ValueError
                    raise ValueError(  # noqa: TRY004
                        f"codebook {path.name}: entry {name!r} must be an object with 'codes' "
                        "(and optionally labels, kind, missing)")
                entries.append((str(name), entry, f"{path.name}, item {name!r}"))
        elif isinstance(raw, list):
            for i, entry in enumerate(raw):
                if not isinstance(entry, dict) or "item" not in entry:
                    raise ValueError(f"codebook {path.name}: entry {i} needs an 'item' key")
                entries.append((str(entry["item"]), entry,
                                f"{path.name}, item {entry['item']!r}"))
        else:
            raise ValueError(f"codebook {path.name}: expected an object of items or a list of "
                             "entries")
    elif suffix == ".csv":
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        table.columns = [c.strip().lower() for c in table.columns]
        needed = {"item", "codes"} - set(table.columns)
        if needed:
            raise ValueError(f"codebook {path.name} lacks the column(s) {sorted(needed)}; a "
                             f"codebook CSV has item, codes and optionally "
                             f"{', '.join(_CODEBOOK_FIELDS[1:])}")
        for i, row in enumerate(table.to_dict(orient="records")):
            entry = {k: (v if v != "" else None) for k, v in row.items()}
            entries.append((str(row["item"]).strip(), entry,
                            f"{path.name}, row {i + 2} (item {row['item']!r})"))
    else:
        raise ValueError(f"cannot read codebook {path.name!r}: use a .json or .csv file")
    out: dict[str, Item] = {}
    for name, entry, where in entries:
        if name in out:
            raise ValueError(f"codebook {where}: item declared twice")
        out[name] = _codebook_item(name, entry, where)
    if not out:
        raise ValueError(f"codebook {path.name} declares no items")
    return out
