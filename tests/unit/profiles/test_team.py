"""A team's combined taste and per-photo agreement (piaa.profiles.team)."""
import numpy as np
import pytest

from piaa.profiles.team import combine, percentiles


def test_scales_do_not_matter_only_order():
    a = np.array([1.0, 2.0, 3.0, 4.0])
    P = percentiles(np.vstack([a, 10 * a + 7]))
    assert np.allclose(P[0], P[1]) and np.allclose(P[0], [0, 1 / 3, 2 / 3, 1])


def test_agreement_is_one_when_alike_and_zero_when_opposite():
    team, agree = combine(np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]))
    assert np.allclose(agree, 1.0) and list(np.argsort(-team)) == [2, 1, 0]
    team, agree = combine(np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]]))
    assert agree[0] == pytest.approx(0.0) and agree[1] == pytest.approx(1.0)
    assert team[0] == pytest.approx(0.5)


def test_a_member_without_a_score_on_a_photo_is_left_out_there():
    team, agree = combine(np.array([[1.0, 2.0, np.nan], [1.0, 3.0, 2.0]]))
    assert np.isfinite(team).all() and agree[2] == pytest.approx(1.0)
