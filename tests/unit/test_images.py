"""Tests for piaa.io.images: every case is generated synthetically in tmp_path."""

from __future__ import annotations

import io
import pickle
import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image, JpegImagePlugin

from piaa.io.discovery import IMAGE_EXTENSIONS, iter_image_files
from piaa.io.hashing import image_bytes_hash, read_image_bytes
from piaa.io.images import ImageLoadError, load_image, load_image_safe


def px(im, xy):
    return tuple(int(v) for v in im.getpixel(xy))


def close(a, b, tol=12):
    return all(abs(int(x) - int(y)) <= tol for x, y in zip(a, b))


def noise_rgb(w, h, seed=0):
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), "RGB")


# ---------------------------------------------------------------------------------------------- orientation


def test_exif_orientation_6_rotates(tmp_path):
    im = Image.new("RGB", (40, 20), (0, 0, 255))
    im.paste((255, 0, 0), (0, 0, 20, 20))  # left half red, right half blue
    exif = Image.Exif()
    exif[0x0112] = 6
    p = tmp_path / "rot.jpg"
    im.save(p, quality=95, exif=exif.tobytes())

    out = load_image(p)
    assert out.mode == "RGB"
    assert out.size == (20, 40)  # swapped
    # orientation 6 = rotate 90° clockwise for display: the stored left half ends up on top
    assert close(px(out, (10, 5)), (255, 0, 0), 30)
    assert close(px(out, (10, 35)), (0, 0, 255), 30)
    # same result through bytes and through an opened PIL image
    assert load_image(p.read_bytes()).size == (20, 40)
    with Image.open(p) as opened:
        assert load_image(opened).size == (20, 40)


def test_exif_orientation_on_png(tmp_path):
    im = Image.new("RGB", (30, 10), (0, 255, 0))
    exif = Image.Exif()
    exif[0x0112] = 8
    p = tmp_path / "rot.png"
    im.save(p, exif=exif.tobytes())
    assert load_image(p).size == (10, 30)


def test_bad_orientation_value_ignored(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 42
    p = tmp_path / "odd.jpg"
    Image.new("RGB", (30, 10), (0, 255, 0)).save(p, exif=exif.tobytes())
    assert load_image(p).size == (30, 10)


# ---------------------------------------------------------------------------------------------- colour modes


def _strip_adobe_app14(data: bytes) -> bytes:
    """Remove the APP14 'Adobe' segment from a JPEG (segments before SOS only)."""
    out = bytearray(data[:2])
    i = 2
    while i < len(data):
        assert data[i] == 0xFF
        marker = data[i + 1]
        if marker == 0xDA:  # start of scan: copy the rest verbatim
            out += data[i:]
            break
        seglen = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if not (marker == 0xEE and data[i + 4 : i + 9] == b"Adobe"):
            out += data[i : i + 2 + seglen]
        i += 2 + seglen
    return bytes(out)


def test_cmyk_jpeg_adobe(tmp_path):
    im = Image.new("CMYK", (32, 32), (0, 255, 255, 0))  # pure red ink mix
    p = tmp_path / "cmyk.jpg"
    im.save(p, quality=95)
    with Image.open(p) as raw:
        assert raw.mode == "CMYK" and "adobe" in raw.info
    out = load_image(p)
    assert out.mode == "RGB"
    assert close(px(out, (16, 16)), (255, 0, 0), 20)


def test_cmyk_jpeg_without_adobe_marker_not_inverted(tmp_path):
    # Pillow writes Adobe-inverted bytes: (0, 255, 255, 255) is stored as (255, 0, 0, 0).
    im = Image.new("CMYK", (32, 32), (0, 255, 255, 255))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=95)
    data = _strip_adobe_app14(buf.getvalue())
    with Image.open(io.BytesIO(data)) as raw:
        assert raw.mode == "CMYK" and "adobe" not in raw.info
    # Without the marker the stored bytes must be read as plain CMYK: C=255, M=Y=K=0 -> cyan. (Read as
    # Adobe-inverted they would mean full black ink -> black.)
    out = load_image(data)
    assert close(px(out, (16, 16)), (0, 255, 255), 20)


