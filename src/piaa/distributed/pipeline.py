"""``piaa score SOURCE --ray``: score many photos on Ray Data, one parquet file out, resumable.

The pipeline (an interface layer: it calls models/profiles/features, nothing below imports it):

1. The driver turns SOURCE into numbered parts (:mod:`piaa.distributed.sources`; 256 photos each by default,
   never spanning two tar shards) and keeps a manifest beside the output (``OUT.parquet.parts/``).
2. A Ray Dataset of the parts that have no output yet is mapped by an actor pool (``map_batches`` with
   ``ActorPoolStrategy``): each actor loads the models once -- the same ``load_scorer`` engine as
   single-process scoring, built and verified once per actor -- and per part reads the bytes, decodes,
   runs the network in batches (decoding overlapped with inference, per-photo errors) and the heads,
   then writes ``part-NNNNNNN.parquet`` atomically (temp file + rename).
3. When every part exists, the driver concatenates them in order into ``OUT.parquet`` (again atomically,
   with the manifest in the file's metadata) and removes the parts folder.

Kill the driver at any moment (kill -9 included) and run the same command with ``--resume``: parts whose file
exists are complete by construction and are skipped, the others are scored, so no row is redone twice or
lost; a part being written at the kill leaves only a temp file, which is ignored and cleaned up.

Without ``ray_address`` a local Ray starts in this process (``num_cpus`` = the cores piaa may use); with it
the same pipeline runs on that cluster, where every node needs piaa installed and the SOURCE and OUT paths
must be on storage all nodes see.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional, Sequence

from piaa.distributed.sources import DEFAULT_PART_SIZE, Part, open_source
from piaa.distributed.worker import part_file
from piaa.errors import InputError, PiaaError


class DistributedRunError(PiaaError, RuntimeError):
    """A run that could not finish (parts missing after the workers returned); ``--resume`` continues it."""


MANIFEST = "manifest.json"
MANIFEST_VERSION = 1


@dataclass
class RunSummary:
    output: str
    n_images: int
    n_scored: int
    n_errors: int
    parts: int
    parts_resumed: int
    seconds: float
    images_per_s: float
    workers: int
    worker_cpu_ms_per_photo: float = 0.0  # CPU of the scoring workers (all their threads) per photo scored now


def default_models() -> List[str]:
    """The default generic beauty model, plus the photo-quality model when one is installed (by name)."""
    from piaa.models.scorer import DEFAULT_MODEL, QUALITY_MODEL, list_models

    return [DEFAULT_MODEL] + (["quality"] if QUALITY_MODEL in list_models() else [])


class _PartActor:
    """Ray actor: one PartRunner (models loaded, engine verified) for the life of the worker."""

    config: dict = {}

    def __init__(self):
        config = self.config
        threads = config.get("threads")
        if threads:
            os.environ["PIAA_THREADS"] = str(threads)
        from piaa.distributed.worker import PartRunner

        self.parts_dir = config["parts_dir"]
        self.runner = PartRunner(config["models"], config["profiles"], engine=config["engine"],
                                 cache=config["cache"], batch_size=config["batch_size"],
                                 profile_store=config.get("profile_store"))

    def __call__(self, batch):
        import numpy as np

        rows = [self.runner.run(Part.from_json(str(j)), self.parts_dir) for j in batch["part"]]
        return {k: np.asarray([r[k] for r in rows]) for k in ("index", "n", "n_errors", "seconds", "cpu_seconds")}


def _manifest(source: str, src, models, profiles, part_size) -> dict:
    return {"version": MANIFEST_VERSION, "source": os.path.abspath(os.fspath(source)), "kind": src.kind,
            "fingerprint": src.fingerprint(), "n_images": src.n_images, "parts": len(src.parts),
            "part_size": part_size, "models": list(models), "profiles": list(profiles)}


def _same_run(a: dict, b: dict) -> bool:
    keys = ("version", "fingerprint", "n_images", "parts", "models", "profiles")
    return all(a.get(k) == b.get(k) for k in keys)


def _read_output_manifest(path: Path) -> Optional[dict]:
    import pyarrow.parquet as pq

    try:
        meta = pq.read_schema(path).metadata or {}
        return json.loads(meta[b"piaa_manifest"].decode())
    except Exception:
        return None


def run_distributed(source, output, models: Optional[Sequence[str]] = None, profiles: Sequence[str] = (),
                    ray_address: Optional[str] = None, workers: Optional[int] = None, resume: bool = False,
                    engine: str = "auto", cache=None, batch_size: int = 32, part_size: int = DEFAULT_PART_SIZE,
                    progress: Optional[bool] = None, profile_store: Optional[str] = None,
                    log: Callable[[str], None] = lambda m: print(m, file=sys.stderr)) -> RunSummary:
    """Score SOURCE into the parquet file ``output`` on Ray Data; see the module docs."""
    t0 = time.perf_counter()
    out = _checked_output(output)
    if workers is not None and workers < 1:
        raise InputError("--workers must be >= 1")
    if profile_store:  # workers may run in another folder: every path they get is absolute
        profile_store = os.path.abspath(os.path.expanduser(os.fspath(profile_store)))
    models = [_absolute_if_file(m) for m in models] if models else default_models()
    profiles = list(dict.fromkeys(profiles or ()))
    src = open_source(source, part_size)
    manifest = _manifest(source, src, models, profiles, part_size)
    parts_dir = out.with_name(out.name + ".parts")

    if parts_dir.exists():
        if not resume:
            raise InputError(f"{parts_dir} holds the parts of an unfinished run: add --resume to continue it, "
                             f"or delete that folder to start again")
        try:
            old = json.loads((parts_dir / MANIFEST).read_text())
        except (OSError, ValueError):
            old = None
        if old is None or not _same_run(old, manifest):
            raise InputError(f"{parts_dir} belongs to a different run (other source, models or profiles); "
                             f"delete it or choose another --output")
    elif resume and out.exists():
        old = _read_output_manifest(out)
        if old is not None and _same_run(old, manifest):
            n_err = _error_count(out)
            if n_err == 0:
                log(f"{out} is already complete ({old['n_images']} photos); nothing to do")
                return RunSummary(str(out), src.n_images, -1, -1, len(src.parts), len(src.parts), 0.0, 0.0, 0)
            log(f"{out} has {n_err} photo{'' if n_err == 1 else 's'} with errors: scoring their parts again")
            parts_dir.mkdir()
            _split_output(out, src.parts, parts_dir)
    parts_dir.mkdir(exist_ok=True)
    if not (parts_dir / MANIFEST).exists():
        _write_text_atomic(parts_dir / MANIFEST, json.dumps(manifest, indent=1))
    for stale in parts_dir.glob("*.tmp"):  # a part being written when the last run was killed
        stale.unlink(missing_ok=True)

    # a part is done when its file exists and none of its photos failed: --resume retries every error
    # (a file missing on a worker, a node that could not read the share...), never calls such a run complete
    done = {i for i in range(len(src.parts)) if part_file(parts_dir, i).exists()
            and _error_count(part_file(parts_dir, i)) == 0}
    todo = [p for p in src.parts if p.index not in done]
    n_resumed = sum(len(src.parts[i]) for i in done)
    if done:
        log(f"resuming: {len(done)} of {len(src.parts)} parts ({n_resumed} photos) already done")

    used_workers, cpu = 0, 0.0
    if todo:
        used_workers, cpu = _run_on_ray(todo, parts_dir, models, profiles, engine, cache, batch_size,
                                        ray_address, workers, progress, n_resumed, src.n_images, log,
                                        profile_store)
    n_rows, n_err = _combine(parts_dir, len(src.parts), out, {"piaa_manifest": json.dumps(manifest)})
    _umask_mode(out)
    shutil.rmtree(parts_dir, ignore_errors=True)
    secs = time.perf_counter() - t0
    fresh = src.n_images - n_resumed
    return RunSummary(str(out), n_rows, n_rows - n_err, n_err, len(src.parts), len(done), round(secs, 3),
                      round(fresh / secs, 2) if secs > 0 else 0.0, used_workers,
                      round(1000 * cpu / fresh, 2) if fresh else 0.0)


def _absolute_if_file(model: str) -> str:
    """A ``--model`` that names a file becomes its absolute path (workers run in other folders); names stay."""
    m = os.path.expanduser(str(model))
    return os.path.abspath(m) if os.path.isfile(m) else str(model)


def _checked_output(output) -> Path:
    """The absolute path of ``--output``, checked before any work: a .parquet file name in an existing,
    writable folder, not a folder itself (else the whole run would be scored and then lost)."""
    out = Path(os.path.abspath(Path(output).expanduser()))
    if out.suffix.lower() != ".parquet":
        raise InputError(f"--output must name a .parquet file for a --ray run, got {str(output)!r}")
    if out.is_dir():
        raise InputError(f"--output {str(output)!r} is a folder; name a .parquet file (e.g. {out / 'scores.parquet'})")
    if out.exists() and not out.is_file():
        raise InputError(f"--output {str(output)!r} is not a regular file")
    if not out.parent.is_dir():
        raise InputError(f"cannot write {out}: folder {out.parent} does not exist")
    if not os.access(out.parent, os.W_OK | os.X_OK):
        raise InputError(f"cannot write {out}: folder {out.parent} is not writable")
    return out


def _error_count(path: Path) -> int:
    """Rows of a part or output file whose ``error`` is set (an unreadable file counts as having errors)."""
    import pyarrow.parquet as pq

    try:
        col = pq.read_table(path, columns=["error"]).column("error")
    except Exception:  # pyarrow raises several types for a damaged file: redo that part
        return 1
    return len(col) - col.null_count


def _split_output(out: Path, parts: Sequence[Part], parts_dir: Path) -> None:
    """Cut a finished output back into its part files, keeping only the parts without an error (the others
    are scored again by the resumed run). Streams record batches: memory stays about one part."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from piaa.distributed.worker import write_atomic_parquet

    pf = pq.ParquetFile(out)
    schema = pf.schema_arrow.remove_metadata()
    batches = pf.iter_batches(batch_size=4096)
    pending: List = []
    have = 0
    for p in parts:
        while have < len(p):
            b = next(batches, None)
            if b is None:
                return  # a shorter file than its manifest says: the missing parts are scored again
            pending.append(b)
            have += b.num_rows
        table = pa.Table.from_batches(pending, schema=schema)
        chunk, rest = table.slice(0, len(p)), table.slice(len(p))
        pending, have = rest.to_batches(), rest.num_rows
        if chunk.column("error").null_count == chunk.num_rows:
            write_atomic_parquet(chunk, part_file(parts_dir, p.index))


