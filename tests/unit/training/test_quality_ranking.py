"""Synthetic degradations for the quality model: each kind really degrades, files are seeded, targets rank."""
import numpy as np
import pytest
from PIL import Image

from piaa.detail.nss import to_gray
from piaa.errors import InputError
from piaa.training.quality_ranking import (
    DEGRADATIONS,
    degrade,
    motion_kernel,
    pair_accuracy,
    pick_sources,
    severity,
    synthetic_targets,
    write_degraded,
)


def _photo(size=96, seed=0):
    """A sharp test image: random blocks with hard edges and fine texture."""
    rng = np.random.default_rng(seed)
    a = np.kron(rng.integers(0, 255, (size // 8, size // 8, 3)), np.ones((8, 8, 1)))
    a = a + rng.normal(0, 6, a.shape)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def _detail(img) -> float:
    """Energy of the finest detail (mean absolute horizontal + vertical difference of the grey image)."""
    g = to_gray(np.asarray(img.convert("RGB")))
    return float(np.abs(np.diff(g, axis=0)).mean() + np.abs(np.diff(g, axis=1)).mean())


@pytest.mark.parametrize("kind", ["gauss_blur", "motion_blur", "down_up"])
def test_blur_kinds_remove_detail_and_more_with_level(kind):
    img = _photo()
    levels = [lv for k, lv in DEGRADATIONS if k == kind]
    d = [_detail(degrade(img, kind, lv, seed=1)) for lv in levels]
    assert d[0] < _detail(img)
    assert all(b < a for a, b in zip(d, d[1:]))


def test_enlarge_scales_the_side_and_softens_each_pixel():
    img = _photo()
    big = degrade(img, "enlarge", 2.0)
    assert big.size == (192, 192)
    assert _detail(big) < _detail(img) * 0.75  # same content spread over twice the pixels


def test_noise_and_jpeg_change_the_pixels_seeded():
    img = _photo()
    n1, n2 = degrade(img, "noise", 20.0, seed=3), degrade(img, "noise", 20.0, seed=3)
    assert np.array_equal(np.asarray(n1), np.asarray(n2))
    diff = np.abs(np.asarray(n1, float) - np.asarray(img, float)).mean()
    assert 10 < diff < 20  # about 0.8 sigma
    j = np.asarray(degrade(img, "jpeg", 8), float)
    assert np.abs(j - np.asarray(img, float)).mean() > 3


def test_motion_kernel_is_a_normalized_line():
    k = motion_kernel(7, 0.0)
    assert k.shape == (7, 7) and np.isclose(k.sum(), 1.0)
    assert np.count_nonzero(k[3]) == 7 and np.count_nonzero(k) == 7
    k45 = motion_kernel(7, 45.0)  # the same length along the diagonal: 5 pixels, all on it
    assert np.count_nonzero(np.diag(k45)) == np.count_nonzero(k45) == 5 and np.isclose(k45.sum(), 1.0)


def test_unknown_degradation_is_refused():
    with pytest.raises(InputError, match="unknown degradation"):
        degrade(_photo(), "swirl", 1.0)
    with pytest.raises(InputError):
        severity("noise", 99.0)


def test_write_degraded_is_deterministic_and_skips_existing(tmp_path):
    src = tmp_path / "a (1).jpg"
    _photo().save(src, quality=95)
    r = write_degraded([src], tmp_path / "out", ["a (1).jpg"])
    assert len(r.paths) == len(DEGRADATIONS) and all(p.is_file() for p in r.paths)
    assert (r.source == 0).all() and r.severity.min() == 1 and r.severity.max() == 3
    first = [p.read_bytes() for p in r.paths]
    for p in r.paths[:3]:
        p.unlink()
    again = write_degraded([src], tmp_path / "out", ["a (1).jpg"])
    assert [p.read_bytes() for p in again.paths] == first


def test_sources_targets_and_pair_accuracy():
    y = np.array([0.2, 0.9, 0.8, 0.95, 0.1])
    part = np.array(["train", "train", "val", "train", "train"], dtype=object)
    assert pick_sources(y, part, "train", 2).tolist() == [3, 1]
    assert pick_sources(y, part, "val", 5).tolist() == [2]
    t = synthetic_targets(np.array([0.9, 0.9, 0.1]), np.array([1, 2, 3]), 0.1)
    assert np.allclose(t, [0.8, 0.7, 0.0])
    assert pair_accuracy([1.0, 1.0, 1.0], [0.5, 1.0, 2.0]) == pytest.approx(1 / 3)
    with pytest.raises(InputError):
        pair_accuracy([], [])


def test_train_rank_pairs_needs_native(capsys):
    from piaa.cli.main import main

    assert main(["train", "quality", "--databases", "biq2021,agiqa3k", "--rank-pairs"]) != 0
    assert "--rank-pairs needs --native" in capsys.readouterr().err
