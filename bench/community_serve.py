"""The HTTP check of the library model: people rate a shared library through `piaa serve`, newcomers join.

    python bench/community_serve.py --data avt --rotations 3 [--no-community] [--output RESULT.json]

For each rotation a fresh `piaa serve --library DIR --data-dir D --allow-signup` starts on loopback over a copy
of the photos (AVT-AI study 1, image_appeal: 145 photos; or 200 photos of one OASIS subset); 24 people are drawn
(seeded per rotation); 20 of them sign up and rate every photo they rated in the study with
``PUT /api/ratings/{id}`` (whole stars: AVT's 1-5 as given, duplicates averaged and rounded; OASIS's 1-7 mapped
onto 1-5 and rounded); the other 4 sign up as newcomers and, right after the others' last rating,
``GET /api/ranking?limit=1000`` (zero ratings): the SROCC between the ranking's order and their own hidden
ratings. Then each newcomer asks ``GET /api/suggestions?n=10``, rates those photos with their hidden ratings,
``POST /api/profile`` and reads the ranking again: SROCC on the photos they did not rate. Means over newcomers
and rotations are printed as JSON (and written to ``--output``).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
PW = "correct horse battery staple"


def people_ratings(which: str):
    """(ratings user,image,stars; images root)."""
    if which == "avt":
        r = pd.read_csv(DATA / "avt-ai" / "ratings_study1.csv")
        r = r[r["rating_type"] == "image_appeal"].groupby(["user", "image"], as_index=False)["rating"].mean()
        root = DATA / "avt-ai" / "images"
        r = r[[(root / i).is_file() for i in r["image"]]]
        r["stars"] = r["rating"].round().clip(1, 5)
        return r[["user", "image", "stars"]], root
    r = pd.read_csv(DATA / "oasis-beauty" / "ratings.csv")
    sub = pd.read_csv(DATA / "oasis" / "subsets.csv")
    keep = sorted(sub.loc[sub["subset"] == "subset1", "image"])[:200]
    r = r[r["image"].isin(keep)].copy()
    r["stars"] = (1 + (r["rating"] - 1) * 4 / 6).round().clip(1, 5)
    return r[["user", "image", "stars"]], DATA / "oasis" / "images"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(lib: Path, data: Path, community: bool):
    import httpx

    port = free_port()
    cmd = [sys.executable, "-m", "piaa.cli.main", "serve", "--library", str(lib), "--data-dir", str(data),
           "--allow-signup", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    if not community:
        cmd.append("--no-community")
    env = dict(os.environ, PYTHONPATH=str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    log = open(data.parent / "server.log", "ab")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        if proc.poll() is not None:
            raise RuntimeError(f"piaa serve exited: {(data.parent / 'server.log').read_text()[-2000:]}")
        try:
            if httpx.get(url + "/api/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError("piaa serve did not start")


def account(url: str, name: str):
    import httpx

    c = httpx.Client(base_url=url, timeout=300)
    assert c.post("/api/signup", json={"username": name, "password": PW}).status_code == 201
    tok = c.post("/api/token", json={"username": name, "password": PW}).json()["token"]
    c.headers["Authorization"] = f"Bearer {tok}"
    return c


def srocc(a, b) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b)[0])


def rotation(r: pd.DataFrame, root: Path, seed: int, community: bool, work: Path) -> dict:
    users = sorted(r["user"].unique(), key=str)
    rng = np.random.default_rng(seed)
    full = [u for u in users if (r["user"] == u).sum() >= 40]
    pick = list(rng.choice(full, 24, replace=False))
    teachers, newcomers = pick[:20], pick[20:]
    lib = work / "library"
    images = sorted(r.loc[r["user"].isin(pick), "image"].unique())
    for im in images:
        (lib / im).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / im, lib / im)
    proc, url = start_server(lib, work / "data", community)
    try:
        accounts = {u: account(url, f"p{i}") for i, u in enumerate(pick)}
        c0 = accounts[teachers[0]]
        for _ in range(600):                             # features of the library first
            if c0.get("/api/me").json()["library"]["ready"]:
                break
            time.sleep(0.5)
        listing = c0.get("/api/images", params={"limit": 1000}).json()
        items = listing["images"] if isinstance(listing, dict) else listing
        pid = {im["name"]: im["id"] for im in items}
        t0 = time.perf_counter()
        n_put = 0
        for u in teachers:
            for _, row in r[r["user"] == u].iterrows():
                resp = accounts[u].put(f"/api/ratings/{pid[row['image']]}", json={"rating": int(row["stars"])})
                assert resp.status_code in (200, 201), resp.text
                n_put += 1
        put_s = time.perf_counter() - t0
        out = {"zero": [], "after10": [], "basis_zero": [], "basis_after": [], "ranking_s": []}
        for u in newcomers:
            c = accounts[u]
            mine = r[r["user"] == u].set_index("image")["stars"]
            t1 = time.perf_counter()
            rk = c.get("/api/ranking", params={"limit": 1000}).json()
            out["ranking_s"].append(time.perf_counter() - t1)
            name = {v: k for k, v in pid.items()}
            pos = {name[x["id"]]: -k for k, x in enumerate(rk["images"])}
            ims = [i for i in mine.index if i in pos]
            out["zero"].append(srocc([pos[i] for i in ims], mine[ims].to_numpy()))
            out["basis_zero"].append(rk["basis"])
            sug = [x["id"] for x in c.get("/api/suggestions", params={"n": 10}).json()["images"]]
            rated = set()
            for i in sug:
                if name[i] in mine.index:
                    c.put(f"/api/ratings/{i}", json={"rating": int(mine[name[i]])})
                    rated.add(name[i])
            resp = c.post("/api/profile")
            rk = c.get("/api/ranking", params={"limit": 1000}).json()
            pos = {name[x["id"]]: -k for k, x in enumerate(rk["images"])}
            ims = [i for i in mine.index if i in pos and i not in rated]
            out["after10"].append(srocc([pos[i] for i in ims], mine[ims].to_numpy()))
            out["basis_after"].append(rk["basis"] if resp.status_code == 200 else f"no profile ({resp.status_code})")
        me = c0.get("/api/me").json()
        out.update({"photos": len(pid), "puts": n_put, "put_seconds": round(put_s, 1),
                    "library_taste": me.get("library_taste")})
        return out
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", choices=["avt", "oasis"], default="avt")
    ap.add_argument("--rotations", type=int, default=3)
    ap.add_argument("--no-community", action="store_true")
    ap.add_argument("--output", type=Path, default=None)
    args = ap.parse_args(argv)
    r, root = people_ratings(args.data)
    runs = []
    for k in range(args.rotations):
        with tempfile.TemporaryDirectory(prefix="piaa-community-bench-") as tmp:
            runs.append(rotation(r, root, k, not args.no_community, Path(tmp)))
            print(json.dumps({"rotation": k, **runs[-1]}), file=sys.stderr)
    res = {"data": args.data, "community": not args.no_community, "rotations": args.rotations,
           "zero_srocc": float(np.mean([x for run in runs for x in run["zero"]])),
           "after10_srocc": float(np.mean([x for run in runs for x in run["after10"]])),
           "per_rotation": runs, "date": time.strftime("%Y-%m-%d")}
    print(json.dumps({k: v for k, v in res.items() if k != "per_rotation"}, indent=1))
    if args.output:
        args.output.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
