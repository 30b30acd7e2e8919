"""Regression tests of earlier service defects, each against a real `piaa serve` (or its start-up).

Trailing-newline usernames, non-standard JSON numbers, huge ids, unbounded bodies and echoing 422s, a login
limiter bypassed by X-Forwarded-For, storage failures (one line at start, 503 JSON while running, /api/health),
deleting the rating of a removed photo, times without a zone, fractional stars, Cache-Control of photos,
the offline /docs page.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from serve_helpers import REPO, Server, free_port, new_account, serving

PW = "correct-horse-battery"


@pytest.fixture(scope="module")
def own_library(tmp_path_factory, photo_library) -> Path:
    """A copy of the photo library this module may change (photos removed)."""
    lib = tmp_path_factory.mktemp("photos_defects")
    shutil.copytree(photo_library, lib, dirs_exist_ok=True)
    return lib


@pytest.fixture(scope="module")
def srv(tmp_path_factory, own_library, serve_home):
    with serving(own_library, tmp_path_factory.mktemp("serve_defects"), serve_home) as s:
        yield s


def authed(srv, name) -> httpx.Client:
    return httpx.Client(base_url=srv.url, timeout=120, headers={"Authorization": f"Bearer {new_account(srv, name)}"})


def test_usernames_are_strict_and_downloads_keep_a_valid_header(srv):
    with httpx.Client(base_url=srv.url, timeout=60) as c:
        for bad in ("anna\n", "anna\r\n", " anna", "an na", "anna\x00", "ánna", ""):
            r = c.post("/api/signup", json={"username": bad, "password": PW})
            assert r.status_code == 422, (bad, r.text)
        assert c.post("/api/signup", json={"username": "anna", "password": PW}).status_code == 201
    r = srv.cli("users", "add", "bob\n", "--password-stdin", input=PW + "\n")
    assert r.returncode != 0 and "username" in r.stderr and "Traceback" not in r.stderr
    from piaa.service.routes.export import attachment

    assert attachment('x"\r\nSet-Cookie: a=b.csv') == {"Content-Disposition": 'attachment; filename="x___Set-Cookie__a_b.csv"'}
    with authed(srv, "dora.m@x-y_z") as c:
        r = c.get("/api/export/ratings")
        assert r.status_code == 200 and r.headers["content-disposition"] == \
            'attachment; filename="dora.m@x-y_z-ratings.csv"'


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", "1e309", "-1e400"])
def test_non_standard_json_numbers_are_422_not_500(srv, text):
    body = '{"username": "nan-user", "password": "%s", "rating": %s, "better": %s, "worse": 2}' % (PW, text, text)
    hdr = {"Content-Type": "application/json"}
    with httpx.Client(base_url=srv.url, timeout=60) as anon:       # reachable without signing in
        for path in ("/api/signup", "/api/token", "/api/session"):
            r = anon.post(path, content=body, headers=hdr)
            assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body"], (path, r.text)
    with authed(srv, f"num{abs(hash(text)) % 10000}") as c:
        ids = [im["id"] for im in c.get("/api/images").json()["images"]]
        for method, path in (("PUT", f"/api/ratings/{ids[0]}"), ("POST", "/api/comparisons"),
                             ("POST", "/api/export/xmp")):
            r = c.request(method, path, content=body, headers=hdr)
            assert r.status_code == 422, (path, r.text)
        assert c.request("PUT", f"/api/ratings/{ids[0]}", content=b'{"rating": 4}', headers=hdr).status_code == 201


def test_huge_ids_are_404_or_422_not_500(srv):
    with authed(srv, "huge") as c:
        big = "99999999999999999999"
        for method, path in (("DELETE", f"/api/comparisons/{big}"), ("DELETE", f"/api/ratings/{big}"),
                             ("GET", f"/api/images/{big}"), ("GET", f"/api/images/{big}/why"),
                             ("DELETE", f"/api/comparisons/{2 ** 31}"), ("DELETE", f"/api/ratings/{2 ** 40}"),
                             ("GET", "/api/images?offset=99999999999999999999")):
            r = c.request(method, path, json={"rating": 3} if method == "PUT" else None)
            assert r.status_code in (404, 422), (path, r.status_code, r.text)
        r = c.post("/api/comparisons", json={"better": 2 ** 63, "worse": 1})
        assert r.status_code == 422
        assert c.delete("/api/comparisons/2147483647").status_code == 404


def test_bodies_are_capped_and_422_never_echoes_them(srv):
    with httpx.Client(base_url=srv.url, timeout=60) as c:
        big = json.dumps({"username": "x" * (2 << 20), "password": PW})
        r = c.post("/api/signup", content=big, headers={"Content-Type": "application/json"})
        assert r.status_code == 413 and len(r.content) < 200
        def chunks():                                   # no Content-Length: counted as it arrives
            yield b'{"username": "'
            for _ in range(64):
                yield b"y" * 16384
            yield b'"}'
        r = c.post("/api/token", content=chunks(), headers={"Content-Type": "application/json"})
        assert r.status_code == 413
        marker = "ECHO-" + "z" * 20000
        r = c.post("/api/signup", json={"username": marker, "password": PW})
        assert r.status_code == 422 and "ECHO-" not in r.text and len(r.content) < 2000
        assert all(set(e) == {"loc", "msg", "type"} for e in r.json()["detail"])


def test_forwarded_for_is_ignored_unless_told(srv, tmp_path, serve_home, own_library):
    new_account(srv, "fwd")
    with httpx.Client(base_url=srv.url, timeout=60) as c:
        codes = [c.post("/api/token", json={"username": "fwd", "password": f"bad-{i}"},
                        headers={"X-Forwarded-For": f"10.0.0.{i}"}).status_code for i in range(7)]
    assert codes[:5] == [401] * 5 and codes[5:] == [429, 429]      # a spoofed address changes nothing
    with serving(own_library, tmp_path / "behind-proxy", serve_home,
                 extra=["--forwarded-allow-ips", "127.0.0.1"]) as proxied:
        new_account(proxied, "fwd")
        with httpx.Client(base_url=proxied.url, timeout=60) as c:
            codes = [c.post("/api/token", json={"username": "fwd", "password": f"bad-{i}"},
                            headers={"X-Forwarded-For": f"10.0.0.{i}"}).status_code for i in range(7)]
    assert codes == [401] * 7                                          # told: the proxy's header names the client


def _start_fails(args, env) -> subprocess.CompletedProcess:
    r = subprocess.run([sys.executable, "-m", "piaa.cli.main", "serve", *args, "--port", str(free_port())],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode != 0
    assert "Traceback" not in r.stderr, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    return r


def test_storage_that_cannot_be_used_is_one_line_at_start(tmp_path, own_library, serve_home):
    import os

    env = Server(own_library, tmp_path, serve_home).env()
    port = free_port()                                                  # nothing listens there: a stopped server
    r = _start_fails(["--library", str(own_library), "--data-dir", str(tmp_path / "d1"), "--database-url",
                      f"postgresql://piaa:wrong@127.0.0.1:{port}/piaa"], env)
    assert "database" in r.stderr and "wrong" not in r.stderr          # the password is never printed
    blocker = tmp_path / "a-file"                                       # a data dir that cannot be created
    blocker.write_text("x")
    r = _start_fails(["--library", str(own_library), "--data-dir", str(blocker / "serve")], env)
    assert "data folder" in r.stderr
    ro = tmp_path / "ro"
    ro.mkdir()
    os.chmod(ro, 0o500)
    try:
        if os.access(ro, os.W_OK):
            pytest.skip("running as a user who can write anywhere (root)")
        r = _start_fails(["--library", str(own_library), "--data-dir", str(ro / "serve")], env)
        assert "data folder" in r.stderr or "database" in r.stderr
    finally:
        os.chmod(ro, 0o700)


def test_database_down_while_running_is_503_json_and_health_says_so(tmp_path):
    """In process: the database vanishes under a running app (its folder removed, connections dropped)."""
    from fastapi.testclient import TestClient

    from piaa.service.app import create_app
    from piaa.service.settings import Settings

    lib = tmp_path / "empty-library"
    lib.mkdir()
    data = tmp_path / "data"
    app = create_app(Settings(libraries=[lib], data_dir=data, allow_signup=True))
    with TestClient(app) as c:
        assert c.post("/api/signup", json={"username": "eve", "password": PW}).status_code == 201
        tok = c.post("/api/token", json={"username": "eve", "password": PW}).json()["token"]
        assert c.get("/api/health").json()["database"] == "ok"
        app.state.svc.db.engine.dispose()
        shutil.move(str(data), str(tmp_path / "gone"))
        h = c.get("/api/health")
        assert h.status_code == 503 and h.json()["status"] == "unavailable" and h.json()["database"] == "down"
        for r in (c.get("/api/ratings", headers={"Authorization": f"Bearer {tok}"}),
                  c.post("/api/token", json={"username": "eve", "password": PW})):
            assert r.status_code == 503 and r.headers["content-type"] == "application/json", r.text
            assert "database" in r.json()["detail"] and "\n" not in r.json()["detail"]


def test_rating_of_a_removed_photo_can_be_deleted(srv, own_library):
    with authed(srv, "gone") as c:
        ims = c.get("/api/images").json()["images"]
        victim = ims[-1]
        assert c.put(f"/api/ratings/{victim['id']}", json={"rating": 5}).status_code == 201
        (own_library / victim["name"]).unlink()
        c.post("/api/library/rescan")
        for _ in range(100):
            if victim["id"] not in {im["id"] for im in c.get("/api/images").json()["images"]}:
                break
            time.sleep(0.2)
        assert c.get(f"/api/images/{victim['id']}").status_code == 404
        assert c.delete(f"/api/ratings/{victim['id']}").status_code == 204
        assert c.get("/api/ratings").json()["ratings"] == []


def test_times_carry_their_zone_and_stars_are_whole(srv):
    from datetime import datetime

    with authed(srv, "zone") as c:
        ids = [im["id"] for im in c.get("/api/images").json()["images"]]
        assert c.put(f"/api/ratings/{ids[0]}", json={"rating": 3.7}).status_code == 422
        assert c.put(f"/api/ratings/{ids[0]}", json={"rating": 4.0}).status_code == 201
        for k, i in enumerate(ids[1:11]):
            c.put(f"/api/ratings/{i}", json={"rating": 1 + k % 5})
        assert c.post("/api/profile").status_code == 200
        stamps = [r["updated"] for r in c.get("/api/ratings").json()["ratings"]]
        stamps.append(c.get("/api/profile").json()["created"])
        stamps.append(c.get("/api/ranking").json()["profile"]["created"])
        for s in stamps:
            assert datetime.fromisoformat(s).utcoffset() is not None, s


def test_photo_cache_control_is_what_the_docs_say(srv):
    from piaa.service.routes.library import IMAGE_CACHE_CONTROL

    with authed(srv, "cache") as c:
        i = c.get("/api/images").json()["images"][0]["id"]
        assert c.get(f"/api/images/{i}").headers["cache-control"] == IMAGE_CACHE_CONTROL
        assert c.get("/api/ratings").headers["cache-control"] == "no-store"
    assert f"`Cache-Control: {IMAGE_CACHE_CONTROL}`" in (REPO / "docs" / "serve.md").read_text()


def test_docs_work_offline_and_name_the_bearer_scheme(srv):
    with httpx.Client(base_url=srv.url, timeout=60) as c:
        page = c.get("/docs").text
        assert "/docs/assets/swagger-ui-bundle.js" in page and "cdn." not in page and "https://" not in page
        for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
            assert c.get(f"/docs/assets/{asset}").status_code == 200
        assert "cdn." not in c.get("/redoc").text
        spec = c.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer",
                                                                 "description": spec["components"]["securitySchemes"]
                                                                 ["bearer"]["description"]}
    put = spec["paths"]["/api/ratings/{image_id}"]["put"]
    assert put["security"] == [{"bearer": []}] and {"200", "201", "401", "404", "413", "422", "503"} <= set(put["responses"])
    signup = spec["components"]["schemas"]["SignupIn"]["properties"]["username"]
    assert signup["pattern"].endswith("$") and signup["maxLength"] == 64
    with httpx.Client(base_url=srv.url, timeout=60) as c:
        r = c.options("/api/ratings/1")
        assert r.status_code == 405 and set(r.headers["allow"].split(", ")) == {"PUT", "DELETE"}
