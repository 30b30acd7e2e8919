"""Camera RAW files: recognised by content, scored from the JPEG preview the camera embedded in them.

Why the preview and not a demosaiced rendering: every RAW format (NEF, CR2/CR3, ARW, RAF, DNG, ORF, RW2, ...)
carries a full-size (or near full-size) JPEG rendered by the camera with the photographer's picture style —
the image they saw on the camera's screen and that their photo manager shows as a thumbnail. Extracting it is
a copy of a few MB (milliseconds), where a demosaic takes about a second per 24 MP frame and would look
different from what the person rated. The preview is read with LibRaw (through ``rawpy``), which knows the
maker-specific places previews hide in (Nikon/Sony SubIFDs, Canon CR3 boxes, Fuji RAF headers, DNG preview
IFDs) and picks the largest one. Two places LibRaw misses are looked at here: Canon's old CRW (CIFF heap,
``HEAPCCDR``) is recognised by its header so it reaches LibRaw at all, and a CR3's ``PRVW`` preview (1620x1080
on an EOS R6, in a ``uuid`` box LibRaw does not read) is parsed from the ISO-BMFF boxes and used when it is
larger than what LibRaw found (or when LibRaw cannot open the file).

A preview whose shorter side is below :data:`MIN_PREVIEW_SIDE` pixels (a camera's 8x8 placeholder, a 1x1
stub) is refused with a per-file error: scoring it would rate a blur, not the photo.

Recognition is by content, like every other format (:mod:`piaa.io.images`): a file named ``.jpg`` that is a
NEF is still read as a NEF, and a plain TIFF named ``.dng`` is still read as a TIFF. TIFF-based RAW formats are
told from ordinary TIFFs by their IFDs: a ``DNGVersion`` tag, Canon's ``CR`` signature, or an image directory
holding sensor data (photometric CFA / LinearRaw, or a maker's raw compression).
"""
from __future__ import annotations

import io
import struct
from typing import IO, Optional, Tuple

from piaa.errors import InputError


class RawPreviewError(InputError):
    """A RAW file has no usable embedded preview (none, an unsupported one, too small, corrupt file)."""


#: shorter side (pixels) below which an embedded preview is refused: too small to say anything about a photo
MIN_PREVIEW_SIDE = 64

#: File-name extensions of camera RAW formats (lower case, with dot). Folder expansion picks them up; decoding
#: never relies on them.
RAW_EXTENSIONS: frozenset[str] = frozenset({
    ".3fr", ".ari", ".arw", ".bay", ".cr2", ".cr3", ".crw", ".dcr", ".dng", ".erf", ".fff", ".iiq", ".k25",
    ".kdc", ".mef", ".mos", ".mrw", ".nef", ".nrw", ".orf", ".pef", ".raf", ".raw", ".rw2", ".rwl", ".sr2",
    ".srf", ".srw", ".x3f",
})

_TAG_SUBIFDS = 330
_TAG_COMPRESSION = 259
_TAG_PHOTOMETRIC = 262
_TAG_EXIF_IFD = 34665
_TAG_DNG_VERSION = 50706
_RAW_PHOTOMETRIC = {32803, 34892}  # CFA, LinearRaw
# maker compressions used only for sensor data: Sony ARW (32767), Nikon NEF (34713), Kodak (65000),
# Pentax PEF / Samsung (65535), Olympus/Panasonic-in-TIFF (32769, 32770)
_RAW_COMPRESSION = {32767, 32769, 32770, 34713, 65000, 65535}
_MAX_IFDS = 32
_MAX_ENTRIES = 4096


