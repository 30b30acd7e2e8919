"""Personalizer registry: method name -> estimator class (scikit-learn contract, DESIGN.md §4).

A personalizer is fitted to one person's rated images and predicts their scores for other images:

    est = make_personalizer("task-vectors", **params)
    est.fit(images, scores)          # images: paths / PIL images, or a precomputed feature array
    est.predict(images)
    state = est.state_dict()         # {"meta": json-able dict, "arrays": {name: ndarray}}; no pickle
    est2 = get_personalizer_class("task-vectors").from_state_dict(state)

Modules that implement personalizers register themselves on import; the registry imports the known modules
lazily so a missing optional module never breaks the others.
"""
from __future__ import annotations

from piaa.plugins import import_plugins
from typing import Callable, Dict

_REGISTRY: Dict[str, type] = {}
_KNOWN_MODULES = ("piaa.personalize.pa_iaa", "piaa.personalize.task_vectors", "piaa.personalize.probe",
                  "piaa.personalize.prior_probe")


def register_personalizer(name: str) -> Callable[[type], type]:
    def deco(cls: type) -> type:
        cls.method_name = name
        _REGISTRY[name] = cls
        return cls

    return deco


def _load_known() -> None:
    import_plugins(_KNOWN_MODULES)


def list_personalizers() -> list:
    _load_known()
    return sorted(_REGISTRY)


def get_personalizer_class(name: str) -> type:
    _load_known()
    if name not in _REGISTRY:
        raise KeyError(f"unknown personalization method {name!r}; known: {', '.join(sorted(_REGISTRY)) or 'none'}")
    return _REGISTRY[name]


def make_personalizer(name: str, **params):
    return get_personalizer_class(name)(**params)
