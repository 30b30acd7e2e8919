"""Trust in a shared server: each defect reproduced against a real `piaa serve` (behind a
trusted proxy address, so that sign-ins can come from many client addresses) or an app in this process: a FIFO
in place of a photo, sign-in and password guessing, token lifetime, the SQLite file deleted while serving, an
unreadable original, server paths in answers, formulas in the CSV export, the API docs' headers.
"""
from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from PIL import Image

from serve_helpers import new_account, serving

PW = "correct-horse-battery"
ODD_NAMES = ("=HYPERLINK(1).jpg", "+plus.jpg", "-minus.jpg", "@at.jpg")


@pytest.fixture(scope="module")
def lib(tmp_path_factory, photo_library) -> Path:
    """A copy of the photo library this module changes, with names a spreadsheet would take for formulas."""
    root = tmp_path_factory.mktemp("photos_trust")
    shutil.copytree(photo_library, root, dirs_exist_ok=True)
    for k, name in enumerate(ODD_NAMES):
        Image.open(root / f"photo_00{k}.jpg").save(root / name)
    return root


@pytest.fixture(scope="module")
def srv(tmp_path_factory, lib, serve_home):
    with serving(lib, tmp_path_factory.mktemp("serve_trust"), serve_home,
                 extra=["--forwarded-allow-ips", "127.0.0.1", "--no-community"]) as s:
        yield s


def authed(srv, name) -> httpx.Client:
    return httpx.Client(base_url=srv.url, timeout=60, headers={"Authorization": f"Bearer {new_account(srv, name)}"})


def ids_by_name(c) -> dict:
    return {im["name"]: im["id"] for im in c.get("/api/images", params={"limit": 1000}).json()["images"]}


def test_a_fifo_in_place_of_a_photo_hangs_nothing(srv, lib):
    """A FIFO put where a photo was hung /api/ranking and /api/bursts for everyone (capture times were read with
    a blocking open)."""
    with authed(srv, "fifo") as c:
        assert c.get("/api/ranking", params={"limit": 5}).status_code == 200        # features are ready
        victim = lib / "photo_007.jpg"
        keep = victim.read_bytes()
        victim.unlink()
        os.mkfifo(victim)
        try:
            for path, params in (("/api/ranking", {"order": "date", "limit": 1000}), ("/api/bursts", {})):
                r = c.get(path, params=params, timeout=30)
                assert r.status_code == 200, r.text
            assert c.get(f"/api/images/{ids_by_name(c)['photo_007.jpg']}/original", timeout=30).status_code == 404
        finally:
            victim.unlink()
            victim.write_bytes(keep)


def test_the_sign_in_limit_counts_per_account_whatever_the_address(srv):
    new_account(srv, "target")
    with httpx.Client(base_url=srv.url, timeout=60) as c:
        codes = []
        for i in range(20):                                    # 20 addresses, 2 guesses each
            for _ in range(2):
                r = c.post("/api/token", json={"username": "target", "password": f"guess-{i}"},
                           headers={"X-Forwarded-For": f"10.1.0.{i}"})
                codes.append(r.status_code)
        assert codes[:10] == [401] * 10 and set(codes[10:]) == {429}
        assert int(r.headers["Retry-After"]) > 0
        right = c.post("/api/token", json={"username": "target", "password": PW},
                       headers={"X-Forwarded-For": "10.2.0.1"})
        assert right.status_code == 429                        # until the window passes, for everyone
        other = c.post("/api/token", json={"username": "bystander", "password": "nope-nope"},
                       headers={"X-Forwarded-For": "10.1.0.1"})
        assert other.status_code == 401                        # other accounts are not locked


def test_the_password_change_is_no_password_oracle(srv):
    """A stolen token could test passwords through POST /api/me/password without any limit."""
    with authed(srv, "oracle") as c:
        codes = [c.post("/api/me/password", json={"old": f"guess-{i}-long", "new": "another-long-pw"},
                        headers={"X-Forwarded-For": "10.3.0.1"}).status_code for i in range(7)]
        assert codes[:5] == [403] * 5 and codes[5:] == [429, 429]
        r = c.post("/api/me/password", json={"old": PW, "new": "another-long-pw"},
                   headers={"X-Forwarded-For": "10.3.0.1"})
        assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0   # the right one waits too


