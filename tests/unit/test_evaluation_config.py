"""Experiment files and trait filters: strict parsing, relative paths, clear errors."""
import pandas as pd
import pytest

from piaa.evaluation.experiment import ExperimentError, load_experiment, parse_experiment
from piaa.data.sources import load_source, read_folds
from piaa.data.traits_filter import WhereError, check_where, filter_users
from test_evaluation_fixtures import write_experiment


def _minimal(**test):
    raw = {"tasks": [{"name": "a", "ratings": "r.csv", "images": "img"}],
           "test": {"ratings": "t.csv", "images": "timg", "methods": ["generic"], **test}}
    return raw


def test_relative_paths_resolve_against_the_experiment_folder(tmp_path, monkeypatch):
    p = write_experiment(tmp_path)
    monkeypatch.chdir("/")
    exp = load_experiment(p)
    assert exp.tasks[0].ratings == (tmp_path / "data" / "ratings.csv").resolve()
    assert exp.test.folds == (tmp_path / "data" / "folds.csv").resolve()
    assert exp.tasks[0].ratings.is_file() and exp.test.images.is_dir()
    assert exp.generic == "all" and exp.test.shots == [3, 5] and exp.test.fold_column == "subset"


def test_absolute_paths_are_kept(tmp_path):
    exp = parse_experiment(_minimal(folds=str(tmp_path / "f.csv")), base_dir="/elsewhere")
    assert exp.test.folds == tmp_path / "f.csv"
    assert str(exp.tasks[0].ratings) == "/elsewhere/r.csv"


