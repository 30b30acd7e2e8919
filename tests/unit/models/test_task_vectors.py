"""Task vectors: arithmetic, losses, init, fast engine vs autograd, bank files, personalizer round trip."""
from __future__ import annotations

import numpy as np
import pytest

from tiny_backbone import CHANNELS, register_tiny, one_torch_thread  # noqa: F401

from piaa.models.task_vectors.bank import TaskBank
from piaa.models.task_vectors.engine import HeadOnlyProblem, TorchProblem, is_head_only, predict_scores
from piaa.models.task_vectors.net import build_top, get_params
from piaa.models.task_vectors.spec import TaskModelSpec, input_layout, template_for
from piaa.models.task_vectors.targets import image_targets, soft_onehot
from piaa.state import state_from_bytes, state_to_bytes
from piaa.personalize.task_vectors import (TaskVectorPersonalizer, bt_loss_grad, init_coefficients, pair_index,
                                           shrink_srocc)

BACKBONE = "tiny_tv"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    register_tiny(BACKBONE, tmp_path_factory.mktemp("w"), seed=3)
    return BACKBONE


def random_bank(spec, K=3, seed=0, scale=0.3):
    net = build_top(spec)
    pre = get_params(net)
    rng = np.random.default_rng(seed)
    taus = [{n: (rng.standard_normal(a.shape) * scale).astype(np.float32) for n, a in pre.items()} for _ in range(K)]
    tasks = [{"name": f"t{k}", "scale": [1.0, 7.0, 7], "template": list(template_for(1, 7)), "prior_srocc": 0.1 * k}
             for k in range(K)]
    return TaskBank(spec, {n: a.shape for n, a in pre.items()}, tasks, pre, taus, tau_dtype="float32")


def test_soft_targets_keep_the_mean():
    s = np.array([1.0, 2.5, 7.0, 4.2])
    t = soft_onehot(s, 1, 7)
    assert np.allclose(t.sum(1), 1)
    assert np.allclose(t @ template_for(1, 7), s)
    import pandas as pd

    df = image_targets(pd.DataFrame({"user": ["a", "b", "a"], "image": ["x", "x", "y"], "score": [1, 7, 4]}), 1, 7)
    assert np.allclose(df.loc["x", "mean"], 4) and np.isclose(df.filter(like="t").loc["x"].to_numpy() @ template_for(1, 7), 4)


def test_layout_of_splits(tiny):
    head = input_layout(TaskModelSpec(backbone=tiny, split=3))
    assert head.trunk_shape is None and head.input_dim == CHANNELS[-1]
    mid = input_layout(TaskModelSpec(backbone=tiny, split=1, pool="multilevel"))
    assert mid.trunk_shape[0] == CHANNELS[0] and mid.prefix_dim == CHANNELS[0] and mid.head_dim == sum(CHANNELS)
    full = input_layout(TaskModelSpec(backbone=tiny, split=0))
    assert full.trunk_shape == (3, 32, 32)
    with pytest.raises(ValueError):
        input_layout(TaskModelSpec(backbone=tiny, split=4))


@pytest.mark.parametrize("split", [3, 1])
def test_one_hot_lambda_reproduces_task_model_and_zero_gives_pre(tiny, split):
    bank = random_bank(TaskModelSpec(backbone=tiny, split=split, hidden=8))
    L, K = len(bank.param_names), bank.num_tasks
    for k in range(K):
        lam = np.zeros((L, K))
        lam[:, k] = 1
        merged = bank.combine(lam)
        for n in bank.param_names:
            assert np.array_equal(merged[n], bank.theta(k)[n])
    zero = bank.combine(np.zeros((L, K)))
    for n in bank.param_names:
        assert np.array_equal(zero[n], bank.theta_pre[n])


def test_bt_gradient_sign_and_value():
    y = np.array([3.0, 1.0, 2.0])
    i, j = pair_index(y)
    assert set(zip(i, j)) == {(0, 1), (0, 2), (2, 1)}
    s = np.array([0.0, 1.0, 0.5])  # everything in the wrong order
    loss, ds, _ = bt_loss_grad(s, i, j)
    assert ds[0] < 0 and ds[1] > 0  # raising the best-rated image's score lowers the loss
    eps = 1e-6
    for m in range(3):
        e = np.zeros(3)
        e[m] = eps
        num = (bt_loss_grad(s + e, i, j)[0] - bt_loss_grad(s - e, i, j)[0]) / (2 * eps)
        assert np.isclose(num, ds[m], atol=1e-6)
    assert bt_loss_grad(s, np.array([], int), np.array([], int))[0] == 0.0


def test_adaptive_init_values():
    s = np.array([0.1, 0.3, 0.2])
    lam = init_coefficients(s, 4, "adaptive", T=0.1)
    e = np.exp(s / 0.1)
    assert lam.shape == (4, 3) and np.allclose(lam[2], e / e.sum())
    assert np.allclose(init_coefficients(s, 1, "uniform"), 1 / 3)
    assert np.array_equal(init_coefficients(s, 2, "bestfit")[1], [0, 1, 0])
    assert np.allclose(shrink_srocc(s, [0.5, 0.5, 0.5], 11, 10.0), (10 * s + 5) / 20)
    with pytest.raises(ValueError):
        init_coefficients(s, 1, "nope")


