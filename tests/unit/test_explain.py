"""`piaa explain` and the taste `profile show` prints: the person's own photos as the evidence."""
from __future__ import annotations

import json

import pytest

from piaa.cli.main import main
from piaa.profiles import generic as gen
from piaa.profiles.explain import similar_rated, taste_in_photos
from piaa.profiles.profile import Profile
from test_profiles_support import STANDIN, FakeScorer, colour_features, make_photos


@pytest.fixture
def anna(tmp_path, monkeypatch):
    monkeypatch.setattr(gen, "load_generic", lambda name=None: FakeScorer())
    paths, ratings = make_photos(tmp_path / "shoot", 24)
    st = str(tmp_path / "p.sqlite")
    prof = Profile.create("anna", ratings=dict(zip(map(str, paths), ratings)), method=STANDIN, store=st,
                          scorer=FakeScorer(), assess=False)
    return prof, paths, ratings, st


def test_taste_in_photos_lifts_what_the_person_likes_more_than_the_crowd(anna):
    prof, paths, ratings, _ = anna
    t = taste_in_photos(prof, k=3)
    red = lambda items: colour_features([i["path"] for i in items])[:, 0].mean()  # noqa: E731
    # this person likes red, the generic stand-in likes green: their own taste lifts the red photos
    assert len(t["lifted"]) == 3 and len(t["lowered"]) == 3
    assert red(t["lifted"]) > red(t["lowered"]) + 0.3
    assert all(i["shift"] > 0 for i in t["lifted"]) and all(i["shift"] < 0 for i in t["lowered"])
    assert {i["path"]: i["your_rating"] for i in t["lifted"]} == \
        {str(p): r for p, r in zip(paths, ratings) if str(p) in {i["path"] for i in t["lifted"]}}


def test_similar_rated_finds_the_photo_itself_first(anna):
    prof, paths, ratings, _ = anna
    sims, problem = similar_rated(prof, paths[5], k=4)
    assert problem is None and len(sims) == 4
    assert sims[0]["path"] == str(paths[5]) and sims[0]["similarity"] == pytest.approx(1.0, abs=1e-3)
    assert sims[0]["your_rating"] == ratings[5]
    assert [s["similarity"] for s in sims] == sorted((s["similarity"] for s in sims), reverse=True)


def test_cli_explain_and_show(anna, tmp_path, capsys):
    prof, paths, ratings, st = anna
    assert main(["explain", str(paths[3]), "--profile", "anna", "--store", st, "--format", "json", "--top", "3"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["similar_rated"][0]["path"] == str(paths[3]) and len(out["similar_rated"]) == 3
    assert 1 <= out["score"] <= 7 and out["scale"] == [1.0, 7.0]
    assert main(["explain", str(paths[3]), "--profile", "anna", "--store", st]) == 0
    text = capsys.readouterr().out
    assert "for anna (on 1..7)" in text and "look most like it" in text and paths[3].name in text
    assert main(["explain", str(tmp_path / "nope.jpg"), "--profile", "anna", "--store", st]) == 1
    assert main(["explain", str(paths[3]), "--profile", "nobody", "--store", st]) == 1
    assert main(["explain", str(paths[3]), "--profile", "anna", "--store", st, "--top", "0"]) == 2
    capsys.readouterr()
    assert main(["profile", "show", "anna", "--store", st]) == 0
    shown = capsys.readouterr().out
    assert "lifts most" in shown and "lowers most" in shown and "you rated highest" in shown


def test_cli_explain_says_what_the_photo_shows_at_100_percent(anna, capsys, monkeypatch):
    from types import SimpleNamespace

    from piaa.profiles import photo_detail

    def one_face(rgb):
        h, w = rgb.shape[:2]
        return [SimpleNamespace(box=(w // 4, h // 4, w // 2, h // 2), confidence=0.9, eyes="closed",
                                eyes_open_probability=0.1, eye_boxes=[], landmarks=None)]

    monkeypatch.setattr(photo_detail, "default_detector", lambda: one_face)
    prof, paths, ratings, st = anna
    assert main(["explain", str(paths[3]), "--profile", "anna", "--store", st, "--format", "json"]) == 0
    words = json.loads(capsys.readouterr().out)["at_100_percent"]
    assert words[0] == "1 face(s); the largest has its eyes closed"
    assert words[1] == "no detail to judge focus on (a flat or tiny picture)"      # 24 x 20 px of one colour
    assert main(["explain", str(paths[3]), "--profile", "anna", "--store", st]) == 0
    assert "at 100 %: 1 face(s)" in capsys.readouterr().out
    assert main(["explain", str(paths[3]), "--profile", "anna", "--store", st, "--format", "json",
                 "--no-detail"]) == 0
    assert "at_100_percent" not in json.loads(capsys.readouterr().out)
