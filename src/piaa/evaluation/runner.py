"""Run an experiment: for every fold and method, personalize every test person on seeded supports and score them.

Loop order is fold-outer, method-inner, so fold artifacts that methods share (``fold.shared``: the generic
model, a task bank) are built once per fold. Each finished (method, fold) is written to a checkpoint in the
workdir together with a fingerprint of the configuration; a re-run with the same configuration skips it, so an
interrupted evaluation resumes where it stopped.

Numbers (docs/design.md §3): per trial and person the SROCC/PLCC between the person's query ratings and the
predictions; a person's score is the mean over trials, ``srocc_mean`` the mean over people, ``srocc_std`` the std
over trials of the per-trial means over people. Zero-shot methods are scored once on all of a person's test
images (shots ``"0"``) and, so gains can be paired, also on exactly the query sets of every k
(``zero_shot_on_queries``).
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np

from piaa.errors import PiaaError
from piaa.evaluation.experiment import Experiment, ExperimentError
from piaa.evaluation.methods.base import FeatureProvider, FoldData, Method, ReferenceContext
from piaa.evaluation.active import split_name
from piaa.evaluation.leakage import TrunkLeakageError, TrunkLeakGuard
from piaa.evaluation.methods.registry import get_method_class as _registered_class, list_methods
from piaa.evaluation.protocol import FoldPlan, plan_folds, pool_size, split_query
from piaa.data.sources import load_source, read_folds
from piaa.metrics import plcc, srocc
from piaa.state import atomic_write_bytes

CHECKPOINT_VERSION = 1


@dataclass
class RunOptions:
    workdir: Path
    methods: Optional[List[str]] = None       # overrides [test] methods
    skip_missing: bool = False                # skip unregistered methods with a warning instead of failing
    resume: bool = True
    progress: bool = True
    features: Optional[FeatureProvider] = None
    log: Any = None                           # a text stream; None = the sys.stderr of the moment
    # numpy BLAS threads while methods run: per-person problems are tiny (100 x 3000), and on a busy machine
    # OpenBLAS threads spin-waiting for each other made one ridge fit far slower than a single thread
    blas_threads: Optional[int] = 1


DEFAULT_ACTIVE_QUERY_FRACTION = 0.3


def get_method_class(name: str) -> type:
    """The class of a method name; ``METHOD@active`` is METHOD's class (the runner chooses its supports)."""
    return _registered_class(split_name(name)[0])


def _known(name: str, known) -> bool:
    base, active = split_name(name)
    return base in known and not (active and (_registered_class(base).zero_shot or _registered_class(base).reference))


def resolve_methods(requested: List[str], skip_missing: bool, warnings: List[str]) -> List[str]:
    """The methods to run; unknown names fail with the list of known ones (or are skipped with a warning).
    ``METHOD@active`` is known when METHOD is a registered method that learns from ratings."""
    known = list_methods()
    missing = [m for m in requested if not _known(m, known)]
    if missing and not skip_missing:
        from piaa.evaluation.methods.registry import METHODS

        hints = "".join(f"did you mean {METHODS.suggest(m)[0]!r} for {m!r}? " for m in missing if METHODS.suggest(m))
        raise ExperimentError(f"unknown method(s) {missing}; {hints}known methods: {', '.join(known) or 'none'} "
                              f"(pass --skip-missing to run the others)")
    for m in missing:
        warnings.append(f"method {m!r} is not available (not registered); skipped")
    out = [m for m in requested if _known(m, known)]
    if not out:
        raise ExperimentError(f"no method left to run; known methods: {', '.join(known)}")
    return out


