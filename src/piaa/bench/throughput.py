"""End-to-end scoring throughput per inference engine, measured side by side in one process.

"End-to-end" means what a user waits for: read + decode + resize + normalize + network + head, with the
feature cache switched off (a cached re-run would measure SQLite, not the model). Every engine runs the same
``FeatureExtractor`` pipeline, so the only difference between rows is the engine. Correctness is part of the
result: the maximum absolute difference of features (and of the head's outputs) from the eager torch
reference, over every image.
"""
from __future__ import annotations

import os
import platform
import statistics
import time
from typing import Callable, Dict, Optional, Sequence

import numpy as np

from piaa.catalogue import DEFAULT_BACKBONE
from piaa.errors import InputError


def compare_engines(paths: Sequence, backbone: str = DEFAULT_BACKBONE, variant: str = "pooled",
                    head_fn: Optional[Callable[[np.ndarray], np.ndarray]] = None,
                    engines: Sequence[str] = ("torch", "onnx"), repeats: int = 1, warmup: int = 8,
                    batch_size: int = 32, workers: Optional[int] = None) -> dict:
    """Images/s per engine over ``paths`` (decode+resize+network+head, no cache) and max diffs vs torch.

    head_fn maps features ``[n, d]`` to outputs (e.g. scores ``[n]``); it is timed as part of each run.
    Each engine is built (timed separately as ``build_s``) and warmed up on ``warmup`` images first; then the
    engines run in turn ``repeats`` times (interleaved, so a burst of load elsewhere on the machine hits all
    of them alike). ``images_per_s`` uses the median wall time; ``cpu_ms_per_image`` the median CPU time of
    all the process's threads (on a shared machine it shows the cost even when others take the cores). Differences are taken against the "torch" run
    (added to the list when missing), over rows that every engine decoded.
    """
    from piaa.features import FeatureExtractor
    from piaa.features.engines import cpu_cores, make_engine

    load_before = _load()
    paths = [os.fspath(p) for p in paths]
    if not paths:
        raise InputError("compare_engines needs at least one image path")
    names = list(dict.fromkeys(["torch", *engines]))
    report: Dict[str, dict] = {}
    extractors = {}
    for name in names:
        t0 = time.perf_counter()
        engine = make_engine(backbone, variant, name)
        build_s = time.perf_counter() - t0
        fx = FeatureExtractor(backbone, variant, cache=None, batch_size=batch_size, workers=workers,
                              engine=name)
        fx._engine = engine  # the one just built and timed
        fx.extract(paths[:warmup])
        extractors[name] = fx
        report[name] = {"engine_used": engine.name, "build_s": round(build_s, 3), "seconds": [],
                        "cpu_seconds": []}
        if hasattr(engine, "verified_max_abs_diff"):
            report[name]["verify_max_abs_diff"] = engine.verified_max_abs_diff
        if hasattr(engine, "intra_op_threads"):
            report[name]["layout"] = {"intra_op_threads": engine.intra_op_threads,
                                      "concurrent_calls": engine.max_concurrency}

    outputs: Dict[str, tuple] = {}
    for _ in range(max(1, repeats)):
        for name in names:
            t0, c0 = time.perf_counter(), time.process_time()
            res = extractors[name].extract(paths)
            head = None
            if head_fn is not None:
                ok = res.ok
                head_ok = np.asarray(head_fn(res.features[ok]), dtype=np.float64) if ok.any() else np.empty(0)
                head = np.full((len(paths), *head_ok.shape[1:]), np.nan)
                head[ok] = head_ok
            report[name]["seconds"].append(round(time.perf_counter() - t0, 4))
            report[name]["cpu_seconds"].append(round(time.process_time() - c0, 4))
            outputs[name] = (res, head)

    ref_res, ref_head = outputs["torch"]
    common = np.ones(len(paths), dtype=bool)
    for res, _ in outputs.values():
        common &= res.ok
    for name in names:
        row = report[name]
        med = statistics.median(row["seconds"])
        row["images_per_s"] = round(len(paths) / med, 2) if med > 0 else None
        # CPU time of all threads per image: what the run costs whatever else the machine is doing
        row["cpu_ms_per_image"] = round(1000 * statistics.median(row["cpu_seconds"]) / len(paths), 2)
        res, head = outputs[name]
        row["n_errors"] = len(res.errors)
        row["max_abs_diff_features"] = _max_diff(res.features[common], ref_res.features[common])
        if head is not None:
            row["max_abs_diff_head"] = _max_diff(head[common], ref_head[common])
    torch_speed = report["torch"]["images_per_s"]
    for row in report.values():
        if torch_speed and row["images_per_s"]:
            row["speedup_vs_torch"] = round(row["images_per_s"] / torch_speed, 2)
    return {
        "backbone": backbone,
        "variant": variant,
        "n_images": len(paths),
        "repeats": max(1, repeats),
        "head": head_fn is not None,
        "engines": report,
        "machine": {**_machine(cpu_cores()), "load_average_1m": [load_before, _load()]},
    }


