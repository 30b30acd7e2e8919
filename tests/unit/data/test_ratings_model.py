import numpy as np

from piaa.data.ratings import Scale, soft_onehot


def test_soft_onehot_keeps_the_score_as_expectation():
    sc = Scale(1, 7, 7)
    scores = np.array([1.0, 3.25, 6.99, 7.0, 4.0])
    d = sc.soft_onehot(scores)
    assert d.shape == (5, 7)
    np.testing.assert_allclose(d.sum(axis=1), 1.0)
    np.testing.assert_allclose(d @ sc.values, scores)
    np.testing.assert_allclose(d[4], np.eye(7)[3])          # an integer score is a one-hot


def test_soft_onehot_clips_out_of_range_scores():
    d = soft_onehot([0.0, 12.0], 1.0, 10.0, 10)
    np.testing.assert_allclose(d[0], np.eye(10)[0])
    np.testing.assert_allclose(d[1], np.eye(10)[9])
