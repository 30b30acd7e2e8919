"""Decode a photo at 100 %: its luminance at native resolution, plus a small colour copy for face detection.

The detail pass judges pixels as a photographer sees them at 100 %, so the photo is decoded at full resolution
(upright: EXIF orientation applied as :func:`piaa.io.images.load_image` applies it). Two shortcuts keep it fast:

* **Luminance only.** Focus, motion blur, noise and clipping are read from luminance. A JPEG stores luminance
  as its own plane, so libjpeg is asked for the gray image directly (``Image.draft("L", ...)``): no chroma
  upsampling, no colour conversion — about 2.4x faster than decoding RGB at full size.
* **A cap for huge files.** Above :data:`NATIVE_LONG_SIDE_CAP` pixels on the long side (a 61 MP 3:2 frame is
  9,504 px) a JPEG is decoded with libjpeg's DCT scaling at the largest scale (1/2, 1/4, 1/8) that keeps the
  long side at or above the cap; other formats are box-reduced by the integer factor that does the same. Every
  pixel measure then reads the photo at that scale, and :attr:`NativeImage.scale` says so.

The colour copy for the face detector is decoded separately with DCT scaling (a JPEG at 1/8 costs a third of
the full decode), long side near
:data:`FACES_LONG_SIDE`, or — ``faces_long_side=0`` — the full-resolution colour
photo is decoded once and the luminance taken from it; face boxes found on the copy are mapped back to native
pixels with :meth:`NativeImage.to_native`.

Any other format goes through :func:`piaa.io.images.load_image` (every mode, RAW previews, HEIF) and is
converted to luminance afterwards. Failures raise :class:`piaa.io.images.ImageLoadError`, like every loader.
"""
from __future__ import annotations

import io
import os
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np
from PIL import Image, ImageOps

from piaa.detail.plane import Luminance, Plane, as_array
from piaa.io.hashing import read_image_bytes
from piaa.io.images import ImageLoadError, get_max_pixels, load_image

#: Long side (pixels) above which the detail pass reads a reduced image (JPEG DCT scaling / box reduction).
NATIVE_LONG_SIDE_CAP = 8192
#: Long side (pixels) of the colour copy handed to the face detector when speed matters (``piaa cull``): at
#: least this, by DCT scaling (a 24 MP JPEG at 1/8: 750 px). ``0`` asks for the full-resolution colour photo
#: (``piaa score --faces``: the eye state is read from the face at its native size).
FACES_LONG_SIDE = 720
FACES_FULL = 0

Box = Tuple[int, int, int, int]


@dataclass
class NativeImage:
    """The upright photo's luminance at (capped) native resolution, and optionally a small colour copy."""

    plane: Luminance                      # H x W uint8, upright: a numpy array or a Plane (read piecewise)
    native_size: Tuple[int, int]          # (width, height) of the upright photo at full resolution
    scale: float = 1.0                    # native pixels per luminance pixel (1.0 unless capped)
    small_rgb: Optional[np.ndarray] = None  # h x w x 3 uint8, upright, for the face detector
    small_scale: float = 1.0              # native pixels per small_rgb pixel

    @property
    def luminance(self) -> np.ndarray:
        """The whole plane as a numpy array (the measures read :attr:`plane` piecewise instead)."""
        return as_array(self.plane)

    @property
    def shape(self) -> Tuple[int, int]:
        return tuple(self.plane.shape)  # type: ignore[return-value]

    def to_native(self, box, from_small: bool = True) -> Box:
        """A box ``(x, y, w, h)`` in the small copy's (or luminance's) pixels -> native pixels."""
        f = self.small_scale if from_small else self.scale
        x, y, w, h = (float(v) for v in box)
        return (int(round(x * f)), int(round(y * f)), int(round(w * f)), int(round(h * f)))

    def to_luminance(self, box) -> Box:
        """A box in native pixels -> the luminance array's pixels."""
        f = 1.0 / self.scale
        x, y, w, h = (float(v) for v in box)
        return (int(round(x * f)), int(round(y * f)), int(round(w * f)), int(round(h * f)))


