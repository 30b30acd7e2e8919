"""``piaa data inspect DATABASE PATH``: show what a database's label files load into."""
from __future__ import annotations

import json
from piaa.errors import UsageError



def _parse_options(items):
    opts = {}
    for it in items or []:
        if "=" not in it:
            raise UsageError(f"--option expects KEY=VALUE, got {it!r}")
        k, v = it.split("=", 1)
        if v.lower() in ("true", "false"):
            v = v.lower() == "true"
        else:
            try:
                v = int(v)
            except ValueError:
                pass
        opts[k.strip()] = v
    return opts


def run_list(args) -> int:
    from piaa.data.registry import READERS

    print("\n".join(READERS))
    return 0


def register(subparsers):
    p = subparsers.add_parser("data", help="inspect rating databases")
    sub = p.add_subparsers(dest="data_command", metavar="ACTION")
    ins = sub.add_parser("inspect", help="load a database and print what was found")
    ins.add_argument("database", help="database name (`piaa data list` shows them)")
    ins.add_argument("path", help="folder holding the database's label files as published (or the CSV file)")
    ins.add_argument("--format", choices=["text", "json"], default="text")
    ins.add_argument("-o", "--option", action="append", metavar="KEY=VALUE",
                     help="reader option, e.g. criterion=image_appeal, study=1, test_workers=FILE (repeatable)")
    for col in ("user-col", "image-col", "score-col", "criterion-col", "criterion", "scale", "duplicates"):
        ins.add_argument(f"--{col}", default=None, help=f"({col.replace('-', '_')} option)")
    ins.set_defaults(func=run_inspect)
    lst = sub.add_parser("list", help="list the known database names")
    lst.set_defaults(func=run_list)
    p.set_defaults(func=lambda a: p.print_help() or 2)


def run_inspect(args) -> int:
    from piaa.data import load_dataset

    opts = _parse_options(args.option)
    for col in ("user_col", "image_col", "score_col", "criterion_col", "criterion", "scale", "duplicates"):
        v = getattr(args, col, None)
        if v is not None:
            opts[col] = v
    ds = load_dataset(args.database, args.path, **opts)
    info = ds.summary()
    info["source_files"] = list(ds.source_files)
    if ds.users is not None:
        info["trait_summary"] = _trait_summary(ds.users)
    if args.format == "json":
        print(json.dumps(info, indent=2, default=str))
        return 0
    print(_text(info))
    return 0


def _trait_summary(users):
    import pandas as pd

    out = {}
    for c in users.columns:
        s = users[c]
        if pd.api.types.is_numeric_dtype(s):
            out[str(c)] = {"min": float(s.min()), "max": float(s.max()), "missing": int(s.isna().sum())}
        else:
            out[str(c)] = {"levels": int(s.nunique()), "missing": int((s.isna() | (s == "")).sum())}
    return out


def _text(info) -> str:
    sc = info["scale"]
    rpp = info["ratings_per_person"]
    lines = [
        f"database   {info['name']}",
        f"people     {info['people']}" + ("  (aggregate-only: published per-image means)" if info["aggregate_only"] else ""),
        f"images     {info['images']}",
        f"ratings    {info['ratings']}",
        f"per person min {rpp['min']}, median {rpp['median']:g}, max {rpp['max']}",
        f"scale      {sc['min']:g}..{sc['max']:g}, {sc['buckets']} buckets"
        + (f"  (scores seen {info['score_range'][0]:g}..{info['score_range'][1]:g})" if info["score_range"] else ""),
    ]
    if info["criteria"]:
        lines.append("criteria   " + ", ".join(f"{k} ({v})" for k, v in info["criteria"].items()))
    if info["splits"]:
        lines.append("splits")
        for k, v in info["splits"].items():
            lines.append(f"  {k:<24} {v['kind']:<6} {v['size']}")
    else:
        lines.append("splits     none")
    if info["traits"]:
        lines.append(f"traits     {len(info['traits'])} for {info['trait_people']} people: " + ", ".join(info["traits"]))
    else:
        lines.append("traits     none")
    lines.append(f"images at  {info['images_root'] or '(not found)'}")
    for f in info.get("source_files", []):
        lines.append(f"read       {f}")
    for n in info["notes"]:
        lines.append(f"note       {n}")
    return "\n".join(lines)
