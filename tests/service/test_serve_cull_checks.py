"""The checks at 100 % in the web app: a real ``piaa serve`` over a library with a burst of one sharp frame and
two blurred copies of it (same scene, EXIF times a second apart). The checks run in the background after the
scan; once ready the sharp frame is the pick and the blurred ones say why, a restart reads the stored verdicts
back, ``--cull-checks none`` turns them off, and pages answer while the checks still run."""
from __future__ import annotations

import time
from datetime import datetime, timedelta

import httpx
import numpy as np
import pytest
from PIL import Image, ImageFilter

from serve_helpers import Server, make_library

PW = "correct-horse-battery"
T0 = datetime(2024, 7, 2, 15, 4, 0)
CHECK_WORDS = ("eyes closed", "soft focus", "motion blur")


def _burst(root) -> None:
    """sharp.jpg, soft.jpg (out of focus) and shaken.jpg (a horizontal smear), 1200 x 900 px, 1 s apart."""
    rng = np.random.default_rng(21)
    base = np.clip(rng.normal(115, 65, (30, 40, 3)), 0, 255).repeat(30, 0).repeat(30, 1)
    sharp = np.clip(base + rng.normal(0, 2, base.shape), 0, 255).astype(np.uint8)
    smear = np.mean([np.roll(sharp.astype(float), s, axis=1) for s in range(-8, 9)], axis=0).astype(np.uint8)
    frames = {"sharp": Image.fromarray(sharp), "soft": Image.fromarray(sharp).filter(ImageFilter.GaussianBlur(4)),
              "shaken": Image.fromarray(smear)}
    for k, (name, im) in enumerate(frames.items()):
        ex = Image.Exif()
        ex.get_ifd(0x8769)[0x9003] = (T0 + timedelta(seconds=k)).strftime("%Y:%m:%d %H:%M:%S")
        im.save(root / f"{name}.jpg", quality=92, exif=ex)


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("checks_lib")
    make_library(root, n=10, seed=7)
    _burst(root)
    return root


def _client(srv) -> httpx.Client:
    with httpx.Client(base_url=srv.url, timeout=120) as anon:
        anon.post("/api/signup", json={"username": "cleo", "password": PW})
        tok = anon.post("/api/token", json={"username": "cleo", "password": PW}).json()["token"]
    return httpx.Client(base_url=srv.url, timeout=120, headers={"Authorization": f"Bearer {tok}"})


def _wait_checks(c, timeout=240.0) -> dict:
    t0 = time.time()
    while time.time() - t0 < timeout:
        s = c.get("/api/library").json()
        if s["ready"] and s["checks"]["state"] != "running":
            return s["checks"]
        time.sleep(0.5)
    raise AssertionError(f"the checks did not finish within {timeout} s: {s}")


def _burst_group(c) -> tuple:
    byname = {im["name"]: im["id"] for im in c.get("/api/images", params={"limit": 1000}).json()["images"]}
    r = c.get("/api/bursts").json()
    ids = {byname[n] for n in ("sharp.jpg", "soft.jpg", "shaken.jpg")}
    g = [g for g in r["groups"] if ids <= {m["id"] for m in g["members"]}]
    assert len(g) == 1, r
    return r, g[0], byname


@pytest.fixture(scope="module")
def srv(tmp_path_factory, library, serve_home):
    s = Server(library, tmp_path_factory.mktemp("checks_data"), serve_home).start()
    try:
        yield s
    finally:
        s.stop()


