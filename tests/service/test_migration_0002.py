"""Migration 0002 (marks, invites, users.is_admin / share_ratings) upgrades a populated 0001 database in place."""
import pytest

from serve_helpers import postgres_database

pytest.importorskip("sqlalchemy")
pytest.importorskip("alembic")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_0002_upgrades_existing_accounts_and_downgrades(tmp_path, backend):
    from alembic import command
    from sqlalchemy import inspect, text

    from piaa.service.persistence import Database, alembic_config, sqlite_url

    drop = None
    if backend == "postgresql":
        url, drop = postgres_database()
        db = Database(url)
    else:
        db = Database(sqlite_url(tmp_path / "s.sqlite"))
    cfg = alembic_config(db.engine)

    def run(fn, rev):
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            fn(cfg, rev)

    run(command.upgrade, "0001")
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO users (username, username_key, password_hash, created_at) "
                          "VALUES ('anna', 'anna', 'x', '2026-01-01 00:00:00')"))
    run(command.upgrade, "head")
    with db.engine.connect() as conn:
        row = conn.execute(text("SELECT is_admin, share_ratings FROM users")).one()
        tables = set(inspect(conn).get_table_names())
    assert (bool(row[0]), bool(row[1])) == (False, True)    # existing people: no admin, sharing on
    assert {"marks", "invites"} <= tables
    run(command.downgrade, "0001")
    with db.engine.connect() as conn:
        insp = inspect(conn)
        assert "marks" not in insp.get_table_names()
        assert "is_admin" not in {c["name"] for c in insp.get_columns("users")}
    db.dispose()
    if drop:
        drop()
