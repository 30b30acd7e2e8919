"""The luminance plane read piecewise (no whole-frame copy into numpy) gives exactly the array's numbers, and
the feature extractor's thumbnail stands in for the faces' colour copy only where it is the same pixels."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import gaussian_filter

from piaa.detail.decode import FACES_LONG_SIDE, load_native, small_copy_of
from piaa.detail.measure import analyze, detail_from_state, detail_state
from piaa.detail.plane import Plane, every, window


def _photo(h, w, seed=0):
    rng = np.random.default_rng(seed)
    a = sum(gaussian_filter(rng.standard_normal((h, w)), s) * s for s in (0.7, 2, 6))
    return ((a - a.min()) / (a.max() - a.min()) * 230 + 10).astype(np.uint8)


@pytest.mark.parametrize("shape", [(777, 1001), (70, 130), (64, 64), (3, 5), (640, 200)])
def test_every_4th_pixel_and_windows_match_numpy(shape):
    a = _photo(*shape)
    p = Plane(Image.fromarray(a))
    for h, w in ((shape[0], shape[1]), (shape[0] // 64 * 64, shape[1] // 64 * 64)):
        np.testing.assert_array_equal(every(p, 4, h, w), a[:h:4, :w:4])
    np.testing.assert_array_equal(window(p, 1, 3, 2, 5), a[1:3, 2:5])
    assert p.shape == a.shape and p.size == a.size
    np.testing.assert_array_equal(p.array(), a)


def test_analyze_on_a_plane_is_analyze_on_the_array():
    a = _photo(700, 900, 1)
    box = (300, 200, 200, 240)
    for kw in ({}, {"subject_box": box, "subject_eyes": [(340, 260, 50, 30)]}):
        x, y = analyze(a, **kw), analyze(Plane(Image.fromarray(a)), **kw)
        sx, sy = detail_state(x), detail_state(y)
        assert sx[0] == sy[0]
        assert sx[1].keys() == sy[1].keys()
        for k in sx[1]:
            np.testing.assert_array_equal(sx[1][k], sy[1][k])


def test_detail_state_round_trip_is_exact():
    d = analyze(_photo(500, 600, 2), subject_box=(200, 100, 150, 200))
    back = detail_from_state(*detail_state(d))
    assert back.sharpness == d.sharpness and back.subject == d.subject and back.grid == d.grid
    np.testing.assert_array_equal(back.tile_values, d.tile_values)
    np.testing.assert_array_equal(back.parts[0], d.parts[0])
    assert back.parts[2] == d.parts[2] and back.subject_energy[1].tolist() == d.subject_energy[1].tolist()


def _jpeg(path, h, w, orientation=1):
    rgb = np.stack([_photo(h, w, 3), _photo(h, w, 4), _photo(h, w, 5)], axis=2)
    ex = Image.Exif()
    if orientation != 1:
        ex[0x0112] = orientation
    Image.fromarray(rgb).save(path, quality=90, exif=ex.tobytes())
    return str(path)


@pytest.mark.parametrize("orientation", [1, 6])
def test_the_extractors_thumbnail_is_the_faces_copy_when_the_scale_matches(tmp_path, orientation):
    from piaa.io.images import load_image

    p = _jpeg(tmp_path / "a.jpg", 1000, 1600, orientation)
    side = 200                                     # 1600 px at 1/8: what the faces' copy is decoded at
    thumb = load_image(p, target_size=120)          # the extractor's decode: DCT 1/8 too (125 px >= 120)
    copy = small_copy_of(p, thumb, faces_long_side=side)
    ref = load_native(p, faces_long_side=side).small_rgb
    assert copy is not None and copy.shape == ref.shape
    np.testing.assert_array_equal(copy, ref)
    n = load_native(p, faces_long_side=side, small_rgb=copy)
    assert n.small_scale == load_native(p, faces_long_side=side).small_scale


def test_a_thumbnail_of_another_scale_is_not_the_faces_copy(tmp_path):
    from piaa.io.images import load_image

    p = _jpeg(tmp_path / "b.jpg", 1000, 1600)
    assert small_copy_of(p, load_image(p, target_size=120), faces_long_side=400) is None   # faces want 1/4
    assert small_copy_of(p, load_image(p, target_size=300), faces_long_side=200) is None   # thumbnail at 1/2
    png = tmp_path / "c.png"
    Image.open(p).save(png)
    assert small_copy_of(str(png), load_image(png, target_size=120), faces_long_side=200) is None
    assert small_copy_of(str(tmp_path / "gone.jpg"), load_image(p, target_size=120), FACES_LONG_SIDE) is None