def test_blurred_frames_get_reasons_and_the_sharp_frame_is_the_pick(srv):
    with _client(srv) as c:
        status = _wait_checks(c)
        assert status["state"] == "ready" and status["checks"] == ["eyes", "focus", "motion"]
        assert status["done"] == status["groups"] >= 1 and status["judged"] >= 3, status
        r, g, byname = _burst_group(c)
        assert r["checks"] == "ready" and r["checks_progress"]["done"] == r["checks_progress"]["groups"]
        assert g["pick"] == byname["sharp.jpg"], g
        why = {m["name"]: m["reasons"] or [] for m in g["members"]}
        assert not why["sharp.jpg"]
        for name in ("soft.jpg", "shaken.jpg"):     # a reason of the checks at 100 %, not taste
            assert any(w in r_ for r_ in why[name] for w in CHECK_WORDS), why
        assert "soft focus" in " ".join(why["soft.jpg"])
        # the library's stacks: the sharp frame first, the others' reasons with them
        rk = c.get("/api/ranking", params={"stack": "true", "limit": 1000}).json()
        assert rk["checks"] == "ready"
        stack = [im["stack"] for im in rk["images"] if im.get("stack") and byname["soft.jpg"] in
                 {f["id"] for f in im["stack"]}][0]
        assert stack[0]["id"] == byname["sharp.jpg"] and stack[0]["reasons"] is None
        assert all(f["reasons"] for f in stack[1:]), stack
        # the person's own flag wins over the checks
        c.put(f"/api/marks/{byname['soft.jpg']}", json={"flag": "pick", "label": None})
        try:
            _, g2, _ = _burst_group(c)
            assert g2["pick"] == byname["soft.jpg"] and g2["reason"] == "your pick"
        finally:
            c.put(f"/api/marks/{byname['soft.jpg']}", json={"flag": None, "label": None})


def test_a_restart_reads_the_stored_verdicts_back(srv):
    with _client(srv) as c:
        _wait_checks(c)
        before = _burst_group(c)[1]
    srv.restart()
    with _client(srv) as c:
        status = _wait_checks(c)
        assert status["state"] == "ready" and status["judged"] == 0 and status["reused"] == status["groups"], status
        after = _burst_group(c)[1]
        assert after["pick"] == before["pick"]
        assert [m["reasons"] for m in after["members"]] == [m["reasons"] for m in before["members"]]


def test_a_rescan_judges_only_the_groups_that_changed(srv, library):
    with _client(srv) as c:
        before = _wait_checks(c)
        im = Image.open(library / "soft.jpg")           # a fourth frame of the burst, a second later
        ex = Image.Exif()
        ex.get_ifd(0x8769)[0x9003] = (T0 + timedelta(seconds=3)).strftime("%Y:%m:%d %H:%M:%S")
        im.filter(ImageFilter.GaussianBlur(2)).save(library / "later.jpg", quality=92, exif=ex)
        assert c.post("/api/library/rescan").status_code == 202
        time.sleep(0.5)
        after = _wait_checks(c)
        _, g, byname = _burst_group(c)
        assert byname["later.jpg"] in {m["id"] for m in g["members"]} and g["pick"] == byname["sharp.jpg"]
        assert after["judged"] - before["judged"] == 4, (before, after)     # that burst again, nothing else
        assert after["done"] == after["groups"] == before["groups"]


def test_cull_checks_none_turns_them_off_and_a_bad_list_is_refused(tmp_path_factory, library, serve_home):
    data = tmp_path_factory.mktemp("checks_off")
    with_bad = Server(library, data, serve_home)
    bad = with_bad.cli("--library", str(library), "--cull-checks", "eyes,smile")
    assert bad.returncode == 2 and "unknown check smile" in bad.stderr, bad.stderr
    s = Server(library, data, serve_home, extra=["--cull-checks", "none"]).start()
    try:
        with _client(s) as c:
            assert _wait_checks(c)["state"] == "off"
            r, g, _ = _burst_group(c)
            assert r["checks"] == "off" and r["checks_progress"]["judged"] == 0
            for m in g["members"]:
                assert not any(w in x for x in m["reasons"] or [] for w in CHECK_WORDS), g
            assert c.get("/api/ranking", params={"stack": "true"}).json()["checks"] == "off"
        assert not (data / "cull-checks.sqlite").exists()
    finally:
        s.stop()


