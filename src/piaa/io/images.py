"""One robust image loader for the whole project.

Every place that turns a file into pixels (feature extraction, the CLI, the service, the benchmarks) goes
through :func:`load_image`, so the same file always yields the same RGB pixels and every failure surfaces as
one exception type, :class:`ImageLoadError`, with a short human-readable ``reason``.

What it does, in order:

1. **Open by content, never by extension.** Only a whitelist of raster photo formats is tried
   (:data:`SUPPORTED_FORMATS`): a PNG or WebP named ``.jpg`` loads fine, while random bytes are not
   accidentally "recognised" by a weak-magic format (TGA, for example) and formats that shell out to other
   programs (EPS → Ghostscript) are never touched. HEIC/HEIF (phones' default) is read through
   ``pillow-heif``, whose Pillow opener piaa registers itself. Camera RAW files (NEF, CR2/CR3, ARW, RAF, DNG,
   ORF, RW2, ...) are recognised by content too and decoded from the full-size JPEG preview embedded in them
   (:mod:`piaa.io.raw`, LibRaw through ``rawpy``); that preview then goes through the same steps as any JPEG.
2. **Refuse decompression bombs from the header alone.** The pixel count the header claims is checked
   against ``max_pixels`` (default 128 MP; :func:`set_max_pixels` / ``PIAA_MAX_PIXELS`` / the CLI's
   ``--max-pixels`` change the process-wide default) before any pixel is decoded. Pillow's own hard limit
   (``2 × Image.MAX_IMAGE_PIXELS``) is raised along with a larger limit set through :func:`set_max_pixels`.
3. **Decode small when a small result is wanted.** With ``target_size``, JPEGs are decoded with
   ``Image.draft`` (libjpeg's DCT scaling by 1/2, 1/4 or 1/8), so a 24 MP photo for a 224 px network is never
   decoded at full resolution. The result is then box-reduced by an integer factor while its shorter side
   stays ``>= target_size``; the caller's preprocessing does the final, exact resize.
4. **Strict about damage.** Truncated and corrupt files raise; the process-global
   ``ImageFile.LOAD_TRUNCATED_IMAGES`` is never set (if some other code sets it, Pillow will then accept
   truncated files — that is that code's choice).
5. **Normalise to 8-bit RGB** with these conventions:

   * 16-bit gray (``I;16*``) is scaled by 255/65535 (rounded), never clipped at 255.
   * 32-bit integer gray (``I``): if the source declares its bit depth (TIFF ``BitsPerSample``) that is used;
     otherwise values in 0..255 are taken as 8-bit, values in 0..65535 as 16-bit, anything else is min–max
     stretched.
   * Float gray (``F``): values in [0, 1] are scaled by 255, values in [0, 255] kept, anything else min–max
     stretched; NaN becomes 0.
   * CMYK: Pillow decodes JPEG CMYK assuming Adobe's inverted convention; a CMYK JPEG *without* the Adobe
     APP14 marker is therefore re-inverted. With an embedded ICC profile the conversion to sRGB uses
     LittleCMS (``PIL.ImageCms``); otherwise the standard ``R = (1−C)(1−K)`` formula.
   * Anything with transparency (RGBA, LA, PA, palette + ``transparency``) is composited on white.
   * Multi-frame files (GIF, APNG, TIFF, MPO): the first frame.
6. **EXIF orientation** is applied last (after reduction, so it transposes the small image), and works for
   JPEG, PNG, WebP and TIFF alike.

Missing or unreadable files are also reported as :class:`ImageLoadError` (reason ``"file not found"`` /
``"cannot read file: ..."``), so batch code needs a single ``except`` clause.
"""

from __future__ import annotations

import io
import os
import warnings
from typing import IO, Any, Callable, Union

import numpy as np
from PIL import Image

from piaa.errors import InputError, PiaaError, PiaaWarning
from piaa.io.decoder_warnings import _loading_reports

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "SUPPORTED_FORMATS",
    "ImageLoadError",
    "ImageSource",
    "load_image",
    "load_image_safe",
    "get_max_pixels",
    "parse_pixel_count",
    "set_max_pixels",
]

#: Default refusal limit for the pixel count claimed by an image header (128 megapixels).
DEFAULT_MAX_PIXELS = 128_000_000
_UNSET: Any = object()

