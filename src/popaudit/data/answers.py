"""Model answers in: raw LLM answers (or token probabilities) matched against the codebook.

A simulated population starts as model output, not as a code table: a long file
(JSONL, CSV or Parquet, or a DataFrame) with one row per persona (and sample) and
item, the persona's demographic attributes, and the raw answer. :func:`read_answers`
matches each answer against the item's options and returns a :class:`ModelAnswers`,
which gives a respondent-level :class:`~popaudit.Survey` (:meth:`ModelAnswers.survey`),
subgroup distributions (:meth:`ModelAnswers.distributions`), the invalid rate per item
and subgroup, and every unmatched answer with its raw text for inspection.
:func:`read_answer_probabilities` does the same for probabilities over the options
(e.g. normalised next-token probabilities of "A", "B", ...).

How an answer is matched
------------------------
Text is compared *normalised*: Unicode-folded, case-folded, punctuation dropped
(a minus sign before a digit is kept), whitespace collapsed; ``"Rather important."``,
``"rather  IMPORTANT"`` and ``"Rather-important"`` are the same answer. For an item
with options listed in order 1..K (the item's code order, or reversed when the row
says the question was asked in reversed order), in this sequence:

1. **exact forms** — the whole answer is an option's label (``"Rather important"``);
   a listed number (``"2"``, ``"(2)"``, ``"2."``) or letter (``"B"``, ``"b)"``),
   1-based in the order *shown* (``numbers="code"`` reads numbers as item codes
   instead); a number or letter followed by a label (``"2. Rather important"``),
   which must name the same option.
2. **refusals** — no option is named and the text matches a refusal pattern
   (:data:`REFUSAL_PATTERNS`, e.g. "I don't have personal opinions", "as an AI",
   "I prefer not to answer", "don't know"): a *refusal*, a missing answer of its own
   kind (:meth:`popaudit.Survey.refusal_rate`).
3. **free text** — every option label found as a whole phrase in the text (a label
   inside a longer label found at the same place, such as "very happy" inside "not
   very happy", does not count), plus marked numbers and letters ("answer: B",
   "option 2", "(B)"). Exactly one option named: that option. Two or more: *ambiguous*,
   invalid — never guessed. None: invalid ("no option named").

Every row that is neither matched nor a refusal is *invalid*: it counts in the invalid
rate and is kept, raw text and reason, in :meth:`ModelAnswers.invalid_answers`.
An answer that is both a label of one option and the listed number of another (a
numeric label such as Q164's "2" asked in reversed order) is ambiguous too.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from popaudit.data.distributions import OVERALL, AnswerDistributions, subgroup_label
from popaudit.data.io import check_file, check_rows, csv_header
from popaudit.data.survey import INVALID, MISSING, Item, Survey

__all__ = [
    "ORDERS",
    "REFUSAL_PATTERNS",
    "ModelAnswers",
    "match_answer",
    "normalise_text",
    "read_answer_probabilities",
    "read_answers",
]

#: Values of the order column: options shown in code order, or in reversed order.
ORDERS: tuple[str, str] = ("original", "reversed")

#: Regular expressions (on normalised text) that mark a refusal when no option is named.
REFUSAL_PATTERNS: tuple[str, ...] = (
    r"\bas an? (?:ai|artificial intelligence|language model|ai language model|assistant)\b",
    (r"\bi (?:do not|dont) have (?:personal |my own |any )?(?:opinions?|views?|beliefs?|"
     r"preferences?|feelings?|experiences?)\b"),
    (r"\b(?:i|im|i m) (?:cannot|cant|can not|am unable to|unable to|am not able to|not able to|"
     r"wont|will not) (?:answer|provide|share|express|give|choose|select|pick|respond|say)\b"),
    r"\b(?:prefer|rather) not (?:to )?(?:answer|say|respond|share)\b",
    r"\b(?:decline|refuse) to (?:answer|respond)\b",
    r"^(?:refused|refuse|no answer|no response|decline|declined|n a|na|none)$",
    r"\b(?:i )?(?:do not|dont) know\b",
    r"\bno opinion\b",
)

_MARKER = re.compile(
    r"\b(?:answer|option|choice|response|select|selected|choose|chose|pick|picked)s?"
    r"(?:\s+(?:is|would be|will be))?\s+(-?\d+|[a-z])\b")
_NUMBERED = re.compile(r"^(-?\d+|[a-z])(?:\s+(.*))?$")


def normalise_text(text) -> str:
    """Answer text as compared: Unicode-folded, case-folded, punctuation removed (a minus
    before a digit kept), whitespace collapsed.

    Examples
    --------
    >>> normalise_text("  Rather   IMPORTANT. ")
    'rather important'
    >>> normalise_text("Don’t mind!"), normalise_text("-2 (obedience)")
    ('dont mind', '-2 obedience')
    """
    if text is None or (isinstance(text, float) and not np.isfinite(text)):
        return ""
    s = unicodedata.normalize("NFKD", str(text))
    s = "".join(ch for ch in s if not unicodedata.combining(ch)).casefold()
    s = re.sub(r"['’‘`´]", "", s)                      # don't -> dont
    s = re.sub(r"-(?=\d)", "\x00", s)                   # keep a minus sign before a digit
    s = re.sub(r"[^\w\s\x00]|_", " ", s)
    s = s.replace("\x00", "-")
    return re.sub(r"\s+", " ", s).strip()


@dataclass(frozen=True)
class _Options:
    """One item's options as shown: normalised labels and listed positions."""

    item: Item
    labels: tuple[str, ...]            # normalised, code order
    shown: tuple[int, ...]             # shown[i] = code index of the i-th listed option

    @classmethod
    def of(cls, item: Item, order: str) -> _Options:
        k = item.n_categories
        labels = tuple(normalise_text(x) for x in (item.labels or tuple(str(c) for c in
                                                                          item.codes)))
        shown = tuple(range(k)) if order == "original" else tuple(range(k - 1, -1, -1))
        return cls(item, labels, shown)

    def by_label(self, text: str) -> set[int]:
        return {k for k, lab in enumerate(self.labels) if lab and lab == text}

    def by_token(self, token: str, numbers: str) -> set[int]:
        """Code indices named by a number or letter token."""
        k = self.item.n_categories
        if re.fullmatch(r"-?\d+", token):
            v = int(token)
            if numbers == "code":
                return {self.item.codes.index(v)} if v in self.item.codes else set()
            return {self.shown[v - 1]} if 1 <= v <= k else set()
        if re.fullmatch(r"[a-z]", token) and k <= 26:
            v = ord(token) - ord("a")
            return {self.shown[v]} if v < k else set()
        return set()

    def in_text(self, text: str) -> set[int]:
        """Options whose label occurs as a whole phrase, nested matches dropped."""
        spans = []
        for k, lab in enumerate(self.labels):
            if not lab:
                continue
            for m in re.finditer(r"(?<!\w)" + re.escape(lab) + r"(?!\w)", text):
                spans.append((m.start(), m.end(), k))
        keep = set()
        for a, b, k in spans:
            inside = any(a2 <= a and b <= b2 and (b2 - a2) > (b - a) for a2, b2, _ in spans)
            if not inside:
                keep.add(k)
        return keep


