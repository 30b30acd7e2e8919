"""``piaa cull FOLDER [--profile NAME]``: group near-duplicates and bursts, keep the best of each, mark the rest."""
from __future__ import annotations

import argparse
import json
import sys
from piaa.cli.options import fail


_EPILOG = """\
examples:
  piaa cull ~/Photos/wedding --profile anna                      # dry run: which photos group, which is kept
  piaa cull ~/Photos/wedding --profile anna --sheet groups.html  # a contact sheet of the groups
  piaa cull ~/Photos/wedding --profile anna --apply              # mark picks and rejects in XMP sidecars
  piaa cull ~/Photos/wedding --apply --pick rating:5 --reject label:Red
  piaa cull ~/Photos/wedding --checks focus,motion               # no eye check
  piaa cull ~/Photos/wedding --checks none                       # taste + quality alone (thumbnails only)
  piaa rank ~/Photos/wedding --clear-predictions                 # undo every mark piaa wrote

Photos are grouped when they are near-duplicates (very similar, whenever taken) or a burst (similar and taken
within --burst-seconds of each other, EXIF capture time). In each group of two or more, every frame is looked at
100 % and compared with the group's best frame (--checks, all three by default):
  eyes    the subject (the largest face) has closed eyes while another frame shows them open: "eyes closed"
  focus   the subject (that face, else the sharpest region) is clearly softer: "soft focus on the face" /
          "soft focus" (a sharp subject on a soft background is sharp)
  motion  fine detail lost along one direction: "motion blur"
Of the frames that pass, the best is kept by your profile's taste (the generic model without --profile) plus
technical quality when a photo-quality model is installed ("a more beautiful frame is kept"); a photo you
rated yourself beats every prediction. The reasons are in the text output, --report (each member's
"reasons") and the contact sheet. Nothing is written without --apply. Marks go
into XMP sidecars as photo managers read them: by default the pick gets the colour label Green and the others
xmp:Rating -1 (rejected). A rating or label you set is never replaced, photos alone in their group get no mark,
and image files are never modified.
"""


