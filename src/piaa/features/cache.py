"""On-disk feature cache: one SQLite file, safe for concurrent writers and interrupted runs.

Keys are ``sha256(image bytes) + backbone + preprocessing fingerprint + feature variant``, so a changed photo,
model or preprocessing can never return stale features. SQLite in WAL mode gives atomic transactions (a killed
run leaves either the whole batch or nothing) and lets several processes read while one writes; writers wait
on ``busy_timeout`` instead of failing. A second table memoizes ``(path, size, mtime, ctime, inode, device) ->
content hash`` so a re-run over a large library does not even re-read unchanged files, while a file replaced by
one of the same size and mtime (``cp -p``, ``rsync -t``) is read again (its ctime, and usually inode, differ).
A third table keeps opaque per-photo results of the passes at full resolution (``get_blobs`` / ``put_blobs``:
the detail pass and the faces, :mod:`piaa.profiles.detail_cache`), keyed the same way by content hash.
"""
from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Dict, Iterable, Optional

import numpy as np

_SCHEMA = """
CREATE TABLE IF NOT EXISTS features (
    image_hash TEXT NOT NULL,
    model_key  TEXT NOT NULL,
    dtype      TEXT NOT NULL,
    shape      TEXT NOT NULL,
    data       BLOB NOT NULL,
    PRIMARY KEY (image_hash, model_key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS detail (
    image_hash TEXT NOT NULL,
    detail_key TEXT NOT NULL,
    data       BLOB NOT NULL,
    PRIMARY KEY (image_hash, detail_key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS file_hashes (
    path     TEXT PRIMARY KEY,
    size     INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    hash     TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS file_memo (
    path     TEXT PRIMARY KEY,
    size     INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL,
    inode    INTEGER NOT NULL,
    device   INTEGER NOT NULL,
    hash     TEXT NOT NULL
) WITHOUT ROWID;
"""
# ``file_hashes`` (path, size, mtime) is the memo of piaa <= 0.x: it is no longer read, because a file replaced by
# one of the same size and mtime (``cp -p``, ``rsync -t``, ``exiftool -P``) matched it. ``file_memo`` adds the
# inode, device and ctime: ctime cannot be set by any tool, and replacing a file by rename changes the inode.

#: A file changed less than this before it was hashed is not memoized ("racy" timestamps: a second change in
#: the same clock tick would keep size, mtime and ctime), so it is hashed again next time.
RACY_NS = 2_000_000_000


def stat_identity(st) -> tuple:
    """(size, mtime_ns, ctime_ns, inode, device) of an ``os.stat_result``: what the memo compares."""
    return (int(st.st_size), int(st.st_mtime_ns), int(st.st_ctime_ns), int(st.st_ino), int(st.st_dev))


