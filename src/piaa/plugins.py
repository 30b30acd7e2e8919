"""Lazy import of the modules that fill a registry (methods, personalizers) by registering themselves.

A module that is absent is skipped (optional parts stay optional); an import error *inside* a module that is
present is raised, so a broken plug-in is never silently missing.
"""
from __future__ import annotations

import importlib
from typing import Iterable, Set

_done: Set[str] = set()


def import_plugins(modules: Iterable[str]) -> None:
    for mod in modules:
        if mod in _done:
            continue
        _done.add(mod)
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name != mod:
                raise
