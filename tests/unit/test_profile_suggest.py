"""``piaa profile suggest`` / ``piaa profile rate``: suggestions, pending ratings saved at once, refit at the end."""
from __future__ import annotations

import io
import json
import zlib
from pathlib import Path

import numpy as np
import pytest
from test_profiles_support import STANDIN, FakeScorer, colour_features, make_photos

from piaa.cli.main import main
from piaa.profiles import generic as gen
from piaa.profiles import suggest as sg
from piaa.profiles.profile import Profile
from piaa.profiles.store import ProfileStore


@pytest.fixture
def shoot(tmp_path, monkeypatch):
    paths, ratings = make_photos(tmp_path / "shoot", 24)
    monkeypatch.setattr(gen, "load_generic", lambda name=None: FakeScorer())
    from piaa.personalize.default_prior import load_default_prior

    dim = load_default_prior().dim
    proj = np.random.default_rng(0).normal(size=(3, dim))

    def feats(paths, backbone="efficientnet_lite0", variant="multilevel", errors=None):
        out = colour_features(list(paths)) @ proj
        for i, p in enumerate(paths):   # a little per-photo texture
            out[i] += 0.1 * np.random.default_rng(zlib.crc32(Path(p).name.encode())).normal(size=dim)
        return out

    monkeypatch.setattr(sg, "library_features", feats)
    return paths, ratings


def test_suggest_cold_start_json_and_csv(shoot, tmp_path, capsys):
    paths, _ = shoot
    st = str(tmp_path / "s.sqlite")
    assert main(["profile", "suggest", "--profile", "newbie", str(paths[0].parent), "-n", "6", "--format", "json",
                 "--store", st]) == 0
    recs = json.loads(capsys.readouterr().out)["suggestions"]
    got = [r["path"] for r in recs]
    assert len(got) == 6 == len(set(got)) and [r["rank"] for r in recs] == list(range(1, 7))
    assert set(got) <= {str(p.resolve()) for p in paths}
    assert main(["profile", "suggest", "--profile", "newbie", str(paths[0].parent), "-n", "3", "--format", "csv",
                 "--store", st]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "rank,path,generic" and len(lines) == 4


def test_suggest_never_repeats_rated_photos(shoot, tmp_path, capsys):
    paths, ratings = shoot
    store = ProfileStore(tmp_path / "s.sqlite")
    Profile.create("anna", ratings={str(p): r for p, r in zip(paths[:12], ratings[:12])}, method=STANDIN,
                   store=store, scorer=FakeScorer(), assess=False)
    assert main(["profile", "suggest", "--profile", "anna", str(paths[0].parent), "-n", "20", "--store", str(store.path)]) == 0
    out = capsys.readouterr().out
    shown = [ln.split()[-1] for ln in out.strip().splitlines()[1:]]
    assert len(shown) == 12                               # only the 12 unrated photos are left
    assert not set(shown) & {str(p.resolve()) for p in paths[:12]}


def test_rate_loop_saves_each_answer_and_refits(shoot, tmp_path, monkeypatch, capsys):
    paths, ratings = shoot
    store = ProfileStore(tmp_path / "s.sqlite")
    Profile.create("anna", ratings={str(p): r for p, r in zip(paths[:12], ratings[:12])}, method=STANDIN,
                   store=store, scorer=FakeScorer(), assess=False)
    saved_after = []
    real = sg.append_pending

    def spy(st, name, image, rating):
        real(st, name, image, rating)
        saved_after.append(len(sg.read_pending(st, name)))   # on disk at once, before the next question

    monkeypatch.setattr(sg, "append_pending", spy)
    monkeypatch.setattr("sys.stdin", io.StringIO("3\nwhat\ns\nx\n5\nq\n"))
    assert main(["profile", "rate", "--profile", "anna", str(paths[0].parent), "--store", str(store.path)]) == 0
    out = capsys.readouterr()
    assert saved_after == [1, 2, 3]
    assert "3 rating(s) saved, 1 skipped" in out.err and "refitted" in out.out and "? rate 1-5" in out.out
    prof = Profile.load("anna", store=store)
    assert len(prof.ratings) == 15
    new = [s for p, s, o in prof.ratings if o == "piaa profile rate"]
    assert sorted(new) == [1.0, 4.0, 7.0]                 # 3, x (=1), 5 on the profile's 1..7 scale
    assert not sg.pending_path(store, "anna").exists()


def test_rate_for_a_new_person_keeps_too_few_ratings_pending(shoot, tmp_path, monkeypatch, capsys):
    paths, _ = shoot
    store = ProfileStore(tmp_path / "s.sqlite")
    monkeypatch.setattr("sys.stdin", io.StringIO("4\n2\n"))       # end of input = quit
    assert main(["profile", "rate", "--profile", "newbie", str(paths[0].parent), "--store", str(store.path)]) == 0
    assert "not learned yet" in capsys.readouterr().err
    assert len(sg.read_pending(store, "newbie")) == 2 and not store.exists("newbie")
    # the next suggestions know those two ratings
    recs = sg.suggest("newbie", paths[0].parent, n=30, store=store, scorer=FakeScorer())
    assert len(recs) == 22


def test_bad_input_is_one_line(shoot, tmp_path, capsys):
    st = str(tmp_path / "s.sqlite")
    assert main(["profile", "suggest", "--profile", "anna", str(tmp_path / "nope"), "--store", st]) == 1
    assert "not a folder" in capsys.readouterr().err
    assert main(["profile", "suggest", "--profile", "anna", str(tmp_path / "shoot"), "-n", "0", "--store", st]) == 1
    assert "-n must be" in capsys.readouterr().err


def test_suggest_on_a_folder_of_unreadable_photos_says_so(tmp_path, monkeypatch, capsys):
    """Not only a header: one line saying no photo could be read, with the first reason."""
    folder = tmp_path / "broken"
    folder.mkdir()
    for i in range(3):
        (folder / f"b{i}.jpg").write_bytes(b"not a jpeg at all")
    monkeypatch.setattr(gen, "load_generic", lambda name=None: FakeScorer())
    st = str(tmp_path / "s.sqlite")
    assert main(["profile", "suggest", "--profile", "newbie", str(folder), "--store", st]) == 1
    cap = capsys.readouterr()
    assert "rank" not in cap.out
    assert "none of the 3 photo(s)" in cap.err and "b0.jpg: not an image" in cap.err


def test_old_positional_form_still_works_with_a_deprecation_note(tmp_path, capsys):
    """``profile suggest NAME FOLDER`` (before ``--profile`` was used as everywhere else) still runs, and says
    once on stderr what to write instead; a FOLDER alone without --profile is a usage error."""
    st = str(tmp_path / "p.sqlite")
    (tmp_path / "shoot").mkdir()
    assert main(["profile", "suggest", "anna", str(tmp_path / "shoot"), "--store", st]) == 1  # read: it is empty
    err = capsys.readouterr().err
    assert "warning: 'piaa profile suggest NAME FOLDER' is deprecated; use 'piaa profile suggest --profile NAME " \
           "FOLDER'" in err and "no photos found in" in err and "shoot" in err
    assert main(["profile", "suggest", str(tmp_path / "shoot"), "--store", st]) == 2
    assert "give --profile NAME" in capsys.readouterr().err
