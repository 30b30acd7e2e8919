"""The runner on synthetic data: fold restriction, identical supports, RESULT shape, std over trials, resume."""
import json
from pathlib import Path

import numpy as np
import pytest

from piaa.evaluation.experiment import ExperimentError, load_experiment
from piaa.evaluation.methods import registry
from piaa.evaluation.methods.base import Method
from piaa.evaluation.protocol import draw_support, plan_folds
from piaa.evaluation.report import gain_plot, gain_series, markdown_report
from piaa.evaluation.runner import RunOptions, run_experiment, summarize
from piaa.data.sources import load_source, read_folds
from test_evaluation_fixtures import FakeFeatures, latent, write_experiment

SEEN = {}   # method name -> list of (fold, support paths, query paths)
PREPARED = {}


class _Spy(Method):
    """Predicts from the fake features and records everything it is shown."""

    def prepare(self, fold):
        super().prepare(fold)
        PREPARED.setdefault(self.name, []).append(fold)
        self.w = np.ones(6) * self.options.get("weight", 1.0)

    def personalize(self, support, support_scores, query):
        SEEN.setdefault(self.name, []).append((self.fold.fold, [str(p) for p in support], [str(p) for p in query]))
        X = self.fold.features.get(query)
        return X @ self.w


class SpyA(_Spy):
    name = "spy-a"


class SpyB(_Spy):
    name = "spy-b"


class SpyZero(_Spy):
    name = "spy-zero"
    zero_shot = True

    def predict_generic(self, query):
        return self.fold.features.get(query)[:, 0]


class Exploding(Method):
    name = "spy-explode"

    def prepare(self, fold):
        raise AssertionError("must not run: the checkpoint should have been used")


@pytest.fixture(autouse=True)
def spies():
    SEEN.clear()
    PREPARED.clear()
    for cls in (SpyA, SpyB, SpyZero, Exploding):
        registry.register_method(cls)
    yield
    for cls in (SpyA, SpyB, SpyZero, Exploding):
        registry.METHODS.unregister(cls.name)


def _run(tmp_path, methods, **kw):
    exp = load_experiment(write_experiment(tmp_path, methods=methods))
    for k, v in kw.pop("test", {}).items():
        setattr(exp.test, k, v)
    opts = RunOptions(workdir=tmp_path / "work", features=FakeFeatures(), progress=False, **kw)
    return exp, run_experiment(exp, opts)


def test_fold_restriction_never_leaks_test_images_into_tasks(tmp_path):
    exp = load_experiment(write_experiment(tmp_path))
    warnings = []
    tasks = [load_source(t, t.name) for t in exp.tasks]
    test = load_source(exp.test, "test")
    folds = read_folds(exp.test.folds, "subset")
    plans = plan_folds(exp, tasks, test, folds, warnings)
    assert [p.name for p in plans] == ["f1", "f2", "f3", "f4"]
    for plan in plans:
        fold_images = {str(test.images_root / i) for i, f in folds.items() if f == plan.name}
        for task in plan.tasks:
            task_images = {str(p) for p in task.image_paths()}
            assert task_images and not (task_images & fold_images)
            if task.users is not None:
                assert set(task.users.index) == set(task.dataset.ratings["user"])
        assert set(plan.test_ratings["path"]) <= fold_images
        for person in plan.people:
            assert set(person.paths) <= fold_images and len(person.paths) == 10
        # people of this fold rated only fold images, so they are absent from the tasks
        assert not set(plan.tasks[0].dataset.ratings["user"]) & {p.user for p in plan.people}
    assert warnings == []


def test_without_folds_a_shared_image_is_reported_as_leakage(tmp_path):
    exp = load_experiment(write_experiment(tmp_path))
    exp.test.folds = None
    warnings = []
    plans = plan_folds(exp, [load_source(t, t.name) for t in exp.tasks], load_source(exp.test, "test"), None,
                       warnings)
    assert [p.name for p in plans] == ["all"] and len(plans[0].people) == 24
    assert any("leakage" in w and "'all'" in w for w in warnings)
    assert len(plans[0].tasks[0].dataset.ratings) == len(load_source(exp.tasks[0], "all").dataset.ratings)


