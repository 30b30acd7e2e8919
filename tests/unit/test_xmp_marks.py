"""Predictions as stars, colour labels or keywords; --overwrite backs the person's value up; clearing removes
exactly what piaa wrote."""
from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from piaa.cli.main import main
from piaa.profiles.xmp import parse_packet
from piaa.profiles.xmp_marks import LABEL, P_ORIG_RATING, RATING, Mark, get_prop, keywords
from piaa.profiles.xmp_write import apply_writes, clear_predictions, plan_writes

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "xmp"


def photo(path: Path) -> Path:
    Image.new("RGB", (16, 12), (120, 60, 30)).save(path)
    return path


def write(records, **kw):
    actions = plan_writes(records, profile="anna", **kw)
    return apply_writes(actions, {r["path"]: r.get("score", 4.0) for r in records}, profile="anna")


def rec(path, stars):
    return {"rank": 1, "path": str(path), "score": 4.0, "stars": stars}


def pkt(path):
    return parse_packet(Path(path).read_bytes())


def test_label_mode_leaves_stars_alone_and_keeps_the_persons_label(tmp_path):
    a, b = photo(tmp_path / "a.jpg"), photo(tmp_path / "b.jpg")
    side_b = tmp_path / "b.jpg.xmp"
    side_b.write_bytes((FIX / "darktable_IMG_0001.CR2.xmp").read_bytes())   # the person's 4 stars
    before = get_prop(pkt(side_b), RATING)
    acts = write([rec(a, 5), rec(b, 1)], mark="label")
    assert [x.action for x in acts] == ["create", "update"]
    pa = pkt(tmp_path / "a.jpg.xmp")
    assert get_prop(pa, LABEL) == "Green" and get_prop(pa, RATING) is None
    pb = pkt(side_b)
    assert get_prop(pb, LABEL) == "Red" and get_prop(pb, RATING) == before    # stars untouched
    # the person then sets their own label: a re-run keeps it
    side_b.write_bytes(side_b.read_bytes().replace(b'xmp:Label="Red"', b'xmp:Label="Purple"'))
    [keep] = plan_writes([rec(b, 3)], mark="label")
    assert keep.action == "keep" and "Purple" in keep.reason


def test_keyword_mode_adds_one_keyword_to_the_existing_bag(tmp_path):
    img = photo(tmp_path / "IMG_0004.JPG")
    side = tmp_path / "IMG_0004.JPG.xmp"
    side.write_bytes((FIX / "digikam_IMG_0004.JPG.xmp").read_bytes())
    kw_before = keywords(pkt(side))
    write([rec(img, 4)], mark="keyword")
    assert keywords(pkt(side)) == kw_before + ["piaa-predicted-4-stars"]
    write([rec(img, 2)], mark="keyword")                 # a new prediction replaces ours, not theirs
    assert keywords(pkt(side)) == kw_before + ["piaa-predicted-2-stars"]
    [keep] = write([rec(img, 5)], mark="rating")         # stars: the person's own are there, kept
    assert keep.action == "keep" and keywords(pkt(side))[-1] == "piaa-predicted-2-stars"
    write([rec(img, 5)], mark="label")                   # switching mode takes our keyword back
    assert keywords(pkt(side)) == kw_before and get_prop(pkt(side), LABEL) == "Green"
    clear_predictions([img])
    assert keywords(pkt(side)) == kw_before and get_prop(pkt(side), LABEL) is None


@pytest.mark.parametrize("fixture_name", ["darktable_IMG_0001.CR2.xmp", "lightroom_IMG_0003.xmp",
                                          "digikam_IMG_0004.JPG.xmp", "exiftool_element_form.xmp"])
def test_overwrite_backs_up_and_clear_restores_byte_for_byte(tmp_path, fixture_name):
    img = photo(tmp_path / "IMG_0001.JPG")
    side = tmp_path / "IMG_0001.JPG.xmp"
    original = (FIX / fixture_name).read_bytes()
    side.write_bytes(original)
    theirs = get_prop(pkt(side), RATING)
    assert theirs not in (None, "0")
    [a] = write([rec(img, 1)], overwrite=True)
    assert a.action == "update"
    p = pkt(side)
    assert get_prop(p, RATING) == "1" and get_prop(p, P_ORIG_RATING) == theirs
    [r] = clear_predictions([tmp_path])
    assert r["action"] == "cleared" and "restored" in r["changes"][0]
    assert side.read_bytes() == parse_packet(original).to_bytes()   # = the untouched file as piaa writes it


def test_clear_keeps_a_rating_the_person_changed_and_deletes_sidecars_piaa_created(tmp_path):
    a, b, c = (photo(tmp_path / f"{n}.jpg") for n in "abc")
    (tmp_path / "c.jpg.xmp").write_bytes((FIX / "unrated.xmp").read_bytes())
    c_before = (tmp_path / "c.jpg.xmp").read_bytes()
    write([rec(a, 5), rec(b, 3)])
    side_b = tmp_path / "b.jpg.xmp"
    side_b.write_bytes(side_b.read_bytes().replace(b'xmp:Rating="3"', b'xmp:Rating="1"'))  # the person's now
    dry = clear_predictions([tmp_path], dry_run=True)
    assert {Path(r["sidecar"]).name: r["action"] for r in dry} == {"a.jpg.xmp": "deleted", "b.jpg.xmp": "cleared",
                                                                   "c.jpg.xmp": "none"}
    assert (tmp_path / "a.jpg.xmp").exists()             # dry run: nothing written
    clear_predictions([tmp_path])
    assert not (tmp_path / "a.jpg.xmp").exists()
    pb = pkt(side_b)
    assert get_prop(pb, RATING) == "1" and b"piaa" not in side_b.read_bytes().split(b"xmptk")[1][10:]
    assert (tmp_path / "c.jpg.xmp").read_bytes() == c_before


def test_cli_write_then_clear(tmp_path, capsys, monkeypatch):

    imgs = [photo(tmp_path / f"p{i}.jpg") for i in range(3)]
    write([rec(p, s) for p, s in zip(imgs, (5, 3, 1))], mark="label")
    assert main(["rank", str(tmp_path), "--clear-predictions", "--dry-run"]) == 0
    err = capsys.readouterr().err
    assert "would delete" in err and "dry run" in err and (tmp_path / "p0.jpg.xmp").exists()
    assert main(["rank", str(tmp_path), "--clear-predictions"]) == 0
    assert "3 deleted" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.xmp"))
    assert main(["rank", str(tmp_path / "nope"), "--clear-predictions"]) == 1


def test_mark_parsing():
    assert Mark.parse("rating:-1") == Mark("rating", "-1") and Mark.parse("label:green") == Mark("label", "Green")
    assert Mark.parse("none") is None and Mark.parse("keyword:best of") == Mark("keyword", "best of")
    for bad in ("rating:0", "rating:7", "label:pink", "colour:Red", "keyword:", "keyword:a\x01b"):
        with pytest.raises(ValueError):
            Mark.parse(bad)
