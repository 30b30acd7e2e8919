"""Writing predicted stars: metadata preserved, the person's ratings respected, atomic, images untouched."""
from __future__ import annotations

import os
import stat
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image

from piaa.profiles.xmp import NS_PIAA, parse_packet
from piaa.profiles.xmp_write import apply_writes, plan_writes

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "xmp"
RATING = "{http://ns.adobe.com/xap/1.0/}Rating"


def flatten(data: bytes):
    """Every element and attribute of a packet, except xmp:Rating and our own marker, in document order."""
    root = parse_packet(data).root
    out = []
    for el in root.iter():
        if not isinstance(el.tag, str) or el.tag == RATING or el.tag.startswith(f"{{{NS_PIAA}}}"):
            continue
        attrs = sorted((k, v) for k, v in el.attrib.items() if k != RATING and not k.startswith(f"{{{NS_PIAA}}}"))
        out.append((el.tag, tuple(attrs), (el.text or "").strip()))
    return out


def photo(path: Path, xmp: bytes = None) -> Path:
    kw = {"xmp": xmp} if xmp else {}
    Image.new("RGB", (16, 12), (120, 60, 30)).save(path, **kw)
    return path


def rec(path, stars, score=5.0):
    return {"rank": 1, "path": str(path), "score": score, "stars": stars}


def run(records, **kw):
    actions = plan_writes(records, profile="anna", **kw)
    return apply_writes(actions, {r["path"]: r["score"] for r in records}, profile="anna")


@pytest.mark.parametrize("fixture_name, sidecar_name", [
    ("darktable_IMG_0001.CR2.xmp", "IMG_0001.JPG.xmp"),
    ("lightroom_IMG_0003.xmp", "IMG_0001.xmp"),
    ("digikam_IMG_0004.JPG.xmp", "IMG_0001.JPG.xmp"),
    ("exiftool_element_form.xmp", "IMG_0001.JPG.xmp"),
])
def test_overwrite_preserves_every_other_property(tmp_path, fixture_name, sidecar_name):
    img = photo(tmp_path / "IMG_0001.JPG")
    side = tmp_path / sidecar_name
    original = (FIX / fixture_name).read_bytes()
    side.write_bytes(original)
    image_bytes = img.read_bytes()
    [a] = run([rec(img, 1, 2.5)], overwrite=True)
    assert a.action == "update" and a.sidecar == str(side)
    new = side.read_bytes()
    pkt = parse_packet(new)
    assert pkt.rating() == 1 and pkt.predicted_marker() == 1
    assert flatten(new) == flatten(original)          # history, keywords, crs:, digiKam tags ... all kept
    assert img.read_bytes() == image_bytes             # the photo itself is never written
    head = original.split(b"<x:xmpmeta")[0]
    assert new.startswith(head)                        # XML declaration / xpacket header verbatim
    assert new.endswith(b"</x:xmpmeta>" + original.rsplit(b"</x:xmpmeta>", 1)[1])  # trailer / padding verbatim


def test_darktable_history_survives_verbatim(tmp_path):
    img = photo(tmp_path / "IMG_0001.JPG")
    side = tmp_path / "IMG_0001.JPG.xmp"
    side.write_bytes((FIX / "darktable_IMG_0001.CR2.xmp").read_bytes())
    run([rec(img, 2)], overwrite=True)
    text = side.read_text()
    start = text.index("<darktable:history>")
    orig = (FIX / "darktable_IMG_0001.CR2.xmp").read_text()
    assert text[start:text.index("</darktable:history>")] == orig[orig.index("<darktable:history>"):
                                                                  orig.index("</darktable:history>")]
    assert 'xmp:Rating="2"' in text and 'piaa:PredictedRating="2"' in text
    assert 'xmlns:piaa="urn:x-piaa:xmp:1.0/"' in text