def test_methods_see_only_training_images_of_their_fold(tmp_path):
    _run(tmp_path, ["spy-a"])
    for fold in PREPARED["spy-a"]:
        test_imgs = {str(p) for p in fold.test_images}
        assert test_imgs
        for t in fold.tasks:
            assert not {str(p) for p in t.image_paths()} & test_imgs


def test_every_method_gets_the_same_supports_and_queries(tmp_path):
    _run(tmp_path / "one", ["spy-a"])
    alone = list(SEEN["spy-a"])
    SEEN.clear()
    _run(tmp_path / "two", ["spy-b", "spy-zero", "spy-a"])
    norm = lambda calls: [(f, [Path(p).name for p in s], [Path(p).name for p in q]) for f, s, q in calls]  # noqa
    assert norm(SEEN["spy-a"]) == norm(SEEN["spy-b"]) == norm(alone)
    # 24 people x 2 shot counts x 3 trials, supports never in the queries, supports differ between trials
    assert len(alone) == 24 * 2 * 3
    for _, s, q in alone:
        assert not set(s) & set(q) and len(s) in (3, 5) and len(s) + len(q) == 10
    assert len({tuple(s) for _, s, _ in alone}) > 100


def test_support_draws_are_seeded_and_independent():
    a = draw_support(0, "f1", "u1", 0, 10, 225)
    assert np.array_equal(a, draw_support(0, "f1", "u1", 0, 10, 225))
    assert not np.array_equal(a, draw_support(0, "f1", "u1", 1, 10, 225))
    assert not np.array_equal(a, draw_support(1, "f1", "u1", 0, 10, 225))
    assert not np.array_equal(a, draw_support(0, "f1", "u2", 0, 10, 225))
    assert len(set(a)) == 10


def test_result_shape(tmp_path):
    exp, res = _run(tmp_path, ["spy-a", "spy-zero", "crowd-oracle"])
    assert set(res) == {"experiment", "methods", "zero_shot_on_queries"}
    assert set(res["methods"]) == {"spy-a", "spy-zero", "crowd-oracle"}
    assert set(res["methods"]["spy-a"]) == {"3", "5"}
    assert set(res["methods"]["spy-zero"]) == {"0"} == set(res["methods"]["crowd-oracle"])
    for _m, by_k in res["methods"].items():
        for _k, cell in by_k.items():
            assert set(cell) == {"srocc_mean", "srocc_std", "plcc_mean", "n_people", "seconds_per_person",
                                 "per_person"}
            assert cell["n_people"] == len([v for v in cell["per_person"].values() if v is not None]) == 24
            assert -1 <= cell["srocc_mean"] <= 1 and cell["srocc_std"] >= 0 and cell["seconds_per_person"] >= 0
            assert abs(np.mean(list(cell["per_person"].values())) - cell["srocc_mean"]) < 1e-4
    assert set(res["zero_shot_on_queries"]) == {"spy-zero", "crowd-oracle"}
    assert set(res["zero_shot_on_queries"]["spy-zero"]) == {"3", "5"}
    e = res["experiment"]
    assert e["references"] == ["crowd-oracle"] and e["zero_shot"] == ["spy-zero", "crowd-oracle"]
    assert e["environment"]["machine"]["cpu_cores"] >= 1 and e["environment"]["piaa_version"]
    assert [f["name"] for f in e["folds"]] == ["f1", "f2", "f3", "f4"] and e["test"]["trials"] == 3
    assert e["tasks"][0]["ratings"].endswith("ratings.csv")
    json.dumps(res, allow_nan=False)
    # the zero-shot spy predicts feature 0: its per-person SROCC must equal the direct computation
    from piaa.metrics import srocc

    exp_, = [exp]
    tr = load_source(exp_.test, "test").dataset.ratings
    r = tr[tr["user"] == "5"]
    direct = srocc(r["score"], [latent(i)[0] for i in r["image"]])
    assert res["methods"]["spy-zero"]["0"]["per_person"]["5"] == pytest.approx(direct, abs=1e-4)


