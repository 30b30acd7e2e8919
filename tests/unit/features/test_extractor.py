"""FeatureExtractor: per-file errors, dedupe by content, PIL input, engine selection and the ONNX engine."""
import copy
import warnings

import numpy as np
import pytest
import torch
from PIL import Image
from tiny_backbone import CHANNELS, INPUT_SIZE, one_torch_thread, register_tiny  # noqa: F401

from piaa.features import FeatureExtractor, engines
from piaa.features.engines import EngineVerificationError, OnnxEngine, TorchEngine


@pytest.fixture
def tiny(tmp_path):
    register_tiny("tiny_fx", tmp_path, seed=7)
    engines.clear_engines()
    yield "tiny_fx"
    engines.clear_engines()


def _save(path, seed, size=(48, 36), fmt=None):
    arr = np.random.default_rng(seed).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(arr).save(path, format=fmt)
    return path


class Counting:
    name, max_concurrency, preferred_batch = "counting", 1, 8

    def __init__(self, inner):
        self.inner, self.n = inner, 0

    def __call__(self, batch):
        self.n += len(batch)
        return self.inner(batch)


def _fx(name, variant="pooled", engine="torch", **kw):
    return FeatureExtractor(name, variant, cache=None, engine=engine, **kw)


def test_broken_inputs_become_errors_and_the_rest_is_scored(tmp_path, tiny):
    good1 = _save(tmp_path / "a.jpg", 1)
    good2 = _save(tmp_path / "b.png", 2)
    truncated = tmp_path / "t.jpg"
    truncated.write_bytes(_save(tmp_path / "full.jpg", 3).read_bytes()[:300])
    text = tmp_path / "notes.jpg"
    text.write_text("not an image at all")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    wrong_ext = _save(tmp_path / "png_named.jpg", 4, fmt="PNG")
    inputs = [good1, truncated, str(tmp_path / "missing.jpg"), text, tmp_path, good2, empty, wrong_ext]

    res = _fx(tiny).extract(inputs)
    assert sorted(res.errors) == [1, 2, 3, 4, 6]
    assert "truncated" in res.errors[1] or "corrupt" in res.errors[1]
    assert "not found" in res.errors[2]
    assert "not an image" in res.errors[3]
    assert "directory" in res.errors[4]
    assert "empty" in res.errors[6]
    assert list(res.ok) == [True, False, False, False, False, True, False, True]
    assert np.isfinite(res.features[res.ok]).all() and np.isnan(res.features[~res.ok]).all()
    assert res.features.shape == (len(inputs), CHANNELS[-1])


def test_all_broken_still_returns_a_result(tmp_path, tiny):
    bad = tmp_path / "x.jpg"
    bad.write_bytes(b"\xff\xd8\xff garbage")
    res = _fx(tiny).extract([bad])
    assert list(res.errors) == [0] and res.features.shape == (1, CHANNELS[-1])


def test_identical_bytes_are_computed_once(tmp_path, tiny):
    a = _save(tmp_path / "a.jpg", 5)
    copy = tmp_path / "copy_of_a.jpg"
    copy.write_bytes(a.read_bytes())
    b = _save(tmp_path / "b.jpg", 6)
    fx = _fx(tiny)
    fx._engine = Counting(TorchEngine(tiny, "pooled"))
    res = fx.extract([a, copy, b, a])
    assert fx.engine.n == 2
    assert res.hashes[0] == res.hashes[1] == res.hashes[3] != res.hashes[2]
    np.testing.assert_array_equal(res.features[0], res.features[1])
    np.testing.assert_array_equal(res.features[0], res.features[3])


def test_pil_input_matches_the_same_pixels_from_a_file(tmp_path, tiny):
    img = Image.fromarray(np.random.default_rng(8).integers(0, 255, (50, 70, 3), dtype=np.uint8))
    path = tmp_path / "same.png"
    img.save(path)
    gray = img.convert("L")
    res = _fx(tiny).extract([img, path, gray, path.read_bytes()])
    assert not res.errors
    np.testing.assert_allclose(res.features[0], res.features[1], atol=1e-6)
    np.testing.assert_allclose(res.features[3], res.features[1], atol=1e-6)
    assert res.hashes[0].startswith("pil-") and res.hashes[2] != res.hashes[0]
    assert not np.allclose(res.features[2], res.features[0])


