"""Does the guarded selector leave in-domain active learning alone? On OASIS pools (10 people of each
subset, 157 of the subset's 225 photos each, seeded), the shipped model and prior: how often the first 10 asked
photos equal plain uncertainty sampling's, and how often the guard switches to random after 10 answers.

    python bench/active_guard_check.py
"""
import numpy as np
import pandas as pd

from piaa.features import FeatureExtractor
from piaa.models.scorer import load_scorer
from piaa.paths import shared_data_dir
from piaa.personalize.active import ActiveSelector, sequential_order


def main() -> None:
    data = shared_data_dir()
    sub = pd.read_csv(data / "oasis" / "subsets.csv")
    r = pd.read_csv(data / "oasis-beauty" / "ratings.csv")
    ids = sorted(sub["image"])
    X = FeatureExtractor("efficientnet_lite0", "multilevel").extract([data / "oasis" / "images" / i for i in ids]).features
    g = load_scorer().score_features(X)
    row = {im: k for k, im in enumerate(ids)}
    rng = np.random.default_rng(0)
    same = fired = total = 0
    for s in sorted(sub["subset"].unique()):
        idx = np.array([row[i] for i in sub.loc[sub["subset"] == s, "image"]])
        for u in r[r["image"].isin(sub.loc[sub["subset"] == s, "image"])]["user"].unique()[:10]:
            pool = np.sort(rng.choice(idx, 157, replace=False))
            y = r[r["user"] == u].set_index("image")["rating"].reindex([ids[i] for i in pool]).to_numpy(float)
            a = sequential_order(ActiveSelector(X[pool], None, g[pool], strategy="guarded"), y, 25)
            b = sequential_order(ActiveSelector(X[pool], None, g[pool], strategy="uncertainty"), y, 25)
            total += 1
            same += int(list(a[:10]) == list(b[:10]))
            fired += int(list(a) != list(b))
    print(f"first 10 photos identical to uncertainty sampling: {same} of {total} people; "
          f"guard switched to random after 10 answers: {fired} of {total}")


if __name__ == "__main__":
    main()
