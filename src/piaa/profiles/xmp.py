"""XMP packets as RDF/XML trees: read a photo's star rating, write a predicted one without losing anything else.

Why this design (see docs/profiles.md, "Why no metadata library"): ``xmp:Rating`` is one simple property of an
RDF/XML document. It is parsed here with ``defusedxml`` (a real XML parser that refuses entity-expansion and
external-entity attacks — sidecars come from anywhere) into an ElementTree, edited in place, and serialized
back. Everything we did not touch survives: other namespaces, keywords, darktable's edit history, comments,
processing instructions inside the packet, and — verbatim, byte for byte — whatever stands before and after
the root element (the ``<?xml ...?>`` declaration, ``<?xpacket ...?>`` wrappers, padding).

Ratings follow the XMP spec (and what Lightroom, darktable and digiKam write): ``xmp:Rating`` is a Real in
[-1, 5]; ``-1`` = rejected, ``0`` = unrated, 1..5 = stars. It may be written as an attribute of an
``rdf:Description`` (compact form, exiv2/Adobe) or as a child element (``<xmp:Rating>3</xmp:Rating>``,
exiftool style).

Our predictions carry a marker in our own namespace, ``piaa:PredictedRating`` (plus ``piaa:Score`` and
``piaa:Profile``), so a later run can tell a rating we wrote from one the person set.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from piaa.errors import InputError


NS_X = "adobe:ns:meta/"
NS_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
NS_XMP = "http://ns.adobe.com/xap/1.0/"
NS_PIAA = "urn:x-piaa:xmp:1.0/"  # a URN: names our properties, resolves nowhere, claims no domain
PIAA_PREFIX = "piaa"

_RDF_DESC = f"{{{NS_RDF}}}Description"
_RDF_RDF = f"{{{NS_RDF}}}RDF"
_RATING = f"{{{NS_XMP}}}Rating"
_P_PRED = f"{{{NS_PIAA}}}PredictedRating"
_P_SCORE = f"{{{NS_PIAA}}}Score"
_P_PROFILE = f"{{{NS_PIAA}}}Profile"



class XMPError(InputError):
    """An XMP packet could not be read (malformed XML, forbidden DTD/entities, not an XMP packet)."""

    def __init__(self, source, reason: str):
        self.source = None if source is None else str(source)
        self.reason = reason
        super().__init__(f"{self.source}: {reason}" if self.source else reason)


class _RecordingBuilder(ET.TreeBuilder):
    """A TreeBuilder that keeps comments/PIs and remembers on which element each namespace was declared, so
    the packet can be written back with its declarations, and prefixes, where they were."""

    def __init__(self):
        super().__init__(insert_comments=True, insert_pis=True)
        self.decls: Dict[int, List[Tuple[str, str]]] = {}
        self._pending: List[Tuple[str, str]] = []

    def start_ns(self, prefix, uri):
        self._pending.append((prefix or "", uri))

    def start(self, tag, attrs):
        elem = super().start(tag, attrs)
        if self._pending:
            self.decls[id(elem)] = self._pending
            self._pending = []
        return elem


@dataclass
class XMPPacket:
    """A parsed XMP packet: ``head`` + serialized ``root`` + ``tail`` reproduce the document."""

    root: ET.Element
    head: str
    tail: str
    decls: Dict[int, List[Tuple[str, str]]]  # id(element) -> namespace declarations made on it
    source: Optional[str] = None
    encoding: str = "utf-8"     # codec the file was read in, and is written back in
    bom: bytes = b""            # byte-order mark the file started with (written back)
    newline: str = "\n"         # "\r\n" when the file used CRLF line endings

    # ---- reading --------------------------------------------------------------------------------------------
    def descriptions(self) -> List[ET.Element]:
        return [e for e in self.root.iter(_RDF_DESC)]

    def rating(self) -> Optional[float]:
        """The ``xmp:Rating`` value (attribute or element form), ``None`` when absent or empty."""
        raw = self._rating_raw()
        if raw is None or raw.strip() == "":
            return None
        try:
            value = float(raw.strip())
        except ValueError:
            raise XMPError(self.source, f"xmp:Rating is not a number: {raw!r}") from None
        if not -1.0 <= value <= 5.0:
            raise XMPError(self.source, f"xmp:Rating {value:g} is outside the XMP range -1..5")
        if -1.0 < value < 0.0:  # only -1 means "rejected"; -0.5 is no rating any tool writes
            raise XMPError(self.source, f"xmp:Rating {value:g} is neither -1 (rejected) nor a rating in 0..5")
        return value

    def is_predicted(self) -> bool:
        """Whether the rating is one piaa predicted (our marker is present and equals ``xmp:Rating``); a
        rating the person changed after our prediction no longer matches the marker and is theirs."""
        marker = self.predicted_marker()
        if marker is None:
            return False
        try:
            current = self.rating()
        except XMPError:
            return False
        return current is not None and current == marker

    def predicted_marker(self) -> Optional[float]:
        """Our ``piaa:PredictedRating`` marker, ``None`` when this packet carries none."""
        for d in self.descriptions():
            v = d.get(_P_PRED)
            if v is None:
                child = d.find(_P_PRED)
                v = None if child is None else (child.text or "")
            if v is not None:
                try:
                    return float(v.strip())
                except ValueError:
                    return None
        return None

    def _rating_raw(self) -> Optional[str]:
        for d in self.descriptions():
            if _RATING in d.attrib:
                return d.attrib[_RATING]
            child = d.find(_RATING)
            if child is not None:
                return child.text or ""
        return None

    # ---- writing --------------------------------------------------------------------------------------------
    def set_predicted(self, stars: int, score: float, profile: Optional[str]) -> None:
        """Set ``xmp:Rating`` to ``stars`` and our marker, in place; every other node is left as it was."""
        if not 1 <= int(stars) <= 5:
            raise InputError(f"stars must be 1..5, not {stars}")
        descs = self.descriptions()
        if not descs:
            rdf = self.root if self.root.tag == _RDF_RDF else self.root.find(f".//{_RDF_RDF}")
            if rdf is None:
                raise XMPError(self.source, "no rdf:RDF element: not an XMP packet")
            d = ET.SubElement(rdf, _RDF_DESC, {f"{{{NS_RDF}}}about": ""})
            descs = [d]
        # the rating goes where it already is (attribute or element); otherwise onto the Description that
        # already declares xmp: properties, else the first one
        target = None
        for d in descs:
            if _RATING in d.attrib:
                d.set(_RATING, str(int(stars)))
                target = d
                break
            child = d.find(_RATING)
            if child is not None:
                child.text = str(int(stars))
                target = d
                break
        if target is None:
            target = next((d for d in descs if any(k.startswith(f"{{{NS_XMP}}}") for k in d.attrib)
                           or any(c.tag.startswith(f"{{{NS_XMP}}}") for c in d if isinstance(c.tag, str))),
                          descs[0])
            target.set(_RATING, str(int(stars)))
        for d in descs:  # a marker lives in one place only
            for key in (_P_PRED, _P_SCORE, _P_PROFILE):
                d.attrib.pop(key, None)
                for child in d.findall(key):
                    d.remove(child)
        target.set(_P_PRED, str(int(stars)))
        target.set(_P_SCORE, f"{float(score):.6g}")
        if profile:
            target.set(_P_PROFILE, str(profile))

    def to_bytes(self) -> bytes:
        """Serialize: the original head and tail verbatim around the edited root, in the file's own encoding
        (the one its XML declaration or byte-order mark names; characters it cannot hold become character
        references) and with its own line endings."""
        root = self._root_text()
        if self.newline != "\n":
            root = root.replace("\n", self.newline)
        return self.bom + (self.head + root + self.tail).encode(self.encoding, errors="xmlcharrefreplace")

    def _root_text(self) -> str:
        out: List[str] = []
        _write(out, self.root, self.decls, {"xml": "http://www.w3.org/XML/1998/namespace"}, "")
        return "".join(out)


# ---- serialization: ElementTree's own writer hoists every declaration to the root and renames prefixes; this
# one writes each element with the declarations it had, the prefixes in scope, and attributes in their order.
_XML_NS = "http://www.w3.org/XML/1998/namespace"


# characters XML 1.0 does not allow anywhere, not even as character references
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _esc_text(s: str) -> str:
    s = _XML_INVALID.sub("\ufffd", s)
    # a carriage return that survived parsing came from a character reference: keep it one
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#xD;")


def _esc_attr(s: str) -> str:
    return (_esc_text(s).replace('"', "&quot;").replace("\n", "&#xA;").replace("\r", "&#xD;")
            .replace("\t", "&#x9;"))


def _split_tag(tag: str) -> Tuple[str, str]:
    if tag.startswith("{"):
        uri, local = tag[1:].split("}", 1)
        return uri, local
    return "", tag


def _indent_of(prev_text: Optional[str]) -> str:
    if prev_text and "\n" in prev_text:
        tail = prev_text.rsplit("\n", 1)[1]
        if tail.strip() == "":
            return tail
    return ""


_PREFERRED = {NS_PIAA: PIAA_PREFIX, NS_XMP: "xmp", NS_RDF: "rdf", NS_X: "x", "http://purl.org/dc/elements/1.1/": "dc",
              "http://ns.adobe.com/xmp/1.0/DynamicMedia/": "xmpDM", "http://www.digikam.org/ns/1.0/": "digiKam"}


def _write(out: List[str], elem, decls, scope: Dict[str, str], indent: str) -> None:
    tag = elem.tag
    if tag is ET.Comment:
        out.append(f"<!--{elem.text or ''}-->")
        return
    if tag is ET.ProcessingInstruction:
        out.append(f"<?{elem.text or ''}?>")
        return
    own = list(decls.get(id(elem), []))
    scope = dict(scope)
    for prefix, uri in own:
        scope[prefix] = uri
    by_uri = {}
    for prefix, uri in scope.items():  # innermost declaration wins (later dict entries override)
        by_uri[uri] = prefix

    def qname(name: str, is_attr: bool) -> str:
        uri, local = _split_tag(name)
        if not uri:
            return local
        prefix = by_uri.get(uri)
        if prefix is None or (is_attr and prefix == ""):
            base = _PREFERRED.get(uri, "ns")
            prefix, k = base, 0
            while prefix in scope:
                k += 1
                prefix = f"{base}{k}"
            scope[prefix] = uri
            by_uri[uri] = prefix
            own.append((prefix, uri))
        return f"{prefix}:{local}" if prefix else local

    name = qname(tag, False)
    attrs = [(qname(k, True), v) for k, v in elem.attrib.items()]
    items = [(f"xmlns:{p}" if p else "xmlns", u) for p, u in own] + attrs
    # rdf:about stays on the tag's line; with more than two items one per line, as exiv2 and Adobe's XMP
    # toolkit lay out rdf:Description / rdf:li: declarations at +2, properties at +1
    about = [(k, v) for k, v in attrs if k.endswith(":about") and k.split(":")[0] == by_uri.get(NS_RDF)]
    rest = [(k, v) for k, v in attrs if (k, v) not in about]
    head = f"<{name}" + "".join(f" {k}=\"{_esc_attr(v)}\"" for k, v in about)
    if len(items) > 2:
        head += "".join(f"\n{indent}  {('xmlns:' + p) if p else 'xmlns'}=\"{_esc_attr(u)}\"" for p, u in own)
        head += "".join(f"\n{indent} {k}=\"{_esc_attr(v)}\"" for k, v in rest)
    else:
        head += "".join(f" {('xmlns:' + p) if p else 'xmlns'}=\"{_esc_attr(u)}\"" for p, u in own)
        head += "".join(f" {k}=\"{_esc_attr(v)}\"" for k, v in rest)
    children = list(elem)
    if not children and not elem.text:
        out.append(head + "/>")
        return
    out.append(head + ">")
    if elem.text:
        out.append(_esc_text(elem.text))
    prev = elem.text
    for child in children:
        _write(out, child, decls, scope, _indent_of(prev))
        if child.tail:
            out.append(_esc_text(child.tail))
        prev = child.tail
    out.append(f"</{name}>")


_DECL_ENCODING = re.compile(rb"""^<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z][A-Za-z0-9._-]*)["']""")