def test_tokens_expire(srv):
    new_account(srv, "ttl")
    with httpx.Client(base_url=srv.url, timeout=60) as c:
        r = c.post("/api/token", json={"username": "ttl", "password": PW}).json()
        assert r["expires_in"] == 30 * 86400
        old = c.post("/api/token", json={"username": "ttl", "password": PW}).json()["token"]
    db = sqlite3.connect(srv.data_dir / "piaa-serve.sqlite")
    with db:
        h = hashlib.sha256(r["token"].encode()).hexdigest()
        db.execute("UPDATE tokens SET expires_at = ? WHERE token_hash = ?",
                   ((datetime.now(timezone.utc) - timedelta(seconds=5)).strftime("%Y-%m-%d %H:%M:%S"), h))
        h_old = hashlib.sha256(old.encode()).hexdigest()        # a token from before tokens expired
        db.execute("UPDATE tokens SET expires_at = NULL, created_at = ? WHERE token_hash = ?",
                   ((datetime.now(timezone.utc) - timedelta(days=31)).strftime("%Y-%m-%d %H:%M:%S"), h_old))
    db.close()
    for tok in (r["token"], old):
        with httpx.Client(base_url=srv.url, timeout=60, headers={"Authorization": f"Bearer {tok}"}) as c:
            assert c.get("/api/me").status_code == 401


def test_no_server_paths_in_profile_exports_and_no_formulas_in_the_csv(srv, lib):
    with authed(srv, "exporter") as c:
        ids = ids_by_name(c)
        chosen = list(ODD_NAMES) + [n for n in ids if n.startswith("photo_0")][:8]
        for k, name in enumerate(chosen):
            assert c.put(f"/api/ratings/{ids[name]}", json={"rating": 1 + k % 5}).status_code == 201
        assert c.post("/api/profile").status_code == 200
        doc = c.get("/api/export/profile")
        assert doc.status_code == 200 and str(lib) not in doc.text and str(srv.data_dir) not in doc.text
        assert {r["image"] if isinstance(r, dict) else r[0] for r in doc.json()["ratings"]} >= set(ODD_NAMES)
        rows = c.get("/api/export/ratings", params={"format": "csv"}).text.splitlines()[1:]
        cells = [row.split(",", 2)[1].strip('"') for row in rows]
        assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells)
        assert {"'" + n for n in ODD_NAMES} <= set(cells)
        js = c.get("/api/export/ratings", params={"format": "json"}).json()
        assert set(ODD_NAMES) <= {r["image"] for r in js["ratings"]}             # JSON keeps the names


def test_the_api_docs_carry_csp_and_frame_headers(srv):
    with httpx.Client(base_url=srv.url, timeout=60) as c:
        for path in ("/docs", "/redoc"):
            r = c.get(path)
            assert r.status_code == 200 and r.headers["x-frame-options"] == "DENY"
            csp = r.headers["content-security-policy"]
            assert "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
            for body in re.findall(r"<script>(.*?)</script>", r.text, re.S):  # the start-up script, by its hash
                digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
                assert f"'sha256-{digest}'" in csp


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file of mode 000 (the unit test below covers it)")
def test_an_unreadable_original_is_an_error_not_an_empty_200(srv, lib):
    with authed(srv, "reader") as c:
        victim = lib / "photo_011.jpg"
        os.chmod(victim, 0)
        try:
            r = c.get(f"/api/images/{ids_by_name(c)['photo_011.jpg']}/original")
            assert r.status_code == 422 and "cannot be read" in r.json()["detail"] and str(lib) not in r.text
        finally:
            os.chmod(victim, 0o644)


def test_an_original_that_cannot_be_opened_is_refused_before_the_answer_starts(tmp_path, monkeypatch):
    from fastapi import HTTPException

    import piaa.io.files
    from piaa.service.routes.photos import open_original

    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"\xff\xd8 not much")
    fh, size = open_original(photo, 1)
    fh.close()
    assert size == photo.stat().st_size

    def refuse(path, max_bytes=None):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(piaa.io.files, "open_regular", refuse)
    with pytest.raises(HTTPException) as info:
        open_original(photo, 1)
    assert info.value.status_code == 422 and "Permission denied" in info.value.detail
    assert str(tmp_path) not in info.value.detail


def _app(tmp_path, **kw):
    from piaa.service.app import create_app
    from piaa.service.settings import Settings

    lib = tmp_path / "empty-library"
    lib.mkdir()
    return create_app(Settings(libraries=[lib], data_dir=tmp_path / "data", allow_signup=True, **kw))


