"""Write predicted stars into XMP sidecars — without ever losing metadata or a rating the person set.

Rules, per photo:

1. The sidecar that already exists is edited (``photo.jpg.xmp`` first, then ``photo.xmp``); its RDF tree is
   modified in place (:mod:`piaa.profiles.xmp`), so keywords, other namespaces and darktable's history stay.
   A sidecar that cannot be parsed is never touched (we cannot preserve what we cannot read).
2. Without a sidecar a new one is created next to the photo, ``photo.jpg.xmp`` (darktable / digiKam default)
   or ``photo.xmp`` with ``style="lightroom"``. Image files themselves are never opened for writing.
3. A rating is the person's when ``xmp:Rating`` is set (≠ 0) and our marker ``piaa:PredictedRating`` is absent
   or differs from it (the person changed our prediction). The person's rating is kept unless ``overwrite``,
   and then backed up in ``piaa:OriginalRating`` (restored by :func:`clear_predictions`). The same holds for
   colour labels (``xmp:Label`` / ``piaa:PredictedLabel``). A rating set inside the photo (embedded XMP)
   counts too: a new sidecar would override it in darktable. Predictions can be written as stars, a colour
   label or a keyword (:mod:`piaa.profiles.xmp_marks`).
4. Every write is atomic (temporary file in the same folder, fsync, rename) and keeps the file's permissions.
5. One sidecar, one photo's mark. ``IMG_0001.CR2`` and ``IMG_0001.JPG`` (a camera's RAW + JPEG pair) both map to
   ``IMG_0001.xmp`` in Lightroom's naming; writing both would flip its rating on every run. So the photos sharing
   a sidecar are grouped and one is written, by a fixed rule: the RAW file (Lightroom treats the JPEG of a pair
   as the RAW's companion), else the photo with the highest score, else the first name. The others get the
   action ``shared``, naming the photo whose mark the sidecar holds (darktable naming, ``IMG_0001.CR2.xmp``,
   keeps one sidecar per file and never shares).
"""
from __future__ import annotations

import errno
import os
import stat
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import List, Optional, Sequence

from piaa.errors import FileMissingError
from piaa.io.raw import RAW_EXTENSIONS
from piaa.profiles.xmp import XMPError, describe_rating, new_packet
from piaa.profiles.xmp_marks import Mark, apply_mark, persons_value, prediction_mark
from piaa.profiles.xmp_files import default_sidecar, failure, find_sidecar, is_read_only, read_embedded_xmp, \
    read_sidecar


@dataclass
class XmpAction:
    image: str
    sidecar: str
    stars: Optional[int]
    action: str                 # create | update | unchanged | keep | read-only | shared | error
    reason: str
    previous: Optional[float] = None
    mark: Optional[Mark] = None
    info: Optional[dict] = None  # extra piaa:* notes written with the mark (Cull, CullGroup, ...)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["mark"] = None if self.mark is None else f"{self.mark.kind}:{self.mark.value}"
        return d

    def what(self) -> str:
        return self.mark.describe() if self.mark is not None else f"{self.stars}★"

    def describe(self, dry_run: bool) -> str:
        verb = {"create": "would create" if dry_run else "created",
                "update": "would update" if dry_run else "updated",
                "unchanged": "unchanged", "keep": "kept", "read-only": "kept", "shared": "skipped",
                "error": "skipped"}[self.action]
        if self.action in ("keep", "read-only", "shared", "error"):
            return f"{verb:<12} {self.sidecar}  {self.reason}; piaa's mark would be {self.what()}"
        return f"{verb:<12} {self.sidecar}  {self.what()}  ({self.reason})"


