"""Kept for compatibility: lazy plug-in imports now live in :mod:`piaa.registry`."""
from piaa.registry import import_plugins  # noqa: F401