def _compile(refusals) -> list[re.Pattern]:
    if isinstance(refusals, str):
        refusals = (refusals,)
    return [re.compile(p) for p in refusals]


def match_answer(answer, item: Item, *, order: str = "original", numbers: str = "position",
                 refusals: Sequence[str] = REFUSAL_PATTERNS) -> tuple[str, int | None, str]:
    """Match one raw answer against an item's options.

    Parameters
    ----------
    answer : str or number
        The raw answer.
    item : Item
        The item (codes, labels).
    order : {"original", "reversed"}
        The order in which the options were shown (numbers and letters count in it).
    numbers : {"position", "code"}
        Read a bare number as the listed option's number (default) or as an item code.
    refusals : sequence of str
        Refusal patterns (regular expressions on the normalised text).

    Returns
    -------
    status : {"valid", "refused", "invalid"}
    code : int or None
        The matched code (valid answers only).
    how : str
        ``"label"``, ``"number"``, ``"letter"``, ``"numbered label"``, ``"text"``,
        ``"refusal"``, or why it is invalid: ``"empty"``, ``"ambiguous: ..."``,
        ``"no option named"``.

    Examples
    --------
    >>> import popaudit as pa
    >>> q = pa.Item("Q6", codes=(1, 2, 3, 4), labels=("Very important", "Rather important",
    ...             "Not very important", "Not at all important"))
    >>> match_answer("rather important.", q)
    ('valid', 2, 'label')
    >>> match_answer("B", q), match_answer("1", q, order="reversed")
    (('valid', 2, 'letter'), ('valid', 4, 'number'))
    >>> match_answer("I'd say it is not very important to me.", q)
    ('valid', 3, 'text')
    >>> match_answer("Very important or not at all important", q)[0::2]
    ('invalid', "ambiguous: names 'Very important', 'Not at all important'")
    >>> match_answer("As an AI, I don't have personal opinions.", q)
    ('refused', None, 'refusal')
    """
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
    if numbers not in ("position", "code"):
        raise ValueError(f"numbers must be 'position' or 'code', got {numbers!r}")
    return _match(normalise_text(answer), _Options.of(item, order), numbers, _compile(refusals))


