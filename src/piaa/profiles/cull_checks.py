"""The checks a culler makes at 100 % inside one group of near-identical frames: eyes, focus, motion blur.

Frames of a burst differ in little but these, so every comparison is *relative to the group*:

1. **Eyes.** The subject is the largest face found in any frame of the group; each frame is judged on its own
   face at that place (a frame where the detector missed it is measured in the same box). A frame whose
   subject has closed eyes loses while another frame shows them open ("eyes closed"); "unsure", a face not
   found, or "open" read on a face that is itself soft (below the soft margin of the group's sharpest) is no
   evidence of open eyes — a soft face is often misread — so against those the check is silent.
2. **Focus.** The subject's sharpness (:mod:`piaa.detail`: that face's native pixels; without a face, the
   sharpest tenth of the same tiles in every frame, looked for in the middle of the frame first) is compared with the group's sharpest open-eyed frame: a
   frame below ``(1 - SOFT_MARGIN)`` of it is soft ("soft focus on the face", or "soft focus").
3. **Motion blur.** Compared direction by direction with the group's sharpest open-eyed frame (the same scene,
   so the scene's own lines cancel), a frame that lost fine detail along one direction much more than across it
   is shaken ("motion blur"); an even loss is defocus ("soft focus"). Detail per direction is the energy of
   1-pixel differences over that of 4-pixel differences (:mod:`piaa.detail.motion`) on the same subject
   pixels; ``loss_d`` is its ratio to the sharpest frame's and the frame is shaken when
   ``1 - min_d loss_d / max_d loss_d`` is above ``MOTION_MARGIN``.

The frames that pass every check enabled compete on taste + quality as before; the others get their reasons.
The two margins were chosen on the training part of synthetic bursts (``bench/cull_bursts.py``) and checked
on its held-out part (docs/benchmarks/cull.md).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import numpy as np

from piaa.errors import InputError

#: Every check, in the order they decide.
CHECKS = ("eyes", "focus", "motion")
#: A frame is soft when its subject sharpness is below (1 - SOFT_MARGIN) x the group's best.
SOFT_MARGIN = 0.10
#: A frame is shaken when its directional loss of detail against the group's sharpest frame is this uneven.
MOTION_MARGIN = 0.40
#: Without a face, the group's in-focus region is sought among the tiles in the middle of the frame first —
#: this share of each side — where subjects usually are (a frame focused on the background behind a person
#: the detector missed is not preferred for its sharp background).
CENTRE = 0.6
#: Flatness floor (gray levels) when the same tiles are pooled across the frames of a group.
GROUP_FLAT = 0.05
#: Two face boxes in different frames are the same face when their intersection over union is at least this.
SAME_FACE_IOU = 0.3

REASON_EYES = "eyes closed"
REASON_SOFT_FACE = "soft focus on the face"
REASON_SOFT = "soft focus"
REASON_MOTION = "motion blur"
REASON_TASTE = "a more beautiful frame is kept"


def parse_checks(text: Optional[str]) -> frozenset:
    """``"eyes,focus,motion"`` / ``"all"`` / ``"none"`` -> the set of checks; InputError naming a bad one."""
    if text is None or text.strip().lower() == "all":
        return frozenset(CHECKS)
    items = [t.strip().lower() for t in text.split(",") if t.strip()]
    if items == ["none"]:
        return frozenset()
    bad = [t for t in items if t not in CHECKS]
    if bad or not items:
        raise InputError(f"unknown check {', '.join(bad) or repr(text)}: choose from {', '.join(CHECKS)}, "
                         "all or none")
    return frozenset(items)


@dataclass
class FrameFacts:
    """What the checks read of one frame (JSON-ready through :meth:`record`)."""

    sharpness: float = float("nan")   # the subject's sharpness 0..1
    subject: str = "none"             # "face", "in-focus region" or "none"
    motion_blur: float = float("nan")   # the photo's own motion-blur measure (NaN where cull skips it)
    eyes: Optional[str] = None        # the subject face's eyes, None without a face
    faces: int = 0
    directions: np.ndarray = field(default_factory=lambda: np.full(4, np.nan))  # fine / coarse energy per direction
    smear: float = float("nan")       # uneven loss of detail against the group's sharpest frame (judge)

    def record(self) -> dict:
        def r(v):
            return round(float(v), 4) if v is not None and np.isfinite(v) else None

        return {"sharpness": r(self.sharpness), "subject": self.subject, "smear": r(self.smear),
                "eyes": self.eyes, "faces": self.faces}


@dataclass
class GroupVerdict:
    """Which frames of a group pass the checks, and the reasons of those that do not."""

    passed: List[int]
    reasons: Dict[int, List[str]] = field(default_factory=dict)
    facts: Dict[int, FrameFacts] = field(default_factory=dict)


def _iou(a, b) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def _group_subject(found: Sequence) -> Optional[tuple]:
    """The largest face in any frame of the group: its box (native pixels), or None."""
    boxes = [f.box for d in found if d.faces for f in d.faces[:1]]
    return max(boxes, key=lambda b: b[2] * b[3]) if boxes else None


def _same_face(d, box):
    """This frame's face at ``box`` (best overlap >= SAME_FACE_IOU), or None."""
    best, face = SAME_FACE_IOU, None
    for f in d.faces or ():
        v = _iou(f.box, box)
        if v >= best:
            best, face = v, f
    return face