def plan_writes(records: Sequence[dict], profile: Optional[str] = None, overwrite: bool = False,
                style: str = "darktable", mark: str = "rating", option: str = "--overwrite") -> List[XmpAction]:
    """Decide, without writing, what happens to each ranked record (``path``, ``stars``, ``score``).

    ``mark``: how predicted stars are written — ``rating`` (xmp:Rating), ``label`` (a colour label, see
    :data:`piaa.profiles.xmp_marks.STAR_LABELS`) or ``keyword``. A record may instead carry its own ``mark``
    (a :class:`~piaa.profiles.xmp_marks.Mark`; ``piaa cull`` does) and ``info`` (extra piaa:* notes).
    ``option``: how the reasons name the way to replace a person's value (the CLI's ``--overwrite``; the web
    service names its API field). A read-only sidecar (mode 444) is never written, even with ``overwrite``.
    """
    actions = []
    for rec in records:
        mk = rec.get("mark")
        if rec.get("error") or (mk is None and not rec.get("stars")):
            continue
        img = Path(rec["path"])
        stars = int(rec["stars"]) if rec.get("stars") else None
        mk = mk or prediction_mark(stars, mark)
        info = rec.get("info")
        side = find_sidecar(img)
        if side is not None:
            try:
                pkt = read_sidecar(side)
                current = pkt.rating()
            except XMPError as exc:
                actions.append(XmpAction(str(img), str(side), stars, "error", f"cannot read sidecar: {exc.reason}",
                                         mark=mk, info=info))
                continue
            person = persons_value(pkt, mk.kind)
            what = "rating " + describe_rating(current) if mk.kind == "rating" else f"{mk.kind} {person}"
            if is_read_only(side):
                held = f": it holds the {what} set in another tool" if person is not None else ""
                actions.append(XmpAction(str(img), str(side), stars, "read-only",
                                         f"the sidecar is read-only (mode 444), left as it is{held}", current, mk,
                                         info))
            elif person is not None and not overwrite:
                actions.append(XmpAction(str(img), str(side), stars, "keep",
                                         f"your {what} is kept ({option} replaces it)", current, mk, info))
            elif _already(pkt, mk):
                actions.append(XmpAction(str(img), str(side), stars, "unchanged", "already marked", current, mk,
                                         info))
            else:
                why = (f"was {describe_rating(current)}" if mk.kind == "rating" else "marked") \
                    + (f" (your {what} is backed up in piaa:Original*; {option})" if person is not None else "")
                actions.append(XmpAction(str(img), str(side), stars, "update", why, current, mk, info))
            continue
        embedded = _embedded_rating(img) if mk.kind == "rating" else None
        target = default_sidecar(img, style)
        if embedded not in (None, 0) and not overwrite:
            actions.append(XmpAction(str(img), str(target), stars, "keep",
                                     f"your rating {describe_rating(embedded)} inside the photo is kept "
                                     f"({option} writes a sidecar anyway)", embedded, mk, info))
            continue
        actions.append(XmpAction(str(img), str(target), stars, "create", "new sidecar", embedded, mk, info))
    return _one_photo_per_sidecar(actions, {str(Path(r["path"])): r.get("score") for r in records},
                                  style_hint=option.startswith("--"))


def _one_photo_per_sidecar(actions: List[XmpAction], scores: dict, style_hint: bool = True) -> List[XmpAction]:
    """Rule 5 of the module docs: of the photos sharing one sidecar, one (the RAW, else the best score) is
    written; the others become ``shared``."""
    groups: dict = {}
    for a in actions:
        groups.setdefault(os.path.normcase(os.path.abspath(a.sidecar)), []).append(a)
    out = []
    for a in actions:
        group = groups[os.path.normcase(os.path.abspath(a.sidecar))]
        if len(group) == 1:
            out.append(a)
            continue

        def rank(x: XmpAction):
            score = scores.get(x.image)
            return (Path(x.image).suffix.lower() not in RAW_EXTENSIONS,
                    -(float(score) if score is not None else float("-inf")), x.image)

        owner = min(group, key=rank)
        if a is owner:
            out.append(a)
        else:
            out.append(XmpAction(a.image, a.sidecar, a.stars, "shared",
                                 f"this sidecar holds {Path(owner.image).name}'s mark (photos of one base name "
                                 f"share {Path(a.sidecar).name}"
                                 + ("; --sidecar-style darktable gives each its own)" if style_hint else ")"),
                                 a.previous, a.mark, a.info))
    return out


def _already(pkt, mk: Mark) -> bool:
    from piaa.profiles.xmp_marks import LABEL, P_KEYWORD, P_LABEL, P_RATING, RATING, get_prop, keywords

    if mk.kind == "keyword":
        return get_prop(pkt, P_KEYWORD) == mk.value and mk.value in keywords(pkt)
    tag, ptag = (RATING, P_RATING) if mk.kind == "rating" else (LABEL, P_LABEL)
    cur, ours = get_prop(pkt, tag), get_prop(pkt, ptag)
    if cur is None or ours is None:
        return False
    if mk.kind == "rating":
        try:
            return float(cur) == float(ours) == float(mk.value)
        except ValueError:
            return False
    return cur == ours == mk.value