def _combine(parts_dir: Path, n_parts: int, out: Path, metadata: dict):
    """Stream the parts, in order, into ``out`` (temp file + rename); memory stays one part. Returns
    (rows, rows with an error)."""
    import tempfile

    import pyarrow.parquet as pq

    files = [part_file(parts_dir, i) for i in range(n_parts)]
    missing = [i for i, f in enumerate(files) if not f.exists()]
    if missing:
        raise DistributedRunError(f"{len(missing)} parts are missing from {parts_dir} after the run (a worker "
                                  f"failed?); run again with --resume")
    schema = pq.read_schema(files[0])
    schema = schema.with_metadata({**(schema.metadata or {}), **{k.encode(): v.encode() for k, v in metadata.items()}})
    fd, tmp = tempfile.mkstemp(prefix=out.name + ".", suffix=".tmp", dir=str(out.parent))
    os.close(fd)
    rows = errors = 0
    try:
        with pq.ParquetWriter(tmp, schema) as writer:
            for f in files:
                t = pq.read_table(f).cast(schema)
                rows += t.num_rows
                errors += t.num_rows - t.column("error").null_count
                writer.write_table(t)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return rows, errors


def _write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _umask_mode(path: Path) -> None:
    mask = os.umask(0)
    os.umask(mask)
    try:
        os.chmod(path, 0o666 & ~mask)
    except OSError:
        pass


