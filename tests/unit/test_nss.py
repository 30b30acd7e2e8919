"""BRISQUE-style natural-scene statistics: known distributions recovered, distortions move the features."""
import numpy as np
import pytest
from scipy.ndimage import gaussian_filter
from scipy.stats import gennorm

from piaa.detail.nss import (
    FEATURE_NAMES,
    N_FEATURES,
    brisque_features,
    fit_aggd,
    fit_ggd,
    half_scale,
    mscn,
)
from piaa.errors import InputError


@pytest.mark.parametrize("alpha", [0.6, 1.0, 2.0, 3.5])
def test_ggd_fit_recovers_shape_and_variance(alpha):
    x = gennorm.rvs(alpha, scale=1.7, size=200_000, random_state=3)
    a, var = fit_ggd(x)
    assert a == pytest.approx(alpha, rel=0.03)
    assert var == pytest.approx(np.mean(x * x), rel=1e-9)


def test_aggd_fit_recovers_shape_and_asymmetry():
    rng = np.random.default_rng(0)
    # an asymmetric GGD: |g| of a GGD, on the left with probability bl / (bl + br), scaled by that side's scale
    g = np.abs(gennorm.rvs(1.4, size=300_000, random_state=4))
    left_side = rng.uniform(size=g.size) < 0.5 / (0.5 + 2.0)
    x = np.where(left_side, -0.5 * g, 2.0 * g)  # left scale 0.5, right 2.0
    a, eta, left, right = fit_aggd(x)
    assert a == pytest.approx(1.4, rel=0.05)
    assert right / left == pytest.approx(16.0, rel=0.05) and eta > 0
    a_sym, eta_sym, l2, r2 = fit_aggd(rng.standard_normal(300_000))
    assert a_sym == pytest.approx(2.0, rel=0.05) and abs(eta_sym) < 0.01 and l2 == pytest.approx(r2, rel=0.02)


def _scene(seed=0, n=256):
    """A synthetic 'natural' image: 1/f-like noise plus hard-edged shapes, 0-255."""
    rng = np.random.default_rng(seed)
    f = np.fft.fftfreq(n)
    amp = 1.0 / np.maximum(np.hypot(*np.meshgrid(f, f)), 1.0 / n)
    img = np.real(np.fft.ifft2(amp * np.exp(2j * np.pi * rng.uniform(size=(n, n)))))
    img = (img - img.min()) / np.ptp(img) * 160 + 40
    yy, xx = np.mgrid[:n, :n]
    for _ in range(12):
        cx, cy, r = rng.uniform(0, n, 2).tolist() + [rng.uniform(8, 40)]
        img[(xx - cx) ** 2 + (yy - cy) ** 2 < r * r] = rng.uniform(0, 255)
    return img


@pytest.mark.parametrize("seed", [0, 1])
def test_blur_raises_the_mscn_shape_and_shrinks_its_variance_noise_widens_it(seed):
    img = _scene(seed)
    i_alpha, i_var = FEATURE_NAMES.index("s1_mscn_alpha"), FEATURE_NAMES.index("s1_mscn_var")
    feats = [brisque_features(gaussian_filter(img, s) if s else img) for s in (0, 1, 2, 3)]
    alphas = [f[i_alpha] for f in feats]
    variances = [f[i_var] for f in feats]
    # blur: the sharp scene's flat areas and hard edges (a peaky, heavy-tailed MSCN) soften towards Gaussian
    assert np.all(np.diff(alphas) > 0.05) and alphas[-1] > alphas[0] + 0.2
    assert np.all(np.diff(variances) < 0) and variances[-1] < 0.2 * variances[0]
    # the same at the second scale
    j_alpha = FEATURE_NAMES.index("s2_mscn_alpha")
    assert feats[3][j_alpha] > feats[0][j_alpha] + 0.2
    # white noise: wider normalised coefficients, and a flatter (higher-shape) distribution
    noisy = brisque_features(np.clip(img + np.random.default_rng(1).normal(0, 25, img.shape), 0, 255))
    assert noisy[i_var] > 1.5 * variances[0] and noisy[i_alpha] > alphas[0] + 1.0


def test_feature_vector_shape_grey_rgb_and_input_untouched():
    img = _scene(1, 128)
    before = img.copy()
    f = brisque_features(img)
    assert f.shape == (N_FEATURES,) == (36,) and np.isfinite(f).all() and len(set(FEATURE_NAMES)) == 36
    assert np.array_equal(img, before)
    rgb = np.repeat(img[..., None], 3, axis=2).astype(np.uint8)
    assert np.allclose(brisque_features(rgb), brisque_features(img.astype(np.uint8).astype(float)), atol=1e-3)
    assert half_scale(np.arange(30.0).reshape(5, 6)).shape == (2, 3)
    m = mscn(np.full((40, 40), 100.0))
    assert np.allclose(m, 0, atol=1e-4)  # a flat image has no contrast to normalise
    assert np.isfinite(brisque_features(np.full((40, 40), 7.0))).all()
    with pytest.raises(InputError, match="at least 16x16"):
        brisque_features(np.zeros((10, 50)))
