"""PA_IAA inter-task fusion personalizer: fit/predict, solvers, MLP variant, pickle-free round trip."""
import numpy as np
import pytest
import torch

from piaa.models.pa_iaa.fusion import loo_alpha, ridge_fusion, sgd_fusion, sgd_fusion_loop
from piaa.models.pa_iaa.network import PAIAANet, save_network
from piaa.personalize import get_personalizer_class, make_personalizer
from piaa.personalize.pa_iaa import PAIAAPersonalizer
from piaa.state import state_from_bytes, state_to_bytes

VALUES = np.arange(1, 8, dtype=float)


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    n = PAIAANet(10, VALUES, 5, "traits", [f"t{i}" for i in range(5)], hidden=(16,))
    with torch.no_grad():  # make the trait outputs spread out, as a trained head's would
        n.second[-1].weight.mul_(8.0)
    return n.eval()


def _person(net, n=60, seed=0, w=(1.5, -1.0, 0.0, 0.5, 0.0), noise=0.05):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 10)).astype(np.float32)
    out = net.predict_arrays(X)
    y = out["score"] + out["second"] @ np.asarray(w) + 0.3 + rng.normal(scale=noise, size=n)
    return X, y, out


def test_registered_under_pa_iaa():
    assert get_personalizer_class("pa-iaa") is PAIAAPersonalizer
    assert isinstance(make_personalizer("pa-iaa", network="default:x"), PAIAAPersonalizer)


def test_ridge_recovers_person_weights(net):
    X, y, _ = _person(net)
    est = PAIAAPersonalizer(network=net, solver="ridge", alpha=1e-4).fit(X, y)
    assert est.w_ == pytest.approx([1.5, -1.0, 0.0, 0.5, 0.0], abs=0.15)
    assert est.b_ == pytest.approx(0.3, abs=0.1)
    assert set(est.trait_weights()) == {f"t{i}" for i in range(5)}
    Xq, yq, _ = _person(net, seed=1)
    assert np.corrcoef(est.predict(Xq), yq)[0, 1] > 0.95


def test_loo_alpha_prefers_shrinkage_for_pure_noise():
    rng = np.random.default_rng(0)
    s_a, P = rng.normal(size=30), rng.normal(size=(30, 5))
    y_signal = s_a + P @ np.array([1.0, -1, 0.5, 0, 0])
    y_noise = s_a + rng.normal(size=30)
    assert loo_alpha(s_a, P, y_signal) < loo_alpha(s_a, P, y_noise)
    w, _ = ridge_fusion(s_a, P, y_noise, 1e6)
    assert np.abs(w).max() < 1e-3  # huge alpha: back to the generic score


def test_sgd_paper_lr_moves_little_but_converges_with_more_steps(net):
    X, y, out = _person(net, noise=0.0)
    r = y - out["score"]
    w_small, _ = sgd_fusion(out["score"], out["second"], y, lr=1e-4, steps=100)
    w_ridge, _ = ridge_fusion(out["score"], out["second"], y, 1e-8)
    assert np.abs(w_small).max() < 0.5 * np.abs(w_ridge).max()
    w_long, b_long = sgd_fusion(out["score"], out["second"], y, lr=1e-2, steps=20000)
    pred = out["second"] @ w_long + b_long
    assert np.mean((pred - r) ** 2) < 0.1 * np.var(r)


def test_state_round_trip_identical_predictions(net, tmp_path):
    X, y, _ = _person(net)
    path = tmp_path / "net.npz"
    save_network(net, path)
    from piaa.models.pa_iaa.default import resolve_network

    filed = resolve_network(f"file:{path}")
    est = PAIAAPersonalizer(network=filed).fit(X[:20], y[:20])
    blob = state_to_bytes(est.state_dict())
    assert b"pickle" not in blob and len(blob) < 4000
    est2 = PAIAAPersonalizer.from_state_dict(state_from_bytes(blob))  # network found through its reference
    np.testing.assert_array_equal(est.predict(X), est2.predict(X))
    assert est2.state_dict()["meta"]["network"] == f"file:{path}"


def test_state_of_in_memory_network_needs_it_back(net):
    X, y, _ = _person(net)
    est = PAIAAPersonalizer(network=net).fit(X, y)
    state = est.state_dict()
    with pytest.raises(ValueError, match="network="):
        PAIAAPersonalizer.from_state_dict(state)
    est2 = PAIAAPersonalizer.from_state_dict(state, network=net)
    np.testing.assert_array_equal(est.predict(X), est2.predict(X))
    other = PAIAANet(10, VALUES, 5, "traits", hidden=(16,)).eval()
    with pytest.raises(ValueError, match="fingerprint"):
        PAIAAPersonalizer.from_state_dict(state, network=other)


