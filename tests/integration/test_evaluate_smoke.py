"""The shipped smoke experiment end to end on the real OASIS data, through the CLI."""
import json
import time
from pathlib import Path

import pytest

from piaa.cli.main import main

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"


@pytest.mark.shared_data
def test_smoke_experiment_runs_and_resumes(shared_data, tmp_path, capsys):
    out = tmp_path / "smoke.json"
    rep = tmp_path / "smoke.md"
    t = time.perf_counter()
    rc = main(["evaluate", str(EXPERIMENTS / "smoke.toml"), "--output", str(out), "--report", str(rep),
               "--quiet", "--skip-missing"])
    first = time.perf_counter() - t
    assert rc == 0
    res = json.loads(out.read_text())
    m = res["methods"]
    assert {"generic", "probe", "crowd-oracle"} <= set(m)
    assert set(m["generic"]) == {"0"} and set(m["probe"]) == {"10"} and set(m["crowd-oracle"]) == {"0"}
    for name in ("generic", "probe", "crowd-oracle"):
        cell = m[name]["0" if name != "probe" else "10"]
        assert cell["n_people"] == 8 and len(cell["per_person"]) == 8
        assert -1 <= cell["srocc_mean"] <= 1
    for name in ("pa-iaa", "task-vectors", "probe-prior"):  # teammates' methods, when registered
        if name in m:
            assert m[name]["10"]["n_people"] == 8 and -1 <= m[name]["10"]["srocc_mean"] <= 1
    # real signal: the crowd and the generic model agree with people better than chance
    assert m["crowd-oracle"]["0"]["srocc_mean"] > 0.2
    assert m["generic"]["0"]["srocc_mean"] > 0.1
    assert res["experiment"]["folds"][0]["name"] == "subset1"
    assert res["experiment"]["folds"][0]["tasks"]["valence"]["per_image"] is True
    assert "| probe |" in rep.read_text() and (tmp_path / "smoke_gain.png").is_file()
    assert first < 90, f"smoke run took {first:.0f} s"
    # second run: everything comes from the checkpoints
    t = time.perf_counter()
    assert main(["evaluate", str(EXPERIMENTS / "smoke.toml"), "--output", str(tmp_path / "again.json"),
                 "--workdir", str(tmp_path / "smoke.work"), "--quiet", "--skip-missing"]) == 0
    again = json.loads((tmp_path / "again.json").read_text())
    assert again["methods"]["probe"]["10"]["per_person"] == m["probe"]["10"]["per_person"]
    assert "resumed" in capsys.readouterr().err


@pytest.mark.shared_data
def test_shipped_experiments_parse(shared_data):
    from piaa.evaluation.experiment import load_experiment

    for name in ("oasis_intra.toml", "oasis_to_avt.toml", "smoke.toml", "oasis_heldback_people.toml"):
        exp = load_experiment(EXPERIMENTS / name)
        for t in exp.tasks:
            assert t.ratings.is_file() and t.images.is_dir(), (name, t.name)
        assert exp.test.ratings.is_file()
    intra = load_experiment(EXPERIMENTS / "oasis_intra.toml")
    assert intra.test.shots == [10, 100] and intra.test.trials == 10 and intra.test.fold_column == "subset"
    assert {"generic", "probe", "probe-prior", "pa-iaa", "mt-iaa", "task-vectors", "tv-probe", "tv-zero", "tv-paper",
            "tv-uniform-init", "tv-bestfit-init", "tv-mse", "tv-layer-agnostic", "bestfit-ft", "crowd-oracle",
            "pa-iaa-trait-oracle"} == set(intra.methods)
    assert "photo-quality" in {t.name for t in intra.tasks}
    people = load_experiment(EXPERIMENTS / "oasis_heldback_people.toml")
    assert people.test.user_folds == 4 and people.test.folds is None and set(people.methods) == set(intra.methods)


@pytest.mark.shared_data
def test_held_back_people_protocol_through_the_cli(shared_data, tmp_path):
    """The smoke experiment turned into the held-back-people protocol: the fold's people vanish from the
    training tasks, their images do not."""
    text = (EXPERIMENTS / "smoke.toml").read_text()
    text = text.replace('folds = "../../shared/data/oasis/subsets.csv"\nfold_column = "subset"\n', "user_folds = 3\n")
    text = text.replace('only_folds = ["subset1"]', 'only_folds = ["people2"]').replace("../../shared", str(shared_data.parent))
    # the fold's people rated images of all four subsets: sample more images so each keeps >= 20 ratings
    text = text.replace("max_images = 40\n", "max_images = 100\n")
    text = text.replace('[test]\n', '[test]\nusers = "../../shared/data/oasis-beauty/users.csv"\n'.replace(
        "../../shared", str(shared_data.parent)))  # the trait oracle needs the test people's traits
    text = text.replace('methods = ["generic", "probe", "probe-prior", "crowd-oracle", "pa-iaa", "task-vectors"]',
                        'methods = ["generic", "probe", "crowd-oracle", "pa-iaa", "pa-iaa-trait-oracle"]')
    exp = tmp_path / "people.toml"
    exp.write_text(text)
    out = tmp_path / "people.json"
    assert main(["evaluate", str(exp), "--output", str(out), "--quiet"]) == 0
    res = json.loads(out.read_text())
    fold = res["experiment"]["folds"][0]
    assert fold["name"] == "people2" and res["experiment"]["test"]["user_folds"] == 3
    m = res["methods"]
    assert m["generic"]["0"]["n_people"] == 8 and m["pa-iaa"]["10"]["n_people"] == 8
    assert m["crowd-oracle"]["0"]["srocc_mean"] > 0.2 and -1 <= m["pa-iaa-trait-oracle"]["10"]["srocc_mean"] <= 1
