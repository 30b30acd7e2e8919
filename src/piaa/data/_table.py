"""Line-aware reading of delimited label files.

Every row keeps the physical line it came from so that validation errors can name it. Encodings: UTF-8 (with or
without BOM) is read as is; text that is not valid UTF-8 falls back to latin-1 with a note; UTF-16 / binary files
are refused. Line endings: LF and CRLF are fine; CR-only files (classic Mac / old Excel exports) are refused
unless ``line_endings="cr"`` is passed, because read naively they collapse into one line.
"""
from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence

import numpy as np
import pandas as pd

from .errors import RatingsFormatError
from piaa.errors import InputError

csv.field_size_limit(1 << 24)


def read_text(path, encoding: Optional[str] = None, line_endings: str = "strict", notes: Optional[list] = None) -> str:
    """The decoded text of ``path`` with line endings checked (see module doc)."""
    path = os.fspath(path)
    from piaa.io.files import image_byte_cap, read_regular

    if not os.path.lexists(path):
        raise RatingsFormatError(path, None, "file not found")
    try:  # regular files only (a FIFO would block forever), with a size cap
        raw = read_regular(path, image_byte_cap())
    except OSError as exc:
        raise RatingsFormatError(path, None, f"cannot read: {exc.strerror or exc}") from None
    notes = notes if notes is not None else []
    if encoding:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise RatingsFormatError(path, line, f"cannot decode as {encoding}: {exc.reason}") from None
    else:
        if raw[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in raw[:4096]:
            line = raw[: raw.find(b"\x00")].count(b"\n") + 1 if b"\x00" in raw[:4096] else 1
            raise RatingsFormatError(
                path, line, "file looks UTF-16 encoded or binary (NUL bytes); save it as UTF-8 text (CSV UTF-8)"
            )
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            text = raw.decode("latin-1")
            notes.append(f"{path}: not valid UTF-8 (first bad byte on line {line}); read as latin-1")
    if "\r" in text:
        if "\n" not in text:
            if line_endings == "cr":
                text = text.replace("\r", "\n")
                notes.append(f"{path}: CR-only line endings converted")
            else:
                raise RatingsFormatError(
                    path, 1,
                    "CR-only line endings (classic Mac / old Excel export): the whole file would read as one line; "
                    "convert it to LF or CRLF, or pass line_endings='cr'",
                )
        else:
            lone = text.replace("\r\n", "\n").find("\r")
            if lone >= 0:
                line = text.replace("\r\n", "\n")[:lone].count("\n") + 1
                if line_endings == "cr":
                    text = text.replace("\r\n", "\n").replace("\r", "\n")
                    notes.append(f"{path}: mixed line endings normalised")
                else:
                    raise RatingsFormatError(
                        path, line, "mixed line endings (a lone CR inside a LF/CRLF file); "
                        "normalise the file or pass line_endings='cr'"
                    )
    return text


@dataclass
class Table:
    """Rows of a delimited file as strings, with the physical line number of each row."""

    path: str
    columns: list
    df: pd.DataFrame
    lines: np.ndarray
    notes: list = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.df)

    def error(self, row: Optional[int], problem: str) -> RatingsFormatError:
        line = 1 if row is None else int(self.lines[row])
        return RatingsFormatError(self.path, line, problem)

    def column(self, name: str, synonyms: Sequence[str] = ()) -> str:
        """The header's spelling of column ``name``: ``name`` itself, else the one column equal to ``name`` or to
        one of ``synonyms`` ignoring case (``Filename`` for ``image``); ``name`` unchanged when none or several."""
        if name in self.columns:
            return name
        wanted = [name.lower(), *(s.lower() for s in synonyms)]
        for w in wanted:
            hits = [c for c in self.columns if c.lower() == w]
            if len(hits) == 1:
                return hits[0]
        return name

    def require(self, columns: Iterable[str], what: str = "") -> None:
        """Every one of ``columns`` is in the header. The header is quoted in the error only when it has at least
        one of them (a ratings file with a column named differently): a path in an experiment file can name any
        file, and its first line (``/etc/passwd``'s, a key file's) must not come back in the message."""
        columns = list(columns)
        missing = [c for c in columns if c not in self.columns]
        if missing:
            found = len(missing) < len(columns)
            header = (f"the header has {', '.join(map(repr, self.columns))}" if found else
                      f"its first line has none of the expected columns ({len(self.columns)} field(s)): is it a "
                      "ratings CSV?")
            raise RatingsFormatError(self.path, 1,
                                     f"missing column(s) {', '.join(map(repr, missing))}"
                                     f"{' ' + what if what else ''}; {header}")

    def strings(self, col: str, allow_empty: bool = False) -> np.ndarray:
        s = self.df[col].str.strip()
        if not allow_empty:
            empty = np.flatnonzero((s == "").to_numpy())
            if len(empty):
                raise self.error(empty[0], f"empty {col!r} value ({len(empty)} row(s) in total)")
        return s.to_numpy(dtype=object)

    def numbers(self, col: str, lo: Optional[float] = None, hi: Optional[float] = None, allow_empty: bool = False,
                integer: bool = False) -> np.ndarray:
        """Column as floats; non-numeric or out-of-range values raise an error naming the first bad line."""
        s = self.df[col].str.strip()
        vals = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
        empty = (s == "").to_numpy()
        bad = np.isnan(vals) & ~empty
        # literal 'nan'/'NaN' strings coerce to nan; treat them as missing values
        bad &= ~s.str.lower().isin(["nan", "na", "n/a"]).to_numpy()
        if bad.any():
            i = np.flatnonzero(bad)[0]
            raise self.error(i, f"{col!r} is not a number: {self.df[col].iat[i]!r} ({int(bad.sum())} bad row(s) in total)")
        inf = np.isinf(vals)  # "inf", "-Infinity", "1e400" (overflows to inf): never a rating or a trait
        if inf.any():
            i = np.flatnonzero(inf)[0]
            raise self.error(i, f"{col!r} is not a finite number: {self.df[col].iat[i].strip()!r} "
                                f"({int(inf.sum())} row(s) in total)")
        missing = np.isnan(vals)
        if missing.any() and not allow_empty:
            i = np.flatnonzero(missing)[0]
            raise self.error(i, f"missing {col!r} value ({int(missing.sum())} row(s) in total)")
        ok = ~missing
        if integer:
            frac = ok & (vals != np.round(vals))
            if frac.any():
                i = np.flatnonzero(frac)[0]
                raise self.error(i, f"{col!r} must be a whole number, found {self.df[col].iat[i]!r}")
        for bound, cmp, word in ((lo, np.less, "below"), (hi, np.greater, "above")):
            if bound is None:
                continue
            out = ok & cmp(vals, bound)
            if out.any():
                i = np.flatnonzero(out)[0]
                raise self.error(
                    i, f"{col!r} value {self.df[col].iat[i].strip()} is {word} the scale's "
                    f"{'minimum' if word == 'below' else 'maximum'} {bound:g} ({int(out.sum())} row(s) out of range)"
                )
        return vals


