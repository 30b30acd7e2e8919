"""Scoring one part: the same inference path as single-process ``piaa score``, one parquet file per part.

A :class:`PartRunner` holds the loaded models for the life of a worker (the engine is built and verified once
per worker, exactly as in one process: ``piaa.models.scorer.load_scorer`` with the same engine choice), so a
row here equals the record ``piaa score`` prints for the same photo. It knows nothing about Ray: the Ray
actor in :mod:`piaa.distributed.pipeline` wraps it, and the tests call it directly too.

Columns of a part (and of the combined file):

- ``path`` (file sources: absolute, resolved by the driver) or ``key`` + ``shard`` (tar shards: the shard's
  path relative to the folder common to the run's shards, so two ``00000.tar`` in two folders stay apart);
- ``score`` and ``distribution`` of the first model (the default generic beauty model unless ``--model``);
- ``score_<label>`` / ``distribution_<label>`` for every further model (e.g. ``score_quality``);
- ``profile_<name>`` for every ``--profile`` (on the person's own rating scale);
- ``error``: null when every requested score was computed, else the reason for this photo.

Errors are per photo: an undecodable file gets its error and null scores, the rest of the part goes on; if
the network itself fails on a batch, the photos are scored one by one so only the culprit gets the error.
"""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from piaa.distributed.sources import Part, read_member_bytes
from piaa.errors import InputError

PART_PREFIX = "part-"


def part_file(parts_dir: Path, index: int) -> Path:
    return Path(parts_dir) / f"{PART_PREFIX}{index:07d}.parquet"


def column_label(name: str) -> str:
    """A model or profile name as a column suffix (letters, digits, ``_``)."""
    return "".join(c if c.isalnum() else "_" for c in str(name)).strip("_") or "model"


