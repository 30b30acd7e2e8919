"""HEIC/HEIF (pillow-heif) and camera RAW (embedded preview via rawpy) through piaa's one image loader, the
pixel limit as an option, and the "nothing found" message of the CLI."""
import io
import json

import numpy as np
import pytest
from PIL import Image

from piaa.cli.main import main
from piaa.io import images as imgs
from piaa.io.discovery import iter_image_files, no_images_message
from piaa.io.images import ImageLoadError, load_image
from piaa.io.raw import sniff_raw
from raw_fixture import build_dng, jpeg_bytes
from test_score_cli import model_file  # noqa: F401  (fixture)


def _stripes(size=(900, 600)):
    """Left half red, right half blue: orientation and colour are both checkable after decoding."""
    a = np.zeros((size[1], size[0], 3), np.uint8)
    a[:, : size[0] // 2] = (220, 20, 30)
    a[:, size[0] // 2:] = (20, 30, 220)
    return Image.fromarray(a)


@pytest.fixture(autouse=True)
def _default_limit():
    yield
    imgs.set_max_pixels(None)


# ---- HEIC ------------------------------------------------------------------------------------------------------
def test_heic_written_by_pillow_heif_loads_without_registering_anything(tmp_path):
    pillow_heif = pytest.importorskip("pillow_heif")
    p = tmp_path / "phone.HEIC"
    pillow_heif.from_pillow(_stripes((320, 240))).save(p, quality=90)
    assert p.read_bytes()[4:12] in (b"ftypheic", b"ftypmif1", b"ftypheix")
    im = load_image(p)                          # piaa registers the opener itself
    assert im.size == (320, 240) and im.mode == "RGB"
    left, right = np.asarray(im)[120, 40].astype(int), np.asarray(im)[120, 280].astype(int)
    assert left[0] > 150 and left[2] < 90 and right[2] > 150 and right[0] < 90
    assert p in iter_image_files(tmp_path)


def test_score_cli_reads_heic_and_prints_a_summary(tmp_path, model_file, capsys):  # noqa: F811
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.from_pillow(_stripes((96, 64))).save(tmp_path / "a.heic")
    _stripes((96, 64)).save(tmp_path / "b.jpg")
    (tmp_path / "c.jpg").write_bytes(b"not a photo")
    assert main(["score", str(tmp_path), "--model", str(model_file), "--format", "json", "-q"]) == 0
    out, err = capsys.readouterr()
    recs = {r["path"].rsplit("/", 1)[1]: r for r in json.loads(out)}
    assert "score" in recs["a.heic"] and "score" in recs["b.jpg"] and "error" in recs["c.jpg"]
    assert err.strip().splitlines()[-1] == "2 scored, 1 error"


# ---- RAW -------------------------------------------------------------------------------------------------------
def test_dng_is_read_from_its_full_size_preview_not_the_thumbnail(tmp_path):
    pytest.importorskip("rawpy")
    data = build_dng(_stripes())
    assert Image.open(io.BytesIO(data)).size == (160, 120)     # what a plain TIFF reader sees: the thumbnail
    p = tmp_path / "IMG_0001.dng"
    p.write_bytes(data)
    im = load_image(p)
    assert im.size == (900, 600)
    a = np.asarray(im).astype(int)
    assert a[300, 100, 0] > 180 and a[300, 800, 2] > 180          # red left, blue right
    small = load_image(p, target_size=224)                      # the preview is JPEG: drafted small
    assert min(small.size) >= 224 and small.size[0] < 900


@pytest.mark.parametrize("orientation, size, top_is", [(6, (600, 900), "red"), (8, (600, 900), "blue"),
                                                       (3, (900, 600), "blue")])
def test_raw_orientation_from_the_raw_container(tmp_path, orientation, size, top_is):
    pytest.importorskip("rawpy")
    p = tmp_path / "r.dng"
    p.write_bytes(build_dng(_stripes(), orientation=orientation))
    im = load_image(p)
    assert im.size == size
    a = np.asarray(im).astype(int)
    probe = a[20, size[0] // 2] if orientation != 3 else a[size[1] // 2, 20]
    assert (probe[0] > 180) == (top_is == "red")


def test_raw_by_content_not_by_name(tmp_path):
    pytest.importorskip("rawpy")
    big_endian = tmp_path / "photo.jpg"                          # a big-endian DNG misnamed .jpg
    big_endian.write_bytes(build_dng(_stripes(), big_endian=True))
    assert load_image(big_endian).size == (900, 600)
    plain = tmp_path / "scan.dng"                                # an ordinary TIFF misnamed .dng
    _stripes((90, 60)).save(plain, format="TIFF")
    with open(plain, "rb") as f:
        assert sniff_raw(f) is None
    assert load_image(plain).size == (90, 60)


def test_raw_families_are_sniffed_and_broken_raws_are_one_line_errors(tmp_path):
    heads = {"RAF": b"FUJIFILMCCD-RAW 0201FF383501", "CR3": b"\x00\x00\x00\x18ftypcrx \x00\x00\x00\x01",
             "ORF": b"IIRO\x08\x00\x00\x00", "RW2": b"IIU\x00\x18\x00\x00\x00",
             "CR2": b"II*\x00\x10\x00\x00\x00CR\x02\x00"}
    for kind, head in heads.items():
        f = io.BytesIO(head + bytes(64))
        f.seek(0)
        assert sniff_raw(f) == kind and f.tell() == 0
        p = tmp_path / f"broken.{kind.lower()}"
        p.write_bytes(head + bytes(64))
        with pytest.raises(ImageLoadError) as ei:
            load_image(p)
        assert ei.value.reason.startswith(kind) and "\n" not in ei.value.reason


def test_raw_only_folder_is_found_and_never_told_to_recurse(tmp_path):
    pytest.importorskip("rawpy")
    d = tmp_path / "shoot"
    d.mkdir()
    names = ["DSC_0001.NEF", "IMG_0002.CR2", "A7_0003.ARW", "X_0004.RAF", "P_0005.ORF", "L_0006.RW2",
             "C_0007.CR3", "D_0008.dng"]
    for i, name in enumerate(names):
        (d / name).write_bytes(build_dng(_stripes((400 + i, 300))))
    found = iter_image_files(d)
    assert sorted(p.name for p in found) == sorted(names)
    assert {p.name: load_image(p).size for p in found} == {n: (400 + i, 300) for i, n in enumerate(names)}
    empty = tmp_path / "sidecars_only"
    empty.mkdir()
    (empty / "DSC_0001.NEF.xmp").write_text("<x/>")
    msg = no_images_message([empty], recursive=False)
    assert "--recursive" not in msg and ".xmp" in msg
    (empty / "sub").mkdir()
    (empty / "sub" / "a.NEF").write_bytes(b"x")
    assert "add --recursive" in no_images_message([empty], recursive=False)


def test_score_cli_on_a_raw_only_folder(tmp_path, model_file, capsys):  # noqa: F811
    pytest.importorskip("rawpy")
    for i in range(3):
        (tmp_path / f"DSC_000{i}.NEF").write_bytes(build_dng(_stripes((200 + 8 * i, 150))))
    assert main(["score", str(tmp_path), "--model", str(model_file), "--format", "json", "-q"]) == 0
    out, err = capsys.readouterr()
    assert all("score" in r for r in json.loads(out)) and len(json.loads(out)) == 3
    assert "recursive" not in err and err.strip().endswith("3 scored, 0 errors")


def test_raw_alone_with_its_sidecar_is_a_rated_photo(tmp_path):
    pytest.importorskip("rawpy")
    from piaa.profiles.ratings_import import ratings_from_xmp

    for i in range(12):
        (tmp_path / f"DSC_{i:04d}.NEF").write_bytes(build_dng(_stripes((64 + i, 48))))
        (tmp_path / f"DSC_{i:04d}.xmp").write_text(
            '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            f'<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="{1 + i % 5}"/>'
            "</rdf:RDF></x:xmpmeta>")
    rated = ratings_from_xmp(tmp_path)
    assert len(rated.paths) == 12 and all(p.suffix == ".NEF" for p in rated.paths)
    assert sorted(set(rated.scores)) == [1.0, 2.0, 3.0, 4.0, 5.0]


# ---- pixel limit -----------------------------------------------------------------------------------------------
def test_max_pixels_option(tmp_path, model_file, capsys):  # noqa: F811
    _stripes((200, 100)).save(tmp_path / "big.jpg")
    _stripes((40, 30)).save(tmp_path / "small.jpg")
    assert main(["score", str(tmp_path), "--model", str(model_file), "--format", "json", "-q", "--no-cache",
                 "--max-pixels", "10k"]) == 0
    out, err = capsys.readouterr()
    recs = {r["path"].rsplit("/", 1)[1]: r for r in json.loads(out)}
    assert "image too large (20000 pixels > limit 10000)" in recs["big.jpg"]["error"]
    assert "score" in recs["small.jpg"]
    with pytest.raises(SystemExit) as ei:
        main(["score", str(tmp_path), "--max-pixels", "lots"])
    assert ei.value.code == 2 and "not a pixel count" in capsys.readouterr().err


def test_pixel_limit_parsing_and_env(monkeypatch):
    assert imgs.parse_pixel_count("128M") == 128_000_000 and imgs.parse_pixel_count("1.5G") == 1_500_000_000
    assert imgs.parse_pixel_count("200MP") == 200_000_000 and imgs.parse_pixel_count(5000) == 5000
    for bad in ("0", "-3", "abc", "inf", "nan", "1e400"):
        with pytest.raises(ValueError):
            imgs.parse_pixel_count(bad)
    monkeypatch.setenv("PIAA_MAX_PIXELS", "1000")
    assert imgs.get_max_pixels() == 1000
    with pytest.raises(ImageLoadError, match="too large"):
        load_image(jpeg_bytes(_stripes((50, 40))))
    imgs.set_max_pixels(300_000_000)               # above Pillow's own bomb threshold: raised with it
    assert imgs.get_max_pixels() == 300_000_000 and Image.MAX_IMAGE_PIXELS >= 300_000_000


def test_raw_capture_time(tmp_path):
    pytest.importorskip("rawpy")
    from datetime import datetime

    from piaa.io.exif import capture_time

    p = tmp_path / "DSC_0001.NEF"
    p.write_bytes(build_dng(_stripes((300, 200)), taken="2026:07:14 18:30:05"))
    assert capture_time(p) == datetime(2026, 7, 14, 18, 30, 5)


# ---- CRW, CR3 PRVW, tiny previews -----------------------------------------------------------------
def test_canon_crw_reaches_libraw(tmp_path):
    pytest.importorskip("rawpy")
    from raw_fixture import build_crw

    p = tmp_path / "CRW_0001.CRW"
    p.write_bytes(build_crw(_stripes((320, 240))))
    with open(p, "rb") as f:
        assert sniff_raw(f) == "CRW"
    im = load_image(p)
    assert im.size == (320, 240)
    a = np.asarray(im).astype(int)
    assert a[120, 40, 0] > 180 and a[120, 280, 2] > 180


def test_cr3_prvw_preview_is_found_and_the_larger_preview_wins(tmp_path, monkeypatch):
    pytest.importorskip("rawpy")
    from raw_fixture import build_cr3, jpeg_bytes

    from piaa.io import raw

    p = tmp_path / "IMG_0001.CR3"
    p.write_bytes(build_cr3(_stripes((540, 360))))
    assert load_image(p).size == (540, 360)  # LibRaw cannot open this skeleton: PRVW alone
    # LibRaw finding only the 160x120 THMB: the 540x360 PRVW is taken instead, with LibRaw's orientation
    thumb = jpeg_bytes(_stripes((160, 120)))
    monkeypatch.setattr(raw, "_libraw_preview", lambda data: (thumb, 6))
    with open(p, "rb") as f:
        preview, orientation = raw.extract_preview(f, "CR3")
    assert raw._preview_size(preview) == (540, 360) and orientation == 6
    big = jpeg_bytes(_stripes((900, 600)))
    monkeypatch.setattr(raw, "_libraw_preview", lambda data: (big, 1))
    with open(p, "rb") as f:
        assert raw._preview_size(raw.extract_preview(f, "CR3")[0]) == (900, 600)


@pytest.mark.parametrize("size", [(50, 40), (200, 40)])
def test_tiny_raw_previews_are_refused_with_a_clear_error(tmp_path, size):
    pytest.importorskip("rawpy")
    p = tmp_path / "tiny.dng"
    p.write_bytes(build_dng(_stripes(size), thumb_size=(8, 4)))
    with pytest.raises(ImageLoadError, match=r"DNG: embedded preview is only \d+x\d+ pixels") as ei:
        load_image(p)
    assert f"{size[0]}x{size[1]}" in ei.value.reason and "\n" not in str(ei.value)


@pytest.mark.parametrize("shape", [(1, 1, 3), (8, 8, 3)])
def test_tiny_bitmap_previews_are_refused(tmp_path, monkeypatch, shape):
    pytest.importorskip("rawpy")
    from piaa.io import raw

    monkeypatch.setattr(raw, "_libraw_preview", lambda data: (np.zeros(shape, np.uint8), 1))
    p = tmp_path / "stub.dng"
    p.write_bytes(build_dng(_stripes()))
    with pytest.raises(ImageLoadError, match=f"only {shape[1]}x{shape[0]} pixels"):
        load_image(p)