def test_std_is_over_trials_of_the_per_trial_means():
    s = summarize({"a": [0.1, 0.3, 0.5], "b": [0.3, 0.5, 0.1]}, {"a": [0.0] * 3, "b": [1.0] * 3}, [1.0, 3.0])
    assert s["per_person"] == {"a": pytest.approx(0.3), "b": pytest.approx(0.3)}
    assert s["srocc_mean"] == pytest.approx(0.3)
    assert s["srocc_std"] == pytest.approx(np.std([0.2, 0.4, 0.3]), abs=1e-5)
    assert s["plcc_mean"] == pytest.approx(0.5) and s["seconds_per_person"] == pytest.approx(2.0)
    s = summarize({"a": [None, None], "b": [0.2, 0.4]}, {}, [])
    assert s["per_person"]["a"] is None and s["n_people"] == 1 and s["srocc_std"] == pytest.approx(0.1, abs=1e-5)


def test_crowd_oracle_is_the_mean_of_the_other_raters(tmp_path):
    exp, res = _run(tmp_path, ["crowd-oracle"])
    from piaa.metrics import srocc

    tr = load_source(exp.test, "test").dataset.ratings
    u = "3"
    mine = tr[tr["user"] == u].sort_values("image")
    others = tr[(tr["user"] != u) & tr["image"].isin(mine["image"])].groupby("image")["score"].mean()
    assert res["methods"]["crowd-oracle"]["0"]["per_person"][u] == pytest.approx(
        srocc(mine["score"], others.reindex(mine["image"])), abs=1e-4)


def test_resume_from_checkpoint(tmp_path):
    exp, first = _run(tmp_path, ["spy-a", "crowd-oracle"])
    ck = tmp_path / "work" / "checkpoints" / "spy-a"
    assert sorted(p.name for p in ck.iterdir()) == ["f1.json", "f2.json", "f3.json", "f4.json"]
    # a resumed run must not call the methods again: swap spy-a's class for one that explodes
    registry.METHODS.register("spy-a", type("E", (Exploding,), {"name": "spy-a"}), override=True)
    _, second = _run(tmp_path, ["spy-a", "crowd-oracle"])
    assert second["methods"] == first["methods"]
    # a different configuration invalidates the checkpoints
    with pytest.raises(AssertionError, match="must not run"):
        _run(tmp_path, ["spy-a"], test={"trials": 2})
    # so does an edited ratings file
    ratings = tmp_path / "data" / "ratings.csv"
    ratings.write_text(ratings.read_text() + "\n")
    with pytest.raises(AssertionError, match="must not run"):
        _run(tmp_path, ["spy-a"])
    # an interrupted run (one fold's checkpoint missing) recomputes only that fold
    registry.METHODS.register("spy-a", SpyA, override=True)
    _run(tmp_path, ["spy-a"])
    (ck / "f3.json").unlink()
    SEEN.clear()
    _, third = _run(tmp_path, ["spy-a"])
    assert {f for f, _, _ in SEEN["spy-a"]} == {"f3"}
    strip = lambda r: {k: {x: y for x, y in c.items() if x != "seconds_per_person"} for k, c in r.items()}  # noqa
    assert strip(third["methods"]["spy-a"]) == strip(first["methods"]["spy-a"])


def test_unknown_methods(tmp_path):
    with pytest.raises(ExperimentError, match=r"unknown method\(s\) \['nope'\]; known methods: .*crowd-oracle"):
        _run(tmp_path / "a", ["spy-a", "nope"])
    exp, res = _run(tmp_path / "b", ["spy-a", "nope"], skip_missing=True)
    assert list(res["methods"]) == ["spy-a"]
    assert any("'nope'" in w for w in res["experiment"]["warnings"])


