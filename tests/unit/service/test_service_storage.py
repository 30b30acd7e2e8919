"""piaa serve's storage and credentials without a server: migrations match the models, hashing, CSRF, limiter."""
import pytest

pytest.importorskip("sqlalchemy")
pytest.importorskip("alembic")


def test_migrations_create_exactly_the_models(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from piaa.service.persistence import Base, Database, sqlite_url

    db = Database(sqlite_url(tmp_path / "s.sqlite"))
    db.upgrade()
    db.upgrade()                                   # idempotent
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
    db.dispose()
    assert diff == [], f"the models changed without a migration: {diff}"
    assert mode == "wal"


def test_database_urls():
    from piaa.service.persistence import Database, normalize_url

    assert normalize_url("postgresql://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert normalize_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    with pytest.raises(ValueError, match="unsupported database"):
        Database("mysql://u@h/db")


def test_passwords_tokens_and_csrf():
    from piaa.service import security as sec

    h = sec.hash_password("correct horse")
    assert h.startswith("$argon2id$") and "correct horse" not in h
    assert sec.verify_password(h, "correct horse")[0]
    assert not sec.verify_password(h, "correct horsE")[0]
    assert not sec.verify_password(None, "anything")[0]
    t1, t2 = sec.new_token(), sec.new_token()
    assert t1 != t2 and len(t1) >= 40 and len(sec.token_hash(t1)) == 64 and sec.token_hash(t1) != t1
    assert sec.csrf_ok(t1, sec.csrf_for(t1)) and not sec.csrf_ok(t1, sec.csrf_for(t2)) and not sec.csrf_ok(t1, None)
    with pytest.raises(ValueError):
        sec.check_password("short")
    with pytest.raises(ValueError):
        sec.check_username("../x")


def test_login_limiter_window():
    from piaa.service.security import LoginLimiter

    lim = LoginLimiter(failures=3, window=60)
    for _ in range(3):
        assert lim.retry_after("1.2.3.4", "Ann") is None
        lim.failed("1.2.3.4", "Ann")
    assert lim.retry_after("1.2.3.4", "ann") > 0            # usernames case-insensitive
    assert lim.retry_after("5.6.7.8", "ann") is None        # another client is not blocked
    assert lim.retry_after("1.2.3.4", "bob") is None
    lim.succeeded("1.2.3.4", "ann")
    assert lim.retry_after("1.2.3.4", "ann") is None


def test_a_photo_removed_by_a_rescan_keeps_its_name(tmp_path):
    """Regression: GET /api/images listed ids, a rescan removed one, then naming it raised KeyError (a 500)."""
    from PIL import Image as PILImage

    from piaa.service.library import Library
    from piaa.service.persistence import Database, sqlite_url

    photos = tmp_path / "photos"
    photos.mkdir()
    for k in range(3):
        PILImage.new("RGB", (80, 60), (40 * k, 90, 200)).save(photos / f"p{k}.jpg")
    db = Database(sqlite_url(tmp_path / "s.sqlite"))
    db.upgrade()
    lib = Library([photos], db, tmp_path / "data")
    lib.scan()
    listed = lib.ids()
    names = {i: lib.name(i) for i in listed}
    (photos / "p2.jpg").unlink()
    lib.scan()
    gone = [i for i in listed if i not in lib.ids()]
    assert len(gone) == 1 and lib.name(gone[0]) == names[gone[0]] == "p2.jpg"
    assert not lib.exists(gone[0])
    db.dispose()