def _decode(data: bytes, source) -> Tuple[str, str, bytes]:
    """(text, codec, byte-order mark) of a packet: the BOM decides, else the XML declaration's encoding,
    else UTF-8 (the XML default)."""
    import codecs

    data = bytes(data)
    if data.startswith(codecs.BOM_UTF8):
        codec, bom = "utf-8", codecs.BOM_UTF8
    elif data.startswith(codecs.BOM_UTF16_LE):
        codec, bom = "utf-16-le", codecs.BOM_UTF16_LE
    elif data.startswith(codecs.BOM_UTF16_BE):
        codec, bom = "utf-16-be", codecs.BOM_UTF16_BE
    elif data.startswith(b"<\x00?\x00"):
        codec, bom = "utf-16-le", b""
    elif data.startswith(b"\x00<\x00?"):
        codec, bom = "utf-16-be", b""
    else:
        bom = b""
        m = _DECL_ENCODING.match(data)
        codec = "utf-8"
        if m:
            name = m.group(1).decode("ascii")
            try:
                codec = codecs.lookup(name).name
            except LookupError:
                raise XMPError(source, f"unknown encoding {name!r} in the XML declaration") from None
            if codec.startswith(("utf-16", "utf-32")):  # declared 16/32-bit but no BOM and ASCII bytes: a lie
                raise XMPError(source, f"declares encoding {name!r} but is not {name} text")
    body = data[len(bom):]
    try:
        text = body.decode(codec)
    except UnicodeDecodeError as exc:
        what = "UTF-8" if codec == "utf-8" else codec
        raise XMPError(source, f"not {what} text (byte {exc.start}): not an XMP packet") from None
    if codec.startswith("utf-16") and text.startswith("\ufeff"):
        text = text[1:]
    return text, codec, bom


