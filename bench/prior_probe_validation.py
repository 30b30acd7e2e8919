"""Choosing the taste prior's settings on validation people only (no test fold used).

    nice python bench/prior_probe_validation.py --val subset2 --train subset3,subset4 --people 60 --out val2.json
    nice python bench/prior_probe_validation.py --val subset3 --train subset2,subset4 --people 60 --out val3.json

The generic model (GenericHead) and the taste prior are fitted on the training subsets' images and raters; the
validation subset's raters (other people, other images) are personalized with k = 10 / 100 of their ratings and
scored on the rest: the plain probe against the probe with the prior for each (mix, alpha). Subset1 (the test fold
of ``tuning`` runs) is never read.
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


def run(data_root: Path, val: str, train, people: int, trials: int, mixes, alphas, seed: int = 0) -> dict:
    from piaa.metrics import srocc
    from piaa.personalize.prior_probe import PriorProbePersonalizer, TastePrior
    from piaa.personalize.probe import ProbePersonalizer

    f = validation_fold(data_root, val, train, people, seed, progress=True)
    ds, val_imgs, Xtr, Xva, gen, users = f.ds, f.val_imgs, f.Xtr, f.Xva, f.gen, f.users
    mean, sd = Xtr.mean(axis=0), Xtr.std(axis=0)
    priors = {a: TastePrior.fit(Xtr, f.train_ratings, alpha=a) for a in alphas}
    pos = {im: i for i, im in enumerate(val_imgs)}
    names = ["generic", "probe"] + [f"prior mix {m} alpha {a}" for a in alphas for m in mixes]
    res = {n: {10: [], 100: []} for n in names}
    for u in users:
        mine = ds.ratings_of(u).reindex(val_imgs).dropna()
        idx = np.array([pos[i] for i in mine.index])
        y = mine.to_numpy(float)
        for k in (10, 100):
            for t in range(trials):
                perm = np.random.default_rng([seed, t, k, len(res["probe"][k])]).permutation(len(y))
                s, q = idx[perm[:k]], idx[perm[k:]]
                ys, yq = y[perm[:k]], y[perm[k:]]
                res["generic"][k].append(srocc(gen[q], yq))
                probe = ProbePersonalizer(feature_mean=mean, feature_scale=sd).fit(Xva[s], ys, offset=gen[s])
                res["probe"][k].append(srocc(probe.predict(Xva[q], offset=gen[q]), yq))
                for a in alphas:
                    for m in mixes:
                        est = PriorProbePersonalizer(prior=priors[a], mix=m).fit(Xva[s], ys, offset=gen[s])
                        res[f"prior mix {m} alpha {a}"][k].append(srocc(est.predict(Xva[q], offset=gen[q]), yq))
    return {"val": val, "train": list(train), "people": len(users), "trials": trials,
            "srocc": {n: {str(k): float(np.nanmean(v)) for k, v in d.items()} for n, d in res.items()}}


def main(argv=None) -> int:
    from piaa.models.pa_iaa.build import default_shared_data

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=default_shared_data())
    ap.add_argument("--val", default="subset2")
    ap.add_argument("--train", default="subset3,subset4")
    ap.add_argument("--people", type=int, default=60)
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--mixes", default="0.3,0.5,0.7")
    ap.add_argument("--alphas", default="0.3,1.0")
    ap.add_argument("--out", type=Path)
    a = ap.parse_args(argv)
    if "subset1" in a.train.split(",") or a.val == "subset1":
        print("note: subset1 is the test fold of the tuning runs; choose settings on the other subsets",
              file=sys.stderr)
    t0 = time.time()
    out = run(a.data, a.val, a.train.split(","), a.people, a.trials, [float(x) for x in a.mixes.split(",")],
              [float(x) for x in a.alphas.split(",")])
    out["seconds"] = round(time.time() - t0, 1)
    text = json.dumps(out, indent=1)
    print(text)
    if a.out:
        a.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
