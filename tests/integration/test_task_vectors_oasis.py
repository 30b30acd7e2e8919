"""Task vectors on real OASIS photos: the shipped default bank, and banks split inside EfficientNet-Lite0
(split 17 and split 0 = the paper's full network from pixels) on a handful of images."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from piaa.data import load_dataset
from piaa.models.task_vectors import TaskModelSpec
from piaa.models.task_vectors.build import build_bank, load_default_bank
from piaa.models.task_vectors.engine import is_head_only
from piaa.models.task_vectors.inputs import input_layout, inputs_for_paths
from piaa.data.traits_filter import filter_users
from piaa.models.task_vectors.tasks import task_from_ratings
from piaa.models.task_vectors.train import TrainConfig
from piaa.state import state_from_bytes, state_to_bytes
from piaa.personalize.task_vectors import TaskVectorPersonalizer

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def oasis(shared_data):
    torch.set_num_threads(1)
    return load_dataset("oasis-beauty", shared_data / "oasis-beauty"), shared_data / "oasis" / "images"


def _person(ds, n):
    user = ds.splits["raters_subset1"][0]
    r = ds.ratings_of(user).sort_index()
    return r.index[:n].tolist(), r.to_numpy(float)[:n]


def test_default_bank_personalizes_a_real_person(oasis):
    ds, root = oasis
    bank = load_default_bank()
    assert bank.num_tasks >= 10 and is_head_only(bank) and "photo-quality" in bank.task_names
    assert all("prior_srocc" in t for t in bank.tasks)
    images, scores = _person(ds, 24)
    paths = [root / i for i in images]
    est = TaskVectorPersonalizer().fit(paths[:16], scores[:16])
    pred = est.predict(paths[16:])
    assert np.isfinite(pred).all() and 1 <= pred.min() and pred.max() <= 7
    blob = state_to_bytes(est.state_dict())
    assert len(blob) < 3000
    est2 = TaskVectorPersonalizer.from_state_dict(state_from_bytes(blob))
    assert est2.state_dict()["meta"]["bank"]["path"] == "default"
    assert np.array_equal(est2.predict(paths[16:]), pred)


@pytest.mark.parametrize("split", [17, pytest.param(0, marks=pytest.mark.slow)])
def test_banks_split_inside_the_network(oasis, split):
    ds, root = oasis
    n = 8 if split else 3
    images = ds.splits["subset2"][:n]
    r = ds.ratings[ds.ratings["image"].isin(images)]
    tasks = [task_from_ratings("all", r, root, ds.scale),
             task_from_ratings("women", r[r["user"].astype(str).isin(
                 set(map(str, filter_users(ds.users, "gender == 'female'").index)))], root, ds.scale)]
    spec = TaskModelSpec(split=split, hidden=16)
    cfg = TrainConfig(head_steps=20, top_epochs=1, top_batch_size=4)
    bank = build_bank(spec, tasks, lambda p: inputs_for_paths(spec, p), cfg)
    assert any(name.startswith("layers.") for name in bank.param_names)
    assert max(abs(bank.tau(0)[nm]).max() for nm in bank.param_names if nm.startswith("layers.")) > 0
    imgs, scores = _person(ds, 6 if split else 4)
    X = inputs_for_paths(spec, [root / i for i in imgs])
    assert X.shape[1] == input_layout(spec).input_dim
    est = TaskVectorPersonalizer(bank=bank, steps=2, scale=(1, 7)).fit(X[:3], scores[:3])
    pred = est.predict(X[3:])
    assert np.isfinite(pred).all()
    lam = np.zeros((len(bank.param_names), 2))
    lam[:, 0] = 1
    from piaa.models.task_vectors.engine import predict_scores

    assert not np.allclose(predict_scores(bank, X, lam, np.linspace(1, 7, 10)),
                           predict_scores(bank, X, 1 - lam, np.linspace(1, 7, 10)))
