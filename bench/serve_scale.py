"""First-page speed of `piaa serve` on a large library: the ranking and the bursts a person opens first.

    flock /tmp/piaa-heavy.lock nice .venv/bin/python bench/serve_scale.py --source ../shared/data/oasis/images \\
        --photos 20000 --work /tmp/webapp-scale --output docs/benchmarks/serve_scale.json

The library is made of the ``--source`` photos under many names and folders (hard links, copies where linking
is not possible), in ``--work`` and never in the repository: photo k is ``shootNN/<source name>`` with
``NN = k // len(sources)``. Features come from the shared feature cache (``--work``/home keeps it between
runs), so after the first run only the service's own work is measured.

Once every photo is analysed, a person who rated ``--rated`` photos and has a profile asks, in this order:
``GET /api/ranking?limit=24`` (the library's first page), three later pages, the same with ``stack=true`` (what
the page asks: bursts stacked), the first page by date, ``GET /api/bursts`` (the first bursts page, 100 groups)
and three later bursts pages, the same with 20 groups a page (what the Cull view asks); then a newcomer (no ratings) asks for the first ranking and bursts pages. Each
time is the wall time of the HTTP request over loopback. ``--src`` runs another checkout's code (a baseline).

Copies of one photo have the same features, and the grouping finds them without comparing them pairwise; so
the grouping is also timed in process on ``--grouping-rows`` *distinct* rows (the source photos' features, each
copy scaled channel by channel by a random factor in 0.7-1.3 — near-duplicates, not copies), with one BLAS
thread as the server runs it: the fast search (:mod:`piaa.profiles.similar_pairs`) against comparing every pair
at full width, the way it was done before (``all_pairs`` below), with the same groups required of both.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PW = "bench-password-123"
EXTS = {".jpg", ".jpeg", ".png", ".webp"}


def build_library(source: Path, out: Path, n: int) -> int:
    """``n`` photos under ``out`` made from the photos of ``source``; returns how many were new."""
    srcs = sorted(p for p in source.iterdir() if p.suffix.lower() in EXTS and not p.name.startswith("."))
    if not srcs:
        raise SystemExit(f"no photos in {source}")
    made = 0
    for k in range(n):
        src = srcs[k % len(srcs)]
        dst = out / f"shoot{k // len(srcs):02d}" / src.name
        if dst.exists():
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(src, dst)
        except OSError:
            shutil.copyfile(src, dst)
        made += 1
    return made


class Serve:
    def __init__(self, library: Path, work: Path, src: Path, extra=(), data: Path = None):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.work = work
        self.env = dict(os.environ, PIAA_HOME=str(work / "home"), PIAA_CACHE=str(work / "home" / "features.sqlite"),
                        PYTHONPATH=str(src))
        self.env.pop("PIAA_DATABASE_URL", None)
        data = data or work / "data"
        data.mkdir(parents=True, exist_ok=True)
        self.log = open(data / "server.log", "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "piaa.cli.main", "serve", "--library", str(library),
                                      "--data-dir", str(data), "--port", str(self.port), "--allow-signup",
                                      "--log-level", "warning", *extra], env=self.env, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        import httpx

        for _ in range(1200):
            if self.proc.poll() is not None:
                raise SystemExit(f"piaa serve exited; see {data / 'server.log'}")
            try:
                if httpx.get(self.url + "/api/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise SystemExit("piaa serve did not start")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def client(url: str, name: str):
    import httpx

    c = httpx.Client(base_url=url, timeout=600)
    c.post("/api/signup", json={"username": name, "password": PW})        # 409 when it exists (a rerun)
    r = c.post("/api/token", json={"username": name, "password": PW})
    r.raise_for_status()
    c.headers["Authorization"] = "Bearer " + r.json()["token"]
    return c


def timed(c, path: str, **params) -> tuple:
    t = time.perf_counter()
    r = c.get(path, params=params)
    dt = time.perf_counter() - t
    r.raise_for_status()
    return round(dt, 3), r.json()


def later(c, path: str, step: int, tries: int = 3, **params) -> dict:
    """Pages 2-4 (``offset`` = step, 2 step, 3 step), each asked ``tries`` times: the median and the slowest of
    all those calls (one call alone says little on a machine other jobs share)."""
    import numpy as np

    t = [timed(c, path, offset=step * k, **params)[0] for k in (1, 2, 3) for _ in range(tries)]
    return {"median_s": round(float(np.median(t)), 3), "max_s": max(t), "calls": len(t)}


def measure(url: str, rated: int) -> dict:
    c = client(url, "ranker")
    ids = []
    for off in range(0, 5000, 1000):
        page = c.get("/api/images", params={"offset": off, "limit": 1000}).json()["images"]
        ids += [im["id"] for im in page]
        if len(page) < 1000:
            break
    for k, i in enumerate(ids[:rated]):
        c.put(f"/api/ratings/{i}", json={"rating": 1 + k % 5})
    r = c.post("/api/profile")
    r.raise_for_status()
    out = {}
    out["ranking_first_s"], first = timed(c, "/api/ranking", limit=24)
    out["ranking_later"] = later(c, "/api/ranking", 24, limit=24)
    out["ranking_total"] = first["total"]
    page = {"limit": 24, "stack": "true", "hide_rejects": "false"}          # what the page asks for
    out["page_stacked_first_s"], st = timed(c, "/api/ranking", **page)
    out["page_stacked_later"] = later(c, "/api/ranking", 24, **page)
    out["page_stacked_cards"] = st["total"]
    out["page_by_date_s"] = timed(c, "/api/ranking", order="date", **page)[0]
    out["bursts_first_s"], b = timed(c, "/api/bursts")
    out["bursts_later"] = later(c, "/api/bursts", 100)
    out["bursts_groups"], out["photos_in_groups"] = b["total"], b["photos_in_groups"]
    out["page_bursts_first_s"] = timed(c, "/api/bursts", limit=20)[0]          # what the Cull view asks
    out["page_bursts_later"] = later(c, "/api/bursts", 20, limit=20)
    newcomer = client(url, "newcomer")
    out["newcomer_ranking_first_s"] = timed(newcomer, "/api/ranking", limit=24)[0]
    out["newcomer_bursts_first_s"] = timed(newcomer, "/api/bursts")[0]
    return out


def all_pairs(E, seconds, s, block: int = 1024):
    """The previous way: every photo against every other at full width, blockwise (the baseline)."""
    import numpy as np

    out = []
    lo = min(s.duplicate_similarity, s.burst_similarity)
    for a in range(0, len(E), block):
        S = E[a:a + block] @ E.T
        for r, c in zip(*np.nonzero(S >= lo)):
            i, j = a + int(r), int(c)
            if j <= i:
                continue
            dt = abs(seconds[i] - seconds[j])
            if S[r, c] >= s.duplicate_similarity or (np.isfinite(dt) and dt <= s.burst_seconds
                                                     and S[r, c] >= s.burst_similarity):
                out.append((i, j, float(S[r, c])))
    return out


def grouping(source: Path, rows: int, work: Path, src: Path) -> dict:
    """Group ``rows`` distinct near-duplicate rows in process: the fast search against all pairs."""
    os.environ.setdefault("PIAA_HOME", str(work / "home"))
    os.environ.setdefault("PIAA_CACHE", str(work / "home" / "features.sqlite"))
    sys.path.insert(0, str(src))
    import numpy as np
    from threadpoolctl import threadpool_limits

    from piaa.profiles import cull
    from piaa.profiles.generic import load_generic

    paths = sorted(str(p) for p in source.iterdir() if p.suffix.lower() in EXTS and not p.name.startswith("."))
    X, errors = load_generic(None).features(paths)
    X = np.asarray(X, dtype=np.float64)[[i for i in range(len(paths)) if i not in errors]]
    rng = np.random.default_rng(0)
    reps = -(-rows // len(X))
    Y = np.concatenate([X * rng.uniform(0.7, 1.3, X.shape) for _ in range(reps)])[:rows]
    times = [None] * len(Y)
    out = {"rows": len(Y), "features": int(Y.shape[1])}
    with threadpool_limits(1, user_api="blas"):
        fast_links = cull.links
        for name, how in (("fast", fast_links), ("all_pairs", all_pairs)):
            cull.links = how
            t = time.perf_counter()
            groups = cull.group_indices(Y, times)
            out[f"{name}_s"] = round(time.perf_counter() - t, 2)
            out[f"{name}_groups"] = len([g for g in groups if len(g) > 1])
            out[f"{name}_partition"] = sorted(sorted(g) for g in groups)
        cull.links = fast_links
    out["same_groups"] = out.pop("fast_partition") == out.pop("all_pairs_partition")
    out["speedup"] = round(out["all_pairs_s"] / max(out["fast_s"], 1e-9), 1)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", type=Path, required=True, help="folder of photos to repeat")
    ap.add_argument("--photos", type=int, default=20000)
    ap.add_argument("--work", type=Path, required=True, help="scratch folder (library, server data, cache)")
    ap.add_argument("--rated", type=int, default=30, help="photos the measured person rates before the profile")
    ap.add_argument("--src", type=Path, default=REPO / "src", help="the piaa code to run (another checkout's src)")
    ap.add_argument("--grouping-rows", type=int, default=20000, help="distinct rows of the in-process grouping "
                                                                       "timing (0: skip it)")
    ap.add_argument("--output", type=Path)
    a = ap.parse_args(argv)
    a.work.mkdir(parents=True, exist_ok=True)
    load = [round(x, 1) for x in os.getloadavg()]
    made = build_library(a.source, a.work / "library", a.photos)
    t0 = time.perf_counter()
    srv = Serve(a.work / "library", a.work, a.src.resolve())
    try:
        watcher = client(srv.url, "ranker")
        while True:
            p = watcher.get("/api/library").json()
            if p["state"] == "ready":
                break
            if p["state"] == "error":
                raise SystemExit(f"analysis failed: {p['message']}")
            time.sleep(2)
        ready = round(time.perf_counter() - t0, 1)
        res = measure(srv.url, a.rated)
    finally:
        srv.stop()
    out = {"date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
           "command": "bench/serve_scale.py " + " ".join(argv if argv is not None else sys.argv[1:]),
           "load_average_at_start": load, "photos": a.photos, "new_links": made, "server_ready_s": ready, **res}
    if a.grouping_rows:
        out["grouping"] = grouping(a.source, a.grouping_rows, a.work, a.src.resolve())
    text = json.dumps(out, indent=2)
    print(text)
    if a.output:
        a.output.parent.mkdir(parents=True, exist_ok=True)
        a.output.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
