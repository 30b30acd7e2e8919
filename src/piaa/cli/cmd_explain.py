"""``piaa explain PHOTO --profile NAME``: why a profile scores a photo as it does — the person's own rated photos
most like it, with the stars they gave."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from piaa.cli.options import fail


_EPILOG = """\
example:
  piaa explain ~/Photos/new/IMG_0420.JPG --profile anna

Prints the profile's score of the photo (on your rating scale) and the generic model's, then the photos you
rated that look most like it (cosine similarity of the image features the models use, 1 = identical) with
your ratings: the evidence a personal model leans on. Your rated photos must still be where they were.
Then what the photo shows at 100 % — the checks `piaa cull` makes: its faces and their eyes, whether its
subject is sharp or soft, motion blur, noise, clipping (docs/detail.md; --no-detail leaves it out).
"""


def register(subparsers):
    from piaa.cli.options import add_max_pixels, add_store

    p = subparsers.add_parser("explain", help="a photo's score, and your own rated photos most like it",
                              description="Explain a profile's score of one photo with the person's own rated "
                                          "photos most similar to it.",
                              epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("photo", metavar="PHOTO", help="the photo to explain")
    p.add_argument("--profile", required=True, help="profile name (see `piaa profile list`)")
    p.add_argument("--top", type=int, default=5, help="how many similar rated photos to list (default 5)")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument("--no-detail", action="store_true", help="skip the look at 100 %% (faces, focus, motion blur)")
    add_store(p)
    add_max_pixels(p)
    p.set_defaults(func=run_explain)



def run_explain(args) -> int:
    from piaa.profiles.explain import similar_rated
    from piaa.profiles.profile import Profile
    from piaa.profiles.store import ProfileStore

    if args.top < 1:
        return fail(f"--top must be a positive number of photos, not {args.top}", 2)
    photo = Path(args.photo)
    if not photo.is_file():
        return fail(f"not a file: {photo}")
    prof = Profile.load(args.profile, store=ProfileStore(args.store))
    scores, errors = prof.score_with_errors([str(photo)])
    if errors:
        return fail(f"{photo}: {errors[0]}")
    from piaa.profiles.generic import generic_scores

    g = generic_scores(prof.scorer, [str(photo)])
    similar, problem = similar_rated(prof, photo, k=args.top)
    if problem:
        return fail(f"{photo}: {problem}")
    lo, hi = prof.scale
    out = {"photo": str(photo), "profile": prof.name, "method": prof.method, "score": round(float(scores[0]), 3),
           "scale": [lo, hi], "generic_score": None if g.errors else round(float(g.scores[0]), 3),
           "generic_scale": list(getattr(prof.scorer, "score_range", (None, None))), "similar_rated": similar,
           "rated_photos_found": len(similar) if similar else 0, "n_ratings": len(prof.ratings)}
    if not args.no_detail:
        out["at_100_percent"] = _at_100(photo)
    if args.format == "json":
        print(json.dumps(out, indent=1))
        return 0
    print(f"{photo.name}: {scores[0]:.2f} for {prof.name} (on {lo:g}..{hi:g})"
          + (f"; generic model {out['generic_score']:.2f} (on {out['generic_scale'][0]:g}..{out['generic_scale'][1]:g})"
             if out["generic_score"] is not None else ""))
    for w in out.get("at_100_percent", []):
        print(f"at 100 %: {w}")
    if not similar:
        print(f"none of the {len(prof.ratings)} photos {prof.name} rated can be found any more "
              "(moved, or a profile shared without ratings): no examples to show")
        return 0
    print(f"the photos {prof.name} rated that look most like it:")
    for s in similar:
        print(f"  {s['similarity']:.2f}  {s['your_rating']:g} on {lo:g}..{hi:g}  {s['path']}")
    return 0


def _at_100(photo) -> list:
    """Plain words on the photo at 100 % (faces skipped, with a word, when no face model is installed)."""
    from piaa.profiles.photo_detail import FacesUnavailable, default_detector, describe, inspect

    try:
        detector = default_detector()
    except FacesUnavailable:
        return describe(inspect(photo, faces=False)) + ["faces not checked: no face model installed"]
    return describe(inspect(photo, detector=detector))
