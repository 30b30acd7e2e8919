"""piaa.faces.eye_model and eye_features: the learned eye decision, its JSON round trip, and the eye patches."""
from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from piaa.errors import InputError, NotFittedError
from piaa.faces.eye_features import FEATURE_NAMES, PATCH_H, PATCH_W, eye_features, eye_patch, hog
from piaa.faces.eye_model import EyeStateModel, shipped_model


def _two_blobs(n=200, d=6, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.2).astype(float)           # unbalanced, like open / closed eyes
    X = rng.normal(size=(n, d)) + 1.5 * y[:, None] * np.eye(d)[0]
    return X, y


def test_fit_separates_and_is_balanced():
    X, y = _two_blobs()
    m = EyeStateModel(C=1.0).fit(X, y)
    p = m.predict_proba(X)
    assert p.shape == (len(y),) and np.all((p > 0) & (p < 1))
    rec = [np.mean((p >= 0.5)[y == 1]), np.mean((p < 0.5)[y == 0])]
    assert min(rec) > 0.7                                # balanced weights: the rare class is not ignored
    assert m.coef_[0] > 2 * np.max(np.abs(m.coef_[1:]))  # the informative feature carries the decision


def test_stronger_ridge_shrinks_the_weights():
    X, y = _two_blobs()
    assert np.linalg.norm(EyeStateModel(C=0.01).fit(X, y).coef_) < np.linalg.norm(EyeStateModel(C=10).fit(X, y).coef_)


def test_json_round_trip(tmp_path):
    X, y = _two_blobs()
    m = EyeStateModel(C=0.3).fit(X, y, feature_names=[f"f{i}" for i in range(X.shape[1])])
    back = EyeStateModel.load(m.save(tmp_path / "eye.json"))
    assert np.allclose(back.predict_proba(X), m.predict_proba(X)) and back.feature_names_[0] == "f0"


def test_errors():
    with pytest.raises(NotFittedError):
        EyeStateModel().predict_proba(np.zeros((1, 3)))
    with pytest.raises(InputError):
        EyeStateModel().fit(np.zeros((4, 2)), [1, 1, 1, 1])   # one class only
    with pytest.raises(InputError):
        EyeStateModel.from_dict({"kind": "something else"})


def test_shipped_model_matches_the_features():
    m = shipped_model()
    assert len(m.coef_) == len(FEATURE_NAMES) and m.feature_names_ == FEATURE_NAMES


def _eye_image(angle_deg=0.0, closed=False, size=200):
    """A synthetic grey face patch with one eye (a dark iris disc between two lids, or a lash line)."""
    yy, xx = np.mgrid[0:size, 0:size].astype(float)
    img = np.full((size, size), 170.0)
    c = size / 2
    if closed:
        img[np.abs(yy - c) < 1.5] = 60
    else:
        inside = ((xx - c) / 20) ** 2 + ((yy - c) / 9) ** 2 < 1
        img[inside] = 235
        img[(xx - c) ** 2 + (yy - c) ** 2 < 49] = 30
    img = np.asarray(Image.fromarray(img.astype(np.uint8)).rotate(angle_deg, resample=Image.BILINEAR, center=(c, c)),
                     dtype=float)
    a = math.radians(-angle_deg)                           # PIL rotates counter-clockwise on screen
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    pts = np.array([[-20, 0], [-7, -9], [7, -9], [20, 0], [7, 9], [-7, 9]], float)
    if closed:
        pts[[1, 2], 1], pts[[4, 5], 1] = -1, 1
    return img, pts @ rot.T + c


def test_eye_patch_is_upright_for_a_tilted_eye():
    flat, pts = _eye_image(0)
    tilted, tpts = _eye_image(25)
    p0, p1 = eye_patch(flat, pts), eye_patch(tilted, tpts)
    assert p0.shape == (PATCH_H, PATCH_W)
    assert np.corrcoef(p0.ravel(), p1.ravel())[0, 1] > 0.9
    assert np.allclose(eye_patch(flat, pts, mirror=True), p0[:, ::-1], atol=25)  # a symmetric eye mirrors onto itself


def test_open_and_closed_eyes_differ_in_features():
    img_o, pts_o = _eye_image(0)
    img_c, pts_c = _eye_image(0, closed=True)
    lm_o, lm_c = np.zeros((68, 2)), np.zeros((68, 2))
    lm_o[36:42] = lm_o[42:48] = pts_o
    lm_c[36:42] = lm_c[42:48] = pts_c
    fo, fc = eye_features(img_o, lm_o), eye_features(img_c, lm_c)
    assert fo.shape == fc.shape == (len(FEATURE_NAMES),)
    ear = FEATURE_NAMES.index("ear_mean")
    assert fo[ear] > 0.3 > 0.1 > fc[ear]
    n_hog = sum(name.startswith("hog") for name in FEATURE_NAMES)
    assert np.linalg.norm(fo[:n_hog] - fc[:n_hog]) > 0.3    # round iris and lid edges against one lash line
    assert np.linalg.norm(hog(np.zeros((PATCH_H, PATCH_W)))) < 1e-3
