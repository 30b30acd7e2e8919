"""Write real DNG files (TIFF/EP structure, as cameras and Adobe's converter lay them out) for the RAW tests.

Layout, as in a camera DNG: IFD0 = a small uncompressed RGB thumbnail (NewSubFileType 1) carrying the DNG tags,
with SubIFDs pointing to (1) the full-size JPEG preview (NewSubFileType 1, compression 7) and (2) the sensor data
(NewSubFileType 0, photometric CFA, 16-bit, a 2x2 RGGB pattern). Nothing here is piaa code: the bytes are
assembled from the TIFF 6.0 / DNG 1.4 tag tables, so the tests check piaa against the format, not itself.
"""
from __future__ import annotations

import io
import struct

from PIL import Image

_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 10: 8}


def _entry_bytes(e, typ, vals):
    if typ == 2:
        return vals.encode() + b"\0", len(vals) + 1
    if typ == 1:
        return bytes(vals), len(vals)
    if typ == 3:
        return struct.pack(e + f"{len(vals)}H", *vals), len(vals)
    if typ == 4:
        return struct.pack(e + f"{len(vals)}I", *vals), len(vals)
    fmt = "2I" if typ == 5 else "2i"
    return b"".join(struct.pack(e + fmt, *v) for v in vals), len(vals)


def _ifd(e, entries, start):
    entries = sorted(entries, key=lambda t: t[0])
    n = len(entries)
    data_off = start + 2 + 12 * n + 4
    body, extra = bytearray(), bytearray()
    for tag, typ, vals in entries:
        raw, count = _entry_bytes(e, typ, vals)
        if len(raw) <= 4:
            body += struct.pack(e + "HHI", tag, typ, count) + raw.ljust(4, b"\0")
        else:
            body += struct.pack(e + "HHII", tag, typ, count, data_off + len(extra))
            extra += raw + (b"\0" if len(raw) % 2 else b"")
    return struct.pack(e + "H", n) + bytes(body) + struct.pack(e + "I", 0) + bytes(extra)


def jpeg_bytes(img: Image.Image, **kw) -> bytes:
    b = io.BytesIO()
    img.save(b, "JPEG", quality=kw.pop("quality", 90), **kw)
    return b.getvalue()


def build_dng(preview: Image.Image, orientation: int = 1, big_endian: bool = False, thumb_size=(160, 120),
              raw_size=(64, 48), taken: str = "2026:06:01 10:00:00") -> bytes:
    """A DNG whose full-size preview is ``preview`` (stored as baseline JPEG); ``orientation`` goes into IFD0
    (TIFF tag 274), ``taken`` into DateTime (306); the preview JPEG itself carries no EXIF, as in camera files."""
    e = ">" if big_endian else "<"
    jpg = jpeg_bytes(preview.convert("RGB"))
    thumb = preview.convert("RGB").resize(thumb_size)
    thumb_px = thumb.tobytes()
    rw, rh = raw_size
    raw = bytes(rw * rh * 2)
    pw, ph = preview.size

    def ifd0(sub1, sub2, thumb_off):
        return [(254, 4, [1]), (256, 4, [thumb_size[0]]), (257, 4, [thumb_size[1]]), (258, 3, [8, 8, 8]),
                (259, 3, [1]), (262, 3, [2]), (271, 2, "piaa-test"), (272, 2, "synthetic"),
                (273, 4, [thumb_off]), (274, 3, [orientation]), (277, 3, [3]), (278, 4, [thumb_size[1]]),
                (306, 2, taken),
                (279, 4, [len(thumb_px)]), (284, 3, [1]), (330, 4, [sub1, sub2]),
                (50706, 1, [1, 4, 0, 0]), (50707, 1, [1, 1, 0, 0]), (50708, 2, "piaa-test synthetic"),
                (50721, 10, [(1, 1), (0, 1), (0, 1), (0, 1), (1, 1), (0, 1), (0, 1), (0, 1), (1, 1)]),
                (50728, 5, [(1, 1), (1, 1), (1, 1)]), (50778, 3, [21])]

    def ifd_preview(off):
        return [(254, 4, [1]), (256, 4, [pw]), (257, 4, [ph]), (258, 3, [8, 8, 8]), (259, 3, [7]), (262, 3, [6]),
                (273, 4, [off]), (277, 3, [3]), (278, 4, [ph]), (279, 4, [len(jpg)]), (284, 3, [1])]

    def ifd_raw(off):
        return [(254, 4, [0]), (256, 4, [rw]), (257, 4, [rh]), (258, 3, [16]), (259, 3, [1]), (262, 3, [32803]),
                (273, 4, [off]), (277, 3, [1]), (278, 4, [rh]), (279, 4, [len(raw)]), (284, 3, [1]),
                (33421, 3, [2, 2]), (33422, 1, [0, 1, 1, 2]), (50717, 4, [65535])]

    # two passes: sizes first (offsets do not change an IFD's length), then the real offsets
    for _ in range(2):
        a = _ifd(e, ifd0(0, 0, 0), 8)
        s1 = 8 + len(a)
        b = _ifd(e, ifd_preview(0), s1)
        s2 = s1 + len(b)
        c = _ifd(e, ifd_raw(0), s2)
        t_off = s2 + len(c)
        j_off = t_off + len(thumb_px) + len(thumb_px) % 2
        r_off = j_off + len(jpg) + len(jpg) % 2
        a = _ifd(e, ifd0(s1, s2, t_off), 8)
        b = _ifd(e, ifd_preview(j_off), s1)
        c = _ifd(e, ifd_raw(r_off), s2)
    head = (b"MM\x00*" if big_endian else b"II*\x00") + struct.pack(e + "I", 8)
    pad = lambda x: x + (b"\0" if len(x) % 2 else b"")  # noqa: E731
    return head + a + b + c + pad(thumb_px) + pad(jpg) + raw


