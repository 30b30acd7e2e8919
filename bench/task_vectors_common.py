"""Shared helpers of the task-vector benchmarks: OASIS folds, tasks per fold, k-shot trials, evaluation.

Validation protocol (never touches a test fold): for outer fold s, one of the three *training* subsets v is the
inner validation subset; task models are trained on the two remaining subsets only (images and their raters,
plus valence/arousal norms of those images), and the validation people are the raters of v.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from piaa.data import load_dataset
from piaa.data.ratings import Scale
from piaa.metrics import srocc
from piaa.data.traits_filter import filter_users
from piaa.models.task_vectors.tasks import task_from_ratings, taste_group_tasks
from piaa.paths import shared_data_dir

DATA = shared_data_dir()
OASIS_IMAGES = DATA / "oasis" / "images"
SCALE7 = Scale(1.0, 7.0, 7)

POPULATIONS = {
    "all": None,
    "women": "gender == 'female'",
    "men": "gender == 'male'",
    "age<=30": "age <= 30",
    "age>45": "age > 45",
    "liberal": "politic in ['strongLiberal', 'moderateLiberal']",
    "conservative": "politic in ['strongConservative', 'moderateConservative', 'slightConservative']",
}


def load_oasis():
    beauty = load_dataset("oasis-beauty", DATA / "oasis-beauty")
    norms = load_dataset("oasis-norms", DATA / "oasis")
    return beauty, norms


class _Src:
    """Minimal stand-in for the runner's TaskSource (what taste_group_tasks needs)."""

    def __init__(self, name, dataset, images_root):
        self.name, self.dataset, self.images_root = name, dataset, images_root


def fold_tasks(beauty, norms, train_images, populations=POPULATIONS, criteria=("valence", "arousal"),
               taste_groups=0, features_fn=None, seed=0):
    """Tasks restricted to ``train_images`` (beauty populations, norms criteria, optional taste groups)."""
    from dataclasses import replace

    train_images = set(train_images)
    r = beauty.ratings[beauty.ratings["image"].isin(train_images)]
    tasks = []
    for name, where in populations.items():
        rr = r if where is None else r[r["user"].isin(filter_users(beauty.users, where, name).index)]
        tasks.append(task_from_ratings(f"beauty:{name}", rr, OASIS_IMAGES, SCALE7, {"population": name}))
    for c in criteria:
        rn = norms.ratings[(norms.ratings["criterion"] == c) & norms.ratings["image"].isin(train_images)]
        tasks.append(task_from_ratings(c, rn, OASIS_IMAGES, SCALE7, {"criterion": c, "per_image": True}))
    if taste_groups:
        ds = replace(beauty, ratings=r.reset_index(drop=True))
        src = _Src("beauty", ds, OASIS_IMAGES)
        feats = features_fn([OASIS_IMAGES / i for i in ds.image_ids])
        tasks += taste_group_tasks(src, taste_groups, feats, seed=seed)
    return tasks


def validation_setup(outer: str, val: str, threads: int = 1):
    """(beauty, norms, training images, prior ratings) for outer test subset ``outer`` and inner validation
    subset ``val``: the training images are the two other subsets; prior ratings = their raters' ratings."""
    import torch

    torch.set_num_threads(threads)  # one thread: the shared 2-core machine punishes contention
    beauty, norms = load_oasis()
    subsets = sorted(s for s in beauty.splits if s.startswith("subset"))
    train_images = [i for s in subsets if s not in (outer, val) for i in beauty.splits[s]]
    prior = beauty.ratings[beauty.ratings["image"].isin(set(train_images))]
    prior = prior.assign(path=[str(OASIS_IMAGES / i) for i in prior["image"]])
    return beauty, norms, train_images, prior


def subset_images(beauty, name):
    return beauty.splits[name]


def people_of(beauty, subset, n=None, seed=0):
    users = beauty.splits[f"raters_{subset}"]
    if n is not None and n < len(users):
        rng = np.random.default_rng(seed)
        users = sorted(rng.choice(users, n, replace=False).tolist())
    return users


def trials(beauty, users, ks=(10, 100), n_trials=3):
    """Yield (user, k, t, support_images, support_scores, query_images, query_scores) with fixed seeds."""
    for u in users:
        s = beauty.ratings_of(u).sort_index()
        imgs, sc = s.index.to_numpy(), s.to_numpy(float)
        for k in ks:
            for t in range(n_trials):
                rng = np.random.default_rng([int(t), int(k), abs(hash(str(u))) % (2 ** 31)])
                perm = rng.permutation(len(imgs))
                sup, qry = perm[:k], perm[k:]
                yield u, k, t, imgs[sup], sc[sup], imgs[qry], sc[qry]


def stable_trials(beauty, users, ks=(10, 100), n_trials=3):
    """Like ``trials`` but seeded by the user's position (``hash`` of str is salted per process)."""
    for ui, u in enumerate(users):
        s = beauty.ratings_of(u).sort_index()
        imgs, sc = s.index.to_numpy(), s.to_numpy(float)
        for k in ks:
            for t in range(n_trials):
                rng = np.random.default_rng([int(t), int(k), int(ui)])
                perm = rng.permutation(len(imgs))
                sup, qry = perm[:k], perm[k:]
                yield u, k, t, imgs[sup], sc[sup], imgs[qry], sc[qry]


def evaluate(make_fn, feats_of, beauty, users, ks=(10, 100), n_trials=3, label=""):
    """Mean per-person SROCC per k (trials averaged first) and mean seconds per personalization."""
    res = {k: {} for k in ks}
    secs = []
    for u, k, _t, si, ss, qi, qs in stable_trials(beauty, users, ks, n_trials):
        t0 = time.perf_counter()
        pred = make_fn(feats_of(si), ss, feats_of(qi))
        secs.append(time.perf_counter() - t0)
        res[k].setdefault(u, []).append(srocc(pred, qs))
    out = {"label": label}
    for k in ks:
        per = [np.nanmean(v) for v in res[k].values()]
        out[f"k{k}"] = float(np.mean(per))
    out["sec_per_person_trial"] = float(np.mean(secs))
    print(out, file=sys.stderr, flush=True)
    return out


class FeatureTable:
    """Flat inputs of a spec for every OASIS image, computed once (cached extractor)."""

    def __init__(self, spec, images=None, cache="default"):
        from piaa.models.task_vectors.inputs import inputs_for_paths

        self.images = sorted(p.name for p in OASIS_IMAGES.glob("*.jpg")) if images is None else list(images)
        self.pos = {im: i for i, im in enumerate(self.images)}
        self.X = inputs_for_paths(spec, [OASIS_IMAGES / i for i in self.images], cache=cache, progress=True)

    def __call__(self, images):
        return self.X[[self.pos[Path(i).name] for i in images]]

    def paths_fn(self, paths):
        return self([Path(p).name for p in paths])
