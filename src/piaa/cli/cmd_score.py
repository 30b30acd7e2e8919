"""``piaa score PATH...``: generic aesthetic score of photos with an embedded model, one record per input."""
from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from piaa.cli.options import fail, skipped_subfolder_note, terminal_text


_EPILOG = """\
examples:
  piaa score photo.jpg                          # a table: path, score (1-7), error
  piaa score ~/Photos --recursive --format csv --output scores.csv
  piaa score a.jpg b.png --format json          # records with the predicted 7-bucket distribution
  piaa score ~/Photos --quality                 # two columns: beauty (1-7) and technical quality (0-1)
  piaa score photo.jpg --model quality          # technical quality only (0-1, BIQ2021 model)
  piaa score photo.jpg --model default,quality  # several models, one column each

Scores are the expected beauty on the model's scale (see `piaa models`: 1-7, higher is more beautiful);
quality is the predicted technical quality of the photo (0-1, higher is better: sharp, well exposed, clean).
HEIC/HEIF and camera RAW files (NEF, CRW/CR2/CR3, ARW, RAF, DNG, ORF, RW2, ...; scored from the full-size JPEG
preview the camera embedded) are read like any JPEG. The last line on stderr sums up: "146 scored, 4 errors".
A file that cannot be read or decoded gets an error record; the others are still scored. The exit code is
0 when at least one photo was scored, 1 when none could be (or no photo was found), 2 on bad arguments.
"""