def test_methods_override_and_options(tmp_path):
    p = write_experiment(tmp_path, methods=["spy-a"], extra="\n[methods.spy-b]\nweight = -1.0\n")
    exp = load_experiment(p)
    res = run_experiment(exp, RunOptions(workdir=tmp_path / "w", methods=["spy-a", "spy-b"],
                                         features=FakeFeatures(), progress=False))
    a, b = res["methods"]["spy-a"]["5"], res["methods"]["spy-b"]["5"]
    assert b["srocc_mean"] == pytest.approx(-a["srocc_mean"], abs=1e-4)
    assert any("--methods" in w for w in res["experiment"]["warnings"])


def test_min_ratings_and_k_plus_two(tmp_path):
    _, res = _run(tmp_path, ["spy-a"], test={"shots": [3, 9], "min_ratings": 5})
    assert res["methods"]["spy-a"]["3"]["n_people"] == 24
    nobody = res["methods"]["spy-a"]["9"]   # 10 ratings < 9 + 2: nobody qualifies
    assert nobody["n_people"] == 0 and nobody["srocc_mean"] is None and nobody["per_person"] == {}
    _, res = _run(tmp_path / "x", ["spy-a"], test={"min_ratings": 11})
    assert [c["n_people"] for c in res["methods"]["spy-a"].values()] == [0, 0]
    assert "| spy-a | – | – |" in markdown_report(res)


def test_report_and_gain_plot(tmp_path):
    _, res = _run(tmp_path, ["spy-a", "spy-zero", "crowd-oracle"])
    res["zero_shot_on_queries"]["generic"] = res["zero_shot_on_queries"]["spy-zero"]
    res["methods"]["generic"] = res["methods"]["spy-zero"]
    md = markdown_report(res, plot_name="r_gain.png")
    assert "| crowd-oracle (reference) |" in md and "| spy-a |" in md and "3-shot" in md and "±" in md
    assert md.index("| spy-a |") < md.index("crowd-oracle (reference)")
    g = gain_series(res)
    assert set(g) == {"spy-a", "spy-zero", "crowd-oracle"} and len(g["spy-a"]) == 24
    assert np.all(np.diff(g["spy-a"]) <= 0)
    assert np.allclose(g["spy-zero"], 0)
    out = gain_plot(res, tmp_path / "r_gain.png")
    assert out.is_file() and out.read_bytes()[:4] == b"\x89PNG"
    del res["zero_shot_on_queries"]["generic"]
    assert gain_plot(res, tmp_path / "none.png") is None


def test_a_failing_method_names_the_person_and_draw(tmp_path):
    class Broken(Method):
        name = "spy-broken"

        def personalize(self, support, support_scores, query):
            raise np.linalg.LinAlgError("singular")

    registry.register_method(Broken)
    try:
        with pytest.raises(RuntimeError, match=r"'spy-broken' failed on person '1' \(fold f1, k=3, trial 0\).*"
                                               r"LinAlgError: singular"):
            _run(tmp_path, ["spy-broken"])
    finally:
        registry.METHODS.unregister("spy-broken")


def test_checkpoints_are_tied_to_the_method_source(tmp_path):
    from piaa.evaluation.methods.baselines import CrowdOracle
    from piaa.evaluation.runner import code_stamp

    assert code_stamp(SpyA) == code_stamp(SpyB) != code_stamp(CrowdOracle)
    _run(tmp_path, ["spy-a"])
    rec = json.loads((tmp_path / "work" / "checkpoints" / "spy-a" / "f1.json").read_text())
    assert rec["fingerprint"].endswith("-" + code_stamp(SpyA))