def apply_writes(actions: Sequence[XmpAction], scores: dict, profile: Optional[str] = None) -> List[XmpAction]:
    """Carry out ``create``/``update`` actions; a failure becomes an ``error`` action, never an exception."""
    done = []
    for a in actions:
        if a.action not in ("create", "update"):
            done.append(a)
            continue
        if is_read_only(a.sidecar):          # locked since the plan was made
            done.append(XmpAction(a.image, a.sidecar, a.stars, "read-only", "the sidecar is read-only (mode 444), "
                                  "left as it is", a.previous, a.mark, a.info))
            continue
        try:
            pkt = read_sidecar(a.sidecar) if a.action == "update" else new_packet(a.sidecar)
            score = scores.get(a.image)
            info = {"Score": None if score is None else f"{float(score):.6g}", "Profile": profile or None}
            info.update(a.info or {})
            apply_mark(pkt, a.mark or prediction_mark(a.stars), overwrite=True, info=info)
            write_atomic(a.sidecar, pkt.to_bytes(), exclusive=a.action == "create")
            done.append(a)
        except (XMPError, OSError, ValueError, RecursionError) as exc:  # one bad sidecar never stops the rest
            done.append(XmpAction(a.image, a.sidecar, a.stars, "error", f"write failed: {failure(exc)}", a.previous,
                                  a.mark, a.info))
    return done


def clear_predictions(paths: Sequence, recursive: bool = False, dry_run: bool = False) -> List[dict]:
    """Remove what piaa wrote (predicted stars / labels / keywords, cull marks, piaa:* notes) from the sidecars
    of ``paths`` (folders: every ``*.xmp`` in them; image files: their sidecars). A person's value piaa had
    replaced is restored; a value the person changed since is theirs and stays; a sidecar piaa created that is
    empty afterwards is deleted. Returns one record per sidecar looked at: ``sidecar``, ``action``
    (``cleared`` | ``deleted`` | ``none`` | ``error``), ``changes``."""
    from piaa.profiles.xmp_marks import clear_marks, created_by_piaa, is_empty

    out = []
    for side in _sidecars_of(paths, recursive):
        try:
            pkt = read_sidecar(side)
        except XMPError as exc:
            out.append({"sidecar": str(side), "action": "error", "changes": [f"cannot read: {exc.reason}"]})
            continue
        changes = clear_marks(pkt)
        if not changes:
            out.append({"sidecar": str(side), "action": "none", "changes": []})
            continue
        action = "deleted" if created_by_piaa(pkt) and is_empty(pkt) else "cleared"
        try:
            if not dry_run:
                if action == "deleted":
                    os.unlink(side)
                else:
                    write_atomic(side, pkt.to_bytes())
        except OSError as exc:
            out.append({"sidecar": str(side), "action": "error", "changes": [f"write failed: {exc}"]})
            continue
        out.append({"sidecar": str(side), "action": action, "changes": changes})
    return out


def _sidecars_of(paths, recursive: bool) -> List[Path]:
    from piaa.profiles.xmp_files import is_sidecar, sidecar_candidates

    found, seen = [], set()

    def add(p: Path):
        k = p.absolute()
        if k not in seen and p.is_file():
            seen.add(k)
            found.append(p)

    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            walker = os.walk(p) if recursive else [(str(p), [], os.listdir(p))]
            for root, dirs, files in walker:
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for f in sorted(files):
                    if not f.startswith(".") and is_sidecar(f):
                        add(Path(root) / f)
        elif is_sidecar(p):
            add(p)
        elif p.exists():
            for c in sidecar_candidates(p):
                add(c)
        else:
            raise FileMissingError(f"no such file or folder: {str(p)!r}")
    return found


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
            raise FileExistsError(errno.EEXIST, "the sidecar appeared while planning; run again", str(path))
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    atomic_write_bytes(path, data)
    os.chmod(path, mode)
