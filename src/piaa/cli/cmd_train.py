"""``piaa train default|pa-iaa|taste-prior``: rebuild the shipped assets (see ``piaa.catalogue``) from the OASIS data.

The builders live in :mod:`piaa.training`; each asset's catalogue row names the command that rebuilds it."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from piaa.catalogue import DEFAULT_BACKBONE, DEFAULT_VARIANT
from piaa.cli.options import add_device


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


PHOTO_QUALITY_MODEL = "biq2021-quality-lite0"  # the photos-only model (BIQ2021), kept beside the joint one


def register(subparsers):
    from piaa.catalogue import default_asset

    p = subparsers.add_parser("train", help="rebuild the shipped models (scoring model, PA_IAA network, taste prior)")
    sub = p.add_subparsers(dest="train_command", metavar="MODEL")
    d = sub.add_parser("default", aliases=["default-model"], help="train the generic default scoring model",
                       description="Train the generic scoring model on all OASIS images (OASIS-beauty ratings).",
                       epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    d.add_argument("--output", "-o", default=str(default_asset("scorer").path),
                   help="model file to write (default: the package's default model file)")
    d.add_argument("--quiet", "-q", action="store_true", help="no progress bars (shown only on a terminal anyway)")
    d.add_argument("--name", default=default_asset("scorer").name,
                   help=f"model name (default {default_asset('scorer').name})")
    d.add_argument("--backbone", default=DEFAULT_BACKBONE,
                   help="backbone, or several joined by '+' whose features are concatenated")
    d.add_argument("--variant", default=DEFAULT_VARIANT)
    d.add_argument("--head", action="append", metavar="KEY=VALUE", default=[],
                   help="GenericHead option (repeatable), e.g. n_models=3")
    d.add_argument("--no-select", action="store_true", help="skip CV option selection")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--data", default=None, help="shared data folder (default ../shared/data)")
    add_device(d)
    d.set_defaults(func=run_default)
    from piaa.models.scorer import JOINT_QUALITY_MODEL, NATIVE_QUALITY_MODEL

    q = sub.add_parser("quality", help="train the photo-quality scoring model on BIQ2021 train.csv",
                       description="Train the technical photo-quality model (0-1) on the 4,000 BIQ2021 training "
                                   "photos (GenericHead MLP or ridge on multilevel features); the 5-fold CV "
                                   "accuracy (stratified by subset) goes into the model record.")
    q.add_argument("--output", "-o", default=None,
                   help="model file to write (default: the package's file of the model named by --name)")
    q.add_argument("--name", default=None, help=f"model name (default {PHOTO_QUALITY_MODEL} with --databases "
                                                 f"biq2021, {JOINT_QUALITY_MODEL} with biq2021,agiqa3k, "
                                                 f"{NATIVE_QUALITY_MODEL} with --native; the shipped 'quality' "
                                                 "is named in `piaa models`)")
    q.add_argument("--backbone", default="efficientnet_lite0",
                   help="backbone (hf:REPO_OR_DIR too), or several joined by '+' whose features are concatenated")
    q.add_argument("--variant", default="multilevel")
    q.add_argument("--head", choices=["mlp", "ridge"], default="mlp",
                   help="mlp (GenericHead, the shipped recipe) or ridge (strength by leave-one-out)")
    q.add_argument("--log-features", action="store_true", help="ridge on log1p of the features")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--data", default=None, help="BIQ2021 folder (default ../shared/data/biq2021)")
    q.add_argument("--databases", default="biq2021",
                   help="biq2021 (photos only) or biq2021,agiqa3k (photos and generated images, validated on "
                        "held-out parts; --data is then the shared data folder)")
    add_device(q)
    q.add_argument("--native", action="store_true",
                   help="with --databases biq2021,agiqa3k: also read five native-resolution crops and BRISQUE "
                        "statistics of each image (quality v2, the shipped 'quality')")
    q.add_argument("--components", default=None,
                   help="with --native: principal components of the MLP head, or several joined by ',' to "
                        "choose from on the val parts (default 256, v1's)")
    q.add_argument("--targets", default="mos",
                   help="with --native: target mode(s) to choose from on the val parts, joined by ',': mos (each "
                        "database's MOS as published) and/or z (standardised per database)")
    q.add_argument("--rank-pairs", action="store_true",
                   help="with --native: also learn from blurred, noisy, recompressed and upscaled copies of the "
                        "best training images, each rated below its source (the step is chosen on the val parts)")
    q.add_argument("--work-dir", default=None,
                   help="with --rank-pairs: folder for the degraded copies (default: piaa's user data folder)")
    q.set_defaults(func=run_quality)

    n = sub.add_parser("pa-iaa", help="train the shipped PA_IAA network (pa-iaa personalizer)",
                       description="Train the PA_IAA multi-task network on all OASIS-beauty images, ratings and "
                                   "rater traits (cached-heads settings, docs/pa_iaa.md).")
    n.add_argument("--output", "-o", type=Path, default=default_asset("pa-iaa-network").path)
    n.add_argument("--data", type=Path, default=None, help="shared data folder holding oasis-beauty/")
    n.add_argument("--variant", default=None, choices=["pooled", "multilevel"],
                   help="feature variant (default: the catalogue's default, multilevel)")
    n.add_argument("--hidden", default="1024,512", help="hidden sizes of both heads (paper: 1024,512)")
    n.add_argument("--dtype", default="int8", choices=["int8", "float16", "float32"],
                   help="weight storage: int8 (per-row scales; default, ~7 MB), float16 (~14 MB) or float32")
    n.set_defaults(func=run_pa_iaa)

    t = sub.add_parser("taste-prior", help="build the shipped taste prior (probe-prior personalizer)",
                       description="Build the population taste prior from all OASIS-beauty raters.")
    t.add_argument("--output", "-o", type=Path, default=default_asset("taste-prior").path)
    t.add_argument("--data", type=Path, default=None, help="shared data folder holding oasis-beauty/")
    t.add_argument("--alpha", type=float, default=None,
                   help="each rater's ridge strength relative to the mean squared feature norm (default 0.5)")
    t.set_defaults(func=run_taste_prior)
    from piaa.cli.cmd_train_trunk import register_trunk_command

    register_trunk_command(sub)
    _register_beauty(sub)
    p.set_defaults(func=lambda a: p.print_help() or 2)


_BEAUTY_EPILOG = """\
example:
  piaa train beauty --ratings club.csv --images ~/club-photos --output club.npz
  piaa score ~/new-photos --model club.npz                  # score with the group's model
  piaa profile create ann --ratings ann.csv --base club.npz # a member's profile on top of it

