"""Turn a decoded RGB photo into the float tensor a backbone's weights expect (per its PretrainedCfg)."""
from __future__ import annotations

import numpy as np
from PIL import Image

_INTERP = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}


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
    raise ValueError(f"unknown resize_mode {cfg.resize_mode!r}")


def to_array(img: Image.Image, cfg) -> np.ndarray:
    """Normalized float32 array, channels first (3, H, W)."""
    x = np.asarray(img, dtype=np.float32) * (1.0 / 255.0)
    x = (x - np.asarray(cfg.mean, np.float32)) / np.asarray(cfg.std, np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def preprocess(img: Image.Image, cfg) -> np.ndarray:
    return to_array(resize_for(img, cfg), cfg)
