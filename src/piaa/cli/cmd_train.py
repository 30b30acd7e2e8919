"""``piaa train default``: (re)train the embedded default scoring model from the OASIS data."""
from __future__ import annotations

import argparse
import json
import sys

_EPILOG = """\
examples:
  piaa train default                          # writes src/piaa/assets/models/oasis-beauty-lite0.npz
  piaa bench giaa --head n_models=3 --output src/piaa/assets/models/oasis-beauty-lite0.bench.json
  piaa train default --backbone efficientnet_lite0+efficientnet_lite2 --name oasis-beauty-lite0-lite2 \\
      --output src/piaa/assets/models/oasis-beauty-lite0-lite2.npz       # the more accurate, slower model

Trains a GenericHead on ALL 900 OASIS images with the per-image distributions of the OASIS-beauty ratings;
head options are chosen by leave-one-subset-out CV over the four image subsets. The model file is a
pickle-free .npz (float16 weights when that moves no score by more than 1e-3). Held-out metrics of the same
recipe are the benchmark report saved beside it as <model>.bench.json (shown by `piaa models`).
"""


def register(subparsers):
    from piaa.models.scorer import ASSET_DIR, DEFAULT_MODEL

    p = subparsers.add_parser("train", help="train models (the embedded default scoring model)")
    sub = p.add_subparsers(dest="train_command", metavar="MODEL")
    d = sub.add_parser("default", aliases=["default-model"], help="train the generic default scoring model",
                       description="Train the generic scoring model on all OASIS images (OASIS-beauty ratings).",
                       epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    d.add_argument("--output", "-o", default=str(ASSET_DIR / f"{DEFAULT_MODEL}.npz"),
                   help="model file to write (default: the package's default model file)")
    d.add_argument("--name", default=DEFAULT_MODEL, help=f"model name (default {DEFAULT_MODEL})")
    d.add_argument("--backbone", default="efficientnet_lite0",
                   help="backbone, or several joined by '+' whose features are concatenated")
    d.add_argument("--variant", default="multilevel")
    d.add_argument("--head", action="append", metavar="KEY=VALUE", default=[],
                   help="GenericHead option (repeatable), e.g. n_models=3")
    d.add_argument("--no-select", action="store_true", help="skip CV option selection")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--data", default=None, help="shared data folder (default ../shared/data)")
    d.set_defaults(func=run_default)
    p.set_defaults(func=lambda a: p.print_help() or 2)


def run_default(args) -> int:
    from piaa.cli.cmd_bench import parse_head_options
    from piaa.training.default_model import train_default_model
    from piaa.models.giaa import DEFAULT_GRID

    try:
        head = parse_head_options(args.head)
        out = train_default_model(args.output, backbone=args.backbone, variant=args.variant, head_options=head,
                                  grid=None if args.no_select else DEFAULT_GRID, seed=args.seed, name=args.name,
                                  data_dir=args.data, progress=sys.stderr.isatty())
    except (FileNotFoundError, ValueError, KeyError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(out, indent=2, default=str))
    return 0
