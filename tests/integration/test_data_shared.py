"""Readers on the real label files under ../shared/data: counts as the databases document them."""
import json

import numpy as np
import pytest

from piaa.cli.main import main
from piaa.data import AGGREGATE_USER, Scale, load_dataset

pytestmark = pytest.mark.shared_data


def test_oasis_beauty(shared_data):
    ds = load_dataset("oasis-beauty", shared_data / "oasis-beauty")
    s = ds.summary()
    assert s["people"] == 605 and s["ratings"] == 136125 and s["images"] == 900
    assert ds.ratings_per_user().eq(225).all()
    assert ds.scale == Scale(1, 7, 7) and ds.ratings["score"].between(1, 7).all()
    assert {k: len(ds.splits[k]) for k in ("subset1", "subset2", "subset3", "subset4")} == dict.fromkeys(
        ("subset1", "subset2", "subset3", "subset4"), 225)
    assert sum(len(ds.splits[f"raters_subset{i}"]) for i in range(1, 5)) == 605
    assert ds.users is not None and len(ds.users) == 605 and {"PHQ", "TEPS_ant", "TEPS_con"} <= set(ds.users.columns)
    assert "Acorns 1.jpg" in ds.splits["subset2"] and ds.images_root.endswith("oasis/images")


def test_oasis_norms(shared_data):
    ds = load_dataset("oasis-norms", shared_data / "oasis")
    assert ds.criteria == ["arousal", "valence"] and len(ds.ratings) == 1800
    assert set(ds.ratings["user"]) == {AGGREGATE_USER} and ds.ratings["score"].between(1, 7).all()


def test_avt_ai(shared_data):
    ds = load_dataset("avt-ai", shared_data / "avt-ai")
    assert ds.scale == Scale(1, 5, 5)
    assert set(ds.criteria) == {"image_appeal", "realism", "prompt_matching", "image_quality"}
    assert ds.ratings["user"].nunique() == 27 + 28
    s1 = load_dataset("avt-ai", shared_data / "avt-ai", study=1, criterion="image_appeal")
    assert s1.ratings["user"].nunique() == 27 and s1.criteria == ["image_appeal"]
    assert "midjourney/p11.jpg" in s1.image_ids
    assert any("midjourney/p25.jpg" in n for n in ds.notes)


def test_aggregate_databases(shared_data):
    lab = shared_data / "labels"
    k = load_dataset("koniq10k", lab / "koniq10k")
    assert len(k.ratings) == 10073 and k.ratings["score"].between(1, 5).all()
    s = load_dataset("spaq", lab / "spaq", scene_labels=False)
    assert len(s.ratings) == 11125 and s.ratings["score"].between(0, 100).all()
    t = load_dataset("tad66k", lab / "tad66k")
    assert len(t.splits["train"]) == 52248 and len(t.splits["test"]) == 14079 and len(t.ratings) == 66327


def test_ava_tanet_and_official_lists(shared_data):
    ds = load_dataset("ava", shared_data / "labels" / "ava")
    assert len(ds.splits["tanet_test"]) == 12776 and len(ds.splits["tanet_val"]) == 12775
    # the official list as shipped; with AVA.txt present the reader removes ids AVA.txt lacks (19,930 documented)
    assert len(ds.splits["generic_test"]) == 20000 and len(ds.splits["generic_ls_train"]) == 20000
    assert np.allclose(ds.image_distributions().sum(axis=1), 1) and ds.ratings["score"].between(1, 10).all()


def test_para_user_folds(shared_data):
    ds = load_dataset("para", shared_data / "labels" / "para")
    for k in range(1, 5):
        tr, te = set(ds.splits[f"user_fold_{k}_train"]), set(ds.splits[f"user_fold_{k}_test"])
        assert not tr & te and len(tr | te) == 438
    assert len(ds.splits["validation"]) == 2822


@pytest.mark.parametrize("db,sub", [("oasis-beauty", "oasis-beauty"), ("avt-ai", "avt-ai"),
                                    ("koniq10k", "labels/koniq10k"), ("tad66k", "labels/tad66k"),
                                    ("para", "labels/para")])
def test_cli_inspect(shared_data, capsys, db, sub):
    assert main(["data", "inspect", db, str(shared_data / sub), "--format", "json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["name"] == db and "splits" in info and "scale" in info


def test_cli_text_and_error(shared_data, capsys, tmp_path):
    assert main(["data", "inspect", "oasis-beauty", str(shared_data / "oasis-beauty")]) == 0
    out = capsys.readouterr().out
    assert "people     605" in out and "1..7, 7 buckets" in out and "subset1" in out
    bad = tmp_path / "r.csv"
    bad.write_text("user,image,rating\n1,a,x\n")
    assert main(["data", "inspect", "csv", str(bad)]) == 1
    assert "line 2" in capsys.readouterr().err


def test_biq2021(shared_data, capsys):
    ds = load_dataset("biq2021", shared_data / "biq2021")
    assert len(ds.ratings) == 4000 and ds.is_aggregate and ds.ratings["score"].between(0, 1).all()
    assert ds.scale == Scale(0, 1, 5) and len(ds.splits["test"]) == 2000
    assert not set(ds.splits["test"]) & set(ds.image_ids)  # test MOS are held back: no rating for a test image
    assert {s: len(ds.splits[s]) for s in ("ss01", "ss02", "ss03")} == {"ss01": 1001, "ss02": 1006, "ss03": 3993}
    assert not any("missing" in n for n in ds.notes)  # every listed image is on disk
    assert main(["data", "inspect", "biq2021", str(shared_data / "biq2021")]) == 0
    out = capsys.readouterr().out
    assert "images     4000" in out and "0..1, 5 buckets" in out and "test                     image  2000" in out


def test_biq2021_as_an_experiment_task(shared_data, tmp_path):
    from piaa.evaluation.experiment import load_experiment
    from piaa.data.sources import load_source

    biq = shared_data / "biq2021"
    (tmp_path / "e.toml").write_text(f"""
[[tasks]]
name = "photo-quality"
ratings = "{biq / 'train.csv'}"
images = "{biq / 'images'}"
rating_column = "mos"
single_user = "biq2021-mos"
scale = [0, 1]

[test]
ratings = "{shared_data / 'oasis-beauty' / 'ratings.csv'}"
images = "{shared_data / 'oasis' / 'images'}"
methods = ["generic"]
""")
    warnings = []
    src = load_source(load_experiment(tmp_path / "e.toml").tasks[0], "photo-quality", warnings=warnings)
    assert src.per_image and len(src.dataset.ratings) == 4000 and not warnings
    assert src.dataset.scale == Scale(0, 1, 11)
