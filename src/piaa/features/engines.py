"""Inference engines: a callable ``(N,3,H,W) float32 array -> (N, ...) float32 features``.

Two engines are registered:

- ``"torch"`` runs the registered backbone eagerly (the reference every other engine is checked against).
- ``"onnx"`` exports backbone + feature variant once with ``torch.onnx.export`` (dynamic batch axis) into the
  user cache dir and runs it in ONNX Runtime with all graph optimizations (BN folded into convs, ReLU6 fused,
  NCHWc layout). Before the graph is used it is run on a fixed batch of photo-like inputs next to the eager
  model; if any output differs by more than ``VERIFY_ATOL`` (1e-4; for unpooled trunk activations see
  ``verify_against_eager``) the engine is refused and torch is used instead, with a warning -- an export
  that silently changes outputs is worse than a slow one.

``"auto"`` (the FeatureExtractor default) is onnx when it builds and verifies, else torch.

Start-up: the export is keyed by the weights *file* (its hash; the registry's constructors publish it) and
the installed library versions, and the eager outputs on the verification batch are saved beside it
(``<export>.ref.npz``) the first time it verifies. Later builds run the same check against those saved
outputs, so ``piaa score`` on a warm cache never imports torch (about a second less per invocation). A
backbone whose weights file is unknown is loaded in torch to hash its parameters, as before.

Threads: by default one single-threaded session call runs per core, each lane decoding its own batches
(the layout of docs/benchmarks/speed.md's "1x2", which has the measurements: it costs less CPU per photo than
one multi-threaded call, and small batches are cheaper than large ones). ``PIAA_ORT_THREADS=N`` sets N intra-op threads per call and cores / N
concurrent calls.

Export details: the TF-"SAME" padding of EfficientNet-Lite is computed from the input shape at run time in
eager mode; for export a copy of the network gets that padding frozen for the configured input size
(symmetric pads become the conv's own padding, asymmetric ones a constant ``Pad`` that ORT fuses into the
conv). The optimized graph is then just convolutions and poolings. Global pooling is exported as two 1-D
means (``_pool_accurately``), which keeps pooled features within ~2e-5 of eager on real photos.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Callable, Dict, Optional

import numpy as np

from piaa.errors import InputError, PiaaError, PiaaWarning
from piaa.registry import Registry


VERIFY_ATOL = 1e-4
EXPORT_FORMAT_VERSION = "4"  # bump when the export procedure changes: old files are then ignored
ONNX_OPSET = 17

#: feature engines by name: ``builder(backbone, variant) -> engine`` ("auto" is not one: it picks between them)
ENGINES: Registry[Callable] = Registry("engine")


class EngineVerificationError(PiaaError, RuntimeError):
    """An exported graph does not reproduce the eager model's outputs."""


def register_engine(name: str, builder: Callable, *, override: bool = False) -> None:
    """``builder(backbone, variant) -> engine``; an engine is a callable with ``name``/``max_concurrency``."""
    ENGINES.register(name, builder, override=override)


def available_engines() -> list:
    return ENGINES.names() + ["auto"]


def make_engine(backbone: str, variant: str, kind: str = "auto"):
    """Build engine ``kind`` ("torch", "onnx" or "auto") for a registered backbone and a feature variant.

    "auto" is eager torch for backbones tagged ``torch-only`` (``hf:`` vision transformers) and whenever a GPU
    device was named (``--device``); otherwise the verified ONNX export on the CPU."""
    if kind == "auto":
        from piaa.backbones.device import explicit_accelerator
        from piaa.backbones.registry import get_entry

        if explicit_accelerator() or "torch-only" in get_entry(backbone).tags:
            return TorchEngine(backbone, variant)
        return _build_verified_or_torch(backbone, variant)
    return ENGINES.get(kind)(backbone, variant)  # an unknown kind: UnknownNameError listing the engines


_BUILT: Dict[tuple, object] = {}
_BUILT_LOCK = threading.Lock()


def get_engine(backbone: str, variant: str, kind: str = "auto"):
    """``make_engine`` memoized per process: building (and verifying) an engine costs about a second."""
    from piaa.backbones import get_pretrained_cfg
    from piaa.backbones.device import requested_device

    key = (backbone, get_pretrained_cfg(backbone).fingerprint(), variant, kind, requested_device())
    with _BUILT_LOCK:
        if key not in _BUILT:
            _BUILT[key] = make_engine(backbone, variant, kind)
        return _BUILT[key]