def measure_group(found: Sequence, threads: int = 2) -> List[FrameFacts]:
    """Facts of each frame of a group from :func:`piaa.profiles.photo_detail.inspect` results (their pixels
    kept, ``keep_pixels=True``, or their measurements cached): the same subject and the same tiles in every
    frame. Raises :class:`piaa.io.images.ImageLoadError` when a frame known to the cache cannot be decoded now."""
    from concurrent.futures import ThreadPoolExecutor

    from piaa.detail.focus import softest
    from piaa.detail.motion import directional_ratios
    from piaa.detail.measure import TOP_MIN, pooled_parts, top_tiles

    subject = _group_subject(found)
    ok = [i for i, d in enumerate(found) if d.shape is not None and not d.error]
    shapes = {tuple(found[i].shape) for i in ok}
    facts = [FrameFacts() for _ in found]
    if not ok:
        return facts
    first = found[ok[0]]

    def plan(i):
        d = found[i]
        face = _same_face(d, subject) if subject is not None else None
        box = face.box if face is not None else subject
        eyes = face.eye_boxes if face is not None else ()
        return face, box, eyes

    face0, box0, eyes0 = plan(ok[0])
    det0 = first.measure(box0, eyes0, focus_only=True)
    same = len(shapes) == 1
    positions = det0.positions if same else None  # one tile set when the frames share a size

    def one(i):
        face, box, eyes = plan(i)
        det = det0 if i == ok[0] else found[i].measure(box, eyes, positions=positions, focus_only=True)
        return det, face

    with ThreadPoolExecutor(max_workers=max(1, threads)) as ex:
        done = dict(zip(ok, ex.map(one, ok)))
    regions = [d for d, _ in done.values() if d.subject == "in-focus region"]
    common = None
    if same and regions and len(regions) == len(done):
        # no face: the same sharpest tiles in every frame (by their best value over the frames), pooled with
        # almost no flatness floor — a frame so soft that its detail falls below the floor is soft, not unknown
        values = np.stack([d.tile_values for d in regions])
        if np.isfinite(values).any():
            best = np.max(np.where(np.isfinite(values), values, -np.inf), axis=0)
            best = np.where(np.isfinite(best), best, np.nan)
            middle = _central(det0.positions, det0.grid)
            if np.isfinite(best[middle]).sum() >= TOP_MIN:   # subjects sit in the middle: look there first
                best = np.where(middle, best, np.nan)
            common = top_tiles(best)
    parts = {i: (pooled_parts(det.parts, common) if common is not None else det.subject_parts)
             for i, (det, _) in done.items()}
    for i, dirs in group_directions(parts).items():
        det, face = done[i]
        e = (det.energy[0][common].mean(axis=0), det.energy[1][common].mean(axis=0)) \
            if common is not None and len(common) else det.subject_energy
        fine_coarse = directional_ratios(*e) if e is not None else np.full(4, np.nan)
        facts[i] = FrameFacts(float(softest(dirs)), det.subject, det.motion_blur,
                              face.eyes if face is not None else None, len(found[i].faces or ()), fine_coarse)
    return facts


