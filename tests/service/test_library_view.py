"""The library as the page asks for it: stacks of bursts, hiding rejects, folders, the order in words, what a
rescan found, and photos too small to judge never offered for rating (a real ``piaa serve`` over SQLite)."""
from __future__ import annotations

import time
from datetime import datetime, timedelta

import httpx
import numpy as np
import pytest
from PIL import Image

from serve_helpers import Server, make_library

PW = "correct-horse-battery"
T0 = datetime(2024, 5, 4, 9, 30, 0)


@pytest.fixture(scope="module")
def srv(tmp_path_factory, serve_home):
    root = tmp_path_factory.mktemp("view_lib")
    make_library(root, n=12, seed=5)
    rng = np.random.default_rng(2)
    base = np.clip(rng.normal(120, 60, (120, 160, 3)), 0, 255)
    for k in range(3):                                   # a burst: one scene, 1 s apart
        ex = Image.Exif()
        ex.get_ifd(0x8769)[0x9003] = (T0 + timedelta(seconds=k)).strftime("%Y:%m:%d %H:%M:%S")
        frame = np.clip(base + rng.normal(0, 2, base.shape), 0, 255).astype(np.uint8)
        Image.fromarray(frame).save(root / f"burst_{k}.jpg", quality=92, exif=ex)
    Image.fromarray(rng.integers(0, 255, (9, 12, 3), dtype=np.uint8)).save(root / "tiny.jpg")
    s = Server(root, tmp_path_factory.mktemp("view_data"), serve_home, allow_signup=True).start()
    s.root = root
    try:
        with httpx.Client(base_url=s.url, timeout=60) as c:
            assert c.post("/api/signup", json={"username": "ida", "password": PW}).status_code == 201
        yield s
    finally:
        s.stop()


@pytest.fixture()
def c(srv):
    with httpx.Client(base_url=srv.url, timeout=120) as anon:
        tok = anon.post("/api/token", json={"username": "ida", "password": PW}).json()["token"]
    with httpx.Client(base_url=srv.url, timeout=120, headers={"Authorization": f"Bearer {tok}"}) as client:
        yield client
        for m in client.get("/api/marks").json()["marks"]:
            client.put(f"/api/marks/{m['image']}", json={"flag": None, "label": None})


def ranking(c, **params) -> dict:
    r = c.get("/api/ranking", params={"limit": 1000, **params})
    assert r.status_code == 200, r.text
    return r.json()


def ids_by_name(c) -> dict:
    return {im["name"]: im["id"] for im in c.get("/api/images", params={"limit": 1000}).json()["images"]}


def test_a_burst_is_one_entry_with_its_pick_first(c):
    ids = ids_by_name(c)
    frames = {ids[f"burst_{k}.jpg"] for k in range(3)}
    flat, stacked = ranking(c), ranking(c, stack="true")
    assert stacked["stacked"] and not flat["stacked"]
    assert flat["photos"] == flat["total"] == stacked["photos"] == 16          # 12 + 3 + tiny
    groups = c.get("/api/bursts").json()["groups"]
    assert stacked["total"] == 16 - sum(len(g["members"]) - 1 for g in groups)
    assert len([im for im in stacked["images"] if im["stack"]]) == len(groups)
    entries = [im for im in stacked["images"] if im["stack"] and frames & {x["id"] for x in im["stack"]}]
    assert len(entries) == 1 and {x["id"] for x in entries[0]["stack"]} == frames
    group = [g for g in groups if frames & {m["id"] for m in g["members"]}][0]
    assert entries[0]["id"] == entries[0]["stack"][0]["id"] == group["pick"]
    assert all(m["reasons"] is None or isinstance(m["reasons"], list) for m in group["members"])
    # the person's own pick goes on top, and the stack stands where its first frame would
    mine = ids["burst_2.jpg"] if group["pick"] != ids["burst_2.jpg"] else ids["burst_0.jpg"]
    assert c.put(f"/api/marks/{mine}", json={"flag": "pick", "label": None}).status_code == 200
    top = [im for im in ranking(c, stack="true")["images"] if im["stack"] and frames & {x["id"] for x in im["stack"]}][0]
    assert top["id"] == mine
    flat = [im["id"] for im in ranking(c)["images"]]
    first = min(k for k, i in enumerate(flat) if i in frames)
    group_of = {m["id"]: k for k, g in enumerate(groups) for m in g["members"]}
    entries_before = len({group_of.get(i, ("alone", i)) for i in flat[:first]})
    where = [k for k, im in enumerate(ranking(c, stack="true")["images"]) if im["id"] == mine]
    assert where == [entries_before]


def test_hide_rejects_folders_order_words_and_paging_of_stacks(c):
    ids = ids_by_name(c)
    victim = ids["burst_1.jpg"]
    assert c.put(f"/api/marks/{victim}", json={"flag": "reject", "label": None}).status_code == 200
    r = ranking(c, stack="true", hide_rejects="true")
    assert r["photos"] == 15 and victim not in {x["id"] for im in r["images"] for x in (im["stack"] or [im])}
    assert ranking(c, flag="reject")["photos"] == 1
    assert {"name": "sub", "photos": 2} in r["folders"]                # make_library puts every 5th photo in sub/
    assert all(im["name"].startswith("sub/") for im in ranking(c, folder="sub")["images"])
    assert ranking(c, order="date")["order"].startswith("capture time")
    assert ranking(c)["order"].startswith("your taste")
    pages = [c.get("/api/ranking", params={"stack": "true", "limit": 5, "offset": o}).json() for o in (0, 5, 10)]
    seen = [im["id"] for p in pages for im in p["images"]]
    assert len(seen) == len(set(seen)) == pages[0]["total"] == ranking(c, stack="true")["total"]


def test_photos_too_small_to_judge_are_never_offered(c):
    tiny = ids_by_name(c)["tiny.jpg"]
    for _ in range(3):
        assert tiny not in {im["id"] for im in c.get("/api/suggestions", params={"n": 200}).json()["images"]}
    for _ in range(15):
        r = c.get("/api/suggestions/pair")
        assert r.status_code == 200 and tiny not in {im["id"] for im in r.json()["images"]}
    assert tiny in {im["id"] for im in ranking(c)["images"]}              # still ranked and shown


def _rescan(c) -> dict:
    assert c.post("/api/library/rescan").status_code == 202
    for _ in range(240):
        time.sleep(0.5)
        p = c.get("/api/library").json()
        if p["state"] == "ready" and p["found"] is not None:
            return p
    raise AssertionError("the rescan did not finish")


def test_a_rescan_says_what_it_found(srv, c):
    new = srv.root / "sub" / "later.jpg"
    Image.fromarray(np.full((120, 160, 3), 70, np.uint8)).save(new)
    try:
        p = _rescan(c)
        assert p["found"] == {"new": 1, "changed": 0, "removed": 0}
    finally:
        new.unlink()
    assert _rescan(c)["found"] == {"new": 0, "changed": 0, "removed": 1}
