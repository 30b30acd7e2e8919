"""Moved to :mod:`piaa.state` (foundation layer); this re-export keeps old imports working."""
from piaa.state import (  # noqa: F401
    atomic_write_bytes,
    load_state,
    save_state,
    state_from_bytes,
    state_to_bytes,
)
