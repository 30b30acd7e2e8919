"""Where a photo's XMP lives: sidecar files in the naming styles photo managers use, or inside the image.

Sidecar naming (what the tools write by default):

* darktable: ``IMG_0001.CR2.xmp`` — the full file name plus ``.xmp`` (also for JPEGs: ``photo.jpg.xmp``).
* digiKam: ``IMG_0001.CR2.xmp`` by default; ``IMG_0001.xmp`` with "sidecar file names compatible with commercial
  programs" switched on.
* Lightroom Classic / Camera Raw / Bridge: ``IMG_0001.xmp`` (extension replaced), for raw files; for JPEG/TIFF/
  DNG they embed the XMP packet in the file instead.

Embedded XMP is read through Pillow (already our image decoder): JPEG APP1 segments starting with
``http://ns.adobe.com/xap/1.0/\\0``, TIFF tag 700 (XMLPacket), PNG ``XML:com.adobe.xmp`` iTXt chunks and WebP
``XMP `` chunks all end up in ``Image.info["xmp"]``; only headers are read, never pixels.
"""
from __future__ import annotations

import os
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

from piaa.errors import InputError
from piaa.io.raw import RAW_EXTENSIONS  # noqa: F401  (re-exported: where sidecar code looked for it)
from piaa.profiles.xmp import XMPError, XMPPacket, parse_packet

SIDECAR_EXTENSIONS = (".xmp", ".XMP")


def is_sidecar(path) -> bool:
    return Path(path).suffix.lower() == ".xmp"


def sidecar_candidates(image) -> List[Path]:
    """Possible sidecars of ``image`` in preference order: ``name.ext.xmp`` (darktable/digiKam), then
    ``name.xmp`` (Lightroom / digiKam compatible mode)."""
    p = Path(image)
    out = [p.with_name(p.name + ext) for ext in SIDECAR_EXTENSIONS]
    out += [p.with_suffix(ext) for ext in SIDECAR_EXTENSIONS]
    return out


def find_sidecar(image) -> Optional[Path]:
    """The first existing sidecar candidate. Anything at that name counts (a FIFO or a dangling link too):
    reading it then fails with a per-photo error, and nothing is ever written over it."""
    for c in sidecar_candidates(image):
        if os.path.lexists(c):
            return c
    return None


def is_read_only(path) -> bool:
    """Whether ``path`` is a regular file nobody may write (mode 444: another tool, or its user, locked it).

    Judged by the permission bits, not by ``os.access``: a server running as root may write anything, and a
    locked sidecar must stay as it is for every user. piaa never writes a read-only sidecar, even with
    ``overwrite`` (writing replaces the file, which a read-only mode does not prevent in a writable folder)."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and not (st.st_mode & 0o222)


def failure(exc: BaseException) -> str:
    """A one-line reason for a failed read or write that names no file (reports go to people who must not learn
    the server's folders): the OS's words for an ``OSError``, the parser's for an ``XMPError``."""
    if isinstance(exc, XMPError):
        return exc.reason
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def default_sidecar(image, style: str = "darktable") -> Path:
    """Where a new sidecar goes: ``name.ext.xmp`` (style ``darktable``, also digiKam's default) or ``name.xmp``
    (style ``lightroom``)."""
    p = Path(image)
    if style == "darktable":
        return p.with_name(p.name + ".xmp")
    if style == "lightroom":
        return p.with_suffix(".xmp")
    raise InputError(f"sidecar style must be 'darktable' or 'lightroom', not {style!r}")


def read_embedded_xmp(image) -> Optional[bytes]:
    """The XMP packet stored inside ``image`` (JPEG APP1, TIFF tag 700, PNG/WebP chunks), or ``None``."""
    from PIL import Image, UnidentifiedImageError

    from piaa.io.files import image_byte_cap, open_regular
    from piaa.io.decoder_warnings import pillow_warnings_reported

    try:
        with warnings.catch_warnings():
            # only the header is read, never pixels: a decompression bomb is harmless here (and refused, with
            # its own error, when the photo is decoded for scoring)
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with pillow_warnings_reported(image), open_regular(image, image_byte_cap()) as fh, \
                    Image.open(fh) as im:
                data = im.info.get("xmp")
                if data is None and hasattr(im, "tag_v2"):
                    data = im.tag_v2.get(700)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError,
            EOFError, MemoryError):
        return None
    if data is None:
        return None
    if isinstance(data, tuple) and len(data) == 1:
        data = data[0]
    if isinstance(data, str):
        data = data.encode("utf-8")
    data = bytes(data).rstrip(b"\x00")
    return data or None


@dataclass
class RatingFound:
    """A rating read for one photo: where it came from and the packet (for later edits)."""

    value: Optional[float]
    source: str                 # "sidecar" | "embedded" | "none"
    path: Optional[Path]        # the sidecar file or the image holding the packet
    packet: Optional[XMPPacket] = None
    error: Optional[str] = None
    predicted: bool = False     # the value is a star piaa predicted (``piaa:PredictedRating``), not the person's


def read_sidecar(path) -> XMPPacket:
    from piaa.io.files import MAX_TEXT_BYTES, read_regular

    try:  # regular files only (a FIFO named photo.jpg.xmp must not hang us), with a size cap
        data = read_regular(path, MAX_TEXT_BYTES)
    except OSError as exc:
        raise XMPError(path, f"cannot read: {exc.strerror or exc}") from None
    return parse_packet(data, source=path)


def read_rating(image, sidecar=None, embedded: bool = True) -> RatingFound:
    """The photo's ``xmp:Rating``: the sidecar's when it has one (≠ 0), else the embedded packet's.

    Sidecars win because darktable and digiKam treat the sidecar as the newer copy of the metadata, except over
    a star piaa predicted (``predicted`` is then set, and a rating of the person's own inside the image wins). A packet
    that cannot be parsed is reported in ``error`` (never raised), so one bad file cannot stop an import.
    """
    side = Path(sidecar) if sidecar is not None else find_sidecar(image)
    errors = []
    found = None
    if side is not None:
        try:
            pkt = read_sidecar(side)
            found = RatingFound(pkt.rating(), "sidecar", side, pkt, predicted=pkt.is_predicted())
            if found.value not in (None, 0) and not found.predicted:
                return found
        except XMPError as exc:
            errors.append(str(exc))
    if embedded and os.path.isfile(image) and not is_sidecar(image):
        data = read_embedded_xmp(image)
        if data:
            try:
                pkt = parse_packet(data, source=f"{image} (embedded XMP)")
                value = pkt.rating()
                predicted = pkt.is_predicted()
                if (value not in (None, 0) and not predicted) or found is None:
                    return RatingFound(value, "embedded", Path(image), pkt, "; ".join(errors) or None, predicted)
            except XMPError as exc:
                errors.append(str(exc))
    if found is not None:
        found.error = "; ".join(errors) or None
        return found
    return RatingFound(None, "none", None, None, "; ".join(errors) or None)