def sniff_raw(fp: IO[bytes]) -> Optional[str]:
    """The RAW family of the file at ``fp``'s current position (``"DNG"``, ``"CR2"``, ``"CR3"``, ``"CRW"``, ``"RAF"``,
    ``"ORF"``, ``"RW2"``, ``"X3F"``, ``"MRW"``, ``"TIFF-RAW"`` for NEF/ARW/PEF/...), or ``None``. Reads
    headers only and restores the position."""
    pos = fp.tell()
    try:
        head = fp.read(16)
        if head[:2] in (b"II", b"MM") and head[6:14] == b"HEAPCCDR":  # Canon CRW: a CIFF heap
            return "CRW"
        if head.startswith(b"FUJIFILMCCD-RAW"):
            return "RAF"
        if head[4:12] == b"ftypcrx ":
            return "CR3"
        if head[:4] in (b"IIRO", b"IIRS", b"MMOR"):
            return "ORF"
        if head[:4] == b"IIU\x00":
            return "RW2"
        if head[:4] == b"FOVb":
            return "X3F"
        if head[:4] == b"\x00MRM":
            return "MRW"
        if head[:4] not in (b"II*\x00", b"MM\x00*"):
            return None
        if head[8:10] == b"CR":
            return "CR2"
        return _tiff_raw_kind(fp, pos, head)
    except (OSError, struct.error, ValueError):
        return None
    finally:
        fp.seek(pos)


def _tiff_raw_kind(fp, base: int, head: bytes) -> Optional[str]:
    e = "<" if head[:2] == b"II" else ">"
    (first,) = struct.unpack(e + "I", head[4:8])
    queue, seen = [first], set()
    kind = None
    while queue and len(seen) < _MAX_IFDS:
        off = queue.pop(0)
        if off == 0 or off in seen:
            continue
        seen.add(off)
        fp.seek(base + off)
        raw_n = fp.read(2)
        if len(raw_n) < 2:
            continue
        (n,) = struct.unpack(e + "H", raw_n)
        if n > _MAX_ENTRIES:
            continue
        block = fp.read(12 * n + 4)
        if len(block) < 12 * n:
            continue
        for k in range(n):
            tag, typ, count, value = struct.unpack(e + "HHI4s", block[12 * k:12 * k + 12])
            if tag == _TAG_DNG_VERSION:
                return "DNG"
            if tag in (_TAG_PHOTOMETRIC, _TAG_COMPRESSION) and typ == 3:
                (v,) = struct.unpack(e + "H", value[:2])
                if (tag == _TAG_PHOTOMETRIC and v in _RAW_PHOTOMETRIC) or \
                        (tag == _TAG_COMPRESSION and v in _RAW_COMPRESSION):
                    kind = "TIFF-RAW"
            elif tag in (_TAG_SUBIFDS, _TAG_EXIF_IFD) and typ in (4, 13):
                offs = _long_values(fp, base, e, count, value)
                queue.extend(offs[:_MAX_IFDS])
        if len(block) == 12 * n + 4:
            (nxt,) = struct.unpack(e + "I", block[12 * n:])
            queue.append(nxt)
    return kind


