"""Database readers on small fixtures written in each database's published layout."""
import shutil
from pathlib import Path

import numpy as np
import pytest

from piaa.data import AGGREGATE_USER, RatingsFormatError, Scale, load_dataset

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "data"


def copy(tmp_path, name):
    dst = tmp_path / name
    shutil.copytree(FIX / name, dst)
    return dst


def test_ava_votes_distribution_and_lists():
    ds = load_dataset("ava", FIX / "ava")
    assert ds.scale == Scale(1, 10, 10) and ds.is_aggregate
    assert len(ds.ratings) == 5 and set(ds.ratings["user"]) == {AGGREGATE_USER}
    counts = np.array([0, 1, 5, 17, 38, 36, 15, 6, 5, 1])
    assert ds.image_means()["953619.jpg"] == pytest.approx((counts * np.arange(1, 11)).sum() / counts.sum())
    assert ds.image_info.loc["953619.jpg", "votes"] == counts.sum()
    assert ds.image_info.loc["953619.jpg", "challenge"] == 1396
    assert np.allclose(ds.image_distributions().sum(axis=1), 1)
    assert ds.splits["generic_test"] == ["953619.jpg", "954184.jpg"]  # 999999 is not in AVA.txt
    assert any("1 of 3" in n for n in ds.notes)


def test_ava_bad_row(tmp_path):
    d = copy(tmp_path, "ava")
    with open(d / "AVA.txt", "a") as fh:
        fh.write("6 1 0 0 0 0 0 0 0 0 0 0 0 0 1396\n")
    with pytest.raises(RatingsFormatError, match="line 6: image has no votes"):
        load_dataset("ava", d)
    (d / "AVA.txt").write_text("1 953619 0 1 5 17 38 36 15 6 5 1 1 22\n")
    with pytest.raises(RatingsFormatError, match="line 1: expected 15 fields"):
        load_dataset("ava", d)


def test_flickr_aes():
    ds = load_dataset("flickr-aes", FIX / "flickr-aes")
    assert ds.scale == Scale(1, 5, 5)
    assert ds.user_ids == ["A1", "A2", "A3"] and len(ds.ratings) == 6
    assert ds.splits["test_workers"] == ["A3"] and ds.split_kinds["test_workers"] == "user"
    assert ds.splits["train_workers"] == ["A1", "A2"]
    assert ds.image_info.loc["farm1_1.jpg", "published_score"] == pytest.approx(0.71)


def test_flickr_aes_errors(tmp_path):
    d = copy(tmp_path, "flickr-aes")
    (d / "test_workers.txt").write_text("A3\nZZ\n")
    with pytest.raises(RatingsFormatError) as e:
        load_dataset("flickr-aes", d)
    assert e.value.line == 2 and "unknown user 'ZZ'" in e.value.problem
    f = d / "FLICKR-AES_image_labeled_by_each_worker.csv"
    f.write_text(f.read_text() + "A1, farm1_1.jpg, 6\n")
    with pytest.raises(RatingsFormatError, match="line 8: 'score' value 6 is above"):
        load_dataset("flickr-aes", d)


def test_para():
    ds = load_dataset("para", FIX / "para")
    assert ds.scale == Scale(1, 5, 9)
    assert len(ds.ratings) == 5 and ds.user_ids == ["A1", "B2", "C3"]
    assert "session1/iaa_pub1_.jpg" in ds.image_ids
    assert ds.users.loc["A1", "personality-O"] == 8 and "photographyExperience" in ds.users.columns
    assert ds.splits["user_fold_1_test"] == ["C3"] and ds.split_kinds["user_fold_1_test"] == "user"
    assert ds.splits["validation"] == ["session1/iaa_pub2_.jpg"]
    assert ds.splits["giaa_test"] == ["session1/iaa_pub2_.jpg"]
    assert ds.ratings["qualityScore"].dtype == float


def test_para_unknown_user_and_image(tmp_path):
    d = copy(tmp_path, "para")
    (d / "userset" / "TestUserIDs_Fold1.txt").write_text("C3\nQ9\n")
    with pytest.raises(RatingsFormatError, match="TestUserIDs_Fold1.txt, line 2: unknown user 'Q9'"):
        load_dataset("para", d)
    d2 = copy(tmp_path / "x", "para")
    (d2 / "validation_images.txt").write_text("iaa_pub999_.jpg\n")
    with pytest.raises(RatingsFormatError, match="line 1: unknown image 'iaa_pub999_.jpg'"):
        load_dataset("para", d2)
    d3 = copy(tmp_path / "y", "para")
    f = d3 / "annotation" / "PARA-Images.csv"
    f.write_text(f.read_text().replace("session2,iaa_pub71_.jpg,C3,1.0", "session2,iaa_pub71_.jpg,C3,0.5"))
    with pytest.raises(RatingsFormatError, match="line 6: 'aestheticScore' value 0.5 is below"):
        load_dataset("para", d3)


