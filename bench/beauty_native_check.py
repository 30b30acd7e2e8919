"""Would the default beauty model gain from the native-resolution evidence? OASIS 4-fold GIAA + AVT-AI appeal.

    PYTHONPATH=src .venv/bin/python bench/beauty_native_check.py     (prints one JSON line per feature set)

Paired comparison with the default model's head options fixed (GenericHead, 3 heads, 256 components, 30
epochs; no per-fold selection, so the feature sets differ in nothing else): the 4-fold protocol of the model card
(train on three OASIS image subsets, test on the fourth), then a head fitted on all 900 OASIS images scores
AVT-AI (never trained on) against the crowd's image_appeal of study 1 and study 2. Feature sets: the whole image
(today's model), + native crops + BRISQUE statistics, + BRISQUE statistics only (the cheap one).
"""
from __future__ import annotations

import json
import sys


def main() -> int:
    import numpy as np
    import pandas as pd

    from piaa.bench.giaa import run_giaa_benchmark
    from piaa.detail.crops import NativeEvidence
    from piaa.detail.nss import N_FEATURES
    from piaa.metrics import srocc
    from piaa.models.giaa import GenericHead, distributions_from_ratings
    from piaa.paths import shared_data_dir
    from piaa.training.oasis import extract_features, load_oasis

    ds, images, subsets, paths = load_oasis(None)
    root = shared_data_dir() / "avt-ai"
    avt = sorted((root / "images").glob("*/*.jpg"))
    rel = [f"{p.parent.name}/{p.name}" for p in avt]
    truth = {}
    for study in (1, 2):
        r = pd.read_csv(root / f"ratings_study{study}.csv")
        m = r[r.rating_type == "image_appeal"].groupby("image")["rating"].mean()
        truth[study] = np.array([m.get(i, np.nan) for i in rel])

    def blocks(ps):
        whole = extract_features(ps, ["efficientnet_lite0"], "multilevel", progress=False)
        native = NativeEvidence("efficientnet_lite0", "multilevel").extract(list(ps)).features.astype(np.float64)
        return {"whole": whole, "whole+crops+nss": np.hstack([whole, native]),
                "whole+nss": np.hstack([whole, native[:, -N_FEATURES:]])}

    oasis, avt_x = blocks(paths), blocks(avt)
    D = distributions_from_ratings(ds, images)
    opts = {"n_models": 3, "components": 256, "epochs": 30}
    for name, X in oasis.items():
        rep = run_giaa_benchmark(features=X, grid=None, head_options=opts, progress=False)
        pred = GenericHead(ds.scale, seed=0, **opts).fit(X, D).predict(avt_x[name])
        res = {f"avt_study{s}_appeal": round(float(srocc(pred[np.isfinite(y)], y[np.isfinite(y)])), 4)
               for s, y in truth.items()}
        print(json.dumps({"features": name, "oasis_4fold_srocc": round(rep["summary"]["srocc"]["mean"], 4),
                          "oasis_srocc_std": round(rep["summary"]["srocc"]["std"], 4),
                          "folds": [round(f["srocc"], 4) for f in rep["folds"]], **res}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
