"""``piaa bench giaa|quality|speed``: GIAA on OASIS beauty, the photo-quality CV on BIQ2021, throughput."""
from __future__ import annotations

import argparse
import json
import shlex
import sys

from piaa.catalogue import DEFAULT_BACKBONE, DEFAULT_VARIANT
from piaa.cli.options import fail
from piaa.errors import InputError


_GIAA_EPILOG = """\
examples:
  piaa bench giaa                                          # lite0 multilevel, options by CV, 4 folds
  piaa bench giaa --backbone efficientnet_lite0,efficientnet_lite2 --output giaa_l0l2.json
  piaa bench giaa --no-select --head n_models=1            # the head's defaults, no option selection
  piaa bench giaa --speed --limit 300                      # plus the default model's throughput

Per fold: train on three OASIS image subsets, test on the fourth; the head's options are chosen by
leave-one-subset-out CV on the three training subsets only. Metrics: SROCC/PLCC of the expected score against
the mean beauty, ACC at the scale midpoint 4, EMD (r=2) between predicted and true rating distributions.
"""


def register(subparsers):
    p = subparsers.add_parser("bench", help="benchmarks: GIAA accuracy on OASIS, scoring throughput")
    sub = p.add_subparsers(dest="bench_command", metavar="BENCHMARK")
    g = sub.add_parser("giaa", help="4-fold generic aesthetics benchmark on OASIS beauty",
                       description="4-fold GIAA on OASIS beauty (../shared/data), per-fold and mean metrics.",
                       epilog=_GIAA_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    g.add_argument("--quiet", "-q", action="store_true", help="no progress bars (shown only on a terminal anyway)")
    g.add_argument("--backbone", default=DEFAULT_BACKBONE,
                   help="backbone name, or several joined by ',' whose features are concatenated")
    g.add_argument("--variant", default=DEFAULT_VARIANT, help="feature variant: multilevel (default) or pooled")
    g.add_argument("--head", action="append", metavar="KEY=VALUE", default=[],
                   help="GenericHead option, e.g. n_models=3, hidden=1024,512, loss=emd (repeatable)")
    g.add_argument("--no-select", action="store_true", help="skip CV option selection (use --head as given)")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--data", default=None, help="shared data folder (default ../shared/data or $PIAA_SHARED_DATA)")
    g.add_argument("--engine", default="auto", help="feature engine for uncached images")
    g.add_argument("--output", "-o", metavar="JSON", default=None, help="write the full report here")
    g.add_argument("--speed", action="store_true", help="also measure the default model's throughput")
    g.add_argument("--limit", type=int, default=0, help="with --speed: first N photos (0 = all 900)")
    g.add_argument("--trunk-config", default=None, metavar="TOML",
                   help="per fold, a trunk fine-tuned by this `piaa train trunk` config without the fold's photos "
                        "(cached per fold fingerprint) replaces --backbone")
    g.set_defaults(func=run_giaa)
    q = sub.add_parser("quality", help="photo-quality model: 5-fold CV on BIQ2021 train.csv",
                       description="5-fold CV of the photo-quality recipe on BIQ2021 train.csv (folds stratified "
                                   "by subset; ridge strength by leave-one-out on each training part): SROCC/PLCC "
                                   "per validation fold.",
                       epilog="examples:\n  piaa bench quality                              # lite0 multilevel, ridge\n"
                              "  piaa bench quality --backbone efficientnet_lite0,efficientnet_lite2\n"
                              "  piaa bench quality --head mlp --output q_mlp.json",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    q.add_argument("--backbone", default="efficientnet_lite0",
                   help="backbone name, or several joined by ',' whose features are concatenated")
    q.add_argument("--variant", default="multilevel", help="feature variant (default multilevel)")
    q.add_argument("--head", choices=["ridge", "mlp"], default="ridge",
                   help="ridge (strength by leave-one-out on each training part; the shipped recipe) or the "
                        "GenericHead MLP with fixed options")
    q.add_argument("--log-features", action="store_true", help="ridge on log1p of the features")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--data", default=None, help="BIQ2021 folder (default ../shared/data/biq2021)")
    q.add_argument("--engine", default="auto", help="feature engine for uncached images")
    q.add_argument("--output", "-o", metavar="JSON", default=None, help="write the full report here")
    q.set_defaults(func=run_quality)
    s = sub.add_parser("speed", help="end-to-end scoring throughput per engine (torch eager vs ONNX)",
                       description="Images/s of a scoring model (decode + resize + network + head, no cache) "
                                   "per engine, with max differences from eager torch.")
    s.add_argument("paths", nargs="*", help="photos or folders (default: the OASIS images)")
    s.add_argument("--model", default=None, help="scoring model (default: the default model)")
    s.add_argument("--engines", default="torch,onnx")
    s.add_argument("--limit", type=int, default=0, help="first N photos (0 = all)")
    s.add_argument("--repeats", type=int, default=1)
    s.add_argument("--output", "-o", metavar="JSON", default=None)
    s.set_defaults(func=run_speed)
    p.set_defaults(func=lambda a: p.print_help() or 2)


def parse_head_options(items) -> dict:
    """``KEY=VALUE`` strings -> GenericHead options (ints, floats, bools, None, comma lists as tuples)."""
    out = {}
    for it in items or []:
        if "=" not in it:
            raise InputError(f"--head expects KEY=VALUE, got {it!r}")
        k, v = it.split("=", 1)
        out[k.strip()] = _value(v.strip())
    return out


def _value(v: str):
    if "," in v:
        return tuple(_value(x) for x in v.split(",") if x)
    low = v.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    for cast in (int, float):
        try:
            return cast(v)
        except ValueError:
            pass
    return v


def _write(path, obj) -> None:
    from piaa.state import atomic_write_bytes

    atomic_write_bytes(path, (json.dumps(obj, indent=2) + "\n").encode("utf-8"))


def _paths(items, limit):
    from piaa.io.discovery import iter_image_files
    from piaa.paths import shared_data_dir

    paths = iter_image_files(items or [shared_data_dir() / "oasis" / "images"])
    return paths[:limit] if limit else paths


def run_giaa(args) -> int:
    from piaa.models.giaa import DEFAULT_GRID, GenericHead
    from piaa.bench.giaa import format_report, run_giaa_benchmark, speed_benchmark

    head = parse_head_options(args.head)
    GenericHead().set_params(**head)  # unknown options fail here, before minutes of work
    backbones = [b.strip() for b in args.backbone.split(",") if b.strip()]
    fold_backbones = None
    if getattr(args, "trunk_config", None):
        from pathlib import Path

        from piaa.bench.giaa_trunk import fold_trunks

        fold_backbones = fold_trunks(args.trunk_config, Path(args.data) if args.data else None)
    rep = run_giaa_benchmark(backbones, args.variant, head_options=head,
                             grid=None if args.no_select else DEFAULT_GRID,
                             seed=args.seed, data_dir=args.data, engine=args.engine,
                             progress=not getattr(args, "quiet", False) and sys.stderr.isatty(),
                             fold_backbones=fold_backbones)
    rep["command"] = "piaa " + shlex.join(sys.argv[1:]) if sys.argv[1:2] == ["bench"] else None
    print(format_report(rep))
    if args.speed:
        rep["speed"] = speed_benchmark(_paths([], args.limit))
        for name, row in rep["speed"]["engines"].items():
            print(f"speed {name:<6} {row['images_per_s']} images/s  max|diff| head {row.get('max_abs_diff_head')}")
    if args.output:
        _write(args.output, rep)
    return 0


def run_quality(args) -> int:
    from piaa.training.quality_model import format_quality_report, run_quality_benchmark

    backbones = [b.strip() for b in args.backbone.replace("+", ",").split(",") if b.strip()]
    rep = run_quality_benchmark(backbones, args.variant, head=args.head, log_features=args.log_features,
                                seed=args.seed, data_dir=args.data, engine=args.engine,
                                progress=sys.stderr.isatty())
    rep["command"] = "piaa " + shlex.join(sys.argv[1:]) if sys.argv[1:2] == ["bench"] else None
    print(format_quality_report(rep))
    if args.output:
        _write(args.output, rep)
    return 0


def run_speed(args) -> int:
    from piaa.bench.giaa import speed_benchmark

    paths = _paths(args.paths, args.limit)
    if not paths:
        return fail("no photos to time")
    rep = speed_benchmark(paths, args.model, engines=tuple(args.engines.split(",")), repeats=args.repeats)
    text = json.dumps(rep, indent=2)
    print(text)
    if args.output:
        _write(args.output, rep)
    return 0
