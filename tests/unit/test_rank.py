"""Ranking: quantile stars, record order, and `piaa rank` with and without a profile, formats, --write-xmp."""
from __future__ import annotations

import csv
import io
import json
import os

import numpy as np
import pytest
from test_profiles_support import STANDIN, FakeScorer, make_photos

from piaa.cli.main import main
from piaa.profiles import generic as gen
from piaa.profiles.profile import Profile
from piaa.profiles.ranking import quantile_stars, rank_records
from piaa.profiles.store import ProfileStore
from piaa.profiles.xmp import parse_packet


def test_quantile_stars_twenty_percent_each():
    s = np.arange(100, dtype=float)
    st = quantile_stars(s)
    assert [int((st == k).sum()) for k in range(1, 6)] == [20] * 5
    assert st[0] == 1 and st[-1] == 5
    assert list(quantile_stars(-s)) == list(st[::-1])


def test_quantile_stars_small_sets_ties_nan_and_direction():
    assert list(quantile_stars([0.3])) == [3]
    assert list(quantile_stars([1.0, 2.0])) == [2, 4]
    assert list(quantile_stars([2.0, 2.0, 2.0, 2.0])) == [3, 3, 3, 3]
    assert list(quantile_stars([1.0, np.nan, 3.0])) == [2, 0, 4]
    assert list(quantile_stars([1.0, 2.0], higher_better=False)) == [4, 2]


def test_rank_records_order_top_and_errors():
    recs = rank_records(["a", "b", "c", "d"], [0.1, 0.9, np.nan, 0.5], {2: "not an image"}, top=2)
    assert [(r["rank"], r["path"]) for r in recs[:2]] == [(1, "b"), (2, "d")]
    assert recs[-1] == {"rank": None, "path": "c", "score": None, "stars": None, "error": "not an image"}
    assert len(recs) == 3
    low = rank_records(["a", "b"], [3.0, 1.0], higher_better=False)
    assert low[0]["path"] == "b" and low[0]["stars"] == 4


@pytest.fixture
def shoot(tmp_path, monkeypatch):
    paths, ratings = make_photos(tmp_path / "shoot", 15, seed=5)
    (tmp_path / "shoot" / "corrupt.jpg").write_bytes(b"\xff\xd8 truncated")
    monkeypatch.setattr(gen, "load_generic", lambda name=None: FakeScorer())
    return paths, ratings


def test_cli_generic_rank_table_json_csv(shoot, tmp_path, capsys):
    paths, _ = shoot
    folder = str(paths[0].parent)
    assert main(["rank", folder]) == 0
    out, err = capsys.readouterr()
    assert "generic model" in err and "1 photo(s) could not be scored" in err
    lines = out.strip().splitlines()
    assert lines[0].split()[:3] == ["rank", "stars", "score"] and "[error:" in lines[-1]
    assert main(["rank", folder, "--format", "json", "--top", "3"]) == 0
    recs = json.loads(capsys.readouterr().out)
    assert [r["rank"] for r in recs[:3]] == [1, 2, 3] and recs[-1]["error"]
    green = FakeScorer().score([r["path"] for r in recs[:3]])
    assert [g["score"] for g in green] == pytest.approx([r["score"] for r in recs[:3]], abs=1e-5)
    outfile = tmp_path / "rank.csv"
    assert main(["rank", folder, "--format", "csv", "--output", str(outfile)]) == 0
    rows = list(csv.DictReader(io.StringIO(outfile.read_text())))
    assert len(rows) == 16 and rows[0]["rank"] == "1" and rows[-1]["error"]


def test_cli_rank_with_profile_and_write_xmp(shoot, tmp_path, capsys):
    """Predicted stars for the photos the profile was not rated on; a rated photo (its CSV's rating, any scale)
    gets the person's own stars by the one mapping piaa serve's XMP export uses (``rating_stars``)."""
    from piaa.profiles.ranking import rating_stars

    paths, ratings = shoot
    store = ProfileStore(tmp_path / "p.sqlite")
    own = dict(zip(map(str, paths[:11]), ratings[:11]))
    Profile.create("anna", ratings=own, method=STANDIN, store=store, scorer=FakeScorer())
    scale = Profile.load("anna", store=store).scale
    folder = str(paths[0].parent)
    args = ["rank", folder, "--profile", "anna", "--store", str(store.path), "--format", "json"]
    before = {p: p.read_bytes() for p in paths}
    assert main(args + ["--write-xmp", "--dry-run"]) == 0
    out, err = capsys.readouterr()
    assert "XMP dry run (nothing written): 15 create" in err
    assert not any(n.endswith(".xmp") for n in os.listdir(folder))
    recs = json.loads(out)
    ranked = [r for r in recs if r.get("error") is None]
    by_path = {str(p): r for p, r in zip(paths, ratings)}
    assert np.mean([by_path[r["path"]] for r in ranked[:5]]) > np.mean([by_path[r["path"]] for r in ranked[-5:]])
    assert main(args + ["--write-xmp"]) == 0
    assert "XMP sidecars: 15 create" in capsys.readouterr().err
    for r in ranked:
        pkt = parse_packet(open(r["path"] + ".xmp", "rb").read())
        if r["path"] in own:
            assert pkt.rating() == rating_stars(own[r["path"]], scale) and pkt.predicted_marker() is None
        else:
            assert pkt.rating() == r["stars"] == pkt.predicted_marker()
    assert {p: p.read_bytes() for p in paths} == before      # photos untouched
    assert main(args + ["--write-xmp"]) == 0
    assert "15 unchanged" in capsys.readouterr().err


def test_one_star_mapping_for_a_persons_own_ratings():
    from piaa.profiles.ranking import rating_stars

    assert [rating_stars(v, (1, 5)) for v in (1, 2, 3, 4, 5)] == [1, 2, 3, 4, 5]
    assert [rating_stars(v, (1, 10)) for v in (1, 3, 5.5, 8, 10)] == [1, 2, 3, 4, 5]
    assert [rating_stars(v, (1, 7)) for v in (1, 4, 7, 0, 9)] == [1, 3, 5, 1, 5]
    assert rating_stars(2.0, (2, 2)) == 3


def test_cli_rank_errors(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(gen, "load_generic", lambda name=None: FakeScorer())
    assert main(["rank", str(tmp_path / "nope")]) == 1
    assert "no such file or folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["rank", str(tmp_path / "empty")]) == 1
    assert "no photos found" in capsys.readouterr().err
    make_photos(tmp_path / "x", 2)
    assert main(["rank", str(tmp_path / "x"), "--profile", "ghost", "--store", str(tmp_path / "s.sqlite")]) == 1
    assert "no profile named 'ghost'" in capsys.readouterr().err