def test_pages_answer_while_the_checks_run(tmp_path, library, serve_home, monkeypatch):
    """In process, with a face detector that waits until the test lets it go: the checks cannot finish, and
    the pages answer at once without their verdicts (then with them, once they are let through)."""
    import threading

    from fastapi.testclient import TestClient

    from piaa.service.app import create_app
    from piaa.service.settings import Settings

    monkeypatch.setenv("PIAA_HOME", str(serve_home))
    monkeypatch.setenv("PIAA_CACHE", str(serve_home / "features.sqlite"))
    gate = threading.Event()

    def detector(rgb):
        gate.wait(120)
        return []

    app = create_app(Settings(libraries=[library], data_dir=tmp_path / "data", allow_signup=True), detector=detector)
    with TestClient(app) as c:
        assert c.post("/api/signup", json={"username": "cleo", "password": PW}).status_code == 201
        tok = c.post("/api/token", json={"username": "cleo", "password": PW}).json()["token"]
        c.headers["Authorization"] = f"Bearer {tok}"
        try:
            t0 = time.time()
            while not c.get("/api/library").json()["ready"]:
                assert time.time() - t0 < 240
                time.sleep(0.2)
            while app.state.svc.checks.status()["groups"] == 0:   # the worker has started on the groups
                assert time.time() - t0 < 240
                time.sleep(0.1)
            t1 = time.perf_counter()
            r = c.get("/api/bursts").json()
            rk = c.get("/api/ranking", params={"stack": "true"}).json()
            took = time.perf_counter() - t1
            assert r["checks"] == "running" and rk["checks"] == "running"
            assert r["checks_progress"]["done"] < r["checks_progress"]["groups"]
            assert took < 10, took         # generous on a shared machine; the checks themselves cannot finish
            for g in r["groups"]:
                for m in g["members"]:
                    assert not any(w in x for x in m["reasons"] or [] for w in CHECK_WORDS)
        finally:
            gate.set()
        t0 = time.time()
        while c.get("/api/library").json()["checks"]["state"] == "running":
            assert time.time() - t0 < 240
            time.sleep(0.2)
        r = c.get("/api/bursts").json()
        assert r["checks"] == "ready"
        assert any(w in x for g in r["groups"] for m in g["members"] for x in m["reasons"] or [] for w in CHECK_WORDS)


def test_stored_verdicts_read_back_and_an_unreadable_photo_is_no_crash(tmp_path):
    """The store gives back what was judged; a photo that cannot be read (gone, or not a JPEG) does not stop
    its group's verdict."""
    from piaa.profiles.cull import CullSettings
    from piaa.service.cull_checks import BackgroundChecks, VerdictStore, content_hash, group_key

    _burst(tmp_path)
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a photo at all")
    assert content_hash(tmp_path / "gone.jpg") is None
    hashes = [content_hash(tmp_path / f"{n}.jpg") for n in ("sharp", "soft", "shaken")]
    assert all(hashes) and len(set(hashes)) == 3
    s = CullSettings()
    assert group_key(hashes, s, True) != group_key(hashes, s, False) != group_key(hashes[::-1], s, False)
    checks = BackgroundChecks(None, s.checks, None, detector=False)
    paths = [str(tmp_path / n) for n in ("sharp.jpg", "broken.jpg", "soft.jpg", "shaken.jpg")]
    got = checks._judge([paths], False)[0]
    assert 0 in got.passed and 1 not in got.reasons and 2 in got.reasons and 3 in got.reasons
    store = VerdictStore(tmp_path / "v.sqlite")
    store.put_many({"k": got})
    back = VerdictStore(tmp_path / "v.sqlite").get_many(["k", "other"])
    assert list(back) == ["k"] and back["k"].passed == got.passed and back["k"].reasons == got.reasons
    assert back["k"].facts[0].subject == got.facts[0].subject
