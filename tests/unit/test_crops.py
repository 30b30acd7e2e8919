"""Native-resolution crops: geometry, the decode cap, and cache keys apart from the squashed features."""
import numpy as np
import pytest
from PIL import Image
from tiny_backbone import INPUT_SIZE, one_torch_thread, register_tiny  # noqa: F401

from piaa.detail.crops import (
    NATIVE_MAX_SIDE,
    NativeEvidence,
    crop_boxes,
    crops_of,
    native_image,
)
from piaa.detail.nss import N_FEATURES, brisque_features, model_inputs
from piaa.errors import InputError
from piaa.features import FeatureCache, FeatureExtractor, engines


@pytest.fixture
def tiny(tmp_path):
    register_tiny("tiny_crops", tmp_path, seed=3)
    engines.clear_engines()
    yield "tiny_crops"
    engines.clear_engines()


def test_five_boxes_are_centre_and_quadrant_centres_inside_the_image():
    boxes = crop_boxes(1000, 600, 224)
    assert len(boxes) == 5
    assert boxes[0] == (388, 188, 612, 412)  # centre
    centres = [((x0 + x1) / 2, (y0 + y1) / 2) for x0, y0, x1, y1 in boxes[1:]]
    assert centres == [(250, 150), (750, 150), (250, 450), (750, 450)]
    assert all(x1 - x0 == 224 and y1 - y0 == 224 for x0, y0, x1, y1 in boxes)


def test_boxes_are_shifted_inside_and_shrink_for_small_images():
    for w, h in [(256, 256), (300, 230), (225, 1000)]:
        for x0, y0, x1, y1 in crop_boxes(w, h, 224):
            assert 0 <= x0 and 0 <= y0 and x1 <= w and y1 <= h and x1 - x0 == 224 == y1 - y0
    small = crop_boxes(100, 80, 224)
    assert small[0] == (10, 0, 90, 80)  # squares of the shorter side, shifted inside
    assert all(x1 - x0 == 80 == y1 - y0 and 0 <= x0 and x1 <= 100 for x0, y0, x1, y1 in small)
    with pytest.raises(InputError, match="layout"):
        crop_boxes(500, 500, 224, layout="grid9")
    with pytest.raises(InputError):
        crop_boxes(0, 500)


def test_crops_are_pixels_at_100_percent(tmp_path):
    arr = np.random.default_rng(0).integers(0, 255, (400, 600, 3), dtype=np.uint8)
    img = Image.fromarray(arr)
    crops = crops_of(img, 224)
    x0, y0, x1, y1 = crop_boxes(600, 400)[3]
    assert np.array_equal(np.asarray(crops[3]), arr[y0:y1, x0:x1])  # not resampled
    tiny = crops_of(Image.fromarray(arr[:50, :70]), 224)
    assert all(c.size == (224, 224) for c in tiny)  # a photo smaller than the crop is enlarged


def test_native_decode_caps_the_long_side(tmp_path):
    p = tmp_path / "big.jpg"
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (900, 2400, 3), dtype=np.uint8)).save(p)
    img = native_image(p, max_side=1200)
    assert img.size == (1200, 450)
    small = tmp_path / "small.png"
    Image.fromarray(np.zeros((300, 200, 3), dtype=np.uint8)).save(small)
    assert native_image(small).size == (200, 300) and NATIVE_MAX_SIDE >= 1024


def test_native_evidence_is_the_mean_of_crop_features_plus_statistics(tmp_path, tiny):
    p = tmp_path / "a.png"
    arr = np.random.default_rng(2).integers(0, 255, (90, 120, 3), dtype=np.uint8)
    Image.fromarray(arr).save(p)
    ne = NativeEvidence(tiny, "pooled", cache=None, engine="torch")
    res = ne.extract([p, tmp_path / "missing.jpg"])
    whole = FeatureExtractor(tiny, "pooled", cache=None, engine="torch")
    crops = [whole.extract([c]).features[0] for c in crops_of(Image.fromarray(arr), INPUT_SIZE)]
    d = len(crops[0])
    assert res.features.shape == (2, d + N_FEATURES)
    assert np.allclose(res.features[0, :d], np.mean(crops, axis=0), atol=1e-5)
    assert 1 in res.errors and np.isnan(res.features[1]).all()
    assert np.allclose(res.features[0, d:], model_inputs(brisque_features(arr)), atol=1e-4)
    only_nss = NativeEvidence(tiny, "pooled", cache=None, crops=False).extract([p]).features
    assert only_nss.shape == (1, N_FEATURES) and np.allclose(only_nss[0], res.features[0, d:], atol=1e-5)
    with pytest.raises(InputError):
        NativeEvidence(tiny, crops=False, nss=False)


def test_cache_keys_name_the_crop_geometry_and_never_collide(tmp_path, tiny):
    cache = FeatureCache(tmp_path / "c.sqlite")
    p = tmp_path / "a.png"
    Image.fromarray(np.random.default_rng(3).integers(0, 255, (80, 100, 3), dtype=np.uint8)).save(p)
    squashed = FeatureExtractor(tiny, "pooled", cache=cache, engine="torch")
    native = NativeEvidence(tiny, "pooled", cache=cache, engine="torch")
    keys = {squashed.model_key, native.model_key,
            NativeEvidence(tiny, "pooled", cache=cache, max_side=800).model_key,
            NativeEvidence(tiny, "pooled", cache=cache, nss=False).model_key,
            NativeEvidence(tiny, "pooled", cache=cache, crops=False).model_key}
    assert len(keys) == 5
    assert "crops=five" in native.model_key and f"native<={NATIVE_MAX_SIDE}" in native.model_key
    a = squashed.extract([p]).features
    b = native.extract([p]).features
    assert cache.count(squashed.model_key) == 1 and cache.count(native.model_key) == 1
    # read back from the cache: the same rows, each under its own key
    assert np.array_equal(FeatureExtractor(tiny, "pooled", cache=cache, engine="torch").extract([p]).features, a)
    again = NativeEvidence(tiny, "pooled", cache=cache, engine="torch")
    def no_work(todo, *a):
        assert not todo, "a cached photo was computed again"
        return {}

    again._compute = no_work
    assert np.allclose(again.extract([p]).features, b)
