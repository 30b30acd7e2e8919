"""The photo libraries a server offers: discovery, ids, features in memory, display-size JPEGs.

A scan walks every configured folder (recursively; hidden files and folders skipped), gives each new photo a
database id (stable across restarts: the key is library folder + relative path), marks vanished ones missing and
queues new or changed ones for feature extraction. Extraction runs in a background thread through the generic
scorer's feature extractors, i.e. the shared feature cache (a photo whose bytes were seen before is never
recomputed), and keeps, in memory, one float32 row per photo plus its generic score: ranking a whole library is
then one matrix-vector product.

Only files whose real path lies inside a configured library are listed or served (a symlink pointing elsewhere
is skipped); clients address photos by id only.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from sqlalchemy import select

from piaa.errors import FileMissingError
from piaa.service.persistence import Database, Image

log = logging.getLogger("piaa.serve")

SIZES = {"display": 1600, "thumb": 480}
BATCH = 32


@dataclass
class Progress:
    state: str = "starting"          # starting | scanning | extracting | ready | error
    total: int = 0                   # photos present in the libraries
    done: int = 0                    # photos whose features are known (or that failed)
    failed: int = 0
    message: str = ""
    started: float = 0.0
    finished: float = 0.0
    found: Optional[Dict[str, int]] = None   # the last scan: new, changed, removed photos

    def as_dict(self) -> dict:
        return {"state": self.state, "total": self.total, "done": self.done, "failed": self.failed,
                "ready": self.state == "ready", "message": self.message, "found": self.found,
                "seconds": round((self.finished or time.time()) - self.started, 1) if self.started else 0.0}


def _inside(path: Path, root: Path) -> bool:
    try:
        Path(os.path.realpath(path)).relative_to(root)
        return True
    except ValueError:
        return False


class Library:
    def __init__(self, roots: Sequence, db: Database, data_dir: Path, scorer=None, model: Optional[str] = None):
        self.roots = [Path(os.path.realpath(r)) for r in roots]
        for r in self.roots:
            if not r.is_dir():
                raise FileMissingError(f"library folder not found: {r}")
        self.db = db
        self.thumb_dir = Path(data_dir) / "display"
        self._scorer = scorer
        self.model = model
        self.progress = Progress()
        self._lock = threading.RLock()
        self._ready = threading.Event()
        self._rows: Dict[int, np.ndarray] = {}       # image id -> feature row (float32)
        self._generic: Dict[int, float] = {}
        self._errors: Dict[int, str] = {}
        self._matrix: Optional[Tuple[np.ndarray, np.ndarray, np.ndarray]] = None   # ids, X, generic
        self._present: Dict[int, Path] = {}          # image id -> absolute path (present photos)
        self._names: Dict[int, str] = {}
        self._order: List[int] = []
        self._worker: Optional[threading.Thread] = None
        self._rescan = threading.Event()
        self._stop = threading.Event()
        #: called (in the worker thread) after each pass over the photos, before the library says "ready":
        #: what every page needs about all photos (capture times, groups) is computed once, not per request
        self.when_ready: List[Callable[[], None]] = []

    # ---- the model --------------------------------------------------------------------------------------------
    @property
    def scorer(self):
        if self._scorer is None:
            from piaa.profiles.generic import load_generic

            self._scorer = load_generic(self.model)
        return self._scorer

    @property
    def score_range(self) -> Tuple[float, float]:
        lo, hi = self.scorer.score_range
        return float(lo), float(hi)

    # ---- scanning ---------------------------------------------------------------------------------------------
    def scan(self) -> List[int]:
        """Bring the images table in line with the folders; returns ids that need (re-)extraction."""
        from piaa.io.discovery import iter_image_files

        found: Dict[Tuple[str, str], Tuple[Path, int, float]] = {}
        for root in self.roots:
            for p in iter_image_files(root, recursive=True):
                if not _inside(p, root):
                    continue
                try:
                    st = p.stat()
                except OSError:
                    continue
                found[(str(root), p.relative_to(root).as_posix())] = (p, int(st.st_size), float(st.st_mtime))
        todo: List[int] = []
        removed = 0
        with self.db.write() as s:
            existing = {(im.library, im.relpath): im for im in s.scalars(select(Image))}
            for key, im in existing.items():
                hit = found.get(key)
                if hit is None:
                    removed += not im.missing
                    im.missing = True
                    continue
                _, size, mtime = hit
                if im.missing or im.size != size or im.mtime != mtime:
                    im.missing, im.size, im.mtime = False, size, mtime
                    todo.append(im.id)
            new = [Image(library=k[0], relpath=k[1], size=v[1], mtime=v[2], missing=False)
                   for k, v in found.items() if k not in existing]
            s.add_all(new)
            s.flush()
            self.progress.found = {"new": len(new), "changed": len(todo), "removed": removed}
            todo.extend(im.id for im in new)
            present = [im for im in list(existing.values()) + new if not im.missing]
        present.sort(key=lambda im: (self.roots.index(Path(im.library)) if Path(im.library) in self.roots
                                     else len(self.roots), im.relpath))
        with self._lock:
            self._present = {im.id: Path(im.library) / im.relpath for im in present}
            # names are kept for photos a rescan removed: a request that listed ids just before the rescan
            # still names them (ids are stable keys: folder + relative path), instead of failing with a 500
            self._names.update({im.id: self._display_name(im) for im in present})
            self._order = [im.id for im in present]
            for i in todo:
                self._rows.pop(i, None)
                self._generic.pop(i, None)
                self._errors.pop(i, None)
            for i in list(self._rows):
                if i not in self._present:
                    self._rows.pop(i)
                    self._generic.pop(i, None)
            self._matrix = None
            todo = [i for i in self._order if i not in self._rows and i not in self._errors]
        return todo

    def _display_name(self, im: Image) -> str:
        if len(self.roots) == 1:
            return im.relpath
        return f"{Path(im.library).name}/{im.relpath}"

    # ---- background extraction --------------------------------------------------------------------------------
    def start(self) -> None:
        """Scan now (so the photo list is complete when the server answers), extract in the background."""
        self.progress.started = time.time()
        self.progress.state = "scanning"
        todo = self.scan()
        self._worker = threading.Thread(target=self._run, args=(todo,), name="piaa-features", daemon=True)
        self._worker.start()

    def request_rescan(self) -> None:
        """Ask the worker to scan again; from now until it is done the progress says so (``found`` is None),
        so a client that polls after asking never reads the previous scan's result."""
        if self.progress.state in ("ready", "error"):
            self.progress.found = None
            self.progress.state = "scanning"
        self._rescan.set()

    def stop(self) -> None:
        self._stop.set()
        self._rescan.set()

    def _run(self, todo: Optional[List[int]]) -> None:
        while not self._stop.is_set():
            try:
                self._extract_all(todo)
            except Exception as exc:  # keep serving what is known; say why in the progress
                log.exception("feature extraction failed")
                self.progress.state, self.progress.message = "error", f"{type(exc).__name__}: {exc}"
                self.progress.finished = time.time()
                self._ready.set()
            self._rescan.wait()
            self._rescan.clear()
            todo = None

    def _extract_all(self, todo: Optional[List[int]]) -> None:
        p = self.progress
        if todo is None:
            p.started, p.finished, p.message = time.time(), 0.0, ""
            p.state = "scanning"
            todo = self.scan()
        with self._lock:
            p.total = len(self._order)
            p.done = p.total - len(todo)
            p.failed = sum(1 for i in self._order if i in self._errors)
        if todo:                     # routes wait for the first extraction only; after a rescan they use what is known
            p.state = "extracting"
            for k in range(0, len(todo), BATCH):
                if self._stop.is_set():
                    return
                chunk = todo[k:k + BATCH]
                self._extract(chunk)
                p.done = min(p.total, p.done + len(chunk))
        p.message = "reading capture times, grouping bursts"
        for fn in list(self.when_ready):
            try:
                fn()
            except Exception:  # a page that needs it computes it itself (and says why it failed)
                log.exception("preparing the library's facts failed")
        p.state, p.finished, p.message = "ready", time.time(), ""
        log.info("library ready: %d photos (%d unreadable) in %.1f s", p.total, p.failed, p.finished - p.started)
        self._ready.set()

    def _extract(self, ids: List[int]) -> None:
        with self._lock:
            paths = [str(self._present[i]) for i in ids if i in self._present]
            ids = [i for i in ids if i in self._present]
        if not ids:
            return
        X, errors = self.scorer.features(paths)
        ok = np.array([i not in errors and np.isfinite(X[i]).all() for i in range(len(ids))], dtype=bool)
        g = np.full(len(ids), np.nan)
        if ok.any():
            g[ok] = self.scorer.score_features(X[ok])
        with self._lock:
            for j, i in enumerate(ids):
                if ok[j] and np.isfinite(g[j]):
                    self._rows[i] = np.asarray(X[j], dtype=np.float32)
                    self._generic[i] = float(g[j])
                else:
                    self._errors[i] = errors.get(j, "could not be scored")
                    self.progress.failed += 1
            self._matrix = None

    def wait_ready(self, timeout: float) -> bool:
        return self._ready.wait(timeout)

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    # ---- lookups ----------------------------------------------------------------------------------------------
    def ids(self) -> List[int]:
        with self._lock:
            return list(self._order)

    def exists(self, image_id: int) -> bool:
        with self._lock:
            return image_id in self._present

    def name(self, image_id: int) -> str:
        with self._lock:
            return self._names[image_id]

    def path(self, image_id: int) -> Optional[Path]:
        with self._lock:
            p = self._present.get(image_id)
        if p is None:
            return None
        root = next((r for r in self.roots if _inside(p, r)), None)
        return p if root is not None else None

    def error(self, image_id: int) -> Optional[str]:
        with self._lock:
            return self._errors.get(image_id)

    def matrix(self) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ids, features [n, d] float32, generic scores) of every present photo with features, library order."""
        with self._lock:
            if self._matrix is None:
                ids = np.array([i for i in self._order if i in self._rows], dtype=np.int64)
                X = np.stack([self._rows[i] for i in ids]) if len(ids) else np.zeros((0, 0), np.float32)
                g = np.array([self._generic[i] for i in ids], dtype=np.float64)
                self._matrix = (ids, X, g)
            return self._matrix

    def rows(self, ids: Sequence[int]) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(mask of ids with features, their feature rows, their generic scores)."""
        with self._lock:
            ok = np.array([i in self._rows for i in ids], dtype=bool)
            sel = [i for i in ids if i in self._rows]
            X = np.stack([self._rows[i] for i in sel]).astype(np.float64) if sel else np.zeros((0, 0))
            g = np.array([self._generic[i] for i in sel], dtype=np.float64)
        return ok, X, g

    # ---- display ----------------------------------------------------------------------------------------------
    def display_jpeg(self, image_id: int, size: str = "display") -> Path:
        """A JPEG of the photo whose longer side is at most ``SIZES[size]`` (made once, kept in the data dir)."""
        from PIL import Image as PILImage

        from piaa.io.images import load_image

        src = self.path(image_id)
        if src is None:
            raise FileMissingError(image_id)
        st = src.stat()
        out = self.thumb_dir / f"{image_id}-{size}-{st.st_size}-{int(st.st_mtime_ns)}.jpg"
        if out.is_file():
            return out
        side = SIZES[size]
        im = load_image(src, target_size=side)
        im.thumbnail((side, side), PILImage.Resampling.LANCZOS)
        self.thumb_dir.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(f".{threading.get_ident()}.tmp")
        im.save(tmp, "JPEG", quality=85, optimize=True)
        os.replace(tmp, out)
        for old in self.thumb_dir.glob(f"{image_id}-{size}-*.jpg"):
            if old != out:
                old.unlink(missing_ok=True)
        return out