def clear_engines() -> None:
    """Forget memoized engines (after re-registering a backbone under the same name, say)."""
    with _BUILT_LOCK:
        _BUILT.clear()


def cpu_cores() -> int:
    """Cores this process may use (``PIAA_THREADS`` overrides, e.g. to share a machine)."""
    env = _int_env("PIAA_THREADS")
    if env:
        return env
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _int_env(name: str) -> Optional[int]:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise InputError(f"environment variable {name} must be a positive integer, got {raw!r}")
    return value


def set_torch_threads() -> None:
    import torch

    n = cpu_cores()
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)


# ---- torch (eager reference) ---------------------------------------------------------------------------------
class TorchEngine:
    """Eager PyTorch on the chosen device (``piaa.backbones.device``); on the CPU it uses all cores itself, so
    the extractor calls it from one thread at a time."""

    name = "torch"
    max_concurrency = 1
    preferred_batch = 16

    def __init__(self, backbone: str, variant: str, model=None):
        import torch

        from piaa.backbones import create_backbone
        from piaa.backbones.device import torch_device

        set_torch_threads()
        self.device = torch_device()
        self.model = (model if model is not None else create_backbone(backbone)).to(self.device)
        self.backbone = backbone
        self.variant = variant
        self._torch = torch
        if self.device.type != "cpu":
            self.preferred_batch = 64

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        x = self._torch.from_numpy(np.ascontiguousarray(batch)).to(self.device)
        with self._torch.inference_mode():
            out = self.model.forward_variant(x, self.variant)
        return out.float().cpu().numpy()


# ---- ONNX Runtime --------------------------------------------------------------------------------------------
def onnx_cache_dir() -> Path:
    """``PIAA_ONNX_CACHE``, else ``$PIAA_HOME/onnx``, else the platform's user cache dir + ``/onnx``."""
    env = os.environ.get("PIAA_ONNX_CACHE")
    if env:
        return Path(env)
    home = os.environ.get("PIAA_HOME")
    if home:
        return Path(home) / "onnx"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("piaa", appauthor=False)) / "onnx"


def prebuilt_onnx_dir() -> Path:
    """Exports verified at install time (``scripts/setup.sh``) inside the Python environment.

    Why: the first export costs 10-30 s of torch tracing; building it once at install lets the first
    ``piaa score`` of a new user, or with an empty ``PIAA_HOME``, start in about a second. An export found here
    is still checked against its saved eager outputs every time the engine is built.
    """
    import sys

    return Path(sys.prefix) / "share" / "piaa" / "onnx"


def weights_digest(model) -> str:
    """Hash of every parameter and buffer, so replaced local weights never reuse a stale export."""
    h = hashlib.blake2b(digest_size=16)
    for name, t in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def export_key(backbone: str, cfg, variant: str, weights: str) -> str:
    """File name of an export: readable prefix + hash of everything that can change the graph.

    Library versions are read from the installed packages' metadata, so the key is computed without
    importing torch (a verified export is then reused without torch at all; see ``OnnxEngine``).
    """
    ident = {
        "backbone": backbone, "cfg": cfg.fingerprint(), "variant": variant, "weights": weights,
        "torch": _dist_version("torch"), "onnx": _dist_version("onnx"), "opset": ONNX_OPSET,
        "format": EXPORT_FORMAT_VERSION,
    }
    digest = hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:16]
    return f"{backbone}-{variant}-{digest}.onnx"


def _dist_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "absent"


def weights_file_digest(backbone: str) -> Optional[str]:
    """Hash of the backbone's weights *file* when its registry entry names one (no torch needed), else None.

    The built-in EfficientNet-Lite constructors and ``register_local_backbone`` publish the file through
    ``constructor.weights_file()``; any other constructor is identified by ``weights_digest`` of the loaded
    network instead (which needs torch).
    """
    from piaa.backbones.registry import get_entry

    finder = getattr(get_entry(backbone).constructor, "weights_file", None)
    if finder is None:
        return None
    try:
        path = Path(finder())
        h = hashlib.blake2b(digest_size=16)
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except (OSError, ImportError):
        return None  # the constructor will report the missing weights itself
    return "file:" + h.hexdigest()


