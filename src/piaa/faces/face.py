"""The result type of face detection: one :class:`Face` per face found, in pixels of the array given.

A plain frozen dataclass so callers (the detail pass, cull, the CLI's JSON) can read it without importing any
model package.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import numpy as np

Box = Tuple[int, int, int, int]

EYE_STATES = ("open", "closed", "unsure")


@dataclass(frozen=True, eq=False)   # eq would compare the landmark arrays elementwise and raise
class Face:
    """One face: where it is, how sure the detector is, and whether its eyes are open.

    ``box`` and ``eye_boxes`` are ``(x, y, w, h)`` in integer pixels of the array passed to
    :func:`piaa.faces.detect_faces`, clipped to it; ``landmarks`` are ``(K, 2)`` float ``(x, y)`` pixels in the
    same frame. ``eyes`` is ``"open"``, ``"closed"`` or ``"unsure"`` (the eyes are not visible, or the
    evidence is in between); ``eyes_open_probability`` is the eye model's probability that the eyes are open,
    ``None`` when no eye could be measured.
    """

    box: Box
    confidence: float
    eyes: str = "unsure"
    eyes_open_probability: Optional[float] = None
    eye_boxes: List[Box] = field(default_factory=list)
    landmarks: Optional[np.ndarray] = None

    @property
    def area(self) -> int:
        return int(self.box[2]) * int(self.box[3])
