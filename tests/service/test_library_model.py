"""The library model through HTTP: members' shared ratings teach a newcomer's ranking; opting out;
``--no-community``; pairwise suggestions that move on. A real `piaa serve` over the synthetic photo library."""
from __future__ import annotations

import time

import httpx
import numpy as np
import pytest
from scipy.stats import spearmanr

from serve_helpers import Server

PW = "correct-horse-battery"


def account(server, name: str) -> httpx.Client:
    c = httpx.Client(base_url=server.url, timeout=120)
    assert c.post("/api/signup", json={"username": name, "password": PW}).status_code == 201
    c.headers["Authorization"] = "Bearer " + c.post("/api/token", json={"username": name, "password": PW}).json()["token"]
    return c


@pytest.fixture(scope="module")
def community_server(tmp_path_factory, photo_library, serve_home):
    srv = Server(photo_library, tmp_path_factory.mktemp("serve_community"), serve_home).start()
    try:
        yield srv
    finally:
        srv.stop()


def _taste(ids):
    """A library taste nobody's features give away: a fixed random order of the photos."""
    return {i: float(v) for i, v in zip(ids, np.random.default_rng(7).normal(size=len(ids)))}


def _until(fn, timeout=30.0):
    t0 = time.time()
    while time.time() - t0 < timeout:
        v = fn()
        if v:
            return v
        time.sleep(0.3)
    return fn()


def test_a_newcomer_starts_from_what_the_members_liked_and_members_can_opt_out(community_server):
    members = [account(community_server, f"member{k}") for k in range(6)]
    ids = [im["id"] for im in members[0].get("/api/images", params={"limit": 1000}).json()["images"]]
    taste = _taste(ids)
    rng = np.random.default_rng(1)
    for c in members:
        for i in ids:
            stars = int(np.clip(np.round(3 + 1.2 * taste[i] + rng.normal(scale=0.5)), 1, 5))
            assert c.put(f"/api/ratings/{i}", json={"rating": stars}).status_code == 201
    new = account(community_server, "newcomer")
    rk = new.get("/api/ranking", params={"limit": 1000}).json()
    assert rk["basis"] == "library" and rk["library_taste"]["people"] == 6
    assert all(x["source"] == "library" for x in rk["images"])
    order = [x["id"] for x in rk["images"]]
    assert spearmanr([taste[i] for i in order], -np.arange(len(order)))[0] > 0.8
    me = new.get("/api/me").json()
    assert me["share_ratings"] is True and me["library_taste"]["people"] == 6
    # what to rate first: the library model chooses (the model the newcomer's stars are folded into)
    sug = new.get("/api/suggestions", params={"n": 5}).json()
    assert sug["strategy"] == "library" and len({x["id"] for x in sug["images"]}) == 5
    # opting out: the member's ratings leave the model at the next refit (seconds)
    out = members[0].put("/api/me", json={"share_ratings": False})
    assert out.status_code == 200 and out.json()["share_ratings"] is False
    assert _until(lambda: new.get("/api/me").json()["library_taste"]["people"] == 5)
    # the newcomer's profile starts from the library's taste too
    for i in order[:5] + order[-5:]:
        new.put(f"/api/ratings/{i}", json={"rating": 5 if i in order[:5] else 1})
    assert new.post("/api/profile").status_code == 200
    rk2 = new.get("/api/ranking", params={"limit": 1000, "use_ratings": "false"}).json()
    assert rk2["basis"] == "profile" and rk2["library_taste"] is not None
    order2 = [x["id"] for x in rk2["images"]]
    assert spearmanr([taste[i] for i in order2], -np.arange(len(order2)))[0] > 0.7


def test_pair_suggestions_move_on_after_each_answer(community_server):
    c = account(community_server, "pairs")
    seen = set()
    for _ in range(8):
        r = c.get("/api/suggestions/pair")
        assert r.status_code == 200
        a, b = [x["id"] for x in r.json()["images"]]
        assert a != b and frozenset((a, b)) not in seen
        seen.add(frozenset((a, b)))
        assert c.post("/api/comparisons", json={"better": a, "worse": b}).status_code == 201
    # ↓ skip: the page names the pair it skips, and the next one differs
    a, b = [x["id"] for x in c.get("/api/suggestions/pair").json()["images"]]
    nxt = c.get("/api/suggestions/pair", params={"skip": f"{a}-{b}"}).json()["images"]
    assert {x["id"] for x in nxt} != {a, b}
    assert c.get("/api/suggestions/pair", params={"skip": "1-x"}).status_code == 422   # not a list of pairs


def test_no_community_keeps_the_generic_start(tmp_path_factory, photo_library, serve_home):
    srv = Server(photo_library, tmp_path_factory.mktemp("serve_nocommunity"), serve_home,
                 extra=["--no-community"]).start()
    try:
        a, b, new = account(srv, "a"), account(srv, "b"), account(srv, "c")
        ids = [im["id"] for im in a.get("/api/images", params={"limit": 1000}).json()["images"]]
        for c in (a, b):
            for k, i in enumerate(ids):
                c.put(f"/api/ratings/{i}", json={"rating": 1 + k % 5})
        rk = new.get("/api/ranking", params={"limit": 1000}).json()
        assert rk["basis"] == "generic" and rk["library_taste"] is None
        assert new.get("/api/me").json()["library_taste"] is None
    finally:
        srv.stop()
