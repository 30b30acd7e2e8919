"""The evaluation protocol of docs/design.md §3.2/§3.3: folds, test people, and the seeded support draws.

Fold protocol (a folds file is given): for fold f, every task keeps only ratings of images *outside* f (so the
generic model, trait targets and task models never see a test image), and the test people are those who rated
images of f, with only those ratings. Images are compared by resolved absolute path, so tasks and the test may
live in different folders or files. Without folds there is one fold ``"all"``: tasks keep everything
(cross-database) and every test person is evaluated on all their images; a test image that is also a task image
is reported as possible leakage.

Held-back-people protocol (``[test] user_folds``): the test people are split into folds (seeded at random, or by
a ``user, fold`` CSV); for fold f every task read from the *same ratings file* as the test drops the ratings of
f's people and keeps every image, so models have seen the images (rated by others) but never these people —
the protocol of PARA's official user splits and of a new user joining a known collection. Tasks from other files
hold other people and are kept whole.

Supports are drawn from ``default_rng([seed, fold, person, trial, k])``: the draw depends on nothing else, so
every method sees the same supports, and adding a method or a shot count never changes the others. With
``[test] query_fraction`` the query is drawn first per (person, trial), independently of k and of the method
(``draw_query``), and supports come from the rest; without it the query is a person's images outside the support
(the original protocol, kept so existing experiment files reproduce their numbers).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import pandas as pd

from piaa.evaluation.experiment import Experiment, ExperimentError
from piaa.evaluation.methods.base import TaskSource
from piaa.data.sources import LoadedSource, image_paths, sample_images, stable_hash


@dataclass
class TestPerson:
    user: str
    key: str                 # name in per_person results (user, or user@fold if a user is tested in two folds)
    paths: List[str]         # absolute image paths of this person's test ratings
    scores: np.ndarray


@dataclass
class FoldPlan:
    name: str
    tasks: List[TaskSource]
    test_ratings: pd.DataFrame   # user, image, score, path: every test rating of this fold (references use it)
    people: List[TestPerson]
    test_images: List[str]       # absolute paths of this fold's test images
    skipped_people: int = 0      # fewer than min_ratings
    test_users: Optional[pd.DataFrame] = None  # the test people's traits (references only), when [test] has users


def draw_support(seed: int, fold: str, user: str, trial: int, k: int, n: int) -> np.ndarray:
    """Indices (sorted) of the k support images among a person's n rated images."""
    rng = np.random.default_rng([int(seed), stable_hash("fold", fold), stable_hash("user", user), int(trial), int(k)])
    return np.sort(rng.choice(n, size=k, replace=False))


def draw_query(seed: int, fold: str, user: str, trial: int, n: int, fraction: float) -> np.ndarray:
    """Indices (sorted) of the query images among a person's n rated images when ``[test] query_fraction`` is
    set: ``round(fraction * n)`` images (at least 2), drawn independently of k and of the method, so every method
    and every support size of a (person, trial) is scored on the same query."""
    rng = np.random.default_rng([int(seed), stable_hash("query", fold), stable_hash("user", user), int(trial)])
    m = min(n, max(2, int(round(float(fraction) * n))))
    return np.sort(rng.choice(n, size=m, replace=False))


def split_query(seed: int, fold: str, user: str, trial: int, k: int, n: int, fraction) -> tuple:
    """(support indices drawn at random, query mask) of a person's n images for support size k.

    ``fraction`` None: the original protocol (support drawn from all n, query = the rest). Otherwise the query is
    :func:`draw_query` and the support is drawn from the other images (the pool) with the same seeds."""
    q = np.zeros(n, dtype=bool)
    if fraction is None:
        idx = draw_support(seed, fold, user, trial, k, n)
        q[:] = True
        q[idx] = False
        return idx, q
    q[draw_query(seed, fold, user, trial, n, fraction)] = True
    pool = np.flatnonzero(~q)
    return pool[draw_support(seed, fold, user, trial, k, len(pool))], q


