"""The web app as a daily tool against a real `piaa serve`: marks apart from stars, ranking filters
and paging, the photo view's info and original, bursts, XMP both ways, the team view, passwords, admins and
invitations. One server with sign-up off and --allow-xmp-write over its own copy of the photo library (sidecars
are written into it), plus a corrupt photo, a burst of near-duplicates and photos with EXIF capture times.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import numpy as np
import pytest
from PIL import Image

from serve_helpers import Server, make_library, postgres_database

PW = "correct-horse-battery"
T0 = datetime(2024, 6, 1, 10, 0, 0)


def _exif(when: datetime):
    ex = Image.Exif()
    ex[0x010F], ex[0x0110] = "Canon", "Canon EOS R6"
    sub = ex.get_ifd(0x8769)
    sub[0x9003] = when.strftime("%Y:%m:%d %H:%M:%S")
    sub[0x829A], sub[0x829D], sub[0x8827], sub[0x920A] = 1 / 250, 2.8, 400, 50.0
    return ex


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    root = tmp_path_factory.mktemp("daily_lib")
    make_library(root, n=16, seed=3)
    rng = np.random.default_rng(7)
    base = np.clip(rng.normal(120, 60, (120, 160, 3)), 0, 255)
    for k in range(3):                                   # a burst: one scene, 1 s apart
        frame = np.clip(base + rng.normal(0, 2, base.shape), 0, 255).astype(np.uint8)
        Image.fromarray(frame).save(root / f"burst_{k}.jpg", quality=92, exif=_exif(T0 + timedelta(seconds=k)))
    for k, name in enumerate(("photo_000.jpg", "photo_001.jpg", "photo_002.jpg")):   # capture times, reversed
        im = Image.open(root / name)
        im.load()
        im.save(root / name, quality=90, exif=_exif(T0 + timedelta(days=3 - k)))
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    return root


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def srv(request, tmp_path_factory, lib, serve_home):
    url, drop = postgres_database() if request.param == "postgresql" else (None, None)
    s = Server(lib, tmp_path_factory.mktemp("daily_data"), serve_home, database_url=url, allow_signup=False,
               extra=["--allow-xmp-write"])
    s.start()
    r = s.cli("users", "add", "boss", "--admin", "--password-stdin", input=PW + "\n")
    assert r.returncode == 0, r.stderr
    for name in ("anna", "ben", "cleo"):
        assert s.cli("users", "add", name, "--password-stdin", input=PW + "\n").returncode == 0
    try:
        yield s
    finally:
        s.stop()
        if drop:
            drop()


def login(srv, name, pw=PW) -> httpx.Client:
    with httpx.Client(base_url=srv.url, timeout=120) as c:
        r = c.post("/api/token", json={"username": name, "password": pw})
        assert r.status_code == 200, r.text
        tok = r.json()["token"]
    return httpx.Client(base_url=srv.url, timeout=120, headers={"Authorization": f"Bearer {tok}"})


def ids_by_name(c) -> dict:
    return {im["name"]: im["id"] for im in c.get("/api/images", params={"limit": 1000}).json()["images"]}


def ranking(c, **params) -> dict:
    r = c.get("/api/ranking", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_marks_apart_from_stars(srv):
    with login(srv, "anna") as c:
        ids = ids_by_name(c)
        a, b = ids["photo_003.jpg"], ids["photo_010.jpg"]
        r = c.put(f"/api/marks/{a}", json={"flag": "pick", "label": "green"})
        assert r.status_code == 200 and r.json() == {"image": a, "flag": "pick", "label": "green"}
        assert c.put(f"/api/marks/{b}", json={"flag": "reject", "label": None}).status_code == 200
        assert c.put(f"/api/ratings/{a}", json={"rating": 4}).status_code == 201
        items = {im["id"]: im for im in c.get("/api/images", params={"limit": 1000}).json()["images"]}
        assert (items[a]["flag"], items[a]["label"], items[a]["rating"]) == ("pick", "green", 4)
        assert (items[b]["flag"], items[b]["label"]) == ("reject", None)
        ranked = {im["id"]: im for im in ranking(c, limit=1000)["images"]}
        assert (ranked[a]["flag"], ranked[a]["label"]) == ("pick", "green")
        assert c.put(f"/api/marks/{a}", json={"flag": "maybe", "label": None}).status_code == 422
        assert c.put(f"/api/marks/{a}", json={"flag": None, "label": "pink"}).status_code == 422
        assert c.put("/api/marks/99999999", json={"flag": "pick", "label": None}).status_code == 404
        assert c.put(f"/api/marks/{b}", json={"label": "red"}).json() == {"image": b, "flag": "reject", "label": "red"}
        assert c.put(f"/api/marks/{b}", json={"flag": None, "label": None}).json()["flag"] is None
        assert all(m["image"] != b for m in c.get("/api/marks").json()["marks"])
        assert c.delete(f"/api/ratings/{a}").status_code == 204           # key 0: stars cleared, marks stay
        assert c.get("/api/marks").json()["marks"] == [{"image": a, "flag": "pick", "label": "green"}]
    with login(srv, "ben") as c:                                            # marks are per person
        assert c.get("/api/marks").json()["marks"] == []


def test_ranking_filters_order_and_paging(srv):
    with login(srv, "ben") as c:
        ids = ids_by_name(c)
        full = ranking(c, limit=1000)
        n = full["total"]
        assert n == len(full["images"]) and full["unscored"] >= 1           # the broken photo
        paged = []
        for off in range(0, n, 7):
            page = ranking(c, offset=off, limit=7)
            assert page["total"] == n
            paged += [im["id"] for im in page["images"]]
        assert paged == [im["id"] for im in full["images"]]                 # pages add up to the whole order
        assert ranking(c, limit=5)["images"] == full["images"][:5]          # limit alone: as before
        names = [im["name"] for im in ranking(c, order="name", limit=1000)["images"]]
        assert names == sorted(names)
        q = [im["quality"] for im in ranking(c, order="quality", limit=1000)["images"]]
        assert all(v is not None for v in q) and q == sorted(q, reverse=True)
        dated = ranking(c, order="date", limit=1000)["images"]
        taken = [im["taken"] for im in dated if im["taken"]]
        assert len(taken) == 6 and taken == sorted(taken)
        assert [im["name"] for im in dated[:3]] == ["burst_0.jpg", "burst_1.jpg", "burst_2.jpg"]
        assert dated[3]["name"] == "photo_002.jpg"                          # then the reversed three
        sub = ranking(c, folder="sub", limit=1000)
        assert sub["total"] > 0 and all(im["name"].startswith("sub/") for im in sub["images"])
        for k, i in enumerate([ids["photo_005.jpg"], ids["photo_006.jpg"], ids["photo_007.jpg"]]):
            c.put(f"/api/ratings/{i}", json={"rating": 3 + k})
        c.put(f"/api/marks/{ids['photo_005.jpg']}", json={"flag": "pick", "label": None})
        c.put(f"/api/marks/{ids['photo_006.jpg']}", json={"flag": "reject", "label": None})
        four = ranking(c, min_stars=4, limit=1000)["images"]
        assert four and all((im["rating"] if im["rating"] is not None else im["stars"]) >= 4 for im in four)
        assert ids["photo_005.jpg"] not in {im["id"] for im in four}        # own 3 stars beat a prediction
        assert [im["id"] for im in ranking(c, flag="pick")["images"]] == [ids["photo_005.jpg"]]
        assert [im["id"] for im in ranking(c, flag="reject")["images"]] == [ids["photo_006.jpg"]]
        assert ranking(c, flag="none", limit=1000)["total"] == n - 2
        assert c.get("/api/ranking", params={"order": "random"}).status_code == 422
        assert c.get("/api/ranking", params={"min_stars": 6}).status_code == 422


def test_photo_view_info_original_and_a_corrupt_photo(srv, lib):
    with login(srv, "anna") as c:
        ids = ids_by_name(c)
        i = ids["photo_000.jpg"]
        info = c.get(f"/api/images/{i}/info").json()
        assert info["exif"]["camera"] == "Canon EOS R6" and info["exif"]["exposure"] == "1/250 s"
        assert info["exif"]["taken"].startswith("2024-06-04")
        assert info["histogram"]["bins"] == 64 and abs(sum(info["histogram"]["luma"]) - 1) < 1e-3
        assert info["original"]["media_type"] == "image/jpeg" and info["original"]["browser_viewable"]
        assert info["quality"] is not None
        r = c.get(f"/api/images/{i}/original")
        assert r.status_code == 200 and r.content == (lib / "photo_000.jpg").read_bytes()
        assert "attachment" in r.headers["content-disposition"]
        bad = ids["broken.jpg"]
        binfo = c.get(f"/api/images/{bad}/info").json()
        assert binfo["histogram"] is None and binfo["histogram_error"]
        assert c.get(f"/api/images/{bad}").status_code == 422                # shown as broken, with a reason
        assert c.get(f"/api/images/{bad}/original").status_code == 200
        assert c.get("/api/images/99999999/info").status_code == 404
        assert c.get("/api/images/99999999/original").status_code == 404


def test_bursts_with_a_suggested_pick_where_own_flags_win(srv):
    with login(srv, "cleo") as c:
        ids = ids_by_name(c)
        burst = {ids[f"burst_{k}.jpg"] for k in range(3)}
        r = c.get("/api/bursts")
        assert r.status_code == 200, r.text
        groups = r.json()["groups"]
        g = next(g for g in groups if burst & {m["id"] for m in g["members"]})
        assert {m["id"] for m in g["members"]} == burst
        assert g["pick"] in burst and g["reason"] == "best score"
        other = next(i for i in sorted(burst) if i != g["pick"])
        c.put(f"/api/marks/{other}", json={"flag": "pick", "label": None})
        g2 = next(g for g in c.get("/api/bursts").json()["groups"] if other in {m["id"] for m in g["members"]})
        assert g2["pick"] == other and g2["reason"] == "your pick"


def test_xmp_both_ways_for_the_owner_predictions_never_overwrite_own_stars(srv, lib):
    with login(srv, "boss") as c:                                            # the first admin owns the sidecars
        me = c.get("/api/me").json()
        assert me["xmp_owner"] == "boss" and "your stars" in me["xmp_owner_note"]
        ids = ids_by_name(c)
        mine = ids["photo_008.jpg"]
        c.put(f"/api/ratings/{mine}", json={"rating": 2})
        c.put(f"/api/marks/{mine}", json={"flag": "pick", "label": "blue"})
        dry = c.post("/api/export/xmp", json={"dry_run": True, "mine": True, "predictions": True}).json()
        assert not list(lib.rglob("*.xmp"))                                   # a dry run writes nothing
        acts = {(a["image"], a["kind"]): a for a in dry["actions"]}
        assert (mine, "mine") in acts and (mine, "prediction") not in acts   # regression: no prediction over own stars
        done = c.post("/api/export/xmp", json={"dry_run": False, "mine": True, "predictions": True}).json()
        assert done["counts"].get("create", 0) > 0
        side = (lib / "photo_008.jpg.xmp").read_text()
        assert 'xmp:Rating="2"' in side and "PredictedRating" not in side and 'xmp:Label="Blue"' in side
        assert "PredictedRating" in (lib / "photo_011.jpg.xmp").read_text()  # an unrated one: piaa's, marked
        c.delete(f"/api/ratings/{mine}")
        rep = c.post("/api/import/xmp", json={}).json()                      # the owner imports, never predictions
        assert rep["ratings"] >= 1 and rep["predicted_skipped"] >= 10
        own = {r["image"]: r["rating"] for r in c.get("/api/ratings").json()["ratings"]}
        assert own[mine] == 2 and ids["photo_011.jpg"] not in own
        again = c.post("/api/import/xmp").json()                           # no body: the defaults
        assert again["ratings"] == 0 and again["kept"] >= 1
        c.delete(f"/api/ratings/{mine}")
        c.put(f"/api/marks/{mine}", json={"flag": None, "label": None})
    for p in lib.rglob("*.xmp"):
        p.unlink()


def test_one_members_stars_never_become_anothers(srv, lib):
    """The repro: Ben writes his stars, Anna presses Import; Ben's 3★ became Anna's ratings (16 -> 18) and Ben's
    preview called Anna's stars his own. Only the XMP owner (here the first admin, boss) writes and imports."""
    with login(srv, "ben") as ben, login(srv, "anna") as anna:
        ids = ids_by_name(ben)
        for k, name in enumerate(("photo_013.jpg", "photo_003.jpg")):
            assert ben.put(f"/api/ratings/{ids[name]}", json={"rating": 3 + k}).status_code in (200, 201)
        before = {r["image"]: r["rating"] for r in anna.get("/api/ratings").json()["ratings"]}
        for dry in (True, False):
            r = ben.post("/api/export/xmp", json={"dry_run": dry, "mine": True})
            assert r.status_code == 403 and "boss" in r.json()["detail"] and "one rating per photo" in r.json()["detail"]
        assert not list(lib.rglob("*.xmp"))
        r = anna.post("/api/import/xmp")
        assert r.status_code == 403 and "boss" in r.json()["detail"]
        assert {r["image"]: r["rating"] for r in anna.get("/api/ratings").json()["ratings"]} == before
        me = anna.get("/api/me").json()
        assert me["xmp_owner"] == "boss" and "boss" in me["xmp_owner_note"]
    with login(srv, "boss") as boss:                                          # sidecars another tool set stay the
        ids = ids_by_name(boss)                                              # owner's "another tool", never "yours"
        (lib / "photo_013.jpg.xmp").write_text(
            '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            '<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="3"/>'
            '</rdf:RDF></x:xmpmeta>')
        (lib / "photo_013.jpg.xmp").chmod(0o444)
        locked = (lib / "photo_013.jpg.xmp").read_bytes()
        boss.put(f"/api/ratings/{ids['photo_013.jpg']}", json={"rating": 5})
        rej = ids["photo_015.jpg"]
        boss.put(f"/api/ratings/{rej}", json={"rating": 5})
        boss.put(f"/api/marks/{rej}", json={"flag": "reject", "label": None})
        body = {"mine": True, "predictions": True, "overwrite": True}
        dry = boss.post("/api/export/xmp", json={**body, "dry_run": True}).json()
        done = boss.post("/api/export/xmp", json={**body, "dry_run": False}).json()
        assert dry["counts"] == done["counts"]                                # preview and write agree
        acts = {(a["image"], a["kind"]): a for a in done["actions"]}
        ro = acts[(ids["photo_013.jpg"], "mine")]
        assert ro["action"] == "read-only" and "3★" in ro["reason"]          # overwrite never replaces it
        assert (lib / "photo_013.jpg.xmp").read_bytes() == locked
        assert (rej, "prediction") not in acts                               # a rejected photo: no predicted stars
        side = (lib / "photo_015.jpg.xmp").read_text()
        assert 'xmp:Rating="-1"' in side and 'xmpDM:pick="-1"' in side        # written as rejected, not as 5★
        assert all(str(lib) not in (a["reason"] or "") and "--" not in (a["reason"] or "")
                   for a in dry["actions"] + done["actions"])
        for i in (ids["photo_013.jpg"], rej):
            boss.delete(f"/api/ratings/{i}")
        boss.put(f"/api/marks/{rej}", json={"flag": None, "label": None})
    with login(srv, "ben") as ben:
        for name in ("photo_013.jpg", "photo_003.jpg"):
            ben.delete(f"/api/ratings/{ids[name]}")
    (lib / "photo_013.jpg.xmp").chmod(0o644)
    for p in lib.rglob("*.xmp"):
        p.unlink()