def _ciff_heap(records) -> bytes:
    """A CIFF heap: the records' data, then the table (count, 10-byte entries: type, size, offset in the
    heap), then the table's offset as the heap's last 4 bytes (Canon's CIFF 1.0r4 specification)."""
    data, table = bytearray(), []
    for typ, payload in records:
        table.append(struct.pack("<HII", typ, len(payload), len(data)))
        data += payload + (b"\0" if len(payload) % 2 else b"")
    return bytes(data) + struct.pack("<H", len(table)) + b"".join(table) + struct.pack("<I", len(data))


def build_crw(preview: Image.Image, size=(640, 480)) -> bytes:
    """A Canon CRW (CIFF): byte order + header length 26 + ``HEAPCCDR`` + version 1.2, a root heap holding
    the ImageProps sub-heap (0x300a: make/model 0x080a, ImageSpec 0x1810), the JPEG (0x2007) and the raw
    data (0x2005)."""
    w, h = size
    make_model = b"Canon\0Canon PowerShot G2\0".ljust(64, b"\0")
    image_spec = struct.pack("<IIfI", w, h, 1.0, 0)
    props = _ciff_heap([(0x080A, make_model), (0x1810, image_spec)])
    root = _ciff_heap([(0x300A, props), (0x2007, jpeg_bytes(preview.convert("RGB"))), (0x2005, bytes(w * h * 2))])
    return b"II" + struct.pack("<I", 26) + b"HEAPCCDR" + struct.pack("<I", 0x00010002) + bytes(8) + root


def _box(typ: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + typ + payload


def build_cr3(preview: Image.Image) -> bytes:
    """A CR3's ISO-BMFF skeleton: ``ftyp`` (brand ``crx ``), a ``moov`` with Canon's metadata uuid box and no
    tracks (so LibRaw cannot open it), and the top-level preview ``uuid`` box holding ``PRVW`` (canon_cr3's
    layout: 4 + 2 bytes, width, height, 2 bytes, JPEG length, JPEG)."""
    jpg = jpeg_bytes(preview.convert("RGB"))
    w, h = preview.size
    ftyp = _box(b"ftyp", b"crx " + struct.pack(">I", 1) + b"crx isom")
    moov = _box(b"moov", _box(b"uuid", bytes.fromhex("85c0b687820f11e08111f4ce462b6a48")))
    prvw = _box(b"PRVW", struct.pack(">IHHHHI", 0, 1, w, h, 1, len(jpg)) + jpg)
    uuid = _box(b"uuid", bytes.fromhex("eaf42b5e1c984b88b9fbb7dc406e4d16") + struct.pack(">II", 0, 1) + prvw)
    return ftyp + moov + uuid
