"""Persistence of the service: SQLAlchemy 2 models, the engine, migrations and the write discipline.

The queries the routes run live in :mod:`piaa.service.queries`; nothing else touches the tables.

SQLite (default, one file in the data dir, WAL journal so readers never block the writer) or PostgreSQL
(``postgresql://`` URLs, driven by psycopg 3). The schema is created and upgraded only by the Alembic
migrations shipped in ``piaa/service/migrations`` (``upgrade_database``), never by ``create_all``.

Writes go through :meth:`Database.write`: on SQLite one writer at a time inside this process (a transaction that
first reads and then writes could otherwise fail with "database is locked" when another writer committed in
between), with a 30 s busy timeout against other processes; on PostgreSQL transactions run concurrently and the
upserts are ``INSERT ... ON CONFLICT``.
"""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Optional

from sqlalchemy import (Boolean, DateTime, Float, ForeignKey, Integer, LargeBinary, String, Text, TypeDecorator,
                        UniqueConstraint, create_engine, event, false, true)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from piaa.errors import PiaaError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class DatabaseUnavailable(PiaaError):
    """The database cannot be reached or written (stopped server, wrong password, disk full, read-only)."""


class UnsupportedDatabase(PiaaError, ValueError):
    """A --database-url of a kind the service does not run on."""


class UTCDateTime(TypeDecorator):
    """A time with its zone, on every backend: SQLite keeps no zone and hands back naive values, which are UTC
    here (every time is written as ``utcnow()``), so they are read back as UTC (no schema change)."""
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), nullable=False)
    username_key: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)  # lower-case, unique
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    is_admin: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    share_ratings: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True, server_default=true())


class Token(Base):
    """A bearer token (kind "api") or a page session (kind "session"); only the SHA-256 of the secret is kept."""
    __tablename__ = "tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    expires_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime(), nullable=True)


class Image(Base):
    """A photo of a configured library, addressed by ``id``; ``relpath`` is relative to ``library``."""
    __tablename__ = "images"
    __table_args__ = (UniqueConstraint("library", "relpath", name="uq_images_library_relpath"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    library: Mapped[str] = mapped_column(Text, nullable=False)
    relpath: Mapped[str] = mapped_column(Text, nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    mtime: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    missing: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class Rating(Base):
    __tablename__ = "ratings"
    __table_args__ = (UniqueConstraint("user_id", "image_id", name="uq_ratings_user_image"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False)
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), nullable=False)
    rating: Mapped[float] = mapped_column(Float, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class Comparison(Base):
    __tablename__ = "comparisons"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False)
    better_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), nullable=False)
    worse_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class StoredProfile(Base):
    """A person's fitted profile: the personalizer state (``piaa.state`` bytes, no pickle) + meta."""
    __tablename__ = "profiles"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True, nullable=False)
    method: Mapped[str] = mapped_column(String(64), nullable=False)
    meta_json: Mapped[str] = mapped_column(Text, nullable=False)
    state: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    n_ratings: Mapped[int] = mapped_column(Integer, nullable=False)
    n_comparisons: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class Mark(Base):
    """A person's pick/reject flag and colour label of a photo, apart from the stars."""
    __tablename__ = "marks"
    __table_args__ = (UniqueConstraint("user_id", "image_id", name="uq_marks_user_image"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False)
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), nullable=False)
    flag: Mapped[Optional[str]] = mapped_column(String(8), nullable=True)
    label: Mapped[Optional[str]] = mapped_column(String(8), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


class Invite(Base):
    """A one-time sign-up code an admin handed out (only its SHA-256 is kept), valid until ``expires_at``."""
    __tablename__ = "invites"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    created_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    used_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    used_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime(), nullable=True)