def run_experiment(exp: Experiment, opts: RunOptions) -> Dict[str, Any]:
    """Run ``exp`` and return the RESULT document (see the module doc and ``docs/experiments.md``)."""
    t_start = time.perf_counter()
    started = datetime.now(timezone.utc)
    warnings: List[str] = []
    methods = resolve_methods(opts.methods or exp.methods, opts.skip_missing, warnings)
    for m in opts.methods or []:
        if m not in exp.methods:
            warnings.append(f"method {m!r} comes from --methods, not from the experiment file")

    if exp.test.query_fraction is None and any(split_name(m)[1] for m in methods):
        # METHOD and METHOD@active must be scored on the same query: a fixed held-out share, drawn first
        exp.test.query_fraction = DEFAULT_ACTIVE_QUERY_FRACTION
        warnings.append(f"an @active method is run: [test] query_fraction = {DEFAULT_ACTIVE_QUERY_FRACTION} "
                        f"(the same held-out query for every method); set it in the file to choose another")
    tasks = [load_source(t, t.name, exp.test.seed, warnings, per_image=t.per_image) for t in exp.tasks]
    test = load_source(exp.test, "test", exp.test.seed, warnings, apply_max_images=False)
    folds = read_folds(exp.test.folds, exp.test.fold_column) if exp.test.folds else None
    plans = plan_folds(exp, tasks, test, folds, warnings)
    for w in warnings:
        print(f"warning: {w}", file=opts.log or sys.stderr)

    if opts.features is None:
        from piaa.evaluation.features import CachedFeatureProvider

        opts.features = CachedFeatureProvider(progress=opts.progress)
    workdir = Path(opts.workdir)
    records: Dict[str, Dict[str, dict]] = {m: {} for m in methods}
    for plan in plans:
        test_images = [Path(p) for p in sorted(set(plan.test_ratings["path"]))]
        # every feature request of the fold passes the trunk-leakage guard (piaa.evaluation.leakage)
        fold = FoldData(fold=plan.name, tasks=plan.tasks, generic_task=exp.generic, test_scale=test.dataset.scale,
                        features=TrunkLeakGuard(opts.features, test_images, plan.name), seed=exp.test.seed,
                        workdir=workdir / "folds" / _safe(plan.name), test_images=test_images)
        for name in methods:
            ck = workdir / "checkpoints" / _safe(name) / f"{_safe(plan.name)}.json"
            fp = f"{exp.fingerprint(name)}-{code_stamp(get_method_class(name))}"
            if split_name(name)[1]:  # METHOD's options and the selector's code decide the result too
                from piaa.personalize import active as _sel

                fp += f"-{exp.fingerprint(split_name(name)[0])}-{code_stamp(_sel.ActiveSelector)}"
            rec = _load_checkpoint(ck, fp) if opts.resume else None
            if rec is not None:
                print(f"[{name} / fold {plan.name}] resumed from {ck}", file=opts.log or sys.stderr)
            else:
                with blas_limit(opts.blas_threads):
                    rec = evaluate_method_on_fold(name, exp, plan, fold, opts)
                rec.update({"version": CHECKPOINT_VERSION, "fingerprint": fp, "method": name, "fold": plan.name})
                atomic_write_bytes(ck, json.dumps(rec).encode("utf-8"))
            records[name][plan.name] = rec
        fold.shared.clear()

    result = {
        "experiment": _experiment_block(exp, plans, methods, records, warnings, started,
                                        time.perf_counter() - t_start),
        "methods": {},
        "zero_shot_on_queries": {},
    }
    for name in methods:
        result["methods"][name] = aggregate(records[name], "shots")
        if get_method_class(name).zero_shot:
            result["zero_shot_on_queries"][name] = aggregate(records[name], "matched")
    if not result["zero_shot_on_queries"]:
        del result["zero_shot_on_queries"]
    return result


def blas_limit(threads: Optional[int]):
    """Context manager limiting numpy's BLAS threads (no-op when ``threads`` is None)."""
    if threads is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=int(threads), user_api="blas")


# ---- one method on one fold ------------------------------------------------------------------------------------
def _eligible(plan: FoldPlan, k: int, spec) -> list:
    """People with enough ratings for k supports (and >= 2 query images)."""
    return [p for p in plan.people if _has_room(p, k, spec)]