def _names(opts: _Options, ks) -> str:
    labs = opts.item.labels or tuple(str(c) for c in opts.item.codes)
    return ", ".join(repr(labs[k]) for k in sorted(ks))


def _match(text: str, opts: _Options, numbers: str, refusals: list[re.Pattern]
           ) -> tuple[str, int | None, str]:
    codes = opts.item.codes
    if not text:
        return "invalid", None, "empty"

    def one(ks: set[int], how: str):
        if len(ks) == 1:
            return "valid", codes[next(iter(ks))], how
        return "invalid", None, f"ambiguous: names {_names(opts, ks)}"

    # 1. exact forms
    label = opts.by_label(text)
    m = _NUMBERED.match(text)
    if m:
        token, rest = m.group(1), m.group(2)
        by_tok = opts.by_token(token, numbers)
        how = "letter" if token.isalpha() else "number"
        if rest is None:
            if by_tok or label:
                return one(by_tok | label, "label" if label and not by_tok else how)
        elif by_tok:
            rest_label = opts.by_label(rest)
            if rest_label:
                return one(by_tok | rest_label, f"numbered label ({how})")
            if label:
                return one(label, "label")
            if not opts.in_text(rest):
                return one(by_tok, how)
    if label:
        return one(label, "label")
    # 2./3. free text: labels named, marked numbers and letters
    named = opts.in_text(text)
    for mm in _MARKER.finditer(text):
        named |= opts.by_token(mm.group(1), numbers)
    if named:
        return one(named, "text")
    if any(p.search(text) for p in refusals):
        return "refused", None, "refusal"
    return "invalid", None, "no option named"


# --------------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------------
def _as_items(items) -> dict[str, Item]:
    if isinstance(items, (Survey, AnswerDistributions)):
        items = items.items
    if isinstance(items, Item):
        items = [items]
    out = {}
    for it in items:
        if not isinstance(it, Item):
            raise TypeError("items must be Item objects (e.g. gold.items or "
                            f"popaudit.datasets.codebook_items([...])), got {type(it).__name__}")
        out[it.name] = it
    if not out:
        raise ValueError("no items given")
    return out


def _read_source(source, format: str | None) -> tuple[pd.DataFrame, str]:
    if isinstance(source, pd.DataFrame):
        if len(source) == 0:
            raise ValueError("the answer table has no rows")
        return source.reset_index(drop=True), "answers"
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"no such answer file: {path}")
    fmt = format or {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv",
                     ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}.get(
        path.suffix.lower())
    if fmt is None:
        raise ValueError(f"cannot tell the format of {path.name!r} from its suffix; pass "
                         "format= one of 'jsonl', 'json', 'csv', 'tsv', 'parquet'")
    check_file(path)
    if fmt in ("jsonl", "json"):
        text = path.read_text(encoding="utf-8-sig")
        if fmt == "json" and text.lstrip().startswith("["):
            records = json.loads(text)
        else:
            records = []
            for lineno, line in enumerate(text.splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}: line {lineno} is not valid JSON ({exc.msg})"
                                     ) from None
        if not records:
            raise ValueError(f"{path}: the file has no records")
        df = pd.json_normalize(records, sep=".")
    elif fmt in ("csv", "tsv"):
        sep = "," if fmt == "csv" else "\t"
        csv_header(path, sep)
        df = check_rows(pd.read_csv(path, sep=sep, dtype=object, keep_default_na=False,
                                    na_values=[""]), path)
    elif fmt == "parquet":
        df = check_rows(pd.read_parquet(path), path)
    else:
        raise ValueError(f"unknown format {fmt!r}")
    return df, path.name


