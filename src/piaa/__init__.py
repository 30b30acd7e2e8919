"""piaa: generic (GIAA) and personalized (PIAA) image aesthetics assessment, fast on a CPU.

Top-level API (imported lazily so ``import piaa`` stays cheap):

- ``piaa.load_scorer(name=None)`` -> a generic scorer; ``.score(paths_or_pil_images)``
- ``piaa.list_models()`` -> names of the scoring models
- ``piaa.Profile`` -> a person's learned taste (see ``piaa.profiles``)
"""
__version__ = "0.1.0"

_LAZY = {
    "load_scorer": ("piaa.models.scorer", "load_scorer"),
    "list_models": ("piaa.models.scorer", "list_models"),
    "Profile": ("piaa.profiles.profile", "Profile"),
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        mod, attr = _LAZY[name]
        return getattr(importlib.import_module(mod), attr)
    raise AttributeError(f"module 'piaa' has no attribute {name!r}")


__all__ = ["__version__", *_LAZY]
