"""What a photo view shows next to the picture: an EXIF summary (camera, lens, exposure, focal length, date) and
the RGB / luminance histogram.

The EXIF fields are read from the file's header through Pillow (the decoder piaa already uses; JPEG, TIFF-based
RAW, HEIC, WebP, PNG), never the pixels; the capture time comes from :func:`piaa.io.exif.capture_time` (which
also reads other RAW formats through LibRaw). Values are formatted the way photo managers print them
(``1/250 s``, ``f/2.8``, ``50 mm``, ``ISO 400``); a field the photo lacks is ``None``. Nothing here raises for a
bad file: a photo without readable EXIF gives an all-``None`` summary.

The histogram is computed on a reduced decode (the shorter side at least ``side`` px; JPEGs are reduced inside
the decoder), enough for a 64-bin display and fast on 50-megapixel files.
"""
from __future__ import annotations

import os
from fractions import Fraction
from typing import Dict, List, Optional

import numpy as np

from piaa.errors import InvalidParameterError

_EXIF_IFD = 0x8769
_MAKE, _MODEL = 0x010F, 0x0110
_EXPOSURE, _FNUMBER, _ISO = 0x829A, 0x829D, 0x8827
_FOCAL, _FOCAL35 = 0x920A, 0xA405
_LENS_MAKE, _LENS_MODEL = 0xA433, 0xA434
_EXPOSURE_BIAS = 0x9204

FIELDS = ("camera", "lens", "exposure", "aperture", "iso", "focal_length", "focal_length_35mm",
          "exposure_bias", "taken", "width", "height")


def _num(v) -> Optional[float]:
    if isinstance(v, tuple) and len(v) == 2:          # (numerator, denominator) from older readers
        v = v[0] / v[1] if v[1] else None
    try:
        f = float(v)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return f if np.isfinite(f) else None


def _text(v) -> Optional[str]:
    if isinstance(v, bytes):
        v = v.decode("utf-8", "replace")
    if not isinstance(v, str):
        return None
    v = v.strip().rstrip("\x00").strip()
    return v or None


def format_exposure(seconds: Optional[float]) -> Optional[str]:
    """``1/250 s`` below one second (the nearest 1/N), ``2 s`` / ``0.8 s`` otherwise."""
    if seconds is None or seconds <= 0:
        return None
    if seconds < 0.5:
        return f"1/{round(1 / seconds):d} s"
    return f"{seconds:g} s" if seconds >= 1 else f"{seconds:.1f} s"


def camera_name(make: Optional[str], model: Optional[str]) -> Optional[str]:
    """"Canon EOS R6", not "Canon Canon EOS R6": the make is dropped when the model already starts with it."""
    if make and model and model.lower().startswith(make.split()[0].lower()):
        return model
    return " ".join(x for x in (make, model) if x) or None


def exif_summary(path) -> Dict[str, Optional[object]]:
    """The EXIF fields a photo view shows, formatted; every key of :data:`FIELDS` is present."""
    from piaa.io.exif import capture_time

    out: Dict[str, Optional[object]] = {k: None for k in FIELDS}
    try:
        from piaa.io.images import _register_plugins

        _register_plugins()
        from PIL import Image, UnidentifiedImageError

        from piaa.io.files import image_byte_cap, open_regular

        with open_regular(os.fspath(path), image_byte_cap()) as fh, Image.open(fh) as im:
            out["width"], out["height"] = int(im.width), int(im.height)
            exif = im.getexif()
            sub = exif.get_ifd(_EXIF_IFD)
            out["camera"] = camera_name(_text(exif.get(_MAKE)), _text(exif.get(_MODEL)))
            lens = _text(sub.get(_LENS_MODEL))
            lens_make = _text(sub.get(_LENS_MAKE))
            out["lens"] = camera_name(lens_make, lens) if lens else None
            out["exposure"] = format_exposure(_num(sub.get(_EXPOSURE)))
            f = _num(sub.get(_FNUMBER))
            out["aperture"] = f"f/{f:.1f}".replace(".0", "") if f else None
            iso = sub.get(_ISO)
            iso = iso[0] if isinstance(iso, tuple) and iso else iso
            out["iso"] = int(iso) if _num(iso) else None
            fl = _num(sub.get(_FOCAL))
            out["focal_length"] = f"{fl:g} mm" if fl else None
            fl35 = _num(sub.get(_FOCAL35))
            out["focal_length_35mm"] = f"{fl35:g} mm" if fl35 else None
            bias = _num(sub.get(_EXPOSURE_BIAS))
            if bias is not None:
                frac = Fraction(bias).limit_denominator(3)
                out["exposure_bias"] = "0 EV" if frac == 0 else f"{'+' if frac > 0 else '−'}{abs(frac)} EV"
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, KeyError, TypeError, EOFError,
            Image.DecompressionBombError):
        pass
    t = capture_time(path)
    out["taken"] = t.isoformat() if t is not None else None
    return out


def histogram(path, bins: int = 64, side: int = 512) -> Dict[str, List[float]]:
    """``{"bins", "r", "g", "b", "luma"}``: each channel's share of pixels per bin (they sum to 1), over a
    reduced decode of the photo (shorter side ≥ ``side``). Raises :class:`piaa.io.images.ImageLoadError` for a
    photo that cannot be decoded."""
    from piaa.io.images import load_image

    if not 2 <= int(bins) <= 256 or 256 % int(bins):
        raise InvalidParameterError(f"bins must divide 256 (2..256), not {bins}")
    a = np.asarray(load_image(path, target_size=side), dtype=np.uint8)
    px = a.reshape(-1, 3)
    luma = np.clip(np.rint(px @ np.array([0.2126, 0.7152, 0.0722])), 0, 255).astype(np.uint8)  # Rec. 709
    shift = 256 // int(bins)
    out: Dict[str, List[float]] = {"bins": int(bins)}
    n = max(1, len(px))
    for name, ch in (("r", px[:, 0]), ("g", px[:, 1]), ("b", px[:, 2]), ("luma", luma)):
        counts = np.bincount(ch // shift, minlength=int(bins)).astype(np.float64) / n
        out[name] = [round(float(c), 5) for c in counts]
    return out


__all__ = ["exif_summary", "histogram", "format_exposure", "camera_name", "FIELDS"]