def test_16bit_png_scaled_not_clipped(tmp_path):
    a = np.zeros((8, 8), np.uint16)
    a[0, 0], a[0, 1], a[0, 2], a[0, 3] = 0, 32896, 65535, 1000
    a[1:, :] = np.linspace(300, 65000, 56).reshape(7, 8).astype(np.uint16)
    p = tmp_path / "deep.png"
    Image.fromarray(a).save(p)
    out = load_image(p)
    arr = np.asarray(out)
    assert out.mode == "RGB" and arr.shape == (8, 8, 3)
    assert not (arr == 255).all()
    assert tuple(arr[0, 0]) == (0, 0, 0)
    assert tuple(arr[0, 1]) == (128, 128, 128)
    assert tuple(arr[0, 2]) == (255, 255, 255)
    assert arr[0, 3, 0] == 4  # 1000/257 ≈ 3.9
    assert len(np.unique(arr[1:, :, 0])) > 40  # a gradient, not a clipped plateau


def test_16bit_tiff(tmp_path):
    a = np.full((6, 6), 40000, np.uint16)
    p = tmp_path / "deep.tif"
    Image.fromarray(a).save(p)
    assert px(load_image(p), (0, 0)) == (156, 156, 156)  # 40000 * 255 / 65535 = 155.6


@pytest.mark.parametrize(
    "make,expected",
    [
        (lambda: Image.new("L", (4, 4), 77), (77, 77, 77)),
        (lambda: Image.new("1", (4, 4), 1), (255, 255, 255)),
        (lambda: Image.new("LA", (4, 4), (0, 0)), (255, 255, 255)),  # fully transparent -> white
        (lambda: Image.new("LA", (4, 4), (10, 255)), (10, 10, 10)),
        (lambda: Image.fromarray(np.full((4, 4), 200, np.int32)), (200, 200, 200)),  # I, 8-bit range
        (lambda: Image.fromarray(np.full((4, 4), 65535, np.int32)), (255, 255, 255)),  # I, 16-bit range
        (lambda: Image.fromarray(np.full((4, 4), 0.5, np.float32)), (128, 128, 128)),  # F in [0, 1]
        (lambda: Image.new("YCbCr", (4, 4), (128, 128, 128)), (128, 128, 128)),
    ],
)
def test_gray_and_other_modes_from_pil(make, expected):
    src = make()
    out = load_image(src)
    assert out.mode == "RGB" and out.size == (4, 4)
    assert close(px(out, (1, 1)), expected, 2)
    assert src.mode != "RGB"  # input untouched


def test_float_out_of_range_is_stretched():
    a = np.array([[-5.0, 0.0], [500.0, 1000.0]], np.float32)
    out = np.asarray(load_image(Image.fromarray(a)))[..., 0]
    assert out[0, 0] == 0 and out[1, 1] == 255 and 0 < out[1, 0] < 255


def test_palette_with_transparency(tmp_path):
    im = Image.new("P", (10, 10), 0)
    im.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    im.paste(1, (5, 0, 10, 10))
    p = tmp_path / "pal.png"
    im.save(p, transparency=0)
    out = load_image(p)
    assert out.mode == "RGB"
    assert px(out, (1, 1)) == (255, 255, 255)  # transparent red -> white background
    assert px(out, (8, 1)) == (0, 255, 0)


def test_rgba_composited_on_white(tmp_path):
    im = Image.new("RGBA", (3, 1))
    im.putpixel((0, 0), (255, 0, 0, 0))
    im.putpixel((1, 0), (0, 0, 255, 255))
    im.putpixel((2, 0), (0, 0, 0, 128))
    p = tmp_path / "a.png"
    im.save(p)
    out = load_image(p)
    assert px(out, (0, 0)) == (255, 255, 255)
    assert px(out, (1, 0)) == (0, 0, 255)
    assert close(px(out, (2, 0)), (127, 127, 127), 2)


def test_gray_png_with_trns_colour_key(tmp_path):
    im = Image.new("L", (4, 1), 0)
    im.putpixel((3, 0), 200)
    p = tmp_path / "g.png"
    im.save(p, transparency=0)
    out = load_image(p)
    assert px(out, (0, 0)) == (255, 255, 255) and px(out, (3, 0)) == (200, 200, 200)


# ---------------------------------------------------------------------------------------------- wrong extensions


@pytest.mark.parametrize(
    "fmt,name,kw",
    [
        ("PNG", "png_named.jpg", {}),
        ("WEBP", "webp_named.jpg", {"lossless": True}),
        ("TIFF", "tiff_named.jpg", {}),
        ("BMP", "bmp_named.jpg", {}),
        ("JPEG", "jpeg_named.png", {"quality": 100}),
    ],
)
def test_detect_by_content_not_extension(tmp_path, fmt, name, kw):
    im = Image.new("RGB", (20, 12), (10, 200, 30))
    p = tmp_path / name
    im.save(p, fmt, **kw)
    out = load_image(p)
    assert out.mode == "RGB" and out.size == (20, 12)
    assert close(px(out, (5, 5)), (10, 200, 30), 6)


