"""Marks piaa writes into XMP sidecars — stars, colour labels, keywords — told apart from the person's own and
undone exactly.

What photo managers read (all plain XMP, in the sidecar):

* **stars**: ``xmp:Rating`` 1..5; ``-1`` = rejected (darktable, digiKam, Bridge/Camera Raw show it as a reject).
* **colour label**: ``xmp:Label`` with one of Lightroom's names, Red / Yellow / Green / Blue / Purple (darktable
  and digiKam map these names to their colour labels on import).
* **keyword**: an entry of the ``dc:subject`` bag (every manager lists and filters keywords).

Every mark piaa writes is recorded next to it in piaa's own namespace, so a later run knows what is ours:

=========================  ==========================================================================
``piaa:PredictedRating``   the ``xmp:Rating`` value piaa wrote (a changed rating is the person's again)
``piaa:PredictedLabel``    the ``xmp:Label`` value piaa wrote
``piaa:PredictedKeyword``  the ``dc:subject`` entry piaa added
``piaa:OriginalRating``    the person's rating piaa replaced (only with ``--overwrite``): restored on clear
``piaa:OriginalLabel``     the person's label piaa replaced: restored on clear
``piaa:Score``, ``piaa:Profile``, ``piaa:Cull``, ``piaa:CullGroup``   what produced the mark
=========================  ==========================================================================

:func:`clear_marks` removes exactly these: a rating or label still equal to piaa's is removed (or the person's
backed-up value restored), one the person changed since is left as theirs, piaa's keyword is taken out of the
bag, piaa's properties are dropped, and a sidecar piaa created that is empty afterwards is deleted by the caller.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import List, Optional, Tuple

from piaa.errors import InputError
from piaa.profiles.xmp import _P_PRED as P_RATING
from piaa.profiles.xmp import _RATING as RATING
from piaa.profiles.xmp import _RDF_DESC, NS_PIAA, NS_RDF, NS_XMP, XMPError, XMPPacket

NS_DC = "http://purl.org/dc/elements/1.1/"
LABEL, SUBJECT = f"{{{NS_XMP}}}Label", f"{{{NS_DC}}}subject"
_BAG, _LI = f"{{{NS_RDF}}}Bag", f"{{{NS_RDF}}}li"


def _p(name: str) -> str:
    return f"{{{NS_PIAA}}}{name}"


P_LABEL, P_KEYWORD = _p("PredictedLabel"), _p("PredictedKeyword")
P_ORIG_RATING, P_ORIG_LABEL = _p("OriginalRating"), _p("OriginalLabel")
P_INFO = tuple(_p(n) for n in ("Score", "Profile", "Cull", "CullGroup"))
PIAA_PROPS = (P_RATING, P_LABEL, P_KEYWORD, P_ORIG_RATING, P_ORIG_LABEL) + P_INFO

#: Lightroom's colour label names (the values of ``xmp:Label`` other tools map to their colours).
LABEL_COLOURS = ("Red", "Yellow", "Green", "Blue", "Purple")
#: Predicted stars written as colour labels: green = best, red = worst (traffic-light order, blue/purple between).
STAR_LABELS = {5: "Green", 4: "Blue", 3: "Yellow", 2: "Purple", 1: "Red"}
MARK_KINDS = ("rating", "label", "keyword")


@dataclass(frozen=True)
class Mark:
    """One mark to write: ``kind`` rating (value -1 or 1..5), label (a colour name) or keyword (text)."""

    kind: str
    value: str

    @classmethod
    def parse(cls, text: str) -> Optional["Mark"]:
        """``rating:5``, ``rating:-1``, ``label:Green``, ``keyword:piaa-pick``, ``none`` -> Mark / None."""
        t = str(text).strip()
        if t.lower() == "none":
            return None
        kind, _, value = t.partition(":")
        kind = kind.lower()
        if kind not in MARK_KINDS or not value.strip():
            raise InputError(f"not a mark: {text!r} (use rating:N, label:COLOUR, keyword:WORD or none)")
        value = value.strip()
        if kind == "rating":
            try:
                n = float(value)
            except ValueError:
                raise InputError(f"rating mark must be -1 or 1..5, not {value!r}") from None
            if n not in (-1, 1, 2, 3, 4, 5):
                raise InputError(f"rating mark must be -1 (reject) or 1..5 stars, not {value!r}")
            value = str(int(n))
        elif kind == "label":
            match = [c for c in LABEL_COLOURS if c.lower() == value.lower()]
            if not match:
                raise InputError(f"colour label must be one of {', '.join(LABEL_COLOURS)}, not {value!r}")
            value = match[0]
        elif any(ord(ch) < 32 for ch in value) or len(value) > 100:
            raise InputError("a keyword is printable text of at most 100 characters")
        return cls(kind, value)

    def describe(self) -> str:
        if self.kind == "rating":
            return "rejected (-1)" if self.value == "-1" else f"{self.value}★"
        return f"{self.kind} {self.value}"


def prediction_mark(stars: int, kind: str = "rating") -> Mark:
    """How predicted ``stars`` are written in mode ``kind``: the stars, a colour label, or a keyword."""
    if kind == "rating":
        return Mark("rating", str(int(stars)))
    if kind == "label":
        return Mark("label", STAR_LABELS[int(stars)])
    if kind == "keyword":
        return Mark("keyword", f"piaa-predicted-{int(stars)}-stars")
    raise InputError(f"prediction mark must be one of {', '.join(MARK_KINDS)}, not {kind!r}")


# ---- simple properties (attribute or element form, on any rdf:Description) --------------------------------------
def get_prop(pkt: XMPPacket, tag: str) -> Optional[str]:
    for d in pkt.descriptions():
        if tag in d.attrib:
            return d.attrib[tag]
        child = d.find(tag)
        if child is not None and len(child) == 0:
            return child.text or ""
    return None


def _holder(pkt: XMPPacket, tag: str):
    for d in pkt.descriptions():
        if tag in d.attrib or d.find(tag) is not None:
            return d
    return None


def _target(pkt: XMPPacket) -> ET.Element:
    descs = pkt.descriptions()
    if not descs:
        rdf = pkt.root if pkt.root.tag == f"{{{NS_RDF}}}RDF" else pkt.root.find(f".//{{{NS_RDF}}}RDF")
        if rdf is None:
            raise XMPError(pkt.source, "no rdf:RDF element: not an XMP packet")
        return ET.SubElement(rdf, _RDF_DESC, {f"{{{NS_RDF}}}about": ""})
    return next((d for d in descs if any(k.startswith(f"{{{NS_XMP}}}") for k in d.attrib)
                 or any(isinstance(c.tag, str) and c.tag.startswith(f"{{{NS_XMP}}}") for c in d)), descs[0])


def set_prop(pkt: XMPPacket, tag: str, value: str) -> None:
    """Set a simple property where it already is (attribute or element), else as an attribute."""
    d = _holder(pkt, tag)
    if d is None:
        _target(pkt).set(tag, str(value))
        return
    if tag in d.attrib:
        d.set(tag, str(value))
    else:
        d.find(tag).text = str(value)


def remove_prop(pkt: XMPPacket, tag: str) -> bool:
    removed = False
    for d in pkt.descriptions():
        if d.attrib.pop(tag, None) is not None:
            removed = True
        for child in d.findall(tag):
            d.remove(child)
            removed = True
    return removed


# ---- keywords (dc:subject bag) -------------------------------------------------------------------------------
def keywords(pkt: XMPPacket) -> List[str]:
    return [li.text or "" for d in pkt.descriptions() for s in d.findall(SUBJECT) for li in s.iter(_LI)]


def add_keyword(pkt: XMPPacket, word: str) -> None:
    if word in keywords(pkt):
        return
    bag = None
    for d in pkt.descriptions():
        s = d.find(SUBJECT)
        if s is not None:
            bag = s.find(_BAG)
            if bag is None:
                bag = ET.SubElement(s, _BAG)
            break
    if bag is None:
        subject = ET.SubElement(_target(pkt), SUBJECT)
        bag = ET.SubElement(subject, _BAG)
    li = ET.SubElement(bag, _LI)
    li.text = word


def remove_keyword(pkt: XMPPacket, word: str) -> bool:
    removed = False
    for d in pkt.descriptions():
        for s in d.findall(SUBJECT):
            for container in list(s):
                for li in container.findall(_LI):
                    if (li.text or "") == word:
                        container.remove(li)
                        removed = True
                if removed and not container.findall(_LI):
                    s.remove(container)
            if removed and len(s) == 0:
                d.remove(s)
    return removed


# ---- whose is it? --------------------------------------------------------------------------------------------
def _num(v: Optional[str]) -> Optional[float]:
    try:
        return None if v is None or v.strip() == "" else float(v)
    except ValueError:
        return None


def persons_value(pkt: XMPPacket, kind: str) -> Optional[str]:
    """The person's own rating (≠ 0) or label in the packet, ``None`` when absent or written by piaa."""
    if kind == "rating":
        cur, ours = _num(get_prop(pkt, RATING)), _num(get_prop(pkt, P_RATING))
        if cur in (None, 0.0) or (ours is not None and ours == cur):
            return None
        return f"{cur:g}"
    if kind == "label":
        cur, ours = get_prop(pkt, LABEL), get_prop(pkt, P_LABEL)
        if not cur or (ours is not None and ours == cur):
            return None
        return cur
    return None