def test_default_engine_is_auto_and_unknown_is_an_error(tiny):
    assert FeatureExtractor(tiny, cache=None).engine_name == "auto"
    with pytest.raises(ValueError, match="unknown engine 'tensorrt'"):
        _fx(tiny, engine="tensorrt").engine  # noqa: B018 (the property raises)


@pytest.mark.parametrize("variant", ["pooled", "multilevel", "trunk2"])
def test_onnx_engine_matches_eager(tiny, variant):
    onnx_engine = engines.make_engine(tiny, variant, "onnx")
    assert isinstance(onnx_engine, OnnxEngine) and onnx_engine.verified_max_abs_diff <= 1e-4
    x = np.random.default_rng(0).standard_normal((5, 3, INPUT_SIZE, INPUT_SIZE)).astype(np.float32)
    ref = TorchEngine(tiny, variant)(x)
    for n in (1, 5):  # the batch axis is dynamic
        out = onnx_engine(x[:n])
        assert out.shape == ref[:n].shape and out.dtype == np.float32
        assert np.abs(out - ref[:n]).max() <= 1e-4


def test_auto_picks_verified_onnx(tiny):
    fx = FeatureExtractor(tiny, "multilevel", cache=None)
    assert fx.engine.name == "onnx"
    assert fx.engine is engines.get_engine(tiny, "multilevel", "auto")  # built once per process


