"""``piaa rank FOLDER [--profile NAME]``: sort photos by a person's taste (or the generic model), best first."""
from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from piaa.cli.options import fail


_EPILOG = """\
examples:
  piaa rank ~/Photos/shoot --profile anna --top 20          # anna's 20 favourites, as a table
  piaa rank ~/Photos/shoot --format json --output ranking.json  # generic ranking (no profile)
  piaa rank ~/Photos/shoot --profile anna --write-xmp --dry-run # show which sidecars would change
  piaa rank ~/Photos/shoot --profile anna --write-xmp           # write predicted stars for darktable/digiKam
  piaa rank ~/Photos/shoot --profile anna --write-xmp --mark label  # colour labels instead of stars
  piaa rank ~/Photos/shoot --clear-predictions --dry-run        # what undoing piaa's marks would change

Stars (1-5) are score quintiles within the ranked photos: the top 20% get 5 stars, the next 20% 4, and so on.
With --profile, --write-xmp gives a photo the profile was rated on the person's own stars instead (its rating
mapped onto 1-5, as piaa serve's XMP export does), without piaa's prediction marker.
--write-xmp edits existing sidecars in place (photo.ext.xmp, else photo.xmp), keeping all other metadata, or
creates photo.ext.xmp (--sidecar-style lightroom: photo.xmp). A rating you set yourself is never replaced
unless --overwrite is given (the original is then kept in piaa:OriginalRating); ours carry the marker
piaa:PredictedRating. --mark label / keyword writes predictions as a colour label or a keyword instead of
stars. `piaa rank --clear-predictions FOLDER` removes exactly what piaa wrote (restoring what it replaced).
Image files are never modified.
"""


