"""When a photo was taken: EXIF ``DateTimeOriginal`` (+ ``SubSecTimeOriginal``), read from headers only.

Used to tell bursts apart from photos of the same scene taken minutes later. Sources, in order:

* JPEG / TIFF / HEIC / WebP / PNG and TIFF-based RAW (DNG, NEF, ARW, CR2, ...): Pillow's EXIF reader —
  ``DateTimeOriginal`` (0x9003) and ``SubSecTimeOriginal`` (0x9291) of the EXIF IFD, else ``DateTime`` (0x0132).
* other RAW formats (CR3, RAF, ORF, RW2, ...): LibRaw's timestamp (``rawpy``), whole seconds.

Times are naive wall-clock values as the camera recorded them (EXIF has no time zone before OffsetTime*); they
are compared only with each other. ``None`` when the photo carries no usable time — callers then fall back to
image similarity alone; file modification times are never used (copies and exports reset them).
"""
from __future__ import annotations

import os
from datetime import datetime
from typing import Optional

_DATETIME_ORIGINAL = 0x9003
_SUBSEC_ORIGINAL = 0x9291
_DATETIME = 0x0132
_EXIF_IFD = 0x8769


def _parse(value, subsec=None) -> Optional[datetime]:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    value = value.strip().rstrip("\x00")
    for fmt in ("%Y:%m:%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y:%m:%d %H:%M", "%Y-%m-%dT%H:%M:%S"):
        try:
            t = datetime.strptime(value[:19] if "S" in fmt else value[:16], fmt)
            break
        except ValueError:
            continue
    else:
        return None
    if t.year < 1900:
        return None
    if subsec is not None:
        digits = "".join(ch for ch in str(subsec) if ch.isdigit())[:6]
        if digits:
            t = t.replace(microsecond=int(digits.ljust(6, "0")))
    return t


def capture_time(path) -> Optional[datetime]:
    """The moment the photo was taken, or ``None``. Never raises for a bad file."""
    from piaa.io.decoder_warnings import pillow_warnings_reported
    from piaa.io.files import image_byte_cap, open_regular

    try:  # regular files only, opened without blocking: a FIFO in place of a photo must not hang the caller
        with open_regular(os.fspath(path), image_byte_cap()) as f, pillow_warnings_reported(path):
            from piaa.io.raw import sniff_raw

            kind = sniff_raw(f)
            if kind in (None, "DNG", "CR2", "TIFF-RAW"):
                t = _pillow_time(f)
                if t is not None or kind is None:
                    return t
            return _libraw_time(f)
    except (OSError, ValueError):
        return None


def _pillow_time(f) -> Optional[datetime]:
    from piaa.io.images import _register_plugins

    _register_plugins()  # HEIC
    from PIL import Image, UnidentifiedImageError

    try:
        f.seek(0)
        with Image.open(f) as im:
            exif = im.getexif()
            sub = exif.get_ifd(_EXIF_IFD)
            t = _parse(sub.get(_DATETIME_ORIGINAL), sub.get(_SUBSEC_ORIGINAL))
            return t if t is not None else _parse(exif.get(_DATETIME))
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, KeyError, TypeError,
            Image.DecompressionBombError):
        return None


def _libraw_time(f) -> Optional[datetime]:
    import io

    import rawpy

    try:
        f.seek(0)
        with rawpy.imread(io.BytesIO(f.read())) as raw:
            t = raw.other.timestamp
    except Exception:  # LibRaw errors of every kind: no time, never a crash
        return None
    if not isinstance(t, datetime) or t.year < 1971:
        return None
    return t
