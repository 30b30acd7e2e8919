"""What the native-resolution evidence costs: cold scoring time of the beauty model, quality v1 and quality v2.

    PYTHONPATH=src .venv/bin/python bench/quality_native_speed.py FOLDER [--repeat N]

No feature cache (every photo decoded and run through the network each time), the ONNX engine warmed up
first, every model timed in the same process on the same files; prints JSON with seconds per photo and each
model's time as a ratio of the beauty model's (the default ``piaa score``).
"""
from __future__ import annotations

import argparse
import json
import sys
import time


def main(argv=None) -> int:
    from piaa import load_scorer
    from piaa.io.discovery import iter_image_files

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args(argv)
    paths = sorted(iter_image_files([args.folder], recursive=False))
    models = {"beauty (default)": "beauty", "quality v1 (piaa-quality-lite0)": "piaa-quality-lite0",
              "quality v2 (piaa-quality-native-lite0)": "quality"}
    scorers = {k: load_scorer(m, cache=None) for k, m in models.items()}
    for s in scorers.values():  # build/verify the engines before timing
        s.score(paths[:1])
    best = {}
    for _ in range(args.repeat):  # interleaved, best of N: the shared machine's load varies
        for k, s in scorers.items():
            t = time.perf_counter()
            s.score(paths)
            best[k] = min(best.get(k, float("inf")), time.perf_counter() - t)
    base = best["beauty (default)"]
    out = {"folder": str(args.folder), "n_photos": len(paths), "repeat": args.repeat,
           "seconds_per_photo": {k: round(v / len(paths), 4) for k, v in best.items()},
           "ratio_to_beauty": {k: round(v / base, 2) for k, v in best.items()}}
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
