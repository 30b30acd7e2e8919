"""Turn a decoded RGB photo into the float tensor a backbone's weights expect (per its PretrainedCfg)."""
from __future__ import annotations

import numpy as np
from PIL import Image
from piaa.errors import InputError

_INTERP = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}


def decode_size(cfg) -> int:
    """The shorter side a decoder must keep at least, so the preprocessing's resize only ever shrinks: the
    input size, or the pre-crop short side of a center-crop cfg (256 for a 224 crop at crop_pct 0.875)."""
    if cfg.resize_mode in ("short_side_crop", "center_crop"):
        return int(round(cfg.input_size / cfg.crop_pct))
    return int(cfg.input_size)


def resize_for(img: Image.Image, cfg) -> Image.Image:
    """Geometric part of the preprocessing (PIL, antialiased)."""
    size = cfg.input_size
    resample = _INTERP[cfg.interpolation]
    if img.mode != "RGB":
        img = img.convert("RGB")
    if cfg.resize_mode == "squash":
        return img.resize((size, size), resample, reducing_gap=None)
    if cfg.resize_mode == "center_crop":
        short = int(round(size / cfg.crop_pct))
        w, h = img.size
        r = short / min(w, h)
        img = img.resize((max(size, round(w * r)), max(size, round(h * r))), resample)
        w, h = img.size
        left, top = (w - size) // 2, (h - size) // 2
        return img.crop((left, top, left + size, top + size))
    if cfg.resize_mode == "short_side_crop":
        return _short_side_crop(img, size, int(round(size / cfg.crop_pct)), resample)
    raise InputError(f"unknown resize_mode {cfg.resize_mode!r}")


def _short_side_crop(img: Image.Image, size: int, short: int, resample) -> Image.Image:
    """Hugging Face image processors' geometry: the shorter side to ``short`` (the longer one truncated to an
    integer, as ``transformers`` computes it), then a centered ``size`` x ``size`` crop."""
    w, h = img.size
    if w <= h:
        new = (short, int(short * h / w))
    else:
        new = (int(short * w / h), short)
    img = img.resize(new, resample, reducing_gap=None)
    left, top = (new[0] - size) // 2, (new[1] - size) // 2
    return img.crop((left, top, left + size, top + size))


def to_array(img: Image.Image, cfg) -> np.ndarray:
    """Normalized float32 array, channels first (3, H, W): ``(x / 255 - mean) / std``.

    One pass: the uint8 pixels are transposed (cheap, a byte each), then scaled by ``1 / (255 std)`` into a
    fresh float32 array and shifted by ``mean / std`` in place -- far less CPU than the textbook chain of
    temporaries (docs/benchmarks/speed.md), equal to it within 1e-7.
    """
    scale, shift = _affine(tuple(cfg.mean), tuple(cfg.std))
    a = np.asarray(img).transpose(2, 0, 1)
    x = np.empty(a.shape, np.float32)
    np.multiply(a, scale, out=x, casting="unsafe")
    x -= shift
    return x


_AFFINE: dict = {}


def _affine(mean, std):
    key = (mean, std)
    if key not in _AFFINE:
        m, s = np.asarray(mean, np.float32), np.asarray(std, np.float32)
        _AFFINE[key] = ((1.0 / (255.0 * s)).astype(np.float32)[:, None, None], (m / s).astype(np.float32)[:, None, None])
    return _AFFINE[key]


def preprocess(img: Image.Image, cfg) -> np.ndarray:
    return to_array(resize_for(img, cfg), cfg)
