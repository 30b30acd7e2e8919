"""Evaluation methods by name (``methods = ["generic", "probe", ...]`` in an experiment file)."""
from __future__ import annotations

from piaa.plugins import import_plugins
from typing import Dict

from piaa.evaluation.methods.base import Method

_REGISTRY: Dict[str, type] = {}
_KNOWN_MODULES = (
    "piaa.evaluation.methods.baselines",      # generic, probe, crowd-oracle
    "piaa.evaluation.methods.pa_iaa",         # pa-iaa, mt-iaa (+ variants)
    "piaa.evaluation.methods.task_vectors",   # task-vectors and its ablations
    "piaa.evaluation.methods.prior_probe",    # probe-prior (probe with a population taste prior)
)


def register_method(cls: type) -> type:
    if not (isinstance(cls, type) and issubclass(cls, Method) and cls.name):
        raise TypeError("register_method expects a Method subclass with a name")
    _REGISTRY[cls.name] = cls
    return cls


def _load_known() -> None:
    import_plugins(_KNOWN_MODULES)


def list_methods() -> list:
    _load_known()
    return sorted(_REGISTRY)


def get_method_class(name: str) -> type:
    _load_known()
    if name not in _REGISTRY:
        raise KeyError(f"unknown method {name!r}; known methods: {', '.join(sorted(_REGISTRY)) or 'none'}")
    return _REGISTRY[name]


def make_method(name: str, **options) -> Method:
    return get_method_class(name)(**options)