def register(subparsers):
    p = subparsers.add_parser("rank", help="rank photos by a profile's taste (or the generic model)",
                              description="Rank photos best first by a person's profile, or by the generic "
                                          "model when no --profile is given.",
                              epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", metavar="FOLDER", help="folder(s) or image file(s)")
    p.add_argument("--profile", default=None, help="profile name (see `piaa profile list`); omit for generic")
    p.add_argument("--model", default=None, help="generic model name (default: the embedded default model)")
    p.add_argument("--top", type=int, default=None, help="list only the N best photos")
    p.add_argument("--format", choices=["table", "json", "csv"], default="table")
    p.add_argument("--output", "-o", metavar="FILE", default=None, help="write the ranking here (default: stdout)")
    p.add_argument("--recursive", "-r", action="store_true", help="include photos in sub-folders")
    p.add_argument("--write-xmp", action="store_true", help="write predicted stars into XMP sidecars")
    p.add_argument("--dry-run", action="store_true", help="with --write-xmp: only print what would change")
    p.add_argument("--overwrite", action="store_true", help="with --write-xmp: replace ratings you set yourself")
    p.add_argument("--mark", choices=["rating", "label", "keyword"], default="rating",
                   help="with --write-xmp: write predictions as stars (xmp:Rating, default), as a colour label "
                        "(5 Green, 4 Blue, 3 Yellow, 2 Purple, 1 Red) or as a keyword (piaa-predicted-N-stars), "
                        "so they never mix with your own stars")
    p.add_argument("--clear-predictions", action="store_true",
                   help="remove what piaa wrote into the sidecars of FOLDER (stars, labels, keywords, cull marks), "
                        "restoring values it had replaced; with --dry-run only list it")
    from piaa.cli.options import add_max_pixels, add_quiet, add_sidecar_style, add_store

    add_sidecar_style(p)
    add_store(p)
    add_quiet(p)
    add_max_pixels(p)
    p.set_defaults(func=run_rank)



def run_rank(args) -> int:
    from piaa.cli.options import show_progress
    from piaa.io.discovery import iter_image_files
    from piaa.profiles.ranking import rank_records

    if args.clear_predictions:
        return _clear(args)

    if args.top is not None and args.top < 1:
        return fail(f"--top must be a positive number of photos, not {args.top}", 2)
    from piaa.cli.output import checked_output, write_output

    target, problem = checked_output(args.output)  # before any work: a folder, a typo'd parent, a FIFO...
    if problem:
        return fail(problem, 2)
    unlisted = []
    paths = iter_image_files(args.paths, recursive=args.recursive, errors=unlisted)
    for d, why in unlisted:
        print(f"error: {d}: {why}", file=sys.stderr)
    if not paths:
        from piaa.io.discovery import no_images_message

        return fail(no_images_message(args.paths, args.recursive, verb="rank"))
    profile_name, own = None, {}
    if args.profile:
        from piaa.profiles.profile import Profile
        from piaa.profiles.store import ProfileStore

        prof = Profile.load(args.profile, store=ProfileStore(args.store))
        _prewarm(paths, [prof.estimator] + ([prof.scorer] if prof.uses_offset else []), show_progress(args))
        print(f"ranking {len(paths)} photo(s) with profile {prof.name!r} ({prof.method})", file=sys.stderr)
        scores, errors = prof.score_with_errors(paths)
        higher_better = True
        profile_name = prof.name
        own = own_stars(prof)
    else:
        from piaa.profiles.generic import generic_scores, load_generic, lower_better

        scorer = load_generic(args.model)
        _prewarm(paths, [scorer], show_progress(args))
        print(f"ranking {len(paths)} photo(s) with the generic model (no --profile)", file=sys.stderr)
        g = generic_scores(scorer, paths)
        scores, errors = g.scores, g.errors
        higher_better = not lower_better(scorer)
    records = rank_records(paths, scores, errors, higher_better=higher_better)
    records += [{"rank": None, "path": d, "score": None, "stars": None, "error": why} for d, why in unlisted]
    n_ok = sum(1 for r in records if r.get("error") is None)
    shown = [r for r in records if r.get("error") is None][: args.top] if args.top is not None \
        else [r for r in records if r.get("error") is None]
    shown += [r for r in records if r.get("error") is not None]
    text = _render(shown, args.format)
    if target is not None:
        problem = write_output(target, text)
        if problem:
            return fail(problem)
        print(f"wrote {len(shown)} record(s) to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    n_err = len(records) - n_ok
    if n_err:
        print(f"{n_err} photo(s) could not be scored (listed with their error)", file=sys.stderr)
    from piaa.cli.options import summary_line

    print(summary_line(n_ok, n_err, "ranked"), file=sys.stderr)
    if args.write_xmp or args.dry_run:
        if args.dry_run and not args.write_xmp:
            print("note: --dry-run implies --write-xmp (nothing is written)", file=sys.stderr)
        _xmp(records, scores, paths, profile_name, args, own)
    return 0 if n_ok else 1


def own_stars(prof) -> dict:
    """The profile's own ratings as whole stars by real path (:func:`piaa.profiles.ranking.rating_stars`)."""
    import math
    import os

    from piaa.profiles.ranking import rating_stars

    return {os.path.realpath(p): rating_stars(v, prof.scale) for p, v, *_ in prof.ratings
            if v is not None and math.isfinite(float(v))}


def _xmp(records, scores, paths, profile_name, args, own=None) -> None:
    """Predicted stars into the sidecars; a photo the profile was rated on gets the person's own stars instead
    (plain xmp:Rating, as ``piaa serve``'s XMP export writes them: one star mapping for both)."""
    import os

    from piaa.profiles.xmp_person import apply_person, plan_person
    from piaa.profiles.xmp_write import apply_writes, plan_writes

    own = own or {}
    ranked = [r for r in records if r.get("error") is None]
    rated = [r for r in ranked if os.path.realpath(r["path"]) in own]
    mine = plan_person([{"path": r["path"], "stars": own[os.path.realpath(r["path"])]} for r in rated],
                       overwrite=args.overwrite, style=args.sidecar_style, hint="--overwrite replaces it")
    actions = plan_writes([r for r in ranked if os.path.realpath(r["path"]) not in own], profile=profile_name,
                          overwrite=args.overwrite, style=args.sidecar_style, mark=args.mark)
    if not args.dry_run:
        by_path = {str(p): float(s) for p, s in zip(paths, scores)}
        mine = apply_person(mine)
        actions = apply_writes(actions, by_path, profile=profile_name or "generic")
    counts = {}
    for a in list(mine) + list(actions):
        counts[a.action] = counts.get(a.action, 0) + 1
        if args.dry_run or a.action in ("keep", "read-only", "shared", "error"):
            print(a.describe(args.dry_run), file=sys.stderr)
    summary = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
    head = "XMP dry run (nothing written)" if args.dry_run else "XMP sidecars"
    print(f"{head}: {summary or 'nothing to do'}", file=sys.stderr)


def _clear(args) -> int:
    """``--clear-predictions``: undo piaa's marks in the sidecars of the given folders/photos."""
    from piaa.profiles.xmp_write import clear_predictions

    results = clear_predictions(args.paths, recursive=args.recursive, dry_run=args.dry_run)
    counts = {}
    for r in results:
        counts[r["action"]] = counts.get(r["action"], 0) + 1
        if r["action"] != "none" and not args.quiet:
            verb = {"cleared": "would clear" if args.dry_run else "cleared",
                    "deleted": "would delete" if args.dry_run else "deleted", "error": "skipped"}[r["action"]]
            print(f"{verb:<13} {r['sidecar']}  {'; '.join(r['changes'])}", file=sys.stderr)
    head = "clear predictions, dry run (nothing written)" if args.dry_run else "cleared predictions"
    summary = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()) if k != "none")
    print(f"{head}: {summary or 'nothing of piaa found'} in {len(results)} sidecar(s)", file=sys.stderr)
    return 1 if counts.get("error") else 0


def _prewarm(paths, models, progress: bool = True) -> None:
    """Extract (and cache) the features the models will ask for, with a progress bar: on a large folder this
    is the long part, and the models' own extraction then only reads the cache."""
    from piaa.features import FeatureExtractor

    seen = set()
    for m in models:
        bb, var = getattr(m, "backbone", None), getattr(m, "variant", None)
        if not isinstance(bb, str) or not isinstance(var, str) or (bb, var) in seen:
            continue
        seen.add((bb, var))
        FeatureExtractor(bb, var, progress=progress).extract(paths)  # per-photo problems come back as errors


def _render(records, fmt: str) -> str:
    cols = ["rank", "stars", "score", "path", "error"]
    if fmt == "json":
        return json.dumps(records, indent=1) + "\n"
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for r in records:
            w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in cols})
        return buf.getvalue()
    lines = [f"{'rank':>5}  {'stars':<5}  {'score':>8}  path"]
    for r in records:
        if r.get("error") is not None:
            lines.append(f"{'-':>5}  {'':<5}  {'-':>8}  {r['path']}  [error: {r['error']}]")
        else:
            lines.append(f"{r['rank']:>5}  {'*' * r['stars']:<5}  {r['score']:>8.3f}  {r['path']}")
    return "\n".join(lines) + "\n"

