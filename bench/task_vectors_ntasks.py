"""Number-of-tasks curve (Fig. 5 of Yun & Choo, ECCV 2024) and the fp16 storage check, on training-fold-only
validation.

    nice python bench/task_vectors_ntasks.py --people 40 --trials 1 --out ntasks.json

Tasks are accumulated one by one in a fixed order (OASIS beauty populations, valence, arousal, taste groups,
AVT-AI criteria); for each prefix the task-vector personalizer (default recipe) is evaluated at k = 10 / 100.
The same bank with float32 task vectors is compared with float16 storage.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


sys.path.insert(0, str(Path(__file__).parent))
import task_vectors_common as C  # noqa: E402

from piaa.data import load_dataset  # noqa: E402
from piaa.models.task_vectors import TaskModelSpec  # noqa: E402
from piaa.models.task_vectors.build import build_bank  # noqa: E402
from piaa.models.task_vectors.inputs import inputs_for_paths  # noqa: E402
from piaa.models.task_vectors.tasks import task_from_ratings  # noqa: E402
from piaa.models.task_vectors.train import TrainConfig  # noqa: E402
from piaa.personalize.task_vectors import TaskVectorPersonalizer  # noqa: E402


def avt_tasks():
    ds = load_dataset("avt-ai", C.DATA / "avt-ai")
    root = Path(ds.images_root)
    out = []
    for crit in ("image_appeal", "image_quality", "realism"):
        r = ds.ratings[ds.ratings["criterion"] == crit]
        r = r[[(root / i).exists() for i in r["image"]]]
        out.append(task_from_ratings(f"avt:{crit}", r, root, ds.scale, {"criterion": crit}))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--outer", default="subset1")
    ap.add_argument("--val", default="subset2")
    ap.add_argument("--people", type=int, default=40)
    ap.add_argument("--trials", type=int, default=1)
    ap.add_argument("--taste-groups", type=int, default=6)
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)
    beauty, norms, train_images, prior = C.validation_setup(a.outer, a.val)
    spec = TaskModelSpec()
    feats = C.FeatureTable(spec)
    tasks = C.fold_tasks(beauty, norms, train_images, taste_groups=a.taste_groups, features_fn=feats.paths_fn)
    tasks += avt_tasks()

    def inputs(paths):
        paths = list(paths)
        if all(Path(p).parent == C.OASIS_IMAGES for p in paths):
            return feats.paths_fn(paths)
        return inputs_for_paths(spec, paths)

    bank32 = build_bank(spec, tasks, inputs, TrainConfig(), tau_dtype="float32", progress=True, prior_ratings=prior)
    bank16 = bank32.with_tau_dtype("float16")
    for m16, m32 in zip(bank16.tasks, bank32.tasks):
        m16["prior_srocc"] = m32["prior_srocc"]
    users = C.people_of(beauty, a.val, a.people)

    def tv(bank):
        return lambda Xs, ys, Xq: TaskVectorPersonalizer(bank=bank, scale=(1, 7)).fit(Xs, ys).predict(Xq)

    rows = {"tasks": [(t["name"], t["prior_srocc"]) for t in bank32.tasks], "curve": [], "fp16": {}}
    rows["fp16"]["float32"] = C.evaluate(tv(bank32), feats, beauty, users, n_trials=a.trials, label="float32 taus")
    rows["fp16"]["float16"] = C.evaluate(tv(bank16), feats, beauty, users, n_trials=a.trials, label="float16 taus")
    for n in range(1, bank32.num_tasks + 1):
        sub = bank32.subset(range(n))
        r = C.evaluate(tv(sub), feats, beauty, users, n_trials=a.trials, label=f"{n} tasks (+{bank32.task_names[n - 1]})")
        r["n_tasks"] = n
        rows["curve"].append(r)
    if a.out:
        with open(a.out, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