def test_export_is_cached_on_disk_and_keyed_by_variant(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("PIAA_ONNX_CACHE", str(tmp_path / "onnx"))
    first = OnnxEngine(tiny, "pooled")
    stamp = first.path.stat().st_mtime_ns
    again = OnnxEngine(tiny, "pooled")
    assert again.path == first.path and again.path.stat().st_mtime_ns == stamp
    other = OnnxEngine(tiny, "multilevel")
    assert other.path != first.path
    # each export and the eager outputs it verified against; no temp files left
    assert sorted(p.name.split(".", 1)[1] for p in (tmp_path / "onnx").iterdir()) == [
        "onnx", "onnx", "ref.npz", "ref.npz"]


def test_verified_export_is_reused_without_torch(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("PIAA_ONNX_CACHE", str(tmp_path / "onnx"))
    first = OnnxEngine(tiny, "pooled")

    def no_eager(*a, **k):
        raise AssertionError("eager network built although a verified export exists")

    monkeypatch.setattr(OnnxEngine, "_eager", staticmethod(no_eager))
    again = OnnxEngine(tiny, "pooled")
    assert again.path == first.path and again.verified_max_abs_diff <= 1e-4
    # the saved check still bites: a graph that no longer reproduces the saved eager outputs is refused
    ref = engines.reference_path(first.path)
    with np.load(ref) as z:
        saved = {k: z[k] for k in z.files}
    np.savez(ref, **{**saved, "reference": saved["reference"] + 1e-3})
    with pytest.raises(EngineVerificationError, match="saved eager"):
        OnnxEngine(tiny, "pooled")


def test_export_prebuilt_at_install_is_used_when_the_user_cache_is_empty(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("PIAA_ONNX_CACHE", str(tmp_path / "install"))
    built = OnnxEngine(tiny, "pooled")  # what scripts/setup.sh does, into the environment's share/piaa/onnx
    monkeypatch.setattr(engines, "prebuilt_onnx_dir", lambda: tmp_path / "install")
    monkeypatch.setenv("PIAA_ONNX_CACHE", str(tmp_path / "empty-user-cache"))
    monkeypatch.setattr(OnnxEngine, "_eager", staticmethod(lambda *a, **k: (_ for _ in ()).throw(
        AssertionError("re-exported although a verified install-time export exists"))))
    again = OnnxEngine(tiny, "pooled")
    assert again.path == built.path and again.verified_max_abs_diff <= 1e-4
    assert not (tmp_path / "empty-user-cache").exists()


def test_new_weights_get_a_new_export(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("PIAA_ONNX_CACHE", str(tmp_path / "onnx"))
    before = OnnxEngine(tiny, "pooled").path
    register_tiny(tiny, tmp_path, seed=99)  # same name and file path, different weights
    after = OnnxEngine(tiny, "pooled")
    assert after.path != before and after.verified_max_abs_diff <= 1e-4


def test_damaged_export_file_is_rebuilt(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("PIAA_ONNX_CACHE", str(tmp_path / "onnx"))
    path = OnnxEngine(tiny, "pooled").path
    path.write_bytes(b"not a model")
    assert OnnxEngine(tiny, "pooled").verified_max_abs_diff <= 1e-4


def test_export_that_changes_outputs_falls_back_to_torch(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("PIAA_ONNX_CACHE", str(tmp_path / "onnx"))
    real_export = engines.export_onnx

    def drifting_export(model, variant, input_size, path):  # an exporter bug: weights off by 1 %
        model = copy.deepcopy(model)
        with torch.no_grad():
            model.layers[0][0].weight.mul_(1.01)
        return real_export(model, variant, input_size, path)

    monkeypatch.setattr(engines, "export_onnx", drifting_export)
    with pytest.raises(EngineVerificationError, match="differs from eager"):
        OnnxEngine(tiny, "pooled")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fallback = engines.make_engine(tiny, "pooled", "auto")
    assert fallback.name == "torch"
    assert any("using torch" in str(w.message) for w in caught)


def test_parallel_lanes_give_the_same_features(tmp_path, tiny):
    paths = [_save(tmp_path / f"p{i}.jpg", 20 + i) for i in range(9)]
    serial = _fx(tiny, "multilevel", workers=1, batch_size=2).extract(paths)
    onnx_engine = engines.make_engine(tiny, "multilevel", "onnx")
    onnx_engine.max_concurrency = 3
    fx = _fx(tiny, "multilevel", workers=3, batch_size=2)
    fx._engine = onnx_engine
    parallel = fx.extract(paths)
    assert not serial.errors and not parallel.errors
    assert np.abs(parallel.features - serial.features).max() <= 1e-4


def test_compare_engines_reports_speed_and_agreement(tmp_path, tiny):
    from piaa.features.throughput import compare_engines

    paths = [_save(tmp_path / f"c{i}.jpg", 40 + i) for i in range(6)] + [tmp_path / "missing.jpg"]
    out = compare_engines(paths, backbone=tiny, variant="multilevel", head_fn=lambda f: f.sum(axis=1),
                          engines=("onnx",), repeats=2, warmup=2)
    assert out["n_images"] == 7 and set(out["engines"]) == {"torch", "onnx"}
    torch_row, onnx_row = out["engines"]["torch"], out["engines"]["onnx"]
    assert onnx_row["engine_used"] == "onnx" and torch_row["engine_used"] == "torch"
    assert len(onnx_row["seconds"]) == 2 and onnx_row["images_per_s"] > 0 and onnx_row["cpu_ms_per_image"] > 0
    assert onnx_row["n_errors"] == torch_row["n_errors"] == 1
    assert torch_row["max_abs_diff_features"] == 0.0
    assert onnx_row["max_abs_diff_features"] <= 1e-4
    assert onnx_row["max_abs_diff_head"] <= 1e-3
    with pytest.raises(ValueError, match="at least one image"):
        compare_engines([], backbone=tiny)


def test_on_decoded_sees_every_decoded_image_and_its_errors_are_ignored(tmp_path, tiny):
    a, b = _save(tmp_path / "a.jpg", 11, size=(90, 60)), _save(tmp_path / "b.jpg", 12, size=(60, 90))
    seen = {}

    def hook(i, img):
        seen[i] = img.size
        raise RuntimeError("the caller's bug")

    res = _fx(tiny).extract([a, b], on_decoded=hook)
    assert not res.errors and sorted(seen) == [0, 1]
    assert seen[0][0] > seen[0][1] and seen[1][0] < seen[1][1]     # upright RGB decodes, in input order