The CSV has columns user,image,rating (score also accepted), image relative to --images. The model learns each
photo's distribution of the group's ratings (head options by 3-fold cross-validation over the photos) and, when
at least two members rated 10 photos, stores the group's taste prior in the same file.
"""


def _register_beauty(sub) -> None:
    b = sub.add_parser("beauty", help="train a group's own beauty model from several people's ratings",
                       description="Train a scoring model from the ratings of several people (a club, a family, a "
                                   "team) of the same photos.",
                       epilog=_BEAUTY_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    b.add_argument("--ratings", required=True, metavar="CLUB.csv", help="CSV with columns user,image,rating")
    b.add_argument("--images", metavar="DIR", default=None, help="folder the image paths are relative to "
                                                                 "(default: the CSV's folder)")
    b.add_argument("--output", "-o", required=True, type=Path, metavar="MODEL.npz", help="model file to write")
    b.add_argument("--name", default=None, help="model name (default: the output file's name)")
    b.add_argument("--scale", nargs=2, type=float, metavar=("MIN", "MAX"), default=None,
                   help="the rating scale (default: the integer range of the ratings)")
    b.add_argument("--no-select", action="store_true", help="skip the cross-validated choice of head options")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--backbone", default=DEFAULT_BACKBONE,
                   help=f"backbone (default {DEFAULT_BACKBONE}), or hf:REPO_OR_DIR for a transformers vision "
                        f"model (docs/backbones.md)")
    b.add_argument("--variant", default=DEFAULT_VARIANT, help=f"feature variant (default {DEFAULT_VARIANT})")
    b.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    add_device(b)
    b.set_defaults(func=run_beauty)


def run_beauty(args) -> int:
    from piaa.cli.output import checked_output
    from piaa.backbones.hf import canonical_spec
    from piaa.training.group_model import train_group_model

    problem = checked_output(args.output, allow_stream=False)[1]
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    out = train_group_model(args.ratings, args.images, args.output, name=args.name, scale=args.scale,
                            select=not args.no_select, seed=args.seed, backbone=canonical_spec(args.backbone),
                            variant=args.variant, progress=not args.quiet and sys.stderr.isatty())
    print(json.dumps(out, indent=2, default=str))
    return 0


def run_default(args) -> int:
    from piaa.cli.cmd_bench import parse_head_options
    from piaa.training.default_model import train_default_model
    from piaa.models.giaa import DEFAULT_GRID

    head = parse_head_options(args.head)
    out = train_default_model(args.output, backbone=args.backbone, variant=args.variant, head_options=head,
                              grid=None if args.no_select else DEFAULT_GRID, seed=args.seed, name=args.name,
                              data_dir=args.data, progress=not getattr(args, "quiet", False) and sys.stderr.isatty())
    print(json.dumps(out, indent=2, default=str))
    return 0


def run_quality(args) -> int:
    from piaa.training.quality_model import train_quality_model

    from piaa.models.scorer import ASSET_DIR, JOINT_QUALITY_MODEL, NATIVE_QUALITY_MODEL

    backbones = [b for b in args.backbone.replace(",", "+").split("+") if b]
    joint = getattr(args, "databases", "biq2021") != "biq2021"
    native = bool(getattr(args, "native", False))
    ranked = bool(getattr(args, "rank_pairs", False))
    if ranked and not native:
        from piaa.errors import InputError

        raise InputError("--rank-pairs needs --native (it adds ranking evidence to quality v2)")
    if native and not joint:
        from piaa.errors import InputError

        raise InputError("--native needs --databases biq2021,agiqa3k (quality v2 is the joint model)")
    from piaa.training.quality_ranking import RANKED_QUALITY_MODEL

    args.name = args.name or (RANKED_QUALITY_MODEL if ranked else NATIVE_QUALITY_MODEL if native
                              else JOINT_QUALITY_MODEL if joint else PHOTO_QUALITY_MODEL)
    args.output = args.output or str(ASSET_DIR / f"{args.name}.npz")
    if joint:
        return _run_joint_quality(args, backbones)
    out = train_quality_model(args.output, backbones, args.variant, head_kind=args.head,
                              log_features=args.log_features,
                              seed=args.seed, name=args.name, data_dir=args.data, progress=sys.stderr.isatty())
    print(json.dumps(out, indent=2, default=str))
    return 0


def _run_joint_quality(args, backbones) -> int:
    from piaa.errors import InputError
    from piaa.training.quality_joint import DATABASES, train_joint_quality_model

    if sorted(d.strip() for d in args.databases.split(",")) != sorted(DATABASES):
        raise InputError(f"--databases: use biq2021 or {','.join(DATABASES)}, not {args.databases!r}")
    if getattr(args, "rank_pairs", False):
        from piaa.training.quality_ranking import train_ranked_quality_model

        out = train_ranked_quality_model(Path(args.output), backbones, args.variant, seed=args.seed, name=args.name,
                                         data_dir=Path(args.data) if args.data else None,
                                         work_dir=Path(args.work_dir) if args.work_dir else None,
                                         progress=sys.stderr.isatty())
        print(json.dumps(out, indent=2, default=str))
        return 0
    if getattr(args, "native", False):
        from piaa.training.quality_native import train_native_quality_model

        out = train_native_quality_model(Path(args.output), backbones, args.variant, seed=args.seed, name=args.name,
                                         data_dir=Path(args.data) if args.data else None,
                                         progress=sys.stderr.isatty(),
                                         components=_components(args.components),
                                         targets=_targets(args.targets))
        print(json.dumps(out, indent=2, default=str))
        return 0
    out = train_joint_quality_model(Path(args.output), backbones, args.variant, seed=args.seed, name=args.name,
                                    data_dir=Path(args.data) if args.data else None, progress=sys.stderr.isatty())
    print(json.dumps(out, indent=2, default=str))
    return 0


def _components(arg) -> tuple:
    from piaa.errors import InputError

    if not arg:
        return (None,)
    try:
        out = tuple(int(c) for c in str(arg).split(",") if c.strip())
    except ValueError:
        raise InputError(f"--components: whole numbers joined by ',', not {arg!r}") from None
    if not out or min(out) < 1:
        raise InputError(f"--components: positive whole numbers, not {arg!r}")
    return out


def _targets(arg) -> tuple:
    from piaa.errors import InputError
    from piaa.training.quality_native import TARGET_MODES

    out = tuple(t.strip() for t in str(arg or "mos").split(",") if t.strip())
    bad = [t for t in out if t not in TARGET_MODES]
    if not out or bad:
        raise InputError(f"--targets: choose among {', '.join(TARGET_MODES)}, not {arg!r}")
    return out


def _data_dir(arg):
    from piaa.paths import shared_data_dir

    return Path(arg) if arg else shared_data_dir()


def run_pa_iaa(args) -> int:
    from piaa.catalogue import DEFAULT_VARIANT
    from piaa.training.pa_iaa_network import build_pa_iaa_network

    info = build_pa_iaa_network(_data_dir(args.data), Path(args.output), args.variant or DEFAULT_VARIANT,
                                [int(h) for h in args.hidden.split(",") if h], args.dtype)
    print(json.dumps(info, indent=1))
    return 0


def run_taste_prior(args) -> int:
    from piaa.personalize.prior_probe import DEFAULT_RATER_ALPHA
    from piaa.training.taste_prior import build_taste_prior

    alpha = DEFAULT_RATER_ALPHA if args.alpha is None else args.alpha
    print(json.dumps(build_taste_prior(_data_dir(args.data), Path(args.output), alpha), indent=1))
    return 0