def test_cached_feature_provider_memoizes_per_backbone_and_variant(capsys):
    from types import SimpleNamespace

    from piaa.evaluation.features import CachedFeatureProvider

    calls = []

    class Stub:
        def __init__(self, variant):
            self.variant = variant

        def extract(self, paths):
            calls.append((self.variant, list(paths)))
            feats = np.array([[len(p), 1.0 if self.variant == "pooled" else 2.0] for p in paths])
            errors = {i: "cannot decode" for i, p in enumerate(paths) if p.endswith("bad.jpg")}
            feats[list(errors)] = np.nan
            return SimpleNamespace(features=feats, errors=errors)

    fp = CachedFeatureProvider(progress=False)
    fp._extractor = lambda backbone, variant: Stub(variant)
    a = fp.get([Path("/x/a.jpg"), Path("/x/bad.jpg")], variant="pooled")
    b = fp.get([Path("/x/bad.jpg"), Path("/x/a.jpg"), Path("/x/cc.jpg")], variant="pooled")
    c = fp.get([Path("/x/a.jpg")], variant="multilevel")
    assert calls == [("pooled", ["/x/a.jpg", "/x/bad.jpg"]), ("pooled", ["/x/cc.jpg"]),
                     ("multilevel", ["/x/a.jpg"])]
    assert a[0, 1] == 1.0 and np.isnan(a[1]).all() and np.isnan(b[0]).all() and b[2, 0] == len("/x/cc.jpg")
    assert c[0, 1] == 2.0
    assert "no features for /x/bad.jpg: cannot decode" in capsys.readouterr().err
    assert list(fp.errors) == ["/x/bad.jpg"]


def _user_fold_experiment(tmp_path, user_folds='4', extra=""):
    p = write_experiment(tmp_path)
    text = p.read_text().replace('folds = "data/folds.csv"\nfold_column = "subset"\n', f"user_folds = {user_folds}\n")
    p.write_text(text + extra)
    return load_experiment(p)


def test_user_folds_hold_back_people_not_images(tmp_path):
    exp = _user_fold_experiment(tmp_path)
    tasks = [load_source(t, t.name) for t in exp.tasks]
    test = load_source(exp.test, "test")
    plans = plan_folds(exp, tasks, test, None, [])
    assert [p.name for p in plans] == ["people1", "people2", "people3", "people4"]
    tested = [p.user for plan in plans for p in plan.people]
    assert sorted(tested) == sorted(set(tested)) and len(tested) == 24   # everyone tested exactly once
    all_ratings = test.dataset.ratings
    for plan in plans:
        held = {p.user for p in plan.people}
        assert len(held) == 6
        by_name = {t.name: t for t in plan.tasks}
        for name in ("all", "women"):  # same ratings file as the test: the fold's people are gone, nobody else
            r = by_name[name].dataset.ratings
            assert not set(r["user"]) & held
            assert set(r["user"]) == set(tasks[[t.label for t in tasks].index(name)].dataset.ratings["user"]) - held
            assert set(by_name[name].users.index) == set(r["user"])
        # images are not held back: the task still rates the test people's images (rated by others)
        test_imgs = set(plan.test_ratings["image"])
        assert test_imgs <= set(by_name["all"].dataset.ratings["image"])
        assert len(by_name["valence"].dataset.ratings) == len(tasks[2].dataset.ratings)  # another file: kept
        assert set(plan.test_ratings["user"]) == held
        assert len(plan.test_ratings) == int(all_ratings["user"].isin(held).sum())


