"""The service's library model: refitted in the background from the ratings of the members who share them.

The model itself is :mod:`piaa.profiles.library_taste` (the profile core); this module only decides *when* to
refit and keeps the current model. A thread polls a cheap fingerprint of the shared ratings every
``POLL_SECONDS``; when it changed, it refits once the ratings have been quiet for ``QUIET_SECONDS`` (a burst of
ratings costs one refit, not one per rating), and at least every ``MAX_STALE_SECONDS`` while ratings keep
arriving. A member who turns ``share_ratings`` off changes the fingerprint, so their ratings leave the model at
that refit. A ranking asked for while the model is behind the ratings refits first
(:meth:`LibraryModelKeeper.ensure_fresh`), at most once per ``QUIET_SECONDS``. ``piaa serve --no-community``
never starts the thread (every ranking then starts from the generic model, as before). The cost of one refit is logged and shown in ``GET /api/me`` (``library_taste.seconds``).
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Optional

log = logging.getLogger("piaa.serve")

POLL_SECONDS = 1.0
QUIET_SECONDS = 2.0
MAX_STALE_SECONDS = 20.0


class LibraryModelKeeper:
    def __init__(self, db, library, enabled: bool = True, poll: float = POLL_SECONDS, quiet: float = QUIET_SECONDS,
                 max_stale: float = MAX_STALE_SECONDS):
        self.db = db
        self.library = library
        self.enabled = bool(enabled)
        self.poll, self.quiet, self.max_stale = float(poll), float(quiet), float(max_stale)
        self._model = None
        self._fitted_for = None          # (fingerprint, feature matrix) of the current model
        self._seen = None                # the last fingerprint read, and when it changed
        self._changed_at = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.refits = 0

    @property
    def model(self):
        """The current :class:`~piaa.profiles.library_taste.LibraryTaste`, or None (off, or too few members)."""
        return self._model if self.enabled else None

    def start(self) -> None:
        if not self.enabled or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="piaa-library-taste", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.poll):
            try:
                self.tick()
            except Exception:            # a failed refit keeps the previous model; the server goes on
                log.exception("library model refit failed; keeping the previous one")

    def tick(self, force: bool = False) -> bool:
        """One poll: refit when the shared ratings (or the library's photos) changed and the ratings have been
        quiet long enough, or have kept changing for ``max_stale``. True when it refitted."""
        from piaa.service import queries

        if not self.library.ready:
            return False
        version = queries.shared_version(self.db)
        now = time.monotonic()
        if version != self._seen:
            self._seen, self._changed_at = version, now
        mat = self.library.matrix()
        if self._fitted_for is not None and self._fitted_for[0] == version and self._fitted_for[1] is mat:
            return False
        since_fit = now - (self._fitted_for[2] if self._fitted_for is not None else -1e9)
        if not force and now - self._changed_at < self.quiet and since_fit < self.max_stale:
            return False
        self.refit(version, mat)
        return True

    def ensure_fresh(self) -> None:
        """Called before a ranking is computed: when members rated since the last refit (and that refit is
        older than ``quiet``, or gave no model yet), refit now instead of waiting for the next poll, so a ranking
        asked for right after a burst of ratings already starts from them. Concurrent callers wait for the one
        refit."""
        from piaa.service import queries

        if not self.enabled or not self.library.ready:
            return
        version = queries.shared_version(self.db)
        done = self._fitted_for
        if done is not None and done[0] == version and done[1] is self.library.matrix():
            return
        if done is not None and self._model is not None and time.monotonic() - done[2] < self.quiet:
            return                       # refitted moments ago: good enough, the poll catches up
        self.refit(version)

    def refit(self, version=None, mat=None) -> None:
        from piaa.profiles.library_taste import fit_library_taste
        from piaa.service import queries

        with self._lock:
            version = version if version is not None else queries.shared_version(self.db)
            mat = mat if mat is not None else self.library.matrix()
            done = self._fitted_for
            if done is not None and done[0] == version and done[1] is mat:
                return                   # another thread refitted while this one waited for the lock
            ids, X, _ = mat
            ratings = queries.shared_ratings(self.db)
            model = fit_library_taste(ids, X, ratings) if len(ids) >= 2 else None
            self._model = model
            self._fitted_for = (version, mat, time.monotonic())
            self.refits += 1
            if model is not None:
                log.info("library model refitted: %d people, %d ratings, %.2f s", model.people, model.ratings,
                         model.seconds)
