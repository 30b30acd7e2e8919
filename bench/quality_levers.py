"""Quality v2's other levers on the val parts only: head capacity, an ensemble with v1, per-database targets.

    PYTHONPATH=src .venv/bin/python bench/quality_levers.py > levers.json

Every head is fitted on the *train* parts of BIQ2021 and AGIQA-3K ``train.csv`` and scored on their *val* parts
(SROCC per database and their mean; the v2 recipe's is the baseline). Test parts and AVT-AI are not read. Prints
one JSON line per lever as it finishes, then the whole table.
"""
from __future__ import annotations

import json
import sys
import time


def main() -> int:
    import numpy as np

    from piaa.data.ratings import Scale
    from piaa.metrics import srocc
    from piaa.models.blend_head import BlendHead
    from piaa.models.giaa import GenericHead
    from piaa.training.quality_joint import DATABASES, _split_settings, load_joint
    from piaa.training.quality_model import MLP_OPTIONS, SCALE
    from piaa.training.quality_native import NATIVE, _rows, fit_blend, native_features

    B = ("efficientnet_lite0",)
    dbs, ys = load_joint(DATABASES, None, _split_settings(B))
    Xs, start = native_features(dbs, B, "multilevel", NATIVE)
    Xtr, ytr = _rows(Xs, ys, dbs, ["train"])
    sc = Scale(*SCALE)
    table: dict = {}

    def val(predict, name, t0):
        s = [float(srocc(predict(X[d.part == "val"]), y[d.part == "val"])) for X, y, d in zip(Xs, ys, dbs)]
        table[name] = {"biq2021": round(s[0], 4), "agiqa3k": round(s[1], 4), "mean": round(float(np.mean(s)), 4),
                       "fit_s": round(time.perf_counter() - t0, 1)}
        print(json.dumps({name: table[name]}), file=sys.stderr, flush=True)

    t = time.perf_counter()
    v2 = fit_blend(Xtr, ytr, start, 3000.0, 0.5)
    val(v2.predict, "v2 recipe (MLP 256 components + ridge a3000, weight 0.5)", t)
    t = time.perf_counter()
    v1 = GenericHead(sc, **{**MLP_OPTIONS, "seed": 0}).fit(Xtr[:, :start], sc.soft_onehot(ytr))
    val(lambda X: v1.predict(X[:, :start]), "v1 recipe (MLP on the whole image)", t)
    for w in (0.25, 0.5):
        val(lambda X, w=w: w * v1.predict(X[:, :start]) + (1 - w) * v2.predict(X), f"ensemble v1 {w:g} + v2",
            time.perf_counter())
    ridge = v2.heads[1]
    for opts, label in (({"components": 128}, "MLP 128 components"), ({"components": 512}, "MLP 512 components"),
                        ({"n_models": 3}, "MLP x3 seeds averaged")):
        t = time.perf_counter()
        mlp = GenericHead(sc, **{**MLP_OPTIONS, "seed": 0, **opts}).fit(Xtr, sc.soft_onehot(ytr))
        head = BlendHead([mlp, ridge], v2.columns, [0.5, 0.5])
        val(head.predict, f"{label} + ridge a3000, weight 0.5", t)
    # per-database standardised targets: z-scores per database on the train part, mapped to 0.5 + 0.15 z
    t = time.perf_counter()
    zs = []
    for d, y in zip(dbs, ys):
        m = d.part == "train"
        zs.append(np.clip(0.5 + 0.15 * (y - y[m].mean()) / y[m].std(), 0.0, 1.0))
    Xz, yz = _rows(Xs, zs, dbs, ["train"])
    head = fit_blend(Xz, yz, start, 3000.0, 0.5)
    val(head.predict, "targets standardised per database (0.5 + 0.15 z) + v2 recipe", t)
    print(json.dumps(table, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
