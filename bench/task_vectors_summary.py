"""Summarize an evaluation runner's checkpoints (also while it is still running, or for folds done so far).

    python bench/task_vectors_summary.py RESULT.work [--methods task-vectors,probe]

Per method and shot count: mean over people of each person's mean SROCC over trials (docs/design.md §3), the folds
included, the number of people and the mean wall-clock seconds per person-trial as the runner measured them.
"""
from __future__ import annotations

import argparse
import glob
import json
import os

import numpy as np


def _num(v):
    return np.nan if v is None else float(v)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workdir")
    ap.add_argument("--methods", default=None)
    a = ap.parse_args(argv)
    rows = {}
    for fn in sorted(glob.glob(os.path.join(a.workdir, "checkpoints", "*", "*.json"))):
        rec = json.load(open(fn))
        method = rec.get("method") or os.path.basename(os.path.dirname(fn))
        if a.methods and method not in a.methods.split(","):
            continue
        for k, cell in rec["shots"].items():
            r = rows.setdefault((method, int(k)), {"folds": [], "srocc": [], "seconds": [], "n": 0, "prep": []})
            r["folds"].append(rec.get("fold") or os.path.splitext(os.path.basename(fn))[0])
            r["prep"].append(rec.get("prepare_seconds", 0.0))
            for _person, vals in cell["srocc"].items():
                r["srocc"].append(np.nanmean([_num(v) for v in vals]) if vals else np.nan)
            for vals in cell["seconds"].values():
                r["seconds"] += [_num(v) for v in vals]
    print(f"{'method':20s} {'k':>4s} {'SROCC':>7s} {'people':>7s} {'s/trial':>8s} {'prepare s':>9s}  folds")
    for (m, k), r in sorted(rows.items()):
        print(f"{m:20s} {k:>4d} {np.nanmean(r['srocc']):7.4f} {len(r['srocc']):7d} {np.nanmean(r['seconds']):8.4f} "
              f"{np.mean(r['prep']):9.1f}  {','.join(sorted(set(r['folds'])))}")


if __name__ == "__main__":
    main()
