"""CPU cost per photo of common vision transformers through ``hf:DIR``, against EfficientNet-Lite0 in the same run.

    flock /tmp/piaa-heavy.lock nice .venv/bin/python bench/hf_backbones.py [--photos N] [--repeats R] [--out JSON]

Each model is built with random weights from its published configuration (hidden size, depth, heads, MLP width,
patch size; the image processor of the published checkpoint) and written with ``save_pretrained`` to a temporary
folder, then loaded back through ``hf:DIR`` -- the cost of a forward pass does not depend on the weights' values,
so the numbers hold for the real checkpoints (accuracy does not: docs/backbones.md). Timed: ``FeatureExtractor``
with no cache on ``--photos`` JPEGs of 640x480 (decode + the processor's resize/crop + the network), best of
``--repeats``, pooled features at 224 px, eager torch on the CPU; Lite0 runs its default engine (ONNX Runtime)
and eager torch. Results go to docs/backbones.md.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

# name: (config class, model class, config kwargs, processor class, processor kwargs) -- published values
CLIP_MEAN, CLIP_STD = [0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711]
IMNET_MEAN, IMNET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
MODELS = {
    "ViT-B/16 (google/vit-base-patch16-224)": (
        "ViTConfig", "ViTModel", dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                                      intermediate_size=3072, patch_size=16, image_size=224),
        "vit.image_processing_pil_vit.ViTImageProcessorPil",
        dict(size={"height": 224, "width": 224}, image_mean=[0.5] * 3, image_std=[0.5] * 3)),
    "CLIP ViT-B/32 (openai/clip-vit-base-patch32)": (
        "CLIPVisionConfig", "CLIPVisionModel", dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                                                    intermediate_size=3072, patch_size=32, image_size=224),
        "clip.image_processing_pil_clip.CLIPImageProcessorPil",
        dict(size={"shortest_edge": 224}, crop_size={"height": 224, "width": 224})),
    "CLIP ViT-L/14 (openai/clip-vit-large-patch14)": (
        "CLIPVisionConfig", "CLIPVisionModel", dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                                                    intermediate_size=4096, patch_size=14, image_size=224),
        "clip.image_processing_pil_clip.CLIPImageProcessorPil",
        dict(size={"shortest_edge": 224}, crop_size={"height": 224, "width": 224})),
    "DINOv2-S/14 (facebook/dinov2-small)": None,   # filled below: the two differ in width only
    "DINOv2-B/14 (facebook/dinov2-base)": None,
    "SigLIP-B/16 (google/siglip-base-patch16-224)": (
        "SiglipVisionConfig", "SiglipVisionModel", dict(hidden_size=768, num_hidden_layers=12,
                                                        num_attention_heads=12, intermediate_size=3072,
                                                        patch_size=16, image_size=224),
        "siglip.image_processing_pil_siglip.SiglipImageProcessorPil",
        dict(size={"height": 224, "width": 224}, image_mean=[0.5] * 3, image_std=[0.5] * 3)),
}




def _dinov2(hidden: int, heads: int):
    return ("Dinov2Config", "Dinov2Model", dict(hidden_size=hidden, num_hidden_layers=12, num_attention_heads=heads,
                                                mlp_ratio=4, patch_size=14, image_size=518),
            "bit.image_processing_pil_bit.BitImageProcessorPil",
            dict(size={"shortest_edge": 256}, crop_size={"height": 224, "width": 224}, resample=3,
                 do_center_crop=True, image_mean=IMNET_MEAN, image_std=IMNET_STD))


MODELS["DINOv2-S/14 (facebook/dinov2-small)"] = _dinov2(384, 6)
MODELS["DINOv2-B/14 (facebook/dinov2-base)"] = _dinov2(768, 12)


def save_random(folder: Path, spec) -> int:
    """Write a random-weight model of the published shape and its processor; returns the parameter count."""
    import importlib

    import torch
    import transformers

    cfg_cls, model_cls, cfg_kw, proc_path, proc_kw = spec
    torch.manual_seed(0)
    model = getattr(transformers, model_cls)(getattr(transformers, cfg_cls)(**cfg_kw))
    model.save_pretrained(folder)
    mod, cls = proc_path.rsplit(".", 1)
    getattr(importlib.import_module(f"transformers.models.{mod}"), cls)(**proc_kw).save_pretrained(folder)
    return sum(p.numel() for p in model.parameters())


def photos(folder: Path, n: int):
    from PIL import Image

    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        yy, xx = np.mgrid[0:480, 0:640]
        base = np.stack([np.sin(xx / (9 + i)), np.cos(yy / (7 + i)), np.sin((xx + yy) / 13)], -1)
        img = np.clip(128 + 90 * base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
        p = folder / f"p{i:03d}.jpg"
        Image.fromarray(img).save(p, quality=90)
        out.append(p)
    return out


def seconds_per_photo(backbone: str, paths, engine: str, repeats: int) -> tuple:
    from piaa.features import FeatureExtractor

    ex = FeatureExtractor(backbone, "pooled", cache=None, engine=engine)
    ex.extract(paths[:2])  # build the engine (load, export) outside the timing
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        res = ex.extract(paths)
        best = min(best, time.perf_counter() - t)
    assert not res.errors and np.isfinite(res.features).all()
    return best / len(paths), ex.engine.name, int(res.features.shape[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--out", default=None, help="also write the JSON here")
    args = ap.parse_args()
    import torch

    rows = []
    with tempfile.TemporaryDirectory(prefix="hf-bench-") as tmp:
        tmp = Path(tmp)
        (tmp / "photos").mkdir()
        paths = photos(tmp / "photos", args.photos)
        for engine in ("auto", "torch"):
            s, name, dim = seconds_per_photo("efficientnet_lite0", paths, engine, args.repeats)
            rows.append({"model": f"EfficientNet-Lite0 ({name})", "params_M": 4.7, "ms_per_photo": 1000 * s,
                         "dim": dim})
        lite_torch = rows[-1]["ms_per_photo"]
        for label, spec in MODELS.items():
            folder = tmp / f"m{len(rows)}"
            n_params = save_random(folder, spec)
            s, name, dim = seconds_per_photo(f"hf:{folder}", paths, "auto", args.repeats)
            rows.append({"model": label, "params_M": round(n_params / 1e6, 1), "ms_per_photo": 1000 * s,
                         "dim": dim, "engine": name})
            import shutil

            shutil.rmtree(folder)
    lite_default = rows[0]["ms_per_photo"]
    for r in rows:
        r["x_lite0_default"] = round(r["ms_per_photo"] / lite_default, 2)
        r["x_lite0_torch"] = round(r["ms_per_photo"] / lite_torch, 2)
        r["ms_per_photo"] = round(r["ms_per_photo"], 1)
    out = {"photos": args.photos, "repeats": args.repeats, "torch_threads": torch.get_num_threads(),
           "size": "640x480 JPEG -> 224 px", "variant": "pooled", "rows": rows}
    text = json.dumps(out, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
