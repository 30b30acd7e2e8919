"""Load and ranking-speed benchmark of `piaa serve`, on loopback only, with a bounded amount of work.

    .venv/bin/python bench/serve_load.py --output docs/benchmarks/serve.json

1. Load: a server over a synthetic library; ``--clients`` accounts each rate ``--ratings`` photos from their own
   thread at once (PUT /api/ratings/{id}); afterwards every account's GET /api/ratings must hold exactly what it
   sent (nothing lost). Reports the latency percentiles of the PUTs and the throughput.
2. Ranking: a library of ``--rank-photos`` photos whose features are in the cache; a person with a profile asks
   GET /api/ranking?limit=N for the whole library. Reports the wall time of the request over loopback (JSON of
   every photo included) and the in-process time of the ranking arithmetic on the same number of photos.

Photos are small synthetic JPEGs made here; for the ranking library 100 distinct photos are repeated (as copies
under other names) so the features of all of them are cached after 100 extractions: the ranking cost is per
photo row, whatever its content. The server uses SQLite in a temporary data dir.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
PW = "bench-password-123"


def photos(folder: Path, distinct: int, total: int, seed: int = 0) -> None:
    from PIL import Image

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[0:96, 0:128]
    first = []
    for i in range(distinct):
        img = rng.uniform(30, 220, 3) + np.sin(xx / (2 + i % 7) + yy / (3 + i % 5))[..., None] * rng.uniform(-80, 80, 3)
        img = np.clip(img + rng.normal(0, 6, (96, 128, 3)), 0, 255).astype(np.uint8)
        p = folder / f"a{i:05d}.jpg"
        Image.fromarray(img).save(p, quality=88)
        first.append(p)
    for k in range(total - distinct):
        shutil.copyfile(first[k % distinct], folder / f"b{k:05d}.jpg")


class Serve:
    def __init__(self, library: Path, work: Path):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, PIAA_HOME=str(work / "home"), PYTHONPATH=str(REPO / "src"))
        env.pop("PIAA_DATABASE_URL", None)
        work.mkdir(parents=True, exist_ok=True)
        self.log = open(work / "server.log", "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "piaa.cli.main", "serve", "--library", str(library),
                                      "--data-dir", str(work / "data"), "--port", str(self.port), "--allow-signup",
                                      "--log-level", "warning"], env=env, stdout=self.log, stderr=subprocess.STDOUT)
        import httpx

        for _ in range(600):
            try:
                if httpx.get(self.url + "/api/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.5)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def client(url, name):
    import httpx

    c = httpx.Client(base_url=url, timeout=120)
    assert c.post("/api/signup", json={"username": name, "password": PW}).status_code == 201
    c.headers["Authorization"] = "Bearer " + c.post("/api/token", json={"username": name, "password": PW}).json()["token"]
    return c


def load_test(work: Path, n_photos: int, clients: int, ratings: int) -> dict:
    lib = work / "lib_load"
    photos(lib, n_photos, n_photos)
    srv = Serve(lib, work / "load")
    try:
        users = [client(srv.url, f"user{k:02d}") for k in range(clients)]
        ids = [im["id"] for im in users[0].get("/api/images", params={"limit": 1000}).json()["images"]]
        rng = np.random.default_rng(1)
        plans = [[(int(i), int(rng.integers(1, 6))) for i in rng.choice(ids, size=min(ratings, len(ids)),
                                                                        replace=False)] for _ in users]
        lat = [[] for _ in users]
        bad = []
        start = threading.Barrier(clients)

        def run(k):
            start.wait()
            for i, r in plans[k]:
                t = time.perf_counter()
                resp = users[k].put(f"/api/ratings/{i}", json={"rating": r})
                lat[k].append(time.perf_counter() - t)
                if resp.status_code not in (200, 201):
                    bad.append(resp.status_code)

        threads = [threading.Thread(target=run, args=(k,)) for k in range(clients)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        lost = 0
        for k, u in enumerate(users):
            got = {r["image"]: r["rating"] for r in u.get("/api/ratings").json()["ratings"]}
            lost += sum(1 for i, r in plans[k] if got.get(i) != float(r)) + abs(len(got) - len(plans[k]))
        ms = np.concatenate([np.asarray(x) for x in lat]) * 1000
        return {"clients": clients, "requests": int(len(ms)), "errors": len(bad), "lost": lost,
                "wall_s": round(wall, 2), "requests_per_s": round(len(ms) / wall, 1),
                "p50_ms": round(float(np.percentile(ms, 50)), 1), "p95_ms": round(float(np.percentile(ms, 95)), 1),
                "p99_ms": round(float(np.percentile(ms, 99)), 1), "max_ms": round(float(ms.max()), 1)}
    finally:
        srv.stop()


def ranking_test(work: Path, n_photos: int, repeats: int) -> dict:
    lib = work / "lib_rank"
    photos(lib, 100, n_photos, seed=2)
    t0 = time.perf_counter()
    srv = Serve(lib, work / "rank")
    try:
        c = client(srv.url, "ranker")
        ids = [im["id"] for im in c.get("/api/images", params={"limit": 1000}).json()["images"]][:100]
        for k, i in enumerate(ids[:30]):
            c.put(f"/api/ratings/{i}", json={"rating": 1 + k % 5})
        while not c.get("/api/library").json()["ready"]:          # every photo analysed (features cached)
            time.sleep(1)
        r = c.post("/api/profile")
        assert r.status_code == 200, r.text
        ready = time.perf_counter() - t0
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            resp = c.get("/api/ranking", params={"limit": n_photos})
            times.append(time.perf_counter() - t)
            assert resp.status_code == 200 and len(resp.json()["images"]) == n_photos
    finally:
        srv.stop()
    # the same arithmetic in process: personal scores, predicted stars, order
    from piaa.personalize.default_prior import load_default_prior
    from piaa.profiles.ranking import quantile_stars
    from piaa.profiles import core

    prior = load_default_prior()
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(n_photos, prior.dim)) * prior.feature_scale + prior.feature_mean).astype(np.float32)
    g = rng.normal(4, 0.5, n_photos)
    est = core.fit("probe-prior", X[:30].astype(np.float64), g[:30], np.arange(30), 1 + np.arange(30) % 5,
                   model_scale=(1.0, 7.0), assess=False).estimator
    inproc = []
    for _ in range(repeats):
        t = time.perf_counter()
        s = core.predict_rows(est, X, g)
        quantile_stars(s)
        np.lexsort((np.arange(n_photos), -s))
        inproc.append(time.perf_counter() - t)
    return {"photos": n_photos, "server_ready_with_profile_s": round(ready, 1),
            "http_ranking_s_median": round(float(np.median(times)), 3),
            "http_ranking_s_max": round(float(np.max(times)), 3),
            "in_process_ranking_s_median": round(float(np.median(inproc)), 4)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--ratings", type=int, default=30, help="ratings per client")
    ap.add_argument("--photos", type=int, default=60, help="photos of the load-test library")
    ap.add_argument("--rank-photos", type=int, default=6000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--output", type=Path)
    a = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="piaa-serve-bench-"))
    try:
        out = {"date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
               "command": "bench/serve_load.py " + " ".join(argv if argv is not None else sys.argv[1:]),
               "load_average_at_start": [round(x, 1) for x in os.getloadavg()],
               "load": load_test(work, a.photos, a.clients, a.ratings),
               "ranking": ranking_test(work, a.rank_photos, a.repeats)}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = json.dumps(out, indent=1)
    print(text)
    if a.output:
        a.output.write_text(text + "\n")
    return 0 if out["load"]["lost"] == 0 and out["load"]["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