class FeatureCache:
    """Thread-safe (one connection per thread) and process-safe SQLite feature store."""

    def __init__(self, path: str | os.PathLike, timeout_s: float = 60.0):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.timeout_s = timeout_s
        self._local = threading.local()
        with self._conn() as con:
            con.executescript(_SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(str(self.path), timeout=self.timeout_s, isolation_level=None)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
            con.execute(f"PRAGMA busy_timeout={int(self.timeout_s * 1000)}")
            self._local.con = con
        return _ConnCtx(con)

    # ---- features --------------------------------------------------------------------------------------------
    def get_many(self, hashes: Iterable[str], model_key: str) -> Dict[str, np.ndarray]:
        hashes = list(dict.fromkeys(hashes))
        out: Dict[str, np.ndarray] = {}
        with self._conn() as con:
            for i in range(0, len(hashes), 500):
                chunk = hashes[i:i + 500]
                q = ",".join("?" * len(chunk))
                rows = con.execute(
                    f"SELECT image_hash, dtype, shape, data FROM features WHERE model_key=? AND image_hash IN ({q})",
                    [model_key, *chunk],
                ).fetchall()
                for h, dtype, shape, data in rows:
                    shp = tuple(int(s) for s in shape.split(",") if s)
                    out[h] = np.frombuffer(data, dtype=dtype).reshape(shp)
        return out

    def put_many(self, items: Dict[str, np.ndarray], model_key: str) -> None:
        """Insert a batch atomically (all rows or none)."""
        rows = [(h, model_key, a.dtype.str, ",".join(map(str, a.shape)), np.ascontiguousarray(a).tobytes())
                for h, a in items.items()]
        if not rows:
            return
        with self._conn() as con:
            _retry(lambda: _insert(con, rows))

    def count(self, model_key: Optional[str] = None) -> int:
        with self._conn() as con:
            if model_key is None:
                return con.execute("SELECT COUNT(*) FROM features").fetchone()[0]
            return con.execute("SELECT COUNT(*) FROM features WHERE model_key=?", (model_key,)).fetchone()[0]

    # ---- per-photo results of other passes (the detail pass at 100 %, faces): opaque bytes -------------------
    def get_blobs(self, hashes: Iterable[str], key: str) -> Dict[str, bytes]:
        """The bytes stored for each content hash under ``key`` (a version of the code that made them)."""
        hashes = list(dict.fromkeys(hashes))
        out: Dict[str, bytes] = {}
        with self._conn() as con:
            for i in range(0, len(hashes), 500):
                chunk = hashes[i:i + 500]
                q = ",".join("?" * len(chunk))
                rows = con.execute(f"SELECT image_hash, data FROM detail WHERE detail_key=? AND image_hash IN ({q})",
                                   [key, *chunk]).fetchall()
                out.update((h, bytes(d)) for h, d in rows)
        return out

    def put_blobs(self, items: Dict[str, bytes], key: str) -> None:
        """Store (replace) a batch atomically."""
        rows = [(h, key, bytes(b)) for h, b in items.items()]
        if not rows:
            return
        with self._conn() as con:
            _retry(lambda: _insert(con, rows, "detail"))

    # ---- content hashes memo ---------------------------------------------------------------------------------
    def known_hash(self, path: str, st) -> Optional[str]:
        """The content hash memoized for ``path`` when its ``os.stat`` result ``st`` still matches (size, mtime,
        ctime, inode, device), else ``None``."""
        with self._conn() as con:
            row = con.execute("SELECT size, mtime_ns, ctime_ns, inode, device, hash FROM file_memo WHERE path=?",
                              (path,)).fetchone()
        if row and tuple(row[:5]) == stat_identity(st):
            return row[5]
        return None

    def content_hash(self, path) -> Optional[str]:
        """``path``'s content hash: the memo's when the file is unchanged, else read and remembered; None when it
        cannot be read (gone, not a regular file, over the size cap)."""
        from piaa.io.hashing import image_file_hash

        try:
            st = os.stat(path)
            key = os.path.realpath(path)
        except OSError:
            return None
        try:
            h = self.known_hash(key, st)
        except sqlite3.Error:   # a locked or damaged memo: hash the file
            h = None
        if h is not None:
            return h
        try:
            h = image_file_hash(path)
        except OSError:
            return None
        try:
            self.remember_hashes([(key, st, h)])
        except sqlite3.Error:
            pass
        return h

    def remember_hashes(self, rows) -> None:
        """Memoize ``(path, stat_result, hash)`` rows; files changed within :data:`RACY_NS` are skipped."""
        now = time.time_ns()
        rows = [(path, *stat_identity(st), h) for path, st, h in rows
                if now - max(st.st_mtime_ns, st.st_ctime_ns) >= RACY_NS]
        if not rows:
            return
        with self._conn() as con:
            _retry(lambda: con.executemany(
                "INSERT OR REPLACE INTO file_memo(path, size, mtime_ns, ctime_ns, inode, device, hash) "
                "VALUES (?,?,?,?,?,?,?)", rows))

    def close(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None


def _insert(con, rows, table: str = "features"):
    """``INSERT OR REPLACE`` of ``rows`` into ``table`` (features or detail) in one immediate transaction."""
    marks = ",".join("?" * len(rows[0])) if rows else "?"
    con.execute("BEGIN IMMEDIATE")
    try:
        con.executemany(f"INSERT OR REPLACE INTO {table} VALUES ({marks})", rows)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _retry(fn, attempts: int = 20):
    for i in range(attempts):
        try:
            return fn()
        except sqlite3.OperationalError as exc:  # "database is locked" beyond busy_timeout
            code = getattr(exc, "sqlite_errorcode", 0) & 0xFF  # the primary code of an extended one
            busy = code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
            if not busy or i == attempts - 1:
                raise
            time.sleep(0.05 * (i + 1))


class _ConnCtx:
    def __init__(self, con):
        self.con = con

    def __enter__(self):
        return self.con

    def __exit__(self, *exc):
        return False
