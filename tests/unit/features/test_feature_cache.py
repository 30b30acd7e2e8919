"""Feature cache: exact round trips, concurrent writer processes, killed writers, zero recomputation on re-run."""
import multiprocessing as mp
import os
import signal
import sqlite3

import numpy as np
import pytest
from PIL import Image
from piaa.features import FeatureCache, FeatureExtractor

KEY = "tiny|fp|pooled|float32|v1"


def _vec(seed: int, shape=(16,), dtype=np.float32) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def test_round_trip_keeps_values_dtype_and_shape(tmp_path):
    cache = FeatureCache(tmp_path / "f.sqlite")
    items = {"a" * 32: _vec(1), "b" * 32: _vec(2, (4, 3, 2), np.float16), "c" * 32: _vec(3, (0,))}
    cache.put_many(items, KEY)
    got = FeatureCache(tmp_path / "f.sqlite").get_many(list(items), KEY)  # a fresh connection reads it back
    assert set(got) == set(items)
    for h, a in items.items():
        assert got[h].dtype == a.dtype and got[h].shape == a.shape
        np.testing.assert_array_equal(got[h], a)


def test_missing_keys_and_other_models_are_absent(tmp_path):
    cache = FeatureCache(tmp_path / "f.sqlite")
    cache.put_many({"h1": _vec(1)}, KEY)
    assert cache.get_many(["h1", "nope"], KEY).keys() == {"h1"}
    assert cache.get_many(["h1"], "another|model") == {}
    assert cache.get_many([], KEY) == {}
    assert cache.count(KEY) == 1 and cache.count("another|model") == 0


def test_overwrite_replaces_the_row(tmp_path):
    cache = FeatureCache(tmp_path / "f.sqlite")
    cache.put_many({"h": _vec(1)}, KEY)
    cache.put_many({"h": _vec(2)}, KEY)
    np.testing.assert_array_equal(cache.get_many(["h"], KEY)["h"], _vec(2))
    assert cache.count() == 1


def test_many_keys_are_read_in_chunks(tmp_path):
    cache = FeatureCache(tmp_path / "f.sqlite")
    items = {f"{i:032x}": np.full(3, i, np.float32) for i in range(1200)}  # > SQLite's host-parameter chunk
    cache.put_many(items, KEY)
    got = cache.get_many(list(items), KEY)
    assert len(got) == 1200 and all(got[h][0] == a[0] for h, a in items.items())


# ---- several processes --------------------------------------------------------------------------------------
def _writer(db, worker, rounds, start_evt):
    """Writes shared keys (same value from every worker) and the worker's own keys, many small transactions."""
    cache = FeatureCache(db, timeout_s=30)
    start_evt.wait()
    for r in range(rounds):
        cache.put_many({f"shared-{r}": _vec(r), f"own-{worker}-{r}": _vec(1000 * (worker + 1) + r)}, KEY)
        cache.get_many([f"shared-{r}"], KEY)  # readers interleave with writers
    cache.close()