def test_persons_rating_is_kept_without_overwrite(tmp_path):
    img = photo(tmp_path / "IMG_0001.JPG")
    side = tmp_path / "IMG_0001.JPG.xmp"
    side.write_bytes((FIX / "darktable_IMG_0001.CR2.xmp").read_bytes())
    before = side.read_bytes()
    [a] = run([rec(img, 1)])
    assert a.action == "keep" and "your rating 4★" in a.reason
    assert side.read_bytes() == before


def test_unrated_sidecar_is_filled_and_ours_can_be_updated(tmp_path):
    img = photo(tmp_path / "a.jpg")
    side = tmp_path / "a.jpg.xmp"
    side.write_bytes((FIX / "unrated.xmp").read_bytes())
    [a] = run([rec(img, 3)])
    assert a.action == "update" and parse_packet(side.read_bytes()).rating() == 3
    [a] = run([rec(img, 3)])
    assert a.action == "unchanged"
    [a] = run([rec(img, 5)])                          # our own earlier prediction: replaced freely
    assert a.action == "update" and parse_packet(side.read_bytes()).rating() == 5


def test_person_changing_our_prediction_makes_it_theirs(tmp_path):
    img = photo(tmp_path / "a.jpg")
    run([rec(img, 3)])
    side = tmp_path / "a.jpg.xmp"
    pkt = parse_packet(side.read_bytes())
    for d in pkt.descriptions():                       # the person sets 1 star in darktable
        if RATING in d.attrib:
            d.set(RATING, "1")
    side.write_bytes(pkt.to_bytes())
    [a] = run([rec(img, 5)])
    assert a.action == "keep"
    assert parse_packet(side.read_bytes()).rating() == 1


@pytest.mark.parametrize("style, name", [("darktable", "new.jpg.xmp"), ("lightroom", "new.xmp")])
def test_new_sidecar_in_the_chosen_style(tmp_path, style, name):
    img = photo(tmp_path / "new.jpg")
    [a] = run([rec(img, 4, 6.1)], style=style)
    side = tmp_path / name
    assert a.action == "create" and a.sidecar == str(side)
    pkt = parse_packet(side.read_bytes())
    assert pkt.rating() == 4 and pkt.predicted_marker() == 4
    assert side.read_bytes().startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<x:xmpmeta')
    d = pkt.descriptions()[0]
    assert d.get(f"{{{NS_PIAA}}}Profile") == "anna" and float(d.get(f"{{{NS_PIAA}}}Score")) == pytest.approx(6.1)
    ET.fromstring(side.read_bytes())                  # plain XML parsers read it too


def test_rating_embedded_in_the_photo_is_respected(tmp_path):
    img = photo(tmp_path / "lr.jpg", xmp=(FIX / "embedded_packet_adobe.xml").read_bytes())
    [a] = run([rec(img, 1)])
    assert a.action == "keep" and "inside the photo" in a.reason
    assert not (tmp_path / "lr.jpg.xmp").exists()
    [a] = run([rec(img, 1)], overwrite=True)
    assert a.action == "create" and (tmp_path / "lr.jpg.xmp").exists()


def test_unparseable_sidecar_is_never_touched(tmp_path):
    img = photo(tmp_path / "b.jpg")
    side = tmp_path / "b.jpg.xmp"
    side.write_bytes((FIX / "malformed.xmp").read_bytes())
    [a] = run([rec(img, 5)], overwrite=True)
    assert a.action == "error" and "cannot read sidecar" in a.reason
    assert side.read_bytes() == (FIX / "malformed.xmp").read_bytes()


def test_dry_run_plan_writes_nothing(tmp_path):
    img = photo(tmp_path / "c.jpg")
    actions = plan_writes([rec(img, 2)])
    assert [a.action for a in actions] == ["create"] and "would create" in actions[0].describe(True)
    assert sorted(os.listdir(tmp_path)) == ["c.jpg"]


