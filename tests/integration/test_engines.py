"""ONNX Runtime reproduces eager PyTorch on real photos (features and whole extraction pipeline)."""
import numpy as np
import pytest

from piaa.features import FeatureExtractor
from piaa.features.engines import OnnxEngine
from piaa.io.discovery import iter_image_files

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def photos(shared_data):
    files = iter_image_files(shared_data / "oasis" / "images")
    return files[::150][:6]  # six photos spread over the set


@pytest.fixture
def one_thread(monkeypatch):
    """One thread per engine call: robust on a busy shared machine (see piaa.features.engines)."""
    import torch

    threads = torch.get_num_threads()
    monkeypatch.setenv("PIAA_THREADS", "1")
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("variant", ["pooled", "multilevel", "multilevel_meanstd"])
def test_onnx_equals_torch_on_real_photos(photos, variant, one_thread):
    torch_res = FeatureExtractor("efficientnet_lite0", variant, cache=None, engine="torch").extract(photos)
    fx = FeatureExtractor("efficientnet_lite0", variant, cache=None, engine="onnx")
    assert isinstance(fx.engine, OnnxEngine), "the ONNX export did not verify"
    onnx_res = fx.extract(photos)
    assert not torch_res.errors and not onnx_res.errors
    assert onnx_res.hashes == torch_res.hashes
    assert np.abs(onnx_res.features - torch_res.features).max() <= 1e-4
    # real features, not zeros: ReLU6 activations pooled over the image
    assert (onnx_res.features.std(axis=0) > 0).mean() > 0.5