# ---- write / clear ---------------------------------------------------------------------------------------------
def apply_mark(pkt: XMPPacket, mark: Mark, *, overwrite: bool = False, info: Optional[dict] = None) -> None:
    """Write ``mark`` and piaa's record of it. A person's own value is replaced only with ``overwrite`` (the
    caller decides; here it is backed up in ``piaa:Original*`` first). ``info``: piaa:Score/Profile/Cull/...
    values (``None`` entries are skipped)."""
    _drop_our_marks(pkt)
    if mark.kind in ("rating", "label"):
        tag, ptag, btag = (RATING, P_RATING, P_ORIG_RATING) if mark.kind == "rating" else (LABEL, P_LABEL, P_ORIG_LABEL)
        person = persons_value(pkt, mark.kind)
        if person is not None:
            if not overwrite:
                raise InputError(f"the person's own {mark.kind} {person} is there (overwrite not allowed)")
            if get_prop(pkt, btag) is None:
                set_prop(pkt, btag, get_prop(pkt, tag))
        set_prop(pkt, tag, mark.value)
        set_prop(pkt, ptag, mark.value)
    else:
        add_keyword(pkt, mark.value)
        set_prop(pkt, P_KEYWORD, mark.value)
    for name, value in (info or {}).items():
        if value is not None:
            set_prop(pkt, _p(name), str(value))


