"""``hf:REPO_OR_DIR`` backbone specs: a Hugging Face ``transformers`` vision model, named where a backbone is.

``hf:/models/my-clip`` (a folder written by ``save_pretrained``: ``config.json``, weights, and the image
processor's ``preprocessor_config.json``) or ``hf:openai/clip-vit-large-patch14`` (a hub id). The network is a
:class:`piaa.backbones.vit.ViTBackbone`; its preprocessing is read from the model's own image processor
(PIL backend: size, crop, resampling, mean and std) into a :class:`PretrainedCfg`, so ``piaa.backbones.
preprocess`` feeds it exactly what the processor would, and the cfg -- which also names a digest of the
config and weight files -- is part of every feature-cache key: changed weights or preprocessing never return
stale features.

Downloads: a hub id is looked up in the Hugging Face cache first; only when it is not there, and only through
``transformers``' own download (with its cache, token and ``HF_HUB_OFFLINE`` rules), is it fetched -- naming a
hub id is asking for it. Without network that fails with one line that says what is missing and how to pass a
local folder. Nothing here is imported on piaa's default path (the shipped EfficientNet-Lite), and
``transformers`` (``pip install 'piaa[backbones]'``) is imported only when an ``hf:`` spec is used.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from pathlib import Path
from typing import Dict, Optional, Tuple

from piaa.errors import AssetMissingError, FileMissingError, InputError

PREFIX = "hf:"
EXTRA_HINT = "pip install 'piaa[backbones]'"
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
WEIGHT_SUFFIXES = (".safetensors", ".bin")


def is_hf_spec(name) -> bool:
    return isinstance(name, str) and name.strip().startswith(PREFIX)


def canonical_spec(name, base_dir=None):
    """``hf:`` + an absolute path when the spec names an existing local folder (relative to ``base_dir`` or
    the working directory), so a model file or a task bank that records it works from any folder; anything
    else (hub ids, other backbones) unchanged."""
    if not is_hf_spec(name):
        return name
    target = name.strip()[len(PREFIX):].strip()
    path = Path(target).expanduser()
    if base_dir is not None and not path.is_absolute():
        path = Path(base_dir) / path
    return PREFIX + str(path.resolve()) if path.is_dir() else name.strip()


def _require_transformers():
    try:
        import transformers  # noqa: F401
    except ImportError:
        raise InputError(f"hf: backbones need the transformers library: {EXTRA_HINT}") from None


def locate(spec: str) -> Tuple[Path, bool]:
    """(folder holding config.json, whether it is a local folder the user named) for ``hf:...``."""
    target = spec.strip()[len(PREFIX):].strip()
    if not target:
        raise InputError("hf: needs a hub id or a folder, e.g. hf:openai/clip-vit-base-patch32 or hf:/models/clip")
    local = Path(target).expanduser()
    if local.is_dir():
        if not (local / "config.json").is_file():
            raise FileMissingError(f"{spec}: {local} has no config.json; write the model with "
                                   f"save_pretrained(folder) (and its image processor beside it)")
        return local.resolve(), True
    if target.startswith(("/", ".", "~")) or not _REPO_ID.match(target) or local.exists():
        raise FileMissingError(f"{spec}: folder {local} not found; pass a folder written by save_pretrained "
                               f"or a hub id such as hf:openai/clip-vit-base-patch32")
    return _hub_snapshot(spec, target), False


def _hub_snapshot(spec: str, repo: str) -> Path:
    """The cached snapshot folder of hub id ``repo``, downloading config, processor and weights if asked."""
    _require_transformers()
    from transformers.utils import cached_file

    def find(local_only: bool) -> Optional[Path]:
        try:
            p = cached_file(repo, "config.json", local_files_only=local_only)
        except (OSError, ValueError):
            return None
        return Path(p).parent if p else None

    folder = find(True)
    if folder is None and os.environ.get("HF_HUB_OFFLINE", "") not in ("1", "true", "True") and _hub_reachable():
        folder = find(False)
        if folder is not None:
            _download_rest(repo)
    if folder is None:
        raise AssetMissingError(
            f"{spec}: {repo} is not in the Hugging Face cache and could not be downloaded (no network?); "
            f"download it where there is network, or save it with save_pretrained and pass the folder: "
            f"--backbone hf:/path/to/folder")
    return folder


def _hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the hub's host answers at all (a few seconds at most): without network, the one-line error
    comes at once instead of after the hub client's minute of retries."""
    import socket
    from urllib.parse import urlparse

    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    try:
        socket.create_connection((url.hostname or "huggingface.co", url.port or 443), timeout=timeout).close()
    except OSError:
        return False
    return True


def _download_rest(repo: str) -> None:
    """Fetch the image processor config and the weights through transformers (its cache, its rules)."""
    import transformers

    transformers.AutoImageProcessor.from_pretrained(repo, backend="pil")
    transformers.AutoModel.from_pretrained(repo)


# ---- the model's own preprocessing -----------------------------------------------------------------------------
_RESAMPLE = {2: "bilinear", 3: "bicubic"}


