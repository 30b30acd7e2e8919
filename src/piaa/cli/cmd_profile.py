"""``piaa profile create|list|show|delete|export|import|methods``: a person's taste, learned and kept."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from piaa.catalogue import DEFAULT_BACKBONE, DEFAULT_VARIANT
from piaa.errors import FileMissingError, InputError

_CREATE_EPILOG = """\
examples:
  piaa profile create anna --ratings anna.csv                 # CSV with columns image,rating
  piaa profile create anna --ratings anna.csv --images ~/Photos --scale 1 10
  piaa profile create anna --from-xmp ~/Photos/2024           # stars from Lightroom / darktable / digiKam

The CSV's image paths are relative to --images (default: the CSV's folder). Any numeric scale works; it is
stated with --scale or taken as the integer range of the ratings. From XMP: xmp:Rating 1-5 are stars, -1
(rejected) counts as the lowest, 0 is unrated and skipped; sidecars photo.ext.xmp and photo.xmp and XMP
embedded in JPEG/TIFF are read. At least 10 rated photos are needed (about 50 give a usable profile).

At creation the profile is tested honestly: k-fold cross-validation on your own ratings, compared with the
generic model on the same photos. A warning is printed when the profile is not better than the generic model.
"""


# the accuracy-first generic model of `profile create --accurate` (GIAA SROCC 0.800 vs 0.776, BENCHMARKS.md §1)
ACCURATE_GENERIC = "oasis-beauty-lite0-lite2"


def _store_arg(p):
    p.add_argument("--store", metavar="PATH", default=None,
                   help="profile store file (default: profiles.sqlite in the user data dir; PIAA_HOME moves it)")


def register(subparsers):
    p = subparsers.add_parser("profile", help="learn, inspect and share a person's taste (profiles)",
                              description="Profiles hold one person's taste, learned from their own ratings.")
    sub = p.add_subparsers(dest="profile_command", metavar="ACTION")

    c = sub.add_parser("create", help="learn a profile from a ratings CSV or XMP star ratings",
                       epilog=_CREATE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("name", help="profile name (e.g. your name)")
    src = c.add_mutually_exclusive_group(required=True)
    src.add_argument("--ratings", metavar="FILE.csv",
                     help="CSV with columns image,rating (any case; Filename and score also accepted; "
                          "',', ';' or tab separated)")
    src.add_argument("--from-xmp", metavar="FOLDER", help="read star ratings from XMP sidecars / embedded XMP")
    c.add_argument("--method", default=None,
                   help="personalization method: probe-prior, tv-probe, probe, pa-iaa or task-vectors (default: the best "
                        "installed; `piaa profile methods` lists them)")
    c.add_argument("--prior", metavar="PRIOR.npz", default=None,
                   help="probe-prior: a taste prior built from your own community's ratings with "
                        "`piaa profile prior` (default: the shipped OASIS prior)")
    c.add_argument("--accurate", action="store_true",
                   help="accuracy first: the Lite0+Lite2 generic model (oasis-beauty-lite0-lite2) under the profile "
                        "(GIAA 0.800 vs 0.776, about 2x the scoring time; for personal rankings no gain was measured "
                        "on validation people, BENCHMARKS.md §12e)")
    c.add_argument("--base", metavar="MODEL.npz", default=None,
                   help="a group's beauty model (`piaa train beauty`) to start from instead of the generic model; "
                        "its taste prior, when it holds one, becomes probe-prior's prior")
    c.add_argument("--images", metavar="ROOT", default=None, help="folder the CSV's image paths are relative to")
    c.add_argument("--scale", nargs=2, type=float, metavar=("MIN", "MAX"), default=None,
                   help="the rating scale (default: integer range of the ratings)")
    c.add_argument("--user", default=None, help="when the CSV has a user column with several people: whose ratings")
    c.add_argument("--image-column", default="image", metavar="NAME",
                   help="--ratings: the column of image paths (default image; Filename, file, path also found)")
    c.add_argument("--rating-column", default="rating", metavar="NAME",
                   help="--ratings: the column of ratings (default rating; score, stars also found)")
    c.add_argument("--duplicates", choices=["error", "mean", "first", "last"], default="error",
                   help="--ratings: a photo rated on several rows is an error (default), or their mean, the first "
                        "or the last")
    c.add_argument("--no-recursive", action="store_true", help="--from-xmp: do not look into sub-folders")
    c.add_argument("--folds", type=int, default=5, help="folds of the self-assessment (default 5)")
    c.add_argument("--no-assess", action="store_true", help="skip the cross-validated self-assessment")
    c.add_argument("--overwrite", action="store_true", help="replace an existing profile of the same name")
    c.add_argument("--format", choices=["text", "json"], default="text")
    from piaa.cli.options import add_quiet

    add_quiet(c)
    _store_arg(c)
    c.set_defaults(func=run_create)

    ls = sub.add_parser("list", help="list the stored profiles")
    ls.add_argument("--format", choices=["text", "json"], default="text")
    _store_arg(ls)
    ls.set_defaults(func=run_list)

    sh = sub.add_parser("show", help="explain a profile's taste in words and numbers")
    sh.add_argument("name")
    sh.add_argument("--format", choices=["text", "json"], default="text")
    _store_arg(sh)
    sh.set_defaults(func=run_show)

    de = sub.add_parser("delete", help="delete a profile")
    de.add_argument("name")
    _store_arg(de)
    de.set_defaults(func=run_delete)

    ex = sub.add_parser("export", help="write a profile as JSON (arrays base64, no pickle)")
    ex.add_argument("name")
    ex.add_argument("-o", "--output", metavar="FILE", default=None, help="file to write (default: stdout)")
    ex.add_argument("--without-ratings", action="store_true",
                    help="share the taste only: leave out your rated photos, their paths and scores")
    _store_arg(ex)
    ex.set_defaults(func=run_export)

    im = sub.add_parser("import", help="add a profile from an exported JSON file")
    im.add_argument("file", help="JSON file written by `piaa profile export` ('-' for stdin)")
    im.add_argument("--name", default=None, help="store it under another name")
    im.add_argument("--overwrite", action="store_true", help="replace an existing profile of the same name")
    _store_arg(im)
    im.set_defaults(func=run_import)

    pr = sub.add_parser("prior", help="build a taste prior for probe-prior from many people's ratings",
                        description="Learn which image directions people's tastes differ along from a ratings CSV "
                                    "of many people (user,image,rating); use it with `piaa profile create "
                                    "--prior FILE`. Each person needs at least 10 ratings, and images need at "
                                    "least two raters.",
                        epilog="example:\n  piaa profile prior --ratings club.csv --images ~/club-photos "
                               "--output club_prior.npz",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    pr.add_argument("--ratings", metavar="FILE.csv", required=True, help="CSV with columns user,image,rating")
    pr.add_argument("--images", metavar="ROOT", default=None, help="folder the image paths are relative to "
                                                                   "(default: the CSV's folder)")
    pr.add_argument("--output", "-o", metavar="PRIOR.npz", required=True, type=Path, help="where to write the prior")
    pr.add_argument("--alpha", type=float, default=None, help="each rater's relative ridge strength (default 0.5)")
    from piaa.cli.options import add_quiet

    add_quiet(pr)
    pr.set_defaults(func=run_prior)

    me = sub.add_parser("methods", help="list the personalization methods installed")
    me.set_defaults(func=run_methods)
    from piaa.cli import cmd_profile_active  # suggest, rate (active learning)

    cmd_profile_active.register(sub, _store_arg)
    p.set_defaults(func=lambda a: p.print_help() or 2)


def _base_model(args):
    """(scorer, probe-prior params or None) of ``--base MODEL.npz``: the group's model, named by its path so the
    stored profile finds it again, and its taste prior when the file holds one."""
    from piaa.models.scorer import model_info
    from piaa.profiles.generic import load_generic

    path = Path(args.base).expanduser()
    if not path.is_file():
        raise FileMissingError(f"base model not found: {path}")
    if args.accurate:
        raise InputError("--base and --accurate both choose the model the profile starts from; give one")
    path = path.resolve()
    try:
        scorer = load_generic(str(path))
    except RuntimeError as exc:
        raise InputError(f"--base {path}: {exc}") from None
    scorer.name = str(path)
    has_prior = bool(model_info(str(path)).get("taste_prior"))
    # the prior lives in the model's feature space: its backbone (an hf: one, say) and variant come with it
    prior = {"prior": f"file:{path}", "backbone": scorer.backbone, "variant": scorer.variant}
    return scorer, (prior if has_prior else None)


def _err(msg: str) -> int:
    from piaa.cli.options import fail  # the one CLI error helper

    return fail(msg)


def _store(args):
    from piaa.profiles.store import ProfileStore

    return ProfileStore(args.store)


# ---- create ------------------------------------------------------------------------------------------------------
def run_create(args) -> int:
    from piaa.cli.options import show_progress
    from piaa.profiles.assess import verdict
    from piaa.profiles.profile import Profile, default_candidates, resolve_method
    from piaa.profiles.ratings_import import CLI_OPTIONS, ratings_from_csv, ratings_from_xmp
    from piaa.profiles.store import check_name

    args.name = check_name(args.name)  # before any work: the name goes into sidecars and terminals
    store = _store(args)
    if store.exists(args.name) and not args.overwrite:
        return _err(f"a profile named {args.name!r} already exists in {store.path} "
                    "(use --overwrite, or `piaa profile delete` first)")
    methods = [resolve_method(args.method)] if args.method else default_candidates()
    params = None
    if args.prior:
        if args.method not in (None, "probe-prior"):
            return _err(f"--prior is for --method probe-prior, not {args.method!r}")
        prior = Path(args.prior).expanduser()
        if not prior.is_file():
            return _err(f"taste prior not found: {prior}")
        methods, params = ["probe-prior"], {"prior": f"file:{prior.resolve()}"}
    base = None
    if args.base:
        base, base_params = _base_model(args)
        if base_params and not args.prior and args.method in (None, "probe-prior"):
            methods, params = ["probe-prior"], base_params
    if args.ratings:
        rated = ratings_from_csv(args.ratings, images_root=args.images, scale=args.scale, user=args.user,
                                 image_col=args.image_column, score_col=args.rating_column,
                                 duplicates=args.duplicates, option_names=CLI_OPTIONS)
    else:
        if args.scale:
            print("note: --scale is ignored with --from-xmp (stars are 1-5, rejected = 0)", file=sys.stderr)
        rated = ratings_from_xmp(args.from_xmp, recursive=not args.no_recursive)
    for n in rated.notes:
        print(f"note: {n}", file=sys.stderr)
    how = methods[0] + (f" (else {', '.join(methods[1:])}, if its model files are missing)" if len(methods) > 1 else "")
    print(f"learning {args.name!r} with {how} from {len(rated)} ratings "
          f"(scale {rated.scale[0]:g}..{rated.scale[1]:g}) ...", file=sys.stderr)
    scorer = None
    if args.accurate:
        from piaa.profiles.generic import load_generic

        scorer = load_generic(ACCURATE_GENERIC)
    if base is not None:
        scorer = base
    prof = Profile.fit_first_usable(args.name, rated, methods, store=store, folds=args.folds, params=params,
                                    scorer=scorer, assess=not args.no_assess, overwrite=args.overwrite,
                                    progress=show_progress(args))
    for n in prof.meta.get("notes", [])[len(rated.notes):]:
        print(f"note: {n}", file=sys.stderr)
    if args.format == "json":
        print(json.dumps({"name": prof.name, "method": prof.method, "n_ratings": len(prof.ratings),
                          "scale": list(prof.scale), "store": str(store.path), "assessment": prof.assessment,
                          "notes": prof.meta.get("notes", [])}, indent=2))
    else:
        print(f"profile {prof.name!r} created: {prof.method}, {len(prof.ratings)} ratings "
              f"(scale {prof.scale[0]:g}..{prof.scale[1]:g}), stored in {store.path}")
        if prof.assessment:
            print(verdict(prof.assessment))
    a = prof.assessment or {}
    if args.format == "json" and a.get("better_than_generic") is False:
        print("warning: the profile is not better than the generic model on your own ratings", file=sys.stderr)
    return 0


def _methods():
    from piaa.profiles.profile import available_methods

    return available_methods()


# ---- list / show / delete -----------------------------------------------------------------------------------------
def run_prior(args) -> int:
    """Build a TastePrior from a community's ratings CSV."""
    import numpy as np

    from piaa.cli.options import show_progress

    from piaa.data.csv_reader import read_ratings_csv
    from piaa.features import FeatureExtractor
    from piaa.personalize.prior_probe import DEFAULT_RATER_ALPHA, TastePrior

    from piaa.cli.output import checked_output

    problem = checked_output(args.output, allow_stream=False)[1]  # before the feature extraction
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    csv = Path(args.ratings).expanduser()
    if not csv.is_file():
        return _err(f"ratings file not found: {csv}")
    root = Path(args.images).expanduser() if args.images else csv.parent
    if not root.is_dir():
        return _err(f"images folder {root} does not exist (or is not a folder)")
    ds = read_ratings_csv(csv, images_root=root)
    images = list(ds.image_ids)
    print(f"{ds.ratings['user'].nunique()} people, {len(images)} images, {len(ds.ratings)} ratings; "
          f"extracting features ...", file=sys.stderr)
    res = FeatureExtractor(DEFAULT_BACKBONE, DEFAULT_VARIANT, progress=show_progress(args)).extract(
        [root / i for i in images])
    for i, msg in sorted(res.errors.items())[:5]:
        print(f"note: skipped {images[i]}: {msg}", file=sys.stderr)
    X = np.asarray(res.features, dtype=np.float64)
    ok = np.isfinite(X).all(axis=1)
    row = {im: j for j, im in enumerate(im for im, k in zip(images, ok) if k)}
    r = ds.ratings[ds.ratings["image"].isin(row)].assign(image=lambda d: d["image"].map(row))
    prior = TastePrior.fit(X[ok], r, alpha=args.alpha if args.alpha is not None else DEFAULT_RATER_ALPHA,
                           meta={"data": str(csv), "backbone": DEFAULT_BACKBONE, "variant": DEFAULT_VARIANT,
                                 "built_by": "piaa profile prior"})
    prior.save(args.output)
    print(f"taste prior of {prior.meta['raters']} people over {prior.meta['images']} images written to "
          f"{args.output} (use: piaa profile create NAME --ratings mine.csv --prior {args.output})")
    return 0


