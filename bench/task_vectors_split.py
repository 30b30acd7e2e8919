"""Split-point study (docs/design.md §1C): accuracy and time per person for task banks split at different layers.

Zero-shot accuracy of the fine-tuned 'all' task model is measured on every validation person; personalization
(accuracy and seconds per person-trial) on ``--people`` of them, because below the top it costs seconds per step.

    nice python bench/task_vectors_split.py --splits 18,17,16 --people 3 --out split.json

Training-fold-only validation (see task_vectors_common.py): outer test subset untouched, tasks trained on two
training subsets, people = raters of the third. Below-split activations come from the feature cache
(``trunk{K}`` fp16, ``pooled`` for K = 18); the personalizer runs only layers above the split.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import task_vectors_common as C  # noqa: E402

from piaa.metrics import srocc  # noqa: E402
from piaa.models.task_vectors import TaskModelSpec  # noqa: E402
from piaa.models.task_vectors.build import build_bank  # noqa: E402
from piaa.models.task_vectors.engine import predict_scores  # noqa: E402
from piaa.models.task_vectors.train import TrainConfig  # noqa: E402
from piaa.personalize.task_vectors import TaskVectorPersonalizer  # noqa: E402

TASKS3 = {"all": None, "women": C.POPULATIONS["women"], "men": C.POPULATIONS["men"]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--outer", default="subset1")
    ap.add_argument("--val", default="subset2")
    ap.add_argument("--splits", default="18,17")
    ap.add_argument("--people", type=int, default=3, help="people personalized per split (zero-shot uses all)")
    ap.add_argument("--trials", type=int, default=1)
    ap.add_argument("--top-epochs", type=int, default=2)
    ap.add_argument("--score-images", type=int, default=1000, help="images scored to time scoring")
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)
    beauty, norms, train_images, prior = C.validation_setup(a.outer, a.val)
    users = C.people_of(beauty, a.val, a.people)
    rows = []
    for split in [int(s) for s in a.splits.split(",")]:
        spec = TaskModelSpec(split=split)
        t0 = time.perf_counter()
        feats = C.FeatureTable(spec)
        feat_s = time.perf_counter() - t0
        tasks = C.fold_tasks(beauty, norms, train_images, populations=TASKS3)
        t0 = time.perf_counter()
        bank = build_bank(spec, tasks, feats.paths_fn, TrainConfig(top_epochs=a.top_epochs), progress=True,
                          prior_ratings=prior)
        build_s = time.perf_counter() - t0
        k_all = bank.task_names.index("beauty:all")
        onehot = np.zeros(bank.num_tasks)
        onehot[k_all] = 1
        # zero-shot 'all' task model on every validation person (one forward over the validation images)
        val_images = beauty.splits[a.val]
        zs_scores = dict(zip(val_images, predict_scores(bank, feats(val_images), onehot, np.linspace(1, 7, 10))))
        per = []
        for u in beauty.splits[f"raters_{a.val}"]:
            r = beauty.ratings_of(u)
            per.append(srocc(np.array([zs_scores[i] for i in r.index]), r.to_numpy(float)))
        zs = {"people": len(per), "srocc": float(np.nanmean(per))}
        print(f"split {split} zero-shot beauty:all on {len(per)} people: {zs['srocc']:.4f}", file=sys.stderr)

        def run(Xs, ys, Xq, bank=bank):
            return TaskVectorPersonalizer(bank=bank, scale=(1, 7)).fit(Xs, ys).predict(Xq)

        tv = C.evaluate(run, feats, beauty, users, n_trials=a.trials, label=f"split {split} task-vectors")
        est = TaskVectorPersonalizer(bank=bank, scale=(1, 7)).fit(feats.X[:100], np.arange(100) % 7 + 1)
        Xs = feats.X[np.arange(a.score_images) % len(feats.X)]
        t0 = time.perf_counter()
        est.predict(Xs)
        score_s = time.perf_counter() - t0
        rows.append({"split": split, "input_values_per_image": int(feats.X.shape[1]),
                     "params_per_task": int(sum(np.prod(s) for s in bank.param_shapes.values())),
                     "feature_seconds": feat_s, "bank_build_seconds": build_s, "zero_shot": zs, "task_vectors": tv,
                     "score_seconds": score_s, "scored_images": a.score_images})
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    if a.out:
        with open(a.out, "w") as fh:
            json.dump({"args": vars(a), "rows": rows}, fh, indent=1)


if __name__ == "__main__":
    main()
