"""Write predicted stars into XMP sidecars — without ever losing metadata or a rating the person set.

Rules, per photo:

1. The sidecar that already exists is edited (``photo.jpg.xmp`` first, then ``photo.xmp``); its RDF tree is
   modified in place (:mod:`piaa.profiles.xmp`), so keywords, other namespaces and darktable's history stay.
   A sidecar that cannot be parsed is never touched (we cannot preserve what we cannot read).
2. Without a sidecar a new one is created next to the photo, ``photo.jpg.xmp`` (darktable / digiKam default)
   or ``photo.xmp`` with ``style="lightroom"``. Image files themselves are never opened for writing.
3. A rating is the person's when ``xmp:Rating`` is set (≠ 0) and our marker ``piaa:PredictedRating`` is absent
   or differs from it (the person changed our prediction). The person's rating is kept unless ``overwrite``.
   A rating set inside the photo (embedded XMP) counts too: a new sidecar would override it in darktable.
4. Every write is atomic (temporary file in the same folder, fsync, rename) and keeps the file's permissions.
"""
from __future__ import annotations

import os
import stat
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import List, Optional, Sequence

from piaa.profiles.xmp import XMPError, describe_rating, new_packet
from piaa.profiles.xmp_files import default_sidecar, find_sidecar, read_embedded_xmp, read_sidecar


@dataclass
class XmpAction:
    image: str
    sidecar: str
    stars: int
    action: str                 # create | update | unchanged | keep | error
    reason: str
    previous: Optional[float] = None

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self, dry_run: bool) -> str:
        verb = {"create": "would create" if dry_run else "created",
                "update": "would update" if dry_run else "updated",
                "unchanged": "unchanged", "keep": "kept", "error": "skipped"}[self.action]
        if self.action in ("keep", "error"):
            return f"{verb:<12} {self.sidecar}  {self.reason}; predicted {self.stars}★"
        return f"{verb:<12} {self.sidecar}  {self.stars}★  ({self.reason})"


def plan_writes(records: Sequence[dict], profile: Optional[str] = None, overwrite: bool = False,
                style: str = "darktable") -> List[XmpAction]:
    """Decide, without writing, what happens to each ranked record (``path``, ``stars``, ``score``)."""
    actions = []
    for rec in records:
        if rec.get("error") or not rec.get("stars"):
            continue
        img = Path(rec["path"])
        stars = int(rec["stars"])
        side = find_sidecar(img)
        if side is not None:
            try:
                pkt = read_sidecar(side)
                current = pkt.rating()
            except XMPError as exc:
                actions.append(XmpAction(str(img), str(side), stars, "error", f"cannot read sidecar: {exc.reason}"))
                continue
            marker = pkt.predicted_marker()
            person = current not in (None, 0) and (marker is None or marker != current)
            if person and not overwrite:
                actions.append(XmpAction(str(img), str(side), stars, "keep",
                                         f"your rating {describe_rating(current)} is kept (--overwrite replaces it)",
                                         current))
            elif current == stars and marker == stars:
                actions.append(XmpAction(str(img), str(side), stars, "unchanged", "already predicted", current))
            else:
                why = f"was {describe_rating(current)}" + (" (set by you; --overwrite)" if person else "")
                actions.append(XmpAction(str(img), str(side), stars, "update", why, current))
            continue
        embedded = _embedded_rating(img)
        target = default_sidecar(img, style)
        if embedded not in (None, 0) and not overwrite:
            actions.append(XmpAction(str(img), str(target), stars, "keep",
                                     f"your rating {describe_rating(embedded)} inside the photo is kept "
                                     "(--overwrite writes a sidecar anyway)", embedded))
            continue
        actions.append(XmpAction(str(img), str(target), stars, "create", "new sidecar", embedded))
    return actions


def apply_writes(actions: Sequence[XmpAction], scores: dict, profile: Optional[str] = None) -> List[XmpAction]:
    """Carry out ``create``/``update`` actions; a failure becomes an ``error`` action, never an exception."""
    done = []
    for a in actions:
        if a.action not in ("create", "update"):
            done.append(a)
            continue
        try:
            pkt = read_sidecar(a.sidecar) if a.action == "update" else new_packet(a.sidecar)
            pkt.set_predicted(a.stars, scores.get(a.image, float("nan")), profile)
            write_atomic(a.sidecar, pkt.to_bytes(), exclusive=a.action == "create")
            done.append(a)
        except (XMPError, OSError, ValueError) as exc:
            done.append(XmpAction(a.image, a.sidecar, a.stars, "error", f"write failed: {exc}", a.previous))
    return done


def _embedded_rating(img: Path) -> Optional[float]:
    from piaa.profiles.xmp import parse_packet

    data = read_embedded_xmp(img)
    if not data:
        return None
    try:
        return parse_packet(data, source=img).rating()
    except XMPError:
        return None


def write_atomic(path, data: bytes, exclusive: bool = False) -> None:
    """Atomic replace (temp file + fsync + rename, :func:`piaa.state.atomic_write_bytes`); an
    existing file keeps its permission bits. With ``exclusive`` the write fails if the file appeared meanwhile
    (another tool created a sidecar since we planned)."""
    from piaa.state import atomic_write_bytes

    path = Path(path)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if exclusive:
            raise FileExistsError(f"{path} appeared while planning; run again")
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    atomic_write_bytes(path, data)
    os.chmod(path, mode)
