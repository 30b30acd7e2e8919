"""One ranking order for piaa: ``best_first`` (``piaa rank`` and the web app's library use it)."""
from __future__ import annotations

import numpy as np

from piaa.profiles.ranking import best_first, rank_records


def test_best_first_by_score_then_tie_then_name_then_position():
    score = [3.0, 5.0, 5.0, 5.0, np.nan, 4.0, 5.0]
    tie = [0.0, 4.1, 4.6, 4.1, 9.0, 1.0, 4.1]
    names = ["a", "z", "m", "b", "c", "d", "b"]
    assert best_first(score, tie=tie, names=names).tolist() == [2, 3, 6, 1, 5, 0, 4]
    assert best_first(score).tolist() == [1, 2, 3, 6, 5, 0, 4]
    assert best_first(score, higher_better=False).tolist() == [0, 5, 1, 2, 3, 6, 4]
    assert best_first([]).tolist() == []


def test_rank_records_uses_the_same_order():
    recs = rank_records(["b.jpg", "a.jpg", "c.jpg", "d.jpg"], [2.0, 2.0, 3.0, np.nan])
    assert [r["path"] for r in recs] == ["c.jpg", "a.jpg", "b.jpg", "d.jpg"]
    assert [r["rank"] for r in recs] == [1, 2, 3, None]