def test_permissions_kept_and_no_temp_files_left(tmp_path):
    img = photo(tmp_path / "d.jpg")
    side = tmp_path / "d.jpg.xmp"
    side.write_bytes((FIX / "unrated.xmp").read_bytes())
    os.chmod(side, 0o640)
    run([rec(img, 2)])
    assert stat.S_IMODE(side.stat().st_mode) == 0o640
    assert sorted(os.listdir(tmp_path)) == ["d.jpg", "d.jpg.xmp"]


def test_error_records_are_skipped(tmp_path):
    assert plan_writes([{"path": str(tmp_path / "x.jpg"), "error": "not an image", "stars": None}]) == []


def test_default_namespace_escapes_comments_and_pis_survive_an_edit():
    doc = (b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>\n<x:xmpmeta xmlns:x="adobe:ns:meta/">'
           b'<RDF xmlns="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><!-- c --><Description '
           b'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/" '
           b'dc:title="a &amp; b &lt;c&gt; &quot;q&quot;&#10;line2"><xmp:Label>Red &amp; blue</xmp:Label>'
           b'<?pi data?></Description></RDF></x:xmpmeta>\n<?xpacket end="w"?>')
    pkt = parse_packet(doc)
    assert pkt.rating() is None
    pkt.set_predicted(4, 3.2, "x & y")
    out = pkt.to_bytes()
    again = parse_packet(out)
    assert again.rating() == 4 and again.predicted_marker() == 4
    assert flatten(out) == flatten(doc)
    assert b"<!-- c -->" in out and b"<?pi data?>" in out and out.endswith(b'\n<?xpacket end="w"?>')
    desc = again.descriptions()[0]
    assert desc.get("{http://purl.org/dc/elements/1.1/}title") == 'a & b <c> "q"\nline2'
    assert desc.get(f"{{{NS_PIAA}}}Profile") == "x & y"


@pytest.mark.parametrize("order", [("IMG_0007.CR2", "IMG_0007.JPG"), ("IMG_0007.JPG", "IMG_0007.CR2")])
def test_raw_and_jpeg_pair_share_one_lightroom_sidecar_without_flipping(tmp_path, order):
    """a RAW + JPEG pair with Lightroom naming both map to IMG_0007.xmp; the RAW's mark is written
    once, the JPEG is reported as sharing it, and running again changes nothing."""
    (tmp_path / "IMG_0007.CR2").write_bytes(b"raw bytes are never opened for writing")
    photo(tmp_path / "IMG_0007.JPG")
    stars = {"IMG_0007.CR2": 2, "IMG_0007.JPG": 5}
    recs = [rec(tmp_path / n, stars[n], score=float(stars[n])) for n in order]
    for attempt in range(3):
        acts = {Path(a.image).name: a for a in run(recs, style="lightroom")}
        assert acts["IMG_0007.CR2"].action == ("create" if attempt == 0 else "unchanged")
        assert acts["IMG_0007.JPG"].action == "shared" and "IMG_0007.CR2" in acts["IMG_0007.JPG"].reason
        assert parse_packet((tmp_path / "IMG_0007.xmp").read_bytes()).rating() == 2
    assert sorted(p.name for p in tmp_path.glob("*.xmp")) == ["IMG_0007.xmp"]
    # two non-RAW files of one base name: the better-scored one owns the sidecar
    photo(tmp_path / "b.jpg")
    photo(tmp_path / "b.png")
    acts = {Path(a.image).name: a for a in run([rec(tmp_path / "b.jpg", 3, 3.0), rec(tmp_path / "b.png", 4, 4.0)],
                                                 style="lightroom")}
    assert acts["b.png"].action == "create" and acts["b.jpg"].action == "shared"
    # darktable naming: one sidecar per file, nothing shared
    photo(tmp_path / "c.jpg")
    photo(tmp_path / "c.png")
    acts = run([rec(tmp_path / "c.jpg", 3, 3.0), rec(tmp_path / "c.png", 4, 4.0)], style="darktable")
    assert [a.action for a in acts] == ["create", "create"]
