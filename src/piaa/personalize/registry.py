"""Personalizer registry: method name -> :class:`~piaa.personalize.base.Personalizer` subclass.

    est = make_personalizer("task-vectors", **params)
    est.fit(images, scores)          # images: paths / PIL images, or a precomputed feature array
    est.predict(images)
    state = est.state_dict()         # {"meta": json-able dict, "arrays": {name: ndarray}}; no pickle
    est2 = get_personalizer_class("task-vectors").from_state_dict(state)

Modules that implement personalizers register themselves on import (``@register_personalizer("name")``); the
registry imports the modules of ``piaa.personalize`` (and installed ``piaa.plugins`` entry points) lazily, on the
first look-up, so a new module is found without being listed anywhere. Tests that
register a stand-in remove it with ``PERSONALIZERS.unregister(name)``.
"""
from __future__ import annotations

from typing import Callable, Sequence

from piaa.errors import InvalidParameterError
from piaa.personalize.base import Personalizer
from piaa.registry import Registry


def _check_personalizer(name: str, cls) -> None:
    if not (isinstance(cls, type) and issubclass(cls, Personalizer)):
        raise TypeError(f"personalizer {name!r} must be a subclass of piaa.personalize.base.Personalizer")
    cls.param_names()  # raises on *args/**kwargs


PERSONALIZERS: Registry[type] = Registry(
    "personalization method",
    packages=("piaa.personalize",),  # every module of the package registers what it defines
    validate=_check_personalizer,
)


def register_personalizer(name: str, *, aliases: Sequence[str] = (), override: bool = False
                          ) -> Callable[[type], type]:
    """Class decorator: register a Personalizer subclass under ``name`` (sets its ``method_name``)."""
    def deco(cls: type) -> type:
        PERSONALIZERS.register(name, cls, aliases=aliases, override=override)
        cls.method_name = name
        return cls

    return deco


def list_personalizers() -> list:
    return PERSONALIZERS.names()


def get_personalizer_class(name: str) -> type:
    return PERSONALIZERS.get(name)


def make_personalizer(name: str, **params) -> Personalizer:
    cls = get_personalizer_class(name)
    known = cls.param_names()
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise InvalidParameterError(f"{name}: unknown parameter(s) {unknown}; parameters: {', '.join(known)}")
    return cls(**params)
