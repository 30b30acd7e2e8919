"""``piaa cull``'s checks at 100 % (closed eyes, soft subject, motion blur) on the library's bursts, in the
background, so the Cull view and the stacks never suggest a blinking or soft frame over one that passes.

Decoding a 24-megapixel photo and reading its faces costs ~0.15-0.2 s, so the checks never run on a request:
after each analysis pass (once the groups are known) one worker thread sends every group of two or more, a few
groups at a time, to one process of its own at the lowest priority (nice 19: its decoding never holds the
interpreter lock the requests need), and publishes what it has now and then. Pages read the last published verdicts (or none:
the picks are then taste + quality, as before) and say whether the checks are "running", "ready" or "off".

Verdicts are kept in ``cull-checks.sqlite`` in the data folder, keyed by the group's frames (their content hashes,
in capture order), the checks asked for, their margins, whether faces were read and :data:`CHECKS_VERSION`: a
restart re-reads them instead of re-judging, and a rescan that adds photos re-judges only the groups that changed.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from piaa.profiles.cull import CullSettings
from piaa.profiles.cull_checks import CHECKS, FrameFacts, GroupVerdict

log = logging.getLogger("piaa.serve")

#: Bump when the checks judge differently (a stored verdict of another version is judged again).
CHECKS_VERSION = 1
#: Groups judged per call of ``check_groups``: small, so a rescan or a stop is noticed within seconds.
CHUNK = 4
#: While running, newly judged groups reach the pages at most this often (each publication makes every
#: person's suggestions be worked out again on their next page).
PUBLISH_SECONDS = 20.0
STORE_NAME = "cull-checks.sqlite"


# ---- the stored verdicts ---------------------------------------------------------------------------------------
def encode(v: GroupVerdict) -> str:
    def num(x):
        return None if x is None or not math.isfinite(x) else round(float(x), 6)

    facts = {str(k): {"sharpness": num(f.sharpness), "subject": f.subject, "eyes": f.eyes, "faces": int(f.faces),
                      "smear": num(f.smear)} for k, f in v.facts.items()}
    return json.dumps({"passed": [int(k) for k in v.passed], "reasons": {str(k): list(r) for k, r in v.reasons.items()},
                       "facts": facts})


def decode(text: str) -> GroupVerdict:
    d = json.loads(text)
    nan = float("nan")
    facts = {int(k): FrameFacts(sharpness=nan if f["sharpness"] is None else f["sharpness"], subject=f["subject"],
                                eyes=f["eyes"], faces=f["faces"], smear=nan if f["smear"] is None else f["smear"])
             for k, f in d["facts"].items()}
    return GroupVerdict([int(k) for k in d["passed"]], {int(k): list(r) for k, r in d["reasons"].items()}, facts)


class VerdictStore:
    """One SQLite file: group key -> verdict (JSON). One connection per call: the worker writes, nothing else."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._conn() as con:
            con.execute("CREATE TABLE IF NOT EXISTS verdicts (key TEXT PRIMARY KEY, verdict TEXT NOT NULL, "
                        "judged REAL NOT NULL) WITHOUT ROWID")

    def _conn(self) -> sqlite3.Connection:
        con = sqlite3.connect(str(self.path), timeout=30)
        con.execute("PRAGMA journal_mode=WAL")
        return con

    def get_many(self, keys: Sequence[str]) -> Dict[str, GroupVerdict]:
        out: Dict[str, GroupVerdict] = {}
        keys = list(dict.fromkeys(keys))
        con = self._conn()
        try:
            for i in range(0, len(keys), 500):
                part = keys[i:i + 500]
                q = ",".join("?" * len(part))
                for k, v in con.execute(f"SELECT key, verdict FROM verdicts WHERE key IN ({q})", part):
                    try:
                        out[k] = decode(v)
                    except (ValueError, KeyError, TypeError):   # a damaged row is judged again
                        pass
        finally:
            con.close()
        return out

    def put_many(self, items: Dict[str, GroupVerdict]) -> None:
        if not items:
            return
        con = self._conn()
        try:
            with con:
                con.executemany("INSERT OR REPLACE INTO verdicts (key, verdict, judged) VALUES (?, ?, ?)",
                                [(k, encode(v), time.time()) for k, v in items.items()])
        finally:
            con.close()

    def __len__(self) -> int:
        con = self._conn()
        try:
            return int(con.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0])
        finally:
            con.close()