def _column(df: pd.DataFrame, name: str, role: str) -> str:
    """A column by name; a nested JSON field ``x.name`` is found by its last part."""
    if name in df.columns:
        return name
    nested = [c for c in df.columns if str(c).split(".")[-1] == name]
    if len(nested) == 1:
        return nested[0]
    hint = f" (nested candidates: {nested})" if nested else ""
    raise KeyError(f"{role} column {name!r} not found; columns are {list(df.columns)[:20]}"
                   f"{hint}")


def _respondents(df, persona, sample, demographics):
    key_cols = [_column(df, persona, "persona")] + (
        [_column(df, c, "sample") for c in ([sample] if isinstance(sample, str) else sample)]
        if sample else [])
    if df[key_cols].isna().any().any():
        i = int(np.flatnonzero(df[key_cols].isna().any(axis=1).to_numpy())[0])
        raise ValueError(f"respondent key {key_cols} is missing at row {i}")
    rid, uniq = pd.factorize(pd.MultiIndex.from_frame(df[key_cols].astype(str)), sort=False)
    demo_cols = {c: _column(df, c, "demographic") for c in demographics}
    demo = pd.DataFrame({c: df[col].to_numpy(dtype=object) for c, col in demo_cols.items()})
    demo["_rid"] = rid
    first = demo.groupby("_rid", sort=True).first()
    if len(demo_cols):
        varies = demo.groupby("_rid", sort=True)[list(demo_cols)].nunique(dropna=False)
        bad = varies.columns[(varies > 1).any()].tolist()
        if bad:
            r = int(np.flatnonzero((varies[bad] > 1).any(axis=1).to_numpy())[0])
            raise ValueError(f"demographic column(s) {bad} differ within respondent "
                             f"{tuple(uniq[r])}; give each persona one value")
    return rid, uniq, key_cols, first.reset_index(drop=True)


def _orders(df: pd.DataFrame, order) -> np.ndarray:
    if order in ORDERS:
        return np.full(len(df), order, dtype=object)
    col = _column(df, order, "order")
    vals = df[col].astype(str).str.strip().str.casefold().replace(
        {"reverse": "reversed", "rev": "reversed", "orig": "original", "true": "reversed",
         "false": "original"}).to_numpy(dtype=object)
    bad = sorted(set(vals) - set(ORDERS))
    if bad:
        raise ValueError(f"order column {col!r} has value(s) {bad[:5]}; use 'original' or "
                         "'reversed'")
    return vals


