"""Bursts with a suggested pick (piaa.profiles.bursts): cull's grouping, the person's flags and stars win."""
from datetime import datetime, timedelta

import numpy as np
import pytest

from piaa.profiles.bursts import suggest


def _shoot():
    rng = np.random.default_rng(0)
    base = np.zeros((3, 64))                                   # three different scenes (disjoint channels)
    for k in range(3):
        base[k, 20 * k:20 * k + 20] = rng.uniform(0.5, 1, 20)
    rows = [base[0] + rng.normal(0, 0.01, 64) for _ in range(3)] + [base[1]] + \
           [base[2] + rng.normal(0, 0.01, 64) for _ in range(2)]
    t0 = datetime(2024, 6, 1, 10, 0, 0)
    times = [t0, t0 + timedelta(seconds=1), t0 + timedelta(seconds=2), t0 + timedelta(minutes=5),
             t0 + timedelta(minutes=9), None]
    return np.clip(np.array(rows), 0, None), times


def test_groups_and_the_best_score_is_suggested():
    X, times = _shoot()
    taste = np.array([1.0, 3.0, 2.0, 5.0, 1.0, 2.0])
    out = suggest(X, times, taste, None, [None] * 6, [None] * 6)
    assert [b.members for b in out] == [[0, 1, 2], [4, 5]]     # the lone scene is no burst
    assert out[0].pick == 1 and out[0].reason == "best score"
    assert out[1].pick == 5


def test_own_stars_beat_predictions_and_a_pick_flag_beats_stars():
    X, times = _shoot()
    taste = np.array([1.0, 3.0, 2.0, 5.0, 1.0, 2.0])
    stars = [None, 2.0, 4.0, None, None, None]
    out = suggest(X, times, taste, None, stars, [None] * 6)
    assert out[0].pick == 2 and "4" in out[0].reason
    out = suggest(X, times, taste, None, stars, ["pick", None, None, None, None, None])
    assert out[0].pick == 0 and out[0].reason == "your pick"


def test_a_rejected_photo_is_not_suggested_and_quality_counts():
    X, times = _shoot()
    taste = np.array([1.0, 3.0, 2.0, 5.0, 1.0, 2.0])
    out = suggest(X, times, taste, None, [None] * 6, [None, "reject", None, None, None, None])
    assert out[0].pick == 2
    quality = np.array([0.0, 0.0, 0.0, 0.0, 10.0, 0.0])         # technical quality decides the second group
    out = suggest(X, times, taste, quality, [None] * 6, [None] * 6)
    assert out[1].pick == 4


def test_mismatched_inputs_are_refused():
    from piaa.errors import InvalidParameterError

    X, times = _shoot()
    with pytest.raises(InvalidParameterError):
        suggest(X, times[:3], np.zeros(6), None, [None] * 6, [None] * 6)
