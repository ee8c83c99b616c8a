"""Reading survey files (CSV, Parquet, SPSS ``.sav``, Stata ``.dta``) into a :class:`Survey`."""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from popaudit.data.survey import WVS_MISSING_CODES, Item, Survey, _observed_codes

__all__ = ["read_survey", "read_table", "write_table"]

_FORMATS = {".csv": "csv", ".txt": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet",
            ".sav": "sav", ".zsav": "sav", ".dta": "dta"}


def _format_of(path: Path, fmt: str | None) -> str:
    if fmt is not None:
        return fmt
    suffix = path.suffix.lower()
    if suffix not in _FORMATS:
        raise ValueError(f"cannot tell the format of {path.name!r} from its suffix; pass "
                         f"format= one of {sorted(set(_FORMATS.values()))}")
    return _FORMATS[suffix]


def _need(module: str):
    try:
        return __import__(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(f"reading this format needs {module!r}: pip install 'popaudit[io]'"
                          ) from exc


def check_file(path: Path) -> None:
    """Raise a ``ValueError`` naming the file when it is empty (zero bytes)."""
    if path.stat().st_size == 0:
        raise ValueError(f"{path}: the file is empty (0 bytes); nothing to read")


def csv_header(path: Path, sep: str) -> list[str]:
    """The header of a delimited text file, checked: not empty, no duplicate column names.

    pandas renames a repeated column ``q1`` to ``q1.1``, which would then be read as an extra
    item; a repeated name is an error here, naming the duplicates and the file.
    """
    check_file(path)
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
        row = next(csv.reader(fh, delimiter=sep), None)
    if not row or all(not c.strip() for c in row):
        raise ValueError(f"{path}: the file has no header line (first line blank); nothing to "
                         "read")
    names = [c.strip() for c in row]
    dup = sorted({c for c in names if names.count(c) > 1})
    if dup:
        raise ValueError(f"{path}: duplicate column name(s) {dup} in the header; each column "
                         "must appear once (rename or drop the repeated columns)")
    return names


def check_rows(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Raise a ``ValueError`` naming the file when it has a header but no rows."""
    if len(df) == 0:
        raise ValueError(f"{path}: the file has no rows (a header with columns "
                         f"{list(df.columns)[:10]} only)")
    return df


def read_table(path: str | os.PathLike, *, format: str | None = None,
               columns: Sequence[str] | None = None
               ) -> tuple[pd.DataFrame, dict[str, dict[int, str]]]:
    """Read a data file into a DataFrame and its value labels.

    Returns
    -------
    data : DataFrame
    value_labels : dict
        ``{column: {code: label}}`` from SPSS/Stata files (empty for CSV/Parquet).

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        The file is empty, has a header but no rows, or (CSV) repeats a column name;
        the message names the file.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such survey file: {path}")
    fmt = _format_of(path, format)
    cols = list(columns) if columns is not None else None
    labels: dict[str, dict[int, str]] = {}
    check_file(path)
    if fmt in ("csv", "tsv"):
        sep = "\t" if fmt == "tsv" else ","
        csv_header(path, sep)
        df = pd.read_csv(path, sep=sep, usecols=cols)
    elif fmt == "parquet":
        _need("pyarrow")
        df = pd.read_parquet(path, columns=cols)
    elif fmt in ("sav", "dta"):
        pyreadstat = _need("pyreadstat")
        reader = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
        df, meta = reader(str(path), usecols=cols, apply_value_formats=False)
        for col, lab in (meta.variable_value_labels or {}).items():
            clean = {}
            for code, text in lab.items():
                try:
                    clean[int(float(code))] = str(text)
                except (TypeError, ValueError):
                    continue
            labels[col] = clean
    else:
        raise ValueError(f"unknown format {fmt!r}")
    if df.columns.duplicated().any():
        dup = sorted(set(df.columns[df.columns.duplicated()]))
        raise ValueError(f"{path}: duplicate column name(s) {dup}; each column must appear once")
    return check_rows(df, path), labels


def write_table(df: pd.DataFrame, path: str | os.PathLike, *, format: str | None = None,
                value_labels: dict[str, dict[int, str]] | None = None) -> Path:
    """Write a DataFrame as CSV, Parquet, SPSS ``.sav`` or Stata ``.dta`` (with value labels)."""
    path = Path(path)
    fmt = _format_of(path, format)
    if fmt in ("csv", "tsv"):
        df.to_csv(path, index=False, sep="\t" if fmt == "tsv" else ",")
    elif fmt == "parquet":
        _need("pyarrow")
        df.to_parquet(path, index=False)
    else:
        pyreadstat = _need("pyreadstat")
        labels = {k: {float(c): v for c, v in d.items()} for k, d in (value_labels or {}).items()
                  if k in df.columns}
        if fmt == "sav":
            pyreadstat.write_sav(df, str(path), variable_value_labels=labels or None)
        else:
            pyreadstat.write_dta(df, str(path), variable_value_labels=labels or None)
    return path


def item_from_values(name: str, values, value_labels: dict[int, str] | None,
                     missing_codes: Sequence[int]) -> Item:
    """An item's scale from a file: its value labels (the file's codebook) and observed codes.

    With value labels, the scale is the labelled valid codes plus any other observed code;
    without, the contiguous range of observed codes (:meth:`Item.infer`: holes are filled and
    named in a warning, never dropped).
    """
    lab = value_labels or {}
    if not lab:
        return Item.infer(name, values, missing_codes=missing_codes)
    valid_labelled = {c for c in lab if c not in missing_codes}
    try:
        observed = set(_observed_codes(name, values, missing_codes))
    except ValueError:
        if len(valid_labelled) < 2:
            raise
        observed = set()
    codes = sorted(observed | valid_labelled)
    if len(codes) < 2:
        return Item.infer(name, values, missing_codes=missing_codes)
    kind = "binary" if len(codes) == 2 else "ordinal"
    return Item(name=name, codes=tuple(codes), labels=tuple(lab.get(c, str(c)) for c in codes),
                kind=kind)


def _items_with_labels(items, data: pd.DataFrame, labels, missing_codes) -> list:
    """Resolve item specs, turning value labels into category labels."""
    out = []
    for it in items:
        if isinstance(it, Item):
            out.append(it)
            continue
        name = str(it)
        if name not in data.columns:
            raise KeyError(f"item column {name!r} not found in the file")
        out.append(item_from_values(name, data[name], labels.get(name), missing_codes))
    return out


def read_survey(path: str | os.PathLike, items=None, *, demographics: Sequence[str] | None = None,
                weights: str | None = None, format: str | None = None,
                missing_codes: Sequence[int] = WVS_MISSING_CODES, invalid_codes: Sequence = (),
                out_of_scale: str = "raise", name: str | None = None) -> Survey:
    """Read a survey file into a :class:`Survey`.

    Parameters
    ----------
    path : path-like
        A ``.csv``, ``.parquet``, ``.sav`` or ``.dta`` file.
    items : sequence of str or Item, optional
        Item columns. Names alone infer each scale from the observed codes and,
        for SPSS/Stata files, from the value labels (which become category
        labels). Pass ``gold.items`` to read a simulated population with the
        gold metadata. Default: every column that is not a demographic or the
        weight.
    demographics, weights, missing_codes, invalid_codes, out_of_scale
        As for :class:`Survey`.

    Examples
    --------
    >>> import tempfile, os
    >>> import pandas as pd
    >>> import popaudit as pa
    >>> path = os.path.join(tempfile.mkdtemp(), "toy.csv")
    >>> pd.DataFrame({"Q1": [1, 2, 3, 2], "sex": [1, 2, 1, 2]}).to_csv(path, index=False)
    >>> pa.read_survey(path, items=["Q1"], demographics=["sex"])
    Survey('toy', 4 respondents x 1 items, unweighted, demographics=['sex'])
    """
    path = Path(path)
    demographics = list(demographics or [])
    wanted = None
    if items is not None:
        names = [it.name if isinstance(it, Item) else str(it) for it in items]
        wanted = list(dict.fromkeys(names + demographics + ([weights] if weights else [])))
    data, labels = read_table(path, format=format, columns=wanted)
    if items is None:
        excluded = set(demographics) | ({weights} if weights else set())
        items = [c for c in data.columns if c not in excluded]
    resolved = _items_with_labels(items, data, labels, missing_codes)
    return Survey(data, resolved, demographics=demographics, weights=weights,
                  missing_codes=missing_codes, invalid_codes=invalid_codes,
                  out_of_scale=out_of_scale, name=name or path.stem)
