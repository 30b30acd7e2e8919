"""piaa.metrics checked against scipy / direct numpy references."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats

from piaa.metrics import (
    binary_accuracy,
    distribution_mean,
    distribution_std,
    emd,
    emd_rows,
    mse,
    plcc,
    rankdata,
    srocc,
)


def _cases():
    rng = np.random.default_rng(123)
    out = []
    for n in [2, 3, 5, 17, 100, 1000]:
        out.append((rng.normal(size=n), rng.normal(size=n)))
        # heavy ties: Likert-like integers
        out.append((rng.integers(1, 6, n).astype(float), rng.integers(1, 8, n).astype(float)))
        # correlated, one side tied
        x = rng.normal(size=n)
        out.append((x, np.round(x + 0.5 * rng.normal(size=n))))
    out.append((np.arange(10.0), np.arange(10.0) ** 3))  # monotone -> srocc 1
    out.append((np.arange(10.0), -np.arange(10.0)))
    return out


@pytest.mark.parametrize("a,b", _cases())
def test_srocc_matches_scipy(a, b):
    ref = stats.spearmanr(a, b).statistic
    assert srocc(a, b) == pytest.approx(ref, abs=1e-12)


@pytest.mark.parametrize("a,b", _cases())
def test_plcc_matches_scipy(a, b):
    ref = stats.pearsonr(a, b).statistic
    assert plcc(a, b) == pytest.approx(ref, abs=1e-12)


def test_rankdata_matches_scipy():
    rng = np.random.default_rng(0)
    for _ in range(20):
        x = rng.integers(0, 5, rng.integers(1, 40)).astype(float)
        np.testing.assert_allclose(rankdata(x), stats.rankdata(x, method="average"))
    assert rankdata([]).size == 0
    np.testing.assert_allclose(rankdata([3, 1, 3, 2]), [3.5, 1, 3.5, 2])


def test_srocc_known_values():
    assert srocc([1, 2, 3, 4], [10, 20, 30, 1000]) == pytest.approx(1.0)
    assert srocc([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)


@pytest.mark.parametrize("fn", [srocc, plcc])
def test_degenerate_cases_are_nan_without_warnings(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isnan(fn([1, 2, 3], [5, 5, 5]))
        assert math.isnan(fn([0.1] * 7, np.arange(7)))
        assert math.isnan(fn([1.0], [2.0]))
        assert math.isnan(fn([], []))
        assert math.isnan(fn([1, np.nan, 3], [1, 2, 3]))
    assert fn([1, np.nan, 3, 4], [2, 2, 6, 8], nan_policy="omit") == pytest.approx(1.0)
    assert math.isnan(fn([1, np.nan, 3], [np.nan, 2, 3], nan_policy="omit"))  # one pair left


@pytest.mark.parametrize("fn", [srocc, plcc])
def test_correlation_input_validation(fn):
    with pytest.raises(ValueError):
        fn([1, 2, 3], [1, 2])
    with pytest.raises(ValueError):
        fn([1, 2], [1, 2], nan_policy="raise")
    a = np.array([3.0, 1.0, 2.0])
    fn(a, np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(a, [3.0, 1.0, 2.0])  # input untouched


def test_binary_accuracy_convention():
    # >= threshold is positive on both sides
    assert binary_accuracy([5.0, 4.99], [5.0, 4.0], threshold=5) == 1.0
    assert binary_accuracy([5.0, 4.99], [4.99, 5.0], threshold=5) == 0.0
    assert binary_accuracy([1, 6, 7, 3], [2, 7, 3, 6], threshold=4) == 0.5
    assert math.isnan(binary_accuracy([], [], threshold=5))
    with pytest.raises(ValueError):
        binary_accuracy([1, 2], [1], threshold=1)


def _emd_reference(p, q, r):
    p = np.atleast_2d(np.asarray(p, float))
    q = np.atleast_2d(np.asarray(q, float))
    vals = []
    for pi, qi in zip(p, q):
        pi, qi = pi / pi.sum(), qi / qi.sum()
        cp = cq = 0.0
        acc = 0.0
        for k in range(len(pi)):
            cp += pi[k]
            cq += qi[k]
            acc += abs(cp - cq) ** r
        vals.append((acc / len(pi)) ** (1 / r))
    return float(np.mean(vals))


def test_emd_known_values():
    assert emd([1, 0], [0, 1]) == pytest.approx(math.sqrt(0.5))
    assert emd([1, 0], [0, 1], r=1) == pytest.approx(0.5)
    assert emd([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]) == 0.0
    # rows averaged
    assert emd([[1, 0], [0.5, 0.5]], [[0, 1], [0.5, 0.5]]) == pytest.approx(math.sqrt(0.5) / 2)
    # vote counts are normalised
    assert emd([2, 0, 2], [1, 0, 1]) == pytest.approx(0.0)


@pytest.mark.parametrize("r", [1, 2, 3])
def test_emd_matches_reference(r):
    rng = np.random.default_rng(r)
    for rows, n in [(1, 10), (8, 10), (5, 5), (3, 7)]:
        p = rng.dirichlet(np.ones(n), size=rows)
        q = rng.dirichlet(np.ones(n), size=rows)
        assert emd(p, q, r=r) == pytest.approx(_emd_reference(p, q, r), abs=1e-12)
        np.testing.assert_allclose(emd_rows(p, q, r=r).mean(), _emd_reference(p, q, r), atol=1e-12)
    # single distributions (1-D)
    p, q = rng.dirichlet(np.ones(10)), rng.dirichlet(np.ones(10))
    assert emd(p, q, r=r) == pytest.approx(_emd_reference(p, q, r), abs=1e-12)


def test_emd_validation():
    with pytest.raises(ValueError):
        emd([[0.5, 0.5]], [[0.2, 0.3, 0.5]])
    with pytest.raises(ValueError):
        emd([0, 0], [0.5, 0.5])
    with pytest.raises(ValueError):
        emd([-0.1, 1.1], [0.5, 0.5])
    with pytest.raises(ValueError):
        emd([0.5, 0.5], [0.5, 0.5], r=0)


def test_mse():
    assert mse([1, 2, 3], [1, 2, 5]) == pytest.approx(4 / 3)
    assert mse([[0.5, 0.5]], [[1.0, 0.0]]) == pytest.approx(0.25)
    assert math.isnan(mse([], []))
    with pytest.raises(ValueError):
        mse([1, 2], [1, 2, 3])


def test_distribution_mean_and_std():
    values = np.arange(1, 11)
    p = np.zeros(10)
    p[4] = 1.0
    assert distribution_mean(p, values) == pytest.approx(5.0)
    assert distribution_std(p, values) == pytest.approx(0.0)
    assert distribution_mean([1, 1], [1, 5]) == pytest.approx(3.0)  # counts normalised
    assert distribution_std([1, 1], [1, 5]) == pytest.approx(2.0)
    rng = np.random.default_rng(5)
    P = rng.dirichlet(np.ones(7), size=4)
    v = np.linspace(1, 7, 7)
    np.testing.assert_allclose(distribution_mean(P, v), P @ v)
    np.testing.assert_allclose(
        distribution_std(P, v), np.sqrt((P * (v - (P @ v)[:, None]) ** 2).sum(1))
    )
    with pytest.raises(ValueError):
        distribution_mean([0.5, 0.5], [1, 2, 3])
