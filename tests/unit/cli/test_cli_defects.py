"""Regression tests of the command line's defects: each one failed before its fix.

Fast: no backbone runs (stand-in scorers and hand-written report dicts)."""
from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from piaa.cli.main import build_parser, main


def _csv(path, text: str):
    path.write_text(text)
    return str(path)


# ---- ratings CSVs: real flags in messages, any case, ';' separated ------------------------------------------------
def test_profile_create_names_its_own_flags_for_columns_and_duplicates(tmp_path, capsys):
    st = ["--store", str(tmp_path / "p.sqlite")]
    bad_cols = _csv(tmp_path / "a.csv", "picture,grade\nx.jpg,3\n")
    assert main(["profile", "create", "anna", "--ratings", bad_cols, *st]) == 1
    err = capsys.readouterr().err
    assert "--image-column" in err and "--rating-column" in err and "user_col" not in err
    dup = _csv(tmp_path / "d.csv", "image,rating\nx.jpg,3\nx.jpg,4\n")
    assert main(["profile", "create", "anna", "--ratings", dup, *st]) == 1
    err = capsys.readouterr().err
    assert "--duplicates mean, first or last" in err and "duplicates='mean'" not in err


def test_data_inspect_names_its_own_flags(tmp_path, capsys):
    path = _csv(tmp_path / "r.csv", "person;picture;grade\na;x.jpg;3\na;x.jpg;4\n")
    assert main(["data", "inspect", "csv", path]) == 1
    err = capsys.readouterr().err
    assert "--user-col, --image-col and --score-col" in err and "user_col" not in err
    assert main(["data", "inspect", "csv", path, "--user-col", "person", "--image-col", "picture",
                 "--score-col", "grade"]) == 1
    err = capsys.readouterr().err
    assert "--duplicates mean, first or last" in err and "duplicates='mean'" not in err
    assert main(["data", "inspect", "csv", path, "--user-col", "person", "--image-col", "picture",
                 "--score-col", "grade", "--duplicates", "mean"]) == 0


def _photos(folder, n=12):
    for i in range(n):
        (folder / f"p{i}.jpg").write_bytes(b"x")
    return [f"p{i}.jpg" for i in range(n)], [1 + i % 5 for i in range(n)]


def test_ratings_csv_reads_filename_rating_in_any_case_and_semicolons(tmp_path):
    from piaa.profiles.ratings_import import ratings_from_csv

    names, stars = _photos(tmp_path)
    for file, head, sep in (("upper.csv", "Filename,Rating", ","), ("semi.csv", "Filename;Rating", ";"),
                            ("tab.csv", "IMAGE\tSCORE", "\t")):
        body = "".join(f"{n}{sep}{s}\n" for n, s in zip(names, stars))
        rated = ratings_from_csv(_csv(tmp_path / file, head + "\n" + body), scale=(1, 5))
        assert [p.name for p in rated.paths] == names and list(rated.scores) == stars, file


def test_ratings_csv_duplicates_and_named_columns_from_the_command_line(tmp_path):
    from piaa.profiles.ratings_import import ratings_from_csv

    names, stars = _photos(tmp_path)
    body = "".join(f"{n};{s};x\n" for n, s in zip(names, stars)) + f"{names[0]};4;again\n"
    path = _csv(tmp_path / "d.csv", "Photo;Stars;note\n" + body)
    rated = ratings_from_csv(path, image_col="photo", score_col="stars", duplicates="mean", scale=(1, 5))
    got = dict(zip((p.name for p in rated.paths), rated.scores))
    assert len(got) == 12 and got[names[0]] == (stars[0] + 4) / 2 and got[names[1]] == stars[1]
    parsed = build_parser().parse_args(["profile", "create", "a", "--ratings", path, "--image-column", "Photo",
                                        "--rating-column", "Stars", "--duplicates", "last"])
    assert (parsed.image_column, parsed.rating_column, parsed.duplicates) == ("Photo", "Stars", "last")


def test_images_folder_that_does_not_exist_says_so(tmp_path, capsys):
    path = _csv(tmp_path / "r.csv", "image,rating\na.jpg,2\nb.jpg,4\n")
    assert main(["profile", "create", "anna", "--ratings", path, "--images", str(tmp_path / "nope"),
                 "--store", str(tmp_path / "p.sqlite")]) == 1
    err = capsys.readouterr().err
    assert f"images folder {tmp_path / 'nope'} does not exist" in err and "a.jpg" not in err


# ---- piaa score: terminal-safe tables, skipped sub-folders, distributions of several models ----------------------
def test_score_table_escapes_control_characters_in_file_names():
    from piaa.cli.cmd_score import render, render_many

    scorer = SimpleNamespace(score_range=(1.0, 7.0), bucket_values=np.arange(1, 8.0), criterion="beauty",
                             name="m")
    evil = "a\nb\x1b]0;owned\x07\u202egpj.jpg"
    for text in (render([{"path": evil, "score": 4.0}, {"path": "ok.jpg", "error": "bad\x1b[2J"}], "table", scorer),
                 render_many([{"path": evil, "scores": {"beauty": 4.0}}], "table", [scorer])):
        assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
        assert text.count("\n") == text.strip("\n").count("\n") + 1  # one line per record, plus the header
        assert "a\\nb\\x1b]0;owned\\x07\\u202egpj.jpg" in text
    assert len(render([{"path": evil, "score": 4.0}], "table", scorer).splitlines()) == 2
    assert json.loads(render([{"path": evil, "score": 4.0}], "json", scorer))[0]["path"] == evil  # data, not shown


