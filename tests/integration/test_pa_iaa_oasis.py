"""PA_IAA on real OASIS-beauty data: trait targets, a small fold end to end, the shipped network, the CLI.

Uses 60 training + 20 test images (lite0 multilevel features, shared with the other integration tests), so a
run with an empty feature cache stays short.
"""
import json
from pathlib import Path

import numpy as np
import pytest

from piaa.models.pa_iaa.default import DEFAULT_TRAITS

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def oasis(shared_data):
    from piaa.data import load_dataset

    return load_dataset("oasis-beauty", shared_data / "oasis-beauty")


def test_trait_choice_and_targets_on_all_ratings(oasis):
    from piaa.models.pa_iaa.default import DEFAULT_TRAITS
    from piaa.models.pa_iaa.traits import select_traits, trait_targets

    chosen = select_traits(oasis.ratings, oasis.users)
    assert tuple(chosen) == DEFAULT_TRAITS  # the documented choice is what the measurement gives
    tt = trait_targets(oasis.ratings, oasis.users, chosen)
    assert tt.targets.shape == (900, 5)
    assert (tt.targets.abs() < 1).all().all() and (tt.targets.abs().max() > 0.85).all()


def _small_fold(oasis, shared_data):
    from dataclasses import replace

    from piaa.evaluation.features import CachedFeatureProvider
    from piaa.evaluation.methods import FoldData, TaskSource

    train_imgs = set(oasis.splits["subset2"][:30] + oasis.splits["subset3"][:30])
    test_imgs = oasis.splits["subset1"][:20]
    r = oasis.ratings[oasis.ratings["image"].isin(train_imgs)].reset_index(drop=True)
    task = TaskSource("beauty-all", replace(oasis, ratings=r), Path(oasis.images_root), users=oasis.users)
    root = Path(oasis.images_root)
    return FoldData("subset1", [task], "beauty-all", oasis.scale, CachedFeatureProvider(progress=False),
                    test_images=[root / i for i in test_imgs]), test_imgs


def test_small_fold_end_to_end(oasis, shared_data):
    from piaa.evaluation.methods import make_method

    fold, test_imgs = _small_fold(oasis, shared_data)
    m = make_method("pa-iaa", hidden=[64, 32], epochs=8)
    m.prepare(fold)
    root = Path(oasis.images_root)
    person = oasis.splits["raters_subset1"][0]
    mine = oasis.ratings_of(person).reindex(test_imgs)
    support, query = [root / i for i in test_imgs[:10]], [root / i for i in test_imgs[10:]]
    pred = m.personalize(support, mine.to_numpy()[:10], query)
    assert pred.shape == (10,) and np.isfinite(pred).all()
    # the generic score of the trained network follows mean beauty on its own training images
    from piaa.metrics import srocc

    train = fold.tasks[0].dataset
    imgs = train.image_ids
    s_a = m.predict_generic([root / i for i in imgs])
    assert srocc(s_a, train.image_means().reindex(imgs).to_numpy()) > 0.5


def test_shipped_network_round_trip_on_images(oasis):
    from piaa.models.pa_iaa import load_default_pa_iaa
    from piaa.personalize.pa_iaa import PAIAAPersonalizer
    from piaa.state import state_from_bytes, state_to_bytes

    net = load_default_pa_iaa()
    assert tuple(net.config["second_names"]) == DEFAULT_TRAITS
    root = Path(oasis.images_root)
    person = oasis.splits["raters_subset1"][0]
    r = oasis.ratings_of(person).iloc[:24]
    paths = [root / i for i in r.index]
    est = PAIAAPersonalizer().fit(paths[:12], r.to_numpy()[:12])
    state = est.state_dict()
    assert state["meta"]["network"] == "default:pa_iaa_oasis_lite0"
    est2 = PAIAAPersonalizer.from_state_dict(state_from_bytes(state_to_bytes(state)))
    np.testing.assert_array_equal(est.predict(paths[12:]), est2.predict(paths[12:]))


def test_analyze_traits_cli(tmp_path, shared_data):
    from piaa.cli.main import main

    out = tmp_path / "t4.json"
    code = main(["analyze", "traits", "--images", str(shared_data / "oasis" / "images"),
                 "--ratings", str(shared_data / "oasis-beauty"), "--max-images", "30", "--quiet",
                 "--output", str(out)])
    assert code == 0
    res = json.loads(out.read_text())
    assert tuple(r["trait"] for r in res["rows"]) == DEFAULT_TRAITS
    assert all(-1 <= r["srocc_pred"] <= 1 and -1 <= r["srocc_true"] <= 1 for r in res["rows"])
    assert res["rows"][0]["n_images"] == 30