class PartRunner:
    """Score parts with ``models`` (names for ``load_scorer``; the first gives ``score``) and ``profiles``."""

    def __init__(self, models: Sequence[str], profiles: Sequence[str] = (), engine: str = "auto",
                 cache=None, batch_size: int = 32, profile_store: Optional[str] = None):
        from piaa.models.scorer import load_scorer

        if not models:
            raise InputError("at least one scoring model is needed")
        self.models = [(str(m), load_scorer(None if m in ("default", "") else m, engine=engine, cache=cache,
                                            batch_size=batch_size)) for m in models]
        self.profiles = []
        if profiles:
            from piaa.profiles.profile import Profile
            from piaa.profiles.store import ProfileStore

            store = ProfileStore(profile_store) if profile_store else None
            self.profiles = [(p, Profile.load(p, store=store)) for p in profiles]

    # ---- one part ---------------------------------------------------------------------------------------------
    def run(self, part: Part, parts_dir) -> Dict[str, float]:
        """Score ``part`` and write its file atomically; returns {"index", "n", "n_errors", "seconds"}."""
        t0, c0 = time.perf_counter(), time.process_time()
        table = self.score_part(part)
        write_atomic_parquet(table, part_file(parts_dir, part.index))
        n_ok = table.column("error").null_count
        return {"index": part.index, "n": len(part), "n_errors": len(part) - n_ok,
                "seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0}

    def score_part(self, part: Part):
        import pyarrow as pa

        n = len(part)
        errors: Dict[int, str] = {}
        if part.shard:
            items: List[object] = read_member_bytes(part)
            for i, it in enumerate(items):
                if isinstance(it, BaseException):
                    errors[i] = f"cannot read from shard: {it}"
                    items[i] = b""
        else:
            items = list(part.paths)
        cols: Dict[str, object] = {}
        if part.shard:
            cols["key"] = pa.array(part.keys, pa.string())
            cols["shard"] = pa.array([part.shard_label or os.path.basename(part.shard)] * n, pa.string())
        else:
            cols["path"] = pa.array(part.paths, pa.string())

        todo = [i for i in range(n) if i not in errors]
        for k, (label, _scorer, dist, score, errs) in enumerate(self._score_models(items, todo)):
            suffix = "" if k == 0 else "_" + column_label(label)
            cols["score" + suffix] = pa.array(score, pa.float64(), mask=np.isnan(score))
            cols["distribution" + suffix] = pa.array(
                [None if np.isnan(score[i]) else dist[i].tolist() for i in range(n)], pa.list_(pa.float64()))
            for i, msg in errs.items():
                errors.setdefault(i, msg)
        for name, prof in self.profiles:
            vals, errs = self._score_profile(prof, part, items, todo)
            cols["profile_" + column_label(name)] = pa.array(vals, pa.float64(), mask=np.isnan(vals))
            for i, msg in errs.items():
                errors.setdefault(i, msg)
        cols["error"] = pa.array([errors.get(i) for i in range(n)], pa.string())
        return pa.table(cols)

    def _score_models(self, items, todo):
        """(label, scorer, distributions [n, B], scores [n] NaN where failed, errors) per model; models on
        the same backbone(s) and feature variant share one feature extraction."""
        n = len(items)
        groups: Dict[tuple, list] = {}
        for label, scorer in self.models:
            groups.setdefault((scorer.backbone, scorer.variant), []).append((label, scorer))
        results = {}
        sub = [items[i] for i in todo]
        for members in groups.values():
            X, errs = _features_per_item(members[0][1], sub)
            ok = np.ones(len(sub), dtype=bool)
            ok[list(errs)] = False
            for label, scorer in members:
                dist = np.full((n, len(scorer.bucket_values)), np.nan)
                if ok.any():
                    rows = np.asarray(todo)[ok]
                    dist[rows] = scorer.distribution_features(X[ok])
                score = dist @ scorer.bucket_values
                results[label] = (label, scorer, dist, score, {todo[j]: m for j, m in errs.items()})
        return [results[label] for label, _ in self.models]

    def _score_profile(self, prof, part: Part, items, todo):
        n = len(items)
        vals = np.full(n, np.nan)
        if not todo:
            return vals, {}
        with tempfile.TemporaryDirectory(prefix="piaa-part-") as tmp:
            if part.shard:  # profiles score files: materialize this part's photos for the duration
                paths = []
                for i in todo:
                    p = Path(tmp) / f"{i:06d}{Path(part.members[i]).suffix}"
                    p.write_bytes(items[i])
                    paths.append(str(p))
            else:
                paths = [items[i] for i in todo]
            scores, errs = prof.score_with_errors(paths)
        vals[todo] = scores
        return vals, {todo[j]: f"profile {prof.name}: {m}" for j, m in errs.items()}


def _features_per_item(scorer, items):
    """``scorer.features(items)``; if the batch itself fails (not a per-photo decode error), one at a time."""
    try:
        return scorer.features(items)
    except Exception:
        rows, errs = [], {}
        dim = None
        for j, it in enumerate(items):
            try:
                X, e = scorer.features([it])
                rows.append(X[0])
                dim = X.shape[1]
                if 0 in e:
                    errs[j] = e[0]
            except Exception as exc:
                rows.append(None)
                errs[j] = f"cannot score: {exc}"
        dim = dim or 1
        X = np.stack([r if r is not None else np.full(dim, np.nan, dtype=np.float32) for r in rows])
        return X, errs


def write_atomic_parquet(table, path: Path, metadata: Optional[dict] = None) -> None:
    """Write ``table`` to ``path`` through a temp file in the same folder and a rename: a reader (or a
    resumed run) sees the whole file or none of it, even after kill -9."""
    import pyarrow.parquet as pq

    path = Path(path)
    if metadata:
        meta = dict(table.schema.metadata or {})
        meta.update({k.encode(): v.encode() for k, v in metadata.items()})
        table = table.replace_schema_metadata(meta)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=str(path.parent))
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
