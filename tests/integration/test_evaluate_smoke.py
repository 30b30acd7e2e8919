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
    for name in ("pa-iaa", "task-vectors"):  # teammates' methods, when registered
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

    for name in ("oasis_intra.toml", "oasis_to_avt.toml", "smoke.toml"):
        exp = load_experiment(EXPERIMENTS / name)
        for t in exp.tasks:
            assert t.ratings.is_file() and t.images.is_dir(), (name, t.name)
        assert exp.test.ratings.is_file()
    intra = load_experiment(EXPERIMENTS / "oasis_intra.toml")
    assert intra.test.shots == [10, 100] and intra.test.trials == 10 and intra.test.fold_column == "subset"
    assert {"generic", "probe", "pa-iaa", "mt-iaa", "task-vectors", "tv-uniform-init", "tv-bestfit-init", "tv-mse",
            "tv-layer-agnostic", "bestfit-ft", "crowd-oracle"} == set(intra.methods)