def test_numpy_engine_matches_autograd(tiny):
    bank = random_bank(TaskModelSpec(backbone=tiny, split=3, hidden=8), K=4)
    assert is_head_only(bank)
    order = [2, 0, 3, 1]  # a bank whose tensors come in another order gives the same engine results
    names = [bank.param_names[i] for i in order]
    shuffled = TaskBank(bank.spec, {n: bank.param_shapes[n] for n in names}, bank.tasks, bank.theta_pre,
                        [bank.tau(k) for k in range(4)], "float32")
    rng = np.random.default_rng(1)
    X = rng.random((12, CHANNELS[-1])).astype(np.float32) * 3
    t = template_for(1, 7)
    lam = rng.random((4, 4))
    fast, slow = HeadOnlyProblem(bank, X, t), TorchProblem(bank, X, t)
    s1, s2 = fast.scores(lam), slow.scores(lam)
    assert np.allclose(s1, s2, atol=1e-4)
    assert np.allclose(s1, predict_scores(bank, X, lam, t), atol=1e-4)
    ds = rng.standard_normal(12)
    assert np.allclose(fast.grad(ds), slow.grad(ds), rtol=1e-3, atol=1e-4)
    fast2 = HeadOnlyProblem(shuffled, X, t)
    assert np.allclose(fast2.scores(lam[order]), s1, atol=1e-5)
    assert np.allclose(fast2.grad(ds), fast.grad(ds)[order], rtol=1e-4, atol=1e-6)


def test_bank_fp16_save_load_is_lazy(tiny, tmp_path):
    bank = random_bank(TaskModelSpec(backbone=tiny, split=1, hidden=8)).with_tau_dtype("float16")
    fp = bank.fingerprint
    bank.save(tmp_path / "bank")
    assert not list((tmp_path / "bank").glob("*.pkl"))
    loaded = TaskBank.load(tmp_path / "bank")
    assert loaded.param_names == bank.param_names  # the rows of every λ keep their meaning after a reload
    assert loaded._taus == {} and loaded.fingerprint == fp and loaded.task_names == ["t0", "t1", "t2"]
    for n in bank.param_names:
        assert loaded.tau(1)[n].dtype == np.float16
        assert np.array_equal(loaded.tau(1)[n], bank.tau(1)[n])
        assert np.array_equal(loaded.theta_pre[n], bank.theta_pre[n])
    with pytest.raises(FileNotFoundError):
        TaskBank.load(tmp_path / "nothing")


def _person(X, w):
    return np.clip(np.rint(4 + 2 * np.tanh(X @ w)), 1, 7)


@pytest.mark.parametrize("kw", [{}, {"layer_agnostic": True}, {"loss": "mse", "init": "uniform"},
                                {"reg": 1.0, "bt_scale": True, "prior_strength": 10, "init": "bestfit"}])
def test_personalizer_round_trip_identical_predictions(tiny, tmp_path, kw):
    bank = random_bank(TaskModelSpec(backbone=tiny, split=3, hidden=8))
    bank.save(tmp_path / "b")
    bank = TaskBank.load(tmp_path / "b")
    rng = np.random.default_rng(2)
    X = rng.random((30, CHANNELS[-1])).astype(np.float32)
    y = _person(X, rng.standard_normal(CHANNELS[-1]))
    est = TaskVectorPersonalizer(bank=bank, steps=50, scale=(1, 7), **kw).fit(X[:20], y[:20])
    p1 = est.predict(X[20:])
    state = est.state_dict()
    blob = state_to_bytes(state)
    assert len(blob) < 4000  # the profile is the λ's plus a reference to the bank
    est2 = TaskVectorPersonalizer.from_state_dict(state_from_bytes(blob))
    assert np.array_equal(est2.predict(X[20:]), p1)
    other = random_bank(TaskModelSpec(backbone=tiny, split=3, hidden=8), seed=9)
    with pytest.raises(ValueError, match="bank"):
        TaskVectorPersonalizer.from_state_dict(state_from_bytes(blob), bank=other)


def test_fitting_lowers_the_bt_loss_and_moves_lambda(tiny):
    bank = random_bank(TaskModelSpec(backbone=tiny, split=3, hidden=8), K=3, scale=1.0)
    rng = np.random.default_rng(4)
    X = rng.random((40, CHANNELS[-1])).astype(np.float32) * 4
    y = np.rint(predict_scores(bank, X, np.eye(3)[1], template_for(1, 7)) * 3)  # person = task 1, stretched
    est = TaskVectorPersonalizer(bank=bank, steps=200, init="uniform", scale=(1, 7)).fit(X, y)
    assert est.loss_curve_[-1] < est.loss_curve_[0]
    assert not np.allclose(est.coef_, est.init_coef_)
    assert np.argmax(est.task_srocc_) == 1


def test_torch_engine_for_lower_split(tiny):
    bank = random_bank(TaskModelSpec(backbone=tiny, split=1, hidden=8), scale=0.05)
    lay = input_layout(bank.spec)
    rng = np.random.default_rng(5)
    X = rng.random((16, lay.input_dim)).astype(np.float32)
    y = rng.integers(1, 8, 16).astype(float)
    est = TaskVectorPersonalizer(bank=bank, steps=5, scale=(1, 7)).fit(X, y)
    assert np.isfinite(est.predict(X)).all()
    trunk = X.reshape(16, *lay.trunk_shape)  # [n, C, H, W] activations are accepted too
    assert np.allclose(est.predict(trunk), est.predict(X))
    with pytest.raises(ValueError, match="shape"):
        est.predict(X[:, :5])