def run_list(args) -> int:
    store = _store(args)
    rows = store.list()
    if args.format == "json":
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(f"no profiles in {store.path} (create one with `piaa profile create NAME --ratings FILE.csv`)")
        return 0
    print(f"{'name':<20} {'method':<14} {'ratings':>7}  {'self-assessment':<24} created")
    for r in rows:
        a = r.get("assessment") or {}
        sa = _pair(a)
        more = r["n_stored"] - r["n_ratings"]
        print(f"{r['name']:<20} {r['method']:<14} {r['n_ratings']:>7}  {sa:<24} {r['created']}"
              + (f"  ({more} more rating{'s' if more != 1 else ''} stored since the fit: refit to use them)"
                 if more > 0 else ""))
    return 0


def _pair(a) -> str:
    m, g = a.get("method_srocc"), a.get("generic_srocc")
    if m is None:
        return "-"
    return f"{m:.2f} vs generic {g:.2f}" if g is not None else f"{m:.2f}"


def run_show(args) -> int:
    from piaa.profiles.profile import MethodUnavailable, Profile

    store = _store(args)
    try:
        prof = Profile.load(args.name, store=store)
        info = prof.explain()
        _add_photo_taste(info, prof)
    except MethodUnavailable as exc:  # not an error here: still show what the store knows
        rec = store.load(args.name)
        info = {"name": rec["name"], "method": rec["method"], "n_ratings": len(rec["ratings"]),
                "scale": rec["meta"].get("scale"), "source": rec["meta"].get("source"),
                "assessment": rec["meta"].get("assessment"), "warning": str(exc)}
        prof = None
    if args.format == "json":
        print(json.dumps(info, indent=2, default=str))
        return 0
    print(describe_profile(info, prof.ratings if prof is not None else []))
    return 0