def pool_size(n: int, fraction) -> int:
    """Images a person has for supports: all of them minus the query."""
    if fraction is None:
        return n
    return n - min(n, max(2, int(round(float(fraction) * n))))


def _restrict(src: LoadedSource, exclude_paths: set) -> TaskSource:
    r = src.dataset.ratings
    paths = pd.Series(src.paths(r["image"]), index=r.index)
    return _task_with(src, r[~paths.isin(exclude_paths)], "outside the test fold: all its images are test images "
                                                          "of this fold")


def _task_with(src: LoadedSource, ratings: pd.DataFrame, why_empty: str) -> TaskSource:
    """The task ``src`` keeping only ``ratings`` (and the traits of the people left in them)."""
    r2 = ratings.reset_index(drop=True)
    if r2.empty:
        raise ExperimentError(f"task {src.label!r} has no ratings left {why_empty}")
    users = src.users
    if users is not None:
        users = users.loc[users.index.isin(set(r2["user"]))]
    ds = replace(src.dataset, ratings=r2, users=users)
    return TaskSource(name=src.label, dataset=ds, images_root=src.images_root, users=users, per_image=src.per_image)


def plan_folds(exp: Experiment, tasks: List[LoadedSource], test: LoadedSource, folds: Optional[Dict[str, str]],
               warnings: List[str]) -> List[FoldPlan]:
    """One :class:`FoldPlan` per fold (see the module doc)."""
    spec = exp.test
    tr = test.dataset.ratings[["user", "image", "score"]].copy()
    tr["path"] = test.paths(tr["image"])
    if spec.user_folds is not None:
        return _number_people(_plan_user_folds(exp, tasks, test, tr))
    plans = []
    if folds is None:
        test_paths = set(tr["path"])
        for src in tasks:
            shared = test_paths & set(src.paths(src.dataset.image_ids))
            if shared:
                warnings.append(
                    f"possible leakage: {len(shared)} test image(s) are also images of task {src.label!r} and no "
                    f"folds are given, so models train on images they are tested on; give [test] folds to hold "
                    f"them out"
                )
        plans.append(_plan("all", [_restrict(s, set()) for s in tasks], tr, spec, test_paths))
        plans[0].test_users = test.users
        return plans
    fold_of = tr["image"].map(folds)
    unassigned = fold_of.isna()
    if unassigned.all():
        raise ExperimentError(f"{spec.folds}: none of the test images is listed in the folds file "
                              f"(first test image: {tr['image'].iat[0]!r})")
    if unassigned.any():
        n = tr.loc[unassigned, "image"].nunique()
        warnings.append(f"{n} test image(s) are not in {spec.folds}; their ratings are not evaluated")
    tr = tr[~unassigned].assign(fold=fold_of[~unassigned]).reset_index(drop=True)
    names = sorted(set(folds.values()))
    names = _selected_folds(names, spec)
    root = test.images_root
    for f in names:
        fold_paths = set(image_paths(root, [img for img, ff in folds.items() if ff == f]))
        fold_tasks = [_restrict(s, fold_paths) for s in tasks]
        plan = _plan(f, fold_tasks, tr[tr["fold"] == f].drop(columns="fold").reset_index(drop=True), spec,
                     fold_paths)
        for t in plan.tasks:  # the guarantee the protocol rests on
            assert not (set(image_paths(t.images_root, t.dataset.image_ids)) & fold_paths), \
                f"fold {f}: task {t.name} holds test images"
        plan.test_users = test.users
        plans.append(plan)
    return _number_people(plans)


def _selected_folds(names: List[str], spec) -> List[str]:
    """``names`` restricted to ``[test] only_folds`` (an unknown name is an error)."""
    if not spec.only_folds:
        return names
    unknown = [f for f in spec.only_folds if f not in names]
    if unknown:
        raise ExperimentError(f"[test] only_folds names unknown fold(s) {unknown}; folds: {names}")
    return [f for f in names if f in spec.only_folds]