def _has_room(person, k: int, spec) -> bool:
    n = len(person.scores)
    if n < spec.min_ratings:
        return False
    if spec.query_fraction is None:
        return n >= k + 2
    return pool_size(n, spec.query_fraction) >= k


def evaluate_method_on_fold(name: str, exp: Experiment, plan: FoldPlan, fold: FoldData, opts: RunOptions) -> dict:
    cls = get_method_class(name)
    base, active = split_name(name)
    label = f"{name} / fold {plan.name}"
    t0 = time.perf_counter()
    try:
        method: Method = cls(**exp.method_options.get(base, {}))
        method.prepare(fold)
        if active:
            from piaa.evaluation.active import ActiveSupport

            chooser = ActiveSupport(fold, exp.method_options.get(name, {}))
    except TrunkLeakageError:
        raise
    except (TypeError, ValueError, KeyError) as exc:  # bad [methods.<name>] options or unusable task data
        raise ExperimentError(f"method {name!r} cannot start on fold {plan.name}: {type(exc).__name__}: {exc} "
                              f"(check [methods.{name}] and the tasks)") from exc
    rec: Dict[str, Any] = {"prepare_seconds": time.perf_counter() - t0, "shots": {}, "matched": {}}
    spec = exp.test
    shots = [k for k in spec.shots if k > 0]

    def ctx(person):
        if cls.reference:
            method.reference_context = ReferenceContext(ratings=plan.test_ratings, user=person.user,
                                                        users=plan.test_users)

    if cls.zero_shot:
        cell = _cell()
        matched = {k: _cell() for k in shots}
        for person in _bar(plan.people, opts, f"{label} zero-shot"):
            ctx(person)
            t = time.perf_counter()
            with _context(name, plan.name, person.user, 0, 0):
                pred = method.predict_generic([Path(p) for p in person.paths])
            dt = time.perf_counter() - t
            pred = _check_pred(pred, len(person.paths), name)
            _add(cell, person.key, person.scores, pred, dt)
            for k in shots:
                if not _has_room(person, k, spec):
                    continue
                for trial in range(spec.trials):
                    q = split_query(spec.seed, plan.name, person.user, trial, k, len(person.scores),
                                    spec.query_fraction)[1]
                    _add(matched[k], person.key, person.scores[q], pred[q], None)
        rec["shots"]["0"] = cell
        rec["matched"] = {str(k): v for k, v in matched.items()}
        return rec

    if 0 in spec.shots:
        print(f"warning: {name} needs rated images; shots 0 is reported for zero-shot methods only", file=opts.log or sys.stderr)
    orders: Dict[tuple, np.ndarray] = {}   # @active: (person, trial) -> pool rows in asking order

    def support(person, paths, trial, k):
        idx, q = split_query(spec.seed, plan.name, person.user, trial, k, len(person.scores), spec.query_fraction)
        if not active:
            return idx, q
        pool = np.flatnonzero(~q)
        key = (person.key, trial)
        if key not in orders:  # asked once up to the largest k this person takes; support k = the first k asked
            kmax = max(kk for kk in shots if _has_room(person, kk, spec))
            with _context(name, plan.name, person.user, kmax, trial):
                orders[key] = chooser.order(list(paths[pool]), person.scores[pool].copy(), kmax,
                                            seed=int(spec.seed) * 1000 + trial)
        return np.sort(pool[orders[key][:k]]), q

    for k in shots:
        cell = _cell()
        people = _eligible(plan, k, spec)
        for person in _bar(people, opts, f"{label} k={k}"):
            ctx(person)
            paths = np.array([Path(p) for p in person.paths], dtype=object)
            for trial in range(spec.trials):
                idx, q = support(person, paths, trial, k)
                t = time.perf_counter()
                with _context(name, plan.name, person.user, k, trial):
                    pred = method.personalize(list(paths[idx]), person.scores[idx].copy(), list(paths[q]))
                dt = time.perf_counter() - t
                pred = _check_pred(pred, int(q.sum()), name)
                _add(cell, person.key, person.scores[q], pred, dt)
        rec["shots"][str(k)] = cell
    return rec


