"""Evaluation methods by name (``methods = ["generic", "probe", ...]`` in an experiment file).

A method is a :class:`~piaa.evaluation.methods.base.Method` subclass with a ``name`` (and optionally
``aliases``), registered with ``@register_method``. The registry is a :class:`piaa.registry.Registry`:
tests remove a stand-in with ``METHODS.unregister(name)``.
"""
from __future__ import annotations

from piaa.evaluation.methods.base import Method
from piaa.registry import Registry


def _check_method(name: str, cls) -> None:
    if not (isinstance(cls, type) and issubclass(cls, Method) and cls.name):
        raise TypeError("register_method expects a Method subclass with a name")


METHODS: Registry[type] = Registry(
    "method",
    packages=("piaa.evaluation.methods",),  # every module of the package registers its methods on import
    validate=_check_method,
)


def register_method(cls: type = None, *, override: bool = False):
    """Class decorator: register a Method subclass under its ``name`` (and its ``aliases``, if any)."""
    def deco(c: type) -> type:
        _check_method(getattr(c, "name", ""), c)
        return METHODS.register(c.name, c, aliases=tuple(getattr(c, "aliases", ())), override=override)

    return deco if cls is None else deco(cls)


def list_methods() -> list:
    return METHODS.names()


def get_method_class(name: str) -> type:
    return METHODS.get(name)


def make_method(name: str, **options) -> Method:
    return get_method_class(name)(**options)