@dataclass(frozen=True, repr=False)
class ModelAnswers:
    """Matched model answers (or option probabilities), one row per respondent and item.

    Attributes
    ----------
    table : DataFrame
        One row per answer: ``respondent`` (integer id), the key columns
        (persona, sample), the demographic columns, ``item``, ``order``,
        ``raw`` (the answer as given, kept for inspection), ``status``
        (``"valid"``, ``"refused"``, ``"invalid"``), ``code`` (nullable) and
        ``how`` (the form matched, or why invalid). For probabilities: one row
        per respondent x item x option token, with ``probability`` and
        ``matched`` (whether the token named an option).
    items : tuple of Item
        The items, in the order given.
    demographics : DataFrame
        One row per respondent.
    keys : DataFrame
        The key columns, one row per respondent.
    kind : {"answers", "probabilities"}
    source : str
        File name, or ``"answers"`` for a DataFrame.
    settings : dict
        The matching settings (order, numbers, refusal patterns).
    notes : tuple of str
    """

    table: pd.DataFrame
    items: tuple[Item, ...]
    demographics: pd.DataFrame
    keys: pd.DataFrame
    kind: str
    source: str
    settings: dict
    notes: tuple[str, ...] = ()
    _probs: np.ndarray | None = None     # (n, P, Kmax) per respondent, probabilities kind
    _has: np.ndarray | None = None       # (n, P)

    @property
    def n_respondents(self) -> int:
        return len(self.demographics)

    @property
    def item_names(self) -> tuple[str, ...]:
        return tuple(it.name for it in self.items)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    # -- populations ---------------------------------------------------------------------
    def survey(self, name: str | None = None) -> Survey:
        """The respondent-level :class:`~popaudit.Survey`: matched codes, refusals as
        missing answers marked refused (:meth:`~popaudit.Survey.refusal_rate`), unmatched
        answers invalid, items never asked missing; demographics as read."""
        if self.kind != "answers":
            raise ValueError("option probabilities give subgroup distributions, not "
                             "respondents: use .distributions(by=...)")
        n, items = self.n_respondents, self.items
        idx = np.full((n, len(items)), MISSING, dtype=np.int16)
        refused = np.zeros((n, len(items)), dtype=bool)
        t = self.table
        jpos = t["item"].map({it.name: j for j, it in enumerate(items)}).to_numpy()
        rid = t["respondent"].to_numpy()
        status = t["status"].to_numpy()
        ok = status == "valid"
        codes = t["code"].to_numpy(dtype=float, na_value=np.nan)
        cat = np.full(len(t), -1, dtype=np.int64)
        for j, it in enumerate(items):
            sel = ok & (jpos == j)
            cat[sel] = [it.codes.index(int(c)) for c in codes[sel]]
        idx[rid[ok], jpos[ok]] = cat[ok]
        idx[rid[status == "invalid"], jpos[status == "invalid"]] = INVALID
        refused[rid[status == "refused"], jpos[status == "refused"]] = True
        return Survey.from_category_indices(idx, items, demographics=self.demographics,
                                            name=name or self.source, refused=refused)

    def distributions(self, by: str | Sequence[str] | None = None) -> AnswerDistributions:
        """Subgroup answer distributions.

        Text answers: the weighted shares of valid answers of :meth:`survey`
        (:func:`~popaudit.answer_distributions`). Probabilities: the mean, over the
        subgroup's respondents, of each respondent's distribution over the matched
        options (renormalised to sum to 1); ``n`` counts those respondents.
        """
        from popaudit.data.distributions import _group_keys, answer_distributions

        if self.kind == "answers":
            return answer_distributions(self.survey(), by=by)
        by_t = (by,) if isinstance(by, str) else tuple(by or ())
        missing = [c for c in by_t if c not in self.demographics.columns]
        if missing:
            raise KeyError(f"demographic column(s) {missing} not read; demographics are "
                           f"{list(self.demographics.columns)}")
        if by_t:
            grouped = self.demographics.groupby(list(by_t), sort=True, dropna=True,
                                                observed=True)
            gid = grouped.ngroup().fillna(-1).to_numpy().astype(np.int64)
            keys = _group_keys(grouped)
            labels = tuple(subgroup_label(by_t, k) for k in keys)
        else:
            gid = np.zeros(self.n_respondents, dtype=np.int64)
            keys, labels = ((),), (OVERALL,)
        G = len(labels)
        ok = gid >= 0
        sums = np.zeros((G,) + self._probs.shape[1:])
        np.add.at(sums, gid[ok], self._probs[ok])
        cnt = np.zeros((G, self._has.shape[1]), dtype=np.int64)
        np.add.at(cnt, gid[ok], self._has[ok].astype(np.int64))
        has = cnt > 0
        probs = np.divide(sums, np.maximum(cnt, 1)[:, :, None])
        return AnswerDistributions(items=self.items, by=by_t, keys=keys, labels=labels,
                                   probs=probs, has_data=has, n=cnt,
                                   group_size=np.bincount(gid[ok], minlength=G),
                                   n_dropped=int((~ok).sum()), source="probabilities",
                                   name=self.source)

    # -- what went wrong ----------------------------------------------------------------
    def invalid_rate(self, by: str | Sequence[str] | None = None) -> pd.DataFrame:
        """Invalid rate per item (and subgroup): invalid answers over all answers given
        (valid, refused, invalid); for probabilities, respondent x item cells where no
        token named an option. Columns: the ``by`` columns, ``item``, ``n_answers``,
        ``n_invalid``, ``n_refused``, ``invalid_rate``, ``refusal_rate``."""
        t = self._cells()
        by_l = [by] if isinstance(by, str) else list(by or [])
        missing = [c for c in by_l if c not in t.columns]
        if missing:
            raise KeyError(f"demographic column(s) {missing} not read; demographics are "
                           f"{list(self.demographics.columns)}")
        g = t.groupby(by_l + ["item"], sort=True, dropna=True, observed=True)
        out = g.agg(n_answers=("status", "size"),
                    n_invalid=("status", lambda s: int((s == "invalid").sum())),
                    n_refused=("status", lambda s: int((s == "refused").sum()))).reset_index()
        out["invalid_rate"] = out["n_invalid"] / out["n_answers"]
        out["refusal_rate"] = out["n_refused"] / out["n_answers"]
        order = {nm: i for i, nm in enumerate(self.item_names)}
        return out.sort_values(by_l + ["item"], key=lambda c: c.map(order) if c.name == "item"
                               else c, kind="stable").reset_index(drop=True)

    def _cells(self) -> pd.DataFrame:
        if self.kind == "answers":
            return self.table
        t = self.table.groupby(["respondent", "item"], sort=False).agg(
            matched=("matched", "any")).reset_index()
        t["status"] = np.where(t["matched"], "valid", "invalid")
        return t.join(self.demographics, on="respondent")

    def invalid_answers(self) -> pd.DataFrame:
        """Every answer that named no option (or more than one): its respondent, item,
        order, raw text and reason."""
        if self.kind == "answers":
            return self.table[self.table["status"] == "invalid"].reset_index(drop=True)
        return self.table[~self.table["matched"]].reset_index(drop=True)

    def __repr__(self) -> str:
        t = self._cells()
        inv = float((t["status"] == "invalid").mean()) if len(t) else 0.0
        ref = float((t["status"] == "refused").mean()) if len(t) else 0.0
        return (f"ModelAnswers({self.kind} from {self.source!r}: {self.n_respondents} "
                f"respondents x {len(self.items)} items, {len(t)} answers; invalid "
                f"{inv:.1%}, refused {ref:.1%})")