def _add_photo_taste(info: dict, prof) -> None:
    """The taste shown on the person's own photos (see piaa.profiles.explain.taste_in_photos); never fatal."""
    from piaa.errors import PiaaError
    from piaa.profiles.explain import taste_in_photos

    try:
        photos = taste_in_photos(prof)
    except PiaaError as exc:  # moved/unreadable photos etc.: part of the answer, show the rest
        info["your_photos_error"] = str(exc)
        return
    if photos:
        info["your_photos"] = photos


def _photo_list(items, with_shift: bool = True) -> str:
    return ", ".join(f"{Path(it['path']).name} ({it['your_rating']:g}"
                     + (f", {it['shift']:+.2f}" if with_shift and it.get("shift") is not None else "") + ")"
                     for it in items) or "-"


def describe_profile(info: dict, ratings) -> str:
    """Words and numbers: what was learned from what, how well it knows the person, and the taste itself."""
    from piaa.profiles.assess import verdict

    lines = [f"profile    {info['name']}", f"method     {info['method']}"]
    sc = info.get("scale") or [None, None]
    rs = info.get("ratings_summary") or {}
    src = info.get("source") or "?"
    lines.append(f"ratings    {info['n_ratings']} on a {sc[0]:g}..{sc[1]:g} scale"
                 + (f", mean {rs['mean']:g}" if rs else "") + f"  (from {src})")
    if info.get("generic_model"):
        lines.append(f"generic    {info['generic_model']}")
    a = info.get("assessment")
    lines.append("assessed   " + (verdict(a).replace("\n", "\n           ") if a else "not assessed"))
    if info.get("warning"):
        lines.append(f"warning    {info['warning']}")
    taste = info.get("taste")
    if taste:
        lines.append("taste      (what the model learned)")
        lines.extend("  " + ln for ln in _render_taste(taste))
    elif info.get("taste_error"):
        lines.append(f"taste      unavailable: {info['taste_error']}")
    elif not info.get("your_photos"):
        lines.append(f"taste      the {info['method']} model offers no breakdown of its weights; "
                     "your own extremes:")
    yp = info.get("your_photos")
    if yp:
        lines.append("taste      where your taste departs from the crowd's, on your own photos "
                     "(your rating, the shift against your average photo, on your scale):")
        lines.append(f"  lifts most   {_photo_list(yp.get('lifted', []))}")
        lines.append(f"  lowers most  {_photo_list(yp.get('lowered', []))}")
        for d in yp.get("directions", []):
            lines.append(f"  direction {d['direction']} of how people's tastes differ "
                         f"({100 * d['share_of_how_people_differ']:.0f}% of it; moves your scores by "
                         f"±{d['score_spread']:.2f}): you lean towards photos like "
                         f"{_photo_list(d['towards'], False)}, away from {_photo_list(d['away_from'], False)}")
    if ratings:
        srt = sorted(ratings, key=lambda r: -r[1])
        top = ", ".join(f"{Path(r[0]).name} ({r[1]:g})" for r in srt[:3])
        low = ", ".join(f"{Path(r[0]).name} ({r[1]:g})" for r in srt[-3:][::-1])
        lines.append(f"you rated highest  {top}")
        lines.append(f"you rated lowest   {low}")
    return "\n".join(lines)


