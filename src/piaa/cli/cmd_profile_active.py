"""``piaa profile suggest`` / ``piaa profile rate``: which photos to rate next, and the loop that asks them."""
from __future__ import annotations

import argparse
import csv
import json
import sys
from piaa.cli.options import fail


_SUGGEST_EPILOG = """\
examples:
  piaa profile suggest --profile anna ~/Photos/2024 -n 10    # the 10 photos anna should rate next
  piaa profile suggest --profile newbie ~/Photos --format csv # a person without a profile: the cold start
  piaa profile rate --profile anna ~/Photos/2024              # answer 1-5 / x / s / o / q in the terminal

The photos are chosen so the profile learns most from fewest ratings (piaa.personalize.active: the photos the
profile is least sure about along the directions in which people's tastes differ; a batch never holds
near-duplicates, since each pick settles its neighbours).
"""


def register(sub, store_arg):
    sg = sub.add_parser("suggest", help="list the photos of a folder to rate next for a profile (or a new person)",
                        epilog=_SUGGEST_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    _profile_and_folder(sg, "profile name (need not exist yet)", "folder of photos to choose from")
    sg.add_argument("-n", type=int, default=10, help="how many photos (default 10)")
    sg.add_argument("--strategy", default=None, help="selector strategy (default: uncertainty; see "
                                                     "piaa.personalize.active)")
    sg.add_argument("--format", choices=["table", "json", "csv"], default="table")
    store_arg(sg)
    sg.set_defaults(func=run_suggest)

    rt = sub.add_parser("rate", help="rate suggested photos in the terminal; the profile is refitted at the end",
                        epilog=_SUGGEST_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    _profile_and_folder(rt, "profile name (created once there are 10 ratings)", "folder of photos to rate")
    rt.add_argument("--batch", type=int, default=5, help="photos chosen per round (default 5)")
    rt.add_argument("--limit", type=int, default=None, help="stop after this many ratings")
    rt.add_argument("--open", action="store_true", help="open every photo in the system viewer")
    rt.add_argument("--no-refit", action="store_true", help="keep the ratings pending; do not refit at the end")
    store_arg(rt)
    rt.set_defaults(func=run_rate)


def _profile_and_folder(p, profile_help: str, folder_help: str) -> None:
    """``--profile NAME FOLDER``, as every other command names the profile; the older ``NAME FOLDER`` still
    works, with a deprecation warning (:func:`_resolve_profile`)."""
    p.add_argument("--profile", dest="name", metavar="NAME", default=None, help=profile_help)
    p.add_argument("folder", metavar="FOLDER", help=folder_help)
    p.add_argument("legacy_folder", nargs="?", default=None, help=argparse.SUPPRESS)


def _resolve_profile(args, command: str) -> None:
    """Fill ``args.name``/``args.folder`` from ``--profile NAME FOLDER`` or the deprecated ``NAME FOLDER``."""
    from piaa.errors import UsageError, deprecated

    if args.legacy_folder is not None:
        if args.name is not None:
            raise UsageError(f"piaa profile {command}: give --profile NAME and one FOLDER")
        deprecated(f"'piaa profile {command} NAME FOLDER'", f"'piaa profile {command} --profile NAME FOLDER'")
        args.name, args.folder = args.folder, args.legacy_folder
    elif args.name is None:
        raise UsageError(f"piaa profile {command}: give --profile NAME (the profile need not exist yet)")



def run_suggest(args) -> int:
    from piaa.profiles.store import ProfileStore
    from piaa.profiles.suggest import suggest

    _resolve_profile(args, "suggest")
    if args.n < 1:
        return fail(f"-n must be at least 1, got {args.n}")
    recs = suggest(args.name, args.folder, n=args.n, store=ProfileStore(args.store), strategy=args.strategy)
    if args.format == "json":
        print(json.dumps({"profile": args.name, "suggestions": recs}, indent=2))
    elif args.format == "csv":
        w = csv.writer(sys.stdout)
        w.writerow(["rank", "path", "generic"])
        for r in recs:
            w.writerow([r["rank"], r["path"], "" if r["generic"] is None else r["generic"]])
    else:
        print(f"{'rank':>4}  {'generic':>7}  path")
        for r in recs:
            g = "" if r["generic"] is None else f"{r['generic']:.2f}"
            print(f"{r['rank']:>4}  {g:>7}  {r['path']}")
    return 0


def run_rate(args) -> int:
    from piaa.profiles.ratings_import import ProfileInputError
    from piaa.profiles.store import ProfileStore
    from piaa.profiles.suggest import learn_pending, pending_path, rate_loop, read_pending

    _resolve_profile(args, "rate")
    if args.batch < 1:
        return fail(f"--batch must be at least 1, got {args.batch}")
    store = ProfileStore(args.store)
    got = rate_loop(args.name, args.folder, store=store, batch=args.batch, limit=args.limit,
                    auto_open=args.open, out=lambda s: print(s, flush=True))
    print(f"{got['rated']} rating(s) saved, {got['skipped']} skipped", file=sys.stderr)
    if args.no_refit or not read_pending(store, args.name):
        return 0
    try:
        prof = learn_pending(store, args.name)
    except ProfileInputError as exc:  # too few ratings yet: not an error, the loop goes on next time
        print(f"note: not learned yet: {exc}\n(the ratings are kept in {pending_path(store, args.name)}; "
              f"rate more and they are learned next time)", file=sys.stderr)
        return 0
    a = prof.assessment or {}
    extra = f", self-assessed SROCC {a['method_srocc']:.2f}" if a.get("method_srocc") is not None else ""
    print(f"profile {prof.name!r} refitted: {prof.method}, {len(prof.ratings)} ratings{extra}")
    return 0