DELIMITERS = ",;\t"


def sniff_delimiter(text: str) -> str:
    """The field separator of delimited ``text``: the one of ``,`` ``;`` tab that splits the first non-blank line
    (the header) into the most fields; ``,`` when none splits it (a one-column file). Spreadsheets in many
    locales save "CSV" with ``;`` because ``,`` is their decimal mark."""
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    best, n_best = ",", 1
    for d in DELIMITERS:
        n = len(next(csv.reader([first], delimiter=d), []))
        if n > n_best:
            best, n_best = d, n
    return best


def read_csv_table(path, sep: Optional[str] = ",", encoding: Optional[str] = None, line_endings: str = "strict",
                   header: bool = True, names: Optional[Sequence[str]] = None, notes: Optional[list] = None,
                   min_fields: Optional[int] = None) -> Table:
    """Read a delimited file into a :class:`Table`; blank lines are skipped (they carry no data).

    Rows with the wrong number of fields raise an error naming the line. ``sep=None`` splits on whitespace;
    ``sep="auto"`` takes the separator the header uses (:func:`sniff_delimiter`).
    """
    path = os.fspath(path)
    notes = notes if notes is not None else []
    text = read_text(path, encoding=encoding, line_endings=line_endings, notes=notes)
    if sep == "auto":
        sep = sniff_delimiter(text)
    rows, lines = [], []
    cols = list(names) if names is not None else None
    if sep is None:
        iterator = ((i + 1, ln.split()) for i, ln in enumerate(text.splitlines()))
    else:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)

        def _gen():
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    raise RatingsFormatError(path, reader.line_num, f"unreadable CSV row: {exc}") from None
                yield reader.line_num, row

        iterator = _gen()
    for line, row in iterator:
        if not row or all(not c.strip() for c in row):
            continue
        if cols is None and header:
            cols = [c.strip() for c in row]
            dup = {c for c in cols if cols.count(c) > 1}
            if dup:
                raise RatingsFormatError(path, line, f"duplicate column name(s) in header: {sorted(dup)}")
            continue
        if cols is None:
            cols = [str(i) for i in range(len(row))]
        n = len(cols)
        if len(row) != n and not (min_fields is not None and len(row) >= min_fields and sep is None):
            raise RatingsFormatError(
                path, line, f"expected {n} fields ({', '.join(cols)}), found {len(row)}: {sep.join(row) if sep else ' '.join(row)!r}"[:400]
            )
        rows.append(row[:n] if len(row) >= n else row + [""] * (n - len(row)))
        lines.append(line)
    if cols is None:
        raise RatingsFormatError(path, None, "file is empty")
    df = pd.DataFrame(rows, columns=cols, dtype=object) if rows else pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    return Table(path=path, columns=cols, df=df, lines=np.asarray(lines, dtype=np.int64), notes=notes)


