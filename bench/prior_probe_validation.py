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


def run(data_root: Path, val: str, train, people: int, trials: int, mixes, alphas, seed: int = 0) -> dict:
    from piaa.data import load_dataset
    from piaa.features import FeatureExtractor
    from piaa.metrics import srocc
    from piaa.models.giaa import GenericHead, distributions_from_ratings
    from piaa.personalize.prior_probe import PriorProbePersonalizer, TastePrior
    from piaa.personalize.probe import ProbePersonalizer

    ds = load_dataset("oasis-beauty", data_root / "oasis-beauty")
    train_imgs = [i for s in train for i in ds.splits[s]]
    val_imgs = list(ds.splits[val])
    fx = FeatureExtractor("efficientnet_lite0", "multilevel", progress=True)
    root = Path(ds.images_root)
    Xtr = np.asarray(fx.extract([root / i for i in train_imgs]).features, dtype=np.float64)
    Xva = np.asarray(fx.extract([root / i for i in val_imgs]).features, dtype=np.float64)
    from dataclasses import replace

    tr = replace(ds, ratings=ds.ratings[ds.ratings["image"].isin(set(train_imgs))].reset_index(drop=True))
    head = GenericHead(ds.scale, seed=seed).fit(Xtr, distributions_from_ratings(tr, train_imgs))
    gen = np.asarray(head.predict(Xva), dtype=float)
    if gen.ndim == 2:  # a distribution per image -> its mean score
        gen = gen @ np.asarray(ds.scale.values, dtype=float)
    row = {im: i for i, im in enumerate(train_imgs)}
    r = tr.ratings.assign(image=lambda d: d["image"].map(row))
    mean, sd = Xtr.mean(axis=0), Xtr.std(axis=0)
    priors = {a: TastePrior.fit(Xtr, r, alpha=a) for a in alphas}
    pos = {im: i for i, im in enumerate(val_imgs)}
    rng = np.random.default_rng(seed)
    users = list(rng.permutation(sorted(set(ds.ratings[ds.ratings["image"].isin(pos)]["user"])))[:people])
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
