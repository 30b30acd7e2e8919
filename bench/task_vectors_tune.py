"""Hyperparameter study of task-vector personalization on training-fold-only validation (no test fold used).

    nice python bench/task_vectors_tune.py --outer subset1 --val subset2 --people 40 --trials 2 --out tune.json

Trains a bank on the two remaining subsets, then evaluates configurations on the raters of the validation subset.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
import task_vectors_common as C  # noqa: E402

from piaa.models.task_vectors import TaskModelSpec  # noqa: E402
from piaa.models.task_vectors.build import build_bank  # noqa: E402
from piaa.models.task_vectors.engine import predict_scores  # noqa: E402
from piaa.models.task_vectors.train import TrainConfig  # noqa: E402
from piaa.personalize.task_vectors import TaskVectorPersonalizer  # noqa: E402

CONFIGS = {
    "paper (500 steps, lr 1e-2)": {},
    "bt_scale": {"bt_scale": True},
    "reg 1": {"reg": 1.0},
    "reg 10": {"reg": 10.0},
    "reg 1 + bt_scale": {"reg": 1.0, "bt_scale": True},
    "100 steps": {"steps": 100},
    "100 steps + bt_scale": {"steps": 100, "bt_scale": True},
    "layer-agnostic": {"layer_agnostic": True},
    "mse": {"loss": "mse"},
    "init only": {"steps": 0},
    "chosen": {"prior_strength": 30, "lr": 1e-3, "steps": 100, "steps_per_image": 1},
    "chosen, lr 1e-2": {"prior_strength": 30, "lr": 1e-2, "steps": 100, "steps_per_image": 1},
    "prior 30 lr 1e-3 100 steps 1/img": {"prior_strength": 30, "lr": 1e-3, "steps": 100, "steps_per_image": 1},
    "prior 30 lr 1e-3 100 steps 0.5/img": {"prior_strength": 30, "lr": 1e-3, "steps": 100, "steps_per_image": 0.5},
    "prior 30 init only": {"steps": 0, "prior_strength": 30},
    "prior 100 init only": {"steps": 0, "prior_strength": 100},
    "prior 30 lr 1e-3 100 steps": {"prior_strength": 30, "lr": 1e-3, "steps": 100},
    "prior 100 lr 1e-3 100 steps": {"prior_strength": 100, "lr": 1e-3, "steps": 100},
    "prior 30 lr 1e-3 200 steps": {"prior_strength": 30, "lr": 1e-3, "steps": 200},
    "prior 30 lr 3e-3 100 steps reg 1": {"prior_strength": 30, "lr": 3e-3, "steps": 100, "reg": 1.0},
    "lr 1e-3": {"lr": 1e-3},
    "lr 1e-3 + reg 1": {"lr": 1e-3, "reg": 1.0},
    "lr 3e-3 100 steps": {"lr": 3e-3, "steps": 100},
    "lr 1e-3 100 steps": {"lr": 1e-3, "steps": 100},
    "layer-agnostic lr 1e-3": {"layer_agnostic": True, "lr": 1e-3},
    "T=1 lr 1e-3": {"T": 1.0, "lr": 1e-3},
    "uniform init only": {"steps": 0, "init": "uniform"},
    "uniform + reg 10": {"init": "uniform", "reg": 10.0},
    "T=1 + reg 10": {"T": 1.0, "reg": 10.0},
    "T=1 + reg 100": {"T": 1.0, "reg": 100.0},
}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--outer", default="subset1")
    ap.add_argument("--val", default="subset2")
    ap.add_argument("--people", type=int, default=40)
    ap.add_argument("--trials", type=int, default=2)
    ap.add_argument("--pool", default="last")
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--taste-groups", type=int, default=0)
    ap.add_argument("--populations", default="all")
    ap.add_argument("--configs", default="all", help="comma list of config names or 'all'")
    ap.add_argument("--head-steps", type=int, default=50)
    ap.add_argument("--head-wd", type=float, default=0.1)
    ap.add_argument("--anchor", default="", help="anchor task: θ_pre = that task's model (see TrainConfig)")
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)
    beauty, norms, train_images, prior = C.validation_setup(a.outer, a.val)
    spec = TaskModelSpec(split=18, pool=a.pool, hidden=a.hidden)
    feats = C.FeatureTable(spec)
    pops = C.POPULATIONS if a.populations == "all" else {p: C.POPULATIONS[p] for p in a.populations.split(",")}
    tasks = C.fold_tasks(beauty, norms, train_images, populations=pops, taste_groups=a.taste_groups,
                         features_fn=feats.paths_fn)
    t0 = time.perf_counter()
    bank = build_bank(spec, tasks, feats.paths_fn, TrainConfig(head_steps=a.head_steps, head_weight_decay=a.head_wd, anchor_task=a.anchor),
                      progress=True, prior_ratings=prior)
    build_s = time.perf_counter() - t0
    print(f"bank: {bank.num_tasks} tasks in {build_s:.1f}s",
          [(t["name"], round(t["train_srocc"], 3), round(t["prior_srocc"], 3)) for t in bank.tasks], file=sys.stderr)
    users = C.people_of(beauty, a.val, a.people)
    results = {"bank_build_s": build_s, "tasks": bank.task_names, "args": vars(a), "rows": []}
    # zero-shot: the 'all' task model, and the mean of the tasks
    k_all = bank.task_names.index("beauty:all")
    onehot = np.zeros(bank.num_tasks)
    onehot[k_all] = 1
    t7 = np.linspace(1, 7, 10)
    results["rows"].append(C.evaluate(lambda Xs, ys, Xq: predict_scores(bank, Xq, onehot, t7), feats, beauty, users,
                                      n_trials=a.trials, label="zero-shot beauty:all"))
    names = list(CONFIGS) if a.configs == "all" else a.configs.split(";")
    for name in names:
        # every configuration is relative to the paper's recipe (the personalizer's defaults are the outcome)
        kw = {**TaskVectorPersonalizer.PAPER, **(CONFIGS[name] if name in CONFIGS else json.loads(name))}

        def run(Xs, ys, Xq, kw=kw):
            return TaskVectorPersonalizer(bank=bank, scale=(1, 7), **kw).fit(Xs, ys).predict(Xq)

        results["rows"].append(C.evaluate(run, feats, beauty, users, n_trials=a.trials, label=name))
    if a.out:
        with open(a.out, "w") as fh:
            json.dump(results, fh, indent=1)


if __name__ == "__main__":
    main()