def test_team_view_and_shared_stars(srv):
    with login(srv, "anna") as a, login(srv, "ben") as b:
        ids = ids_by_name(a)
        x = ids["photo_012.jpg"]
        a.put(f"/api/ratings/{x}", json={"rating": 5})
        b.put(f"/api/ratings/{x}", json={"rating": 1})
        r = a.get("/api/team/ranking", params={"limit": 1000})
        assert r.status_code == 200, r.text
        t = r.json()
        assert {"anna", "ben"} <= set(t["members"]) and t["you_share"] is True
        item = next(im for im in t["images"] if im["id"] == x)
        assert {"username": "ben", "rating": 1.0} in item["ratings"] and item["rating"] == 5
        assert all(o["username"] != "anna" for o in item["ratings"])        # one's own stars are not "others'"
        assert item["agreement"] < 0.5                                       # 5 against 1: they disagree
        page = a.get("/api/team/ranking", params={"offset": 2, "limit": 3}).json()
        assert [im["id"] for im in page["images"]] == [im["id"] for im in t["images"][2:5]]


def test_password_change_revokes_other_tokens(srv):
    with login(srv, "cleo") as first, login(srv, "cleo") as second:
        assert second.post("/api/me/password", json={"old": "wrong-one", "new": "another-long-pw"}).status_code == 403
        assert second.post("/api/me/password", json={"old": PW, "new": "short"}).status_code == 422
        r = second.post("/api/me/password", json={"old": PW, "new": "another-long-pw"})
        assert r.status_code == 200 and r.json()["revoked"] >= 1
        assert first.get("/api/me").status_code == 401                       # the other token is gone
        assert second.get("/api/me").status_code == 200                      # this one stays
        assert second.post("/api/me/password", json={"old": "another-long-pw", "new": PW}).status_code == 200


