"""Profiles: creation from ratings/CSV, honest self-assessment, store, export/import, CLI."""
from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest
from test_profiles_support import STANDIN, FakeScorer, make_photos

from piaa.cli.main import main
from piaa.profiles import generic as gen
from piaa.profiles.exchange import ProfileFileError, export_profile, import_profile
from piaa.profiles.profile import MethodUnavailable, Profile, default_method, resolve_method
from piaa.profiles.ratings_import import ProfileInputError, ratings_from_csv
from piaa.profiles.store import ProfileExists, ProfileNotFound, ProfileStore


@pytest.fixture
def photos(tmp_path):
    return make_photos(tmp_path / "shoot", 24)


@pytest.fixture
def store(tmp_path):
    return ProfileStore(tmp_path / "store" / "profiles.sqlite")


@pytest.fixture
def fake_generic(monkeypatch):
    scorer = FakeScorer()
    monkeypatch.setattr(gen, "load_generic", lambda name=None: scorer)
    return scorer


def _create(photos, store, **kw):
    paths, ratings = photos
    return Profile.create("anna", ratings=dict(zip(map(str, paths), ratings)), method=STANDIN, store=store,
                          scorer=FakeScorer(), **kw)


# ---- creation and self-assessment --------------------------------------------------------------------------------
def test_create_assesses_against_generic_and_saves(photos, store):
    prof = _create(photos, store)
    a = prof.assessment
    assert a["n"] == 24 and a["folds"] == 5 and a["n_predicted"] == 24
    # the stand-in learns redness, the fake generic model likes green: the profile must know anna better
    assert a["method_srocc"] > 0.8
    assert a["generic_srocc"] < 0.5
    assert a["better_than_generic"] is True
    assert store.names() == ["anna"]


def test_assessment_is_out_of_fold(photos, store):
    """Scramble the ratings: a profile that only memorised would still look perfect; an honest one does not."""
    paths, ratings = photos
    rng = np.random.default_rng(1)
    scrambled = list(rng.permutation(ratings))
    prof = Profile.create("noise", ratings=dict(zip(map(str, paths), scrambled)), method=STANDIN, store=store,
                          scorer=FakeScorer())
    assert prof.assessment["method_srocc"] is None or prof.assessment["method_srocc"] < 0.6


def test_load_round_trip_identical_predictions(photos, store):
    paths, _ = photos
    prof = _create(photos, store)
    again = Profile.load("anna", store=store, scorer=FakeScorer())
    np.testing.assert_allclose(prof.score(paths), again.score(paths))
    assert again.assessment == prof.assessment
    assert again.scale == (1.0, 7.0)
    assert len(again.ratings) == 24


def test_scores_come_back_on_the_persons_scale(photos, store):
    paths, ratings = photos
    stars = {str(p): float(np.clip(np.ceil(r * 5 / 7), 1, 5)) for p, r in zip(paths, ratings)}
    prof = Profile.create("stars", ratings=stars, method=STANDIN, store=store, scorer=FakeScorer(), scale=(1, 5))
    s = prof.score(paths)
    assert prof.model_scale == (1.0, 7.0)
    assert 0.0 < np.mean(s) < 6.0  # predictions mapped back from the model's 1..7 range onto 1..5
    assert abs(np.mean(s) - np.mean(list(stars.values()))) < 0.5


def test_rank_records_best_first_with_stars_and_errors(photos, store, tmp_path):
    paths, ratings = photos
    prof = _create(photos, store)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg at all")
    recs = prof.rank(list(paths) + [broken], top=5)
    ranked = [r for r in recs if r.get("error") is None]
    assert [r["rank"] for r in ranked] == [1, 2, 3, 4, 5]
    assert all(ranked[i]["score"] >= ranked[i + 1]["score"] for i in range(4))
    assert ranked[0]["stars"] == 5
    assert recs[-1]["path"] == str(broken) and recs[-1]["error"]
    # the top of the ranking is what anna likes
    top_ratings = [ratings[[str(p) for p in paths].index(r["path"])] for r in ranked]
    assert np.mean(top_ratings) > np.mean(ratings)