def test_aadb_koniq_tad_realcur_psychoflickr():
    a = load_dataset("aadb", FIX / "aadb")
    assert len(a.ratings) == 4 and a.splits["test"] == ["farm1_4_d.jpg"] and a.scale.max == 1.0
    k = load_dataset("koniq10k", FIX / "koniq10k")
    assert len(k.ratings) == 3 and k.splits["test"] == ["10007357496.jpg"]
    assert np.allclose(k.image_distributions().loc["10004473376.jpg"].to_numpy(), np.array([0, 0, 25, 73, 7]) / 105)
    t = load_dataset("tad66k", FIX / "tad66k")
    assert t.splits["train"] == ["a.jpg", "b.jpg"] and t.scale == Scale(1, 10, 10)
    r = load_dataset("real-cur", FIX / "real-cur")
    assert r.user_ids == ["user01", "user02"] and r.ratings_of("user02")["user02/IMG_9.jpg"] == 4
    p = load_dataset("psychoflickr", FIX / "psychoflickr")
    assert p.user_ids == ["u1", "u2"] and len(p.ratings) == 3 and list(p.users.columns) == ["E", "A", "C", "N", "O"]


def test_duplicate_image_in_aggregate_file(tmp_path):
    d = copy(tmp_path, "tad66k")
    (d / "test.csv").write_text("image,score\nc.jpg,7.1\na.jpg,2\n")
    with pytest.raises(RatingsFormatError, match="test.csv, line 3: image 'a.jpg' is also in"):
        load_dataset("tad66k", d)


def test_psychoflickr_unknown_user(tmp_path):
    d = copy(tmp_path, "psychoflickr")
    (d / "images" / "u3").mkdir()
    (d / "images" / "u3" / "1.jpg").write_bytes(b"")
    with pytest.raises(RatingsFormatError, match="unknown user"):
        load_dataset("psychoflickr", d)


def _biq(tmp_path, with_images=True):
    d = copy(tmp_path, "biq2021")
    if with_images:
        (d / "images").mkdir()
        for name in ["ss01 (1).jpg", "ss02 (7).jpg", "ss03 (12).jpg", "ss01 (2).jpg", "ss03 (40).jpg"]:
            (d / "images" / name).write_bytes(b"")
    return d


def test_biq2021_train_mos_test_list_and_subsets(tmp_path):
    d = _biq(tmp_path)
    ds = load_dataset("biq2021", d)
    assert ds.scale == Scale(0, 1, 5) and ds.is_aggregate and len(ds.ratings) == 4
    assert ds.image_means()["ss02 (7).jpg"] == pytest.approx(0.8114)
    assert ds.splits["test"] == ["ss01 (2).jpg", "ss03 (40).jpg"]  # names with spaces, blank line skipped
    assert "ss01 (2).jpg" not in ds.image_ids  # the test list has no MOS: never a rating
    assert ds.splits["ss03"] == ["ss03 (12).jpg", "ss03 (13).jpg", "ss03 (40).jpg"]
    assert ds.image_info.loc["ss01 (1).jpg", "subset"] == "ss01"
    assert ds.images_root == str(d / "images")
    assert any("1 listed image(s) missing" in n and "ss03 (13).jpg" in n for n in ds.notes)
    assert load_dataset("biq", d / "train.csv").splits["train"] == ds.splits["train"]  # alias, file path


def test_biq2021_errors(tmp_path):
    d = _biq(tmp_path, with_images=False)
    (d / "train.csv").write_text("image,mos\nss01 (1).jpg,0.3\nss01 (3).jpg,1.2\n")
    with pytest.raises(RatingsFormatError, match=r"train.csv, line 3: 'mos' value 1.2 is above"):
        load_dataset("biq2021", d)
    (d / "train.csv").write_text("image,MOS\nss01 (1).jpg,0.3\n")
    with pytest.raises(RatingsFormatError, match="missing column"):
        load_dataset("biq2021", d)
    (d / "train.csv").write_text("image,mos\nss01 (1).jpg,0.3\nss01 (2).jpg,0.4\n")
    with pytest.raises(RatingsFormatError, match="test_images.txt, line 1: test image 'ss01 \\(2\\).jpg' is also"):
        load_dataset("biq2021", d)
    (d / "test_images.txt").write_text("ss03 (9).jpg\nss03 (9).jpg\n")
    with pytest.raises(RatingsFormatError, match="line 2: image 'ss03 \\(9\\).jpg' listed twice"):
        load_dataset("biq2021", d)
    (d / "test_images.txt").unlink()
    (d / "test.csv").write_text("image,mos\nss03 (9).jpg,0.7\n")  # the official split with MOS, if you have it
    ds = load_dataset("biq2021", d)
    assert ds.splits["test"] == ["ss03 (9).jpg"] and ds.image_means()["ss03 (9).jpg"] == pytest.approx(0.7)
    assert any("images/ folder not found" in n for n in ds.notes)