def normalize_url(url: str) -> str:
    """``postgresql://`` / ``postgres://`` -> the psycopg 3 driver; anything else as given."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def sqlite_url(path) -> str:
    return f"sqlite:///{Path(path).resolve()}"


class Database:
    def __init__(self, url: str):
        self.url = normalize_url(url)
        u = make_url(self.url)
        self.dialect = u.get_backend_name()
        if self.dialect == "sqlite":
            if u.database and u.database != ":memory:":
                Path(u.database).parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = create_engine(self.url, connect_args={"timeout": 30, "check_same_thread": False},
                                                pool_size=16, max_overflow=16)
            event.listen(self.engine, "connect", _sqlite_pragmas)
        elif self.dialect == "postgresql":
            self.engine = create_engine(self.url, pool_size=10, max_overflow=20, pool_pre_ping=True)
        else:
            raise UnsupportedDatabase(f"unsupported database {self.dialect!r}: use sqlite:///FILE or "
                                      "postgresql://...")
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_lock = threading.Lock() if self.dialect == "sqlite" else None
        self.file = Path(u.database) if self.dialect == "sqlite" and u.database and u.database != ":memory:" \
            else None
        self._identity = None          # (device, inode) of the SQLite file once opened (watch_file)

    def _file_identity(self):
        try:
            st = os.stat(self.file)
        except OSError:
            return None
        return st.st_dev, st.st_ino

    def watch_file(self) -> None:
        """Remember which file the SQLite database is, so that :meth:`check_file` notices it being deleted or
        replaced while the server runs (open connections go on writing into the deleted file: 31 writes were
        acknowledged and then lost with every account at the next start)."""
        if self.file is not None:
            self._identity = self._file_identity()

    def check_file(self) -> None:
        """:class:`DatabaseUnavailable` (503, no path in it) when the watched SQLite file is gone or another."""
        if self._identity is not None and self._file_identity() != self._identity:
            raise DatabaseUnavailable("the database file was deleted or replaced while the server ran; nothing is "
                                      "read or written until it is restored and the server restarted")

    @property
    def display_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    def upgrade(self) -> None:
        upgrade_database(self.engine)

    @contextmanager
    def read(self) -> Iterator[Session]:
        self.check_file()
        with self.sessions() as s:
            yield s

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose transaction is committed on success and rolled back on error."""
        lock = self._write_lock
        if lock is not None:
            lock.acquire()
        try:
            self.check_file()
            with self.sessions() as s, s.begin():
                yield s
        finally:
            if lock is not None:
                lock.release()

    def check_writable(self) -> None:
        """A write that changes nothing (the migration stamp onto itself): fails now, with the driver's reason,
        when the database is read-only, its disk full or its server refuses writes."""
        from sqlalchemy import text

        with self.write() as s:
            s.execute(text("UPDATE alembic_version SET version_num = version_num"))

    def insert(self, table):
        """The dialect's INSERT (with ``on_conflict_do_update``)."""
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        return insert(table)

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def alembic_config(engine: Optional[Engine] = None):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def upgrade_database(engine: Engine) -> None:
    """Create or upgrade the schema to the newest migration (idempotent)."""
    from alembic import command

    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def open_upgraded(url: str) -> Database:
    """The database of ``url``, upgraded to the newest migration; :class:`DatabaseUnavailable` with one line
    (a stopped server, a wrong password, a read-only or full disk) instead of a driver traceback."""
    from sqlalchemy.exc import DBAPIError

    try:
        db = Database(url)
    except OSError as exc:
        raise DatabaseUnavailable(f"cannot create the database folder: {exc.strerror or exc}") from None
    try:
        db.upgrade()
        db.check_writable()
    except DBAPIError as exc:
        db.dispose()
        raise DatabaseUnavailable(f"cannot open the database {db.display_url}: {first_line(exc.orig or exc)}") from None
    except OSError as exc:
        db.dispose()
        raise DatabaseUnavailable(f"cannot open the database {db.display_url}: {exc.strerror or exc}") from None
    db.watch_file()
    return db


def first_line(exc) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
