"""Choosing the active selector's strategy and settings on validation people only (no test fold used).

    nice python bench/active_validation.py --val subset2 --train subset3,subset4 --people 40 --out act2.json
    nice python bench/active_validation.py --val subset3 --train subset2,subset4 --people 40 --out act3.json

As bench/prior_probe_validation.py: the generic model and the taste prior are fitted on the training subsets'
images and raters; each validation person (other people, other images) holds out a seeded 30 % of their ratings as
the query, and probe-prior is fitted on k photos of the rest chosen at random or by a selector strategy (in batches
of ``--batch``; the selector sees only the features of the pool and the ratings it asked for). Subset1 (the test
fold of the tuning runs) is never read. Each variant is ``strategy`` or ``strategy:key=value,key=value``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from oasis_validation import validation_fold  # noqa: E402


def parse_variant(text: str):
    name, _, rest = text.partition(":")
    settings = {}
    for kv in filter(None, rest.split(",")):
        k, _, v = kv.partition("=")
        settings[k] = float(v)
    return name, settings


def run(data_root: Path, val: str, train, people: int, trials: int, variants, shots, batch: int,
        query_fraction: float = 0.3, seed: int = 0) -> dict:
    from piaa.data.sources import stable_hash
    from piaa.metrics import srocc
    from piaa.personalize.active import ActiveSelector, sequential_order
    from piaa.personalize.prior_probe import PriorProbePersonalizer, TastePrior

    f = validation_fold(data_root, val, train, people, seed)
    ds, val_imgs, Xtr, Xva, gen, users = f.ds, f.val_imgs, f.Xtr, f.Xva, f.gen, f.users
    prior = TastePrior.fit(Xtr, f.train_ratings)
    pos = {im: i for i, im in enumerate(val_imgs)}
    names = ["generic", "random"] + variants
    res = {n: {k: [] for k in shots} for n in names}
    for u in users:
        mine = ds.ratings_of(u).reindex(val_imgs).dropna()
        idx = np.array([pos[i] for i in mine.index])
        y = mine.to_numpy(float)
        for t in range(trials):
            perm = np.random.default_rng([seed, t, stable_hash("user", u)]).permutation(len(y))
            nq = int(round(query_fraction * len(y)))
            q, pool = perm[:nq], perm[nq:]
            Xp, gp = Xva[idx[pool]], gen[idx[pool]]
            orders = {}
            for v in variants:
                name, settings = parse_variant(v)
                sel = ActiveSelector(Xp, prior, gp, strategy=name, seed=t, **settings)
                orders[v] = sequential_order(sel, y[pool], max(shots), batch)
            for k in shots:
                if k > len(pool):
                    continue
                res["generic"][k].append(srocc(gen[idx[q]], y[q]))
                choices = {"random": np.random.default_rng([seed, t, k]).choice(len(pool), k, replace=False)}
                choices.update({v: orders[v][:k] for v in variants})
                for name, s in choices.items():
                    est = PriorProbePersonalizer(prior=prior).fit(Xp[s], y[pool][s], offset=gp[s])
                    res[name][k].append(srocc(est.predict(Xva[idx[q]], offset=gen[idx[q]]), y[q]))
    return {"val": val, "train": list(train), "people": len(users), "trials": trials, "batch": batch,
            "srocc": {n: {str(k): round(float(np.nanmean(v)), 4) for k, v in d.items() if v} for n, d in res.items()}}


def main(argv=None) -> int:
    from piaa.models.pa_iaa.build import default_shared_data

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=default_shared_data())
    ap.add_argument("--val", default="subset2")
    ap.add_argument("--train", default="subset3,subset4")
    ap.add_argument("--people", type=int, default=40)
    ap.add_argument("--trials", type=int, default=2)
    ap.add_argument("--shots", default="5,10,25,50,100")
    ap.add_argument("--batch", type=int, default=5)
    ap.add_argument("--variants", default="representative;variance;uncertainty;kcenter;quantile")
    ap.add_argument("--out", type=Path)
    a = ap.parse_args(argv)
    if "subset1" in a.train.split(",") or a.val == "subset1":
        print("note: subset1 is the test fold of the tuning runs; choose settings on the other subsets",
              file=sys.stderr)
    t0 = time.time()
    out = run(a.data, a.val, a.train.split(","), a.people, a.trials, a.variants.split(";"),
              [int(k) for k in a.shots.split(",")], a.batch)
    out["seconds"] = round(time.time() - t0, 1)
    text = json.dumps(out, indent=1)
    print(text)
    if a.out:
        a.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
