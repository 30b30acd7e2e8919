"""Numbers that describe one face's eyes, for the learned open / closed decision (:mod:`piaa.faces.eye_model`).

Each eye is cut out of the face's pixels along the line through its two corners (so a tilted head gives the
same upright patch as a straight one), at a fixed size relative to the eye's width; the subject's left eye is
mirrored so both eyes share one template. A patch is described by a histogram of oriented gradients
(Dalal & Triggs 2005; an open eye has the round edges of iris and lids, a closed one a single lash line) and a
few plain measures (the eye aspect ratio of the landmarks, the darkness and contrast at the patch's centre,
where an open eye shows its iris). Both eyes' descriptions are averaged: the decision is per face.
"""
from __future__ import annotations

import math

import numpy as np
from PIL import Image

from piaa.faces.eyes import LEFT_EYE, RIGHT_EYE, eye_aspect_ratio, eye_width

PATCH_W, PATCH_H = 36, 18       # patch size in pixels (the eye's corners ~20 px apart inside it)
PATCH_SPAN = 1.8                # patch width over the corner distance
CELL = 6                        # HOG cell size in pixels
BINS = 9                        # unsigned orientation bins


def eye_patch(grey: np.ndarray, points: np.ndarray, mirror: bool = False) -> np.ndarray:
    """An upright ``PATCH_H x PATCH_W`` float patch of one eye, centred on its six landmarks."""
    p = np.asarray(points, dtype=np.float64)
    c0, c3 = p[0], p[3]
    if mirror:
        c0, c3 = c3, c0
    angle = math.atan2(c3[1] - c0[1], c3[0] - c0[0])
    if mirror:
        angle -= math.pi  # the mirrored eye's corner line still points left-to-right in the image
    cx, cy = p.mean(axis=0)
    s = PATCH_SPAN * max(eye_width(p), 1.0) / PATCH_W
    ca, sa = math.cos(angle) * s, math.sin(angle) * s
    sx = -1.0 if mirror else 1.0
    a, b, d, e = ca * sx, -sa, sa * sx, ca
    coeffs = (a, b, cx - a * PATCH_W / 2 - b * PATCH_H / 2, d, e, cy - d * PATCH_W / 2 - e * PATCH_H / 2)
    img = Image.fromarray(grey.astype(np.float32), mode="F")
    out = img.transform((PATCH_W, PATCH_H), Image.AFFINE, coeffs, resample=Image.BILINEAR)
    return np.asarray(out, dtype=np.float64)


def hog(patch: np.ndarray) -> np.ndarray:
    """Histogram of oriented gradients: ``CELL``-pixel cells, ``BINS`` unsigned bins, L2-normalised overall."""
    gy, gx = np.gradient(patch)
    mag = np.hypot(gx, gy)
    ang = np.mod(np.arctan2(gy, gx), math.pi)
    b = np.minimum((ang / math.pi * BINS).astype(int), BINS - 1)
    ny, nx = patch.shape[0] // CELL, patch.shape[1] // CELL
    out = np.zeros((ny, nx, BINS))
    for i in range(ny):
        for j in range(nx):
            sl = (slice(i * CELL, (i + 1) * CELL), slice(j * CELL, (j + 1) * CELL))
            out[i, j] = np.bincount(b[sl].ravel(), weights=mag[sl].ravel(), minlength=BINS)
    v = out.ravel()
    return v / (np.linalg.norm(v) + 1e-6)


def _plain(patch: np.ndarray) -> np.ndarray:
    """Centre darkness and contrast, relative to the whole patch (an iris is a dark disc at the centre)."""
    z = (patch - patch.mean()) / (patch.std() + 1e-6)
    h, w = z.shape
    centre = z[h // 4: 3 * h // 4, w // 3: 2 * w // 3]
    rows = z.mean(axis=1)
    return np.array([centre.mean(), centre.min(), centre.std(), rows.max() - rows.min(), float(np.abs(z).mean())])


FEATURE_NAMES = ([f"hog{i}" for i in range((PATCH_H // CELL) * (PATCH_W // CELL) * BINS)]
                 + ["centre_mean", "centre_min", "centre_std", "row_range", "abs_mean", "ear_mean", "ear_min"])


def eye_features(grey: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The feature vector of a face's eyes (``FEATURE_NAMES``) from its grey pixels and 68 landmarks."""
    rows, ears = [], []
    for sl, mirror in ((RIGHT_EYE, False), (LEFT_EYE, True)):
        pts = landmarks[sl]
        patch = eye_patch(grey, pts, mirror=mirror)
        rows.append(np.concatenate([hog(patch), _plain(patch)]))
        ears.append(eye_aspect_ratio(pts))
    ear = np.nan_to_num(np.array(ears, dtype=np.float64), nan=0.0)
    return np.concatenate([np.mean(rows, axis=0), [ear.mean(), ear.min()]])