def processor_cfg(folder: Path, weights: str):
    """The image processor of ``folder`` as a :class:`PretrainedCfg` (raises when piaa cannot follow it)."""
    from piaa.backbones.registry import PretrainedCfg

    proc = _load_processor(folder)
    get = lambda k, d=None: getattr(proc, k, d)  # noqa: E731
    size = _size_dict(get("size"))
    crop = _size_dict(get("crop_size")) if get("do_center_crop", False) else None
    resample = _RESAMPLE.get(int(get("resample", 2) or 2))
    if resample is None:
        raise InputError(f"{folder}: image processor resampling {get('resample')!r} is not bilinear or bicubic")
    if not get("do_resize", True):
        raise InputError(f"{folder}: the image processor does not resize; piaa needs a fixed input size")
    if not get("do_rescale", True) or abs(float(get("rescale_factor", 1 / 255)) - 1 / 255) > 1e-9:
        raise InputError(f"{folder}: the image processor does not scale pixels by 1/255")
    mean, std = (get("image_mean"), get("image_std")) if get("do_normalize", True) else ((0.0,) * 3, (1.0,) * 3)
    if crop is not None:
        if crop.get("height") != crop.get("width") or "shortest_edge" not in size:
            raise InputError(f"{folder}: piaa follows a square center crop after a shortest-edge resize; this "
                             f"processor has size {size}, crop {crop}")
        side = int(crop["height"])
        mode, crop_pct = "short_side_crop", side / float(size["shortest_edge"])
    else:
        if size.get("height") is not None and size.get("height") == size.get("width"):
            side = int(size["height"])
        else:
            raise InputError(f"{folder}: image processor size {size} is not a square piaa can follow")
        mode, crop_pct = "squash", 1.0
    return PretrainedCfg(input_size=side, mean=tuple(float(m) for m in mean), std=tuple(float(s) for s in std),
                         resize_mode=mode, crop_pct=crop_pct, interpolation=resample, weights=weights,
                         license="as published with the weights")


def _size_dict(size) -> dict:
    if size is None:
        return {}
    if isinstance(size, int):
        return {"height": size, "width": size}
    d = dict(size) if not hasattr(size, "__dict__") or isinstance(size, dict) else \
        {k: v for k, v in vars(size).items() if v is not None}
    return {k: v for k, v in d.items() if v is not None}


def _load_processor(folder: Path):
    """The folder's own image processor; without ``preprocessor_config.json`` (a model saved alone), the
    published processor of its family at the model's image size, with a warning that says so."""
    import warnings

    from transformers import AutoImageProcessor

    if not (folder / "preprocessor_config.json").is_file():
        return _family_processor(folder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return AutoImageProcessor.from_pretrained(str(folder), local_files_only=True, backend="pil")


def _family_processor(folder: Path):
    import warnings

    import transformers

    from piaa.backbones.vit import family_of
    from piaa.errors import PiaaWarning

    family = family_of(model_type(folder))
    cfg = transformers.AutoConfig.from_pretrained(str(folder), local_files_only=True)
    cfg = getattr(cfg, "vision_config", None) or cfg
    side = int(getattr(cfg, "image_size", 224))
    if family == "clip":
        proc = transformers.CLIPImageProcessorPil(size={"shortest_edge": side},
                                                  crop_size={"height": side, "width": side})
    elif family == "siglip":
        proc = transformers.SiglipImageProcessorPil(size={"height": side, "width": side})
    elif family == "vit":
        proc = transformers.ViTImageProcessorPil(size={"height": side, "width": side})
    else:  # DINOv2 interpolates its position embeddings; its published processor: 256 -> center crop 224
        proc = transformers.BitImageProcessorPil(size={"shortest_edge": 256}, crop_size={"height": 224, "width": 224},
                                                 resample=3, do_center_crop=True,
                                                 image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225])
    crop = proc.crop_size["height"] if getattr(proc, "do_center_crop", False) else side
    warnings.warn(f"{folder}: no preprocessor_config.json; using the published {family} image processor at {crop} px "
                  f"(save the model's own beside it with processor.save_pretrained(folder))", PiaaWarning,
                  stacklevel=3)
    return proc


# ---- identity ----------------------------------------------------------------------------------------------------
_DIGESTS: Dict[tuple, str] = {}


def folder_digest(folder: Path) -> str:
    """Hash of config.json, preprocessor_config.json and every weights file (memoized per size + mtime)."""
    files = sorted(p for p in folder.iterdir()
                   if p.name in ("config.json", "preprocessor_config.json") or p.name.endswith(WEIGHT_SUFFIXES))
    stamp = tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    key = (str(folder), stamp)
    if key not in _DIGESTS:
        h = hashlib.blake2b(digest_size=12)
        for p in files:
            h.update(p.name.encode())
            with open(p, "rb") as f:
                for block in iter(lambda: f.read(1 << 22), b""):
                    h.update(block)
        _DIGESTS[key] = h.hexdigest()
    return _DIGESTS[key]


def model_type(folder: Path) -> str:
    try:
        return str(json.loads((folder / "config.json").read_text(encoding="utf-8"))["model_type"])
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"{folder}/config.json: no model_type ({exc})") from None


# ---- registry entries ----------------------------------------------------------------------------------------------
_ENTRIES: Dict[str, object] = {}
_LOCK = threading.Lock()


def hf_entry(spec: str):
    """The :class:`BackboneEntry` of an ``hf:`` spec, built on first use (one per spec and weights state)."""
    from piaa.backbones.registry import BackboneEntry
    from piaa.backbones.vit import build_vit, family_of

    spec = spec.strip()
    folder, _ = locate(spec)
    _require_transformers()
    kind = model_type(folder)
    family_of(kind)  # unsupported model types fail here, before anything loads
    weights = f"{spec} ({kind}, files {folder_digest(folder)})"
    with _LOCK:
        entry = _ENTRIES.get(spec)
        if entry is None or entry.cfg.weights != weights:
            cfg = processor_cfg(folder, weights)

            def build(folder=folder, kind=kind):
                return build_vit(str(folder), kind)

            entry = BackboneEntry(spec, build, cfg, f"{kind} vision transformer from {folder}", tags=("torch-only",))
            _ENTRIES[spec] = entry
        return entry
