"""The profile store: one embedded SQLite file holding every profile a person has made.

Why SQLite: a profile is several parts (its description, the person's ratings, the fitted state) that must
change together; one transaction writes all of them or none, so a crash mid-save never leaves a profile with
new ratings but old weights. Readers never block on a writer (WAL), and nothing in the file is code: fitted
state is the pickle-free npz blob of :mod:`piaa.state`.

Location: ``piaa.paths.user_data_dir() / "profiles.sqlite"`` (``PIAA_HOME`` moves it), or any path given.
"""
from __future__ import annotations

import json
import os
import sqlite3
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from piaa.errors import InputError, PiaaError


SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS profiles (
    name     TEXT PRIMARY KEY,
    method   TEXT NOT NULL,
    created  TEXT NOT NULL,
    updated  TEXT NOT NULL,
    meta     TEXT NOT NULL,
    state    BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS ratings (
    profile  TEXT NOT NULL REFERENCES profiles(name) ON DELETE CASCADE,
    idx      INTEGER NOT NULL,
    image    TEXT NOT NULL,
    score    REAL NOT NULL,
    origin   TEXT,
    PRIMARY KEY (profile, idx)
);
"""


class ProfileNotFound(PiaaError, KeyError):
    def __str__(self):
        return self.args[0] if self.args else "profile not found"


class ProfileExists(InputError):
    pass


class ProfileStoreError(InputError):
    """The profile store file cannot be used (a folder, not an SQLite database, unreadable, locked...)."""


def default_store_path() -> Path:
    from piaa.paths import user_data_dir

    return user_data_dir() / "profiles.sqlite"


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


MAX_NAME_LENGTH = 100


def check_name(name) -> str:
    """A valid profile name (stripped) or ``ValueError``: 1-100 printable characters, no slashes.

    Names end up in XMP sidecars (``piaa:Profile``), terminals and file names, so control characters
    (``\\x01``, escape sequences, newlines), invisible format characters and surrogates are refused."""
    if not isinstance(name, str):
        raise InputError(f"invalid profile name {name!r}: a name is text")
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH or not name.isprintable() or any(c in name for c in "/\\"):
        raise InputError(f"invalid profile name {name!r}: use 1-{MAX_NAME_LENGTH} printable characters without "
                         "slashes or control characters")
    return name


class ProfileStore:
    """CRUD over profiles; every write is one transaction."""

    def __init__(self, path: Optional[os.PathLike] = None, timeout_s: float = 30.0):
        self.path = Path(path).expanduser() if path is not None else default_store_path()
        self.timeout_s = timeout_s
        if self.path.is_dir():
            raise ProfileStoreError(f"profile store {self.path} is a folder; give a file, e.g. "
                                    f"{self.path / 'profiles.sqlite'}")
        if os.path.lexists(self.path) and not self.path.is_file():
            raise ProfileStoreError(f"profile store {self.path} is not a regular file")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ProfileStoreError(f"cannot create the folder of profile store {self.path}: "
                                    f"{exc.strerror or exc}") from None
        with self._connect() as con:
            version = con.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise ProfileStoreError(f"{self.path}: profile store schema v{version} is newer than this piaa "
                                        f"(v{SCHEMA_VERSION}); upgrade piaa")
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if tables and not {"profiles", "ratings"} <= tables:
                raise ProfileStoreError(f"{self.path} is an SQLite database but not a piaa profile store "
                                        f"(tables: {', '.join(sorted(tables))})")
            con.executescript(_SCHEMA)
            con.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            con = sqlite3.connect(str(self.path), timeout=self.timeout_s, isolation_level=None)
        except sqlite3.Error as exc:
            raise ProfileStoreError(f"cannot open profile store {self.path}: {exc}") from None
        try:
            try:
                con.execute("PRAGMA journal_mode=WAL")
                con.execute("PRAGMA foreign_keys=ON")
            except sqlite3.DatabaseError as exc:
                raise ProfileStoreError(f"cannot use profile store {self.path}: {exc}") from None
            try:
                yield con
            except (sqlite3.DatabaseError, sqlite3.OperationalError) as exc:
                raise ProfileStoreError(f"profile store {self.path}: {exc}") from None
        finally:
            con.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    # ---- writes ------------------------------------------------------------------------------------------------
    def save(self, name: str, method: str, meta: Dict[str, Any], state_blob: bytes,
             ratings: Sequence[Tuple[str, float, Optional[str]]], overwrite: bool = False,
             created: Optional[str] = None) -> None:
        """Insert or (with ``overwrite``) replace a profile with its ratings, atomically."""
        name = check_name(name)
        meta_json = json.dumps(meta, sort_keys=True, allow_nan=False)
        now = _now()
        with self._transaction() as con:
            row = con.execute("SELECT created FROM profiles WHERE name=?", (name,)).fetchone()
            if row is not None and not overwrite:
                raise ProfileExists(f"a profile named {name!r} already exists in {self.path} "
                                    "(delete it first, or choose another name)")
            if row is not None:
                con.execute("DELETE FROM ratings WHERE profile=?", (name,))
                con.execute("UPDATE profiles SET method=?, updated=?, meta=?, state=? WHERE name=?",
                            (method, now, meta_json, sqlite3.Binary(state_blob), name))
            else:
                con.execute("INSERT INTO profiles(name, method, created, updated, meta, state) VALUES (?,?,?,?,?,?)",
                            (name, method, created or now, now, meta_json, sqlite3.Binary(state_blob)))
            con.executemany("INSERT INTO ratings(profile, idx, image, score, origin) VALUES (?,?,?,?,?)",
                            [(name, i, str(img), float(s), o) for i, (img, s, o) in enumerate(ratings)])

    def delete(self, name: str) -> None:
        with self._transaction() as con:
            cur = con.execute("DELETE FROM profiles WHERE name=?", (name,))
            if cur.rowcount == 0:
                raise ProfileNotFound(self._missing(name, con))

    # ---- reads -------------------------------------------------------------------------------------------------
    def names(self) -> List[str]:
        with self._connect() as con:
            return [r[0] for r in con.execute("SELECT name FROM profiles ORDER BY name")]

    def exists(self, name: str) -> bool:
        with self._connect() as con:
            return con.execute("SELECT 1 FROM profiles WHERE name=?", (name,)).fetchone() is not None

    def list(self) -> List[Dict[str, Any]]:
        """One summary per profile: name, method, dates, self-assessment, ``n_ratings`` (the ratings the profile
        was fitted on, as its meta records) and ``n_stored`` (the ratings stored with it: more when some were
        added since the last fit)."""
        out = []
        with self._connect() as con:
            rows = con.execute("SELECT p.name, p.method, p.created, p.updated, p.meta, "
                               "(SELECT COUNT(*) FROM ratings r WHERE r.profile=p.name) "
                               "FROM profiles p ORDER BY p.name").fetchall()
        for name, method, created, updated, meta, n in rows:
            m = json.loads(meta)
            fitted_on = m.get("n_ratings")
            out.append({"name": name, "method": method, "created": created, "updated": updated,
                        "n_ratings": int(fitted_on) if isinstance(fitted_on, int) else n, "n_stored": n,
                        "assessment": m.get("assessment")})
        return out

    def load(self, name: str) -> Dict[str, Any]:
        """``{"name", "method", "created", "updated", "meta", "state" (bytes), "ratings": [(image, score, origin)]}``."""
        with self._connect() as con:
            row = con.execute("SELECT name, method, created, updated, meta, state FROM profiles WHERE name=?",
                              (name,)).fetchone()
            if row is None:
                raise ProfileNotFound(self._missing(name, con))
            ratings = con.execute("SELECT image, score, origin FROM ratings WHERE profile=? ORDER BY idx",
                                  (name,)).fetchall()
        return {"name": row[0], "method": row[1], "created": row[2], "updated": row[3], "meta": json.loads(row[4]),
                "state": bytes(row[5]), "ratings": [(r[0], float(r[1]), r[2]) for r in ratings]}

    def _missing(self, name: str, con) -> str:
        names = [r[0] for r in con.execute("SELECT name FROM profiles ORDER BY name")]
        known = f"profiles: {', '.join(names)}" if names else "the store is empty; create one with `piaa profile create`"
        return f"no profile named {name!r} in {self.path} ({known})"