def read_id_list(path, encoding: Optional[str] = None, line_endings: str = "strict", notes=None) -> tuple:
    """One id per line (first whitespace token); returns (ids, lines). Duplicated ids raise an error."""
    t = read_csv_table(path, sep=None, header=False, names=["id"], min_fields=1, encoding=encoding,
                       line_endings=line_endings, notes=notes)
    ids = t.df["id"].str.strip().to_numpy(dtype=object)
    seen = {}
    for i, x in enumerate(ids):
        if x in seen:
            raise t.error(i, f"id {x!r} listed twice (first on line {t.lines[seen[x]]})")
        seen[x] = i
    return list(ids), t.lines


DUPLICATES_HINT = "pass duplicates='mean', 'first' or 'last' to combine them"


def check_duplicates(table: Table, keys: dict, policy: str = "error", score=None, order=None,
                     hint: str = DUPLICATES_HINT) -> np.ndarray:
    """Rows to keep after applying the duplicate policy to rows with the same ``keys`` (name -> array).

    policy: ``error`` (default) raises naming both lines; ``first`` / ``last`` keep one row (``order``, if given,
    decides which is last, e.g. a timestamp); ``mean`` is handled by the caller (returns all rows). ``hint``:
    how the caller's user chooses the policy (the Python keyword, or a command's ``--duplicates``).
    """
    key_df = pd.DataFrame({k: v for k, v in keys.items()})
    dup = key_df.duplicated(keep=False).to_numpy()
    if not dup.any():
        return np.arange(len(key_df))
    if policy == "error":
        first_dup = np.flatnonzero(key_df.duplicated(keep="first").to_numpy())[0]
        row = key_df.iloc[first_dup]
        earlier = np.flatnonzero((key_df == row).all(axis=1).to_numpy())[0]
        desc = ", ".join(f"{k}={row[k]!r}" for k in key_df.columns)
        n = int(key_df.duplicated(keep="first").sum())
        raise table.error(
            first_dup,
            f"duplicate rating for {desc} (first given on line {table.lines[earlier]}); {n} duplicate row(s) in "
            f"total; {hint}",
        )
    if policy == "mean":
        return np.arange(len(key_df))
    if policy not in ("first", "last"):
        raise InputError(f"duplicates must be 'error', 'mean', 'first' or 'last', not {policy!r}")
    idx = np.arange(len(key_df))
    if order is not None:
        idx = np.argsort(np.asarray(order), kind="stable")
    kd = key_df.iloc[idx]
    keep = ~kd.duplicated(keep=policy).to_numpy()
    return np.sort(idx[keep])


def find_file(root, *candidates, required: bool = True, what: str = ""):
    """First of ``candidates`` (relative names, may include sub-folders) that exists under ``root``."""
    root = os.fspath(root)
    if os.path.isfile(root):
        if os.path.basename(root) in [os.path.basename(c) for c in candidates]:
            return root
        root = os.path.dirname(root)
    for c in candidates:
        p = os.path.join(root, c)
        if os.path.exists(p):
            return p
    if required:
        raise RatingsFormatError(root, None, f"none of {', '.join(candidates)} found{' (' + what + ')' if what else ''}")
    return None
