"""METHOD@active and [test] query_fraction in the runner: shared queries, selector blind to unasked ratings."""
import numpy as np
import pytest

from piaa.evaluation.experiment import ExperimentError, load_experiment
from piaa.evaluation.methods import registry
from piaa.evaluation.methods.base import Method
from piaa.evaluation.protocol import draw_query, split_query
from piaa.evaluation.runner import RunOptions, run_experiment
from test_evaluation_fixtures import FakeFeatures, write_experiment

SEEN = []


class SpyLearner(Method):
    name = "spy-learner"

    def personalize(self, support, support_scores, query):
        SEEN.append((self.fold.fold, [str(p) for p in support], [str(p) for p in query], list(support_scores)))
        return self.fold.features.get(query)[:, 0]


@pytest.fixture(autouse=True)
def spy():
    SEEN.clear()
    registry.register_method(SpyLearner)
    yield
    registry.METHODS.unregister(SpyLearner.name)


def _run(tmp_path, methods, extra="", **test):
    exp = load_experiment(write_experiment(tmp_path, methods=methods, extra=extra))
    test.setdefault("only_folds", ["f1", "f2"])   # two folds keep it quick
    for k, v in test.items():
        setattr(exp.test, k, v)
    return exp, run_experiment(exp, RunOptions(workdir=tmp_path / "work", features=FakeFeatures(), progress=False))


def test_query_is_drawn_first_and_shared_by_every_k():
    n = 40
    q = draw_query(0, "f1", "u", 2, n, 0.3)
    assert len(q) == 12
    for k in (3, 10, 28):
        idx, mask = split_query(0, "f1", "u", 2, k, n, 0.3)
        assert np.array_equal(np.flatnonzero(mask), q)
        assert len(idx) == k and not set(idx) & set(q)
    # without query_fraction: the original protocol (query = the images outside the support)
    idx, mask = split_query(0, "f1", "u", 2, 5, n, None)
    assert mask.sum() == n - 5 and not mask[idx].any()


def test_method_and_method_at_active_share_queries(tmp_path):
    exp, res = _run(tmp_path, ["spy-learner", "spy-learner@active"], query_fraction=0.3)
    assert set(res["methods"]) == {"spy-learner", "spy-learner@active"}
    n = len(SEEN) // 2
    folds = sorted({s[0] for s in SEEN})
    plain = [s for f in folds for s in [x for x in SEEN if x[0] == f][:n // len(folds)]]   # fold-outer,
    active = [s for f in folds for s in [x for x in SEEN if x[0] == f][n // len(folds):]]  # method-inner
    assert [s[2] for s in plain] == [s[2] for s in active]            # same query images, same order
    assert [s[1] for s in plain] != [s[1] for s in active]            # different supports
    for _fold, support, query, _ in SEEN:
        assert not set(support) & set(query)
    for k in ("3", "5"):
        assert res["methods"]["spy-learner"][k]["n_people"] == res["methods"]["spy-learner@active"][k]["n_people"]


def test_active_supports_are_nested_across_k(tmp_path):
    _run(tmp_path, ["spy-learner@active"], query_fraction=0.3)
    by = {}
    for fold, support, query, _ in SEEN:
        by.setdefault((fold, tuple(query)), []).append(set(support))
    assert by
    for sets in by.values():
        if len({len(x) for x in sets}) < len(sets):   # two (person, trial)s drew the same query: not one sequence
            continue
        sets = sorted(sets, key=len)
        assert all(a <= b for a, b in zip(sets, sets[1:]))


def test_selector_never_sees_ratings_it_did_not_ask_for(tmp_path, monkeypatch):
    import piaa.personalize.active as active

    asked_scores = []
    real = active.ActiveSelector.select

    def spy(self, rated=(), scores=None, n=10, exclude=None):
        asked_scores.append((list(rated), None if scores is None else list(scores)))
        return real(self, rated, scores, n, exclude)

    monkeypatch.setattr(active.ActiveSelector, "select", spy)
    _run(tmp_path, ["spy-learner@active"], extra='\n[methods."spy-learner@active"]\nbatch = 2\n', query_fraction=0.3)
    assert asked_scores
    assert asked_scores[0] == ([], None)                   # cold start: no ratings at all
    assert all(len(s) == len(r) for r, s in asked_scores if s is not None)


def test_active_sets_the_default_query_fraction(tmp_path):
    exp, res = _run(tmp_path, ["spy-learner", "spy-learner@active"])
    assert exp.test.query_fraction == 0.3
    assert any("query_fraction" in w for w in res["experiment"]["warnings"])


def test_bad_active_names_and_query_fraction(tmp_path):
    with pytest.raises(ExperimentError, match="unknown method"):
        _run(tmp_path, ["crowd-oracle@active"])          # zero-shot: nothing to choose
    p = write_experiment(tmp_path, methods=["spy-learner"])
    p.write_text(p.read_text().replace("min_ratings = 5", "min_ratings = 5\nquery_fraction = 1.5"))
    with pytest.raises(ExperimentError, match="query_fraction"):
        load_experiment(p)
    with pytest.raises(ExperimentError, match="unknown strategy"):
        _run(tmp_path, ["spy-learner@active"], extra='\n[methods."spy-learner@active"]\nstrategy = "magic"\n')


def test_shipped_active_experiment_files_parse():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "experiments"
    for f in sorted(root.glob("active_*.toml")):
        exp = load_experiment(f)
        assert exp.test.query_fraction == 0.3 and "probe-prior@active" in exp.methods, f.name