def test_concurrent_writer_processes_neither_fail_nor_corrupt(tmp_path):
    db = tmp_path / "f.sqlite"
    FeatureCache(db)  # schema exists before the race starts
    ctx = mp.get_context("spawn")
    start = ctx.Event()
    workers, rounds = 4, 40
    procs = [ctx.Process(target=_writer, args=(str(db), w, rounds, start)) for w in range(workers)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * workers

    cache = FeatureCache(db)
    assert cache.count(KEY) == rounds + workers * rounds
    for r in range(rounds):
        np.testing.assert_array_equal(cache.get_many([f"shared-{r}"], KEY)[f"shared-{r}"], _vec(r))
        for w in range(workers):
            got = cache.get_many([f"own-{w}-{r}"], KEY)[f"own-{w}-{r}"]
            np.testing.assert_array_equal(got, _vec(1000 * (w + 1) + r))
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def _killed_writer(db, ready_evt):
    """Commits one batch, then dies (SIGKILL from the parent) in the middle of a second transaction."""
    cache = FeatureCache(db)
    cache.put_many({"committed": _vec(1)}, KEY)
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("BEGIN IMMEDIATE")
    con.execute("INSERT INTO features VALUES (?,?,?,?,?)", ("half-written", KEY, "<f4", "16", _vec(2).tobytes()))
    ready_evt.set()
    signal.pause()


@pytest.mark.skipif(not hasattr(signal, "pause"), reason="needs POSIX signals")
def test_killed_writer_leaves_a_readable_and_writable_db(tmp_path):
    db = tmp_path / "f.sqlite"
    FeatureCache(db)
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    proc = ctx.Process(target=_killed_writer, args=(str(db), ready))
    proc.start()
    assert ready.wait(60), "writer did not start"
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(30)
    assert proc.exitcode == -signal.SIGKILL

    cache = FeatureCache(db, timeout_s=5)
    got = cache.get_many(["committed", "half-written"], KEY)
    assert got.keys() == {"committed"}  # the open transaction vanished whole
    cache.put_many({"after": _vec(3)}, KEY)  # and its write lock is gone
    assert cache.count(KEY) == 2


# ---- the extractor on top of the cache ----------------------------------------------------------------------
class CountingEngine:
    """Wraps a real engine and counts the images that reached the network."""

    name = "counting"
    max_concurrency = 1
    preferred_batch = 4

    def __init__(self, inner):
        self.inner, self.n = inner, 0

    def __call__(self, batch):
        self.n += len(batch)
        return self.inner(batch)


def _photos(folder, n):
    folder.mkdir()
    paths = []
    for i in range(n):
        rng = np.random.default_rng(i)
        p = folder / f"p{i}.{'png' if i % 2 else 'jpg'}"
        Image.fromarray(rng.integers(0, 255, (40 + i, 50, 3), dtype=np.uint8)).save(p)
        paths.append(p)
    return paths


@pytest.fixture
def tiny_torch(monkeypatch):
    """Registers the tiny backbone and runs torch on one thread (torch imported lazily, see below)."""
    import torch
    from tiny_backbone import register_tiny  # not at module level: spawned writer processes skip torch

    monkeypatch.setenv("PIAA_THREADS", "1")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield register_tiny
    torch.set_num_threads(before)


def _extractor(db):
    from piaa.features.engines import TorchEngine

    fx = FeatureExtractor("tiny_cache", "multilevel", cache=db, batch_size=4, engine="torch")
    fx._engine = CountingEngine(TorchEngine("tiny_cache", "multilevel"))
    return fx


def test_rerun_recomputes_nothing(tmp_path, tiny_torch):
    tiny_torch("tiny_cache", tmp_path)
    paths = _photos(tmp_path / "photos", 10)
    db = tmp_path / "f.sqlite"
    first = _extractor(db)
    res1 = first.extract(paths)
    assert first.engine.n == 10 and not res1.errors

    again = _extractor(db)  # a new run: new extractor, new connection
    res2 = again.extract(paths + [str(p) for p in reversed(paths)])
    assert again.engine.n == 0
    np.testing.assert_array_equal(res2.features[:10], res1.features)
    np.testing.assert_array_equal(res2.features[10:], res1.features[::-1])

    # an edited photo is new content: only it is computed
    Image.fromarray(np.zeros((30, 30, 3), np.uint8)).save(paths[3])
    third = _extractor(db)
    res3 = third.extract(paths)
    assert third.engine.n == 1
    assert not np.allclose(res3.features[3], res1.features[3])


def test_interrupted_extraction_keeps_finished_batches(tmp_path, tiny_torch):
    tiny_torch("tiny_cache", tmp_path)
    paths = _photos(tmp_path / "photos", 12)
    db = tmp_path / "f.sqlite"
    fx = _extractor(db)
    calls = {"n": 0}
    inner = fx._engine

    def dies_on_third_batch(batch):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return inner(batch)

    dies_on_third_batch.max_concurrency, dies_on_third_batch.preferred_batch = 1, 4
    fx._engine = dies_on_third_batch
    with pytest.raises(KeyboardInterrupt):
        fx.extract(paths)
    saved = FeatureCache(db).count(fx.model_key)
    assert saved == 8  # two finished batches of 4

    rerun = _extractor(db)
    res = rerun.extract(paths)
    assert rerun.engine.n == 12 - saved and not res.errors


def test_content_hash_reads_a_file_once_then_answers_from_the_memo(tmp_path, monkeypatch):
    from piaa.features import cache as cache_module
    from piaa.io import hashing

    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"not really a jpeg, but bytes to hash")
    monkeypatch.setattr(cache_module, "RACY_NS", 0)    # a file just written counts as settled
    cache = FeatureCache(tmp_path / "f.sqlite")
    first = cache.content_hash(photo)
    assert first == hashing.image_file_hash(photo)
    assert cache.content_hash(tmp_path / "gone.jpg") is None
    assert cache.content_hash(tmp_path) is None             # a folder is not a photo

    def no_read(path, *a, **k):
        raise AssertionError("the memo should answer")

    monkeypatch.setattr(hashing, "image_file_hash", no_read)
    assert FeatureCache(tmp_path / "f.sqlite").content_hash(photo) == first
