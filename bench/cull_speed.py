"""How much slower `piaa cull` with every check at 100 % is than `piaa score`, cold, on 24 MP JPEGs (prints JSON).

    .venv/bin/python bench/cull_speed.py --root /tmp/detail-pkgs/ex --out /tmp/detail-24mp-bursts [--repeats 2]
        [--baseline-src /work/main/src]

Makes 8 bursts of 5 frames at 6000 x 4000 (24 MP) from the wallpaper photographs of bench/cull_bursts.py
(upsampled: fine for timing, not for judging sharpness; one frame of each burst sharp, the others defocused),
JPEG quality 90. Then, ``--repeats`` times, alternating: a cold ``piaa score`` of the folder and a cold
``piaa cull`` of the same folder (every check on: eyes, focus, motion; the quality model when installed), each
a fresh process with an empty feature cache (``PIAA_CACHE`` in a new temporary folder). Reports wall times, the
ratio cull / score per round, and where cull's time went (its report's ``seconds``: scores = features + taste
+ quality; checks_decode / checks_faces / checks_measure summed over photos, overlapping in 2 threads).
After each cold cull, the same cull again on the cache it left (``cull_warm``: features and the detail cache
warm). ``--baseline-src``: also a cold cull by the code in that ``src`` folder (another checkout) in every
round, so a before/after ratio comes from the same session. This checkout's ``src`` runs the others.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from cull_bursts import SOURCES, _save, defocus  # noqa: E402  (the same photographs and blur)


def make(root: Path, out: Path, n_bursts: int = 8) -> list:
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    t = datetime(2026, 6, 3, 9, 0, 0)
    files = []
    for b, rel in enumerate(SOURCES[:n_bursts]):
        big = np.asarray(Image.open(root / rel).convert("RGB").resize((6000, 4000), Image.BILINEAR), np.float32)
        for k in range(5):
            p = out / f"b{b}_{k}.jpg"
            if not p.exists():
                f = big if k == 0 else defocus(big, float(rng.uniform(1.0, 2.0)))
                _save(f, p, t + timedelta(seconds=0.4 * k))
            files.append(p)
        t += timedelta(minutes=2)
    return files


def timed(cmd, env) -> tuple:
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {r.stderr[-500:]}")
    return time.perf_counter() - t, r.stdout


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--baseline-src", type=Path, default=None,
                    help="a src folder of another checkout: its cold cull is timed in every round too")
    a = ap.parse_args(argv)
    files = make(a.root, a.out)
    piaa = [sys.executable, "-m", "piaa.cli.main"]
    src = str(HERE.parent / "src")
    score = ["score", str(a.out), "-q", "--format", "json"]
    cull = ["cull", str(a.out), "-q", "--format", "json"]
    runs = [("score", score, src), ("cull", cull, src)]
    if a.baseline_src is not None:
        runs.append(("cull_before", cull, str(a.baseline_src)))
    rounds = []
    for _ in range(a.repeats):
        row: dict = {}
        for name, args, code in runs:
            with tempfile.TemporaryDirectory(prefix="detail-cache-") as tmp:
                env = dict(os.environ, PIAA_CACHE=str(Path(tmp) / "features.sqlite"), PYTHONPATH=code)
                secs, out = timed(piaa + args, env)
                if name == "cull":   # again, on the cache the cold run left
                    row["cull_warm"] = round(timed(piaa + args, env)[0], 2)
            row[name] = round(secs, 2)
            if name.startswith("cull"):
                rep = json.loads(out)
                row[name + "_seconds"] = rep["seconds"]
                row["notes"] = rep["notes"]
                row["groups"] = rep["groups_of_2_or_more"]
        row["ratio"] = round(row["cull"] / row["score"], 2)
        row["ratio_warm"] = round(row["cull_warm"] / row["score"], 2)
        if "cull_before" in row:
            row["ratio_before"] = round(row["cull_before"] / row["score"], 2)
        rounds.append(row)
    summary = {"photos": len(files), "megapixels": 24.0, "rounds": rounds}
    for k in ("ratio", "ratio_warm", "ratio_before"):
        if all(k in r for r in rounds):
            summary[k + "_mean"] = round(float(np.mean([r[k] for r in rounds])), 2)
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