class _NotPlainJpeg(Exception):
    """Internal: a JPEG in a colour mode (CMYK, ...) the general loader converts; never leaves this module."""


def _is_jpeg(data: bytes) -> bool:
    return data[:3] == b"\xff\xd8\xff"


def _upright_size(im: Image.Image) -> Tuple[int, int]:
    w, h = im.size
    try:
        o = int(im.getexif().get(0x0112) or 1)
    except Exception:  # malformed EXIF: treated as upright, as piaa.io.images does
        o = 1
    return (h, w) if o in (5, 6, 7, 8) else (w, h)


def _reduction(long_side: int, cap: int) -> int:
    """The integer reduction factor that keeps the long side >= cap (1 = none)."""
    return max(1, long_side // cap) if long_side > cap else 1


def _open_jpeg(data: bytes, path) -> Image.Image:
    try:
        im = Image.open(io.BytesIO(data), formats=["JPEG"])
    except Exception as e:  # not a JPEG after all, or a broken header
        raise ImageLoadError(path, f"corrupt JPEG ({type(e).__name__}: {str(e)[:100]})") from e
    w, h = im.size
    limit = get_max_pixels()
    if limit is not None and w * h > limit:
        raise ImageLoadError(path, f"image too large ({w * h} pixels > limit {limit})")
    return im


def _decode_jpeg(data: bytes, path, mode: str, min_long: Optional[int]) -> Image.Image:
    """Decode a JPEG in ``mode`` ("L" or "RGB"), DCT-scaled so the long side stays >= ``min_long``."""
    im = _open_jpeg(data, path)
    w, h = im.size
    if im.mode not in ("L", "RGB", "YCbCr"):  # CMYK and friends: the general loader knows them
        raise _NotPlainJpeg(im.mode)
    target = (w, h)
    if min_long is not None and max(w, h) > min_long:
        f = min_long / max(w, h)
        target = (max(1, int(np.ceil(w * f))), max(1, int(np.ceil(h * f))))
    try:
        im.draft(mode, target)
        im.load()
    except Exception as e:
        raise ImageLoadError(path, f"corrupt JPEG ({type(e).__name__}: {str(e)[:100]})") from e
    if im.mode != mode:
        im = im.convert(mode)
    return _upright(im)


def _upright(im: Image.Image) -> Image.Image:
    """EXIF orientation applied; the image itself when it is upright already (Pillow's ``exif_transpose``
    would copy a 24 MP frame for nothing)."""
    try:
        o = int(im.getexif().get(0x0112) or 1)
    except Exception:  # malformed EXIF: treated as upright, as piaa.io.images does
        o = 1
    return ImageOps.exif_transpose(im) if o in (2, 3, 4, 5, 6, 7, 8) else im


def load_native(src, *, long_side_cap: int = NATIVE_LONG_SIDE_CAP,
                faces_long_side: Optional[int] = None, small_rgb: Optional[np.ndarray] = None) -> NativeImage:
    """Decode ``src`` (a path or the file's bytes) for the detail pass; ``faces_long_side`` also gives a small
    colour copy (long side at least that, or the photo's own; 0 = full resolution) for the face detector.
    ``small_rgb``: that copy, already decoded elsewhere (:func:`small_copy_of`), so it is not decoded again."""
    path = os.fspath(src) if isinstance(src, (str, os.PathLike)) else None
    if path is not None:
        try:
            data = read_image_bytes(path)
        except FileNotFoundError as e:
            raise ImageLoadError(path, "file not found") from e
        except OSError as e:
            raise ImageLoadError(path, f"cannot read file: {e.strerror or e}") from e
    else:
        data = bytes(src)
    if _is_jpeg(data):
        try:
            return _load_jpeg(data, path, long_side_cap, faces_long_side, small_rgb)
        except _NotPlainJpeg:
            pass  # an unusual JPEG colour mode: the general loader below
    return _from_rgb(load_image(data, name=path), long_side_cap, faces_long_side)


def _from_rgb(rgb: Image.Image, long_side_cap: int, faces_long_side: Optional[int]) -> NativeImage:
    """Luminance (and the faces' copy) from an upright full-resolution RGB image."""
    native = rgb.size
    k = _reduction(max(native), long_side_cap)
    lum_img = rgb.convert("L")
    if k > 1:
        lum_img = lum_img.reduce(k)
    out = NativeImage(np.asarray(lum_img), native, native[0] / lum_img.size[0])
    if faces_long_side is not None:
        ks = _reduction(max(native), faces_long_side) if faces_long_side > 0 else 1
        small = rgb.reduce(ks) if ks > 1 else rgb
        out.small_rgb = np.asarray(small)
        out.small_scale = native[0] / small.size[0]
    return out


def _load_jpeg(data: bytes, path, long_side_cap: int, faces_long_side: Optional[int],
               small_rgb: Optional[np.ndarray] = None) -> NativeImage:
    head = _open_jpeg(data, path)
    native = _upright_size(head)
    if head.mode not in ("L", "RGB", "YCbCr"):
        raise _NotPlainJpeg(head.mode)
    if faces_long_side == FACES_FULL:   # one full colour decode serves both
        return _from_rgb(_decode_jpeg(data, path, "RGB", None), long_side_cap, faces_long_side)
    lum = _decode_jpeg(data, path, "L", long_side_cap if max(native) > long_side_cap else None)
    k = _reduction(max(lum.size), long_side_cap)
    if k > 1:  # DCT scaling stops at 1/8; a still larger photo is box-reduced the rest of the way
        lum = lum.reduce(k)
    out = NativeImage(Plane(lum), native, native[0] / lum.size[0])
    if faces_long_side is not None and small_rgb is not None:
        out.small_rgb = small_rgb
        out.small_scale = native[0] / small_rgb.shape[1]
    elif faces_long_side is not None:
        # a second, DCT-scaled colour decode: dlib's detector finds fewer faces on the gray plane (on the people
        # bursts of bench/cull_bursts.py it missed the keeper's face in 2 of 63 bursts)
        small = _decode_jpeg(data, path, "RGB", faces_long_side)
        ks = _reduction(max(small.size), faces_long_side)
        if ks > 1:
            small = small.reduce(ks)
        out.small_rgb = np.asarray(small)
        out.small_scale = native[0] / small.size[0]
    return out


def _small_size(head: Image.Image, faces_long_side: int) -> Optional[Tuple[int, int]]:
    """The upright size of the faces' copy :func:`load_native` decodes from this (lazily opened, not yet
    decoded) JPEG — ``draft`` only sets up libjpeg's scaling — or None where a box reduction would follow."""
    w, h = head.size
    upright = _upright_size(head)
    target = (w, h)
    if max(w, h) > faces_long_side:
        f = faces_long_side / max(w, h)
        target = (max(1, int(np.ceil(w * f))), max(1, int(np.ceil(h * f))))
    head.draft("RGB", target)
    sw, sh = head.size
    if _reduction(max(sw, sh), faces_long_side) > 1:
        return None
    return (sh, sw) if upright != (w, h) else (sw, sh)


def small_copy_of(path, image: Image.Image, faces_long_side: int = FACES_LONG_SIDE) -> Optional[np.ndarray]:
    """``image`` — an upright RGB decode of the JPEG at ``path`` made elsewhere (the thumbnail the feature
    extractor decodes with the same DCT scaling) — as the faces' copy, when it is what :func:`load_native` would
    decode for the detector: same scale, a plain RGB/YCbCr JPEG. None otherwise (then it is decoded as usual)."""
    if image.mode != "RGB" or faces_long_side <= 0:
        return None
    try:
        with open(os.fspath(path), "rb") as fp:
            if not _is_jpeg(fp.read(3)):
                return None
            fp.seek(0)
            with Image.open(fp, formats=["JPEG"]) as head:
                if head.mode not in ("RGB", "YCbCr"):
                    return None
                size = _small_size(head, faces_long_side)
    except Exception:  # unreadable here: the detail pass decodes it itself (and reports what is wrong)
        return None
    return np.asarray(image) if size == image.size else None
