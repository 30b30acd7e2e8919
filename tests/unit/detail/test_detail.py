"""The detail pass at native resolution on synthetic images: focus, the subject's sharpness, motion blur, noise,
clipping, and decoding (orientation, the cap for huge files)."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import gaussian_filter, uniform_filter1d

from piaa.detail.clipping import clipped_fractions
from piaa.detail.decode import load_native
from piaa.detail.measure import analyze, face_sharpness
from piaa.detail.noise import immerkaer_sigma


def _texture(h=512, w=768, seed=0) -> np.ndarray:
    """A natural-looking texture: noise with a 1/f-ish spectrum plus edges (float32, 0..255)."""
    rng = np.random.default_rng(seed)
    a = sum(gaussian_filter(rng.standard_normal((h, w)), s) * s for s in (0.7, 2, 6, 16))
    a = (a - a.min()) / (a.max() - a.min()) * 200 + 25
    a[h // 3: h // 3 + 4] = 240                                      # a few hard edges
    a[:, w // 2: w // 2 + 3] = 15
    return a.astype(np.float32)


def _u8(a) -> np.ndarray:
    return np.clip(np.rint(a), 0, 255).astype(np.uint8)


def test_a_blurred_copy_is_less_sharp_and_sharpness_ignores_contrast():
    a = _texture()
    sharp = analyze(_u8(a)).sharpness
    assert 0 < sharp <= 1
    soft = [analyze(_u8(gaussian_filter(a, s))).sharpness for s in (1.0, 2.0)]
    assert sharp > 1.2 * soft[0] > 1.2 * 1.1 * soft[1]
    low_contrast = analyze(_u8(128 + (a - 128) * 0.4)).sharpness      # same picture, 40 % of the contrast
    assert abs(low_contrast - sharp) < 0.1 * sharp


def test_the_subject_decides_not_the_frame_average():
    a = _texture()
    bg = gaussian_filter(a, 3.0)
    shallow = bg.copy()
    shallow[128:384, 256:512] = a[128:384, 256:512]                   # a sharp subject on a soft background
    d_shallow, d_sharp, d_soft = analyze(_u8(shallow)), analyze(_u8(a)), analyze(_u8(bg))
    assert d_shallow.subject == "in-focus region"
    assert d_shallow.frame_sharpness < 0.8 * d_sharp.frame_sharpness   # most of the frame is soft...
    assert d_shallow.sharpness > 0.85 * d_sharp.sharpness               # ...but the subject is sharp
    assert d_shallow.sharpness > 1.5 * d_soft.sharpness
    m = d_shallow.sharpness_map()
    assert m.shape == (512 // 64, 768 // 64) and np.nanmean(m[2:6, 4:8]) > np.nanmean(m[:, :2])
    # a face box given by the caller: its pixels decide, wherever the rest of the frame is sharp
    back_focus = a.copy()
    back_focus[128:384, 256:512] = gaussian_filter(a, 2.0)[128:384, 256:512]
    box = (256, 128, 256, 256)
    on_face = analyze(_u8(back_focus), subject_box=box)
    assert on_face.subject == "face" and on_face.sharpness < 0.8 * analyze(_u8(a), subject_box=box).sharpness
    assert face_sharpness(_u8(a), box) > face_sharpness(_u8(back_focus), box)


def test_motion_blur_has_a_direction_defocus_has_none():
    a = _texture(seed=1)
    base = analyze(_u8(a)).motion_blur
    d = analyze(_u8(uniform_filter1d(a, 9, axis=1)))                   # a 9 px horizontal smear
    assert d.motion_blur > base + 0.2 and d.motion_direction == 0.0
    v = analyze(_u8(uniform_filter1d(a, 7, axis=0)))
    assert v.motion_blur > base + 0.2 and v.motion_direction == 90.0
    assert analyze(_u8(gaussian_filter(a, 1.5))).motion_blur < base + 0.1
    assert d.sharpness < 0.85 * analyze(_u8(a)).sharpness               # a smear is soft too


@pytest.mark.parametrize("sigma", [2.0, 5.0, 10.0])
def test_noise_level_is_recovered_within_15_percent(sigma):
    rng = np.random.default_rng(2)
    yy, xx = np.mgrid[0:512, 0:768]
    smooth = 80 + 0.1 * xx + 40 * np.sin(yy / 60.0)                   # ramps and slow waves: no detail
    noisy = smooth + rng.normal(0, sigma, smooth.shape)
    est = analyze(noisy.astype(np.float32).round().clip(0, 255).astype(np.uint8)).noise_sigma
    assert abs(est - sigma) < 0.15 * sigma
    assert analyze(_u8(smooth)).noise_sigma < 0.8
    assert immerkaer_sigma(np.zeros((0, 8, 8), np.float32)).shape == (0,)


def test_clipping_counts_burnt_and_crushed_pixels():
    a = np.full((100, 100), 128, np.uint8)
    a[:20] = 255
    a[20:30] = 0
    a[30:31] = 253                                                     # bright, not clipped
    hi, lo = clipped_fractions(a)
    assert hi == pytest.approx(0.20) and lo == pytest.approx(0.10)
    d = analyze(a)
    assert d.clipping == pytest.approx(0.30) and d.record()["clipping"] == pytest.approx(0.30)


def _jpeg(a: np.ndarray, orientation: int = 1) -> bytes:
    im = Image.fromarray(a)
    ex = Image.Exif()
    if orientation != 1:
        ex[0x0112] = orientation
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=95, exif=ex.tobytes())
    return buf.getvalue()


def test_decode_applies_orientation_and_maps_boxes_back(tmp_path):
    rgb = np.zeros((300, 500, 3), np.uint8)
    rgb[:50, :100] = 255                                               # a bright block top-left as stored
    p = tmp_path / "rot.jpg"
    p.write_bytes(_jpeg(rgb, orientation=6))                           # shown rotated 90 degrees clockwise
    n = load_native(p, faces_long_side=250)
    assert n.luminance.shape == (500, 300) and n.native_size == (300, 500) and n.scale == 1.0
    assert n.luminance[:100, -50:].mean() > 200 and n.luminance[:100, :50].mean() < 50
    assert max(n.small_rgb.shape[:2]) >= 250 and n.small_rgb.shape[2] == 3
    f = n.small_scale
    assert n.to_native((10, 20, 30, 40)) == tuple(int(round(v * f)) for v in (10, 20, 30, 40))
    png = tmp_path / "x.png"
    Image.fromarray(rgb).save(png)                                     # the general loader's path
    assert load_native(png).luminance.shape == (300, 500)


def test_decode_caps_huge_photos(tmp_path):
    a = _u8(_texture(400, 1000))
    p = tmp_path / "big.jpg"
    Image.fromarray(a).save(p, quality=95)
    n = load_native(p, long_side_cap=300)
    assert n.native_size == (1000, 400) and 300 <= max(n.luminance.shape) < 600 and n.scale > 1.6
    assert n.to_luminance((100, 100, 200, 100))[2] == round(200 / n.scale)
    from piaa.io.images import ImageLoadError

    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0garbage")
    with pytest.raises(ImageLoadError):
        load_native(bad)
    with pytest.raises(ImageLoadError, match="file not found"):
        load_native(tmp_path / "missing.jpg")


def test_decode_full_colour_for_the_faces_gives_the_same_luminance(tmp_path):
    a = _u8(_texture(300, 500))
    rgb = np.stack([a, np.roll(a, 5, axis=1), 255 - a], axis=-1)
    p = tmp_path / "c.jpg"
    Image.fromarray(rgb).save(p, quality=95)
    full = load_native(p, faces_long_side=0)
    assert full.small_rgb.shape == (300, 500, 3) and full.small_scale == 1.0
    gray = load_native(p)
    assert gray.small_rgb is None
    assert np.abs(full.luminance.astype(int) - gray.luminance.astype(int)).mean() < 1.5   # libjpeg's Y vs Pillow's L