def test_deleting_the_sqlite_file_while_serving_refuses_writes_and_health_says_so(tmp_path):
    """31 more writes were acknowledged into the deleted file, then every account was gone after a restart,
    and /api/health said "ok" throughout."""
    from fastapi.testclient import TestClient

    app = _app(tmp_path)
    with TestClient(app) as c:
        assert c.post("/api/signup", json={"username": "eve", "password": PW}).status_code == 201
        tok = c.post("/api/token", json={"username": "eve", "password": PW}).json()["token"]
        auth = {"Authorization": f"Bearer {tok}"}
        assert c.put("/api/me", json={"share_ratings": False}, headers=auth).status_code == 200
        (tmp_path / "data" / "piaa-serve.sqlite").unlink()
        h = c.get("/api/health")
        assert h.status_code == 503 and h.json()["database"] == "down" and "deleted" in h.json()["reason"]
        for r in (c.put("/api/me", json={"share_ratings": True}, headers=auth),
                  c.post("/api/signup", json={"username": "fay", "password": PW}),
                  c.post("/api/token", json={"username": "eve", "password": PW})):
            assert r.status_code == 503 and "deleted" in r.json()["detail"], r.text
            assert str(tmp_path) not in r.text


def test_a_database_that_cannot_be_reached_names_no_socket(tmp_path):
    """The 503 body named the PostgreSQL socket's path, also on the unauthenticated /api/token."""
    pytest.importorskip("psycopg")
    from fastapi.testclient import TestClient
    from sqlalchemy import create_engine

    app = _app(tmp_path)
    with TestClient(app) as c:
        db = app.state.svc.db
        db.engine.dispose()
        db.engine = create_engine(f"postgresql+psycopg://piaa@/piaa?host={tmp_path}/no-such-socket-dir")
        db.sessions.configure(bind=db.engine)
        for r in (c.post("/api/token", json={"username": "eve", "password": PW}), c.get("/api/health")):
            assert r.status_code == 503, r.text
            assert "no-such-socket-dir" not in r.text and str(tmp_path) not in r.text and ".s.PGSQL" not in r.text


def test_users_promote_demote_and_roles_in_the_list(srv):
    """An --allow-signup account could never become an admin, and `users list` hid roles."""
    for name in ("solo", "second"):
        new_account(srv, name)
    listed = {ln.split("\t")[0]: ln.split("\t")[1] for ln in srv.cli("users", "list").stdout.splitlines()}
    assert listed["solo"] == "member" and listed["second"] == "member"
    r = srv.cli("users", "promote", "solo")
    assert r.returncode == 0 and "admin" in r.stdout
    listed = {ln.split("\t")[0]: ln.split("\t")[1] for ln in srv.cli("users", "list").stdout.splitlines()}
    assert listed["solo"] == "admin"
    with httpx.Client(base_url=srv.url, timeout=60) as c:
        tok = c.post("/api/token", json={"username": "solo", "password": PW}).json()["token"]
        me = c.get("/api/me", headers={"Authorization": f"Bearer {tok}"}).json()
        assert me["is_admin"] is True
        assert c.post("/api/invites", headers={"Authorization": f"Bearer {tok}"}).status_code == 201
    bad = srv.cli("users", "demote", "solo")                     # the only admin: refused, says why
    assert bad.returncode == 1 and "only admin" in bad.stderr and "Traceback" not in bad.stderr
    assert srv.cli("users", "promote", "second").returncode == 0
    assert srv.cli("users", "demote", "solo").returncode == 0
    listed = {ln.split("\t")[0]: ln.split("\t")[1] for ln in srv.cli("users", "list").stdout.splitlines()}
    assert (listed["solo"], listed["second"]) == ("member", "admin")
    missing = srv.cli("users", "promote", "nobody-here")
    assert missing.returncode == 1 and "no account" in missing.stderr


def test_signup_states_the_username_rule_in_words(srv):
    with httpx.Client(base_url=srv.url, timeout=60) as c:
        r = c.post("/api/signup", json={"username": "anna smith!", "password": PW})
        assert r.status_code == 422
        msg = r.json()["detail"][0]["msg"]
        assert "letters" in msg and "no spaces" in msg and "[" not in msg and "^" not in msg