#: Pillow format names tried when opening, in this order. Formats not compiled into the local Pillow (or
#: provided by a plugin such as pillow-heif, registered as "HEIF") are skipped silently.
SUPPORTED_FORMATS: tuple[str, ...] = (
    "JPEG", "PNG", "WEBP", "GIF", "TIFF", "BMP", "DIB", "MPO", "PPM", "JPEG2000", "AVIF", "HEIF",
)  # fmt: skip

ImageSource = Union[str, os.PathLike, bytes, bytearray, memoryview, IO[bytes], Image.Image]

# EXIF orientation -> transpose method (same table as PIL.ImageOps.exif_transpose).
_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_EXIF_ORIENTATION_TAG = 0x0112
_JPEG_FORMATS = ("JPEG", "MPO")


class ImageLoadError(PiaaError):
    """An image could not be turned into RGB pixels.

    Attributes:
        path: the file path (``str``) when known — also the ``name`` of a file object — else ``None``.
        reason: short human message, e.g. ``"not an image"``, ``"truncated or corrupt JPEG"``,
            ``"image too large (144000000 pixels > limit 128000000)"``.
    """

    def __init__(self, path: str | os.PathLike | None, reason: str):
        self.path = None if path is None else str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}" if self.path else reason)

    def __reduce__(self):  # keep picklable (multiprocessing workers)
        return (type(self), (self.path, self.reason))


# --------------------------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------------------------


_plugins_registered = False


def _register_plugins() -> None:
    """Register the Pillow openers piaa ships with (pillow-heif for HEIC/HEIF), once per process."""
    global _plugins_registered
    if _plugins_registered:
        return
    _plugins_registered = True
    import pillow_heif

    pillow_heif.register_heif_opener()


def _open_formats() -> list[str]:
    _register_plugins()
    Image.init()
    return [f for f in SUPPORTED_FORMATS if f in Image.OPEN]


def parse_pixel_count(text: str | int) -> int:
    """``"128000000"``, ``"128M"``, ``"128MP"``, ``"1.5G"`` -> pixels; ``ValueError`` naming the problem."""
    t = str(text).strip().upper().removesuffix("P")
    mult = {"K": 10**3, "M": 10**6, "G": 10**9}.get(t[-1:], 1)
    num = t[:-1] if mult != 1 else t
    try:
        value = float(num)
    except ValueError:
        raise InputError(f"not a pixel count: {text!r} (e.g. 128000000 or 128M)") from None
    if not np.isfinite(value) or value < 1 or value * mult > 10**12:
        raise InputError(f"pixel count must be between 1 and 1e12, not {text!r}")
    return int(value * mult)


_max_pixels: int | None = None


def get_max_pixels() -> int:
    """The process-wide default of ``load_image``'s ``max_pixels``: :func:`set_max_pixels`, else the
    ``PIAA_MAX_PIXELS`` environment variable, else :data:`DEFAULT_MAX_PIXELS`."""
    if _max_pixels is not None:
        return _max_pixels
    env = os.environ.get("PIAA_MAX_PIXELS")
    if env:
        try:
            return parse_pixel_count(env)
        except ValueError:
            warnings.warn(f"ignoring PIAA_MAX_PIXELS={env!r}: not a pixel count", PiaaWarning, stacklevel=2)
    return DEFAULT_MAX_PIXELS


def set_max_pixels(limit: int | None) -> None:
    """Set the process-wide pixel limit (``None``: back to the default). A limit above Pillow's own bomb
    threshold raises that threshold too, so the limit set here is the one that applies."""
    global _max_pixels
    if limit is not None:
        limit = int(limit)
        if limit < 1:
            raise InputError("max_pixels must be >= 1")
        if limit > (Image.MAX_IMAGE_PIXELS or 0):
            Image.MAX_IMAGE_PIXELS = limit
    _max_pixels = limit


def _too_large(path, n: int, limit: int) -> ImageLoadError:
    return ImageLoadError(path, f"image too large ({n} pixels > limit {limit})")


def _decode_reason(exc: BaseException, fmt: str | None) -> str:
    msg = str(exc).strip()
    low = msg.lower()
    name = fmt or "image"
    if "truncated" in low or isinstance(exc, EOFError) or "broken data stream" in low:
        return f"truncated or corrupt {name}"
    if isinstance(exc, MemoryError):
        return "out of memory while decoding"
    if msg:
        return f"corrupt {name} ({msg[:120]})"
    return f"corrupt {name} ({type(exc).__name__})"


