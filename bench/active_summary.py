"""Random vs active supports from RESULT.json files of ``piaa evaluate`` (experiments/active_*.toml).

    python bench/active_summary.py results/active_heldback.json [more.json ...] [--method probe-prior]

Prints, per file, a Markdown table: SROCC of METHOD (random supports) and METHOD@active per number of ratings, the
paired gain (mean over people of the per-person difference, same people, same queries) with its standard error,
and how many ratings the active curve needs to reach random's accuracy at 50 and 100 ratings (linear
interpolation between the measured k; "> K" when it is not reached within the measured range).
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np


def needed(curve: dict, target: float):
    ks = sorted(curve)
    if not ks:
        return None
    if curve[ks[0]] >= target:
        return f"<= {ks[0]}"
    for a, b in zip(ks, ks[1:]):
        if curve[b] >= target:
            t = a + (target - curve[a]) / (curve[b] - curve[a]) * (b - a)
            return f"{t:.0f}"
    return f"> {ks[-1]}"


def summarize(res: dict, method: str) -> str:
    plain, act = res["methods"][method], res["methods"][f"{method}@active"]
    gen = res.get("zero_shot_on_queries", {}).get("generic", {})
    ks = sorted((int(k) for k in plain if k in act), key=int)
    lines = ["| ratings | generic | random | active | gain (paired) | people |", "|---|---|---|---|---|---|"]
    curve_r, curve_a = {}, {}
    for k in ks:
        p, a = plain[str(k)], act[str(k)]
        common = [u for u, v in p["per_person"].items() if v is not None and a["per_person"].get(u) is not None]
        d = np.array([a["per_person"][u] - p["per_person"][u] for u in common])
        se = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else float("nan")
        g = gen.get(str(k), {}).get("srocc_mean")
        curve_r[k], curve_a[k] = p["srocc_mean"], a["srocc_mean"]
        lines.append(f"| {k} | {'' if g is None else f'{g:.3f}'} | {p['srocc_mean']:.3f} | {a['srocc_mean']:.3f} | "
                     f"{d.mean():+.3f} ± {se:.3f} | {len(d)} |")
    for k in (50, 100):
        if k in curve_r:
            lines.append(f"\nratings active needs to reach random's {k}-rating accuracy ({curve_r[k]:.3f}): "
                         f"{needed(curve_a, curve_r[k])}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", nargs="+")
    ap.add_argument("--method", default="probe-prior")
    a = ap.parse_args(argv)
    for path in a.results:
        res = json.load(open(path))
        env = res["experiment"].get("environment", {})
        print(f"### {res['experiment']['name']} ({path}; {env.get('date', '')}, commit {env.get('git_commit', '')})\n")
        print(summarize(res, a.method))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