def register(subparsers):
    from piaa.cli.options import add_max_pixels, add_quiet, add_sidecar_style, add_store, non_negative

    p = subparsers.add_parser("cull", help="group near-duplicates and bursts, keep the best of each (dry run first)",
                              description="Group near-duplicates and bursts and keep the best photo of each group.",
                              epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", metavar="FOLDER", help="folder(s) or image file(s) of one shoot")
    p.add_argument("--profile", default=None, help="whose taste picks (see `piaa profile list`); default: generic")
    p.add_argument("--recursive", "-r", action="store_true", help="include photos in sub-folders")
    p.add_argument("--apply", action="store_true", help="write the marks (default: dry run, nothing written)")
    p.add_argument("--pick", default="label:Green", metavar="MARK", type=_mark,
                   help="mark of the kept photo: rating:1..5, label:COLOUR, keyword:WORD or none (default label:Green)")
    p.add_argument("--reject", default="rating:-1", metavar="MARK", type=_mark,
                   help="mark of the others: rating:-1 (rejected, default), label:COLOUR, keyword:WORD or none")
    p.add_argument("--report", metavar="FILE.json", default=None, help="write the groups as JSON")
    p.add_argument("--sheet", metavar="FILE.html|FILE.png", default=None, help="write a contact sheet of the groups")
    p.add_argument("--format", choices=["text", "json"], default="text", help="what to print on stdout")
    p.add_argument("--burst-seconds", type=non_negative, default=None,
                   help="photos taken this close together and similar form a burst (default 3)")
    p.add_argument("--quality-model", default="auto",
                   help="photo-quality model to add to taste: auto (the joint photos + generated images model, on the thumbnail features; default), quality (the native model of score --quality: slower), none, or a name")
    p.add_argument("--quality-weight", type=non_negative, default=1.0, help="weight of quality against taste (default 1)")
    p.add_argument("--checks", type=_checks, default="all", metavar="LIST",
                   help="checks at 100 %% that can reject a frame: comma-separated eyes,focus,motion; all "
                        "(default) or none")
    p.add_argument("--turned-faces", action="store_true",
                   help="also look for faces lying on their side or tilted (sleeping people) in frames with no "
                        "upright face, as score --faces does; costs 4-5x the face search on face-less frames")
    add_sidecar_style(p)
    add_store(p)
    add_quiet(p)
    add_max_pixels(p)
    p.set_defaults(func=run_cull)


def _checks(text: str):
    from piaa.cli.options import argument_type
    from piaa.profiles.cull_checks import parse_checks

    return argument_type(parse_checks)(text)


def _mark(text: str):
    from piaa.cli.options import argument_type
    from piaa.profiles.xmp_marks import Mark

    return argument_type(Mark.parse)(text)



def run_cull(args) -> int:
    from piaa.cli.options import show_progress, summary_line
    from piaa.io.discovery import iter_image_files, no_images_message
    from piaa.profiles.cull import CullSettings, cull, marks_for, report
    pick, reject = args.pick, args.reject  # Marks and checks, parsed by argparse
    kw = {"quality_weight": args.quality_weight, "checks": args.checks, "turned_faces": args.turned_faces}
    if args.burst_seconds is not None:
        kw["burst_seconds"] = args.burst_seconds
    settings = CullSettings(**kw)
    for opt, path in (("--report", args.report), ("--sheet", args.sheet)):
        if path and not _writable_target(path):
            return fail(f"{opt} {path}: cannot write there (missing folder, a folder, or not writable)", 2)
    if args.sheet and not args.sheet.lower().endswith((".html", ".htm", ".png")):
        return fail("--sheet must end in .html or .png", 2)
    paths = iter_image_files(args.paths, recursive=args.recursive)
    if not paths:
        return fail(no_images_message(args.paths, args.recursive, verb="cull"))
    profile = None
    if args.profile:
        from piaa.profiles.profile import Profile
        from piaa.profiles.store import ProfileStore

        profile = Profile.load(args.profile, store=ProfileStore(args.store))
    print(f"culling {len(paths)} photo(s) by " + (f"profile {profile.name!r}" if profile else "the generic model")
          + ("" if args.apply else " (dry run: nothing is written; --apply marks the sidecars)"), file=sys.stderr)
    result = cull(paths, profile=profile, quality=args.quality_model, settings=settings,
                  progress=show_progress(args))
    rep = report(result)
    for n in result.notes:
        print(f"note: {n}", file=sys.stderr)

    from piaa.profiles.xmp_write import apply_writes, plan_writes

    actions = plan_writes(marks_for(result, pick, reject), style=args.sidecar_style)
    if args.apply:
        actions = apply_writes(actions, {}, profile=profile.name if profile else None)
    rep["xmp"] = {"applied": bool(args.apply), "actions": [a.to_dict() for a in actions]}

    if args.report:
        _write(args.report, (json.dumps(rep, indent=1) + "\n").encode("utf-8"))
        print(f"wrote the report to {args.report}", file=sys.stderr)
    if args.sheet:
        from piaa.cli.contact_sheet import render_html, render_png

        data = render_png(rep) if args.sheet.lower().endswith(".png") else render_html(rep)
        _write(args.sheet, data)
        print(f"wrote the contact sheet to {args.sheet}", file=sys.stderr)
    if args.format == "json":
        sys.stdout.write(json.dumps(rep, indent=1) + "\n")
    else:
        sys.stdout.write(_text(rep))
    counts = {}
    for a in actions:
        counts[a.action] = counts.get(a.action, 0) + 1
        if a.action in ("keep", "read-only", "shared", "error"):
            print(a.describe(not args.apply), file=sys.stderr)
    head = "XMP sidecars" if args.apply else "XMP dry run (nothing written)"
    print(f"{head}: {', '.join(f'{v} {k}' for k, v in sorted(counts.items())) or 'nothing to mark'}", file=sys.stderr)
    n_err = len(result.errors)
    print(f"{rep['groups_of_2_or_more']} group(s) of near-duplicates/bursts: {rep['picks']} kept, "
          f"{rep['rejects']} to reject; " + summary_line(len(paths) - n_err, n_err, "culled"), file=sys.stderr)
    return 0 if len(paths) > n_err else 1


def _text(rep: dict) -> str:
    from pathlib import Path

    lines = []
    groups = [g for g in rep["group_list"] if g["size"] >= 2]
    for k, g in enumerate(groups, 1):  # numbered among the groups shown, as the summary counts them
        when = min((m["taken"] for m in g["members"] if m.get("taken")), default=None)
        lines.append(f"group {k} of {len(groups)}: {g['size']} photos"
                     + (f", {when.replace('T', ' ')[:19]}" if when else ""))
        for m in g["members"]:
            tag = "keep  " if m["pick"] else "reject"
            extra = f"  (your {m['your_rating']:g}★)" if m.get("your_rating") else ""
            score = f"{m['combined']:+.2f}" if m.get("combined") is not None else "  -  "
            why = f"  [{g['why']}]" if m["pick"] else (f"  ({'; '.join(m['reasons'])})" if m.get("reasons") else "")
            lines.append(f"  {tag} {score}  {Path(m['path']).name}{extra}{why}")
    alone = sum(1 for g in rep["group_list"] if g["size"] == 1)
    lines.append(f"{alone} photo(s) stand alone (no mark)")
    return "\n".join(lines) + "\n"


def _writable_target(path) -> bool:
    import os
    from pathlib import Path

    p = Path(path).expanduser()
    if p.is_dir():
        return False
    parent = p.parent if str(p.parent) else Path(".")
    return parent.is_dir() and os.access(parent, os.W_OK) and (not p.exists() or p.is_file())


def _write(path, data: bytes) -> None:
    from piaa.profiles.xmp_write import write_atomic

    write_atomic(path, data)
