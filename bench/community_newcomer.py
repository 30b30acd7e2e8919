"""A newcomer's first 10 ratings in a shared library, without HTTP: the service's library model against the
evaluated ``community`` method's, on the protocol of ``bench/community_serve.py``.

    python bench/community_newcomer.py --rotations 3 [--output RESULT.json]

AVT-AI study 1 (image_appeal as whole stars, 145 photos): per rotation 24 people with at least 40 ratings are
drawn (seeded), 20 teach the library model, 4 are newcomers. For each newcomer: SROCC of the model's scores
against their own ratings at zero ratings, then after 10 ratings — the 10 photos the service would suggest
(its active-learning selector, as ``GET /api/suggestions?n=10``) and, separately, 10 random photos of theirs
(mean of 5 draws) — on the photos they did not rate. Recipes:

* ``service-before``: the service's library model before this change (``fit_library_taste`` with the generic
  model's score as the content base, settings chosen once for 10 ratings), rebuilt here as it was;
* ``shared``: the one code path now used by both the service and ``piaa evaluate``'s ``community`` method
  (:class:`piaa.personalize.community.LibraryCommunity`: settings chosen per number of the person's ratings).

Every setting is chosen on the 20 teachers only (no newcomer's ratings are read before they are scored).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from community_serve import people_ratings, srocc  # noqa: E402


def features(paths):
    from piaa.profiles import core
    from piaa.profiles.generic import load_generic

    scorer = load_generic()
    X, errors = scorer.features([str(p) for p in paths])
    X = np.asarray(X, dtype=np.float64)
    g = np.asarray(scorer.score_features(X), dtype=float)
    return X, core.to_person_scale(g, scorer.score_range, core.STAR_SCALE)


def service_before(ids, X, g, teach):
    """The library model exactly as the service built it before (content on the generic score, one setting)."""
    from piaa.personalize.community import SettingsSearch, fit_community
    from piaa.profiles.library_taste import MIN_MEMBER_RATINGS

    row = {int(i): k for k, i in enumerate(ids)}
    r = pd.DataFrame([(str(u), row[int(i)], float(s)) for u, i, s in teach], columns=["user", "image", "score"])
    content = _content_on_generic(X, g, r, len(ids))
    model = fit_community(r, X, len(ids), content_scores=content, min_ratings=MIN_MEMBER_RATINGS)
    found = SettingsSearch(r, X, len(ids), min_ratings=15).best(10)
    settings = (3.0, 0.3) if found.get("srocc") is None else (found["noise"], found["content_weight"])
    m = model.with_settings(noise=settings[0], content_weight=settings[1])

    from piaa.personalize.community import LibraryCommunity

    greedy = LibraryCommunity.__new__(LibraryCommunity)      # the greedy choice over this model's kernel
    greedy.model, greedy.fixed, greedy._models = m, {"noise": m.noise, "content_weight": m.content_weight}, {}
    return (lambda rows, stars, query: m.predict(rows, stars, query)), (lambda pool, n: greedy.suggest([], pool, n))


def _content_on_generic(X: np.ndarray, g: np.ndarray, r: pd.DataFrame, n: int) -> np.ndarray:
    """The generic score (the default training data's view), calibrated to the members' means and corrected
    by a ridge head on the features fitted to what it gets wrong (strength by leave-one-out over photos)."""
    from piaa.personalize.community import content_head

    means = r.groupby("image")["score"].mean()
    counts = np.bincount(r["image"].to_numpy(), minlength=n).astype(float)
    mean = np.full(n, np.nan)
    mean[means.index.to_numpy()] = means.to_numpy()
    rated = counts > 0
    gg = np.where(np.isfinite(g), g, np.nanmean(g) if np.isfinite(g).any() else 0.0)
    if rated.sum() >= 3 and np.ptp(gg[rated]) > 0:
        b, a = np.polyfit(gg[rated], mean[rated], 1)
    else:
        b, a = 1.0, 0.0
    calibrated = a + b * gg
    resid = content_head(mean - calibrated, counts, X, None)
    return calibrated + np.where(np.isfinite(resid), resid, 0.0)


def shared(ids, X, g, teach):
    from piaa.profiles.library_taste import fit_library_taste

    lt = fit_library_taste(ids, X, teach)
    return (lambda rows, stars, query: lt.community.predict(rows, stars, query)), \
        (lambda pool, n: lt.community.suggest([], pool, n))


def rotation(r, names, X, g, seed: int):
    users = sorted(r["user"].unique(), key=str)
    rng = np.random.default_rng(seed)
    full = [u for u in users if (r["user"] == u).sum() >= 40]
    pick = list(rng.choice(full, 24, replace=False))
    teachers, newcomers = pick[:20], pick[20:]
    ids = np.arange(len(names))
    idx = {n: k for k, n in enumerate(names)}
    teach = [(u, idx[i], s) for u, i, s in r[r["user"].isin(teachers)][["user", "image", "stars"]].itertuples(
        index=False)]
    from piaa.personalize.active import ActiveSelector

    order = [int(k) for k in ActiveSelector(X, None, g).select([], None, len(X))]   # the service's suggestions

    def selector(pool, n):
        mine = set(int(p) for p in pool)
        return [k for k in order if k in mine][:n]

    out = {}
    for name, recipe in (("service-before", service_before), ("shared", shared)):
        predict, greedy = recipe(ids, X, g, teach)
        res = {"zero": [], "selector10": [], "greedy10": [], "random10": []}
        for u in newcomers:
            mine = r[r["user"] == u]
            rows = np.array([idx[i] for i in mine["image"]])
            y = mine["stars"].to_numpy(float)
            res["zero"].append(srocc(predict([], [], rows), y))
            for step, chooser in (("selector10", selector), ("greedy10", greedy)):
                picked = set(int(k) for k in chooser(rows, 10))
                have = [k for k, rw in enumerate(rows) if int(rw) in picked]
                q = np.setdiff1d(np.arange(len(rows)), have)
                res[step].append(srocc(predict(rows[have], y[have], rows[q]), y[q]))
            draws = []
            rr = np.random.default_rng([seed, int(u) if str(u).isdigit() else 0])
            for _ in range(5):
                s = rr.choice(len(rows), 10, replace=False)
                q = np.setdiff1d(np.arange(len(rows)), s)
                draws.append(srocc(predict(rows[s], y[s], rows[q]), y[q]))
            res["random10"].append(float(np.mean(draws)))
        out[name] = res
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rotations", type=int, default=3)
    ap.add_argument("--output", type=Path, default=None)
    args = ap.parse_args(argv)
    r, root = people_ratings("avt")
    names = sorted(r["image"].unique())
    t0 = time.perf_counter()
    X, g = features([root / n for n in names])
    runs = [rotation(r, names, X, g, k) for k in range(args.rotations)]
    summary = {recipe: {step: round(float(np.mean([x for run in runs for x in run[recipe][step]])), 3)
                        for step in ("zero", "selector10", "greedy10", "random10")} for recipe in runs[0]}
    res = {"data": "avt-ai study 1 image_appeal", "photos": len(names), "rotations": args.rotations,
           "newcomers": 4 * args.rotations, "summary": summary, "seconds": round(time.perf_counter() - t0, 1),
           "date": time.strftime("%Y-%m-%d"), "per_rotation": runs}
    print(json.dumps({k: v for k, v in res.items() if k != "per_rotation"}, indent=1))
    if args.output:
        args.output.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
