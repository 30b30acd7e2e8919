"""End-to-end scoring throughput, torch eager vs ONNX Runtime, on the OASIS photos (prints JSON).

    .venv/bin/python bench/speed.py [--images DIR] [--limit N] [--repeats R] [--variant pooled] [--ort-threads N]
    .venv/bin/python bench/speed.py --stages --limit 200    # CPU cost of each stage, one thread

The head (and the feature variant) are the default GIAA model's when ``piaa.load_scorer()`` loads one for this
backbone, else a fixed random linear head on pooled features (so the head's cost and its agreement across
engines are still measured). Results go to
docs/benchmarks/speed.md.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Optional

import numpy as np

from piaa.bench.throughput import compare_engines, stage_costs
from piaa.io.discovery import iter_image_files
from piaa.paths import shared_data_dir


def default_head(backbone: str, variant: Optional[str]):
    """(head name, variant, features [n,d] -> scores [n]): the default GIAA model's head when it is installed
    and uses this backbone (and variant, if one was asked for), else a fixed random linear map."""
    try:
        from piaa import load_scorer

        scorer = load_scorer()
        if scorer.backbone == backbone and variant in (None, scorer.variant):
            return f"default model {scorer.name}", scorer.variant, scorer.score_features
    except Exception as exc:  # the default model is optional for this benchmark
        print(f"note: default model not used ({exc}); timing a random linear head", file=sys.stderr)
    rng = np.random.default_rng(0)
    w = None

    def linear(x):
        nonlocal w
        if w is None:
            w = rng.standard_normal(x.shape[1]) / np.sqrt(x.shape[1])
        return x @ w

    return "random linear head", variant or "pooled", linear


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", default=str(shared_data_dir() / "oasis" / "images"), help="folder of photos")
    ap.add_argument("--limit", type=int, default=0, help="use the first N photos (0: all)")
    ap.add_argument("--repeats", type=int, default=1, help="timed runs per engine (median is reported)")
    ap.add_argument("--backbone", default="efficientnet_lite0")
    ap.add_argument("--variant", default=None,
                    help="feature variant (default: the default model's, else pooled)")
    ap.add_argument("--engines", default="torch,onnx", help="comma-separated engine names")
    ap.add_argument("--ort-threads", type=int, default=0,
                    help="intra-op threads per ONNX Runtime call (default: all cores in one call); 1 runs one "
                         "single-threaded decode+network lane per core instead")
    ap.add_argument("--stages", action="store_true",
                    help="instead: CPU ms per image of decode / resize / normalize / network, one thread")
    args = ap.parse_args(argv)
    if args.ort_threads:
        os.environ["PIAA_ORT_THREADS"] = str(args.ort_threads)
    paths = iter_image_files(args.images)
    if args.limit:
        paths = paths[:args.limit]
    if args.stages:
        out = stage_costs(paths, backbone=args.backbone, variant=args.variant or "pooled",
                          engines=tuple(args.engines.split(",")))
        json.dump(out, sys.stdout, indent=2)
        print()
        return 0
    head_name, variant, head = default_head(args.backbone, args.variant)
    out = compare_engines(paths, backbone=args.backbone, variant=variant, head_fn=head,
                          engines=tuple(args.engines.split(",")), repeats=args.repeats)
    out["head_name"] = head_name
    out["images"] = args.images
    json.dump(out, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
