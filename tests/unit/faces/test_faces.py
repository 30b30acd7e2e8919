"""piaa.faces: the contract (types, sorting, boxes inside the image, determinism) on the real detector.

The face is Grace Hopper's portrait that matplotlib ships as sample data (a main dependency), so no image is
copied into the repo. Tests that need the detector skip when the ``faces`` extra is not installed.
"""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from PIL import Image

from piaa.errors import InputError, PiaaError
from piaa.faces import Face, FaceModelMissingError, detect_faces
from piaa.faces import models as face_models

needs_models = pytest.mark.skipif(
    importlib.util.find_spec("dlib") is None or importlib.util.find_spec("face_recognition_models") is None,
    reason="the faces extra (dlib-bin, face-recognition-models) is not installed")


def _inside(box, shape):
    x, y, w, h = box
    return x >= 0 and y >= 0 and w > 0 and h > 0 and x + w <= shape[1] and y + h <= shape[0]


@needs_models
def test_portrait_has_one_face_with_open_eyes(portrait):
    faces = detect_faces(portrait)
    assert len(faces) == 1
    f = faces[0]
    assert isinstance(f, Face)
    assert all(isinstance(v, int) for v in f.box) and _inside(f.box, portrait.shape)
    x, y, w, h = f.box  # the face is in the upper middle of the portrait
    assert 120 < x + w / 2 < 400 and 150 < y + h / 2 < 320 and 120 < w < 260
    assert 0.5 <= f.confidence <= 1.0
    assert f.eyes == "open" and f.eyes_open_probability is not None and f.eyes_open_probability > 0.7
    assert len(f.eye_boxes) == 2
    for eb in f.eye_boxes:
        assert _inside(eb, portrait.shape)
        assert x <= eb[0] and eb[0] + eb[2] <= x + w and y <= eb[1] < y + h / 2  # eyes in the upper face
    assert f.landmarks.shape == (68, 2) and f.landmarks.dtype == np.float64


@needs_models
def test_model_files_are_found_without_importing_their_package(portrait):
    """face_recognition_models' own __init__ imports pkg_resources, gone from recent setuptools: never import it."""
    import sys
    detect_faces(portrait)
    assert "face_recognition_models" not in sys.modules
    assert (face_models.model_dir() / face_models.LANDMARKS_68).is_file()


@needs_models
def test_deterministic_and_boxes_follow_the_pixels(portrait):
    a, b = detect_faces(portrait), detect_faces(portrait.copy())
    assert [f.box for f in a] == [f.box for f in b]
    assert np.array_equal(a[0].landmarks, b[0].landmarks) and a[0].eyes_open_probability == b[0].eyes_open_probability
    big = np.asarray(Image.fromarray(portrait).resize((portrait.shape[1] * 4, portrait.shape[0] * 4)))
    (fb,) = detect_faces(big)  # downsized for the detector internally, mapped back to the big frame
    assert _inside(fb.box, big.shape)
    centre = np.array([fb.box[0] + fb.box[2] / 2, fb.box[1] + fb.box[3] / 2]) / 4
    assert np.allclose(centre, [a[0].box[0] + a[0].box[2] / 2, a[0].box[1] + a[0].box[3] / 2], atol=12)
    assert fb.eyes == "open"


@needs_models
def test_largest_face_first(portrait):
    small = np.asarray(Image.fromarray(portrait).resize((portrait.shape[1] // 2 + 40, portrait.shape[0] // 2 + 40)))
    canvas = np.full((portrait.shape[0], portrait.shape[1] + small.shape[1], 3), 128, np.uint8)
    canvas[:small.shape[0], :small.shape[1]] = small          # the small face on the left
    canvas[:, small.shape[1]:] = portrait
    faces = detect_faces(canvas)
    assert len(faces) == 2
    assert faces[0].area > faces[1].area and faces[0].box[0] > faces[1].box[0]


@needs_models
@pytest.mark.parametrize("shape", [(0, 0, 3), (5, 7, 3), (16, 300, 3), (200, 300, 3)])
def test_blank_and_tiny_images_have_no_face(shape):
    assert detect_faces(np.zeros(shape, np.uint8)) == []
    assert detect_faces(np.full(shape, 255, np.uint8)) == []


@needs_models
def test_grey_and_rgba_are_accepted(portrait):
    grey = np.asarray(Image.fromarray(portrait).convert("L"))
    rgba = np.dstack([portrait, np.full(portrait.shape[:2], 255, np.uint8)])
    assert len(detect_faces(grey)) == 1 and len(detect_faces(rgba)) == 1


@pytest.mark.parametrize("bad", [[[1, 2, 3]], np.zeros((10, 10, 3), np.float32), np.zeros((10, 10, 2), np.uint8),
                                 np.zeros((2, 10, 10, 3), np.uint8)])
def test_bad_input_is_a_one_line_input_error(bad):
    with pytest.raises(InputError) as err:
        detect_faces(bad)
    assert "\n" not in str(err.value)


def test_missing_model_package_says_what_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "face_recognition_models" else real(name, *a))
    face_models.landmark_predictor.cache_clear()
    try:
        with pytest.raises(FaceModelMissingError) as err:
            detect_faces(np.zeros((64, 64, 3), np.uint8))
    finally:
        face_models.landmark_predictor.cache_clear()
    assert isinstance(err.value, PiaaError) and "pip install" in str(err.value) and "\n" not in str(err.value)


def test_missing_dlib_says_what_to_install(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "dlib", None)  # import dlib now raises ImportError
    face_models.face_detector.cache_clear()
    try:
        with pytest.raises(FaceModelMissingError, match="dlib"):
            detect_faces(np.zeros((64, 64, 3), np.uint8))
    finally:
        face_models.face_detector.cache_clear()


def test_faces_compare_without_raising():
    """A dataclass __eq__ would compare the landmark arrays elementwise and raise; faces compare by identity."""
    a = Face(box=(0, 0, 10, 10), confidence=0.9, landmarks=np.zeros((68, 2)))
    b = Face(box=(0, 0, 10, 10), confidence=0.9, landmarks=np.zeros((68, 2)))
    assert a == a and a != b and a in [b, a] and a.area == 100


@needs_models
def test_a_24_megapixel_photo_is_searched_on_a_small_copy(portrait):
    """The detector's copy of a huge photo is made by striding then filtering; the box still lands on the face."""
    big = np.asarray(Image.fromarray(portrait).resize((3400, 4000)))
    canvas = np.full((4000, 6000, 3), 90, np.uint8)
    canvas[:, 1000:4400] = big
    (face,) = detect_faces(canvas)
    x, y, w, h = face.box
    ref = detect_faces(portrait)[0].box
    sx, sy = 3400 / portrait.shape[1], 4000 / portrait.shape[0]
    assert abs(x + w / 2 - (1000 + (ref[0] + ref[2] / 2) * sx)) < 60
    assert abs(y + h / 2 - (ref[1] + ref[3] / 2) * sy) < 60
    assert face.eyes == "open" and all(_inside(b, canvas.shape) for b in face.eye_boxes)