def content_hash(path: Path, memo=None) -> Optional[str]:
    """The photo's content hash (the feature cache's: its memo answers without reading an unchanged file);
    None when it cannot be read."""
    if memo is not None:
        return memo.content_hash(path)
    from piaa.io.hashing import image_file_hash

    try:
        return image_file_hash(path)
    except OSError:   # unreadable now (deleted, replaced by a folder, too large): no verdict for it
        return None


def group_key(hashes: Sequence[str], settings: CullSettings, faces: bool) -> str:
    h = hashlib.blake2b(digest_size=20)
    h.update(json.dumps([CHECKS_VERSION, sorted(settings.checks), settings.soft_margin, settings.motion_margin,
                         bool(faces), list(hashes)]).encode())
    return h.hexdigest()


# ---- the worker ------------------------------------------------------------------------------------------------
class BackgroundChecks:
    """The checks of one server: ``kick()`` after each analysis pass, ``for_groups(groups)`` on requests."""

    def __init__(self, state, checks: frozenset, store_path: Optional[Path], detector=None, chunk: int = CHUNK,
                 publish_seconds: float = PUBLISH_SECONDS):
        self.state = state
        self.settings = CullSettings(checks=frozenset(checks))
        self.store = VerdictStore(store_path) if store_path is not None and self.settings.checks else None
        self.detector = detector            # None: the face model, loaded by the worker; False: no faces
        self.chunk, self.publish_seconds = chunk, publish_seconds
        self.note: Optional[str] = None
        self.phase = "off" if not self.settings.checks else "waiting"   # waiting | running | ready | off
        self.groups_total = self.groups_done = self.photos = self.judged = self.reused = 0
        self.seconds = 0.0                  # spent judging in this server's life
        self._published: Tuple[object, int, Dict[int, GroupVerdict]] = (None, 0, {})
        self._generation = 0
        self._kick = threading.Event()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._pool = None

    # ---- what requests read (never waits) ----------------------------------------------------------------------
    @property
    def on(self) -> bool:
        return bool(self.settings.checks)

    def for_groups(self, groups) -> Tuple[int, Optional[Dict[int, GroupVerdict]]]:
        """(generation, verdicts by group index) published for exactly these groups; (0, None) when none."""
        got_groups, gen, verdicts = self._published
        if got_groups is not groups or not verdicts:
            return 0, None
        return gen, verdicts

    def word(self, groups=None) -> str:
        """``"off"``, ``"ready"`` (every group of ``groups`` judged) or ``"running"``."""
        if not self.on:
            return "off"
        if self.phase == "ready" and (groups is None or self._published[0] is groups):
            return "ready"
        return "running"

    def status(self) -> dict:
        return {"state": self.word(),
                "checks": [c for c in CHECKS if c in self.settings.checks], "groups": self.groups_total,
                "done": self.groups_done, "photos": self.photos, "judged": self.judged, "reused": self.reused,
                "seconds": round(self.seconds, 1),
                "seconds_per_photo": round(self.seconds / self.judged, 3) if self.judged else None,
                "note": self.note}

    # ---- the thread --------------------------------------------------------------------------------------------
    def kick(self) -> None:
        """The library's groups changed (or are known for the first time): judge what is new."""
        if not self.on:
            return
        self.phase = "running"        # from now on: a client polling after a rescan never reads the last pass's end
        self._kick.set()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="piaa-cull-checks", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._kick.set()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        try:   # a low priority: requests (and the analysis of new photos) go first on a busy machine
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        except (AttributeError, OSError):
            pass
        while not self._stop.is_set():
            self._kick.wait()
            self._kick.clear()
            if self._stop.is_set():
                return
            try:
                self._pass()
            except Exception as exc:  # the pages keep working without verdicts; say why
                log.exception("the checks at 100 % failed")
                self.note = f"the checks at 100 % failed: {type(exc).__name__}: {exc}"
                self.phase = "ready"

    def _faces(self):
        """The face detector the checks use: one given to the server (judged in this worker thread), else
        ``"child"`` — the face model, loaded in the checks' own process — or False with a note when the face model
        is not installed."""
        if self.detector is None:
            if not self.settings.checks & {"eyes", "focus"}:
                self.detector = False
            else:
                note = self._child().submit(_child_faces).result()
                self.detector = "child" if note is None else False
                if note is not None:
                    self.note = f"{note}: eyes are not checked, focus is judged on the sharpest region"
        return self.detector

    def _child(self):
        """The checks' own process (one, nice 19): decoding and measuring there never hold the interpreter lock
        the server's requests need, and the system runs it only when the cores have time to spare."""
        if self._pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_child_start)
        return self._pool

    def _interrupted(self, mat) -> bool:
        return self._stop.is_set() or self._kick.is_set() or self.state.library.matrix() is not mat

    def _pass(self) -> None:
        from piaa.service import photo_facts

        state = self.state
        mat = state.library.matrix()
        ids = mat[0]
        groups = photo_facts.cached(state, "groups")
        if groups is None:          # no groups (an empty library, or grouping failed: the log says why)
            self.groups_total = self.groups_done = self.photos = 0
            if not self._kick.is_set():
                self.phase = "ready"
            return
        multi = [gi for gi, g in enumerate(groups) if len(g) >= 2]
        self.phase, self.groups_total, self.groups_done = "running", len(multi), 0
        self.photos = sum(len(groups[gi]) for gi in multi)
        memo = _memo()
        detector = self._faces()
        faces = detector is not False and bool(self.settings.checks & {"eyes", "focus"})
        # what each group is: its frames' paths and content hashes (unreadable frames are left out)
        work: Dict[int, Tuple[List[int], List[str], str]] = {}
        for gi in multi:
            if self._interrupted(mat):
                return
            pos, paths, hashes = [], [], []
            for k, row in enumerate(groups[gi]):
                p = state.library.path(int(ids[row]))
                h = content_hash(p, memo) if p is not None else None
                if h is not None:
                    pos.append(k)
                    paths.append(str(p))
                    hashes.append(h)
            if len(pos) >= 2:
                work[gi] = (pos, paths, group_key(hashes, self.settings, faces))
        stored = self.store.get_many([w[2] for w in work.values()]) if self.store is not None else {}
        verdicts: Dict[int, GroupVerdict] = {}
        for gi, (pos, _, key) in work.items():
            if key in stored:
                verdicts[gi] = _widen(stored[key], pos)
        self.reused += len(verdicts)
        self.groups_done = len(verdicts) + (len(multi) - len(work))
        self._publish(groups, verdicts)
        todo = [gi for gi in multi if gi in work and gi not in verdicts]
        last = time.monotonic()
        for c in range(0, len(todo), self.chunk):
            if self._interrupted(mat):
                return
            part = todo[c:c + self.chunk]
            t0 = time.perf_counter()
            got = self._judge([work[gi][1] for gi in part], detector)
            spent = time.perf_counter() - t0
            self.seconds += spent
            self.judged += sum(len(work[gi][1]) for gi in part)
            fresh = {}
            for j, gi in enumerate(part):
                v = got.get(j)
                if v is not None:
                    fresh[work[gi][2]] = v
                    verdicts[gi] = _widen(v, work[gi][0])
            if self.store is not None:
                self.store.put_many(fresh)
            self.groups_done += len(part)
            if time.monotonic() - last >= self.publish_seconds:
                self._publish(groups, verdicts)
                last = time.monotonic()
        self._publish(groups, verdicts)
        if not self._kick.is_set():   # else a newer scan's groups are next: still running
            self.phase = "ready"
        log.info("checks at 100 %%: %d groups (%d judged now, %d reused)", len(multi), len(todo), len(work) - len(todo))

    def _judge(self, group_paths: List[List[str]], detector) -> Dict[int, GroupVerdict]:
        """``check_groups`` on a few groups (one thread: the worker must stay one); a group whose photos cannot be
        judged (a file changed into something unreadable) gets no verdict."""
        from piaa.profiles.cull import check_groups

        paths = [p for ps in group_paths for p in ps]
        groups, at = [], 0
        for ps in group_paths:
            groups.append(list(range(at, at + len(ps))))
            at += len(ps)
        try:
            if detector == "child":
                return self._child().submit(_child_judge, paths, groups, self.settings).result()
            return check_groups(paths, groups, self.settings, detector=detector, threads=1)
        except Exception as exc:
            from concurrent.futures.process import BrokenProcessPool

            if isinstance(exc, BrokenProcessPool):    # the process died (out of memory?): the next call starts one
                self._pool = None
            if self._stop.is_set():
                return {}
            if len(group_paths) == 1:
                log.warning("the checks at 100 %% could not judge %s", group_paths[0][0], exc_info=True)
                return {}
        out = {}
        for j, ps in enumerate(group_paths):
            got = self._judge([ps], detector)
            if 0 in got:
                out[j] = got[0]
        return out

    def _publish(self, groups, verdicts: Dict[int, GroupVerdict]) -> None:
        self._generation += 1
        self._published = (groups, self._generation, dict(verdicts))


