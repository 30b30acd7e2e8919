"""PA_IAA multi-task network: shapes, output ranges, joint training, pickle-free state."""
from dataclasses import replace

import numpy as np
import pytest
import torch

from piaa.models.pa_iaa.network import PAIAANet, load_network, save_network
from piaa.models.pa_iaa.train import PAPER_CONFIG, distribution_loss, evaluate_losses, train_network

VALUES = np.arange(1, 8, dtype=float)


def _data(n=64, d=12, seed=0):
    """Features that determine both a 7-bucket distribution and 5 traits."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    logits = X[:, :7] * 1.5
    Y_a = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    Y_p = np.tanh(X[:, 7:12] * 0.8).astype(np.float32)
    return X, Y_a.astype(np.float32), Y_p


def _net(d=12, **kw):
    torch.manual_seed(0)
    return PAIAANet(d, VALUES, 5, "traits", [f"t{i}" for i in range(5)], hidden=(32, 16), **kw)


def test_paper_head_layout():
    net = PAIAANet(20, VALUES, 5, "traits")
    kinds = [type(m).__name__ for m in net.aesthetics]
    assert kinds == ["Linear", "BatchNorm1d", "ReLU", "Linear", "BatchNorm1d", "ReLU", "Linear"]
    assert net.aesthetics[0].out_features == 1024 and net.aesthetics[3].out_features == 512
    assert net.aesthetics[-1].out_features == 7 and net.second[-1].out_features == 5


def test_output_shapes_and_ranges():
    X, _, _ = _data()
    net = _net().eval()
    a, p = net(torch.from_numpy(X * 50))  # large inputs: tanh must still stay inside (-1, 1)
    assert a.shape == (64, 7) and p.shape == (64, 5)
    assert torch.allclose(a.sum(1), torch.ones(64), atol=1e-5) and (a >= 0).all()
    assert (p.abs() <= 1).all()
    out = net.predict_arrays(np.vstack([X[:3], np.full((1, 12), np.nan, np.float32)]))
    assert out["score"].shape == (4,) and np.isnan(out["score"][3]) and np.isfinite(out["score"][:3]).all()
    assert ((out["score"][:3] >= 1) & (out["score"][:3] <= 7)).all()
    assert out["hidden"].shape == (4, 16)
    with pytest.raises(ValueError, match="width 12"):
        net.predict_arrays(X[:, :5])


def test_mt_iaa_second_head_is_a_distribution():
    X, Y_a, _ = _data()
    net = PAIAANet(12, VALUES, 7, "aesthetics", hidden=(16,)).eval()
    _, s = net(torch.from_numpy(X))
    assert torch.allclose(s.sum(1), torch.ones(len(X)), atol=1e-5)
    hist = train_network(net, X, Y_a, X, Y_a[:, ::-1].copy(), replace(PAPER_CONFIG, epochs=3, lr_heads=1e-2))
    assert len(hist) == 3


def test_joint_training_lowers_both_losses():
    X, Y_a, Y_p = _data()
    net = _net()
    before = evaluate_losses(net, X, Y_a, X, Y_p)
    cfg = replace(PAPER_CONFIG, epochs=40, lr_heads=3e-2, lr_decay=1.0, batch_size=16)
    hist = train_network(net, X, Y_a, X, Y_p, cfg)
    after = evaluate_losses(net, X, Y_a, X, Y_p)
    assert after["val_L_a"] < 0.5 * before["val_L_a"]
    assert after["val_L_p"] < 0.5 * before["val_L_p"]
    assert hist[-1]["L_a"] < hist[0]["L_a"] and hist[-1]["L_p"] < hist[0]["L_p"]


def test_alternating_batches_need_not_share_images():
    X, Y_a, Y_p = _data(n=40)
    X2, _, Y_p2 = _data(n=25, seed=1)
    net = _net()
    hist = train_network(net, X, Y_a, X2, Y_p2, replace(PAPER_CONFIG, epochs=2, lr_heads=1e-2, batch_size=8))
    assert hist[-1]["L_p"] > 0 and hist[-1]["L_a"] > 0


def test_paper_settings_barely_move_fresh_heads():
    """Documents why cached-feature heads use a larger lr: at lr 1e-4, 3 epochs hardly change the loss."""
    X, Y_a, Y_p = _data()
    net = _net()
    before = evaluate_losses(net, X, Y_a, X, Y_p)["val_L_a"]
    train_network(net, X, Y_a, X, Y_p, replace(PAPER_CONFIG, epochs=3))
    assert evaluate_losses(net, X, Y_a, X, Y_p)["val_L_a"] > 0.8 * before


def test_state_round_trip_is_exact(tmp_path):
    X, Y_a, Y_p = _data()
    net = _net()
    train_network(net, X, Y_a, X, Y_p, replace(PAPER_CONFIG, epochs=2, lr_heads=1e-2))
    save_network(net, tmp_path / "net.npz")
    net2 = load_network(tmp_path / "net.npz")
    a, b = net.predict_arrays(X), net2.predict_arrays(X)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert net.fingerprint() == net2.fingerprint()
    # fp16 storage changes weights a little and therefore the fingerprint, never the layout
    save_network(net, tmp_path / "net16.npz", dtype="float16")
    net3 = load_network(tmp_path / "net16.npz")
    assert np.abs(net3.predict_arrays(X)["score"] - a["score"]).max() < 0.05
    assert net3.fingerprint() != net.fingerprint()
    save_network(net, tmp_path / "net8.npz", dtype="int8")
    net8 = load_network(tmp_path / "net8.npz")
    assert np.abs(net8.predict_arrays(X)["score"] - a["score"]).max() < 0.05
    assert (tmp_path / "net8.npz").stat().st_size < (tmp_path / "net16.npz").stat().st_size
    with open(tmp_path / "net.npz", "rb") as fh:  # no pickle inside
        assert b"pickle" not in fh.read()


def test_distribution_loss_is_squared_distance():
    p = torch.tensor([[0.5, 0.5, 0.0]])
    q = torch.tensor([[0.0, 0.5, 0.5]])
    assert float(distribution_loss(p, q)) == pytest.approx(0.5)


def test_finetune_top_on_trunk_activations(tmp_path):
    """Split mode: the backbone's top layers are part of the network and train on trunk activations."""
    from tiny_backbone import register_tiny

    from piaa.backbones import create_backbone

    register_tiny("tiny_pa_iaa", tmp_path)
    bb = create_backbone("tiny_pa_iaa")
    imgs = torch.randn(24, 3, 32, 32)
    with torch.no_grad():
        trunk = bb.forward_range(imgs, 0, 2).reshape(24, -1).numpy()
        ml = bb.forward_multilevel(imgs).numpy()
    rows = np.concatenate([ml[:, : sum(bb.layer_channels[:2])], trunk], axis=1)
    torch.manual_seed(0)
    net = PAIAANet(0, VALUES, 5, "traits", hidden=(8,), backbone="tiny_pa_iaa", split=2)
    assert net.input_dim == rows.shape[1]
    # with the top untouched, d equals the backbone's own multilevel vector (before standardization)
    with torch.no_grad():
        np.testing.assert_allclose(net.encode(torch.from_numpy(rows)).numpy(), ml, rtol=1e-4, atol=1e-5)
    top_before = [p.detach().clone() for p in net.top.parameters()]
    rng = np.random.default_rng(0)
    Y_a = rng.dirichlet(np.ones(7), size=24).astype(np.float32)
    Y_p = rng.uniform(-0.5, 0.5, size=(24, 5)).astype(np.float32)
    train_network(net, rows, Y_a, rows, Y_p, replace(PAPER_CONFIG, epochs=2, lr_heads=1e-2, lr_backbone=1e-2,
                                                      batch_size=8))
    assert any(not torch.equal(a, b) for a, b in zip(top_before, net.top.parameters()))
    save_network(net, tmp_path / "split.npz")
    net2 = load_network(tmp_path / "split.npz")
    np.testing.assert_array_equal(net.predict_arrays(rows)["score"], net2.predict_arrays(rows)["score"])