def register(subparsers):
    p = subparsers.add_parser("score", help="score photos with a generic aesthetics model",
                              description="Score photos (files or folders) with a generic aesthetics model.",
                              epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files and/or folders")
    p.add_argument("--model", default=None, help="model name from `piaa models` or a model .npz file "
                                                 "(default: the embedded default model); several joined "
                                                 "by commas give one column each, e.g. default,quality")
    p.add_argument("--quality", action="store_true",
                   help="add a technical-quality column (0-1) beside the beauty score (= --model default,quality)")
    p.add_argument("--format", choices=["table", "json", "csv"], default="table", help="output format")
    p.add_argument("--output", "-o", metavar="FILE", default=None,
                   help="write the records to FILE (atomically) instead of stdout")
    p.add_argument("--recursive", "-r", action="store_true", help="include photos in sub-folders")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the feature cache")
    p.add_argument("--batch-size", type=int, default=32, help="photos per network call (default 32)")
    p.add_argument("--engine", default="auto", help="feature engine: auto (ONNX when verified), torch or onnx")
    from piaa.cli.options import add_max_pixels, add_quiet

    add_quiet(p)
    add_max_pixels(p)
    from piaa.cli.score_ray import add_ray_options

    add_ray_options(p)
    from piaa.cli.options import add_device
    from piaa.cli.score_detail import add_detail_options

    add_detail_options(p)
    add_device(p)
    p.set_defaults(func=run_score)



def _inputs(items, recursive: bool, unlisted=None):
    """(image files, None) or ([], message): a missing path or an empty selection is a usage problem.
    Folders that cannot be listed are appended to ``unlisted`` as ``(path, reason)``."""
    from piaa.io.discovery import iter_image_files

    found = iter_image_files(items, recursive=recursive, errors=unlisted)
    skipped_subfolder_note(items, recursive)
    if found or unlisted:
        return found, None
    from piaa.io.discovery import no_images_message

    return [], no_images_message(items, recursive)


def run_score(args) -> int:
    from piaa.cli.options import option_value
    from piaa.models.scorer import load_scorer, model_path

    if args.batch_size < 1:
        return fail("--batch-size must be >= 1", 2)
    from piaa.features.engines import available_engines

    if args.engine not in available_engines():  # checked even when every photo is cached
        return fail(f"unknown --engine {args.engine!r}; available: {', '.join(available_engines())}", 2)
    from piaa.cli.score_ray import ray_only_options, run_score_ray

    from piaa.cli.score_detail import check_ready, wanted

    if args.ray:
        if wanted(args):
            return fail("--detail and --faces are not available with --ray", 2)
        return run_score_ray(args)
    check_ready(args)
    if ray_only_options(args):
        return fail(f"{', '.join(ray_only_options(args))} need --ray", 2)
    from piaa.cli.output import checked_output, write_output

    target, problem = checked_output(args.output)  # before any work: a folder, a typo'd parent, a FIFO...
    if problem:
        return fail(problem, 2)
    unlisted = []
    paths, problem = _inputs(args.paths, args.recursive, unlisted)
    if problem:
        return fail(problem)
    names = model_names(args.model, args.quality)
    if not names:
        return fail("--model is empty; give a model name from `piaa models`", 2)
    for n in names:  # a name or file that is not there is a bad argument (exit 2), checked before loading
        option_value("--model", model_path, n)
    scorers = [load_scorer(n, engine=args.engine, cache=None if args.no_cache else "default",
                           batch_size=args.batch_size) for n in names]
    from piaa.cli.options import show_progress

    if len(scorers) == 1:
        scorer = scorers[0]
        records = scorer.score([str(p) for p in paths], progress=show_progress(args)) if paths else []
        records += [{"path": d, "error": why} for d, why in unlisted]
        _add_detail(records, args)
        text = _extended(render(records, args.format, scorer), records, args)
    else:
        from piaa.models.scorer import score_many

        records = score_many(scorers, [str(p) for p in paths], progress=show_progress(args)) if paths else []
        records += [{"path": d, "error": why} for d, why in unlisted]
        _add_detail(records, args)
        text = _extended(render_many(records, args.format, scorers), records, args)
    if target is not None:
        problem = write_output(target, text)
        if problem:
            return fail(problem)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    n_ok = sum("score" in r or "scores" in r for r in records)
    from piaa.cli.options import summary_line

    print(summary_line(n_ok, len(records) - n_ok, "scored"), file=sys.stderr)
    return 0 if n_ok else 1


def _add_detail(records, args) -> None:
    """``--detail`` / ``--faces``: the photo at 100 % added to each record (piaa.cli.score_detail)."""
    from piaa.cli.score_detail import add_fields, wanted

    if wanted(args):
        add_fields(records, args)


def _extended(text: str, records, args) -> str:
    from piaa.cli.score_detail import extend_text

    return extend_text(text, args.format, records, args)


def model_names(model, quality: bool = False) -> list:
    """``--model a,b`` (+ ``--quality``) -> the model names, in order, without repeats (None = default)."""
    names = [None] if model is None else [m.strip() for m in str(model).split(",") if m.strip()]
    if quality:
        names.append("quality")
    seen, out = set(), []
    for n in names:
        key = "default" if n in (None, "default", "beauty") else n
        if key not in seen:
            seen.add(key)
            out.append(n)
    return out


def render_many(records, fmt: str, scorers) -> str:
    """Several models' scores per photo: JSON records ``{"path", "scores": {...}}``, CSV or a text table."""
    if fmt == "json":
        return json.dumps(records, indent=2) + "\n"
    labels = next((list(r["scores"]) for r in records if "scores" in r), None)
    if labels is None:  # nothing scored: the labels as score_many would name them
        crits = [s.criterion for s in scorers]
        labels = [c if crits.count(c) == 1 else s.name for s, c in zip(scorers, crits)]
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["path"] + labels + ["error"])
        for r in records:
            if "scores" in r:
                w.writerow([r["path"]] + [f"{r['scores'][k]:.4f}" for k in labels] + [""])
            else:
                w.writerow([r["path"]] + [""] * len(labels) + [r["error"]])
        return buf.getvalue()
    heads = [f"{k} ({s.score_range[0]:g}-{s.score_range[1]:g})" for k, s in zip(labels, scorers)]
    shown = [terminal_text(r["path"]) for r in records]  # a table is for a terminal: no raw control characters
    width = min(max([len(p) for p in shown] + [4]), 80)
    lines = [f"{'path':<{width}}  " + "  ".join(heads)]
    for r, path in zip(records, shown):
        if "scores" in r:
            cells = "  ".join(f"{r['scores'][k]:<{len(h)}.3f}" for k, h in zip(labels, heads))
        else:
            cells = f"error: {terminal_text(r['error'])}"
        lines.append(f"{path:<{width}}  {cells}".rstrip())
    return "\n".join(lines) + "\n"


def render(records, fmt: str, scorer) -> str:
    """Records as JSON (a list), CSV (path, score, error, p1..pN) or an aligned text table."""
    if fmt == "json":
        return json.dumps(records, indent=2) + "\n"
    values = [float(v) for v in scorer.bucket_values]
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["path", "score", "error"] + [f"p_{v:g}" for v in values])
        for r in records:
            if "score" in r:
                w.writerow([r["path"], f"{r['score']:.4f}", ""] + [f"{p:.4f}" for p in r["distribution"]])
            else:
                w.writerow([r["path"], "", r["error"]] + [""] * len(values))
        return buf.getvalue()
    lo, hi = scorer.score_range
    shown = [terminal_text(r["path"]) for r in records]  # a table is for a terminal: no raw control characters
    width = min(max([len(p) for p in shown] + [4]), 80)
    lines = [f"{'path':<{width}}  score ({lo:g}-{hi:g})"]
    for r, path in zip(records, shown):
        cell = f"{r['score']:.3f}" if "score" in r else f"error: {terminal_text(r['error'])}"
        lines.append(f"{path:<{width}}  {cell}")
    return "\n".join(lines) + "\n"
