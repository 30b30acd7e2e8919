"""Helpers of the service tests: a synthetic photo library and a real `piaa serve` process."""
from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
N_PHOTOS = 30


def make_library(folder: Path, n: int = N_PHOTOS, seed: int = 0) -> list:
    """``n`` small JPEGs that differ in colour, brightness, texture and layout (so features tell them apart)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    yy, xx = np.mgrid[0:120, 0:160]
    for i in range(n):
        base = rng.uniform(20, 235, 3)
        freq = 2 + (i % 9)
        wave = np.sin(xx / freq + (i % 4) * yy / (3 + i % 5))[..., None] * rng.uniform(-90, 90, 3)
        noise = rng.normal(0, 4 + 3 * (i % 6), (120, 160, 3))
        img = np.clip(base + wave + noise, 0, 255).astype(np.uint8)
        if i % 3 == 0:                                   # a bright square somewhere
            y, x = rng.integers(0, 80), rng.integers(0, 120)
            img[y:y + 40, x:x + 40] = rng.uniform(150, 255, 3).astype(np.uint8)
        name = f"{'sub/' if i % 5 == 4 else ''}photo_{i:03d}.jpg"
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(folder / name, quality=90)
        names.append(name)
    return names


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One `piaa serve` process; ``restart()`` keeps data dir, database and port."""

    def __init__(self, library: Path, data_dir: Path, home: Path, database_url=None, allow_signup=True, extra=()):
        self.library, self.data_dir, self.home = library, data_dir, home
        self.database_url = database_url
        self.allow_signup = allow_signup
        self.extra = list(extra)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None
        self.log = data_dir.parent / f"server-{self.port}.log"

    def env(self) -> dict:
        env = dict(os.environ)
        env["PIAA_HOME"] = str(self.home)
        env["PIAA_CACHE"] = str(self.home / "features.sqlite")
        env["PYTHONPATH"] = str(REPO / "src") + os.pathsep + env.get("PYTHONPATH", "")
        env.setdefault("PIAA_THREADS", "2")
        env.pop("PIAA_DATABASE_URL", None)
        return env

    def cli(self, *args, input=None) -> subprocess.CompletedProcess:
        db = ["--database-url", self.database_url] if self.database_url else []
        return subprocess.run([sys.executable, "-m", "piaa.cli.main", "serve", *args, "--data-dir",
                               str(self.data_dir), *db], input=input, capture_output=True, text=True,
                              env=self.env(), timeout=120)

    def start(self, allow_signup=None) -> "Server":
        if allow_signup is not None:
            self.allow_signup = allow_signup
        cmd = [sys.executable, "-m", "piaa.cli.main", "serve", "--library", str(self.library), "--data-dir",
               str(self.data_dir), "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning",
               *self.extra]
        if self.allow_signup:
            cmd.append("--allow-signup")
        if self.database_url:
            cmd += ["--database-url", self.database_url]
        self._logf = open(self.log, "ab")
        self.proc = subprocess.Popen(cmd, env=self.env(), stdout=self._logf, stderr=subprocess.STDOUT)
        self.wait_healthy()
        return self

    def wait_healthy(self, timeout: float = 90.0) -> None:
        import httpx

        t0 = time.time()
        while time.time() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"piaa serve exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/api/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"piaa serve did not answer within {timeout} s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None
        if getattr(self, "_logf", None):
            self._logf.close()

    def restart(self, allow_signup=None) -> "Server":
        self.stop()
        return self.start(allow_signup)


def postgres_database():
    """A fresh database on the server of PIAA_TEST_POSTGRES_URL: (url, drop function)."""
    admin = os.environ.get("PIAA_TEST_POSTGRES_URL")
    if not admin:
        pytest.skip("PIAA_TEST_POSTGRES_URL is not set (.ci/run starts a PostgreSQL server and sets it)")
    import psycopg

    name = f"piaa_test_{secrets.token_hex(4)}"
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = admin.rpartition("/")

    def drop():
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return f"{base}/{name}", drop


PASSWORD = "correct-horse-battery"


@contextmanager
def serving(library: Path, data_dir: Path, home: Path, **kw):
    """A started `piaa serve` for a ``with`` block (module fixtures: ``with serving(...) as srv: yield srv``)."""
    srv = Server(library, data_dir, home, **kw).start()
    try:
        yield srv
    finally:
        srv.stop()


def new_account(srv: Server, name: str, password: str = PASSWORD) -> str:
    """Sign up ``name`` on a server started with sign-up on; returns a bearer token."""
    import httpx

    with httpx.Client(base_url=srv.url, timeout=120) as c:
        r = c.post("/api/signup", json={"username": name, "password": password})
        assert r.status_code == 201, r.text
        return c.post("/api/token", json={"username": name, "password": password}).json()["token"]
