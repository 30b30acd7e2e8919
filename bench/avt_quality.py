"""Quality models against AVT-AI study 2 crowd means (image_quality, image_appeal): evaluation only (prints JSON).

    PYTHONPATH=src .venv/bin/python bench/avt_quality.py [MODEL ...]   (default: piaa-quality-lite0 biq2021-quality-lite0)

AVT-AI never trains anything in piaa; it is the independent comparison with the IQA metrics of
``avt-ai/peer_iqa_scores.csv``. SROCC per criterion over the 145 images.
"""
from __future__ import annotations

import json
import sys


def main(argv=None) -> int:
    import numpy as np
    import pandas as pd

    from piaa import load_scorer
    from piaa.metrics import srocc
    from piaa.paths import shared_data_dir

    models = list(argv if argv is not None else sys.argv[1:]) or ["piaa-quality-lite0", "biq2021-quality-lite0"]
    root = shared_data_dir() / "avt-ai"
    r = pd.read_csv(root / "ratings_study2.csv")
    out = {}
    for crit in ("image_quality", "image_appeal"):
        m = r[r.rating_type == crit].groupby("image")["rating"].mean()
        keep = [i for i in m.index if (root / "images" / i).is_file()]
        paths = [root / "images" / i for i in keep]
        out[crit] = {"n": len(keep)}
        for model in models:
            pred = np.array([rec.get("score", np.nan) for rec in load_scorer(model).score(paths)], dtype=float)
            out[crit][model] = round(float(srocc(pred, m.loc[keep].to_numpy())), 4)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