def group_directions(parts: dict) -> dict:
    """Per frame, the subject's sharpness per direction *within the group*: the re-blur ratio of its pixels
    (:mod:`piaa.detail.focus`) times the share it keeps of the fine variation of the group's most detailed
    frame, ``min(1, variation / max variation)``, direction by direction. The frames show the same subject,
    so how much fine variation survives is comparable between them; the ratio alone is not enough where a
    soft frame has so little detail left that the 1-gray-level staircase of 8-bit pixels and the encoder's
    ringing are the finest thing in it (a dark, misty photo)."""
    from piaa.detail.focus import ratios

    per_pair = {i: p[1] / max(p[2], 1) for i, p in parts.items() if p is not None}
    top = np.max(np.stack(list(per_pair.values())), axis=0) if per_pair else None
    out = {}
    for i, p in parts.items():
        if p is None:
            out[i] = np.full(4, np.nan)
            continue
        with np.errstate(invalid="ignore", divide="ignore"):
            keep = np.where(top > 0, np.minimum(1.0, per_pair[i] / top), np.nan)
        out[i] = ratios(*p, flat=GROUP_FLAT) * keep
    return out


def _central(positions: np.ndarray, grid) -> np.ndarray:
    """Which tiles lie in the middle of the frame (the central CENTRE share of each side)."""
    ny, nx = grid
    lo_y, hi_y = ny * (1 - CENTRE) / 2, ny * (1 + CENTRE) / 2
    lo_x, hi_x = nx * (1 - CENTRE) / 2, nx * (1 + CENTRE) / 2
    r, c = positions[:, 0] + 0.5, positions[:, 1] + 0.5
    return (r >= lo_y) & (r <= hi_y) & (c >= lo_x) & (c <= hi_x)


def _smear(a: np.ndarray, best: np.ndarray) -> float:
    """``1 - min_d loss_d / max_d loss_d`` with ``loss_d = a_d / best_d`` over the directions both measured."""
    ok = np.isfinite(a) & np.isfinite(best) & (best > 0)
    if ok.sum() < 2:
        return float("nan")
    loss = np.maximum(a[ok] / best[ok], 1e-6)
    return float(1.0 - loss.min() / loss.max())


def _outliers(facts, among, attr: str, beyond, ref) -> set:
    """The frames of ``among`` whose ``attr`` is ``beyond`` the group's reference (``ref`` of the finite
    values); nothing when fewer than two frames have the value."""
    vals = {i: getattr(facts[i], attr) for i in among if np.isfinite(getattr(facts[i], attr))}
    if len(vals) < 2:
        return set()
    r = ref(vals.values())
    return {i for i, v in vals.items() if beyond(v, r)}


def judge(facts: Sequence[FrameFacts], checks=frozenset(CHECKS), soft_margin: float = SOFT_MARGIN,
          motion_margin: float = MOTION_MARGIN) -> GroupVerdict:
    """Apply the enabled checks to a group's frames (indices into ``facts``)."""
    n = len(facts)
    reasons: Dict[int, List[str]] = {i: [] for i in range(n)}
    closed = set()
    if "eyes" in checks:
        closed = {i for i, f in enumerate(facts) if f.eyes == "closed"}
        # an eye reading is evidence only on a face sharp enough to read it: "open" on a soft face does not count
        top = max((f.sharpness for f in facts if np.isfinite(f.sharpness)), default=float("nan"))
        readable = [f for f in facts if not (np.isfinite(top) and np.isfinite(f.sharpness)
                                             and f.sharpness < (1.0 - soft_margin) * top)]
        if not any(f.eyes == "open" for f in readable):
            closed = set()   # no sharp frame shows the eyes open: the eyes cannot choose
        for i in closed:
            reasons[i].append(REASON_EYES)
    open_ = [i for i in range(n) if i not in closed]
    sharp = [i for i in open_ if np.isfinite(facts[i].sharpness)]
    best = max(sharp, key=lambda i: facts[i].sharpness) if sharp else None
    for i in range(n):
        facts[i].smear = _smear(facts[i].directions, facts[best].directions) \
            if best is not None and i != best else float("nan")
    shaken = {i for i in open_ if i != best and np.isfinite(facts[i].smear) and facts[i].smear > motion_margin} \
        if "motion" in checks else set()
    soft = _outliers(facts, open_, "sharpness", lambda v, best: v < (1.0 - soft_margin) * best, max) \
        if "focus" in checks else set()
    for i in range(n):
        if i in shaken:
            reasons[i].append(REASON_MOTION)
        elif i in soft:
            reasons[i].append(REASON_SOFT_FACE if facts[i].subject == "face" else REASON_SOFT)
    passed = [i for i in open_ if i not in shaken and i not in soft]
    if not passed:
        passed = [best] if best is not None else open_
    return GroupVerdict(passed, {i: r for i, r in reasons.items() if r}, dict(enumerate(facts)))