def read_answers(source, items, *, persona: str = "persona", item: str = "item",
                 answer: str = "answer", sample: str | Sequence[str] | None = None,
                 demographics: Sequence[str] = (), order: str = "original",
                 numbers: str = "position", refusals: Sequence[str] = REFUSAL_PATTERNS,
                 format: str | None = None) -> ModelAnswers:
    """Read raw model answers (long JSONL / CSV / Parquet, or a DataFrame) and match them.

    Parameters
    ----------
    source : path or DataFrame
        One row per respondent and item. JSON records may nest attributes
        (``{"persona": {"id": 3, "sex": "female"}}``): nested fields are found by
        their last name.
    items : sequence of Item, or a Survey
        The items with their codes and labels (typically ``gold.items``, or
        :func:`popaudit.datasets.codebook_items`).
    persona, item, answer : str
        Columns with the persona id, the item name and the raw answer.
    sample : str or sequence of str, optional
        Further key columns when a persona answers an item more than once
        (repeated samples): a respondent is then a (persona, sample) pair.
    demographics : sequence of str
        Persona attribute columns kept as the survey's demographics.
    order : "original", "reversed", or a column name
        The order the options were shown in, for all rows or per row (a column
        of ``"original"`` / ``"reversed"``): numbers and letters count in it.
    numbers : {"position", "code"}
        A bare number names the option listed at that position (default) or the
        item code equal to it.
    refusals : sequence of str
        Refusal patterns, regular expressions on the normalised text
        (default :data:`REFUSAL_PATTERNS`).
    format : str, optional
        ``"jsonl"``, ``"json"``, ``"csv"``, ``"tsv"`` or ``"parquet"`` when the
        suffix does not tell.

    Returns
    -------
    ModelAnswers

    Raises
    ------
    ValueError
        Empty file or table, an item name that is not among ``items``, a
        respondent answering an item twice (pass ``sample=``), demographics that
        vary within a respondent, an unknown order value.

    Examples
    --------
    >>> import pandas as pd
    >>> import popaudit as pa
    >>> q = pa.Item("Q46", codes=(1, 2, 3, 4), labels=("Very happy", "Rather happy",
    ...             "Not very happy", "Not at all happy"))
    >>> raw = pd.DataFrame({"persona": [1, 2, 3, 4], "sex": ["f", "m", "f", "m"],
    ...                     "item": "Q46", "answer": ["Rather happy", "4",
    ...                     "As an AI I don't have feelings", "Very happy or not very happy"]})
    >>> ans = pa.read_answers(raw, [q], demographics=["sex"])
    >>> ans.table[["status", "code", "how"]]  # doctest: +NORMALIZE_WHITESPACE
        status  code                                              how
    0    valid     2                                            label
    1    valid     4                                           number
    2  refused  <NA>                                          refusal
    3  invalid  <NA>  ambiguous: names 'Very happy', 'Not very happy'
    >>> ans.invalid_rate(by="sex")[["sex", "item", "invalid_rate", "refusal_rate"]]
      sex item  invalid_rate  refusal_rate
    0   f  Q46           0.0           0.5
    1   m  Q46           0.5           0.0
    >>> ans.survey().refusal_rate()["Q46"]
    np.float64(0.3333333333333333)
    """
    catalogue = _as_items(items)
    if numbers not in ("position", "code"):
        raise ValueError(f"numbers must be 'position' or 'code', got {numbers!r}")
    patterns = _compile(refusals)
    df, src = _read_source(source, format)
    icol, acol = _column(df, item, "item"), _column(df, answer, "answer")
    names = df[icol].astype(str).str.strip().to_numpy(dtype=object)
    unknown = sorted(set(names) - set(catalogue))
    if unknown:
        raise ValueError(f"column {icol!r} names item(s) {unknown[:10]} that are not among the "
                         f"items given ({len(unknown)} unknown); known: "
                         f"{sorted(catalogue)[:20]}")
    rid, uniq, key_cols, demo = _respondents(df, persona, sample, list(demographics))
    orders = _orders(df, order)
    dup = pd.DataFrame({"r": rid, "i": names}).duplicated(keep=False).to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise ValueError(f"respondent {tuple(uniq[rid[i]])} answers item {names[i]!r} "
                         f"{int(dup[(rid == rid[i]) & (names == names[i])].sum())} times; "
                         "give a sample column (sample=...) when personas answer repeatedly")
    present = [nm for nm in catalogue if nm in set(names)]
    raw = df[acol].to_numpy(dtype=object)
    # match each distinct (item, order, normalised text) once
    normed = np.array([normalise_text(x) for x in raw], dtype=object)
    combos = pd.DataFrame({"i": names, "o": orders, "t": normed})
    cid, uniq_combos = pd.factorize(pd.MultiIndex.from_frame(combos))
    opts = {(nm, o): _Options.of(catalogue[nm], o) for nm in present for o in ORDERS}
    res = [_match(t, opts[(i, o)], numbers, patterns) for i, o, t in uniq_combos]
    status = np.array([r[0] for r in res], dtype=object)[cid]
    code = pd.array([r[1] for r in res], dtype="Int64")[cid]
    how = np.array([r[2] for r in res], dtype=object)[cid]
    table = pd.DataFrame({"respondent": rid})
    for c in key_cols:
        table[c] = df[c].to_numpy(dtype=object)
    for c in demo.columns:
        table[c] = demo[c].to_numpy(dtype=object)[rid]
    table["item"] = names
    table["order"] = orders
    table["raw"] = raw
    table["status"] = status
    table["code"] = code
    table["how"] = how
    keys = pd.DataFrame([tuple(k) for k in uniq], columns=key_cols)
    notes = []
    for nm in present:
        it = catalogue[nm]
        if it.labels is None:
            notes.append(f"item {nm!r} has no labels: only numbers, letters and codes match")
    return ModelAnswers(table=table, items=tuple(catalogue[nm] for nm in present),
                        demographics=demo, keys=keys, kind="answers", source=src,
                        settings={"order": order, "numbers": numbers,
                                  "refusals": tuple(p.pattern for p in patterns)},
                        notes=tuple(notes))