def _drop_our_marks(pkt: XMPPacket) -> None:
    """Before a new mark: take back piaa's previous one (a keyword, a rating/label in another mode), keeping
    the person's backed-up values in place for a later restore."""
    kw = get_prop(pkt, P_KEYWORD)
    if kw:
        remove_keyword(pkt, kw)
    for tag, ptag, btag in ((RATING, P_RATING, P_ORIG_RATING), (LABEL, P_LABEL, P_ORIG_LABEL)):
        ours, cur = get_prop(pkt, ptag), get_prop(pkt, tag)
        if ours is not None and cur is not None and _same(ours, cur):
            backup = get_prop(pkt, btag)
            if backup is not None:
                set_prop(pkt, tag, backup)
                remove_prop(pkt, btag)
            else:
                remove_prop(pkt, tag)
    for t in (P_RATING, P_LABEL, P_KEYWORD) + P_INFO:
        remove_prop(pkt, t)


def _same(a: str, b: str) -> bool:
    na, nb = _num(a), _num(b)
    return na == nb if na is not None and nb is not None else a.strip() == b.strip()


def clear_marks(pkt: XMPPacket) -> List[str]:
    """Remove everything piaa wrote; returns what was done, one phrase each (empty: nothing of piaa's)."""
    done: List[str] = []
    for kind, tag, ptag, btag in (("rating", RATING, P_RATING, P_ORIG_RATING), ("label", LABEL, P_LABEL, P_ORIG_LABEL)):
        ours, cur, backup = get_prop(pkt, ptag), get_prop(pkt, tag), get_prop(pkt, btag)
        if ours is None:
            if backup is not None:
                remove_prop(pkt, btag)
            continue
        if cur is not None and _same(ours, cur):
            if backup is not None:
                set_prop(pkt, tag, backup)
                done.append(f"{kind} {ours} -> your {backup} restored")
            else:
                remove_prop(pkt, tag)
                done.append(f"{kind} {ours} removed")
        else:
            done.append(f"{kind} {cur if cur is not None else '(none)'} kept (you changed piaa's {ours})")
    kw = get_prop(pkt, P_KEYWORD)
    if kw and remove_keyword(pkt, kw):
        done.append(f"keyword {kw!r} removed")
    found = [t for t in PIAA_PROPS if get_prop(pkt, t) is not None]
    for t in PIAA_PROPS:
        remove_prop(pkt, t)
    if found and not done:
        done.append("piaa's notes removed")
    if done and not any(isinstance(e.tag, str) and (e.tag.startswith(f"{{{NS_PIAA}}}")
                                                    or any(k.startswith(f"{{{NS_PIAA}}}") for k in e.attrib))
                        for e in pkt.root.iter()):
        for key, decls in list(pkt.decls.items()):  # the piaa namespace declaration goes with the last property
            pkt.decls[key] = [(pre, uri) for pre, uri in decls if uri != NS_PIAA]
    return done


def is_empty(pkt: XMPPacket) -> bool:
    """No property left at all (only rdf:about and namespace declarations): a sidecar with nothing in it."""
    for d in pkt.descriptions():
        if any(k != f"{{{NS_RDF}}}about" for k in d.attrib) or any(isinstance(c.tag, str) for c in d):
            return False
    return True


def created_by_piaa(pkt: XMPPacket) -> bool:
    return pkt.root.get("{adobe:ns:meta/}xmptk") == "piaa"


def summarize(pkt: XMPPacket) -> Tuple[Optional[str], Optional[str], List[str]]:
    """(rating, label, keywords) as they stand — for reports."""
    return get_prop(pkt, RATING), get_prop(pkt, LABEL), keywords(pkt)


__all__ = ["Mark", "prediction_mark", "apply_mark", "clear_marks", "persons_value", "is_empty", "created_by_piaa",
           "LABEL_COLOURS", "STAR_LABELS", "MARK_KINDS", "NS_DC"]
