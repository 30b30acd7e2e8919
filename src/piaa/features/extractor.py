"""Batched, cached feature extraction: photos -> backbone features, decoding in threads while the network runs.

Every path is identified by the hash of its bytes; features already in the cache are never recomputed, and a
photo that cannot be decoded becomes a per-item error (the rest of the batch goes on).
"""
from __future__ import annotations

import hashlib
import os
import stat
import threading
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Union

import numpy as np

from piaa.catalogue import DEFAULT_BACKBONE
from piaa.features.cache import FeatureCache

CACHE_FORMAT_VERSION = "1"
ImageLike = Union[str, os.PathLike, "PIL.Image.Image"]  # noqa: F821


@dataclass
class FeatureResult:
    """``features[i]`` belongs to input i; rows of failed inputs are NaN and listed in ``errors``."""

    features: np.ndarray
    errors: Dict[int, str] = field(default_factory=dict)
    hashes: List[Optional[str]] = field(default_factory=list)

    @property
    def ok(self) -> np.ndarray:
        mask = np.ones(len(self.features), dtype=bool)
        mask[list(self.errors)] = False
        return mask


def open_cache(cache) -> Optional[FeatureCache]:
    """``"default"`` -> the user cache file; ``None``/``False`` -> no cache; a path or FeatureCache as given."""
    if cache is None or cache is False:
        return None
    if isinstance(cache, FeatureCache):
        return cache
    if cache == "default":
        from piaa.paths import default_cache_path

        return FeatureCache(default_cache_path())
    return FeatureCache(cache)


def torch_threads() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


