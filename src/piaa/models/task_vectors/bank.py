"""TaskBank: θ_pre (everything above the split + the shared head init) and one task vector per task.

``τ[l,k] = θ_k[l] − θ_pre[l]`` for every parameter tensor l above the split. On disk a bank is a directory::

    BANK/bank.json    spec, parameter names/shapes, per-task metadata (name, scale, template, data, metrics)
    BANK/params.npz   "pre/<param>" (float32) and "tau/<task index>/<param>" (float16 by default); with an input
                      projection (``spec.components``) also "in/mean" [d] and "in/proj" [d, c] (float32)

No pickle anywhere (``allow_pickle=False``). Arrays are read from the npz only when first used (lazy), so
``piaa tasks show`` or a profile that needs three tasks never reads the rest.
"""
from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from piaa.models.task_vectors.spec import TaskModelSpec
from piaa.errors import FileMissingError, InputError, StateError

BANK_FORMAT = 1


class TaskBank:
    def __init__(self, spec: TaskModelSpec, param_shapes: Dict[str, tuple], tasks: List[dict],
                 theta_pre: Optional[Dict[str, np.ndarray]] = None, taus: Optional[List[Dict[str, np.ndarray]]] = None,
                 tau_dtype: str = "float16", path: Optional[Path] = None, fingerprint: Optional[str] = None,
                 extra: Optional[dict] = None, input_transform: Optional[Dict[str, np.ndarray]] = None):
        self.spec = spec
        self._in = input_transform
        self.param_shapes = {k: tuple(v) for k, v in param_shapes.items()}
        self.tasks = list(tasks)
        self.tau_dtype = tau_dtype
        self.path = None if path is None else Path(path)
        self.extra = dict(extra or {})
        self._pre = theta_pre
        self._taus: Dict[int, Dict[str, np.ndarray]] = {i: t for i, t in enumerate(taus or [])}
        self._npz = None
        self._fingerprint = fingerprint
        self._stacks: Dict[str, np.ndarray] = {}
        self._net = None

    # ---- identity --------------------------------------------------------------------------------------------
    @property
    def param_names(self) -> List[str]:
        return list(self.param_shapes)

    @property
    def task_names(self) -> List[str]:
        return [t["name"] for t in self.tasks]

    @property
    def num_tasks(self) -> int:
        return len(self.tasks)

    @property
    def fingerprint(self) -> str:
        """sha256 of the stored arrays + metadata (what a profile records to find its bank again)."""
        if self._fingerprint is None:
            h = hashlib.sha256(json.dumps(self._meta(), sort_keys=True).encode())
            for name in self.param_names:
                h.update(np.ascontiguousarray(self.theta_pre[name]).tobytes())
            for k in range(self.num_tasks):
                for name in self.param_names:
                    h.update(np.ascontiguousarray(self.tau(k)[name]).tobytes())
            if self.input_transform is not None:
                for key in ("mean", "proj"):
                    h.update(np.ascontiguousarray(self.input_transform[key]).tobytes())
            self._fingerprint = h.hexdigest()[:32]
        return self._fingerprint

    # ---- arrays (lazy) ---------------------------------------------------------------------------------------
    def _array(self, key: str) -> np.ndarray:
        if self._npz is None:
            if self.path is None:
                raise StateError("bank has no file to read arrays from")
            self._npz = np.load(self.path / "params.npz", allow_pickle=False)
        return self._npz[key]

    @property
    def theta_pre(self) -> Dict[str, np.ndarray]:
        if self._pre is None:
            self._pre = {n: self._array(f"pre/{n}").astype(np.float32) for n in self.param_names}
        return self._pre

    @property
    def input_transform(self) -> Optional[Dict[str, np.ndarray]]:
        """The frozen input projection {"mean": [d], "proj": [d, c]} (None without ``spec.components``)."""
        if self._in is None and self.spec.components:
            self._in = {k: self._array(f"in/{k}").astype(np.float32) for k in ("mean", "proj")}
        return self._in

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Flat inputs [n, d] -> fc1 inputs [n, c] (identity without a projection; NaN rows stay NaN)."""
        X = np.asarray(X, np.float32)
        tr = self.input_transform
        if tr is None:
            return X
        return (X - tr["mean"]) @ tr["proj"]

    def tau(self, k: int) -> Dict[str, np.ndarray]:
        """Task vector of task k (stored dtype)."""
        if not 0 <= k < self.num_tasks:
            raise IndexError(f"task index {k} out of range (bank has {self.num_tasks} tasks)")
        if k not in self._taus:
            self._taus[k] = {n: self._array(f"tau/{k}/{n}") for n in self.param_names}
        return self._taus[k]

    def tau_stack(self, name: str) -> np.ndarray:
        """[K, *shape] float32 stack of one parameter's task vectors (cached)."""
        if name not in self._stacks:
            self._stacks[name] = np.stack([self.tau(k)[name].astype(np.float32) for k in range(self.num_tasks)])
        return self._stacks[name]

    def theta(self, k: int) -> Dict[str, np.ndarray]:
        """Parameters of task model k: θ_pre + τ_k."""
        return {n: self.theta_pre[n] + self.tau(k)[n].astype(np.float32) for n in self.param_names}

    def combine(self, lam: np.ndarray) -> Dict[str, np.ndarray]:
        """θ[l] = θ_pre[l] + Σ_k λ[l,k] τ[l,k] for λ of shape [L, K] (or [K]: same λ for every tensor)."""
        lam = np.asarray(lam, dtype=np.float32)
        if lam.ndim == 1:
            lam = np.broadcast_to(lam, (len(self.param_names), self.num_tasks))
        if lam.shape != (len(self.param_names), self.num_tasks):
            raise InputError(f"λ must have shape {(len(self.param_names), self.num_tasks)}, not {lam.shape}")
        out = {}
        for i, n in enumerate(self.param_names):
            st = self.tau_stack(n)
            out[n] = self.theta_pre[n] + np.tensordot(lam[i], st, axes=1)
        return out

    def top_net(self):
        """A TopNet holding θ_pre (built once; used for functional forwards)."""
        if self._net is None:
            from piaa.models.task_vectors.net import build_top, set_params

            self._net = set_params(build_top(self.spec), self.theta_pre)
        return self._net

    def templates(self) -> np.ndarray:
        return np.asarray([t["template"] for t in self.tasks], dtype=np.float64)

    # ---- persistence -----------------------------------------------------------------------------------------
    def _meta(self) -> dict:
        # a list, not a dict: the order of the parameter tensors is the order of the rows of every λ
        return {"format": BANK_FORMAT, "spec": self.spec.to_json(), "tau_dtype": self.tau_dtype,
                "params": [[n, list(s)] for n, s in self.param_shapes.items()], "tasks": self.tasks,
                "extra": self.extra}

    def save(self, path) -> Path:
        """Write BANK/bank.json + BANK/params.npz atomically (each file via temp + rename)."""
        from piaa.state import atomic_write_bytes

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        arrays = {f"pre/{n}": self.theta_pre[n].astype(np.float32) for n in self.param_names}
        for k in range(self.num_tasks):
            for n in self.param_names:
                arrays[f"tau/{k}/{n}"] = self.tau(k)[n].astype(self.tau_dtype)
        if self.input_transform is not None:
            for key, a in self.input_transform.items():
                arrays[f"in/{key}"] = np.asarray(a, np.float32)
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        meta = self._meta()
        meta["fingerprint"] = self.fingerprint
        atomic_write_bytes(path / "params.npz", buf.getvalue())
        atomic_write_bytes(path / "bank.json", (json.dumps(meta, indent=1, sort_keys=True) + "\n").encode())
        return path

    @classmethod
    def load(cls, path) -> "TaskBank":
        path = Path(path)
        meta_path = path / "bank.json"
        if not meta_path.exists():
            raise FileMissingError(f"{path}: not a task bank (no bank.json; build one with `piaa tasks train`)")
        try:
            meta = json.loads(meta_path.read_text())
        except json.JSONDecodeError as exc:
            raise InputError(f"{meta_path}: line {exc.lineno}: invalid JSON ({exc.msg})") from None
        if meta.get("format") != BANK_FORMAT:
            raise InputError(f"{meta_path}: unsupported bank format {meta.get('format')!r} (expected {BANK_FORMAT})")
        if not (path / "params.npz").exists():
            raise FileMissingError(f"{path}: params.npz is missing")
        params = meta["params"]
        if not isinstance(params, list):
            raise InputError(f"{meta_path}: 'params' must be a list of [name, shape] pairs")
        return cls(TaskModelSpec.from_json(meta["spec"]), {n: tuple(sh) for n, sh in params}, meta["tasks"],
                   tau_dtype=meta.get("tau_dtype", "float16"), path=path, fingerprint=meta.get("fingerprint"),
                   extra=meta.get("extra"))

    def with_tau_dtype(self, dtype: str) -> "TaskBank":
        """A copy whose task vectors are rounded to ``dtype`` (to check what fp16 storage costs)."""
        taus = [{n: self.tau(k)[n].astype(dtype) for n in self.param_names} for k in range(self.num_tasks)]
        return TaskBank(self.spec, self.param_shapes, self.tasks, dict(self.theta_pre), taus, dtype, extra=self.extra,
                        input_transform=self.input_transform)

    def subset(self, indices) -> "TaskBank":
        """A bank with only the given tasks (number-of-tasks curve, ablations)."""
        idx = list(indices)
        taus = [self.tau(k) for k in idx]
        return TaskBank(self.spec, self.param_shapes, [self.tasks[k] for k in idx], self.theta_pre, taus,
                        self.tau_dtype, extra=self.extra, input_transform=self.input_transform)

    def describe(self) -> dict:
        n_params = int(sum(int(np.prod(s)) for s in self.param_shapes.values()))
        return {"path": None if self.path is None else str(self.path), "fingerprint": self.fingerprint,
                "spec": self.spec.to_json(), "tau_dtype": self.tau_dtype, "params_per_task": n_params,
                "param_tensors": len(self.param_shapes), "tasks": self.tasks, "extra": self.extra}