def test_score_folder_without_recursive_notes_the_skipped_sub_folders(tmp_path, capsys):
    from piaa.cli.cmd_score import _inputs
    from piaa.io.discovery import skipped_subfolders

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "top.jpg").write_bytes(b"x")
    assert skipped_subfolders([tmp_path], recursive=False) == 2
    assert skipped_subfolders([tmp_path], recursive=True) == 0
    found, problem = _inputs([str(tmp_path)], recursive=False)
    assert [p.name for p in found] == ["top.jpg"] and problem is None
    assert capsys.readouterr().err.strip() == "note: skipped 2 sub-folders (add -r/--recursive to include them)"
    _inputs([str(tmp_path)], recursive=True)
    assert capsys.readouterr().err == ""


class _Head:
    def __init__(self, n):
        self.n = n

    def predict_distribution(self, X):
        p = np.exp(-np.abs(np.arange(self.n)[None, :] - X[:, :1]))
        return p / p.sum(axis=1, keepdims=True)


def _fake_scorer(name, criterion, n):
    return SimpleNamespace(name=name, criterion=criterion, backbones=["b"], variant="v", head=_Head(n),
                           bucket_values=np.linspace(0, 1, n),
                           features=lambda items, progress=False, memo=None: (np.arange(len(items), dtype=float)[:, None],
                                                                   {}))


def test_several_models_keep_each_distribution_in_json():
    from piaa.models.scorer import score_many

    recs = score_many([_fake_scorer("b", "beauty", 7), _fake_scorer("q", "quality", 11)], ["x.jpg", "y.jpg"])
    for r in recs:
        assert set(r["distributions"]) == {"beauty", "quality"}
        assert len(r["distributions"]["beauty"]) == 7 and len(r["distributions"]["quality"]) == 11
        d = np.asarray(r["distributions"]["quality"])
        assert abs(d.sum() - 1) < 1e-9 and abs(d @ np.linspace(0, 1, 11) - r["scores"]["quality"]) < 1e-9


# ---- cull: the joint quality model, group numbering --------------------------------------------------------------
def test_cull_auto_quality_is_the_joint_model(monkeypatch):
    import piaa.models.scorer as sc
    from piaa.profiles.cull import find_quality_model

    monkeypatch.setattr(sc, "list_models", lambda: ["biq2021-quality-lite0", "oasis-beauty-lite0", sc.QUALITY_MODEL,
                                                    sc.JOINT_QUALITY_MODEL])
    monkeypatch.setattr(sc, "load_scorer", lambda name: name)
    # the joint photos + generated images model on the thumbnail features, as the web app (never photos-only)
    assert find_quality_model("auto") == (sc.JOINT_QUALITY_MODEL, None)
    assert find_quality_model("quality") == ("quality", None)     # the native model, when asked for
    monkeypatch.setattr(sc, "list_models", lambda: ["biq2021-quality-lite0", sc.QUALITY_MODEL])
    assert find_quality_model("auto") == (sc.QUALITY_MODEL, None)


def test_cull_numbers_the_groups_it_shows():
    from piaa.cli.cmd_cull import _text

    def group(k, size):
        return {"group": k, "size": size, "why": "best",
                "members": [{"path": f"g{k}_{i}.jpg", "pick": i == 0, "combined": 0.0} for i in range(size)]}

    rep = {"group_list": [group(k, 1) for k in range(1, 20)] + [group(20, 2), group(21, 3)]}
    text = _text(rep)
    assert "group 1 of 2: 2 photos" in text and "group 2 of 2: 3 photos" in text
    assert "group 20" not in text and "group 21" not in text and "19 photo(s) stand alone" in text
    from piaa.cli.contact_sheet import render_html

    for g in rep["group_list"]:
        g["pick"] = g["members"][0]["path"]
    page = render_html({**rep, "taste": "generic", "quality": None, "photos": 24, "groups_of_2_or_more": 2,
                        "picks": 2, "rejects": 3}).decode()
    assert "group 1 of 2 · 2 photos" in page and "group 2 of 2 · 3 photos" in page and "group 20" not in page


# ---- profile list: the ratings the profile was fitted on ---------------------------------------------------------
def test_profile_list_counts_the_ratings_it_was_fitted_on(tmp_path, capsys):
    from piaa.profiles.store import ProfileStore

    store = ProfileStore(tmp_path / "p.sqlite")
    ratings = [(f"/x/{i}.jpg", 3.0, None) for i in range(16)]
    store.save("anna", "probe", {"scale": [1, 5], "n_ratings": 14}, b"state", ratings)
    store.save("ben", "probe", {"scale": [1, 5]}, b"state", ratings[:12])  # written before the count was kept
    rows = {r["name"]: r for r in store.list()}
    assert (rows["anna"]["n_ratings"], rows["anna"]["n_stored"]) == (14, 16)
    assert (rows["ben"]["n_ratings"], rows["ben"]["n_stored"]) == (12, 12)
    assert main(["profile", "list", "--store", str(store.path)]) == 0
    out = capsys.readouterr().out
    anna = next(line for line in out.splitlines() if line.startswith("anna"))
    assert anna.split()[2] == "14" and "2 more ratings stored since the fit" in anna


# ---- serve --help ------------------------------------------------------------------------------------------------
def test_serve_help_shows_users_as_an_optional_sub_command(capsys):
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    usage = capsys.readouterr().out.split("\n\n")[0]
    assert usage.splitlines()[0] == "usage: piaa serve [-h] --library DIR [--library DIR ...] [options]"
    assert "piaa serve users {add,list," in usage and "delete} ..." in usage