def _render_taste(obj, indent: int = 0):
    pad = "  " * indent
    if isinstance(obj, dict):
        nums = {k: v for k, v in obj.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        if nums and len(nums) == len(obj) and len(nums) > 1:
            top = max(abs(v) for v in nums.values()) or 1.0
            for k, v in sorted(nums.items(), key=lambda kv: -abs(kv[1])):
                bar = "#" * max(1, int(round(12 * abs(v) / top)))
                yield f"{pad}{k:<28} {v:+.3f}  {bar}"
            return
        for k, v in obj.items():
            if isinstance(v, (dict, list)):
                yield f"{pad}{k}:"
                yield from _render_taste(v, indent + 1)
            else:
                yield f"{pad}{k}: {v}"
    elif isinstance(obj, list):
        if all(isinstance(v, (int, float)) for v in obj) and len(obj) > 8:
            yield f"{pad}[{', '.join(f'{v:.3g}' for v in obj[:8])}, ...] ({len(obj)} values)"
        else:
            for v in obj:
                if isinstance(v, (dict, list)):
                    yield from _render_taste(v, indent + 1)
                else:
                    yield f"{pad}- {v}"
    else:
        yield f"{pad}{obj}"


def run_delete(args) -> int:
    store = _store(args)
    store.delete(args.name)
    print(f"deleted profile {args.name!r} from {store.path}")
    return 0


# ---- export / import ---------------------------------------------------------------------------------------------
def run_export(args) -> int:
    from piaa.profiles.exchange import export_json

    from piaa.cli.output import checked_output, write_output

    target, problem = checked_output(args.output)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    store = _store(args)
    text = export_json(store, args.name, without_ratings=args.without_ratings)
    if target is None:
        print(text)
    else:
        problem = write_output(target, text + "\n")
        if problem:
            return _err(problem)
        print(f"exported {args.name!r} to {args.output}", file=sys.stderr)
    return 0


def run_import(args) -> int:
    from piaa.profiles.exchange import import_profile, read_profile_file

    data = read_profile_file(args.file)
    store = _store(args)
    target = args.name if args.name is not None else data.get("name")
    if isinstance(target, str) and not args.overwrite and store.exists(target):
        return _err(f"a profile named {target!r} already exists in {store.path}\n"
                    "hint: add --overwrite to replace it, or --name NEW_NAME to import it under another name")
    name = import_profile(store, data, name=args.name, overwrite=args.overwrite, source=args.file)
    print(f"imported profile {name!r} into {store.path}")
    return 0


def run_methods(args) -> int:
    from piaa.profiles.profile import PREFERRED_METHODS

    avail = _methods()
    if not avail:
        print("no personalization method is installed")
        return 1
    default = next((m for m in PREFERRED_METHODS if m in avail), avail[0])
    for m in avail:
        print(f"{m}{'  (default)' if m == default else ''}")
    return 0
