"""End-to-end `piaa score DIR --no-cache` wall time: the default engine vs `--engine torch`, alternated.

    .venv/bin/python bench/score_cli.py [--images DIR] [--repeats 3] [--limit N]

Each repeat runs the two commands one after the other as fresh processes (start-up, model load, engine build,
decode, network, head, CSV writing: everything a user waits for), alternating which goes first. Reports
every wall time and CPU time (children's user+sys), the median wall ratio default/torch, and how well the two
engines' scores agree (SROCC, max |diff|). Prints JSON.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np


def run(cmd, env):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def read_scores(path):
    with open(path, newline="") as f:
        return {r["path"]: float(r["score"]) for r in csv.DictReader(f) if r["score"]}


def main(argv=None) -> int:
    from piaa.metrics import srocc
    from piaa.paths import shared_data_dir

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", default=str(shared_data_dir() / "oasis" / "images"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--limit", type=int, default=0, help="score only the first N photos (a path list)")
    ap.add_argument("--engines", default="auto,torch", help="the two --engine values to compare")
    args = ap.parse_args(argv)
    exe = [sys.executable, "-m", "piaa.cli.main"]
    env = dict(os.environ)
    tmp = tempfile.mkdtemp(prefix="piaa-bench-")
    inputs = [args.images]
    if args.limit:
        from piaa.io.discovery import iter_image_files

        inputs = [str(p) for p in iter_image_files(args.images)[:args.limit]]
    a, b = args.engines.split(",")
    times = {a: [], b: []}
    cpu = {a: [], b: []}
    outs = {}
    for rep in range(args.repeats):
        order = (a, b) if rep % 2 == 0 else (b, a)
        for eng in order:
            out = os.path.join(tmp, f"{eng}.csv")
            wall, c = run(exe + ["score", *inputs, "--no-cache", "--engine", eng, "--format", "csv", "-q",
                                 "-o", out], env)
            times[eng].append(round(wall, 3))
            cpu[eng].append(round(c, 3))
            outs[eng] = out
            print(f"repeat {rep + 1} {eng}: {wall:.2f} s wall, {c:.2f} s CPU", file=sys.stderr)
    sa, sb = read_scores(outs[a]), read_scores(outs[b])
    common = sorted(set(sa) & set(sb))
    x, y = np.array([sa[k] for k in common]), np.array([sb[k] for k in common])
    ratios = [ta / tb for ta, tb in zip(times[a], times[b])]
    rep = {
        "images": args.images, "n_photos": len(common), "repeats": args.repeats,
        "wall_s": times, "cpu_s": cpu, "ratio_per_repeat": [round(r, 3) for r in ratios],
        "median_wall_ratio": round(statistics.median(ratios), 3),
        "cpu_ratio": round(statistics.median(cpu[a]) / statistics.median(cpu[b]), 3),
        "cpu_ms_per_photo": {e: round(1000 * statistics.median(cpu[e]) / max(len(common), 1), 2) for e in cpu},
        "srocc": round(float(srocc(x, y)), 5), "max_abs_diff": float(np.max(np.abs(x - y))) if len(x) else None,
        "load_average_1m": os.getloadavg()[0], "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
    }
    json.dump(rep, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