def _orientation(im: Image.Image, default: int = 1) -> int:
    try:
        value = im.getexif().get(_EXIF_ORIENTATION_TAG)
    except Exception:  # malformed EXIF must not make a good image unreadable
        return default
    if value is None:
        return default
    try:
        value = int(value)
    except (TypeError, ValueError):
        return default
    return value if value in _ORIENTATION else default  # 1 (upright) or junk: the container's own value


def _draft_size(size: tuple[int, int], target_size: int) -> tuple[int, int]:
    """Size with the image's aspect whose shorter side is ``target_size`` (rounded up)."""
    w, h = size
    short = min(w, h)
    return (max(1, -(-w * target_size // short)), max(1, -(-h * target_size // short)))


def _gray_to_uint8(im: Image.Image, bits: int | None) -> np.ndarray:
    """16/32-bit integer or float single-channel image -> uint8 array (see module docs for the rules)."""
    a = np.asarray(im)
    if im.mode == "F":
        a = np.nan_to_num(a.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
        if lo >= 0.0 and hi <= 1.0:
            a = a * 255.0
        elif not (lo >= 0.0 and hi <= 255.0):
            a = (a - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(a)
        return np.clip(np.rint(a), 0, 255).astype(np.uint8)

    a = a.astype(np.int64)
    if im.mode.startswith("I;16"):
        bits = 16
    if bits is None:
        lo, hi = (int(a.min()), int(a.max())) if a.size else (0, 0)
        if lo >= 0 and hi <= 255:
            bits = 8
        elif lo >= 0 and hi <= 65535:
            bits = 16
    if bits is not None and 1 <= bits <= 32:
        top = (1 << bits) - 1
        # integer rounding of a * 255 / top
        out = (np.clip(a, 0, top) * 255 + top // 2) // top
        return out.astype(np.uint8)
    lo, hi = int(a.min()), int(a.max())
    if hi <= lo:
        return np.zeros(a.shape, np.uint8)
    return np.clip(np.rint((a - lo) * (255.0 / (hi - lo))), 0, 255).astype(np.uint8)


def _on_white(im: Image.Image) -> Image.Image:
    """Composite an RGBA image on a white background -> RGB."""
    bg = Image.new("RGB", im.size, (255, 255, 255))
    bg.paste(im.convert("RGB"), mask=im.getchannel("A"))
    return bg


def _cmyk_to_rgb(im: Image.Image, icc: bytes | None) -> Image.Image:
    if icc:
        try:
            from PIL import ImageCms

            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            dst = ImageCms.createProfile("sRGB")
            return ImageCms.profileToProfile(im, src, dst, outputMode="RGB")
        except Exception:  # broken or exotic profile: fall back to the plain formula
            pass
    return im.convert("RGB")


def _to_rgb(im: Image.Image, fmt: str | None, info: dict, bits: int | None) -> Image.Image:
    mode = im.mode
    if mode in ("L", "RGB") and info.get("transparency") is not None:
        return _on_white(im.convert("RGBA"))  # tRNS colour key in a gray/RGB PNG
    if mode == "RGB":
        return im.copy()
    if mode in ("RGBA", "RGBa", "RGBX"):
        return _on_white(im.convert("RGBA")) if mode != "RGBX" else im.convert("RGB")
    if mode in ("LA", "La", "PA"):
        return _on_white(im.convert("RGBA"))
    if mode == "P":
        if "transparency" in info or im.info.get("transparency") is not None:
            return _on_white(im.convert("RGBA"))
        return im.convert("RGB")
    if mode in ("1", "L", "YCbCr"):
        return im.convert("RGB")
    if mode == "CMYK":
        if fmt in _JPEG_FORMATS and "adobe" not in info:
            # Pillow assumed Adobe's inverted CMYK; without the Adobe marker the data was not inverted.
            from PIL import ImageChops

            im = ImageChops.invert(im)
        return _cmyk_to_rgb(im, info.get("icc_profile"))
    if mode == "F" or mode == "I" or mode.startswith("I;16"):
        return Image.fromarray(_gray_to_uint8(im, bits), "L").convert("RGB")
    if mode == "LAB":
        try:
            from PIL import ImageCms

            return ImageCms.applyTransform(
                im,
                ImageCms.buildTransform(
                    ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB"), "LAB", "RGB"
                ),
            )
        except Exception as e:
            raise InputError(f"unsupported image mode {mode}") from e
    return im.convert("RGB")  # HSV and anything else Pillow can convert


def _reduce(im: Image.Image, target_size: int | None) -> Image.Image:
    if target_size is None:
        return im
    factor = min(im.size) // target_size
    if factor >= 2:
        im = im.reduce(factor)  # box filter: antialiased, fast; shorter side stays >= target_size
    return im


def _bits_per_sample(im: Image.Image) -> int | None:
    tags = getattr(im, "tag_v2", None)
    if tags is None:
        return None
    try:
        v = tags.get(258)
        if isinstance(v, (tuple, list)):
            v = v[0]
        return int(v) if v else None
    except Exception:
        return None


def _finish(im: Image.Image, fmt, info, bits, orientation, target_size, path, on_scaled=None) -> Image.Image:
    try:
        rgb = _to_rgb(im, fmt, info, bits)
    except Exception as e:
        raise ImageLoadError(path, f"cannot convert {im.mode} image to RGB ({e})") from e
    if on_scaled is not None:
        try:
            on_scaled(rgb if orientation == 1 else rgb.transpose(_ORIENTATION[orientation]))
        except Exception:  # the caller's business, never the photo's
            pass
    rgb = _reduce(rgb, target_size)
    if orientation != 1:
        rgb = rgb.transpose(_ORIENTATION[orientation])
    return rgb


def load_image(
    src: ImageSource,
    *,
    target_size: int | None = None,
    max_pixels: int | None = _UNSET,
    name: str | os.PathLike | None = None,
    on_scaled: Callable[[Image.Image], None] | None = None,
) -> Image.Image:
    """Load an image as 8-bit RGB with EXIF orientation applied.

    Args:
        src: a path (``str`` / ``os.PathLike``), the file's bytes (``bytes``/``bytearray``/``memoryview``),
            a binary file object (a file positioned elsewhere than its start is read from there on), or a ``PIL.Image.Image`` (not modified;
            a new image is returned).
        target_size: when given, the image may be returned smaller than full resolution, but its shorter
            side is never below ``target_size`` (unless the original is already smaller). JPEGs are
            downscaled inside the decoder (``Image.draft``); then an integer box reduction is applied.
        max_pixels: refuse images whose header claims more pixels than this (default:
            :func:`get_max_pixels`, 128 MP unless changed; ``None``: no limit of our own, Pillow's hard limit
            still applies).
        name: the photo's path for messages when ``src`` is its bytes (an :class:`ImageWarning` names it).
        on_scaled: JPEG only: called with the decoder's own output — upright RGB at libjpeg's DCT scale,
            before the box reduction — so a caller needing that size too (cull's face detector) need not
            decode the photo again. What it raises is ignored.

    Returns:
        A new RGB ``PIL.Image.Image`` not tied to any open file.

    Raises:
        ImageLoadError: missing/unreadable file, not an image, unsupported format, truncated or corrupt
            data, too many pixels.
    """
    if target_size is not None and int(target_size) < 1:
        raise InputError("target_size must be a positive integer")
    if max_pixels is _UNSET:
        max_pixels = get_max_pixels()

    if isinstance(src, Image.Image):
        return _loading_reports(getattr(src, "filename", None) or None, _load_pil, src, target_size=target_size,
                                max_pixels=max_pixels)

    path: str | None
    close_fp = False
    if isinstance(src, (str, os.PathLike)):
        path = os.fspath(src)
        from piaa.io.files import image_byte_cap, open_regular

        try:
            fp: Any = open_regular(path, image_byte_cap())
        except FileNotFoundError as e:
            raise ImageLoadError(path, "file not found") from e
        except IsADirectoryError as e:
            raise ImageLoadError(path, "is a directory, not an image") from e
        except OSError as e:
            raise ImageLoadError(path, f"cannot read file: {e.strerror or e}") from e
        close_fp = True
    elif isinstance(src, (bytes, bytearray, memoryview)):
        path = None
        fp = io.BytesIO(bytes(src))
    elif hasattr(src, "read"):
        name = getattr(src, "name", None)
        path = os.fspath(name) if isinstance(name, (str, os.PathLike)) else None
        fp = src
        try:
            if fp.tell() != 0:  # Pillow reads from offset 0; honour the caller's position instead
                fp = io.BytesIO(fp.read())
        except Exception:
            pass
    else:
        raise TypeError(f"load_image: unsupported source type {type(src).__name__}")

    try:
        where = path if path is not None or name is None else os.fspath(name)
        return _loading_reports(where, _load_fp, fp, path, target_size=target_size, max_pixels=max_pixels,
                                on_scaled=on_scaled)
    finally:
        if close_fp:
            fp.close()


def _load_fp(fp, path, *, target_size, max_pixels, default_orientation: int = 1, on_scaled=None) -> Image.Image:
    # Empty input gets its own message.
    try:
        pos = fp.tell()
        head = fp.read(16)
        fp.seek(pos)
    except Exception:
        head = b"?"  # unseekable: let Pillow complain (it buffers into memory itself)
    if not head:
        raise ImageLoadError(path, "empty file")
    if head != b"?":
        from piaa.io.raw import sniff_raw

        kind = sniff_raw(fp)
        if kind is not None:
            return _load_raw(fp, path, kind, target_size=target_size, max_pixels=max_pixels)

    with warnings.catch_warnings():
        # We enforce our own limit below; Pillow's warning between its two thresholds is noise here.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            im = Image.open(fp, formats=_open_formats())
        except Image.DecompressionBombError as e:
            raise ImageLoadError(path, f"image too large ({e})") from e
        except Image.UnidentifiedImageError as e:
            raise ImageLoadError(path, "not an image (or an unsupported format)") from e
        except Exception as e:  # a recognised header with broken fields
            raise ImageLoadError(path, _decode_reason(e, None)) from e

    try:
        fmt = im.format
        w, h = im.size
        if w <= 0 or h <= 0:
            raise ImageLoadError(path, f"invalid image size {w}x{h}")
        n = w * h
        if max_pixels is not None and n > max_pixels:
            raise _too_large(path, n, max_pixels)

        if target_size is not None and fmt in _JPEG_FORMATS and min(w, h) > target_size:
            try:
                im.draft(im.mode, _draft_size((w, h), int(target_size)))
            except Exception:
                pass  # draft is an optimisation only
        info = dict(im.info)
        orientation = _orientation(im, default_orientation)
        bits = _bits_per_sample(im)
        try:
            im.load()
        except ImageLoadError:
            raise
        except Exception as e:
            raise ImageLoadError(path, _decode_reason(e, fmt)) from e
        return _finish(im, fmt, info, bits, orientation, target_size, path,
                       on_scaled if fmt in _JPEG_FORMATS else None)
    finally:
        im.close()


def _load_raw(fp, path, kind: str, *, target_size, max_pixels) -> Image.Image:
    """A camera RAW file -> its embedded preview, decoded like any JPEG (draft, limit, orientation)."""
    from piaa.io.raw import extract_preview

    try:
        preview, orientation = extract_preview(fp, kind)
    except ValueError as e:
        raise ImageLoadError(path, f"{kind}: {e}") from e
    except MemoryError as e:
        raise ImageLoadError(path, "out of memory while decoding") from e
    if isinstance(preview, (bytes, bytearray)):
        try:
            im = _load_fp(io.BytesIO(preview), path, target_size=target_size, max_pixels=max_pixels,
                          default_orientation=orientation)
        except ImageLoadError as e:
            raise ImageLoadError(path, f"{kind} preview: {e.reason}") from e
        return im
    arr = np.asarray(preview)
    if arr.ndim != 3 or arr.shape[2] not in (1, 3) or arr.dtype != np.uint8:
        raise ImageLoadError(path, f"{kind}: unsupported embedded preview ({arr.dtype}, shape {arr.shape})")
    h, w = arr.shape[:2]
    if max_pixels is not None and w * h > max_pixels:
        raise _too_large(path, w * h, max_pixels)
    im = Image.fromarray(arr[:, :, 0] if arr.shape[2] == 1 else arr)
    return _finish(im, "RAW", {}, 8, orientation, target_size, path)


def _load_pil(src: Image.Image, *, target_size, max_pixels) -> Image.Image:
    path = getattr(src, "filename", None) or None
    w, h = src.size
    if max_pixels is not None and w * h > max_pixels:
        raise _too_large(path, w * h, max_pixels)
    try:
        src.load()
    except Exception as e:
        raise ImageLoadError(path, _decode_reason(e, src.format)) from e
    return _finish(
        src, src.format, dict(src.info), _bits_per_sample(src), _orientation(src), target_size, path
    )


def load_image_safe(src: ImageSource, **kw) -> tuple[Image.Image | None, str | None]:
    """``load_image`` for batch code: returns ``(image, None)`` or ``(None, message)``, never raises
    for a bad image (programming errors such as a wrong argument type still raise)."""
    try:
        return load_image(src, **kw), None
    except ImageLoadError as e:
        return None, str(e)
    except MemoryError:
        return None, "out of memory while decoding"