def test_explain_uses_the_personalizers_explanation(photos, store):
    info = _create(photos, store).explain()
    assert info["method"] == STANDIN and info["n_ratings"] == 24
    w = info["taste"]["colour weights"]
    # a correction to the generic model: add redness (anna's taste), remove greenness (the generic model's)
    assert w["red"] > 3 and w["green"] < -3


# ---- refusals with clear messages --------------------------------------------------------------------------------
def test_fewer_than_ten_ratings_refused(photos, store):
    paths, ratings = photos
    with pytest.raises(ProfileInputError, match="at least 10"):
        Profile.create("few", ratings=dict(zip(map(str, paths[:9]), ratings[:9])), method=STANDIN, store=store,
                       scorer=FakeScorer())


def test_all_equal_ratings_refused(photos, store):
    paths, _ = photos
    with pytest.raises(ProfileInputError, match="all 24 ratings are equal"):
        Profile.create("flat", ratings={str(p): 4 for p in paths}, method=STANDIN, store=store, scorer=FakeScorer())


def test_unknown_method_names_the_available_ones(photos, store):
    with pytest.raises(MethodUnavailable, match="available: .*test-standin"):
        resolve_method("no-such-method")



def test_default_method_is_the_best_registered(monkeypatch):
    import piaa.profiles.profile as pp

    monkeypatch.setattr(pp, "available_methods", lambda: ["bestfit-ft", "pa-iaa", "probe", "task-vectors"])
    assert default_method() == "probe"
    monkeypatch.setattr(pp, "available_methods", lambda: ["pa-iaa", "probe", "probe-prior", "task-vectors"])
    assert default_method() == "probe-prior"
    monkeypatch.setattr(pp, "available_methods", lambda: ["task-vectors", "pa-iaa", "zzz"])
    assert pp.default_candidates() == ["pa-iaa", "task-vectors"]
    monkeypatch.setattr(pp, "available_methods", lambda: ["zzz"])
    assert default_method() == "zzz"
    monkeypatch.setattr(pp, "available_methods", lambda: [])
    with pytest.raises(MethodUnavailable, match="no personalization method is installed"):
        default_method()


def test_unreadable_rated_images_are_left_out_with_a_note(photos, store, tmp_path):
    paths, ratings = photos
    bad = tmp_path / "shoot" / "corrupt.jpg"
    bad.write_bytes(b"\xff\xd8garbage")
    r = dict(zip(map(str, paths), ratings))
    r[str(bad)] = 5.0
    prof = Profile.create("anna", ratings=r, method=STANDIN, store=store, scorer=FakeScorer())
    assert len(prof.ratings) == 24
    assert any("could not be read" in n and "corrupt.jpg" in n for n in prof.meta["notes"])


