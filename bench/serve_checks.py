"""`piaa serve`'s checks at 100 % in the background: their cost per grouped 24 MP photo, the restart that reads
them back, and the page times of a large library while they run (prints JSON).

    flock /tmp/piaa-heavy.lock nice .venv/bin/python bench/serve_checks.py --source ../shared/data/oasis/images \\
        --work /tmp/serve-checks --output docs/benchmarks/serve_checks.json

1. **Cost.** ``--bursts`` bursts of 5 frames at 6000 x 4000 (24 MP), made from the first ``--source`` photos
   (up-sampled: fine for timing, not for judging sharpness; frame 0 sharp, the others defocused σ 1-2 px), JPEG
   quality 92, under ``--work`` (never in the repository). A fresh ``piaa serve`` over them: the seconds from
   "ready" until the checks say ready, and the checks' own per-photo time (``checks.seconds_per_photo``); then a
   restart, and the seconds until the stored verdicts are read back.
2. **Pages while they run** (``--photos`` > 0): the library of ``bench/serve_scale.py`` (``--photos`` hard links of
   the ``--source`` photos under many folders, nearly all of them in groups), served twice in this session —
   ``--cull-checks none`` (the baseline) and the default (every check), alternating (``--runs``), each with a fresh
   data dir (no stored verdicts) — with the same requests as
   ``bench/serve_scale.py`` asked right after "ready", while the checks work through the groups (their progress is
   recorded before and after). Loopback only; each server is stopped after its requests.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from serve_scale import EXTS, Serve, build_library, client, measure  # noqa: E402


def make_bursts(source: Path, out: Path, n: int) -> int:
    from scipy.ndimage import gaussian_filter

    srcs = sorted(p for p in source.iterdir() if p.suffix.lower() in EXTS and not p.name.startswith("."))[:n]
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    t = datetime(2026, 6, 3, 9, 0, 0)
    made = 0
    for b, src in enumerate(srcs):
        big = np.asarray(Image.open(src).convert("RGB").resize((6000, 4000), Image.BILINEAR), np.float32)
        for k in range(5):
            p = out / f"b{b}_{k}.jpg"
            if not p.exists():
                f = big if k == 0 else gaussian_filter(big, (float(rng.uniform(1, 2)),) * 2 + (0,))
                ex = Image.Exif()
                ex.get_ifd(0x8769)[36867] = (t + timedelta(seconds=k)).strftime("%Y:%m:%d %H:%M:%S")
                Image.fromarray(np.clip(f + 0.5, 0, 255).astype(np.uint8)).save(p, "JPEG", quality=92, exif=ex)
                made += 1
        t += timedelta(minutes=2)
    return made


def wait(c, until, timeout: float = 3600.0, step: float = 0.5) -> tuple:
    """(seconds, last /api/library answer) until ``until(answer)``."""
    t0 = time.perf_counter()
    while True:
        s = c.get("/api/library").json()
        if until(s):
            return round(time.perf_counter() - t0, 2), s
        if s["state"] == "error" or time.perf_counter() - t0 > timeout:
            raise SystemExit(f"gave up waiting: {s}")
        time.sleep(step)


def cost(lib: Path, work: Path, src: Path) -> dict:
    out = {}
    for run in ("fresh", "restart"):
        srv = Serve(lib, work, src, data=work / "data")      # the restart keeps the data dir (the stored verdicts)
        try:
            c = client(srv.url, "bench")
            _, _ = wait(c, lambda s: s["ready"])
            secs, s = wait(c, lambda s: s["checks"]["state"] != "running", step=0.2)
            out[run] = {"seconds_after_ready": secs, "checks": s["checks"]}
            b = c.get("/api/bursts").json()
            out[run]["picks_sharp"] = sum(1 for g in b["groups"] if any(m["id"] == g["pick"] and m["name"].endswith(
                "_0.jpg") for m in g["members"]))
            out[run]["groups"] = b["total"]
        finally:
            srv.stop()
    return out


def pages(lib: Path, work: Path, src: Path, checks: str, rated: int, name: str) -> dict:
    srv = Serve(lib, work, src, extra=["--cull-checks", checks], data=work / f"data-{name}")
    try:
        c = client(srv.url, "ranker")
        ready, _ = wait(c, lambda s: s["ready"], step=2)
        before = c.get("/api/library").json()["checks"]
        res = measure(srv.url, rated)
        after = c.get("/api/library").json()["checks"]
    finally:
        srv.stop()
    return {"server_ready_s": ready, "checks_before": before, "checks_after": after, **res}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", type=Path, required=True, help="folder of photos (bursts are made from the first)")
    ap.add_argument("--work", type=Path, required=True, help="scratch folder (libraries, server data, cache)")
    ap.add_argument("--bursts", type=int, default=4, help="24 MP bursts of 5 frames for the cost (0: skip)")
    ap.add_argument("--photos", type=int, default=20000, help="library size for the page times (0: skip)")
    ap.add_argument("--rated", type=int, default=30)
    ap.add_argument("--runs", default="none,all,none,all", help="--cull-checks of each page-time server, in order "
                                                                "(alternating: the load of a shared machine drifts)")
    ap.add_argument("--src", type=Path, default=HERE.parent / "src", help="the piaa code to run")
    ap.add_argument("--output", type=Path)
    a = ap.parse_args(argv)
    a.work.mkdir(parents=True, exist_ok=True)
    out = {"date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
           "command": "bench/serve_checks.py " + " ".join(argv if argv is not None else sys.argv[1:]),
           "load_average_at_start": [round(x, 1) for x in os.getloadavg()]}
    src = a.src.resolve()
    if a.bursts:
        made = make_bursts(a.source, a.work / "bursts24", a.bursts)
        out["cost"] = {"photos": 5 * a.bursts, "made": made, **cost(a.work / "bursts24", a.work / "cost", src)}
    if a.photos:
        build_library(a.source, a.work / "library", a.photos)
        out["pages"] = []
        for k, checks in enumerate(a.runs.split(",")):     # the baseline (none) and every check, alternating
            run = pages(a.work / "library", a.work / "pages", src, checks, a.rated, f"{k}-{checks}")
            out["pages"].append({"cull_checks": checks, **run})
    text = json.dumps(out, indent=2)
    print(text)
    if a.output:
        a.output.parent.mkdir(parents=True, exist_ok=True)
        a.output.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
