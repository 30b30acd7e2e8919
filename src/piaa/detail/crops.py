"""Native-resolution evidence: backbone features of 224-px crops seen at 100 %, and natural-scene statistics.

Why: every model in piaa sees the whole photo squashed to 224 px, where a soft, upscaled or noisy image looks as
clean as a sharp one. Five crops of the network's own input size cut from the photo *at its own pixel scale*
(the centre and the centres of the four quadrants) show the network the pixels as a viewer at 100 % sees them;
their features are averaged, so the vector has the backbone's usual width and one cached row per photo.
The BRISQUE statistics (:mod:`piaa.detail.nss`) are computed on the same decode.

Native decode cap: a photo whose long side exceeds :data:`NATIVE_MAX_SIDE` (1,600 px) is reduced to it (JPEG
draft decoding, then a bilinear resize) before cropping. A 24-megapixel photo is therefore judged at about
27 %: the crops' content stays comparable with the 256-512 px training images, and decoding stays fast
(the cap is part of the cache key, so changing it never returns stale rows).

Caching: :class:`NativeEvidence` is a :class:`~piaa.features.FeatureExtractor` (same hashing, cache, per-photo
errors), whose cache key adds the crop layout, crop size, the cap and the statistics' version to the backbone's
key: it can never collide with the squashed whole-image features of the same photo and backbone.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from piaa.catalogue import DEFAULT_BACKBONE
from piaa.errors import InputError
from piaa.features.extractor import FeatureExtractor

#: the longest side (px) a photo is decoded at for native-resolution evidence
NATIVE_MAX_SIDE = 1600
#: crop side (px) of the default backbone's input; NativeEvidence uses its backbone's own input size
CROP_SIZE = 224
LAYOUTS = ("five",)
#: images with a shorter side below this are enlarged to it before the statistics (which need 16 px or more)
MIN_NSS_SIDE = 32
#: version of the statistics' definition (bump when nss.py changes its numbers)
NSS_VERSION = "brisque36-v1"
Box = tuple[int, int, int, int]


def crop_boxes(width: int, height: int, size: int = CROP_SIZE, layout: str = "five") -> list[Box]:
    """``(left, top, right, bottom)`` of each crop of a ``width`` x ``height`` image.

    ``"five"``: squares of side ``size`` centred on the image centre and on the centres of its four quadrants,
    shifted inside the image where they would cross its edge; in an image smaller than ``size`` the squares
    have its shorter side (and are enlarged to ``size`` by the caller).
    """
    if layout not in LAYOUTS:
        raise InputError(f"unknown crop layout {layout!r}; known: {', '.join(LAYOUTS)}")
    if width < 1 or height < 1 or size < 1:
        raise InputError(f"crop_boxes needs positive sizes, got {width}x{height}, crop {size}")
    side = min(size, width, height)
    centres = [(width / 2, height / 2), (width / 4, height / 4), (3 * width / 4, height / 4),
               (width / 4, 3 * height / 4), (3 * width / 4, 3 * height / 4)]
    boxes = []
    for cx, cy in centres:
        left = round(min(max(cx - side / 2, 0), width - side))
        top = round(min(max(cy - side / 2, 0), height - side))
        boxes.append((left, top, left + side, top + side))
    return boxes


def native_image(src, max_side: int = NATIVE_MAX_SIDE, name=None):
    """The photo as RGB at its own scale, its long side reduced to ``max_side`` when larger (see module doc)."""
    from PIL import Image

    from piaa.io.images import load_image

    img = load_image(src, target_size=max_side, name=name)  # JPEG draft: shorter side stays >= max_side
    w, h = img.size
    if max(w, h) > max_side:
        r = max_side / max(w, h)
        img = img.resize((max(1, round(w * r)), max(1, round(h * r))), Image.BILINEAR, reducing_gap=None)
    return img


def crops_of(img, size: int = CROP_SIZE, layout: str = "five") -> list:
    """The crops (PIL images of ``size`` x ``size``) of :func:`crop_boxes`."""
    from PIL import Image

    out = []
    for box in crop_boxes(img.size[0], img.size[1], size, layout):
        c = img.crop(box)
        if c.size != (size, size):
            c = c.resize((size, size), Image.BILINEAR)
        out.append(c)
    return out


class NativeEvidence(FeatureExtractor):
    """Per photo: the mean backbone ``variant`` features of its native crops and/or its 36 BRISQUE statistics
    (variances as logarithms, :func:`piaa.detail.nss.model_inputs`).

    ``crops``/``nss`` choose the parts (in that order in the vector). Same interface as FeatureExtractor:
    ``extract(paths) -> FeatureResult`` with NaN rows and messages for photos that cannot be read.
    """

    def __init__(self, backbone: str = DEFAULT_BACKBONE, variant: str = "multilevel", cache="default",
                 crops: bool = True, nss: bool = True, layout: str = "five", max_side: int = NATIVE_MAX_SIDE,
                 engine: str = "auto", workers=None, progress: bool = False):
        if not (crops or nss):
            raise InputError("NativeEvidence needs crops, statistics or both")
        if layout not in LAYOUTS:
            raise InputError(f"unknown crop layout {layout!r}; known: {', '.join(LAYOUTS)}")
        super().__init__(backbone, variant, cache=cache, engine=engine, workers=workers, progress=progress)
        self.crop_size = int(self.cfg.input_size)  # the network's input: crops are never resized
        self.use_crops, self.use_nss = bool(crops), bool(nss)
        self.layout, self.max_side = layout, int(max_side)

    @property
    def model_key(self) -> str:
        parts = [f"native<={self.max_side}"]
        if self.use_crops:
            parts.append(f"crops={self.layout}{self.crop_size}|{super().model_key}")
        if self.use_nss:
            parts.append(f"nss={NSS_VERSION}")
        return "|".join(parts)

    def _expected_shape(self):
        d = super()._expected_shape()[0] if self.use_crops else 0
        from piaa.detail.nss import N_FEATURES

        return (d + (N_FEATURES if self.use_nss else 0),)

    def extract(self, images):
        """As FeatureExtractor.extract; the statistics' variances come back as logarithms
        (:func:`piaa.detail.nss.model_inputs`; the cache keeps the paper's raw numbers)."""
        res = super().extract(images)
        if self.use_nss:
            from piaa.detail.nss import N_FEATURES, model_inputs

            res.features[:, -N_FEATURES:] = model_inputs(res.features[:, -N_FEATURES:])
        return res

    def evidence(self, img) -> np.ndarray:
        """The vector of one decoded (already capped) RGB image."""
        from piaa.backbones.preprocess import to_array
        from piaa.detail.nss import brisque_features

        parts = []
        if self.use_crops:
            x = np.stack([to_array(c, self.cfg) for c in crops_of(img, self.crop_size, self.layout)])
            with self._gate:
                parts.append(np.asarray(self.engine(x), dtype=np.float64).mean(axis=0))
        if self.use_nss:
            if min(img.size) < MIN_NSS_SIDE:  # a thumbnail-sized file: enlarged, like its crops, so it is scored
                from PIL import Image

                r = MIN_NSS_SIDE / min(img.size)
                img = img.resize((max(MIN_NSS_SIDE, round(img.size[0] * r)), max(MIN_NSS_SIDE, round(img.size[1] * r))),
                                 Image.BILINEAR)
            parts.append(brisque_features(np.asarray(img)))
        return np.concatenate(parts).astype(np.float32)

    def _compute(self, todo, images, payload, errors, hashes) -> dict[str, np.ndarray]:
        """One job per photo (decode, crops through the network, statistics); cached every few photos."""
        if not todo:
            return {}
        from piaa.io.hashing import image_bytes_hash, read_image_bytes
        from piaa.io.images import ImageLoadError

        lanes = max(1, int(getattr(self.engine, "max_concurrency", 1))) if self.use_crops else 1
        self._gate = threading.BoundedSemaphore(lanes)
        threads = max(lanes, self.workers or os.cpu_count() or 1)

        def job(i):
            try:
                src = payload.get(i)
                if src is None:
                    src = read_image_bytes(images[i])
                    hashes[i] = image_bytes_hash(src)
                name = images[i] if isinstance(images[i], (str, os.PathLike)) else None
                return i, self.evidence(native_image(src, self.max_side, name=name)), None
            except ImageLoadError as exc:
                return i, None, exc.reason
            except FileNotFoundError:
                return i, None, "file not found (removed while scoring)"
            except OSError as exc:
                return i, None, f"cannot read file: {exc.strerror or exc}"
            except InputError as exc:
                return i, None, str(exc)

        bar = None
        if self.progress:
            from tqdm import tqdm

            bar = tqdm(total=len(todo), desc="native evidence", unit="img", leave=False, dynamic_ncols=True)
        results: dict[str, np.ndarray] = {}
        pending: dict[str, np.ndarray] = {}
        try:
            with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="piaa-native") as pool:
                for i, vec, err in pool.map(job, todo):
                    if err is not None:
                        errors[i] = err
                    else:
                        pending[hashes[i]] = vec
                    if bar:
                        bar.update(1)
                    if self.cache and len(pending) >= 16:
                        self.cache.put_many(pending, self.model_key)
                        results.update(pending)
                        pending = {}
        finally:
            if self.cache and pending:
                self.cache.put_many(pending, self.model_key)
            results.update(pending)
            if bar:
                bar.close()
        return results