# ---- CSV ---------------------------------------------------------------------------------------------------------
def _write_csv(path, rows, header="image,rating"):
    path.write_text(header + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n")
    return path


def test_csv_relative_to_its_folder_and_missing_images_listed(photos, tmp_path):
    paths, ratings = photos
    rows = [(p.name, r) for p, r in zip(paths, ratings)] + [("gone_1.jpg", 3), ("gone_2.jpg", 5)]
    csv = _write_csv(tmp_path / "shoot" / "mine.csv", rows)
    rated = ratings_from_csv(csv)
    assert len(rated) == 24 and 1.0 <= rated.scale[0] < rated.scale[1] <= 7.0  # inferred: the data's range
    note = "\n".join(rated.notes)
    assert "2 rated image(s) not found" in note and "gone_1.jpg" in note and "gone_2.jpg" in note


def test_csv_images_root_and_stated_scale(photos, tmp_path):
    paths, ratings = photos
    csv = _write_csv(tmp_path / "elsewhere.csv", [(p.name, r * 10) for p, r in zip(paths, ratings)])
    with pytest.raises(ProfileInputError, match="none of the 24 rated images exist.*--images"):
        ratings_from_csv(csv)
    rated = ratings_from_csv(csv, images_root=paths[0].parent, scale=(0, 100))
    assert rated.scale == (0.0, 100.0) and len(rated) == 24


def test_csv_rating_outside_stated_scale_names_the_line(photos, tmp_path):
    paths, ratings = photos
    csv = _write_csv(tmp_path / "shoot" / "bad.csv", [(p.name, r) for p, r in zip(paths, ratings)] + [("x.jpg", 9)])
    with pytest.raises(ProfileInputError, match="line 26"):
        ratings_from_csv(csv, scale=(1, 7))


def test_csv_with_several_people_needs_user(photos, tmp_path):
    paths, ratings = photos
    rows = [(u, p.name, r) for u in ("a", "b") for p, r in zip(paths, ratings)]
    csv = _write_csv(tmp_path / "shoot" / "all.csv", rows, header="user,image,rating")
    with pytest.raises(ProfileInputError, match="2 people.*--user"):
        ratings_from_csv(csv)
    assert len(ratings_from_csv(csv, user="b")) == 24


# ---- store -------------------------------------------------------------------------------------------------------
def test_store_list_delete_and_errors(photos, store):
    _create(photos, store)
    rows = store.list()
    assert rows[0]["name"] == "anna" and rows[0]["n_ratings"] == 24 and rows[0]["assessment"]["method_srocc"]
    with pytest.raises(ProfileExists):
        store.save("anna", STANDIN, {}, b"", [], overwrite=False)
    store.delete("anna")
    assert store.names() == []
    with pytest.raises(ProfileNotFound, match="the store is empty"):
        store.load("anna")
    with pytest.raises(ValueError):
        store.save("a/b", STANDIN, {}, b"", [])


def test_store_update_is_atomic(photos, store, monkeypatch):
    prof = _create(photos, store)
    before = store.load("anna")

    class Boom(Exception):
        pass

    real_connect = sqlite3.connect

    def connect(*a, **kw):  # a connection whose rating insert fails half-way through the save
        con = real_connect(*a, **kw)

        class Wrapped:
            def __getattr__(self, k):
                return getattr(con, k)

            def execute(self, *x):
                return con.execute(*x)

            def executemany(self, *x):
                raise Boom()

        return Wrapped()

    monkeypatch.setattr(sqlite3, "connect", connect)
    prof.ratings = prof.ratings[:12]
    with pytest.raises(Boom):
        prof.save()
    monkeypatch.undo()
    after = store.load("anna")
    assert after["ratings"] == before["ratings"] and after["state"] == before["state"]


def test_export_import_round_trip(photos, store, tmp_path):
    paths, _ = photos
    prof = _create(photos, store)
    data = json.loads(json.dumps(export_profile(store, "anna")))
    assert data["format"] == "piaa-profile" and data["state"]["arrays"]["coef_"]["base64"]
    other = ProfileStore(tmp_path / "other.sqlite")
    assert import_profile(other, data, name="anna-copy") == "anna-copy"
    copy = Profile.load("anna-copy", store=other, scorer=FakeScorer())
    np.testing.assert_allclose(copy.score(paths), prof.score(paths))
    with pytest.raises(ProfileExists):
        import_profile(other, data, name="anna-copy")


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.update(format="other"), "not a piaa profile"),
    (lambda d: d["state"]["arrays"]["coef_"].update(dtype="|O"), "not allowed"),
    (lambda d: d["state"]["arrays"]["coef_"].update(shape=[99]), "bytes for shape"),
    (lambda d: d.pop("ratings"), "missing field 'ratings'"),
])
def test_import_rejects_bad_files(photos, store, tmp_path, mutate, message):
    _create(photos, store)
    data = export_profile(store, "anna")
    mutate(data)
    with pytest.raises(ProfileFileError, match=message):
        import_profile(ProfileStore(tmp_path / "x.sqlite"), data)