def _newline(text: str) -> str:
    crlf = text.count("\r\n")
    return "\r\n" if crlf and crlf * 2 >= text.count("\n") else "\n"


#: Deepest element nesting of a packet we edit (real sidecars, darktable history included, stay below 20).
MAX_DEPTH = 256


def _depth_exceeds(root: ET.Element, limit: int) -> bool:
    stack = [(root, 1)]
    while stack:
        e, d = stack.pop()
        if d > limit:
            return True
        stack.extend((c, d + 1) for c in e)
    return False


def _split_prolog(text: str, source) -> Tuple[str, str, str]:
    """Split a document into (head, root element text, tail) by skipping the prolog's declarations, PIs,
    comments and whitespace and the epilogue's PIs/whitespace (the root itself is left to the XML parser)."""
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace() or text[i] == "\ufeff" or text[i] == "\x00":
            i += 1
        elif text.startswith("<?", i):
            j = text.find("?>", i + 2)
            if j < 0:
                raise XMPError(source, "unterminated processing instruction before the root element")
            i = j + 2
        elif text.startswith("<!--", i):
            j = text.find("-->", i + 4)
            if j < 0:
                raise XMPError(source, "unterminated comment before the root element")
            i = j + 3
        elif text.startswith("<!", i):
            raise XMPError(source, "DTD / entity declarations are not allowed in XMP")
        elif text[i] == "<":
            break
        else:
            raise XMPError(source, f"text before the root element at character {i}")
    if i >= n:
        raise XMPError(source, "empty packet: no XML element")
    j = n
    while True:  # walk back over trailing PIs / whitespace / NUL padding
        k = j
        while k > i and (text[k - 1].isspace() or text[k - 1] == "\x00"):
            k -= 1
        if text.endswith("?>", 0, k):
            start = text.rfind("<?", i, k)
            if start < 0:
                break
            j = start
            continue
        j = k
        break
    return text[:i], text[i:j], text[j:]


