"""Backbone registry and networks: variant shapes, layer structure, local weights, cache-key identity."""
import numpy as np
import pytest
import torch
from PIL import Image
from tiny_backbone import CHANNELS, INPUT_SIZE, make_module, one_torch_thread, register_tiny, tiny_cfg  # noqa: F401

from piaa.backbones import (
    create_backbone,
    get_pretrained_cfg,
    list_backbones,
    preprocess,
    register_backbone,
    register_local_backbone,
)
from piaa.features import FeatureExtractor

LITE = {
    # name: (layers, input size, pooled dim, multilevel dim)
    "efficientnet_lite0": (18, 224, 1280, 3120),
    "efficientnet_lite2": (23, 260, 1280, 3768),
}


@pytest.fixture(scope="module", params=sorted(LITE))
def lite(request):
    return request.param, create_backbone(request.param)


def test_lite_layer_structure(lite):
    name, model = lite
    n_layers, size, pooled, multi = LITE[name]
    assert model.num_layers == n_layers == len(model.layer_channels)
    assert model.layer_channels[0] == 32 and model.layer_channels[-1] == 1280
    assert model.cfg.input_size == size
    assert model.feature_dim("pooled") == pooled
    assert model.feature_dim("multilevel") == multi == sum(model.layer_channels)
    assert not model.training


def test_lite_variant_shapes_on_tiny_input(lite):
    name, model = lite
    n_layers, _, pooled, multi = LITE[name]
    x = torch.randn(2, 3, 64, 64)
    with torch.inference_mode():
        assert tuple(model.forward_variant(x, "pooled").shape) == (2, pooled)
        assert tuple(model.forward_variant(x, "multilevel").shape) == (2, multi)
        for k in (1, 5, n_layers - 1, n_layers):
            t = model.forward_variant(x, f"trunk{k}")
            assert t.shape[:2] == (2, model.layer_channels[k - 1])
            assert t.dim() == 4
        # the stem halves the resolution (TF SAME padding: ceil(64 / 2))
        assert tuple(model.forward_variant(x, "trunk1").shape[2:]) == (32, 32)


def test_multilevel_ends_with_pooled_and_trunk_continues(lite):
    _, model = lite
    x = torch.randn(1, 3, 64, 64)
    with torch.inference_mode():
        pooled = model.forward_variant(x, "pooled")
        multi = model.forward_variant(x, "multilevel")
        mid = model.forward_variant(x, "trunk4")
        rest = model.forward_range(mid, 4).mean(dim=(2, 3))
    np.testing.assert_allclose(multi[:, -1280:].numpy(), pooled.numpy(), atol=1e-6)
    np.testing.assert_allclose(rest.numpy(), pooled.numpy(), atol=1e-5)


def test_meanstd_variant_is_multilevel_plus_spatial_std():
    model = make_module().eval()
    x = torch.randn(2, 3, INPUT_SIZE, INPUT_SIZE)
    with torch.inference_mode():
        ms = model.forward_variant(x, "multilevel_meanstd")
        multi = model.forward_variant(x, "multilevel")
        last = model.forward_range(x)
    assert model.feature_dim("multilevel_meanstd") == 2 * sum(CHANNELS) == ms.shape[1]
    np.testing.assert_allclose(ms[:, :sum(CHANNELS)].numpy(), multi.numpy(), atol=1e-6)
    ref = last.flatten(2).std(dim=2, unbiased=False)  # population std of the last map, per channel
    np.testing.assert_allclose(ms[:, -CHANNELS[-1]:].numpy(), ref.numpy(), atol=1e-5)
    assert (ms[:, sum(CHANNELS):] >= 0).all()


def test_unknown_variant_is_an_error(lite):
    _, model = lite
    with pytest.raises(ValueError, match="unknown feature variant"):
        model.forward_variant(torch.zeros(1, 3, 32, 32), "pooledd")


