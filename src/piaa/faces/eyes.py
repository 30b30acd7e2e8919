"""Eye geometry from a face's 68 landmarks: the eye aspect ratio, eye boxes, and probability -> state.

The eye aspect ratio (Soukupova & Cech 2016: the two lid-to-lid distances over the corner distance, ~0.3 for
an open eye, ~0.1 for a closed one) is one input of the learned decision (:mod:`piaa.faces.eye_model`) and,
through :func:`eyes_from_landmarks`, the plain baseline it is benchmarked against. Probabilities inside the
``UNSURE_BAND`` say "unsure"; eyes too small to show their lids are "unsure" with no probability.
"""
from __future__ import annotations

import math
from typing import List, Optional, Tuple

import numpy as np

from piaa.faces.face import Box

# indices of the six points around each eye in dlib's 68-point layout (iBUG 300-W order)
RIGHT_EYE = slice(36, 42)   # the subject's right eye: on the image's left
LEFT_EYE = slice(42, 48)

EAR_MIDPOINT = 0.20         # eye aspect ratio where open and closed are equally likely
EAR_SPREAD = 0.025          # logistic scale of the ratio
UNSURE_BAND = (0.45, 0.55)  # probabilities strictly inside this band say "unsure" (docs/faces.md)
MIN_EYE_WIDTH = 3.0         # pixels between an eye's corners below which the lids cannot be seen


def eye_aspect_ratio(points: np.ndarray) -> float:
    """(|p1 - p5| + |p2 - p4|) / (2 |p0 - p3|) for the six points of one eye (corners at 0 and 3)."""
    p = np.asarray(points, dtype=np.float64)
    width = float(np.linalg.norm(p[0] - p[3]))
    if width <= 0:
        return float("nan")
    return float((np.linalg.norm(p[1] - p[5]) + np.linalg.norm(p[2] - p[4])) / (2.0 * width))


def eye_width(points: np.ndarray) -> float:
    p = np.asarray(points, dtype=np.float64)
    return float(np.linalg.norm(p[0] - p[3]))


def state_from_probability(prob: Optional[float]) -> str:
    """"open" / "closed" outside the unsure band, "unsure" inside it or without a probability."""
    if prob is None or not math.isfinite(prob):
        return "unsure"
    if prob >= UNSURE_BAND[1]:
        return "open"
    if prob <= UNSURE_BAND[0]:
        return "closed"
    return "unsure"


def eyes_visible(landmarks: np.ndarray) -> bool:
    """Whether the wider eye spans at least ``MIN_EYE_WIDTH`` pixels (landmarks in native pixels)."""
    return max(eye_width(landmarks[RIGHT_EYE]), eye_width(landmarks[LEFT_EYE])) >= MIN_EYE_WIDTH


def eyes_from_landmarks(landmarks: np.ndarray) -> Tuple[str, Optional[float]]:
    """(state, probability open) of a face from its 68 landmarks by the mean eye aspect ratio alone (baseline)."""
    eyes = [landmarks[RIGHT_EYE], landmarks[LEFT_EYE]]
    if not eyes_visible(landmarks):
        return "unsure", None
    ear = float(np.nanmean([eye_aspect_ratio(e) for e in eyes]))
    if not math.isfinite(ear):
        return "unsure", None
    prob = 1.0 / (1.0 + math.exp(-(ear - EAR_MIDPOINT) / EAR_SPREAD))
    return state_from_probability(prob), prob


def eye_boxes(landmarks: np.ndarray, width: int, height: int) -> List[Box]:
    """A box around each eye (lids, lashes and a little skin), clipped to the image; image-left eye first."""
    boxes: List[Box] = []
    for sl in (RIGHT_EYE, LEFT_EYE):
        pts = np.asarray(landmarks[sl], dtype=np.float64)
        cx, cy = pts.mean(axis=0)
        half_w = max(eye_width(pts), 2.0) * 0.8
        half_h = half_w * 0.7
        x0, y0 = max(0, int(math.floor(cx - half_w))), max(0, int(math.floor(cy - half_h)))
        x1, y1 = min(width, int(math.ceil(cx + half_w))), min(height, int(math.ceil(cy + half_h)))
        if x1 - x0 >= 2 and y1 - y0 >= 2:
            boxes.append((x0, y0, x1 - x0, y1 - y0))
    return sorted(boxes)