def parse_packet(data, source=None) -> XMPPacket:
    """Parse an XMP packet (bytes or str). Raises :class:`XMPError` naming ``source`` on any problem."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        text, codec, bom = _decode(data, source)
    else:
        text, codec, bom = str(data), "utf-8", b""
    head, body, tail = _split_prolog(text, source)
    builder = _RecordingBuilder()
    parser = DefusedXMLParser(target=builder, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    try:
        parser.feed(body)
        root = parser.close()
    except ET.ParseError as exc:
        line, col = getattr(exc, "position", (None, None))
        if line is not None:
            line += head.count("\n")
        raise XMPError(source, f"malformed XML at line {line}, column {col}: {exc.msg if hasattr(exc, 'msg') else exc}") from None
    except DefusedXmlException as exc:
        raise XMPError(source, f"refused unsafe XML: {exc}") from None
    except RecursionError:
        raise XMPError(source, f"nested too deeply (more than {MAX_DEPTH} levels): skipped") from None
    if _depth_exceeds(root, MAX_DEPTH):
        raise XMPError(source, f"nested too deeply (more than {MAX_DEPTH} levels): skipped")
    if root.tag not in (f"{{{NS_X}}}xmpmeta", f"{{{NS_X}}}xapmeta", _RDF_RDF):
        raise XMPError(source, f"root element is {root.tag!r}, not x:xmpmeta or rdf:RDF: not an XMP packet")
    return XMPPacket(root=root, head=head, tail=tail, decls=builder.decls, source=None if source is None else str(source),
                     encoding=codec, bom=bom, newline=_newline(text))


def new_packet(source=None) -> XMPPacket:
    """An empty sidecar in the layout exiv2 (darktable, digiKam) writes: XML declaration, x:xmpmeta, rdf:RDF,
    one rdf:Description declaring ``xmp:``."""
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<x:xmpmeta xmlns:x="{NS_X}" x:xmptk="piaa">\n'
        f' <rdf:RDF xmlns:rdf="{NS_RDF}">\n'
        f'  <rdf:Description rdf:about=""\n    xmlns:xmp="{NS_XMP}"/>\n'
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
    )
    return parse_packet(text, source)


def describe_rating(value: Optional[float]) -> str:
    if value is None or value == 0:
        return "unrated"
    if value < 0:
        return "rejected"
    return f"{value:g}★"


__all__ = ["XMPError", "XMPPacket", "parse_packet", "new_packet", "describe_rating", "NS_PIAA", "NS_XMP", "NS_RDF"]
