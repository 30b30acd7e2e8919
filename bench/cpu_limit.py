"""The machine's limit for the network: FLOPs per photo / measured float32 GEMM throughput (one core).

    .venv/bin/python bench/cpu_limit.py [--backbone efficientnet_lite0] [--variant multilevel]

FLOPs are counted on the eager network (2 x multiply-adds of every Conv2d / Linear at batch 1), the throughput is the best of several 1024x1024 float32 matrix products on
one thread (numpy's BLAS, which uses the same AVX-512/AVX2 FMA units ONNX Runtime's MLAS does). The ratio is
a lower bound on network CPU ms per photo: depthwise convolutions and pooling are memory-bound and never reach
GEMM speed, so a real network sits above it. Also measures the ONNX Runtime network alone on one thread
(batch 8) for comparison. Prints JSON.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np


def conv_flops(backbone: str, variant: str) -> dict:
    """2 x multiply-adds of every Conv2d / Linear of the eager network at batch 1 (forward hooks)."""
    import torch

    from piaa.backbones import create_backbone

    model = create_backbone(backbone)
    macs = {"conv_dense": 0, "conv_depthwise": 0, "gemm": 0}
    hooks = []

    def hook(mod, inp, out):
        if isinstance(mod, torch.nn.Conv2d):
            k = (mod.in_channels // mod.groups) * mod.kernel_size[0] * mod.kernel_size[1]
            macs["conv_depthwise" if mod.groups > 1 else "conv_dense"] += out[0].numel() * k
        else:
            macs["gemm"] += out[0].numel() * mod.in_features

    for m in model.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            hooks.append(m.register_forward_hook(hook))
    with torch.inference_mode():
        s = model.cfg.input_size
        model.forward_variant(torch.zeros(1, 3, s, s), variant)
    for h in hooks:
        h.remove()
    return {k: 2 * v for k, v in macs.items()}


def gemm_gflops(n: int = 1024, repeats: int = 7) -> float:
    from threadpoolctl import threadpool_limits

    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    b = np.random.default_rng(1).standard_normal((n, n)).astype(np.float32)
    best = float("inf")
    with threadpool_limits(1):
        a @ b
        for _ in range(repeats):
            c0 = time.process_time()
            a @ b
            best = min(best, time.process_time() - c0)
    return 2 * n ** 3 / best / 1e9


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backbone", default="efficientnet_lite0")
    ap.add_argument("--variant", default="multilevel")
    args = ap.parse_args(argv)
    from piaa.backbones import get_pretrained_cfg
    from piaa.features.engines import OnnxEngine, verification_batch

    eng = OnnxEngine(args.backbone, args.variant, intra_op_threads=1)
    flops = conv_flops(args.backbone, args.variant)
    total = sum(flops.values())
    gf = gemm_gflops()
    x = np.concatenate([verification_batch(get_pretrained_cfg(args.backbone))] * 2)[:8]
    eng(x)
    best = float("inf")
    for _ in range(5):
        c0 = time.process_time()
        eng(x)
        best = min(best, (time.process_time() - c0) / len(x))
    out = {"backbone": args.backbone, "variant": args.variant, "gflop_per_photo": round(total / 1e9, 3),
           "gflop_by_kind": {k: round(v / 1e9, 3) for k, v in flops.items()},
           "gemm_gflops_one_thread": round(gf, 1),
           "limit_network_ms_per_photo": round(1000 * total / 1e9 / gf, 2),
           "dense_only_limit_ms": round(1000 * (flops["conv_dense"] + flops["gemm"]) / 1e9 / gf, 2),
           "onnx_network_cpu_ms_per_photo_batch8": round(1000 * best, 2),
           "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime())}
    json.dump(out, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