def _number_people(plans: List[FoldPlan]) -> List[FoldPlan]:
    """A person tested in two folds gets one per_person entry per fold (``user@fold``)."""
    seen: Dict[str, int] = {}
    for p in plans:
        for person in p.people:
            seen[person.user] = seen.get(person.user, 0) + 1
    for p in plans:
        for person in p.people:
            if seen[person.user] > 1:
                person.key = f"{person.user}@{p.name}"
    return plans


def user_fold_assignment(users, spec) -> Dict[str, str]:
    """``user -> fold`` for the held-back-people protocol: from the ``user_folds`` CSV, or ``user_folds`` seeded
    random, equally sized folds named ``people1..N``."""
    from piaa.data.sources import read_folds

    if isinstance(spec.user_folds, int):
        ids = np.array(sorted({str(u) for u in users}))
        n = int(spec.user_folds)
        if len(ids) < n:
            raise ExperimentError(f"[test] user_folds = {n} but only {len(ids)} test people")
        order = np.random.default_rng([int(spec.seed), stable_hash("user_folds", n)]).permutation(len(ids))
        return {str(ids[i]): f"people{j % n + 1}" for j, i in enumerate(order)}
    return read_folds(spec.user_folds, spec.fold_column, image_column="user")


def _same_file(a, b) -> bool:
    try:
        return a is not None and b is not None and Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False


def _without_people(src: LoadedSource, people: set) -> TaskSource:
    r = src.dataset.ratings
    return _task_with(src, r[~r["user"].astype(str).isin(people)], "once the fold's test people are held back")


def _plan_user_folds(exp: Experiment, tasks: List[LoadedSource], test: LoadedSource,
                     tr: pd.DataFrame) -> List[FoldPlan]:
    spec = exp.test
    fold_of_user = user_fold_assignment(tr["user"].unique(), spec)
    fold = tr["user"].astype(str).map(fold_of_user)
    if fold.isna().all():
        raise ExperimentError(f"{spec.user_folds}: none of the test people is listed in the user folds file")
    tr = tr[fold.notna()].assign(fold=fold[fold.notna()]).reset_index(drop=True)
    names = sorted(set(tr["fold"]))
    names = _selected_folds(names, spec)
    same_study = [_same_file(t.ratings, spec.ratings) for t in exp.tasks]
    plans = []
    for f in names:
        rows = tr[tr["fold"] == f].drop(columns="fold").reset_index(drop=True)
        held = set(rows["user"].astype(str))
        fold_tasks = [_without_people(s, held) if same else _restrict(s, set())
                      for s, same in zip(tasks, same_study)]
        for t, same in zip(fold_tasks, same_study):  # the guarantee the protocol rests on
            assert not same or not (set(t.dataset.ratings["user"].astype(str)) & held), \
                f"fold {f}: task {t.name} holds ratings of the fold's test people"
        plan = _plan(f, fold_tasks, rows, spec, set(rows["path"]))
        plan.test_users = test.users
        plans.append(plan)
    return plans


def _plan(name: str, tasks: List[TaskSource], tr: pd.DataFrame, spec, test_paths: set) -> FoldPlan:
    if spec.max_images is not None:  # per fold, so a capped smoke run still has images in every fold
        tr = tr[tr["image"].isin(sample_images(tr["image"].unique(), spec.max_images, spec.seed, f"test:{name}"))]
        tr = tr.reset_index(drop=True)
    people = []
    skipped = 0
    for user, g in tr.groupby("user", sort=True):
        if len(g) < max(spec.min_ratings, 3):
            skipped += 1
            continue
        g = g.sort_values("image")
        people.append(TestPerson(user=str(user), key=str(user), paths=g["path"].tolist(),
                                 scores=g["score"].to_numpy(dtype=float)))
    if spec.max_people is not None and len(people) > spec.max_people:
        rng = np.random.default_rng([spec.seed, stable_hash("max_people", name)])
        pick = np.sort(rng.choice(len(people), spec.max_people, replace=False))
        people = [people[i] for i in pick]
    return FoldPlan(name=name, tasks=tasks, test_ratings=tr, people=people, test_images=sorted(test_paths),
                    skipped_people=skipped)
