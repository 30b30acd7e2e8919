"""The ``--ray`` options of ``piaa score``: SOURCE -> one parquet file, scored on Ray Data (piaa.distributed)."""
from __future__ import annotations

import sys
from piaa.cli.options import fail



def add_ray_options(p) -> None:
    g = p.add_argument_group(
        "distributed scoring (Ray Data)",
        "With --ray, PATH is one SOURCE: a folder (recursive), a text file of paths, a .parquet file with a "
        "`path` column (relative paths: from the list's folder), or webdataset .tar/.tar.gz shards (a shard, a "
        "folder of shards, a glob or a brace pattern such as shards-{000000..000009}.tar); --output must be a "
        ".parquet file: path (or key + shard), score, distribution, one column per extra model and profile, "
        "error.")
    g.add_argument("--ray", action="store_true", help="score on Ray Data (local Ray unless --ray-address)")
    g.add_argument("--ray-address", metavar="ADDR", default=None,
                   help="address of a running Ray cluster (e.g. ray://head:10001 or auto)")
    g.add_argument("--workers", type=int, default=None, metavar="N",
                   help="scoring workers (default: one per core, or per CPU of the cluster)")
    g.add_argument("--resume", action="store_true",
                   help="continue an interrupted run with the same SOURCE and --output (finished parts are kept; "
                        "parts with a failed photo are scored again)")
    g.add_argument("--part-size", type=int, default=None, metavar="N",
                   help="photos per output part, the unit that is written atomically and resumed (default 128; use thousands on a cluster)")
    g.add_argument("--profile", action="append", default=[], metavar="NAME",
                   help="also score with this personal profile (repeatable): column profile_NAME")
    g.add_argument("--store", metavar="PATH", default=None, help="profile store file (default: user data dir)")


def ray_only_options(args) -> list:
    """The --ray options given without --ray."""
    given = [("--ray-address", args.ray_address), ("--workers", args.workers), ("--resume", args.resume),
             ("--part-size", args.part_size),
             ("--profile", args.profile), ("--store", args.store)]
    return [name for name, value in given if value]


def run_score_ray(args) -> int:
    import os

    from piaa.distributed.pipeline import run_distributed

    if len(args.paths) != 1:
        return fail("--ray scores one SOURCE (a folder, a path list, a parquet file or tar shards)", 2)
    if not args.output:
        return fail("--ray needs --output OUT.parquet", 2)
    if getattr(args, "max_pixels", None) is not None:  # local Ray workers inherit the environment
        os.environ["PIAA_MAX_PIXELS"] = str(args.max_pixels)
    models = None
    if args.model:
        models = [m.strip() for m in args.model.split(",") if m.strip()]
    summary = run_distributed(args.paths[0], args.output, models=models, profiles=args.profile,
                              ray_address=args.ray_address, workers=args.workers, resume=args.resume,
                              engine=args.engine, cache=None if args.no_cache else "default",
                              batch_size=args.batch_size, progress=not args.quiet, profile_store=args.store,
                              **({"part_size": args.part_size} if args.part_size else {}))
    if summary.n_scored >= 0:
        print(f"{summary.n_scored} scored, {summary.n_errors} error{'' if summary.n_errors == 1 else 's'} -> "
              f"{summary.output} ({summary.images_per_s:.1f} images/s, {summary.workers} workers, "
              f"{summary.worker_cpu_ms_per_photo:.1f} CPU ms per photo in the workers)",
              file=sys.stderr)
    return 0 if summary.n_scored != 0 else 1