def test_registry_lists_and_gets():
    names = list_backbones()
    assert {"efficientnet_lite0", "efficientnet_lite2"} <= set(names)
    assert names == sorted(names)
    cfg = get_pretrained_cfg("efficientnet_lite2")
    assert cfg.input_size == 260 and len(cfg.mean) == 3 and len(cfg.std) == 3
    assert "lite2" in cfg.weights


def test_unknown_backbone_names_the_available_ones():
    with pytest.raises(KeyError, match="efficientnet_lite0"):
        create_backbone("resnet_nonexistent")
    with pytest.raises(KeyError, match="unknown backbone"):
        get_pretrained_cfg("nope")


def test_duplicate_registration_is_refused():
    with pytest.raises(ValueError, match="already registered"):
        register_backbone("efficientnet_lite0", make_module, tiny_cfg())


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_register_local_backbone_loads_the_saved_weights(tmp_path, suffix):
    if suffix == ".safetensors":
        pytest.importorskip("safetensors")
    path = register_tiny(f"tiny_local{suffix.replace('.', '_')}", tmp_path, seed=3, suffix=suffix)
    model = create_backbone(f"tiny_local{suffix.replace('.', '_')}")
    if suffix == ".safetensors":
        from safetensors.torch import load_file

        saved = load_file(str(path))
    else:
        saved = torch.load(path, weights_only=True)
    for k, v in model.state_dict().items():
        assert torch.equal(v, saved[k]), k
    assert model.cfg.weights == str(path)
    x = torch.randn(2, 3, INPUT_SIZE, INPUT_SIZE)
    with torch.inference_mode():
        assert tuple(model.forward_variant(x, "pooled").shape) == (2, CHANNELS[-1])
        assert tuple(model.forward_variant(x, "multilevel").shape) == (2, sum(CHANNELS))
        assert tuple(model.forward_variant(x, "trunk2").shape) == (2, CHANNELS[1], 8, 8)


def test_local_backbone_with_mismatched_weights_fails_loudly(tmp_path):
    bad = tmp_path / "bad.pt"
    torch.save({"layers.0.0.weight": torch.zeros(1)}, bad)
    register_local_backbone("tiny_bad", make_module, bad, tiny_cfg(), override=True)
    with pytest.raises(RuntimeError):
        create_backbone("tiny_bad")


def test_preprocessing_fingerprint_changes_the_cache_key(tmp_path):
    base = tiny_cfg()
    assert base.fingerprint() == tiny_cfg().fingerprint()  # stable
    changed = [base.with_resize_mode("center_crop"), tiny_cfg(input_size=48), tiny_cfg(mean=(0.5, 0.5, 0.5)),
               tiny_cfg(interpolation="bicubic")]
    assert len({base.fingerprint(), *(c.fingerprint() for c in changed)}) == 1 + len(changed)

    register_tiny("tiny_key", tmp_path, cfg=base)
    key_a = FeatureExtractor("tiny_key", "pooled", cache=None).model_key
    register_tiny("tiny_key", tmp_path, cfg=tiny_cfg(std=(0.25, 0.25, 0.25)))
    key_b = FeatureExtractor("tiny_key", "pooled", cache=None).model_key
    assert key_a != key_b
    assert FeatureExtractor("tiny_key", "multilevel", cache=None).model_key != key_b


def test_preprocess_follows_the_cfg():
    img = Image.new("RGB", (90, 60), (127, 0, 255))
    squash = preprocess(img, tiny_cfg())
    assert squash.shape == (3, INPUT_SIZE, INPUT_SIZE) and squash.dtype == np.float32
    # Lite normalization: (x - 127) / 128
    np.testing.assert_allclose(squash[:, 0, 0], [0.0, -127 / 128, 1.0], atol=1e-6)
    crop = preprocess(img, tiny_cfg(resize_mode="center_crop"))
    assert crop.shape == (3, INPUT_SIZE, INPUT_SIZE)