def test_admins_invite_list_and_remove_members(srv):
    with httpx.Client(base_url=srv.url, timeout=60) as anon:
        assert anon.post("/api/signup", json={"username": "dan", "password": PW}).status_code == 403
    with login(srv, "anna") as c:
        assert c.post("/api/invites").status_code == 403                     # not an admin
        assert c.get("/api/users").status_code == 403
        assert c.get("/api/me").json()["is_admin"] is False
    with login(srv, "boss") as admin:
        assert admin.get("/api/me").json()["is_admin"] is True
        r = admin.post("/api/invites")
        assert r.status_code == 201, r.text
        code = r.json()["code"]
        assert datetime.fromisoformat(r.json()["expires"]) - datetime.fromisoformat(
            admin.get("/api/invites").json()["invites"][-1]["created"]) > timedelta(days=6.9)
        with httpx.Client(base_url=srv.url, timeout=60) as anon:
            bad = anon.post("/api/signup", json={"username": "dan", "password": PW, "invite": "made-up-code"})
            assert bad.status_code == 403
            ok = anon.post("/api/signup", json={"username": "dan", "password": PW, "invite": code})
            assert ok.status_code == 201, ok.text
            again = anon.post("/api/signup", json={"username": "eve", "password": PW, "invite": code})
            assert again.status_code == 403 and "used" in again.json()["detail"]
        inv = admin.get("/api/invites").json()["invites"]
        assert any(i["used_by"] == "dan" for i in inv) and all("code" not in i for i in inv)
        users = {u["username"]: u for u in admin.get("/api/users").json()["users"]}
        assert users["boss"]["is_admin"] and not users["dan"]["is_admin"]
        dan = login(srv, "dan")
        assert admin.delete(f"/api/users/{users['boss']['id']}").status_code == 409
        assert admin.delete(f"/api/users/{users['dan']['id']}").status_code == 204
        assert dan.get("/api/me").status_code == 401
        dan.close()
        assert admin.delete("/api/users/99999999").status_code == 404
        i2 = admin.post("/api/invites").json()
        assert admin.delete(f"/api/invites/{i2['id']}").status_code == 204
        with httpx.Client(base_url=srv.url, timeout=60) as anon:
            assert anon.post("/api/signup", json={"username": "fred", "password": PW,
                                                  "invite": i2["code"]}).status_code == 403