def test_user_folds_are_seeded_and_can_come_from_a_file(tmp_path):
    from piaa.evaluation.protocol import user_fold_assignment

    exp = _user_fold_experiment(tmp_path)
    users = [str(u) for u in range(1, 25)]
    a = user_fold_assignment(users, exp.test)
    assert a == user_fold_assignment(list(reversed(users)), exp.test)
    assert sorted(np.unique(list(a.values()), return_counts=True)[1]) == [6, 6, 6, 6]
    exp.test.seed = 8
    assert user_fold_assignment(users, exp.test) != a
    (tmp_path / "data" / "ufolds.csv").write_text("user,part\n" + "".join(f"{u},{'A' if int(u) <= 12 else 'B'}\n"
                                                                          for u in users))
    exp2 = _user_fold_experiment(tmp_path / "b", '"data/ufolds.csv"', "")
    exp2.test.user_folds = tmp_path / "data" / "ufolds.csv"
    exp2.test.fold_column = "part"
    plans = plan_folds(exp2, [load_source(t, t.name) for t in exp2.tasks], load_source(exp2.test, "test"), None, [])
    assert [p.name for p in plans] == ["A", "B"]
    assert {p.user for p in plans[0].people} == {str(u) for u in range(1, 13)}


def test_user_folds_config_errors(tmp_path):
    p = write_experiment(tmp_path)
    base = p.read_text()
    p.write_text(base.replace('fold_column = "subset"\n', 'fold_column = "subset"\nuser_folds = 4\n'))
    with pytest.raises(ExperimentError, match="choose one protocol"):
        load_experiment(p)
    p.write_text(base.replace('folds = "data/folds.csv"\nfold_column = "subset"\n', "user_folds = 1\n"))
    with pytest.raises(ExperimentError, match="at least 2"):
        load_experiment(p)
    p.write_text(base.replace('folds = "data/folds.csv"\nfold_column = "subset"\n', "user_folds = true\n"))
    with pytest.raises(ExperimentError, match="number of folds or a CSV"):
        load_experiment(p)


def test_user_folds_run_end_to_end(tmp_path):
    p = write_experiment(tmp_path, methods=["spy-a", "crowd-oracle"])
    p.write_text(p.read_text().replace('folds = "data/folds.csv"\nfold_column = "subset"\n', "user_folds = 3\n"))
    exp = load_experiment(p)
    res = run_experiment(exp, RunOptions(workdir=tmp_path / "work", features=FakeFeatures(), progress=False))
    assert [f["name"] for f in res["experiment"]["folds"]] == ["people1", "people2", "people3"]
    assert res["experiment"]["test"]["user_folds"] == 3
    assert res["methods"]["spy-a"]["5"]["n_people"] == 24
    # the crowd oracle needs another person of the same fold on the same images: a few have none here
    assert 0 < res["methods"]["crowd-oracle"]["0"]["n_people"] <= 24
    for fold in PREPARED["spy-a"]:  # the test images are training images too (rated by the other people)
        assert fold.test_images
        assert set(fold.tasks[0].dataset.ratings["image"]) >= {Path(p).name for p in fold.test_images}


class SpyLeaky(_Spy):
    name = "spy-leaky"

    def personalize(self, support, support_scores, query):
        return self.fold.features.get(query, backbone="leaky-trunk")[:, 0]


def test_runner_refuses_a_trunk_that_saw_a_test_photo(tmp_path, monkeypatch):
    """Every feature request of a fold passes the trunk-leakage guard."""
    from piaa.evaluation.leakage import TrunkLeakageError
    from piaa.io.hashing import image_file_hash

    path = write_experiment(tmp_path, methods=["spy-leaky"])
    img = tmp_path / "data" / "images" / "img00.jpg"  # an image of fold f1
    img.write_bytes(b"distinct bytes of img00")
    seen = {image_file_hash(img)}
    monkeypatch.setattr("piaa.backbones.finetuned.seen_images",
                        lambda b: frozenset(seen) if b == "leaky-trunk" else frozenset())
    registry.register_method(SpyLeaky)
    try:
        exp = load_experiment(path)
        with pytest.raises(TrunkLeakageError, match="leaky-trunk"):
            run_experiment(exp, RunOptions(workdir=tmp_path / "work", features=FakeFeatures(), progress=False))
        seen.clear()  # the same trunk having seen nothing: the run goes through
        run_experiment(exp, RunOptions(workdir=tmp_path / "work2", features=FakeFeatures(), progress=False))
    finally:
        registry.METHODS.unregister("spy-leaky")