def _local_cores() -> int:
    from piaa.features.engines import cpu_cores

    return cpu_cores()


def start_ray(ray_address: Optional[str] = None, num_cpus: Optional[int] = None):
    """Connect to ``ray_address`` or start a local Ray in this process (quietly); returns the ray module."""
    import ray

    if not ray.is_initialized():
        kw = dict(include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False,
                  ignore_reinit_error=True)
        if ray_address:  # local workers inherit this process's environment; remote ones get piaa's settings
            env = {k: v for k, v in os.environ.items() if k.startswith("PIAA_")}
            ray.init(address=ray_address, runtime_env={"env_vars": env} if env else None, **kw)
        else:
            # local workers must import the same piaa as this driver (a checkout, not some installed copy)
            import piaa

            here = str(Path(piaa.__file__).resolve().parents[1])
            path = os.environ.get("PYTHONPATH", "")
            if here not in path.split(os.pathsep):
                os.environ["PYTHONPATH"] = here + (os.pathsep + path if path else "")
            ray.init(num_cpus=num_cpus or _local_cores(), **kw)
    return ray


def _run_on_ray(todo: List[Part], parts_dir: Path, models, profiles, engine, cache, batch_size, ray_address,
                workers, progress, n_resumed, n_total, log, profile_store) -> int:
    cores = _local_cores()
    ray_cpus = max(cores, workers or 1)
    ray = start_ray(ray_address, num_cpus=None if ray_address else ray_cpus)
    import ray.data  # noqa: F811 (loads the submodule; the name is the same ray module)

    for name in ("ray", "ray.data"):  # our own progress line replaces Ray Data's log chatter
        logging.getLogger(name).setLevel(logging.ERROR)
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False
    if ray_address:  # a cluster: by default one single-threaded worker per CPU (same CPU cost per photo)
        n_workers = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        per_worker, threads = 1.0, 1
    else:  # this machine: the cores split evenly between the workers
        n_workers = workers or cores
        per_worker = ray_cpus / min(n_workers, len(todo))
        threads = max(1, cores // n_workers)
    n_workers = min(n_workers, len(todo))
    config = {"models": list(models), "profiles": list(profiles), "engine": engine, "cache": cache,
              "batch_size": batch_size, "parts_dir": str(parts_dir), "threads": threads,
              "profile_store": profile_store}
    # locally a crashed worker is a real fault (rerun with --resume); on a cluster Ray restarts lost workers
    restarts = {} if ray_address else {"max_restarts": 0}
    actor = type("PartActor", (_PartActor,), {"config": config})  # config travels with the class
    ds = ray.data.from_items([{"part": p.to_json()} for p in todo], override_num_blocks=len(todo))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Ray deprecation notices about its own argument plumbing
        ds = ds.map_batches(actor, batch_size=1, batch_format="numpy",
                            compute=ray.data.ActorPoolStrategy(size=n_workers), num_cpus=per_worker, **restarts)
    total_new = sum(len(p) for p in todo)
    bar = _Progress(total_new, n_resumed, n_total, progress, log)
    cpu = 0.0
    try:
        for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
            cpu += float(sum(batch["cpu_seconds"]))
            for n, n_err in zip(batch["n"], batch["n_errors"]):
                bar.update(int(n), int(n_err))
    finally:
        bar.close()
    return n_workers, cpu


class _Progress:
    """tqdm bar with images/s on a terminal; otherwise a line every 10 s (nothing when disabled)."""

    def __init__(self, total: int, resumed: int, n_total: int, enabled: Optional[bool], log):
        self.total, self.resumed, self.n_total, self.log = total, resumed, n_total, log
        self.done = self.errors = 0
        self.t0 = self.last = time.perf_counter()
        tty = sys.stderr.isatty()
        self.enabled = tty if enabled is None else enabled
        self.bar = None
        if self.enabled and tty:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="img", desc="scoring", dynamic_ncols=True, smoothing=0.1)

    def update(self, n: int, n_err: int) -> None:
        self.done += n
        self.errors += n_err
        if self.bar is not None:
            self.bar.update(n)
            return
        now = time.perf_counter()
        if self.enabled and (now - self.last >= 10 or self.done == self.total):
            self.last = now
            rate = self.done / max(now - self.t0, 1e-9)
            self.log(f"scored {self.resumed + self.done}/{self.n_total} photos ({self.errors} errors), "
                     f"{rate:.1f} images/s")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
