"""Saving fitted state without pickle: JSON metadata + named numpy arrays in one ``.npz`` (or bytes).

Every personalizer exposes ``state_dict() -> {"meta": {...json...}, "arrays": {name: ndarray}}`` and
``from_state_dict(state)``; these helpers turn that into a file or a blob (the profile store keeps blobs).
Loading uses ``allow_pickle=False``, so a profile file can never execute code.
"""
from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Dict

import numpy as np
from piaa.errors import InputError

_META_KEY = "__meta_json__"


def state_to_bytes(state: Dict[str, Any]) -> bytes:
    arrays = {k: np.asarray(v) for k, v in state.get("arrays", {}).items()}
    if _META_KEY in arrays:
        raise InputError(f"array name {_META_KEY!r} is reserved")
    meta = json.dumps(state.get("meta", {}), sort_keys=True).encode("utf-8")
    arrays[_META_KEY] = np.frombuffer(meta, dtype=np.uint8)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def state_from_bytes(blob: bytes) -> Dict[str, Any]:
    with np.load(io.BytesIO(blob), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files if k != _META_KEY}
        meta = json.loads(bytes(z[_META_KEY]).decode("utf-8")) if _META_KEY in z.files else {}
    return {"meta": meta, "arrays": arrays}


def atomic_write_bytes(path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temp file + rename, so a crash never leaves a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def save_state(path, state: Dict[str, Any]) -> None:
    atomic_write_bytes(path, state_to_bytes(state))


def load_state(path) -> Dict[str, Any]:
    return state_from_bytes(Path(path).read_bytes())