@contextlib.contextmanager
def _context(method: str, fold: str, user: str, k: int, trial: int):
    """Say which person and draw a method failed on (the finished folds stay checkpointed)."""
    try:
        yield
    except TrunkLeakageError:  # a protocol violation, not a method failure: reported as itself
        raise
    except Exception as exc:
        hint = f" (check the [methods.{method}] options)" if isinstance(exc, (TypeError, ValueError)) else ""
        raise MethodFailed(f"method {method!r} failed on person {user!r} (fold {fold}, k={k}, trial {trial}): "
                           f"{type(exc).__name__}: {exc}{hint}") from exc


class MethodFailed(PiaaError, RuntimeError):
    """A method raised while predicting for one person; the message names the method, person and draw."""


def _check_pred(pred, n: int, name: str) -> np.ndarray:
    arr = np.asarray(pred, dtype=float).reshape(-1)
    if arr.shape[0] != n:
        raise RuntimeError(f"method {name!r} returned {arr.shape[0]} predictions for {n} query images")
    return arr


def _cell() -> dict:
    return {"srocc": {}, "plcc": {}, "seconds": {}}


def _add(cell: dict, key: str, truth, pred, seconds) -> None:
    cell["srocc"].setdefault(key, []).append(_num(srocc(truth, pred, nan_policy="omit")))
    cell["plcc"].setdefault(key, []).append(_num(plcc(truth, pred, nan_policy="omit")))
    if seconds is not None:
        cell["seconds"].setdefault(key, []).append(seconds)


def _num(x) -> Optional[float]:
    return None if x is None or not math.isfinite(x) else float(x)


def _bar(items, opts: RunOptions, desc: str):
    if not opts.progress:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit="person", file=sys.stderr, leave=False, dynamic_ncols=True)


# ---- aggregation -----------------------------------------------------------------------------------------------
def aggregate(fold_records: Dict[str, dict], part: str) -> Dict[str, dict]:
    """Combine the per-fold records of one method into the RESULT's ``{SHOTS: {...}}``."""
    shots = sorted({k for r in fold_records.values() for k in r.get(part, {})}, key=int)
    out = {}
    for k in shots:
        srocc_pp: Dict[str, List[Optional[float]]] = {}
        plcc_pp: Dict[str, List[Optional[float]]] = {}
        secs: List[float] = []
        for r in fold_records.values():
            cell = r.get(part, {}).get(k)
            if not cell:
                continue
            srocc_pp.update(cell["srocc"])
            plcc_pp.update(cell["plcc"])
            for v in cell["seconds"].values():
                secs.extend(v)
        out[k] = summarize(srocc_pp, plcc_pp, secs)
    return out


def summarize(srocc_pp: Dict[str, list], plcc_pp: Dict[str, list], seconds: List[float]) -> dict:
    """Per person: mean over trials; overall: mean over people; std: over trials of the per-trial means."""
    def _arr(v):
        return np.array([np.nan if x is None else x for x in v], dtype=float)

    per_person = {}
    for key, v in srocc_pp.items():
        a = _arr(v)
        per_person[key] = float(np.nanmean(a)) if np.isfinite(a).any() else None
    vals = np.array([v for v in per_person.values() if v is not None], dtype=float)
    n_trials = max((len(v) for v in srocc_pp.values()), default=0)
    trial_means = []
    for t in range(n_trials):
        col = np.array([_arr(v)[t] for v in srocc_pp.values() if len(v) > t], dtype=float)
        if np.isfinite(col).any():
            trial_means.append(float(np.nanmean(col)))
    plcc_person = [np.nanmean(_arr(v)) for v in plcc_pp.values() if np.isfinite(_arr(v)).any()]
    return {
        "srocc_mean": _round(float(vals.mean())) if len(vals) else None,
        "srocc_std": _round(float(np.std(trial_means))) if trial_means else None,
        "plcc_mean": _round(float(np.mean(plcc_person))) if plcc_person else None,
        "n_people": int(len(vals)),
        "seconds_per_person": _round(float(np.mean(seconds)), 6) if seconds else None,
        "per_person": {k: (None if v is None else _round(v)) for k, v in sorted(per_person.items(), key=_natural)},
    }