def test_mlp_variant_fits_and_round_trips(net):
    X, y, out = _person(net)
    est = PAIAAPersonalizer(network=net, fusion="mlp", mlp_steps=200, mlp_lr=1e-2).fit(X, y)
    pred = est.predict(X)
    assert np.mean((pred - y) ** 2) < np.mean((out["score"] - y) ** 2)
    assert est.mlp_.weights(out["hidden"]).shape == (len(X), 5)
    est2 = PAIAAPersonalizer.from_state_dict(state_from_bytes(state_to_bytes(est.state_dict())), network=net)
    np.testing.assert_array_equal(pred, est2.predict(X))
    with pytest.raises(ValueError, match="MLP"):
        est.trait_weights()


def test_unfitted_mlp_starts_at_generic_score(net):
    X, y, out = _person(net)
    est = PAIAAPersonalizer(network=net, fusion="mlp", mlp_steps=0).fit(X, y)
    np.testing.assert_allclose(est.predict(X), out["score"], atol=1e-5)


def test_precomputed_outputs_match_feature_rows(net):
    X, y, out = _person(net)
    a = PAIAAPersonalizer(network=net).fit(X, y).predict(X)
    b = PAIAAPersonalizer(network=net).fit(out, y).predict(out)
    np.testing.assert_allclose(a, b)


def test_errors_are_clear(net):
    X, y, _ = _person(net)
    with pytest.raises(RuntimeError, match="not fitted"):
        PAIAAPersonalizer(network=net).predict(X)
    with pytest.raises(ValueError, match="scores"):
        PAIAAPersonalizer(network=net).fit(X, y[:5])
    with pytest.raises(ValueError, match="fusion"):
        PAIAAPersonalizer(network=net, fusion="nope").fit(X, y)
    with pytest.raises(ValueError, match="solver"):
        PAIAAPersonalizer(network=net, solver="nope").fit(X, y)


def test_image_paths_go_through_the_feature_extractor(tmp_path):
    """X as image files: features from the (tiny, locally registered) backbone the network names."""
    from PIL import Image
    from tiny_backbone import CHANNELS, register_tiny

    register_tiny("tiny_pa_iaa_paths", tmp_path)
    torch.manual_seed(1)
    net = PAIAANet(sum(CHANNELS), VALUES, 5, "traits", hidden=(8,), backbone="tiny_pa_iaa_paths").eval()
    rng = np.random.default_rng(0)
    paths = []
    for i in range(12):
        p = tmp_path / f"img{i}.png"
        Image.fromarray(rng.integers(0, 255, size=(40, 40, 3), dtype=np.uint8)).save(p)
        paths.append(p)
    y = rng.uniform(1, 7, size=12)
    est = PAIAAPersonalizer(network=net).fit(paths, y)
    rows, errors = net.extract_inputs(paths)
    assert not errors
    np.testing.assert_allclose(est.predict(paths), est.predict(rows), rtol=1e-5)
    with pytest.raises(ValueError, match="could not be read"):
        est.predict(paths + [tmp_path / "missing.jpg"])


def test_score_range_maps_generic_score(net):
    X, y, out = _person(net)
    est = PAIAAPersonalizer(network=net, score_range=(1, 5), steps=0).fit(X, (y - 1) / 6 * 4 + 1)
    np.testing.assert_allclose(est.predict_generic(X), 1 + (out["score"] - 1) / 6 * 4, rtol=1e-6)
    est2 = PAIAAPersonalizer.from_state_dict(state_from_bytes(state_to_bytes(est.state_dict())), network=net)
    np.testing.assert_array_equal(est.predict(X), est2.predict(X))


def test_generic_scale_option(net):
    X, y, out = _person(net)
    est = PAIAAPersonalizer(network=net, solver="ridge", generic_scale=True, alpha=1e-4).fit(X, 2 * y)
    assert est.a_ == pytest.approx(2.0, abs=0.2)
    est2 = PAIAAPersonalizer.from_state_dict(state_from_bytes(state_to_bytes(est.state_dict())), network=net)
    np.testing.assert_array_equal(est.predict(X), est2.predict(X))


@pytest.mark.parametrize("steps,bias", [(0, True), (1, True), (7, False), (3000, True)])
def test_closed_form_sgd_equals_the_step_loop(steps, bias):
    rng = np.random.default_rng(steps)
    s_a, P, y = rng.normal(size=25), rng.uniform(-0.5, 0.5, size=(25, 5)), rng.normal(size=25) + 2
    w1, b1 = sgd_fusion(s_a, P, y, lr=1e-3, steps=steps, bias=bias)
    w2, b2 = sgd_fusion_loop(s_a, P, y, lr=1e-3, steps=steps, bias=bias)
    np.testing.assert_allclose(w1, w2, rtol=1e-8, atol=1e-10)
    assert b1 == pytest.approx(b2, rel=1e-8, abs=1e-10)


def test_outputs_with_a_network_reference_keep_the_reference(net, tmp_path):
    path = tmp_path / "ref.npz"
    save_network(net, path)
    X, y, out = _person(net)
    est = PAIAAPersonalizer(network=f"file:{path}").fit(out, y)  # precomputed outputs, network by reference
    state = est.state_dict()
    assert state["meta"]["network"] == f"file:{path}" and state["meta"]["network_fingerprint"]
    np.testing.assert_array_equal(PAIAAPersonalizer.from_state_dict(state).predict(out), est.predict(out))