def test_gif_first_frame(tmp_path):
    frames = [Image.new("RGB", (8, 8), c) for c in [(255, 0, 0), (0, 0, 255)]]
    p = tmp_path / "anim.jpg"
    frames[0].save(p, "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    out = load_image(p)
    assert out.mode == "RGB" and close(px(out, (4, 4)), (255, 0, 0), 4)


# ---------------------------------------------------------------------------------------------- failures


def test_truncated_jpeg_raises(tmp_path):
    p = tmp_path / "full.jpg"
    noise_rgb(256, 256).save(p, quality=90)
    data = p.read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageLoadError) as ei:
        load_image(cut)
    assert ei.value.path == str(cut)
    assert "truncated" in ei.value.reason and "JPEG" in ei.value.reason
    assert str(cut) in str(ei.value)


def test_truncated_png_raises(tmp_path):
    buf = io.BytesIO()
    noise_rgb(128, 128).save(buf, "PNG")
    data = buf.getvalue()
    with pytest.raises(ImageLoadError):
        load_image(data[: len(data) // 2])


def test_random_bytes_named_jpg(tmp_path):
    p = tmp_path / "noise.jpg"
    p.write_bytes(np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(ImageLoadError) as ei:
        load_image(p)
    assert "not an image" in ei.value.reason


def test_jpeg_header_then_garbage(tmp_path):
    p = tmp_path / "bad.jpg"
    p.write_bytes(b"\xff\xd8\xff\xe0" + np.random.default_rng(2).integers(0, 256, 3000, np.uint8).tobytes())
    with pytest.raises(ImageLoadError):
        load_image(p)


def test_empty_file(tmp_path):
    p = tmp_path / "empty.jpg"
    p.write_bytes(b"")
    with pytest.raises(ImageLoadError) as ei:
        load_image(p)
    assert ei.value.reason == "empty file"


def test_text_file(tmp_path):
    p = tmp_path / "notes.jpg"
    p.write_text("hello, this is not a picture\n" * 20)
    with pytest.raises(ImageLoadError) as ei:
        load_image(p)
    assert "not an image" in ei.value.reason


def test_missing_file(tmp_path):
    with pytest.raises(ImageLoadError) as ei:
        load_image(tmp_path / "nope.jpg")
    assert ei.value.reason == "file not found"


def test_error_is_picklable():
    e = ImageLoadError("/x/y.jpg", "not an image")
    e2 = pickle.loads(pickle.dumps(e))
    assert (e2.path, e2.reason) == ("/x/y.jpg", "not an image")


def _png_with_claimed_size(w: int, h: int) -> bytes:
    """A tiny valid PNG whose IHDR is patched to claim w x h (CRC recomputed)."""
    buf = io.BytesIO()
    Image.new("1", (8, 8)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", w, h)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    return bytes(data)


@pytest.mark.parametrize("w,h", [(12_000, 12_000), (60_000, 60_000)])  # 144 MP (our limit), 3.6 GP (Pillow's)
def test_decompression_bomb_refused_quickly(tmp_path, w, h):
    p = tmp_path / "bomb.png"
    p.write_bytes(_png_with_claimed_size(w, h))
    t0 = time.perf_counter()
    with pytest.raises(ImageLoadError) as ei:
        load_image(p)
    assert time.perf_counter() - t0 < 1.0
    assert "too large" in ei.value.reason


def test_max_pixels_parameter(tmp_path):
    p = tmp_path / "small.png"
    Image.new("RGB", (100, 100)).save(p)
    with pytest.raises(ImageLoadError, match="too large"):
        load_image(p, max_pixels=5_000)
    assert load_image(p, max_pixels=10_000).size == (100, 100)
    assert load_image(p, max_pixels=None).size == (100, 100)


# ---------------------------------------------------------------------------------------------- target_size


def test_huge_jpeg_uses_draft(tmp_path, monkeypatch):
    p = tmp_path / "huge.jpg"
    Image.new("RGB", (6000, 4000), (90, 140, 200)).save(p, quality=80)
    calls = []
    orig = JpegImagePlugin.JpegImageFile.draft

    def spy(self, mode, size):
        calls.append(size)
        return orig(self, mode, size)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    out = load_image(p, target_size=224)
    assert calls, "Image.draft was not used"
    assert out.mode == "RGB"
    assert min(out.size) >= 224
    assert max(out.size) <= 1000  # far below 6000
    assert abs(out.size[0] / out.size[1] - 1.5) < 0.02  # aspect kept
    assert close(px(out, (10, 10)), (90, 140, 200), 6)


def test_target_size_non_jpeg_and_small_images(tmp_path):
    p = tmp_path / "big.png"
    Image.new("RGB", (1000, 700), (1, 2, 3)).save(p)
    out = load_image(p, target_size=224)
    assert 224 <= min(out.size) < 448
    q = tmp_path / "small.jpg"
    Image.new("RGB", (100, 80)).save(q)
    assert load_image(q, target_size=224).size == (100, 80)  # never upscaled


def test_target_size_with_orientation(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6
    p = tmp_path / "rot.jpg"
    Image.new("RGB", (2000, 1000), (0, 0, 0)).save(p, exif=exif.tobytes())
    out = load_image(p, target_size=224)
    assert out.size[0] < out.size[1] and min(out.size) >= 224


# ---------------------------------------------------------------------------------------------- sources


def test_sources_bytes_fileobj_pil(tmp_path):
    p = tmp_path / "x.png"
    Image.new("RGB", (9, 7), (5, 6, 7)).save(p)
    data = read_image_bytes(p)
    assert load_image(data).size == (9, 7)
    assert load_image(bytearray(data)).size == (9, 7)
    with open(p, "rb") as f:
        assert load_image(f).size == (9, 7)
    src = Image.new("RGBA", (9, 7))
    out = load_image(src)
    assert out is not src and src.mode == "RGBA"
    # file object positioned after a prefix
    buf = io.BytesIO(b"JUNK" + data)
    buf.seek(4)
    assert load_image(buf).size == (9, 7)
    with pytest.raises(TypeError):
        load_image(12345)


def test_load_image_safe(tmp_path):
    p = tmp_path / "ok.png"
    Image.new("RGB", (4, 4)).save(p)
    im, err = load_image_safe(p)
    assert im is not None and err is None
    bad = tmp_path / "bad.jpg"
    bad.write_text("nope")
    im, err = load_image_safe(bad)
    assert im is None and "not an image" in err and "bad.jpg" in err


def test_image_bytes_hash():
    h = image_bytes_hash(b"abc")
    assert h == image_bytes_hash(b"abc") and len(h) == 32 and int(h, 16) >= 0
    assert h != image_bytes_hash(b"abd")


# ---------------------------------------------------------------------------------------------- discovery


def test_iter_image_files(tmp_path):
    d = tmp_path / "photos"
    (d / "sub").mkdir(parents=True)
    (d / ".hiddendir").mkdir()
    for name in ["b.png", "a.JPG", "c.WebP", ".hidden.jpg", "notes.txt", "sub/z.jpeg", ".hiddendir/h.jpg"]:
        (d / name).write_bytes(b"x")
    flat = iter_image_files(d)
    assert [q.name for q in flat] == ["a.JPG", "b.png", "c.WebP"]
    deep = iter_image_files([d], recursive=True)
    assert [q.relative_to(d).as_posix() for q in deep] == ["a.JPG", "b.png", "c.WebP", "sub/z.jpeg"]
    # explicit files are kept whatever their extension; duplicates collapse
    both = iter_image_files([d / "notes.txt", d, d / "a.JPG"])
    assert [q.name for q in both] == ["notes.txt", "a.JPG", "b.png", "c.WebP"]
    with pytest.raises(FileNotFoundError, match="missing_thing"):
        iter_image_files([d, tmp_path / "missing_thing"])
    assert ".jpg" in IMAGE_EXTENSIONS and ".png" in IMAGE_EXTENSIONS


# ---------------------------------------------------------------------------------------------- real data


@pytest.mark.shared_data
def test_oasis_monkey_rgba_png_named_jpg(shared_data):
    p = shared_data / "oasis" / "images" / "Monkey 3.jpg"
    with Image.open(p) as raw:
        assert raw.format == "PNG"
    out = load_image(p)
    assert out.mode == "RGB"
    assert abs(out.size[0] - 500) <= 20 and abs(out.size[1] - 400) <= 20
