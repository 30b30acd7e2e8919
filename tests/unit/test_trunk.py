"""Fine-tuned trunks: training on cached activations, the trunk file, its backbone, and the leakage guard."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from piaa.backbones import create_backbone
from piaa.backbones.finetuned import TrunkFileError, read_trunk, register_trunk, seen_images, trunk_file_of
from piaa.backbones.registry import BACKBONES
from piaa.errors import InputError, PiaaError
from piaa.evaluation.leakage import TrunkLeakageError, TrunkLeakGuard, check_trunk_unseen
from piaa.io.hashing import image_file_hash
from piaa.training.trunk.config import TrunkConfigError, config_from_dict
from piaa.training.trunk.data import TaskData, load_database, split_parts
from piaa.training.trunk.train import train_trunk

from tiny_backbone import register_tiny


def _images(tmp_path, n):
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        p = tmp_path / f"im{i}.png"
        Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(p)
        paths.append(p)
    return paths


@pytest.fixture
def tiny(tmp_path):
    register_tiny("tiny_trunk_base", tmp_path)
    yield "tiny_trunk_base"
    for name in ("tiny_trunk_base", "tiny_trunk_ft"):
        if name in BACKBONES.names():
            BACKBONES.unregister(name)


def _data(tmp_path, n=24):
    paths = _images(tmp_path, n)
    rng = np.random.default_rng(1)
    dist = rng.dirichlet(np.ones(3), n)
    return TaskData("toy", [p.name for p in paths], paths, np.array(["a", "b"] * (n // 2), dtype=object),
                    {"beauty": dist, "quality": rng.random(n)}, {"beauty": "distribution", "quality": "regression"},
                    {"beauty": np.array([1.0, 2.0, 3.0])})


def test_split_parts_is_seeded_stratified_and_order_free():
    names = [f"n{i}" for i in range(100)]
    strata = np.array(["x"] * 60 + ["y"] * 40, dtype=object)
    a = split_parts(names, strata, 0.1, 0.2, seed=3)
    b = split_parts(names[::-1], strata[::-1], 0.1, 0.2, seed=3)[::-1]
    assert (a == b).all()
    assert (a[:60] == "test").sum() == 12 and (a[60:] == "test").sum() == 8 and (a == "val").sum() == 10
    assert not (a == split_parts(names, strata, 0.1, 0.2, seed=4)).all()


def test_config_rejects_unknown_keys_and_avt_never_trains():
    with pytest.raises(TrunkConfigError, match="unknown key"):
        config_from_dict({"train": {"epochz": 3}})
    with pytest.raises(TrunkConfigError, match="views"):
        config_from_dict({"train": {"views": 3}})
    with pytest.raises(InputError, match="reserved"):
        load_database("avt-ai")


def test_train_trunk_writes_a_backbone_equal_to_the_trained_top(tiny, tmp_path):
    data = _data(tmp_path)
    cfg = config_from_dict({"trunk": {"base": tiny, "split": 2}, "data": {"val": 0.25, "test": 0.25},
                            "train": {"epochs": 2, "batch_size": 8, "selection": ["beauty", "quality"]}})
    out = tmp_path / "out"
    rep = train_trunk(cfg, out, databases=[data], cache_dir=tmp_path / "acts", log=open("/dev/null", "w"))
    assert rep["best_epoch"] in (1, 2) and len(rep["curves"]) == 2
    assert set(rep["val_float16"]) >= {"beauty", "quality"}
    state = read_trunk(out / "trunk.npz")
    assert all(v.dtype == np.float16 for k, v in state["arrays"].items() if k.startswith("top."))
    assert {k.split(".")[2] for k in state["arrays"] if k.startswith("top.")} == {"2"}  # only layers[2:]
    register_trunk("tiny_trunk_ft", out / "trunk.npz")
    assert trunk_file_of("tiny_trunk_ft") == out / "trunk.npz" and trunk_file_of(tiny) is None
    ft, base = create_backbone("tiny_trunk_ft"), create_backbone(tiny)
    w = state["arrays"]["top.layers.2.0.weight"].astype(np.float32)
    assert np.allclose(ft.state_dict()["layers.2.0.weight"].numpy(), w)
    assert torch.equal(ft.state_dict()["layers.0.0.weight"], base.state_dict()["layers.0.0.weight"])
    # seen = train + val photos, never the test part
    parts = split_parts(data.names, data.strata, 0.25, 0.25, 0)
    seen = seen_images("tiny_trunk_ft")
    hashes = [image_file_hash(p) for p in data.paths]
    assert seen == {h for h, q in zip(hashes, parts) if q != "test"}
    # a second run reuses the cached activations and is reproducible
    rep2 = train_trunk(cfg, tmp_path / "out2", databases=[data], cache_dir=tmp_path / "acts",
                       log=open("/dev/null", "w"))
    assert rep2["curves"] == [{**c, "seconds": c2["seconds"]} for c, c2 in zip(rep["curves"], rep2["curves"])]


def test_trunk_file_errors(tmp_path):
    bad = tmp_path / "x.npz"
    bad.write_bytes(b"not a trunk")
    with pytest.raises(TrunkFileError):
        read_trunk(bad)
    assert issubclass(TrunkFileError, PiaaError)


class _Inner:
    def __init__(self):
        self.calls = []

    def get(self, paths, backbone="b", variant="v"):
        self.calls.append((list(paths), backbone))
        return np.zeros((len(paths), 2))


def test_leak_guard_refuses_a_trunk_on_test_photos_it_saw(tiny, tmp_path):
    data = _data(tmp_path)
    cfg = config_from_dict({"trunk": {"base": tiny, "split": 2}, "data": {"val": 0.25, "test": 0.25},
                            "train": {"epochs": 1, "batch_size": 8, "selection": ["quality"]}})
    train_trunk(cfg, tmp_path / "out", databases=[data], cache_dir=tmp_path / "acts", log=open("/dev/null", "w"))
    register_trunk("tiny_trunk_ft", tmp_path / "out" / "trunk.npz")
    parts = split_parts(data.names, data.strata, 0.25, 0.25, 0)
    seen_p = [p for p, q in zip(data.paths, parts) if q == "train"]
    unseen_p = [p for p, q in zip(data.paths, parts) if q == "test"]
    inner = _Inner()
    # test photos the trunk never saw: fine; seen photos that are not test photos (task data): fine
    guard = TrunkLeakGuard(inner, unseen_p, "f1")
    guard.get(unseen_p + seen_p, "tiny_trunk_ft")
    assert len(inner.calls) == 1
    guard = TrunkLeakGuard(inner, seen_p[:2], "f2")
    with pytest.raises(TrunkLeakageError, match="fold f2"):
        guard.get(seen_p[:3], f"{tiny}+tiny_trunk_ft")
    assert len(inner.calls) == 1
    guard.get(seen_p[:3], tiny)  # an ImageNet backbone saw nothing
    with pytest.raises(TrunkLeakageError):
        check_trunk_unseen("tiny_trunk_ft", seen_p[:1], "GIAA fold subset1")


def test_activations_of_a_subset_reuse_the_rows_of_the_whole_database(tiny, tmp_path, monkeypatch):
    from piaa.training.trunk import activations as act

    paths = _images(tmp_path, 10)
    full = np.asarray(act.lower_activations(paths, tiny, 2, cache_dir=tmp_path / "a", log=open("/dev/null", "w")))
    assert full.shape[:2] == (10, 2) and full.dtype == np.float16
    assert not np.array_equal(full[:, 0], full[:, 1])  # the mirrored view differs

    def no_network(name):
        raise AssertionError("recomputed")

    monkeypatch.setattr("piaa.backbones.create_backbone", no_network)
    sub = act.lower_activations(paths[3:7][::-1], tiny, 2, cache_dir=tmp_path / "a")
    assert np.array_equal(sub, full[3:7][::-1])
    with pytest.raises(AssertionError, match="recomputed"):  # another split is another computation
        act.lower_activations(paths[3:7], tiny, 1, cache_dir=tmp_path / "a")


@pytest.mark.shared_data
def test_the_shipped_trunk_is_refused_on_oasis_folds_it_saw(shared_data):
    """bench giaa with the shipped trunk: every OASIS fold holds photos it trained on -> refused up front."""
    from piaa.bench.giaa import run_giaa_benchmark
    from piaa.catalogue import ASSETS

    if "piaa-aesthetic-lite0" in ASSETS.names():
        name = "piaa-aesthetic-lite0"
    else:  # not shipped (it lost validation, docs/benchmarks/trunk.md): a trunk that saw OASIS photos
        name = "oasis-seen-trunk"
        import piaa.backbones.finetuned as ft
        from piaa.io.hashing import image_file_hash

        first = sorted((shared_data / "oasis" / "images").glob("*.jpg"))[:5]
        register_trunk_like = ft._SEEN.__setitem__
        BACKBONES.register(name, BACKBONES.get("efficientnet_lite0"), override=True)
        register_trunk_like(name, frozenset(image_file_hash(p) for p in first))
    try:
        with pytest.raises(TrunkLeakageError, match="GIAA fold subset"):
            run_giaa_benchmark([name], data_dir=shared_data, progress=False)
    finally:
        if name == "oasis-seen-trunk":
            BACKBONES.unregister(name)
            import piaa.backbones.finetuned as ft

            ft._SEEN.pop(name, None)


def test_test_photos_identical_to_a_training_photo_leave_the_test_part(tmp_path):
    """AGIQA-3K holds byte-identical images under two names: the twin of a training photo is not a test photo."""
    from piaa.training.quality_joint import drop_test_duplicates

    data = _data(tmp_path, n=8)
    data.part = np.array(["train", "train", "val", "test", "test", "test", "train", "test"], dtype=object)
    data.paths[4].write_bytes(data.paths[0].read_bytes())  # a test photo = a training photo
    data.paths[7].write_bytes(data.paths[2].read_bytes())  # a test photo = a val photo
    assert drop_test_duplicates(data) == 2
    assert list(data.part) == ["train", "train", "val", "test", "dup", "test", "train", "dup"]