def reference_path(export_path: Path) -> Path:
    """Eager outputs on the verification batch, saved beside an export once it has verified."""
    return Path(export_path).with_name(Path(export_path).stem + ".ref.npz")


def _save_reference(path: Path, batch: np.ndarray, ref: np.ndarray, tol: float) -> None:
    fd, tmp = tempfile.mkstemp(prefix=path.stem + ".", suffix=".tmp", dir=str(path.parent))
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, batch_digest=np.array(_digest(batch)), reference=ref, tolerance=np.array(tol))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _load_reference(path: Path, batch: np.ndarray):
    """(reference outputs, tolerance) saved for this verification batch, or None."""
    try:
        with np.load(path, allow_pickle=False) as z:
            if str(z["batch_digest"]) != _digest(batch):
                return None
            return z["reference"].astype(np.float32), float(z["tolerance"])
    except (OSError, ValueError, KeyError):
        return None


def _digest(a: np.ndarray) -> str:
    return hashlib.blake2b(np.ascontiguousarray(a).tobytes(), digest_size=16).hexdigest()


def _pool_accurately(x):
    """Global average pool as two 1-D means (over W, then H).

    Same value as ``x.mean(dim=(2, 3))``, but ONNX Runtime's single ReduceMean over a 112x112 map averages
    12544 floats and put multilevel features up to 1.5e-4 away from eager on real photos; two means of 112
    values each stay within ~2.4e-5 (docs/benchmarks/speed.md).
    """
    return x.mean(dim=3).mean(dim=2) if x.dim() == 4 else x