# ---- CLI ---------------------------------------------------------------------------------------------------------
def test_cli_create_show_list_export_import_delete(photos, tmp_path, fake_generic, capsys):
    paths, ratings = photos
    csv = _write_csv(tmp_path / "shoot" / "mine.csv", [(p.name, r) for p, r in zip(paths, ratings)])
    st = str(tmp_path / "cli.sqlite")
    assert main(["profile", "create", "anna", "--ratings", str(csv), "--method", STANDIN, "--store", st]) == 0
    out = capsys.readouterr().out
    assert "out of 10 pairs of your photos" in out and "the generic model about" in out and "vs generic" in out
    assert main(["profile", "create", "anna", "--ratings", str(csv), "--method", STANDIN, "--store", st]) == 1
    assert "already exists" in capsys.readouterr().err
    assert main(["profile", "show", "anna", "--store", st]) == 0
    shown = capsys.readouterr().out
    assert "colour weights" in shown and "red" in shown and "24 on a 1..7 scale" in shown
    assert main(["profile", "list", "--store", st, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["name"] == "anna"
    exp = tmp_path / "anna.json"
    assert main(["profile", "export", "anna", "--store", st, "-o", str(exp)]) == 0
    assert main(["profile", "import", str(exp), "--name", "anna2", "--store", st]) == 0
    capsys.readouterr()
    assert main(["profile", "import", str(exp), "--store", st]) == 1              # the name is taken: say how
    err = capsys.readouterr().err
    assert "already exists" in err and "--overwrite" in err and "--name" in err
    shared = tmp_path / "anna_taste.json"
    assert main(["profile", "export", "anna", "--store", st, "--without-ratings", "-o", str(shared)]) == 0
    text = shared.read_text()
    doc = json.loads(text)
    assert doc["ratings"] == [] and doc["meta"]["without_ratings"] is True and "source" not in doc["meta"]
    assert str(tmp_path) not in text and not any(p.name in text for p in paths)   # no path, no photo name
    assert main(["profile", "import", str(shared), "--name", "taste", "--store", st]) == 0
    from piaa.profiles.profile import Profile

    shared_prof = Profile.load("taste", store=st)
    assert np.allclose(shared_prof.score(paths[:5]), Profile.load("anna", store=st).score(paths[:5]))
    assert main(["profile", "show", "taste", "--store", st]) == 0
    assert main(["profile", "delete", "anna", "--store", st]) == 0
    capsys.readouterr()
    assert main(["profile", "show", "anna", "--store", st]) == 1
    assert "no profile named 'anna'" in capsys.readouterr().err


def test_cli_create_warns_when_not_better_than_generic(tmp_path, fake_generic, capsys):
    paths, ratings = make_photos(tmp_path / "p", 20, seed=3)
    # this person rates exactly like the generic model (greenness): the profile cannot beat it
    from test_profiles_support import colour_features

    g = colour_features(paths)[:, 1]
    csv = _write_csv(tmp_path / "p" / "r.csv", [(p.name, round(1 + 6 * v, 2)) for p, v in zip(paths, g)])
    assert main(["profile", "create", "same", "--ratings", str(csv), "--method", STANDIN, "--scale", "1", "7",
                 "--store", str(tmp_path / "s.sqlite")]) == 0
    out = capsys.readouterr().out
    assert "warning: the profile is NOT better than the generic model" in out


def test_cli_create_refusals(tmp_path, fake_generic, capsys):
    paths, ratings = make_photos(tmp_path / "p", 8)
    csv = _write_csv(tmp_path / "p" / "r.csv", [(p.name, r) for p, r in zip(paths, ratings)])
    assert main(["profile", "create", "x", "--ratings", str(csv), "--method", STANDIN,
                 "--store", str(tmp_path / "s.sqlite")]) == 1
    assert "only 8 usable rating(s)" in capsys.readouterr().err
    assert main(["profile", "create", "x", "--ratings", str(csv), "--method", "nope",
                 "--store", str(tmp_path / "s.sqlite")]) == 1
    assert "not available" in capsys.readouterr().err


def test_explain_reads_known_accessors_when_no_explain():
    from piaa.profiles.explain import explain_estimator

    class Fusion:
        def trait_weights(self):
            return {"TEPS_con": 0.8, "PHQ": -0.2}

    class Bank:
        task_names = ["all", "women", "valence"]

    class TaskVectors:
        bank = Bank()
        task_srocc_ = np.array([0.5, 0.45, 0.2])

        def coefficients(self):
            return np.array([[0.6, 0.3, 0.1], [0.4, 0.5, 0.1]])

    [(title, weights)] = explain_estimator(Fusion()).items()
    assert "describes those raters, not you" in title
    assert weights == {"TEPS_con: TEPS consummatory pleasure: how much one enjoys pleasant things in the moment": 0.8,
                       "PHQ: PHQ-9 score: a depression questionnaire (sensitive: a mental-health measure)": -0.2}
    tv = explain_estimator(TaskVectors())
    assert tv["task weights (mean coefficient over layers)"] == pytest.approx({"all": 0.5, "women": 0.4,
                                                                               "valence": 0.1})
    assert tv["zero-shot SROCC of each task model on your ratings"]["valence"] == pytest.approx(0.2)
    assert explain_estimator(object()) is None


def test_default_falls_back_when_a_methods_model_files_are_missing(photos, store):
    from piaa.profiles.ratings_import import ratings_from_mapping

    paths, ratings = photos
    rated = ratings_from_mapping(dict(zip(map(str, paths), ratings)))
    prof = Profile.fit_first_usable("anna", rated, ["test-missing-asset", STANDIN], store=store, scorer=FakeScorer())
    assert prof.method == STANDIN
    assert any("test-missing-asset" in n and "bank is missing" in n for n in prof.meta["notes"])
    assert any("test-missing-asset" in n for n in Profile.load("anna", store=store).meta["notes"])
    with pytest.raises(MethodUnavailable, match="no usable personalization method.*bank is missing"):
        Profile.fit_first_usable("bob", rated, ["test-missing-asset"], store=store, scorer=FakeScorer())


def test_rank_a_folder_directly(photos, store):
    paths, _ = photos
    prof = _create(photos, store)
    recs = prof.rank(paths[0].parent)
    assert sorted(r["path"] for r in recs) == sorted(map(str, paths))
    assert len(prof.score(str(paths[0].parent))) == len(paths)


@pytest.mark.parametrize("returned", [
    np.array([1.0, np.nan, 3.0]),
    [1.0, None, 3.0],
    [{"score": 1.0}, {"error": "not an image"}, {"score": 3.0}],
    type("Result", (), {"scores": [1.0, np.nan, 3.0], "errors": {1: "not an image"}})(),
])
def test_generic_scores_accepts_the_shapes_a_scorer_may_return(returned):
    class S:
        def score(self, paths):
            return returned

    g = gen.generic_scores(S(), ["a", "b", "c"])
    assert g.scores[0] == 1.0 and g.scores[2] == 3.0 and np.isnan(g.scores[1])
    assert list(g.errors) == [1]
    with pytest.raises(RuntimeError, match="returned 3 scores for 2 photos"):
        gen.generic_scores(S(), ["a", "b"])


def test_cross_validate_is_paired_per_fold_and_out_of_fold():
    from piaa.profiles.assess import cross_validate, fold_ids, verdict

    rng = np.random.default_rng(0)
    y = rng.normal(size=30)
    generic = y + rng.normal(scale=2.0, size=30)
    seen = []

    def fit_predict(train, test):
        seen.append((set(train), set(test)))
        return y[test] + rng.normal(scale=0.1, size=len(test))   # a near-perfect person model

    rec = cross_validate(fit_predict, y, generic, k=5, seed=3)
    assert all(not (tr & te) for tr, te in seen) and set().union(*(te for _, te in seen)) == set(range(30))
    folds = fold_ids(30, 5, 3)
    from piaa.metrics import srocc

    expect_g = np.mean([srocc(generic[folds == f], y[folds == f]) for f in range(5)])
    assert rec["generic_srocc"] == pytest.approx(expect_g)
    assert rec["method_srocc"] > 0.9 and rec["better_than_generic"] is True and rec["gain_se"] > 0
    v = verdict(rec)
    assert "this profile orders about" in v and "SROCC" in v and "warning" not in v
    assert rec["method_pairs"] > 0.9 and 0.5 < rec["generic_pairs"] < rec["method_pairs"]
    flat = dict(rec, method_srocc=0.40, generic_srocc=0.42, gain_se=0.05, method_pairs=None, generic_pairs=None)
    v = verdict(flat)
    assert "within the noise of 30 ratings (±0.10 SROCC)" in v and "warning: the profile is NOT better" in v


def test_pair_agreement_in_plain_words():
    from piaa.profiles.assess import pair_agreement, pairs_from_srocc, verdict

    y = np.array([1, 2, 3, 4, 5.0])
    assert pair_agreement(y, y) == 1.0 and pair_agreement(-y, y) == 0.0
    assert pair_agreement(np.array([1, 1, 1, 1, 1.0]), y) == 0.5          # ties: a coin flip
    assert pair_agreement(np.array([1, 3, 2, 4, 5.0]), y) == pytest.approx(9 / 10)
    assert pair_agreement(np.ones(3), np.ones(3)) is None
    rng = np.random.default_rng(1)
    a = rng.normal(size=4000)
    b = 0.6 * a + 0.8 * rng.normal(size=4000)
    from piaa.metrics import srocc

    assert pairs_from_srocc(srocc(a, b)) == pytest.approx(pair_agreement(a, b), abs=0.01)
    old = {"method_srocc": 0.55, "generic_srocc": 0.47, "folds": 5, "n": 80, "gain_se": 0.01}   # no pairs recorded
    v = verdict(old)
    # SROCC 0.55 / 0.47 -> 6.9 / 6.6 pairs of 10: both round to 7, so one decimal keeps the difference visible
    assert "orders about 6.9 the way you did; the generic model about 6.6" in v
    assert "SROCC 0.55 vs generic 0.47" in v


def test_plain_words_never_praise_a_dozen_ratings_and_name_the_coin_flip():
    """Regression: 12 ratings cycling 1-5 read "knows you fairly well"; 41 of 100 pairs read "barely knows
    you" without saying that a coin flip gets 50."""
    from piaa.profiles.core import PRAISE_MIN_RATINGS, plain_words

    twelve = {"pairs_right_profile": 0.83, "pairs_right_generic": 0.0, "n": 12, "pairs_compared": 9}
    v = plain_words(twelve)
    assert "cannot tell yet" in v and "knows you" not in v.replace("whether it knows you", "")
    assert "a coin flip: 50" in v and f"at least {PRAISE_MIN_RATINGS}" in v
    low = plain_words({"pairs_right_profile": 0.41, "pairs_right_generic": 0.5, "n": 100, "pairs_compared": 900})
    assert "does not know you yet" in low and "41 of 100 pairs" in low and "a coin flip: 50" in low
    good = plain_words({"pairs_right_profile": 0.78, "pairs_right_generic": 0.62, "n": 80, "pairs_compared": 600})
    assert good.startswith("Your profile knows you well")
