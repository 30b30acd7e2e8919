"""The detail cache: a second cull (or ``piaa score --detail --faces``) of the same photos decodes none of them and
says the same; damaged entries are recomputed; only the default detector's faces are kept."""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import gaussian_filter, uniform_filter1d
from test_cull_checks import fake_detector

from piaa.profiles import photo_detail
from piaa.profiles.cull import CullSettings, check_groups, cull, reasons_by_path
from piaa.profiles.detail_cache import DetailStore, pack, unpack


def _save(a, path, when):
    ex = Image.Exif()
    ex.get_ifd(0x8769)[0x9003] = when.strftime("%Y:%m:%d %H:%M:%S")
    Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).save(path, quality=95, exif=ex.tobytes())


@pytest.fixture
def shoot(tmp_path):
    """Two bursts of three 480 x 320 frames (sharp, defocused, shaken)."""
    t = datetime(2026, 6, 1, 10, 0, 0)
    paths = []
    for b in range(2):
        rng = np.random.default_rng(b)
        a = sum(gaussian_filter(rng.standard_normal((320, 480, 1)), (s, s, 0)) * s for s in (0.7, 2, 6))
        a = a + np.array([0.0, 0.3, -0.3]) * a.std()
        a = ((a - a.min()) / (a.max() - a.min()) * 200 + 25).astype(np.float32)
        for k, im in enumerate((a, gaussian_filter(a, (1.8, 1.8, 0)), uniform_filter1d(a, 11, axis=1))):
            p = tmp_path / f"b{b}_{k}.jpg"
            _save(im, p, t + timedelta(minutes=5 * b, seconds=k))
            paths.append(str(p))
    return paths


@pytest.fixture
def fake_is_default(monkeypatch):
    """The synthetic detector stands for the default one, so its faces are cached like the default's."""
    monkeypatch.setattr(photo_detail, "is_default_detector", lambda d: d is None or d is fake_detector)


def _no_decoding(monkeypatch):
    import piaa.detail.decode as decode

    def refuse(*a, **k):
        raise AssertionError("decoded although cached")

    monkeypatch.setattr(decode, "load_native", refuse)


def _verdicts(paths, cache, **kw):
    groups = [[0, 1, 2], [3, 4, 5]]
    v = check_groups(paths, groups, CullSettings(), fake_detector, cache=cache, **kw)
    return {gi: (x.passed, x.reasons, {k: f.record() for k, f in x.facts.items()}) for gi, x in v.items()}


def test_a_second_check_decodes_nothing_and_agrees(shoot, tmp_path, monkeypatch, fake_is_default):
    cache = str(tmp_path / "c" / "features.sqlite")
    cold = _verdicts(shoot, cache)
    assert cold[0][0] == [0] and cold[1][0] == [0]
    assert cold == _verdicts(shoot, None)                 # caching changes nothing
    _no_decoding(monkeypatch)
    seconds: dict = {}
    assert _verdicts(shoot, cache, seconds=seconds) == cold
    assert "decode" not in seconds and "faces" not in seconds


def test_cull_end_to_end_warm(shoot, monkeypatch, fake_is_default):
    cold = cull(shoot, quality=None, detector=fake_detector)
    _no_decoding(monkeypatch)
    warm = cull(shoot, quality=None, detector=fake_detector)
    assert reasons_by_path(warm) == reasons_by_path(cold)


def test_damaged_entries_are_recomputed_never_a_crash(shoot, tmp_path, fake_is_default):
    cache = tmp_path / "features.sqlite"
    cold = _verdicts(shoot, str(cache))
    con = sqlite3.connect(cache)
    rows = con.execute("SELECT image_hash, detail_key, data FROM detail").fetchall()
    assert len(rows) == 6
    for n, (h, k, data) in enumerate(rows):
        bad = [b"", b"garbage", data[: len(data) // 2], data.replace(b'"shape"', b'"shope"'), b"PK\x03\x04",
               data[:-10]][n]
        con.execute("UPDATE detail SET data=? WHERE image_hash=? AND detail_key=?", (bad, h, k))
    con.commit()
    con.close()
    assert _verdicts(shoot, str(cache)) == cold
    store = DetailStore(str(cache))
    assert len(store.load(shoot, store.hashes(shoot))) == 6   # rewritten whole


def test_another_detectors_faces_are_not_kept(shoot, tmp_path):
    cache = str(tmp_path / "features.sqlite")
    _verdicts(shoot, cache)                                  # fake_detector is not the default: not cached
    store = DetailStore(cache)
    found = store.load(shoot, store.hashes(shoot))
    assert len(found) == 6 and all(d.faces_by_side == {} and d.measures for d in found.values())


def test_pack_unpack_keeps_faces_and_measures(shoot, tmp_path, fake_is_default):
    d = photo_detail.inspect(shoot[0], detector=fake_detector, faces_long_side=200)
    d.faces_by_side["200"] = d.faces
    back = unpack(d.path, pack(d))
    assert back.shape == d.shape and back.native_size == d.native_size
    assert [f.record() for f in back.faces_by_side["200"]] == [f.record() for f in d.faces]
    (k, det), = d.measures.items()
    assert back.measures[k].record() == det.record()
    with pytest.raises(ValueError):
        unpack(d.path, b"\x00" * 40)


def test_score_detail_and_faces_warm(shoot, capsys, monkeypatch, fake_is_default):
    from piaa.cli.main import main

    monkeypatch.setattr(photo_detail, "default_detector", lambda turned=True: fake_detector)
    assert main(["score", shoot[1], "--faces", "--detail", "--format", "json", "-q"]) == 0
    cold = json.loads(capsys.readouterr().out)
    _no_decoding(monkeypatch)
    assert main(["score", shoot[1], "--faces", "--detail", "--format", "json", "-q"]) == 0
    assert json.loads(capsys.readouterr().out) == cold


def test_the_version_key_follows_the_detail_source(monkeypatch, tmp_path):
    from piaa.detail import focus
    from piaa.profiles import detail_cache

    before = detail_cache.version_key()
    copy = tmp_path / "focus.py"
    copy.write_text(open(focus.__file__).read() + "\n# an edit\n")
    monkeypatch.setattr(focus, "__file__", str(copy))
    detail_cache.version_key.cache_clear()
    try:
        assert detail_cache.version_key() != before
    finally:
        monkeypatch.undo()
        detail_cache.version_key.cache_clear()
    assert detail_cache.version_key() == before