def _long_values(fp, base, e, count, value) -> list:
    if count <= 1:
        return list(struct.unpack(e + "I", value))
    count = min(count, _MAX_IFDS)
    (off,) = struct.unpack(e + "I", value)
    here = fp.tell()
    fp.seek(base + off)
    data = fp.read(4 * count)
    fp.seek(here)
    return list(struct.unpack(e + f"{len(data) // 4}I", data[: 4 * (len(data) // 4)]))


# LibRaw's ``flip`` -> EXIF orientation (0 none, 3 = 180°, 5 = 90° counter-clockwise, 6 = 90° clockwise)
_FLIP_TO_ORIENTATION = {0: 1, 3: 3, 5: 8, 6: 6}


_CR3_PREVIEW_UUID = bytes.fromhex("eaf42b5e1c984b88b9fbb7dc406e4d16")


def _iter_boxes(data: bytes, start: int = 0, end: Optional[int] = None):
    """(type, content start, content end) of the ISO-BMFF boxes in ``data[start:end]`` (one level)."""
    end = len(data) if end is None else end
    pos = start
    while pos + 8 <= end:
        size, typ = struct.unpack(">I4s", data[pos:pos + 8])
        head = 8
        if size == 1:
            if pos + 16 > end:
                return
            (size,) = struct.unpack(">Q", data[pos + 8:pos + 16])
            head = 16
        elif size == 0:
            size = end - pos
        if size < head or pos + size > end:
            return
        yield typ, pos + head, pos + size
        pos += size


def cr3_prvw(data: bytes) -> Optional[Tuple[bytes, int, int]]:
    """The JPEG of a CR3's ``PRVW`` box and its (width, height), or ``None``.

    Layout (Canon CR3 as documented by the canon_cr3 project): a top-level ``uuid`` box with the id
    ``eaf42b5e-1c98-4b88-b9fb-b7dc406e4d16``, 8 bytes, then the box ``PRVW``: 4 + 2 bytes, width (u16),
    height (u16), 2 bytes, the JPEG's length (u32), the JPEG. All big-endian."""
    for typ, a, b in _iter_boxes(data):
        if typ != b"uuid" or data[a:a + 16] != _CR3_PREVIEW_UUID:
            continue
        for t, c, d in _iter_boxes(data, a + 24, b):
            if t != b"PRVW" or d - c < 16:
                continue
            w, h = struct.unpack(">HH", data[c + 6:c + 10])
            (n,) = struct.unpack(">I", data[c + 12:c + 16])
            jpg = data[c + 16:c + 16 + n]
            if len(jpg) == n and jpg[:2] == b"\xff\xd8":
                return jpg, w, h
    return None


def _preview_size(preview) -> Tuple[int, int]:
    """(width, height) of a JPEG's header or an RGB array; (0, 0) when the header cannot be read."""
    if isinstance(preview, (bytes, bytearray)):
        from PIL import Image

        try:
            with Image.open(io.BytesIO(preview)) as im:
                return im.size
        except Exception:  # Pillow raises several types for broken headers; the decode step explains it
            return (0, 0)
    h, w = preview.shape[:2]
    return (int(w), int(h))


def extract_preview(fp: IO[bytes], kind: Optional[str] = None) -> Tuple[object, int]:
    """The largest embedded preview of the RAW file at ``fp`` and the orientation the camera recorded.

    Returns ``(preview, orientation)``: ``preview`` is JPEG ``bytes`` or an RGB ``numpy`` array (some formats
    store an uncompressed bitmap), ``orientation`` an EXIF orientation value (1 = upright) to apply when the
    preview carries none of its own. Raises :class:`RawPreviewError` with a short reason when there is no
    usable preview (none, or smaller than :data:`MIN_PREVIEW_SIDE`).
    """
    data = fp.read()
    extra = cr3_prvw(data) if kind == "CR3" else None
    try:
        preview, orientation = _libraw_preview(data)
    except RawPreviewError:
        if extra is None:
            raise
        preview, orientation = None, 1
    if extra is not None:
        jpg, w, h = extra
        if preview is None or w * h > _area(_preview_size(preview)):
            preview = jpg
    w, h = _preview_size(preview)
    if 0 < min(w, h) < MIN_PREVIEW_SIDE:
        raise RawPreviewError(f"embedded preview is only {w}x{h} pixels (at least {MIN_PREVIEW_SIDE} "
                              f"needed to score it)")
    return preview, orientation


def _area(size: Tuple[int, int]) -> int:
    return size[0] * size[1]


def _libraw_preview(data: bytes) -> Tuple[object, int]:
    import rawpy

    try:
        with rawpy.imread(io.BytesIO(data)) as raw:
            try:
                thumb = raw.extract_thumb()
            except rawpy.LibRawNoThumbnailError:
                raise RawPreviewError("RAW file without an embedded preview") from None
            except rawpy.LibRawUnsupportedThumbnailError:
                raise RawPreviewError("RAW file whose embedded preview is in an unsupported format") from None
            flip = int(getattr(raw.sizes, "flip", 0) or 0)
    except RawPreviewError:
        raise
    except rawpy.LibRawFileUnsupportedError:
        raise RawPreviewError("RAW format not supported by LibRaw") from None
    except (rawpy.LibRawError, OSError) as exc:
        raise RawPreviewError(f"corrupt RAW file ({type(exc).__name__}: {str(exc)[:80]})") from None
    orientation = _FLIP_TO_ORIENTATION.get(flip, 1)
    if thumb.format == rawpy.ThumbFormat.JPEG:
        return bytes(thumb.data), orientation
    return thumb.data, orientation