# ---- the checks' own process -----------------------------------------------------------------------------------
_DETECTOR = None


def _child_start() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)      # Ctrl-C stops the server; the server stops this process
    try:
        os.setpriority(os.PRIO_PROCESS, 0, 19)
    except (AttributeError, OSError):
        pass
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except Exception:  # one BLAS thread is a courtesy, not a need
        pass


def _child_faces() -> Optional[str]:
    """Load the face model in this process; None, or why it cannot run here."""
    global _DETECTOR
    from piaa.profiles.photo_detail import FacesUnavailable, default_detector

    try:
        _DETECTOR = default_detector(turned=False)   # as piaa cull: upright faces (turned ones cost 4-5x)
        return None
    except FacesUnavailable as exc:
        return str(exc)


def _child_judge(paths: List[str], groups: List[List[int]], settings: CullSettings) -> Dict[int, GroupVerdict]:
    from piaa.profiles.cull import check_groups

    if _DETECTOR is None and settings.checks & {"eyes", "focus"}:
        _child_faces()
    return check_groups(paths, groups, settings, detector=_DETECTOR if _DETECTOR is not None else False, threads=1)


def _widen(v: GroupVerdict, pos: List[int]) -> GroupVerdict:
    """A verdict on some frames of a group (indices into ``pos``) as one on the whole group."""
    if pos == list(range(len(pos))):
        return v
    return GroupVerdict([pos[k] for k in v.passed], {pos[k]: r for k, r in v.reasons.items()},
                        {pos[k]: f for k, f in v.facts.items()})


def _memo():
    """The feature cache's content-hash memo (the library's analysis filled it), or None."""
    try:
        from piaa.features.cache import FeatureCache
        from piaa.paths import default_cache_path

        return FeatureCache(default_cache_path())
    except Exception:  # no cache: hash the files
        return None


def parse(text: Optional[str]) -> frozenset:
    """``--cull-checks`` (``all``, ``none`` or ``eyes,focus,motion``): the same parsing as ``piaa cull --checks``."""
    from piaa.profiles.cull_checks import parse_checks

    return parse_checks(text)
