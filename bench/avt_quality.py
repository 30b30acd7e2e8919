"""piaa's models against the six peer IQA metrics on AVT-AI crowd means: evaluation only (prints JSON).

    PYTHONPATH=src .venv/bin/python bench/avt_quality.py [MODEL ...]
        (default: quality piaa-quality-lite0 biq2021-quality-lite0 beauty)

AVT-AI never trains anything in piaa and never chooses a setting; it is the independent comparison with the
metrics of ``avt-ai/peer_iqa_scores.csv`` (BRISQUE, NIQE, ILNIQE: lower = better, so their sign is flipped).
Criteria: study 1 image_appeal, study 2 image_appeal and image_quality (crowd mean per image). For every model
and peer: SROCC over all images with a crowd mean, and the mean SROCC within each generator (the real photos of
``own/`` included as one group).
"""
from __future__ import annotations

import json
import sys

LOWER_BETTER = {"BRISQUE", "NIQE", "ILNIQE"}
CRITERIA = (("study1", "image_appeal"), ("study2", "image_appeal"), ("study2", "image_quality"))


def agreement(pred, truth, groups) -> dict:
    """{"all": SROCC over every image, "within_generator": mean SROCC inside each group}."""
    import numpy as np

    from piaa.metrics import srocc

    pred, truth, groups = np.asarray(pred, float), np.asarray(truth, float), np.asarray(groups)
    ok = np.isfinite(pred) & np.isfinite(truth)
    within = [srocc(pred[ok & (groups == g)], truth[ok & (groups == g)]) for g in sorted(set(groups[ok].tolist()))]
    return {"all": round(float(srocc(pred[ok], truth[ok])), 4), "within_generator": round(float(np.mean(within)), 4)}


def main(argv=None) -> int:
    import numpy as np
    import pandas as pd

    from piaa import load_scorer
    from piaa.paths import shared_data_dir

    models = list(argv if argv is not None else sys.argv[1:]) or ["quality", "piaa-quality-lite0",
                                                                   "biq2021-quality-lite0", "beauty"]
    root = shared_data_dir() / "avt-ai"
    images = sorted(f"{p.parent.name}/{p.name}" for p in (root / "images").glob("*/*.jpg"))
    groups = [i.split("/")[0] for i in images]
    scores = {}
    for model in models:
        recs = load_scorer(model).score([root / "images" / i for i in images])
        scores[model] = [r.get("score", np.nan) for r in recs]
    peers = pd.read_csv(root / "peer_iqa_scores.csv")
    peers["image"] = peers["model"] + "/" + peers["img_id"].str.replace(".png", ".jpg", regex=False)
    for metric, t in peers.groupby("metric"):
        s = t.set_index("image")["quality_score"]
        sign = -1.0 if metric in LOWER_BETTER else 1.0
        scores[f"peer:{metric}"] = [sign * s.get(i, np.nan) for i in images]
    out: dict = {"n_images": len(images), "models": models}
    for study, crit in CRITERIA:
        r = pd.read_csv(root / f"ratings_{study}.csv")
        m = r[r.rating_type == crit].groupby("image")["rating"].mean()
        truth = [m.get(i, np.nan) for i in images]
        out[f"{study}_{crit}"] = {name: agreement(s, truth, groups) for name, s in scores.items()}
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
