"""Reading star ratings from XMP: sidecars as darktable / Lightroom / digiKam / exiftool write them, XMP embedded
in JPEG (APP1) and TIFF (tag 700), and a whole photo folder imported as a profile's ratings."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from piaa.profiles.ratings_import import ProfileInputError, ratings_from_xmp
from piaa.profiles.xmp import XMPError, parse_packet
from piaa.profiles.xmp_files import find_sidecar, read_embedded_xmp, read_rating, sidecar_candidates

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "xmp"
JPEG_APP1_XMP = b"http://ns.adobe.com/xap/1.0/\x00"


def fixture(name: str) -> bytes:
    return (FIX / name).read_bytes()


@pytest.mark.parametrize("name, rating", [
    ("darktable_IMG_0001.CR2.xmp", 4.0),
    ("darktable_rejected_IMG_0002.JPG.xmp", -1.0),
    ("lightroom_IMG_0003.xmp", 5.0),
    ("digikam_IMG_0004.JPG.xmp", 2.0),
    ("exiftool_element_form.xmp", 3.0),       # <xmp:Rating>3</xmp:Rating>
    ("embedded_packet_adobe.xml", 3.0),
    ("unrated.xmp", 0.0),
])
def test_rating_in_every_layout(name, rating):
    assert parse_packet(fixture(name), name).rating() == rating


@pytest.mark.parametrize("name", ["darktable_IMG_0001.CR2.xmp", "lightroom_IMG_0003.xmp", "digikam_IMG_0004.JPG.xmp",
                                  "darktable_rejected_IMG_0002.JPG.xmp", "unrated.xmp"])
def test_unedited_packets_serialize_byte_identical(name):
    data = fixture(name)
    assert parse_packet(data).to_bytes() == data


def test_no_rating_is_none():
    pkt = parse_packet(b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
                       b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about=""/>'
                       b"</rdf:RDF></x:xmpmeta>")
    assert pkt.rating() is None and pkt.predicted_marker() is None


@pytest.mark.parametrize("name, message", [
    ("malformed.xmp", "malformed XML at line"),
    ("entity_bomb.xmp", "DTD / entity declarations are not allowed"),
])
def test_broken_and_hostile_packets_are_refused(name, message):
    with pytest.raises(XMPError, match=message):
        parse_packet(fixture(name), name)


def test_internal_entity_inside_root_is_refused():
    bomb = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><!DOCTYPE x [<!ENTITY a "aaaa">]><y>&a;</y></x:xmpmeta>')
    with pytest.raises(XMPError):
        parse_packet(bomb)


@pytest.mark.parametrize("text, message", [
    ("<html><body/></html>", "not an XMP packet"),
    ("", "empty packet"),
    ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
     '<rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="7"/></rdf:RDF></x:xmpmeta>',
     "outside the XMP range"),
    ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
     '<rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="lots"/></rdf:RDF></x:xmpmeta>',
     "not a number"),
])
def test_invalid_ratings_and_documents(text, message):
    with pytest.raises(XMPError, match=message):
        parse_packet(text.encode()).rating()


# ---- where XMP lives -----------------------------------------------------------------------------------------------
def test_sidecar_naming_styles(tmp_path):
    img = tmp_path / "IMG_0001.CR2"
    img.write_bytes(b"raw")
    assert sidecar_candidates(img)[0].name == "IMG_0001.CR2.xmp"
    assert find_sidecar(img) is None
    (tmp_path / "IMG_0001.xmp").write_bytes(fixture("lightroom_IMG_0003.xmp"))
    assert find_sidecar(img).name == "IMG_0001.xmp"              # Lightroom style
    (tmp_path / "IMG_0001.CR2.xmp").write_bytes(fixture("darktable_IMG_0001.CR2.xmp"))
    assert find_sidecar(img).name == "IMG_0001.CR2.xmp"          # darktable / digiKam style wins
    assert read_rating(img).value == 4.0


def _jpeg_with_xmp(path: Path, packet: bytes, colour=(200, 40, 40)) -> Path:
    Image.new("RGB", (16, 12), colour).save(path, xmp=packet)
    return path


def test_embedded_xmp_in_jpeg_app1_segment(tmp_path):
    packet = fixture("embedded_packet_adobe.xml")
    img = _jpeg_with_xmp(tmp_path / "embedded.jpg", packet)
    raw = img.read_bytes()
    assert JPEG_APP1_XMP in raw  # Pillow wrote a real APP1 XMP segment
    assert read_embedded_xmp(img).strip() == packet.strip()
    found = read_rating(img)
    assert (found.value, found.source) == (3.0, "embedded")


def test_embedded_xmp_in_tiff_tag_700(tmp_path):
    img = tmp_path / "scan.tif"
    Image.new("RGB", (16, 12), (10, 200, 10)).save(img, tiffinfo={700: fixture("embedded_packet_adobe.xml")})
    found = read_rating(img)
    assert (found.value, found.source) == (3.0, "embedded")


def test_sidecar_wins_over_embedded(tmp_path):
    img = _jpeg_with_xmp(tmp_path / "photo.jpg", fixture("embedded_packet_adobe.xml"))
    (tmp_path / "photo.jpg.xmp").write_bytes(fixture("digikam_IMG_0004.JPG.xmp"))
    found = read_rating(img)
    assert (found.value, found.source) == (2.0, "sidecar")


def test_unreadable_sidecar_reported_not_raised(tmp_path):
    img = _jpeg_with_xmp(tmp_path / "photo.jpg", fixture("embedded_packet_adobe.xml"))
    (tmp_path / "photo.jpg.xmp").write_bytes(fixture("malformed.xmp"))
    found = read_rating(img)
    assert found.value == 3.0 and "malformed" in found.error


# ---- a photo folder as a profile's ratings ------------------------------------------------------------------------
def _set_rating(template: bytes, value) -> bytes:
    """Test data only: the same sidecar layout with another star value."""
    for old in (b'xmp:Rating="4"', b'xmp:Rating="5"', b'xmp:Rating="2"', b'xmp:Rating="-1"'):
        if old in template:
            return template.replace(old, f'xmp:Rating="{value}"'.encode())
    raise AssertionError("template has no attribute-form rating")


def _photo(path: Path, seed: int) -> Path:
    rgb = tuple(int(v) for v in np.random.default_rng(seed).integers(0, 256, 3))
    Image.new("RGB", (16, 12), rgb).save(path)
    return path


def build_library(root: Path) -> dict:
    """A photo library touched by three tools; returns the expected {photo name: score}."""
    expect = {}
    dt = root / "2023" / "darktable"
    dt.mkdir(parents=True)
    tpl = fixture("darktable_IMG_0001.CR2.xmp")
    for i, stars in enumerate([5, 4, 3, 2, 1]):
        p = _photo(dt / f"DSC_{i:04d}.JPG", i)
        (dt / f"DSC_{i:04d}.JPG.xmp").write_bytes(_set_rating(tpl, stars))
        expect[p.name] = float(stars)
    p = _photo(dt / "DSC_0100.JPG", 100)
    shutil.copy(FIX / "darktable_rejected_IMG_0002.JPG.xmp", dt / "DSC_0100.JPG.xmp")
    expect[p.name] = 0.0                                    # rejected counts as the lowest
    p = _photo(dt / "DSC_0101.JPG", 101)
    shutil.copy(FIX / "unrated.xmp", dt / "DSC_0101.JPG.xmp")  # unrated: skipped
    lr = root / "2023" / "lightroom"
    lr.mkdir(parents=True)
    tpl = fixture("lightroom_IMG_0003.xmp")
    for i, stars in enumerate([5, 3, 1]):
        (lr / f"IMG_{i:04d}.CR3").write_bytes(b"raw data")
        (lr / f"IMG_{i:04d}.xmp").write_bytes(_set_rating(tpl, stars))
        expect[_photo(lr / f"IMG_{i:04d}.JPG", 200 + i).name] = float(stars)   # RAW+JPEG pair
    (lr / "IMG_0099.CR3").write_bytes(b"raw data")            # rated raw without a JPEG beside it
    (lr / "IMG_0099.xmp").write_bytes(_set_rating(tpl, 4))
    expect["IMG_0099.CR3"] = 4.0                              # read from its embedded preview (piaa.io.raw)
    dk = root / "digikam"
    dk.mkdir()
    tpl = fixture("digikam_IMG_0004.JPG.xmp")
    for i, stars in enumerate([2, 4]):
        p = _photo(dk / f"P{i}.jpg", 300 + i)
        (dk / f"P{i}.jpg.xmp").write_bytes(_set_rating(tpl, stars))
        expect[p.name] = float(stars)
    p = _jpeg_with_xmp(dk / "exported.jpg", fixture("embedded_packet_adobe.xml"))
    expect[p.name] = 3.0
    (dk / "gone.jpg.xmp").write_bytes(_set_rating(tpl, 5))     # sidecar whose photo was deleted
    (dk / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    (dk / "broken.jpg.xmp").write_bytes(fixture("malformed.xmp"))
    return expect


def test_folder_import_reads_all_tools(tmp_path):
    expect = build_library(tmp_path)
    rated = ratings_from_xmp(tmp_path)
    got = {p.name: s for p, s in zip(rated.paths, rated.scores)}
    assert got == expect
    assert rated.scale == (0.0, 5.0)                          # a rejected photo makes the scale 0..5
    notes = "\n".join(rated.notes)
    assert "1 rejected photo(s)" in notes
    assert "IMG_0099.CR3" in notes and "embedded preview" in notes
    assert "gone.jpg.xmp" in notes
    assert "could not be read" in notes and "broken.jpg.xmp" in notes
    assert any(o.endswith("DSC_0000.JPG.xmp") for o in rated.origins)


def test_folder_import_not_recursive(tmp_path):
    build_library(tmp_path)
    with pytest.raises(ProfileInputError, match="found 3 photo"):
        ratings_from_xmp(tmp_path / "digikam", recursive=False)


def test_folder_import_too_few_or_all_equal(tmp_path):
    tpl = fixture("darktable_IMG_0001.CR2.xmp")
    for i in range(12):
        _photo(tmp_path / f"a{i}.jpg", i)
        (tmp_path / f"a{i}.jpg.xmp").write_bytes(_set_rating(tpl, 4))
    with pytest.raises(ProfileInputError, match="all 12 ratings are equal"):
        ratings_from_xmp(tmp_path)
    for i in range(4):
        (tmp_path / f"a{i}.jpg.xmp").write_bytes(fixture("unrated.xmp"))
    with pytest.raises(ProfileInputError, match="found 8 photo.*at least 10"):
        ratings_from_xmp(tmp_path)


def test_cli_profile_from_xmp_folder(tmp_path, monkeypatch, capsys):
    from test_profiles_support import STANDIN, FakeScorer

    from piaa.cli.main import main
    from piaa.profiles import generic as gen
    from piaa.profiles.store import ProfileStore

    monkeypatch.setattr(gen, "load_generic", lambda name=None: FakeScorer())
    build_library(tmp_path / "lib")
    store = tmp_path / "p.sqlite"
    assert main(["profile", "create", "me", "--from-xmp", str(tmp_path / "lib"), "--method", STANDIN,
                 "--store", str(store)]) == 0
    out, err = capsys.readouterr()
    assert "13 ratings (scale 0..5)" in err                  # the raw alone counts, but its bytes are no raw:
    assert "IMG_0099.CR3: not an image" in err                # left out with a note
    assert "out of 10 pairs of your photos" in out
    rec = ProfileStore(store).load("me")
    assert rec["meta"]["source"].startswith("xmp:") and len(rec["ratings"]) == 12
    assert any(o.endswith("IMG_0000.xmp") for _, _, o in rec["ratings"])   # origin of each rating is kept