def _max_diff(a: np.ndarray, b: np.ndarray) -> Optional[float]:
    if a.size == 0:
        return None
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))


def _load() -> Optional[float]:
    """1-minute load average: on a shared machine it says how much of the CPU others were using."""
    try:
        return round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):  # pragma: no cover - not available everywhere
        return None


def _machine(cores: int) -> dict:
    info = {"cores_used": cores, "cpu_count": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform()}
    import onnxruntime
    import torch

    info["torch"] = torch.__version__
    info["onnxruntime"] = onnxruntime.__version__
    return info


def stage_costs(paths: Sequence, backbone: str = DEFAULT_BACKBONE, variant: str = "pooled",
                engines: Sequence[str] = ("torch", "onnx"), batch: int = 4) -> dict:
    """CPU milliseconds per image of each stage, run one after another on one thread.

    Stages: decode (``load_image`` with the network's target size), resize, normalize, and the network per
    engine at ``batch`` images per call. CPU time rather than wall time, so the split is meaningful on a
    shared machine; torch is limited to one intra-op thread for the measurement (and restored after).
    """
    import torch

    from piaa.backbones import get_pretrained_cfg
    from piaa.backbones.preprocess import resize_for, to_array
    from piaa.features.engines import OnnxEngine, TorchEngine
    from piaa.io.images import load_image

    cfg = get_pretrained_cfg(backbone)
    data = [open(p, "rb").read() for p in paths]
    n = len(data)
    if not n:
        raise InputError("stage_costs needs at least one image path")
    out: Dict[str, float] = {}

    def timed(key, fn):
        c0 = time.process_time()
        result = fn()
        out[key] = round(1000 * (time.process_time() - c0) / n, 3)
        return result

    images = timed("decode_ms", lambda: [load_image(d, target_size=cfg.input_size) for d in data])
    resized = timed("resize_ms", lambda: [resize_for(im, cfg) for im in images])
    arrays = timed("normalize_ms", lambda: [to_array(im, cfg) for im in resized])
    batches = [np.stack(arrays[i:i + batch]) for i in range(0, n, batch)]
    threads = torch.get_num_threads()
    try:
        for name in engines:
            if name == "torch":
                engine = TorchEngine(backbone, variant)
                torch.set_num_threads(1)
            else:
                engine = OnnxEngine(backbone, variant, intra_op_threads=1)
            engine(batches[0])  # warm-up (allocations, kernel selection)
            timed(f"network_{name}_ms", lambda e=engine: [e(b) for b in batches])
    finally:
        torch.set_num_threads(threads)
    return {"backbone": backbone, "variant": variant, "n_images": n, "batch": batch, "threads": 1,
            "cpu_ms_per_image": out, "machine": {**_machine(1), "load_average_1m": _load()}}
