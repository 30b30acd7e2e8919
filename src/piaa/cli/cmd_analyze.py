"""``piaa analyze traits``: the PA_IAA paper's Table IV on OASIS — how each predicted trait relates to the
predicted generic score (SROCC over the images), next to the same relation in the real ratings."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from piaa.cli.options import fail



def register(subparsers):
    p = subparsers.add_parser("analyze", help="analyses of trained models (PA_IAA Table IV)")
    sub = p.add_subparsers(dest="analyze_command", metavar="ANALYSIS")
    t = sub.add_parser(
        "traits", formatter_class=argparse.RawDescriptionHelpFormatter,
        help="SROCC between predicted generic scores and each predicted trait (PA_IAA Table IV)",
        description="For every image, run the PA_IAA network: the generic score s_a and the five predicted traits "
                    "of people who like the image. Prints SROCC(s_a, trait) per trait over the images (the paper's "
                    "Table IV). With ratings (OASIS-beauty by default) it adds the same SROCC computed from the "
                    "real ratings: mean beauty vs the trait targets built from the raters' traits.",
        epilog="example:\n  piaa analyze traits --output traits.csv\n  piaa analyze traits --network file:my_net.npz "
               "--images DIR --no-ratings --format json")
    from piaa.paths import shared_data_dir  # not pa_iaa.build: --help must not import torch

    data = shared_data_dir()
    t.add_argument("--network", default=None,
                   help="network reference: default:NAME (shipped; default) or file:PATH (a saved PAIAANet .npz)")
    t.add_argument("--images", type=Path, default=data / "oasis" / "images", help="folder of images to score")
    t.add_argument("--ratings", type=Path, default=data / "oasis-beauty",
                   help="OASIS-beauty folder (ratings.csv + users.csv) for the real-data column")
    t.add_argument("--no-ratings", action="store_true", help="skip the real-data column")
    t.add_argument("--max-images", type=int, default=None, help="use only the first N images (sorted by name)")
    t.add_argument("--format", choices=["table", "csv", "json"], default="table", help="stdout format")
    t.add_argument("--output", type=Path, help="also write the result to FILE (.csv or .json by extension)")
    from piaa.cli.options import add_quiet

    add_quiet(t)
    t.set_defaults(func=run_traits)
    p.set_defaults(func=lambda a: p.print_help() or 2)


def traits_table(net, paths, ratings_dir=None, progress=False):
    """Rows ``{trait, srocc_pred, srocc_true, n_images}`` plus the number of images with features."""
    import numpy as np

    from piaa.metrics import srocc

    X, errors = net.extract_inputs(paths, progress=progress)
    out = net.predict_arrays(X)
    ok = np.isfinite(out["score"])
    names = net.config["second_names"]
    true = None
    if ratings_dir is not None:
        from piaa.data import load_dataset
        from piaa.models.pa_iaa.traits import trait_targets

        ds = load_dataset("oasis-beauty", ratings_dir)
        imgs = [Path(p).name for p in paths]
        means = ds.image_means().reindex(imgs).to_numpy()
        if net.config["second_kind"] == "traits":
            # the rater weighting the network's targets were built with (older networks: centered)
            weighting = (net.info.get("second") or {}).get("weighting", "centered")
            tt = trait_targets(ds.ratings, ds.users, names, images=imgs, weighting=weighting)
            true = (means, tt.targets.to_numpy())
    rows = []
    for j, name in enumerate(names):
        row = {"trait": name, "srocc_pred": float(srocc(out["score"][ok], out["second"][ok, j])),
               "n_images": int(ok.sum())}
        if true is not None:
            m, tgt = true
            sel = ok & np.isfinite(m)
            row["srocc_true"] = float(srocc(m[sel], tgt[sel, j])) if sel.sum() > 2 else float("nan")
        rows.append(row)
    return rows, errors


def run_traits(args) -> int:
    from piaa.io.discovery import iter_image_files
    from piaa.models.pa_iaa.default import resolve_network

    net = resolve_network(args.network)
    if not args.images.is_dir():
        return fail(f"{args.images}: not a folder of images")
    paths = sorted(iter_image_files(args.images))
    if args.max_images:
        paths = paths[: args.max_images]
    if len(paths) < 3:
        return fail(f"{args.images}: need at least 3 images, found {len(paths)}")
    ratings = None if args.no_ratings else args.ratings
    if ratings is not None and not (Path(ratings) / "ratings.csv").is_file():
        print(f"note: {ratings}/ratings.csv not found; the real-data column is skipped", file=sys.stderr)
        ratings = None
    rows, errors = traits_table(net, paths, ratings, progress=_progress(args))
    for i, msg in list(errors.items())[:5]:
        print(f"warning: {paths[i]}: {msg}", file=sys.stderr)
    result = {"network": getattr(net, "source", None), "images": str(args.images), "n_images": len(paths),
              "second_kind": net.config["second_kind"], "rows": rows}
    text = _render(result, args.format)
    print(text)
    if args.output:
        from piaa.state import atomic_write_bytes

        fmt = "json" if args.output.suffix.lower() == ".json" else "csv"
        atomic_write_bytes(args.output, _render(result, fmt).encode("utf-8"))
    return 0


def _render(result, fmt) -> str:
    rows = result["rows"]
    cols = ["trait", "srocc_pred"] + (["srocc_true"] if rows and "srocc_true" in rows[0] else []) + ["n_images"]
    if fmt == "json":
        return json.dumps(result, indent=1)
    if fmt == "csv":
        return "\n".join([",".join(cols)] + [",".join(_fmt(r[c]) for c in cols) for r in rows]) + "\n"
    head = {"trait": "trait", "srocc_pred": "SROCC(s_a, predicted)", "srocc_true": "SROCC(mean, targets)",
            "n_images": "images"}
    widths = {c: max(len(head[c]), *(len(_fmt(r[c])) for r in rows)) for c in cols}
    lines = ["  ".join(head[c].ljust(widths[c]) for c in cols), "  ".join("-" * widths[c] for c in cols)]
    lines += ["  ".join(_fmt(r[c]).ljust(widths[c]) for c in cols) for r in rows]
    lines.append(f"network {result['network']} on {result['n_images']} images of {result['images']}")
    return "\n".join(lines)


def _fmt(v) -> str:
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def _progress(args) -> bool:
    from piaa.cli.options import show_progress

    return show_progress(args)
