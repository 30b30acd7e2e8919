"""Scorer + ``piaa score`` / ``piaa models`` on synthetic photos: records, formats, broken files, exit codes."""
import csv
import io
import json

import numpy as np
import pytest
from PIL import Image

from piaa.cli.main import main
from piaa.models.giaa import GenericHead
from piaa.models.scorer import load_scorer, make_model_state
from piaa.state import save_state

LITE0_MULTILEVEL_DIM = 3120


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    """A real scoring-model file: a small head fitted on random lite0-multilevel-shaped features."""
    rng = np.random.default_rng(0)
    X = np.abs(rng.standard_normal((40, LITE0_MULTILEVEL_DIM)))
    D = rng.dirichlet(np.ones(7), size=40)
    head = GenericHead((1, 7, 7), hidden=(16,), epochs=3, components=8).fit(X, D)
    state = make_model_state(head, "test-model", "efficientnet_lite0", "multilevel", "random numbers")
    path = tmp_path_factory.mktemp("model") / "test-model.npz"
    save_state(path, state)
    return path


def _photo(seed, size=(64, 48), mode="RGB"):
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).convert(mode)


@pytest.fixture
def odd_folder(tmp_path):
    """Good photos in odd encodings plus three broken files."""
    d = tmp_path / "photos"
    d.mkdir()
    _photo(1).save(d / "plain.jpg", quality=90)
    _photo(2).save(d / "png_named.jpg", format="PNG")
    _photo(3, mode="CMYK").save(d / "cmyk.jpg", format="JPEG")
    a16 = (np.linspace(0, 65535, 48 * 64).reshape(48, 64)).astype(np.uint16)
    Image.fromarray(a16).save(d / "deep16.png")
    rot = _photo(4)
    exif = rot.getexif()
    exif[0x0112] = 6
    rot.save(d / "rotated.jpg", exif=exif.tobytes())
    _photo(5).save(d / "good.webp", format="WEBP")
    full = io.BytesIO()
    _photo(6, size=(128, 96)).save(full, format="JPEG", quality=95)
    (d / "truncated.jpg").write_bytes(full.getvalue()[: len(full.getvalue()) // 3])
    (d / "notes.jpg").write_text("this is not an image\n")
    (d / "empty.png").write_bytes(b"")
    (d / "readme.txt").write_text("ignored: not an image extension")
    return d


BROKEN = {"truncated.jpg", "notes.jpg", "empty.png"}


def test_scorer_records_for_paths_and_pil_images(model_file, tmp_path):
    scorer = load_scorer(str(model_file), engine="torch")
    assert scorer.name == "test-model" and scorer.score_range == (1.0, 7.0) and scorer.lower_better is False
    assert (scorer.backbone, scorer.variant) == ("efficientnet_lite0", "multilevel")
    p = tmp_path / "a.jpg"
    _photo(7).save(p)
    recs = scorer.score([str(p), _photo(8), tmp_path / "missing.jpg"])
    assert [r["path"] for r in recs] == [str(p), "<image 1>", str(tmp_path / "missing.jpg")]
    for r in recs[:2]:
        assert 1.0 <= r["score"] <= 7.0
        assert len(r["distribution"]) == 7 and abs(sum(r["distribution"]) - 1) < 1e-9
        assert r["score"] == pytest.approx(float(np.dot(r["distribution"], np.arange(1, 8))))
    assert "error" in recs[2] and "score" not in recs[2]
    # the same photo by path and as features gives the same score
    from piaa.features import FeatureExtractor

    X = FeatureExtractor("efficientnet_lite0", "multilevel", engine="torch").extract([str(p)]).features
    assert scorer.score_features(X)[0] == pytest.approx(recs[0]["score"], abs=1e-6)


def test_cli_json_folder_with_broken_and_odd_files(model_file, odd_folder, capsys):
    code = main(["score", str(odd_folder), "--model", str(model_file), "--format", "json", "--engine", "torch"])
    assert code == 0
    recs = json.loads(capsys.readouterr().out)
    names = {r["path"].split("/")[-1]: r for r in recs}
    assert set(names) == {"plain.jpg", "png_named.jpg", "cmyk.jpg", "deep16.png", "rotated.jpg", "good.webp"} | BROKEN
    for name, r in names.items():
        if name in BROKEN:
            assert "error" in r and r["error"], name
        else:
            assert "error" not in r, (name, r.get("error"))
            assert 1 <= r["score"] <= 7


def test_cli_csv_and_table_and_output_file(model_file, odd_folder, tmp_path, capsys):
    out = tmp_path / "scores.csv"
    assert main(["score", str(odd_folder / "plain.jpg"), str(odd_folder / "notes.jpg"), "--model",
                 str(model_file), "--format", "csv", "--output", str(out), "--engine", "torch"]) == 0
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert [r["path"].split("/")[-1] for r in rows] == ["plain.jpg", "notes.jpg"]
    assert 1 <= float(rows[0]["score"]) <= 7 and rows[0]["error"] == ""
    assert rows[1]["score"] == "" and rows[1]["error"]
    assert sum(float(rows[0][f"p_{k}"]) for k in range(1, 8)) == pytest.approx(1, abs=1e-3)
    capsys.readouterr()
    assert main(["score", str(odd_folder / "plain.jpg"), "--model", str(model_file), "--engine", "torch"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("path") and "1-7" in lines[0]
    assert 1 <= float(lines[1].split()[-1]) <= 7


def test_cli_exit_codes(model_file, odd_folder, tmp_path, capsys):
    only_broken = [str(odd_folder / n) for n in sorted(BROKEN)]
    assert main(["score", *only_broken, "--model", str(model_file), "--format", "json", "--engine", "torch"]) == 1
    assert all("error" in r for r in json.loads(capsys.readouterr().out))
    empty = tmp_path / "empty_dir"
    empty.mkdir()
    assert main(["score", str(empty), "--model", str(model_file)]) == 1
    assert "nothing to score" in capsys.readouterr().err
    assert main(["score", str(tmp_path / "nope"), "--model", str(model_file)]) == 1
    assert main(["score", str(odd_folder), "--model", "no-such-model"]) == 2  # a bad argument
    assert "unknown scoring model" in capsys.readouterr().err


def test_recursive_flag(model_file, odd_folder, capsys):
    sub = odd_folder / "sub"
    sub.mkdir()
    _photo(9).save(sub / "deep.jpg")
    main(["score", str(odd_folder), "--model", str(model_file), "--format", "json", "--engine", "torch"])
    flat = json.loads(capsys.readouterr().out)
    main(["score", str(odd_folder), "-r", "--model", str(model_file), "--format", "json", "--engine", "torch"])
    deep = json.loads(capsys.readouterr().out)
    assert len(deep) == len(flat) + 1 and any(r["path"].endswith("sub/deep.jpg") for r in deep)


def test_models_command_lists_builtin_models(capsys):
    from piaa.models.scorer import list_models

    code = main(["models", "--format", "json"])
    infos = json.loads(capsys.readouterr().out)
    if not list_models():
        assert code == 1 and infos == []
        return
    assert code == 0
    assert [i["name"] for i in infos] == list_models()
    assert infos[0]["default"] is True
    for i in infos:  # beauty models on 1-7, the photo-quality model on 0-1; higher is better for all
        want = [0.0, 1.0] if i.get("criterion") == "quality" else [1.0, 7.0]
        assert i["score_range"] == want and i["lower_better"] is False and i["backbone"]
    assert main(["models"]) == 0
    assert "score range   1-7, higher is better" in capsys.readouterr().out


def test_lazy_top_level_exports():
    import piaa

    assert callable(piaa.load_scorer) and callable(piaa.list_models)
    assert isinstance(piaa.list_models(), list)


def test_model_concatenating_two_backbones(tmp_path):
    rng = np.random.default_rng(1)
    X = np.abs(rng.standard_normal((30, 2 * LITE0_MULTILEVEL_DIM)))
    head = GenericHead((1, 7, 7), hidden=(8,), epochs=2, components=4).fit(X, rng.dirichlet(np.ones(7), 30))
    path = tmp_path / "two.npz"
    save_state(path, make_model_state(head, "two", "efficientnet_lite0+efficientnet_lite0", "multilevel", "noise"))
    scorer = load_scorer(str(path), engine="torch")
    assert scorer.backbones == ["efficientnet_lite0", "efficientnet_lite0"]
    photo = tmp_path / "p.png"
    _photo(11).save(photo)
    feats, errors = scorer.features([str(photo), str(tmp_path / "gone.jpg")])
    assert feats.shape == (2, 2 * LITE0_MULTILEVEL_DIM) and list(errors) == [1]
    np.testing.assert_array_equal(feats[0, :LITE0_MULTILEVEL_DIM], feats[0, LITE0_MULTILEVEL_DIM:])
    rec = scorer.score([photo])[0]
    assert rec["score"] == pytest.approx(float(head.predict(feats[:1])[0]))
