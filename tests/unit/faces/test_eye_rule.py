"""piaa.faces.eyes: the eye aspect ratio, the unsure band and eye boxes on synthetic landmarks."""
from __future__ import annotations

import numpy as np
import pytest

from piaa.faces import eyes


def _eye(cx, cy, width, opening):
    """Six points of one eye in dlib's order: corner, two upper lid, corner, two lower lid."""
    w, o = width / 2, opening / 2
    return np.array([[cx - w, cy], [cx - w / 3, cy - o], [cx + w / 3, cy - o],
                     [cx + w, cy], [cx + w / 3, cy + o], [cx - w / 3, cy + o]], float)


def _face(opening, width=30.0):
    lm = np.zeros((68, 2))
    lm[36:42] = _eye(100, 100, width, opening)
    lm[42:48] = _eye(170, 100, width, opening)
    return lm


def test_eye_aspect_ratio_is_opening_over_width():
    assert eyes.eye_aspect_ratio(_eye(0, 0, 30, 9)) == pytest.approx(0.3)
    assert np.isnan(eyes.eye_aspect_ratio(np.zeros((6, 2))))


@pytest.mark.parametrize("opening, state", [(10.0, "open"), (2.0, "closed"), (6.0, "unsure")])
def test_states_from_the_ratio(opening, state):
    got, prob = eyes.eyes_from_landmarks(_face(opening))
    assert got == state and 0.0 <= prob <= 1.0


def test_tiny_eyes_are_unsure_without_probability():
    assert eyes.eyes_from_landmarks(_face(1.0, width=2.0)) == ("unsure", None)


def test_eye_boxes_cover_each_eye_and_stay_inside():
    boxes = eyes.eye_boxes(_face(9.0), width=180, height=200)
    assert len(boxes) == 2 and boxes[0][0] < boxes[1][0]
    (x0, y0, w0, h0), (x1, y1, w1, h1) = boxes
    assert x0 <= 85 and x0 + w0 >= 115 and y0 <= 95 and y0 + h0 >= 105
    assert x1 + w1 <= 180  # clipped at the right edge