def _round(x: float, nd: int = 5) -> float:
    return float(round(x, nd))


def _natural(item):
    key = item[0]
    return (0, int(key), "") if key.isdigit() else (1, 0, key)


# ---- checkpoints -----------------------------------------------------------------------------------------------
def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name) or "_"


def code_stamp(cls: type) -> str:
    """Hash of the source file defining a method: editing the method's module invalidates its checkpoints.
    (Changes in modules it imports are not seen; use --no-resume after those.)"""
    import hashlib
    import inspect

    try:
        src = Path(inspect.getsourcefile(cls) or "").read_bytes()
    except (OSError, TypeError):
        return "nosource"
    return hashlib.sha256(src).hexdigest()[:10]


def _load_checkpoint(path: Path, fingerprint: str) -> Optional[dict]:
    if not path.is_file():
        return None
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        print(f"warning: unreadable checkpoint {path}; recomputing", file=sys.stderr)
        return None
    if rec.get("version") != CHECKPOINT_VERSION or rec.get("fingerprint") != fingerprint:
        print(f"note: checkpoint {path} belongs to a different configuration; recomputing", file=sys.stderr)
        return None
    return rec


# ---- the experiment block --------------------------------------------------------------------------------------
def _experiment_block(exp: Experiment, plans: List[FoldPlan], methods: List[str], records, warnings, started,
                      wall: float) -> dict:
    block = exp.describe()
    block["methods_run"] = methods
    block["references"] = [m for m in methods if get_method_class(m).reference]
    block["zero_shot"] = [m for m in methods if get_method_class(m).zero_shot]
    block["folds"] = [{
        "name": p.name,
        "test_people": len(p.people),
        "skipped_people": p.skipped_people,
        "test_images": len(p.test_images),
        "tasks": {t.name: {"people": int(t.dataset.ratings["user"].nunique()),
                           "images": int(t.dataset.ratings["image"].nunique()),
                           "ratings": int(len(t.dataset.ratings)), "per_image": t.per_image} for t in p.tasks},
    } for p in plans]
    block["prepare_seconds"] = {m: {f: _round(r.get("prepare_seconds", 0.0), 3) for f, r in records[m].items()}
                                for m in methods}
    block["warnings"] = list(warnings)
    block["environment"] = environment(started)
    block["wall_seconds"] = _round(wall, 2)
    return block


def environment(started: Optional[datetime] = None) -> dict:
    from piaa import __version__

    env = {
        "date": (started or datetime.now(timezone.utc)).isoformat(timespec="seconds"),
        "machine": {"cpu_cores": os.cpu_count(), "platform": platform.platform(), "processor": platform.machine(),
                    "python": platform.python_version()},
        "piaa_version": __version__,
        "git_commit": git_commit(),
    }
    try:
        import torch

        env["machine"]["torch_threads"] = torch.get_num_threads()
    except Exception:  # torch is optional for the runner itself
        pass
    return env


def git_commit() -> Optional[str]:
    """The repository's HEAD commit (``+dirty`` when tracked files changed), or None outside a checkout."""
    from piaa.paths import REPO_ROOT

    if not (REPO_ROOT / ".git").exists():
        return None
    try:
        head = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10)
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None