def _variant_module(model, variant: str):
    """The nn.Module that torch.onnx.export traces: input batch -> the variant's output.

    "pooled" and "multilevel" are rebuilt from the Backbone protocol (``layers``) with ``_pool_accurately``;
    anything a custom backbone does differently is caught by the verification against eager.
    """
    import torch
    import torch.nn as nn

    class VariantForward(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = model

        def forward(self, x):
            if variant == "pooled":
                return _pool_accurately(self.backbone.forward_range(x))
            if variant == "multilevel":
                pooled = []
                for layer in self.backbone.layers:
                    x = layer(x)
                    pooled.append(_pool_accurately(x))
                return torch.cat(pooled, dim=1)
            return self.backbone.forward_variant(x, variant)

    return VariantForward().eval()


def freeze_same_padding(model, input_size: int):
    """Copy of ``model`` whose TF-SAME convolutions have their padding fixed for ``input_size`` inputs.

    Eager EfficientNet-Lite computes the padding from each input's shape; traced, that becomes a tangle of
    Shape/Gather/Pad nodes that blocks ORT's conv fusions. Networks without ``SameConv2d`` are returned as a
    plain deep copy.
    """
    import torch
    import torch.nn as nn

    from piaa.backbones.efficientnet_lite import SameConv2d

    model = copy.deepcopy(model)
    seen = {}
    hooks = []
    for name, mod in model.named_modules():
        if isinstance(mod, SameConv2d):
            hooks.append(mod.register_forward_pre_hook(
                lambda m, inp, name=name: seen.__setitem__(name, tuple(inp[0].shape[-2:]))))
    if not hooks:
        return model
    try:
        with torch.no_grad():
            model.forward_range(torch.zeros(1, 3, input_size, input_size))
    finally:
        for h in hooks:
            h.remove()

    for name, (ih, iw) in seen.items():
        parent_name, _, attr = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        conv = getattr(parent, attr)
        k, s = conv.kernel_size[0], conv.stride[0]
        ph = max((-(-ih // s) - 1) * s + k - ih, 0)
        pw = max((-(-iw // s) - 1) * s + k - iw, 0)
        symmetric = ph % 2 == 0 and pw % 2 == 0
        fixed = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                          (ph // 2, pw // 2) if symmetric else 0, groups=conv.groups, bias=False)
        fixed.weight = conv.weight
        if not symmetric:  # TF puts the extra pixel right/bottom
            fixed = nn.Sequential(nn.ZeroPad2d((pw // 2, pw - pw // 2, ph // 2, ph - ph // 2)), fixed)
        setattr(parent, attr, fixed)
    return model


def export_onnx(model, variant: str, input_size: int, path: Path) -> Path:
    """Export ``model``'s ``variant`` forward to ``path`` (written to a temp file, then renamed: atomic)."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wrapped = _variant_module(freeze_same_padding(model, input_size), variant)
    example = torch.zeros(2, 3, input_size, input_size)
    fd, tmp = tempfile.mkstemp(prefix=path.stem + ".", suffix=".tmp", dir=str(path.parent))
    os.close(fd)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer and deprecation chatter; correctness is verified after
            torch.onnx.export(
                wrapped, (example,), tmp, dynamo=False, input_names=["images"], output_names=["features"],
                dynamic_axes={"images": {0: "batch"}, "features": {0: "batch"}}, opset_version=ONNX_OPSET,
                do_constant_folding=True,
            )
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def verification_batch(cfg) -> np.ndarray:
    """Fixed pseudo-random batch of photo-like inputs, normalized with the backbone's own mean/std.

    White noise alone is too easy: its activations average out. Real photos have large smooth regions whose
    activations add up coherently in the global pooling, which is where float32 accumulation order shows. So
    the batch mixes pixel noise, smooth colour fields (a few random colours blown up), a flat gray image, a
    saturated one and a sharp-edged one. Odd batch size, so the dynamic batch axis is exercised too.
    """
    rng = np.random.default_rng(20240601)
    s = cfg.input_size
    yy, xx = np.mgrid[0:s, 0:s] / max(s - 1, 1)
    imgs = [rng.random((s, s, 3))]
    corners = rng.random((4, 3))  # bilinear blend of four random corner colours
    imgs.append((corners[0] * (1 - yy)[..., None] * (1 - xx)[..., None] + corners[1] * (1 - yy)[..., None] *
                 xx[..., None] + corners[2] * yy[..., None] * (1 - xx)[..., None] +
                 corners[3] * (yy * xx)[..., None]))
    imgs.append(np.full((s, s, 3), 0.5) + 0.01 * rng.standard_normal((s, s, 3)))
    imgs.append(np.ones((s, s, 3)) * np.array([1.0, 0.9, 0.0]))
    imgs.append(np.where(((yy * 8).astype(int) + (xx * 8).astype(int))[..., None] % 2 == 0, 0.95, 0.05)
                * np.ones(3))
    batch = np.clip(np.stack(imgs), 0, 1)
    batch = (batch - np.asarray(cfg.mean)) / np.asarray(cfg.std)
    return np.ascontiguousarray(batch.transpose(0, 3, 1, 2), dtype=np.float32)


class OnnxEngine:
    """ONNX Runtime session over an exported, verified graph of backbone + variant."""

    name = "onnx"
    preferred_batch = 4

    def __init__(self, backbone: str, variant: str, intra_op_threads: Optional[int] = None,
                 concurrency: Optional[int] = None, cache_dir: Optional[Path] = None):
        import onnxruntime as ort

        from piaa.backbones import get_pretrained_cfg

        cfg = get_pretrained_cfg(backbone)
        self.backbone, self.variant = backbone, variant
        model = None
        weights = weights_file_digest(backbone)
        if weights is None:
            model = self._eager(backbone)
            weights = weights_digest(model)
        name = export_key(backbone, cfg, variant, weights)
        self.path = Path(cache_dir or onnx_cache_dir()) / name
        prebuilt = prebuilt_onnx_dir() / name
        if cache_dir is None and not self.path.exists() and prebuilt.exists() and reference_path(prebuilt).exists():
            self.path = prebuilt
        batch = verification_batch(cfg)
        stored = _load_reference(reference_path(self.path), batch) if self.path.exists() else None
        if stored is None and model is None:
            model = self._eager(backbone)
        if not self.path.exists():
            export_onnx(model, variant, cfg.input_size, self.path)

        cores = cpu_cores()
        # one single-threaded call per core (each lane decodes its own batches): no per-operator
        # synchronisation between threads, less CPU per photo than one 2-thread call (docs/benchmarks/speed.md)
        intra = intra_op_threads or _int_env("PIAA_ORT_THREADS") or 1
        self.intra_op_threads = max(1, intra)
        self.max_concurrency = concurrency or max(1, cores // self.intra_op_threads)
        so = session_options(self.intra_op_threads)
        try:
            self.session = ort.InferenceSession(str(self.path), so, providers=["CPUExecutionProvider"])
        except Exception:  # a damaged cache file: export again once
            model = model if model is not None else self._eager(backbone)
            stored = None
            self.path.unlink(missing_ok=True)
            export_onnx(model, variant, cfg.input_size, self.path)
            self.session = ort.InferenceSession(str(self.path), so, providers=["CPUExecutionProvider"])
        self._input = self.session.get_inputs()[0].name

        if stored is not None:
            # eager's outputs on the verification batch were saved when this export first verified: the same
            # check as below, without importing torch (start-up of `piaa score` on a warm cache)
            self.verified_max_abs_diff, self.verify_tolerance = verify_against_reference(self, batch, *stored)
        else:
            self.verified_max_abs_diff, self.verify_tolerance, ref = verify_against_eager(
                self, model, variant, cfg, return_reference=True)
            _save_reference(reference_path(self.path), batch, ref, self.verify_tolerance)

    @staticmethod
    def _eager(backbone: str):
        from piaa.backbones import create_backbone

        set_torch_threads()
        return create_backbone(backbone)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        out = self.session.run(None, {self._input: np.ascontiguousarray(batch, dtype=np.float32)})[0]
        return out.astype(np.float32, copy=False)


def session_options(intra_op_threads: int):
    """ONNX Runtime options of every piaa session: all graph optimizations, sequential execution, and
    worker threads that sleep instead of spinning when there is more than one (spinning steals the cores the
    decoders need)."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.intra_op_num_threads = intra_op_threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    if intra_op_threads > 1:
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return so


def verify_against_eager(engine, model, variant: str, cfg, return_reference: bool = False) -> tuple:
    """Run ``verification_batch`` through ``engine`` and the eager model; return (max abs diff, tolerance)
    (and eager's outputs with ``return_reference``).

    The tolerance is ``VERIFY_ATOL`` (1e-4). Only where eager float32 is itself not that exact -- large
    unpooled activations ("trunkK", values up to ~40 in EfficientNet-Lite) -- it becomes twice eager's own
    rounding error, measured against a float64 forward of the same batch: an export must then be as close to
    eager as float32 arithmetic allows, and no engine has to be more exact than the reference it is judged by.
    Raises EngineVerificationError beyond it.
    """
    import torch

    x = verification_batch(cfg)
    with torch.inference_mode():
        ref = model.forward_variant(torch.from_numpy(x), variant).float().numpy()
    got = engine(x)
    if got.shape != ref.shape:
        raise EngineVerificationError(f"{engine.name} engine of {cfg.weights or 'backbone'}/{variant} returns "
                                      f"shape {got.shape}, eager PyTorch {ref.shape}")
    diff = float(np.max(np.abs(got - ref))) if ref.size else 0.0
    tol = VERIFY_ATOL
    if not diff <= tol:
        with torch.inference_mode():
            exact = copy.deepcopy(model).double().forward_variant(torch.from_numpy(x).double(), variant).numpy()
        tol = max(VERIFY_ATOL, 2.0 * float(np.max(np.abs(ref - exact))))
    if not diff <= tol:
        raise EngineVerificationError(
            f"{engine.name} export of {variant} features ({getattr(engine, 'path', '')}) differs from eager "
            f"PyTorch: max abs diff {diff:.3g} > tolerance {tol:.3g}")
    return (diff, tol, ref) if return_reference else (diff, tol)


def verify_against_reference(engine, batch: np.ndarray, ref: np.ndarray, tol: float) -> tuple:
    """The check of ``verify_against_eager`` against eager outputs saved earlier for the same batch."""
    got = engine(batch)
    diff = float(np.max(np.abs(got - ref))) if got.shape == ref.shape and ref.size else float("inf")
    if not diff <= tol:
        raise EngineVerificationError(
            f"{engine.name} export of {engine.variant} features ({getattr(engine, 'path', '')}) differs from "
            f"the saved eager PyTorch outputs: max abs diff {diff:.3g} > tolerance {tol:.3g}")
    return diff, tol


def _build_verified_or_torch(backbone: str, variant: str):
    """ONNX engine when it exports and verifies; otherwise the eager engine (with a warning on failure)."""
    try:
        return OnnxEngine(backbone, variant)
    except Exception as exc:  # export failure, unsupported op, verification mismatch: eager is always right
        warnings.warn(f"ONNX engine unavailable for {backbone}/{variant}, using torch: {exc}", PiaaWarning,
                      stacklevel=3)
        return TorchEngine(backbone, variant)


register_engine("torch", TorchEngine)
register_engine("onnx", _build_verified_or_torch)