def test_why_counts_the_own_rating_first_and_says_when_a_likeness_is_weak(srv):
    with authed(srv, "why") as c:
        ids = sorted(ids_by_name(c).values())
        for k, i in enumerate(ids[:10]):
            c.put(f"/api/ratings/{i}", json={"rating": 1 + k % 5})
        c.put(f"/api/ratings/{ids[3]}", json={"rating": 5})
        assert c.post("/api/profile").status_code == 200
        w = c.get(f"/api/images/{ids[3]}/why").json()
        assert w["rating"] == 5 and w["explanation"].startswith("You rated it ★★★★★")
        assert all("weak" in s for s in w["similar"])
        assert sum(not s["weak"] for s in w["similar"]) <= 4       # at most the library's closest tenth is strong
        if any(s["weak"] for s in w["similar"]):
            assert "weak likeness" in w["explanation"]
        unrated = c.get(f"/api/images/{ids[-1]}/why").json()
        assert unrated["rating"] is None and not unrated["explanation"].startswith("You rated")


def test_team_agreement_is_only_said_where_two_members_rated(srv):
    with authed(srv, "team-a") as a, authed(srv, "team-b") as b:
        ids = sorted(ids_by_name(a).values())
        x, y = ids[-2], ids[-3]
        a.put(f"/api/ratings/{x}", json={"rating": 5})
        b.put(f"/api/ratings/{x}", json={"rating": 5})
        a.put(f"/api/ratings/{y}", json={"rating": 5})
        t = a.get("/api/team/ranking", params={"limit": 1000}).json()
        by_id = {im["id"]: im for im in t["images"]}
        assert by_id[x]["raters"] >= 2 and by_id[x]["agreement"] is not None
        for im in t["images"]:
            assert (im["agreement"] is None) == (im["raters"] < 2)
        assert any(im["raters"] == 0 for im in t["images"])             # photos nobody rated: no percentage
        b.put(f"/api/ratings/{y}", json={"rating": 1})
        t = a.get("/api/team/ranking", params={"limit": 1000}).json()
        assert {im["id"]: im for im in t["images"]}[y]["agreement"] == 0.0 or \
            {im["id"]: im for im in t["images"]}[y]["raters"] > 2


def test_the_profile_refits_after_a_rating_from_any_view(srv):
    """A rating given in the photo view (any client: a plain PUT) left "profile from 14 ratings" with 16 given;
    the Rate view alone refitted."""
    import time

    with authed(srv, "anyview") as c:
        ids = sorted(ids_by_name(c).values())
        for k, i in enumerate(ids[:14]):
            c.put(f"/api/ratings/{i}", json={"rating": 1 + k % 5})
        assert c.post("/api/profile").json()["n_ratings"] == 14
        for i in ids[14:16]:
            assert c.put(f"/api/ratings/{i}", json={"rating": 4}).status_code == 201

        def fitted_on(n):
            t0 = time.time()
            while time.time() - t0 < 30:
                if c.get("/api/profile").json()["n_ratings"] == n:
                    return True
                time.sleep(0.2)
            return False

        assert fitted_on(16)
        c.delete(f"/api/ratings/{ids[15]}")
        assert fitted_on(15)
    with authed(srv, "noprofile") as c:                                # no profile yet: none is made for them
        ids = sorted(ids_by_name(c).values())
        for k, i in enumerate(ids[:12]):
            c.put(f"/api/ratings/{i}", json={"rating": 1 + k % 5})
        time.sleep(1)
        assert c.get("/api/profile").status_code == 404


def test_an_xmp_owner_without_an_account_means_nobody_owns_the_sidecars(tmp_path):
    from fastapi.testclient import TestClient

    app = _app(tmp_path, xmp_owner="carla", allow_xmp_write=True)
    with TestClient(app) as c:
        assert c.post("/api/signup", json={"username": "eve", "password": PW}).status_code == 201
        auth = {"Authorization": "Bearer " + c.post("/api/token", json={"username": "eve", "password": PW}).json()["token"]}
        me = c.get("/api/me", headers=auth).json()
        assert me["xmp_owner"] is None and "carla" in me["xmp_owner_note"]
        for path in ("/api/export/xmp", "/api/import/xmp"):
            r = c.post(path, json={}, headers=auth)
            assert r.status_code == 409 and "--xmp-owner" in r.json()["detail"]
        assert c.post("/api/signup", json={"username": "carla", "password": PW}).status_code == 201
        assert c.post("/api/export/xmp", json={}, headers=auth).status_code == 403       # carla's now, not eve's
