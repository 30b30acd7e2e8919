"""`piaa cull` on real photos: OASIS images turned into bursts (re-framed copies with EXIF capture times), some
stored as HEIC, next to photos of the same subjects that are not duplicates ("Lake 9" / "Lake 15")."""
from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest
from PIL import Image, ImageEnhance

from piaa.profiles.cull import CullSettings, cull
from piaa.profiles.cull_checks import REASON_TASTE

pytestmark = pytest.mark.shared_data

SHOTS = [("Lake 9.jpg", 3), ("Lake 15.jpg", 1), ("Dog 9.jpg", 3), ("Dog 21.jpg", 1), ("Beach 2.jpg", 2),
         ("Cat 9.jpg", 1)]


def test_cull_groups_real_bursts_and_keeps_same_subject_photos_apart(shared_data, tmp_path):
    pillow_heif = pytest.importorskip("pillow_heif")
    rng = np.random.default_rng(0)
    t = datetime(2026, 6, 1, 9, 0, 0)
    truth, paths = [], []
    for b, (name, frames) in enumerate(SHOTS):
        im = Image.open(shared_data / "oasis" / "images" / name).convert("RGB")
        w, h = im.size
        for j in range(frames):
            f = im if j == 0 else ImageEnhance.Brightness(
                im.crop((int(rng.integers(0, 40)), int(rng.integers(0, 30)), w - int(rng.integers(0, 40)),
                         h - int(rng.integers(0, 30)))).resize((w, h))).enhance(float(rng.uniform(0.85, 1.15)))
            ex = Image.Exif()
            ex.get_ifd(0x8769)[0x9003] = (t + timedelta(seconds=0.5 * j)).strftime("%Y:%m:%d %H:%M:%S")
            if b == 4:   # the beach burst comes from a phone
                p = tmp_path / f"IMG_{len(paths):04d}.HEIC"
                pillow_heif.from_pillow(f).save(p, exif=ex.tobytes())
            else:
                p = tmp_path / f"IMG_{len(paths):04d}.JPG"
                f.save(p, quality=90, exif=ex.tobytes())
            paths.append(str(p))
            truth.append(b)
        t += timedelta(seconds=40)
    res = cull(paths)
    assert not res.errors and all(tm is not None for tm in res.times)
    got = sorted(sorted(g.members) for g in res.groups)
    want = sorted(sorted(i for i, b in enumerate(truth) if b == k) for k in range(len(SHOTS)))
    assert got == want
    for g in res.groups:   # the pick is the best combined score of the frames the checks at 100 % let through
        # (the re-framed copies are up-sampled crops, softer than the original frame: the focus check may reject them)
        passing = [i for i in g.members if i == g.pick or g.reasons.get(i) == [REASON_TASTE]]
        assert res.combined[g.pick] == max(res.combined[i] for i in passing)
        assert g.pick not in g.reasons and all(g.reasons.get(i) for i in g.members if i != g.pick)
    plain = cull(paths, settings=CullSettings(checks=frozenset()))   # thumbnails only: the best combined score
    for g in plain.groups:
        assert plain.combined[g.pick] == max(plain.combined[i] for i in g.members)