def read_answer_probabilities(source, items, *, persona: str = "persona", item: str = "item",
                              option: str = "option", probability: str = "probability",
                              sample: str | Sequence[str] | None = None,
                              demographics: Sequence[str] = (), order: str = "original",
                              numbers: str = "position", format: str | None = None
                              ) -> ModelAnswers:
    """Read probabilities over the options (e.g. next-token probabilities of "A", "B", ...).

    Parameters
    ----------
    source : path or DataFrame
        One row per respondent x item x option token, with its probability.
    option, probability : str
        Columns with the option token (a letter, a listed number, a label or a
        numbered label: the *exact forms* of the module docstring; free text is
        not searched) and its probability.
    items, persona, item, sample, demographics, order, numbers, format
        As for :func:`read_answers`.

    Returns
    -------
    ModelAnswers
        ``kind="probabilities"``; :meth:`ModelAnswers.distributions` gives the
        subgroup distributions. Tokens that name no option (or several) are
        kept in the table with ``matched`` False: their mass is dropped and each
        respondent's matched mass renormalised to 1 (``mass_matched`` per
        respondent x item says how much there was); a respondent x item with no
        matched token counts as invalid.

    Examples
    --------
    >>> import pandas as pd
    >>> import popaudit as pa
    >>> q = pa.Item("Q57", codes=(1, 2), labels=("Most people can be trusted",
    ...             "Need to be very careful"), kind="binary")
    >>> tab = pd.DataFrame({"persona": [1, 1, 1, 2, 2], "item": "Q57",
    ...                     "option": ["A", "B", "C", "A", "B"],
    ...                     "probability": [0.6, 0.3, 0.1, 0.2, 0.8]})
    >>> ans = pa.read_answer_probabilities(tab, [q])
    >>> ans.distributions().probs[0, 0].round(3).tolist()     # (2/3 + 0.2) / 2
    [0.433, 0.567]
    """
    catalogue = _as_items(items)
    df, src = _read_source(source, format)
    icol, ocol = _column(df, item, "item"), _column(df, option, "option")
    pcol = _column(df, probability, "probability")
    names = df[icol].astype(str).str.strip().to_numpy(dtype=object)
    unknown = sorted(set(names) - set(catalogue))
    if unknown:
        raise ValueError(f"column {icol!r} names item(s) {unknown[:10]} that are not among the "
                         "items given")
    prob = pd.to_numeric(df[pcol], errors="coerce").to_numpy(float)
    bad = ~np.isfinite(prob) | (prob < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"column {pcol!r} must hold non-negative numbers: row {i} has "
                         f"{df[pcol].iloc[i]!r} ({int(bad.sum())} such rows)")
    rid, uniq, key_cols, demo = _respondents(df, persona, sample, list(demographics))
    orders = _orders(df, order)
    present = [nm for nm in catalogue if nm in set(names)]
    items_t = tuple(catalogue[nm] for nm in present)
    jpos = pd.Series(names).map({nm: j for j, nm in enumerate(present)}).to_numpy()
    no_refusal: list[re.Pattern] = []
    cat = np.full(len(df), -1, dtype=np.int64)
    how = np.empty(len(df), dtype=object)
    cache: dict = {}
    for r, (nm, o, tok) in enumerate(zip(names, orders, df[ocol].to_numpy(dtype=object))):
        key = (nm, o, normalise_text(tok))
        if key not in cache:
            st, c, h = _match(key[2], _Options.of(catalogue[nm], o), numbers, no_refusal)
            exact = st == "valid" and h != "text"
            cache[key] = (catalogue[nm].codes.index(c) if exact else -1,
                          h if st != "valid" or exact else "free text is not matched for "
                          "option tokens")
        cat[r], how[r] = cache[key]
    n, P = len(uniq), len(present)
    kmax = max(it.n_categories for it in items_t)
    probs = np.zeros((n, P, kmax))
    ok = cat >= 0
    np.add.at(probs, (rid[ok], jpos[ok], cat[ok]), prob[ok])
    mass = probs.sum(axis=2)
    has = mass > 0
    probs = np.divide(probs, np.where(has, mass, 1.0)[:, :, None])
    table = pd.DataFrame({"respondent": rid})
    for c in key_cols:
        table[c] = df[c].to_numpy(dtype=object)
    for c in demo.columns:
        table[c] = demo[c].to_numpy(dtype=object)[rid]
    table["item"] = names
    table["order"] = orders
    table["option"] = df[ocol].to_numpy(dtype=object)
    table["probability"] = prob
    table["matched"] = ok
    table["code"] = pd.array([items_t[j].codes[k] if k >= 0 else None
                              for j, k in zip(jpos, cat)], dtype="Int64")
    table["how"] = np.where(ok, "", how)
    table["mass_matched"] = mass[rid, jpos]
    keys = pd.DataFrame([tuple(k) for k in uniq], columns=key_cols)
    return ModelAnswers(table=table, items=items_t, demographics=demo, keys=keys,
                        kind="probabilities", source=src,
                        settings={"order": order, "numbers": numbers}, _probs=probs, _has=has)

