"""First-page speed of `piaa serve` on a large library: the ranking and the bursts a person opens first.

    flock /tmp/piaa-heavy.lock nice .venv/bin/python bench/serve_scale.py --source ../shared/data/oasis/images \\
        --photos 20000 --work /tmp/webapp-scale --output docs/benchmarks/serve_scale.json

The library is made of the ``--source`` photos under many names and folders (hard links, copies where linking
is not possible), in ``--work`` and never in the repository: photo k is ``shootNN/<source name>`` with
``NN = k // len(sources)``. Features come from the shared feature cache (``--work``/home keeps it between
runs), so after the first run only the service's own work is measured.

Once every photo is analysed, a person who rated ``--rated`` photos and has a profile asks, in this order:
``GET /api/ranking?limit=24`` (the library's first page), three later pages, ``GET /api/bursts`` (the first
bursts page) and three later bursts pages; then a newcomer (no ratings) asks for the first ranking page. Each
time is the wall time of the HTTP request over loopback. ``--src`` runs another checkout's code (a baseline).
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
    def __init__(self, library: Path, work: Path, src: Path):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.work = work
        self.env = dict(os.environ, PIAA_HOME=str(work / "home"), PIAA_CACHE=str(work / "home" / "features.sqlite"),
                        PYTHONPATH=str(src))
        self.env.pop("PIAA_DATABASE_URL", None)
        self.log = open(work / "server.log", "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "piaa.cli.main", "serve", "--library", str(library),
                                      "--data-dir", str(work / "data"), "--port", str(self.port), "--allow-signup",
                                      "--log-level", "warning"], env=self.env, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        import httpx

        for _ in range(1200):
            if self.proc.poll() is not None:
                raise SystemExit(f"piaa serve exited; see {work / 'server.log'}")
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
    out["ranking_later_s"] = [timed(c, "/api/ranking", limit=24, offset=24 * k)[0] for k in (1, 2, 3)]
    out["ranking_total"] = first["total"]
    out["bursts_first_s"], b = timed(c, "/api/bursts")
    out["bursts_later_s"] = [timed(c, "/api/bursts", offset=100 * k)[0] for k in (1, 2, 3)]
    out["bursts_groups"], out["photos_in_groups"] = b["total"], b["photos_in_groups"]
    newcomer = client(url, "newcomer")
    out["newcomer_ranking_first_s"] = timed(newcomer, "/api/ranking", limit=24)[0]
    out["newcomer_bursts_first_s"] = timed(newcomer, "/api/bursts")[0]
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", type=Path, required=True, help="folder of photos to repeat")
    ap.add_argument("--photos", type=int, default=20000)
    ap.add_argument("--work", type=Path, required=True, help="scratch folder (library, server data, cache)")
    ap.add_argument("--rated", type=int, default=30, help="photos the measured person rates before the profile")
    ap.add_argument("--src", type=Path, default=REPO / "src", help="the piaa code to run (another checkout's src)")
    ap.add_argument("--output", type=Path)
    a = ap.parse_args(argv)
    a.work.mkdir(parents=True, exist_ok=True)
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
           "photos": a.photos, "new_links": made, "server_ready_s": ready, **res}
    text = json.dumps(out, indent=2)
    print(text)
    if a.output:
        a.output.parent.mkdir(parents=True, exist_ok=True)
        a.output.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
