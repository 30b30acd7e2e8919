"""The fast pair search of culling finds the same groups as comparing every photo with every other."""
from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from piaa.profiles.core import embed
from piaa.profiles.cull import CullSettings, group_indices
from piaa.profiles.similar_pairs import copies, links, pairs_above, pairs_within


def _library(seed=0, n=300, d=400):
    """Non-negative pooled-feature-like rows: ``n`` distinct photos, near copies of some, exact copies of
    others, and a few photos taken seconds apart."""
    rng = np.random.default_rng(seed)
    base = rng.gamma(0.6, 1.0, (n, d))
    near = base[:60] * rng.uniform(0.85, 1.15, (60, d))
    X = np.concatenate([base, near, base[100:140], base[10:20]])
    t = np.where(rng.random(len(X)) < 0.6, rng.uniform(0, 900, len(X)), np.nan)
    return embed(X), t, X


def _components(n, pairs):
    parent = list(range(n))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j in pairs:
        a, b = find(i), find(j)
        if a != b:
            parent[max(a, b)] = min(a, b)
    return sorted(sorted(k for k in range(n) if find(k) == r) for r in {find(k) for k in range(n)})


def _brute(E, t, dup, burst, window):
    S = E @ E.T
    dt = np.abs(t[:, None] - t[None, :])
    return list(zip(*np.nonzero(np.triu((S >= dup) | ((S >= burst) & (dt <= window)), 1))))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_links_make_the_groups_of_comparing_every_pair(seed):
    E, t, _ = _library(seed)
    s = CullSettings()
    for dup, burst in [(s.duplicate_similarity, s.burst_similarity), (0.7, 0.6), (0.95, 0.95)]:
        brute = _brute(E, t, dup, burst, 3.0)
        fast = [(i, j) for i, j, _ in links(E, t, dup, burst, 3.0, block=64)]
        assert all(i < j for i, j in fast)
        assert _components(len(E), fast) == _components(len(E), brute)
        assert len(brute) > len(E) // 10          # the case is not trivial: many photos belong together


def test_pairs_above_is_exact_at_any_rank():
    E, _, _ = _library(3)
    S = E @ E.T
    want = set(zip(*np.nonzero(np.triu(S >= 0.8, 1))))
    for rank in (4, 32, 300):
        i, j, s = pairs_above(E, 0.8, block=50, rank=rank, sample=120)
        assert set(zip(i.tolist(), j.tolist())) == want
        np.testing.assert_allclose(s, S[i, j], atol=1e-5)        # float32 products, float64 at the threshold


def test_pairs_within_only_pairs_taken_close_together():
    E, _, _ = _library(4, n=80)
    t = np.r_[np.arange(len(E) - 3, dtype=float) * 10, [1.0, np.nan, 2.5]]
    i, j, _ = pairs_within(E, t, 3.0, -1.0)
    got = set(zip(i.tolist(), j.tolist()))
    want = {(a, b) for a in range(len(E)) for b in range(a + 1, len(E))
            if np.isfinite(t[a]) and np.isfinite(t[b]) and abs(t[a] - t[b]) <= 3.0}
    assert got == want and want


def test_copies_point_to_the_first_equal_row():
    X = np.array([[1.0, 2], [3, 4], [1, 2], [3, 4], [1, 2.0000001], [3, 4]])
    assert copies(X).tolist() == [0, 1, 0, 1, 4, 1]


def test_group_indices_uses_the_fast_search_and_keeps_capture_order():
    E, t, X = _library(5)
    times = [None if not np.isfinite(x) else datetime.fromtimestamp(x) for x in t]
    groups = group_indices(X, times)
    assert sorted(k for g in groups for k in g) == list(range(len(E)))
    s = CullSettings()
    brute = _components(len(E), _brute(E, t, s.duplicate_similarity, s.burst_similarity, s.burst_seconds))
    assert sorted(sorted(g) for g in groups) == brute
    for g in groups:                               # capture order inside a group, photos without a time last
        secs = [t[k] for k in g]
        timed = [x for x in secs if np.isfinite(x)]
        assert timed == sorted(timed) and all(np.isfinite(x) for x in secs[:len(timed)])
