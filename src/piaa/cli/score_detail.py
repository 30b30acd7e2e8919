"""``piaa score --detail / --faces``: the photo seen at 100 % added to each record (docs/detail.md).

JSON records gain ``"sharpness"``, ``"motion_blur"``, ``"noise"``, ``"clipping"`` (and a ``"detail"`` object
with their parts) with ``--detail``, and ``"faces": [{"box", "eyes", "sharpness", ...}]`` with ``--faces``.
CSV gains one column per measure (faces: how many, and the largest face's eyes and sharpness); the table gains
short columns. Nothing here is imported unless one of the two flags is given, so plain ``piaa score`` keeps
its speed.
"""
from __future__ import annotations

import csv
import io

DETAIL_KEYS = ("sharpness", "motion_blur", "noise", "clipping")
FACE_COLUMNS = ("faces", "eyes", "face_sharpness")


def add_detail_options(p) -> None:
    p.add_argument("--detail", action="store_true",
                   help="add what the photo shows at 100 %%: sharpness of its subject (0-1), motion_blur (0-1), "
                        "noise (0-1, std. dev. / full range), clipping (0-1 share of clipped pixels)")
    p.add_argument("--faces", action="store_true",
                   help="add the faces found: box [x, y, w, h] in pixels of the upright photo, eyes "
                        "open/closed/unsure, and each face's sharpness (0-1)")


def wanted(args) -> bool:
    return bool(getattr(args, "detail", False) or getattr(args, "faces", False))


def check_ready(args) -> None:
    """``--faces`` without a working face model fails here, before any photo is scored (one line)."""
    if getattr(args, "faces", False):
        from piaa.profiles.photo_detail import default_detector

        default_detector()


def add_fields(records: list, args) -> None:
    """Measure every scored photo of ``records`` and add the fields in place (photos that failed to score
    are left as they are)."""
    from piaa.profiles.photo_detail import inspect_many, record_fields

    todo = [i for i, r in enumerate(records) if "error" not in r]
    # the detail cache sits in the feature cache: a second run over the same photos decodes none of them
    found = inspect_many([records[i]["path"] for i in todo], detail=args.detail, faces=args.faces,
                         cache=None if getattr(args, "no_cache", False) else "default")
    for i, d in zip(todo, found):
        if d.error:
            records[i]["detail_error"] = d.error
        else:
            records[i].update(record_fields(d, detail=args.detail, faces=args.faces))


def _cells(r: dict, args, fmt: str) -> list:
    out = []
    if args.detail:
        for k in DETAIL_KEYS:
            v = r.get(k)
            out.append("" if v is None else (f"{v:.4f}" if fmt == "csv" else f"{v:.3f}"))
    if args.faces:
        fs = r.get("faces")
        if fs is None:
            out += ["", "", ""]
        else:
            big = fs[0] if fs else None
            s = big.get("sharpness") if big else None
            out += [str(len(fs)), big["eyes"] if big else "",
                    "" if s is None else (f"{s:.4f}" if fmt == "csv" else f"{s:.3f}")]
    return out


def _heads(args) -> list:
    return (list(DETAIL_KEYS) if args.detail else []) + (list(FACE_COLUMNS) if args.faces else [])


def extend_text(text: str, fmt: str, records: list, args) -> str:
    """The CSV or table ``text`` rendered from ``records`` with the detail / faces columns appended (JSON:
    unchanged, the records carry the fields)."""
    if fmt == "json" or not wanted(args):
        return text
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(text)))
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(rows[0] + _heads(args))
        for row, r in zip(rows[1:], records):
            w.writerow(row + _cells(r, args, fmt))
        return buf.getvalue()
    lines = text.rstrip("\n").split("\n")
    heads = _heads(args)
    widths = [max(len(h), 6) for h in heads]
    left = max(len(line) for line in lines)
    rows = [heads] + [_cells(r, args, fmt) for r in records]
    body = [line.ljust(left) + "  " + "  ".join(c.ljust(n) for c, n in zip(cells, widths))
            for line, cells in zip(lines, rows)]
    return "\n".join(s.rstrip() for s in body) + "\n"
