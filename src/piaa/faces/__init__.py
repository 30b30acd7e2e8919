"""Faces and eyes: detection, landmarks and eye state (open / closed / unsure) from weights shipped in packages.

``detect_faces(rgb)`` returns a :class:`Face` per face, largest first (the subject is the largest face). The
detector and landmark models come from the PyPI packages ``dlib-bin`` and ``face-recognition-models`` (the
``faces`` extra); nothing is downloaded at run time, and a missing package raises
:class:`FaceModelMissingError` with the install line. See docs/faces.md for the choice, licenses and accuracy.
"""
from piaa.faces.detect import detect_faces, detect_upright_faces
from piaa.faces.face import EYE_STATES, Face
from piaa.faces.models import FaceModelMissingError

__all__ = ["detect_faces", "detect_upright_faces", "Face", "FaceModelMissingError", "EYE_STATES"]
