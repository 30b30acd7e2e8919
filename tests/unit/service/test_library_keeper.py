"""When the service's library model is refitted (piaa.service.community.LibraryModelKeeper), on fakes."""
import numpy as np

from piaa.service import community, queries


class FakeLibrary:
    ready = True
    score_range = (1.0, 7.0)

    def __init__(self, n=12):
        rng = np.random.default_rng(0)
        self.mat = (np.arange(1, n + 1), rng.normal(size=(n, 6)), rng.uniform(2, 6, n))

    def matrix(self):
        return self.mat


def _keeper(monkeypatch, ratings):
    state = {"ratings": list(ratings)}
    monkeypatch.setattr(queries, "shared_version", lambda db: (len(state["ratings"]), 0, ""))
    monkeypatch.setattr(queries, "shared_ratings", lambda db: list(state["ratings"]))
    return community.LibraryModelKeeper(None, FakeLibrary(), poll=0.01, quiet=60.0, max_stale=600.0), state


def test_a_ranking_right_after_the_first_ratings_refits_at_once(monkeypatch):
    """Regression: a refit moments earlier (one member, no model) made the next ranking wait for the poll."""
    k, state = _keeper(monkeypatch, [("a", i, 1 + i % 5) for i in range(1, 13)])
    k.ensure_fresh()
    assert k.model is None                                      # one member: no library model
    state["ratings"] += [("b", i, 1 + (i * 3) % 5) for i in range(1, 13)]
    k.ensure_fresh()                                            # within `quiet`, but there is no model yet
    assert k.model is not None and k.model.people == 2
    n = k.refits
    k.ensure_fresh()                                            # nothing changed: no refit
    assert k.refits == n


def test_off_means_no_model(monkeypatch):
    k, _ = _keeper(monkeypatch, [(u, i, 3) for u in "ab" for i in range(1, 13)])
    k.enabled = False
    k.ensure_fresh()
    assert k.model is None and k.refits == 0