@pytest.mark.parametrize("change, message", [
    (lambda r: r["test"].update(shots=[10, -1]), "shots"),
    (lambda r: r["test"].update(trials=0), "trials"),
    (lambda r: r["test"].update(methods=[]), "methods is empty"),
    (lambda r: r["test"].update(rating_colum="x"), "unknown key"),
    (lambda r: r.update(generic="nope"), "not a task name"),
    (lambda r: r["tasks"][0].update(where="age < 3"), "needs users"),
    (lambda r: r["tasks"][0].update(scale=[7, 1]), "scale"),
    (lambda r: r["tasks"].append(dict(r["tasks"][0])), "used twice"),
    (lambda r: r["tasks"][0].pop("images"), "needs images"),
    (lambda r: r.pop("test"), "[test] table is required"),
    (lambda r: r["test"].update(only_folds=["a"]), "only_folds needs folds"),
    (lambda r: r["test"].update(fold_column="subset"), "fold_column needs folds"),
])
def test_bad_experiment_files_fail_with_a_clear_message(change, message):
    raw = _minimal()
    change(raw)
    with pytest.raises(ExperimentError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_experiment(raw, base_dir="/x")


def test_buckets_and_scale(tmp_path):
    exp = parse_experiment({**_minimal(), "tasks": [{"name": "a", "ratings": "r", "images": "i", "scale": [0, 10],
                                                     "buckets": 5}]}, base_dir="/x")
    assert exp.tasks[0].scale == [0, 10, 5]


def test_invalid_toml_names_the_file(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("name = \n")
    with pytest.raises(ExperimentError, match="bad.toml: not valid TOML"):
        load_experiment(p)


def test_fingerprint_changes_with_the_configuration(tmp_path):
    exp = load_experiment(write_experiment(tmp_path))
    a = exp.fingerprint("probe")
    exp.test.trials += 1
    assert exp.fingerprint("probe") != a
    exp.test.trials -= 1
    assert exp.fingerprint("probe") == a
    exp.method_options["probe"] = {"alphas": [1.0]}
    assert exp.fingerprint("probe") != a
    assert exp.fingerprint("crowd-oracle") == exp.fingerprint("crowd-oracle")


# ---- where filters --------------------------------------------------------------------------------------------
TRAITS = pd.DataFrame({"gender": ["female", "male", "female", None], "age": [22.0, 45.0, 31.0, float("nan")],
                       "politic": ["strongLiberal", "neutral", "slightConservative", "neutral"]},
                      index=pd.Index(["1", "2", "3", "4"], name="user"))


@pytest.mark.parametrize("expr, users", [
    ("gender == 'female'", ["1", "3"]),
    ("age <= 30", ["1"]),
    ("age > 30 and gender == 'male'", ["2"]),
    ("not (age > 30)", ["1", "4"]),
    ("politic in ['strongLiberal', 'slightConservative']", ["1", "3"]),
])
def test_where_filters_select_people(expr, users):
    assert list(filter_users(TRAITS, expr).index) == users


@pytest.mark.parametrize("expr, message", [
    ("__import__('os').system('true')", "not allowed"),
    ("gender.str.startswith('f')", "not allowed"),
    ("age[0] > 1", "not allowed"),
    ("@x > 1", "not supported"),
    ("agee <= 30", "unknown trait column 'agee' .*did you mean age"),
    ("age <= ", "not a valid expression"),
    ("age", "must be a condition"),
    ("age > 100", "selects nobody.*age ranges 22..45"),
    ("gender == 'Female'", "selects nobody.*gender takes"),
    ("gender > 3", "cannot compare"),
])
def test_where_filter_errors_are_clear(expr, message):
    with pytest.raises(WhereError, match=message):
        filter_users(TRAITS, expr)


def test_check_where_accepts_arithmetic():
    check_where("age - 10 > 3 or age * 2 < 50", ["age"])


# ---- sources --------------------------------------------------------------------------------------------------
def test_sources_where_per_image_and_missing_images(tmp_path):
    exp = load_experiment(write_experiment(tmp_path))
    warnings = []
    women = load_source(exp.tasks[1], "women", warnings=warnings)
    assert set(women.users["gender"]) == {"female"}
    assert set(women.dataset.ratings["user"]) == set(women.users.index)
    val = load_source(exp.tasks[2], "valence")
    assert val.per_image and val.dataset.ratings["user"].nunique() == 1
    assert not load_source(exp.tasks[0], "all").per_image
    (tmp_path / "data" / "images" / "img00.jpg").unlink()
    warnings = []
    src = load_source(exp.tasks[0], "all2", warnings=warnings)
    assert "img00.jpg" not in set(src.dataset.ratings["image"])
    assert any("missing" in w for w in warnings)


def test_where_error_names_the_task(tmp_path):
    p = write_experiment(tmp_path)
    p.write_text(p.read_text().replace("gender == 'female'", "sex == 'female'"))
    exp = load_experiment(p)
    with pytest.raises(ExperimentError, match="women: .*unknown trait column 'sex'"):
        load_source(exp.tasks[1], "women")


def test_max_images_is_a_seeded_subset(tmp_path):
    exp = load_experiment(write_experiment(tmp_path))
    exp.tasks[0].max_images = 12
    a = load_source(exp.tasks[0], "all", seed=1)
    b = load_source(exp.tasks[0], "all", seed=1)
    assert a.dataset.ratings["image"].nunique() == 12
    assert set(a.dataset.ratings["image"]) == set(b.dataset.ratings["image"])


def test_read_folds_errors(tmp_path):
    p = tmp_path / "f.csv"
    p.write_text("image,subset\na.jpg,s1\nb.jpg,s2\na.jpg,s2\n")
    with pytest.raises(Exception, match="line 4: image 'a.jpg' is in two folds"):
        read_folds(p, "subset")
    p.write_text("image,fold\na.jpg,s1\n")
    with pytest.raises(Exception, match="missing column"):
        read_folds(p, "subset")


def test_cli_reports_experiment_errors(tmp_path, capsys):
    from piaa.cli.main import main

    p = write_experiment(tmp_path, methods=["no-such-method"])
    assert main(["evaluate", str(p), "--output", str(tmp_path / "r.json"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "unknown method(s) ['no-such-method']" in err and "crowd-oracle" in err and "--skip-missing" in err
    assert not (tmp_path / "r.json").exists()
    assert main(["evaluate"]) == 2


def test_cli_writes_result_and_report(tmp_path, capsys):
    from piaa.cli.main import main

    p = write_experiment(tmp_path, methods=["crowd-oracle"])
    out = tmp_path / "out" / "r.json"
    assert main(["evaluate", str(p), "-o", str(out), "--report", str(tmp_path / "out" / "r.md"), "--quiet"]) == 0
    import json

    res = json.loads(out.read_text())
    assert res["methods"]["crowd-oracle"]["0"]["n_people"] == 24
    assert (tmp_path / "out" / "r.work" / "checkpoints" / "crowd-oracle" / "f1.json").is_file()
    assert "crowd-oracle (reference)" in (tmp_path / "out" / "r.md").read_text()
    assert "crowd-oracle: 0-shot" in capsys.readouterr().out


def test_a_file_with_several_criteria_needs_one(tmp_path):
    exp = load_experiment(write_experiment(tmp_path))
    p = tmp_path / "crit.csv"
    p.write_text("user,image,rating_type,rating\n1,img01.jpg,appeal,3\n1,img01.jpg,realism,4\n")
    exp.test.ratings = p
    with pytest.raises(ExperimentError, match=r"mixes several criteria \['appeal', 'realism'\]"):
        load_source(exp.test, "test")
    exp.test.criterion = "realism"
    assert load_source(exp.test, "test").dataset.ratings["score"].tolist() == [4.0]


def test_bad_method_options_are_reported(tmp_path):
    from piaa.evaluation.runner import RunOptions, run_experiment
    from test_evaluation_fixtures import FakeFeatures

    exp = load_experiment(write_experiment(tmp_path, methods=["crowd-oracle"],
                                           extra="\n[methods.crowd-oracle]\nfoo = 1\n"))
    with pytest.raises(ExperimentError, match="method 'crowd-oracle' cannot start.*foo"):
        run_experiment(exp, RunOptions(workdir=tmp_path / "w", features=FakeFeatures(), progress=False))


def test_single_mos_task_on_a_zero_one_scale(tmp_path):
    """A BIQ2021-style task (image,mos on 0-1, no user column): per-image, a continuous 11-bucket scale."""
    (tmp_path / "img").mkdir()
    for i in range(3):
        (tmp_path / "img" / f"ss01 ({i}).jpg").write_bytes(b"")
    (tmp_path / "train.csv").write_text("image,mos\nss01 (0).jpg,0.1\nss01 (1).jpg,0.55\nss01 (2).jpg,1\n")
    raw = _minimal()
    raw["tasks"] = [{"name": "photo-quality", "ratings": "train.csv", "images": "img", "rating_column": "mos",
                     "single_user": True, "scale": [0, 1]}]
    exp = parse_experiment(raw, base_dir=tmp_path)
    assert exp.tasks[0].single_user == "photo-quality" and exp.generic == "photo-quality"
    src = load_source(exp.tasks[0], "photo-quality")
    assert src.per_image and src.dataset.scale.buckets == 11 and src.dataset.scale.max == 1.0
    assert src.dataset.ratings["score"].tolist() == [0.1, 0.55, 1.0]
    assert set(src.dataset.ratings["user"]) == {"photo-quality"}
    raw["tasks"][0]["single_user"] = "biq2021-mos"
    assert load_source(parse_experiment(raw, base_dir=tmp_path).tasks[0], "q").dataset.ratings["user"].iat[0] == "biq2021-mos"
    raw["tasks"][0]["scale"] = [0, 1, 5]
    assert load_source(parse_experiment(raw, base_dir=tmp_path).tasks[0], "q5").dataset.scale.buckets == 5
    raw["tasks"][0]["rating_column"] = "MOS"  # column names match ignoring case
    assert load_source(parse_experiment(raw, base_dir=tmp_path).tasks[0], "q6").dataset.ratings["score"].tolist() \
        == [0.1, 0.55, 1.0]
    raw["tasks"][0]["rating_column"] = "grade"
    with pytest.raises(Exception, match="missing column"):
        load_source(parse_experiment(raw, base_dir=tmp_path).tasks[0], "q7")
