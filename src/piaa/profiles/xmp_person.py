"""A person's own stars, pick/reject flag and colour label, both ways between piaa and XMP.

Reading (:func:`read_person`): the values the person set in their photo manager — ``xmp:Rating`` (1..5; ``-1`` =
rejected), ``xmp:Label`` (Lightroom's colour names) and a pick flag (``xmpDM:pick`` 1/-1 as Adobe Bridge writes
it, or digiKam's ``digiKam:PickLabel`` 3 accepted / 1 rejected) — from the sidecar, else the photo's embedded XMP.
A star or label that piaa predicted (``piaa:PredictedRating`` / ``piaa:PredictedLabel`` still equal to it) is
never read as the person's.

Writing (:func:`plan_person` + :func:`apply_person`): the person's values as plain XMP — ``xmp:Rating``,
``xmp:Label``, ``xmpDM:pick`` + ``digiKam:PickLabel`` — into the existing sidecar (edited in place, everything
else kept), or a new one. A rejected photo is written as rejected whatever stars it has: ``xmp:Rating -1`` with
pick ``-1`` (darktable, digiKam and Lightroom read ``-1`` as rejected; stars beside a reject flag showed as 5★
there). A piaa prediction in the sidecar is replaced (its marker removed: the value is now the person's). A
different value set in another tool (the sidecar's or the embedded one) is kept unless ``overwrite``; a
read-only sidecar (mode 444) is never written, even with ``overwrite``. Only values the person set in piaa are
written, nothing is cleared. Reasons name no file and no command-line option (the web page shows them).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import List, Optional, Sequence

from piaa.profiles.xmp import XMPError, XMPPacket, new_packet, parse_packet
from piaa.profiles.xmp_files import default_sidecar, failure, find_sidecar, is_read_only, read_embedded_xmp, \
    read_sidecar
from piaa.profiles.xmp_marks import LABEL, LABEL_COLOURS, P_LABEL, P_RATING, RATING, get_prop, persons_value, \
    remove_prop, set_prop

NS_DM = "http://ns.adobe.com/xmp/1.0/DynamicMedia/"
NS_DIGIKAM = "http://www.digikam.org/ns/1.0/"
DM_PICK = f"{{{NS_DM}}}pick"
DK_PICK = f"{{{NS_DIGIKAM}}}PickLabel"
FLAGS = ("pick", "reject")
LABELS = tuple(c.lower() for c in LABEL_COLOURS)          # red yellow green blue purple


@dataclass
class PersonMarks:
    """What the person set on one photo (``None`` = not set)."""
    stars: Optional[int] = None
    flag: Optional[str] = None          # pick | reject
    label: Optional[str] = None         # red | yellow | green | blue | purple
    source: str = "none"                # sidecar | embedded | none
    error: Optional[str] = None

    def empty(self) -> bool:
        return self.stars is None and self.flag is None and self.label is None


def _flag_of(pkt: XMPPacket) -> Optional[str]:
    for tag, pick, reject in ((DM_PICK, 1.0, -1.0), (DK_PICK, 3.0, 1.0)):
        v = get_prop(pkt, tag)
        try:
            n = float(v) if v is not None and v.strip() else None
        except ValueError:
            n = None
        if n == pick:
            return "pick"
        if n == reject:
            return "reject"
    return None


def marks_of(pkt: XMPPacket) -> PersonMarks:
    """The person's values in one packet (piaa's predictions left out)."""
    out = PersonMarks()
    r = persons_value(pkt, "rating")
    if r is not None:
        v = float(r)
        if v < 0:
            out.flag = "reject"
        elif v >= 1:
            out.stars = max(1, min(5, int(round(v))))
    lab = persons_value(pkt, "label")
    if lab and lab.strip().lower() in LABELS:
        out.label = lab.strip().lower()
    flag = _flag_of(pkt)
    if flag is not None:
        out.flag = flag
    return out


def read_person(image) -> PersonMarks:
    """The person's values for ``image``: the sidecar's where it sets any, else the embedded packet's. A packet
    that cannot be parsed is reported in ``error``, never raised."""
    errors = []
    side = find_sidecar(image)
    if side is not None:
        try:
            m = marks_of(read_sidecar(side))
            if not m.empty():
                m.source = "sidecar"
                return m
        except XMPError as exc:
            errors.append(str(exc))
    data = read_embedded_xmp(image) if Path(image).is_file() else None
    if data:
        try:
            m = marks_of(parse_packet(data, source=f"{image} (embedded XMP)"))
            if not m.empty():
                m.source = "embedded"
                m.error = "; ".join(errors) or None
                return m
        except XMPError as exc:
            errors.append(str(exc))
    return PersonMarks(error="; ".join(errors) or None)


@dataclass
class PersonAction:
    image: str
    sidecar: str
    action: str                         # create | update | unchanged | keep | read-only | error
    reason: str
    wanted: PersonMarks = field(default_factory=PersonMarks)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["wanted"] = {k: v for k, v in asdict(self.wanted).items() if k in ("stars", "flag", "label")}
        return d

    def describe(self, dry_run: bool) -> str:
        """One line for a terminal, like :meth:`piaa.profiles.xmp_write.XmpAction.describe`."""
        verb = {"create": "would create" if dry_run else "created", "update": "would update" if dry_run else
                "updated"}.get(self.action, {"unchanged": "unchanged", "error": "skipped"}.get(self.action, "kept"))
        w = as_written(self.wanted)
        what = ", ".join(x for x in (f"{w.stars}★" if w.stars else None, w.flag, w.label) if x) or "nothing"
        return f"{verb:<12} {self.sidecar}  your {what}  ({self.reason})"


def as_written(want: PersonMarks) -> PersonMarks:
    """What the sidecar gets for ``want``: a reject is written as rejected (no stars), whatever stars it had."""
    if want.flag == "reject":
        return PersonMarks(None, "reject", want.label)
    return PersonMarks(want.stars, want.flag, want.label)


def _conflicts(pkt: Optional[XMPPacket], want: PersonMarks) -> List[str]:
    """The values in ``pkt`` (set in another tool) that writing ``want`` would replace."""
    if pkt is None:
        return []
    have = marks_of(pkt)
    want = as_written(want)
    out = []
    if have.stars is not None and (want.stars is not None or want.flag == "reject") and have.stars != want.stars:
        out.append(f"{have.stars}★")
    if want.label is not None and have.label is not None and have.label != want.label:
        out.append(f"label {have.label}")
    if want.flag is not None and have.flag is not None and have.flag != want.flag:
        out.append(have.flag)
    return out


def _apply(pkt: XMPPacket, want: PersonMarks) -> None:
    want = as_written(want)
    if want.stars is not None:
        set_prop(pkt, RATING, str(int(want.stars)))
        remove_prop(pkt, P_RATING)
    if want.label is not None:
        set_prop(pkt, LABEL, want.label.capitalize())
        remove_prop(pkt, P_LABEL)
    if want.flag is not None:
        set_prop(pkt, DM_PICK, "1" if want.flag == "pick" else "-1")
        set_prop(pkt, DK_PICK, "3" if want.flag == "pick" else "1")
        if want.flag == "reject":
            set_prop(pkt, RATING, "-1")         # darktable's, digiKam's and Lightroom's "rejected"
            remove_prop(pkt, P_RATING)


#: How a ``keep`` reason says that the value can be replaced (the API's field; the CLI names its option).
OVERWRITE_HINT = "overwrite replaces it"


def plan_person(records: Sequence[dict], overwrite: bool = False, style: str = "darktable",
                hint: str = OVERWRITE_HINT) -> List[PersonAction]:
    """What writing each record (``path``, ``stars``, ``flag``, ``label``) would do, without writing."""
    out = []
    for rec in records:
        want = PersonMarks(rec.get("stars"), rec.get("flag"), rec.get("label"))
        if want.empty():
            continue
        img = Path(rec["path"])
        side = find_sidecar(img)
        pkt = None
        if side is not None:
            try:
                pkt = read_sidecar(side)
            except XMPError as exc:
                out.append(PersonAction(str(img), str(side), "error", f"cannot read sidecar: {failure(exc)}", want))
                continue
        else:
            data = read_embedded_xmp(img)
            try:
                embedded = parse_packet(data, source=img) if data else None
            except XMPError:
                embedded = None
            side = default_sidecar(img, style)
            clash = _conflicts(embedded, want)
            if clash and not overwrite:
                out.append(PersonAction(str(img), str(side), "keep",
                                        f"the photo itself holds {', '.join(clash)} ({hint})", want))
                continue
            out.append(PersonAction(str(img), str(side), "create", "new sidecar", want))
            continue
        clash = _conflicts(pkt, want)
        if is_read_only(side):
            held = f": it holds {', '.join(clash)} set in another tool" if clash else ""
            out.append(PersonAction(str(img), str(side), "read-only",
                                    f"the sidecar is read-only (mode 444), left as it is{held}", want))
            continue
        if clash and not overwrite:
            out.append(PersonAction(str(img), str(side), "keep",
                                    f"the sidecar holds {', '.join(clash)} set in another tool ({hint})", want))
            continue
        before = pkt.to_bytes()
        _apply(pkt, want)
        same = pkt.to_bytes() == before
        out.append(PersonAction(str(img), str(side), "unchanged" if same else "update",
                                "already written" if same else "your marks", want))
    return out


def apply_person(actions: Sequence[PersonAction]) -> List[PersonAction]:
    """Carry out ``create``/``update`` actions (atomic writes); a failure becomes an ``error`` action."""
    from piaa.profiles.xmp_write import write_atomic

    done = []
    for a in actions:
        if a.action not in ("create", "update"):
            done.append(a)
            continue
        if is_read_only(a.sidecar):          # locked since the plan was made
            done.append(PersonAction(a.image, a.sidecar, "read-only", "the sidecar is read-only (mode 444), left "
                                     "as it is", a.wanted))
            continue
        try:
            pkt = read_sidecar(a.sidecar) if a.action == "update" else new_packet(a.sidecar)
            _apply(pkt, a.wanted)
            write_atomic(a.sidecar, pkt.to_bytes(), exclusive=a.action == "create")
            done.append(a)
        except (XMPError, OSError, ValueError, RecursionError) as exc:
            done.append(PersonAction(a.image, a.sidecar, "error", f"write failed: {failure(exc)}", a.wanted))
    return done


__all__ = ["PersonMarks", "PersonAction", "read_person", "marks_of", "plan_person", "apply_person", "as_written",
           "OVERWRITE_HINT", "FLAGS", "LABELS"]
