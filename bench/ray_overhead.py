"""`piaa score DIR --ray` against single-process `piaa score DIR`, and 1 vs 2 Ray workers. Prints JSON.

    .venv/bin/python bench/ray_overhead.py [--images DIR] [--rounds 1] [--workers 1,2]

Every run is a fresh `piaa score ... --no-cache` process (start-up, Ray start, engine build and verification,
decode, network, head, output file). One round = single-process, then `--ray --workers N` for each N, the
order rotated between rounds. Reports wall times, Ray's overhead relative to single-process in the same
round, images/s, and the agreement of the Ray output with the single-process one: row count, duplicates,
max |score diff| over every photo (the issue asks for <= 1e-3 on a sample).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def timed(cmd):
    """(wall s, CPU ms per photo): the children's CPU for single-process, the workers' own report for Ray."""
    import re
    import resource

    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{p.stderr[-3000:]}")
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    m = re.search(r"([0-9.]+) CPU ms per photo in the workers", p.stderr)
    cpu = float(m.group(1)) if m else None
    return wall, cpu, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def main(argv=None) -> int:
    import pyarrow.parquet as pq

    from piaa.paths import shared_data_dir

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", default=str(shared_data_dir() / "biq2021" / "images"))
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--workers", default="2,1")
    args = ap.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="piaa-ray-bench-")
    exe = [sys.executable, "-m", "piaa.cli.main", "score", args.images, "--no-cache", "-q"]
    runs = ["single"] + [f"ray{w}" for w in args.workers.split(",")]
    wall = {r: [] for r in runs}
    cpu = {r: [] for r in runs}
    for rnd in range(args.rounds):
        order = runs[rnd % len(runs):] + runs[:rnd % len(runs)]
        for r in order:
            if r == "single":
                cmd = exe + ["--recursive", "--format", "csv", "-o", os.path.join(tmp, "single.csv")]
            else:
                out = os.path.join(tmp, f"{r}.parquet")
                if os.path.exists(out):
                    os.unlink(out)
                cmd = exe + ["--ray", "--workers", r[3:], "--output", out]
            w, c_workers, c_children = timed(cmd)
            wall[r].append(round(w, 2))
            cpu[r].append(c_workers if r != "single" else c_children)  # single: CPU seconds, per photo below
            print(f"round {rnd + 1} {r}: {wall[r][-1]} s", file=sys.stderr)
    with open(os.path.join(tmp, "single.csv"), newline="") as f:
        single = {row["path"]: float(row["score"]) for row in csv.DictReader(f) if row["score"]}
    for r in cpu:  # single-process: children's CPU over the photos scored
        if r == "single":
            cpu[r] = [round(1000 * c / len(single), 2) for c in cpu[r]]
    rep = {"images": args.images, "rounds": args.rounds, "wall_s": wall, "n_single": len(single),
           "cpu_ms_per_photo": cpu}
    for r in runs[1:]:
        t = pq.read_table(os.path.join(tmp, f"{r}.parquet"), columns=["path", "score"]).to_pydict()
        paths = t["path"]
        diffs = [abs(s - single[p]) for p, s in zip(paths, t["score"]) if s is not None and p in single]
        med = statistics.median(wall[r])
        rep[r] = {"rows": len(paths), "unique_paths": len(set(paths)), "max_abs_diff_vs_single": max(diffs),
                  "compared": len(diffs), "images_per_s": round(len(paths) / med, 1),
                  "overhead_vs_single": [round(a / b - 1, 3) for a, b in zip(wall[r], wall["single"])]}
    rep["single_images_per_s"] = round(len(single) / statistics.median(wall["single"]), 1)
    rep["load_average_1m"] = os.getloadavg()[0]
    rep["date_utc"] = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    json.dump(rep, sys.stdout, indent=2, default=float)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
