"""The photo view's EXIF summary and histogram (piaa.io.photo_info) on real JPEGs written with EXIF."""
import numpy as np
import pytest
from PIL import Image

from piaa.io.photo_info import camera_name, exif_summary, format_exposure, histogram


def _jpeg_with_exif(path, **over):
    im = Image.fromarray(np.full((60, 80, 3), (200, 40, 10), np.uint8))
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "Canon EOS R6"
    sub = exif.get_ifd(0x8769)
    sub[0x829A] = over.get("exposure", 1 / 250)
    sub[0x829D] = 2.8
    sub[0x8827] = 400
    sub[0x920A] = 50.0
    sub[0xA434] = "RF50mm F1.8 STM"
    sub[0x9003] = "2024:06:01 10:11:12"
    im.save(path, exif=exif)
    return path


def test_exif_summary_formats_like_a_photo_manager(tmp_path):
    s = exif_summary(_jpeg_with_exif(tmp_path / "a.jpg"))
    assert s["camera"] == "Canon EOS R6"                       # not "Canon Canon EOS R6"
    assert s["lens"] == "RF50mm F1.8 STM"
    assert (s["exposure"], s["aperture"], s["iso"], s["focal_length"]) == ("1/250 s", "f/2.8", 400, "50 mm")
    assert s["taken"] == "2024-06-01T10:11:12"
    assert (s["width"], s["height"]) == (80, 60)


def test_exif_summary_of_a_photo_without_exif_or_not_a_photo(tmp_path):
    p = tmp_path / "plain.png"
    Image.new("RGB", (4, 4)).save(p)
    s = exif_summary(p)
    assert s["camera"] is None and s["exposure"] is None and s["width"] == 4
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a jpeg at all")
    assert all(v is None for v in exif_summary(bad).values())


def test_formatting_helpers():
    assert format_exposure(2.0) == "2 s" and format_exposure(0.8) == "0.8 s" and format_exposure(1 / 4000) == "1/4000 s"
    assert format_exposure(0) is None
    assert camera_name("NIKON CORPORATION", "NIKON Z 6") == "NIKON Z 6"
    assert camera_name("FUJIFILM", "X-T4") == "FUJIFILM X-T4"


def test_histogram_counts_the_pixels(tmp_path):
    a = np.zeros((50, 100, 3), np.uint8)
    a[:, 50:] = 255                                            # half black, half white
    p = tmp_path / "h.png"
    Image.fromarray(a).save(p)
    h = histogram(p, bins=16)
    assert h["bins"] == 16 and len(h["luma"]) == 16
    assert h["luma"][0] == pytest.approx(0.5) and h["luma"][-1] == pytest.approx(0.5)
    assert sum(h["r"]) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        histogram(p, bins=7)


def test_histogram_of_a_corrupt_photo_is_an_image_load_error(tmp_path):
    from piaa.io.images import ImageLoadError

    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff garbage")
    with pytest.raises(ImageLoadError):
        histogram(bad)
