"""piaa.faces on faces lying on their side or tilted: the turned search and the mapping back to upright pixels.

The face is matplotlib's Grace Hopper portrait (no image in the repo), turned by a quarter turn or 60 degrees:
upright, dlib's frontal detector misses it; the turned search must find it and report box, eye boxes and
landmarks in the pixels of the turned photo as given.
"""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from PIL import Image

from piaa.faces import detect as D
from piaa.faces import detect_faces

needs_models = pytest.mark.skipif(
    importlib.util.find_spec("dlib") is None or importlib.util.find_spec("face_recognition_models") is None,
    reason="the faces extra (dlib-bin, face-recognition-models) is not installed")


@pytest.fixture(scope="module")
def upright(portrait):
    (face,) = detect_faces(portrait)
    return face


def _rot90_points(points: np.ndarray, k: int, shape) -> np.ndarray:
    """Where pixel centres (x, y) of an image of ``shape`` go under ``np.rot90(image, k)`` (k = 1 or 3)."""
    h, w = shape[:2]
    x, y = points[:, 0], points[:, 1]
    return np.stack([y, w - 1 - x], 1) if k == 1 else np.stack([h - 1 - y, x], 1)


def test_turn_matrix_is_a_rotation_about_the_centres():
    m = D.turn_matrix(90.0, (10.0, 20.0), (5.0, 5.0))
    assert np.allclose(m @ [5.0, 5.0, 1.0], [10.0, 20.0])                 # centre to centre
    assert np.array_equal(m[:, :2], [[0.0, -1.0], [1.0, 0.0]])           # a quarter turn is exact
    m45 = D.turn_matrix(45.0, (0.0, 0.0), (0.0, 0.0), scale=2.0)
    assert np.allclose(np.linalg.norm(m45[:, :2] @ [1.0, 0.0]), 0.5)      # scale shrinks on the way back
    back = D.turn_matrix(-45.0, (0.0, 0.0), (0.0, 0.0))[:, :2]
    assert np.allclose(back @ D.turn_matrix(45.0, (0.0, 0.0), (0.0, 0.0))[:, :2], np.eye(2))


def test_turned_copy_maps_its_pixels_back():
    rgb = np.zeros((40, 60, 3), np.uint8)
    rgb[5, 50] = 255                                                      # one bright pixel at (x=50, y=5)
    turned, matrix = D.turned_copy(rgb, 90.0)
    assert turned.shape[:2] == (60, 40)
    y, x = np.unravel_index(np.argmax(turned[:, :, 0]), turned.shape[:2])
    assert np.allclose(matrix @ [x + 0.5, y + 0.5, 1.0], [50.5, 5.5], atol=1.0)


def test_upright_box_of_a_turned_square():
    det = D.Detection((40.0, 40.0, 60.0, 60.0), 1.0, 45.0)                # a 20-px square centred on (50, 50)
    x, y, w, h = det.upright_box(200, 200)
    assert abs(w - 20 * np.sqrt(2)) <= 1.5 and abs(h - 20 * np.sqrt(2)) <= 1.5
    assert abs(x + w / 2 - 50) <= 1 and abs(y + h / 2 - 50) <= 1
    assert D.Detection((40.0, 40.0, 60.0, 60.0), 1.0, 90.0).upright_box(200, 200) == (40, 40, 20, 20)


@needs_models
@pytest.mark.parametrize("k", [1, 3])
def test_a_face_on_its_side_comes_back_in_upright_pixels(portrait, upright, k):
    turned = np.ascontiguousarray(np.rot90(portrait, k))
    assert D.find_boxes(turned) == []                                     # the frontal detector alone misses it
    (face,) = detect_faces(turned)
    x0, y0, w0, h0 = upright.box
    corners = _rot90_points(np.array([[x0, y0], [x0 + w0 - 1, y0 + h0 - 1]], float), k, portrait.shape)
    ex0, ey0 = corners.min(0)
    assert abs(face.box[0] - ex0) <= 3 and abs(face.box[1] - ey0) <= 3
    assert abs(face.box[2] - h0) <= 3 and abs(face.box[3] - w0) <= 3
    expected = _rot90_points(upright.landmarks, k, portrait.shape)
    assert face.landmarks.shape == (68, 2)
    assert np.median(np.linalg.norm(face.landmarks - expected, axis=1)) < 4   # landmarks in the turned photo
    assert face.eyes == "open" and face.eyes_open_probability > 0.7
    for ex, ey, ew, eh in face.eye_boxes:                                 # the eye boxes sit on the turned eyes
        cx, cy = ex + ew / 2, ey + eh / 2
        assert np.min(np.linalg.norm(expected[36:48] - [cx, cy], axis=1)) < max(ew, eh)


@needs_models
def test_a_face_tilted_by_60_degrees_is_found(portrait, upright):
    img = Image.fromarray(portrait)
    tilted = np.asarray(img.rotate(60, expand=True, resample=Image.BILINEAR))
    (face,) = detect_faces(tilted)
    # where the upright eye centre goes when PIL turns the photo 60 degrees counter-clockwise about its centre
    h, w = portrait.shape[:2]
    H, W = tilted.shape[:2]
    a = np.radians(60)
    ex, ey = upright.landmarks[36:48].mean(0) - (w / 2, h / 2)
    expect = np.array([ex * np.cos(a) + ey * np.sin(a), -ex * np.sin(a) + ey * np.cos(a)]) + (W / 2, H / 2)
    assert np.linalg.norm(face.landmarks[36:48].mean(0) - expect) < 8
    x, y, bw, bh = face.box
    assert x <= expect[0] <= x + bw and y <= expect[1] <= y + bh
    assert face.eyes == "open"


@needs_models
def test_an_upright_face_never_pays_for_the_turned_search(portrait, monkeypatch):
    def fail(*a, **k):
        raise AssertionError("turned search run although an upright face was found")
    monkeypatch.setattr(D, "find_turned", fail)
    assert len(detect_faces(portrait)) == 1


@needs_models
def test_a_large_photo_of_a_face_on_its_side_is_searched_on_a_small_turned_copy(portrait, upright):
    """A 3000-px photo: the turned search works on a copy at most TURNED_LONG_SIDE long; the box is in its pixels."""
    big = np.asarray(Image.fromarray(np.ascontiguousarray(np.rot90(portrait, 1))).resize((3000, 2560)))
    (face,) = detect_faces(big)
    s = 3000 / portrait.shape[0]
    x0, y0, w0, h0 = upright.box
    ex, ey = y0 * s, (portrait.shape[1] - x0 - w0) * s                     # the upright box after a quarter turn
    assert abs(face.box[0] - ex) < 100 and abs(face.box[1] - ey) < 100                 # within ~10 % of the face
    assert abs(face.box[2] - h0 * s) < 150 and face.eyes == "open"


@needs_models
def test_the_upright_only_detector_skips_the_turned_search(portrait, upright):
    from piaa.faces import detect_upright_faces

    on_side = np.ascontiguousarray(np.rot90(portrait, 1))
    assert detect_upright_faces(on_side) == []          # what piaa cull uses by default
    assert len(detect_faces(on_side)) == 1               # what piaa score --faces uses
    assert [f.box for f in detect_upright_faces(portrait)] == [upright.box]