class FeatureExtractor:
    """Extract ``variant`` features ("pooled", "multilevel" or "trunkK") of a registered backbone.

    engine: "auto" (default: ONNX Runtime when its export verifies against eager, else PyTorch), "torch"
    (eager) or "onnx" (see ``piaa.features.engines``). All give the same numbers to within 1e-4; the ONNX
    graph is checked against eager at build time. ``self.engine.name`` tells which one actually runs.
    workers: decode threads (default: one per core); batch_size: upper bound of one network call (engines
    publish a preferred, smaller batch).
    """

    def __init__(self, backbone: str = DEFAULT_BACKBONE, variant: str = "pooled", cache="default",
                 batch_size: int = 32, workers: Optional[int] = None, engine: str = "auto",
                 progress: bool = False, store_dtype: Optional[str] = None):
        from piaa.backbones import get_pretrained_cfg

        self.backbone_name = backbone
        self.variant = variant
        self.cfg = get_pretrained_cfg(backbone)
        self.cache = open_cache(cache)
        self.batch_size = batch_size
        self.workers = workers
        if engine is None:
            engine = "auto"
        self.engine_name = engine
        self.progress = progress
        # trunk activations are large: store them as float16 unless told otherwise
        self.store_dtype = store_dtype or ("float16" if variant.startswith("trunk") else "float32")
        self._engine = None

    # ---- identity --------------------------------------------------------------------------------------------
    @property
    def model_key(self) -> str:
        return f"{self.backbone_name}|{self.cfg.fingerprint()}|{self.variant}|{self.store_dtype}|v{CACHE_FORMAT_VERSION}"

    @property
    def engine(self):
        if self._engine is None:
            from piaa.features.engines import get_engine

            self._engine = get_engine(self.backbone_name, self.variant, self.engine_name)
        return self._engine

    # ---- main entry ------------------------------------------------------------------------------------------
    def extract(self, images: Sequence[ImageLike], on_decoded: Optional[Callable] = None) -> FeatureResult:
        """Features of ``images`` (cached ones are not recomputed). ``on_decoded(index, image)`` is called, in a
        worker thread, with every JPEG this call decodes as libjpeg's DCT scaling left it (upright RGB, before
        any box reduction: :func:`piaa.io.images.load_image`'s ``on_scaled``), so a caller that needs that
        small copy too (cull's face detector) does not decode the photo again; what it raises is ignored."""
        from piaa.io.hashing import image_bytes_hash, image_file_hash

        n = len(images)
        errors: Dict[int, str] = {}
        hashes: List[Optional[str]] = [None] * n
        # index -> bytes or PIL image still to decode. Files are NOT read here: they are hashed in chunks and
        # read again, one at a time, when decoded, so memory does not grow with the number of photos.
        payload: Dict[int, object] = {}
        memo_rows = []
        for i, src in enumerate(images):
            try:
                if isinstance(src, (str, os.PathLike)):
                    p = Path(src)
                    st = p.stat()
                    if not stat.S_ISREG(st.st_mode):
                        from piaa.io.files import NotRegularFileError, file_kind

                        if stat.S_ISDIR(st.st_mode):
                            raise IsADirectoryError(src)
                        raise NotRegularFileError(22, f"not a regular file ({file_kind(st.st_mode)})", str(src))
                    key = os.path.realpath(p)
                    h = self.cache.known_hash(key, st) if self.cache else None
                    if h is None:
                        h = image_file_hash(p)
                        memo_rows.append((key, st, h))
                    hashes[i] = h
                elif isinstance(src, (bytes, bytearray)):
                    hashes[i] = image_bytes_hash(bytes(src))
                    payload[i] = bytes(src)
                else:  # a PIL image: identify it by its pixels
                    hashes[i] = _pil_hash(src)
                    payload[i] = src
            except FileNotFoundError:
                errors[i] = f"file not found: {src}"
            except IsADirectoryError:
                errors[i] = f"is a directory: {src}"
            except OSError as exc:
                errors[i] = f"cannot read file: {exc.strerror or exc}"
        if self.cache and memo_rows:
            self.cache.remember_hashes(memo_rows)

        found = self.cache.get_many([h for h in hashes if h], self.model_key) if self.cache else {}
        todo = [i for i in range(n) if i not in errors and hashes[i] not in found]
        # identical bytes appear once in the work list
        first_of_hash: Dict[str, int] = {}
        unique_todo = []
        for i in todo:
            if hashes[i] not in first_of_hash:
                first_of_hash[hashes[i]] = i
                unique_todo.append(i)
        # (subclasses with their own decoding, e.g. piaa.detail.crops, take no hook)
        hook = {"on_decoded": on_decoded} if on_decoded is not None else {}
        computed = self._compute(unique_todo, images, payload, errors, hashes, **hook)
        found.update(computed)

        dim_shape = None
        for h in hashes:
            if h in found:
                dim_shape = found[h].shape
                break
        if dim_shape is None:
            dim_shape = self._expected_shape()
        out = np.full((n, *dim_shape), np.nan, dtype=np.float32)
        for i, h in enumerate(hashes):
            if i in errors:
                continue
            if h in found:
                out[i] = found[h]
            elif h in first_of_hash and first_of_hash[h] in errors:
                errors[i] = errors[first_of_hash[h]]
        return FeatureResult(out, dict(sorted(errors.items())), hashes)

    def __call__(self, images):
        return self.extract(images)

    # ---- internals -------------------------------------------------------------------------------------------
    def _expected_shape(self):
        if self.variant.startswith("trunk"):
            return (0,)
        from piaa.backbones import create_backbone

        return (create_backbone(self.backbone_name).feature_dim(self.variant),)

    def _compute(self, todo, images, payload, errors, hashes, on_decoded=None) -> Dict[str, np.ndarray]:
        """Decode + network in parallel lanes; results are cached in batches as they arrive.

        Each job decodes a small batch and runs the network on it. ``engine.max_concurrency`` jobs may be in
        the network at once (1 for eager torch, which threads internally; one per core for ONNX Runtime),
        the other threads keep decoding meanwhile, so decoding overlaps the network instead of alternating
        with it. A crash part-way leaves every batch written so far in the cache.
        """
        if not todo:
            return {}
        from piaa.backbones.preprocess import decode_size, preprocess
        from piaa.io.hashing import image_bytes_hash, read_image_bytes
        from piaa.io.images import ImageLoadError, load_image

        cfg = self.cfg
        engine = self.engine
        lanes = max(1, int(getattr(engine, "max_concurrency", 1)))
        batch = max(1, min(self.batch_size, int(getattr(engine, "preferred_batch", self.batch_size))))
        threads = max(lanes, self.workers or _cores())
        gate = threading.BoundedSemaphore(lanes)

        def decode(i):
            try:
                src = payload.get(i)
                if src is None:  # a file: read it now (and drop it after decoding)
                    src = read_image_bytes(images[i])
                    h = image_bytes_hash(src)
                    if h != hashes[i]:  # replaced since it was hashed: file the features under what was read
                        hashes[i] = h
                name = images[i] if isinstance(images[i], (str, os.PathLike)) else None
                hook = None if on_decoded is None else (lambda im, i=i: on_decoded(i, im))
                img = load_image(src, target_size=decode_size(cfg), name=name, on_scaled=hook)
                return preprocess(img, cfg), None
            except ImageLoadError as exc:
                return None, exc.reason
            except FileNotFoundError:
                return None, "file not found (removed while scoring)"
            except OSError as exc:
                return None, f"cannot read file: {exc.strerror or exc}"
            except Exception as exc:  # any decoder failure is a per-file error, never a crashed batch
                return None, f"cannot decode image: {exc}"

        def job(chunk):
            done, arrays, errs = [], [], {}
            for i in chunk:
                arr, err = decode(i)
                if err is None:
                    done.append(i)
                    arrays.append(arr)
                else:
                    errs[i] = err
            feats = None
            if arrays:
                x = np.stack(arrays)
                with gate:
                    feats = engine(x)
            return chunk, done, feats, errs

        bar = None
        if self.progress:
            from tqdm import tqdm

            bar = tqdm(total=len(todo), desc=f"features {self.backbone_name}/{self.variant}", unit="img",
                       leave=False, dynamic_ncols=True)
        results: Dict[str, np.ndarray] = {}
        pending_write: Dict[str, np.ndarray] = {}
        chunks = [todo[s:s + batch] for s in range(0, len(todo), batch)]
        window = 2 * threads  # bounded prefetch: memory stays O(threads * batch) images
        failure: Optional[BaseException] = None

        def harvest(fut):
            nonlocal failure
            if fut.cancelled():
                return
            if fut.exception() is not None:
                failure = failure or fut.exception()
                return
            chunk, done, feats, errs = fut.result()
            errors.update(errs)
            for i, f in zip(done, feats if feats is not None else ()):
                pending_write[hashes[i]] = f.astype(self.store_dtype)
            if bar:
                bar.update(len(chunk))

        pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="piaa-extract")
        running = set()
        try:
            next_chunk = 0
            while failure is None and (next_chunk < len(chunks) or running):
                while next_chunk < len(chunks) and len(running) < window:
                    running.add(pool.submit(job, chunks[next_chunk]))
                    next_chunk += 1
                finished, running = wait(running, return_when=FIRST_COMPLETED)
                for fut in finished:
                    harvest(fut)
                if self.cache and len(pending_write) >= _WRITE_EVERY:
                    self.cache.put_many(pending_write, self.model_key)
                    results.update(pending_write)
                    pending_write = {}
        finally:
            # on failure or interruption: let started batches finish and keep them, skip the rest
            pool.shutdown(wait=True, cancel_futures=True)
            for fut in running:
                harvest(fut)
            if self.cache and pending_write:
                self.cache.put_many(pending_write, self.model_key)
            results.update(pending_write)
            if bar:
                bar.close()
        if failure is not None:
            raise failure
        return results


_WRITE_EVERY = 64  # rows per cache transaction: few commits, little work lost on interruption


def _cores() -> int:
    from piaa.features.engines import cpu_cores

    return cpu_cores()


def _pil_hash(img) -> str:
    h = hashlib.sha256()
    h.update(f"{img.mode}|{img.size}".encode())
    h.update(img.tobytes())
    return "pil-" + h.hexdigest()[:32]
