"""One registry class for every pluggable part of piaa (backbones, personalizers, evaluation methods, dataset
readers, scoring models), in the timm / open_clip style: a name maps to an object, ``names()`` lists them.

    from piaa.registry import Registry

    widgets = Registry("widget", plugins=("mypkg.widgets",))   # modules imported lazily on first look-up

    @widgets.register("round", aliases=("circle",))             # decorator ...
    class Round: ...

    widgets.register("square", Square)                          # ... or call
    widgets.get("circel")   # UnknownNameError: unknown widget 'circel'; did you mean 'circle'? (known: ...)
    widgets.unregister("square")                                # for tests: never edit a registry's dicts

* Names are normalized by ``normalize`` (default: stripped; the dataset registry also lower-cases and maps
  ``_`` to ``-``) for registration and look-up alike.
* Registering a name (or alias) that exists raises :class:`~piaa.errors.DuplicateNameError` unless
  ``override=True``.
* An unknown name raises :class:`~piaa.errors.UnknownNameError` (a ``PiaaError``, also a ``KeyError`` and a
  ``ValueError``) with "did you mean" suggestions from :mod:`difflib`.
* Where the entries come from, imported on the first look-up or listing (never at import time, so ``piaa
  --help`` stays fast):

  - ``packages``: piaa's own packages whose every module registers what it defines on import
    (``piaa.personalize``, ``piaa.evaluation.methods``): a new module there is found without being listed;
  - ``plugins``: single modules, the same way;
  - installed distributions' entry points in the group ``piaa.plugins`` (:data:`ENTRY_POINT_GROUP`), as
    pyiqa and pytest plug-ins work: an entry point names a module (imported: it registers on import) or a
    function (called once with no argument). In a plug-in's ``pyproject.toml``::

        [project.entry-points."piaa.plugins"]
        my_method = "my_pkg.piaa_plugin"

  A module that is absent is skipped (optional parts stay optional); an import error *inside* a present
  module or plug-in is raised, so a broken plug-in is never silently missing.
* ``validate(name, obj)`` (optional) checks each object at registration (e.g. "is a Personalizer subclass").

Foundation layer: imports nothing from piaa except :mod:`piaa.errors`.
"""
from __future__ import annotations

import difflib
import importlib
from typing import Any, Callable, Dict, Generic, Iterable, Iterator, List, Optional, Sequence, Set, TypeVar

from piaa.errors import DuplicateNameError, InputError, UnknownNameError

T = TypeVar("T")

#: the entry-point group installed plug-ins declare (``importlib.metadata.entry_points(group=...)``)
ENTRY_POINT_GROUP = "piaa.plugins"

_imported: Set[str] = set()
_entry_points_loaded = False


def load_entry_point_plugins() -> None:
    """Load every ``piaa.plugins`` entry point once per process (module: imported; function: called)."""
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    from importlib.metadata import entry_points

    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        obj = ep.load()
        if callable(obj) and not isinstance(obj, type):
            obj()


def package_modules(package: str) -> List[str]:
    """The modules of ``package`` (not sub-packages' contents; names starting with ``_`` left out), sorted."""
    import pkgutil

    pkg = importlib.import_module(package)
    return sorted(f"{package}.{m.name}" for m in pkgutil.iter_modules(getattr(pkg, "__path__", []))
                  if not m.name.startswith("_"))


def import_plugins(modules: Iterable[str]) -> None:
    """Import each module once; a module that does not exist is skipped, any other import error is raised."""
    for mod in modules:
        if mod in _imported:
            continue
        _imported.add(mod)
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name != mod:
                _imported.discard(mod)
                raise


def _strip(name: str) -> str:
    return str(name).strip()


class Registry(Generic[T]):
    """Name -> object, with aliases, lazy plug-in modules and "did you mean" on unknown names."""

    def __init__(self, kind: str, plugins: Sequence[str] = (), normalize: Callable[[str], str] = _strip,
                 validate: Optional[Callable[[str, Any], None]] = None, packages: Sequence[str] = ()):
        self.kind = kind
        self._plugins: List[str] = list(plugins)
        self._packages: List[str] = list(packages)
        self._normalize = normalize
        self._validate = validate
        self._items: Dict[str, T] = {}
        self._aliases: Dict[str, str] = {}

    # ---- registration -------------------------------------------------------------------------------------------
    def register(self, name: str, obj: Any = None, *, aliases: Sequence[str] = (), override: bool = False) -> Any:
        """Register ``obj`` under ``name`` (returns ``obj``); without ``obj``, return a decorator."""
        if obj is None:
            def deco(o: T) -> T:
                self._add(name, o, aliases, override)
                return o

            return deco
        self._add(name, obj, aliases, override)
        return obj

    def _add(self, name: str, obj: T, aliases: Sequence[str], override: bool) -> None:
        key = self._normalize(name)
        if not key:
            raise InputError(f"a {self.kind} needs a non-empty name")
        alias_keys = [self._normalize(a) for a in aliases]
        if not override:
            for k in [key] + alias_keys:
                if k in self._items or k in self._aliases:
                    raise DuplicateNameError(f"{self.kind} {k!r} is already registered "
                                             f"(pass override=True to replace it)")
        if self._validate is not None:
            self._validate(key, obj)
        if override:
            self._aliases.pop(key, None)
        self._items[key] = obj
        for a in alias_keys:
            if a != key:
                if override:
                    self._items.pop(a, None)
                self._aliases[a] = key

    def alias(self, alias: str, name: str, *, override: bool = False) -> None:
        """Make ``alias`` another name of the registered ``name``."""
        target = self.resolve(name)
        a = self._normalize(alias)
        if not override and (a in self._items or a in self._aliases):
            raise DuplicateNameError(f"{self.kind} {a!r} is already registered (pass override=True to replace it)")
        self._aliases[a] = target

    def unregister(self, name: str) -> T:
        """Remove ``name`` and its aliases (tests use this to clean up after registering a stand-in)."""
        key = self.resolve(name)
        obj = self._items.pop(key)
        for a in [a for a, t in self._aliases.items() if t == key]:
            del self._aliases[a]
        return obj

    def add_plugins(self, *modules: str) -> None:
        """More modules to import lazily (e.g. an installed extension's)."""
        self._plugins.extend(m for m in modules if m not in self._plugins)

    # ---- look-up -------------------------------------------------------------------------------------------------
    def load_plugins(self) -> None:
        """Import the registry's packages and plug-in modules and the installed ``piaa.plugins`` (once each)."""
        for pkg in self._packages:
            if pkg not in _imported:
                import_plugins(package_modules(pkg))
                _imported.add(pkg)
        import_plugins(self._plugins)
        load_entry_point_plugins()

    def resolve(self, name: str) -> str:
        """The canonical name of ``name`` (itself or the name an alias points to)."""
        self.load_plugins()
        key = self._normalize(name)
        if key in self._items:
            return key
        if key in self._aliases:
            return self._aliases[key]
        raise UnknownNameError(self.kind, name, self.names(), self.suggest(name))

    def suggest(self, name: str, n: int = 3) -> List[str]:
        """Registered names (or aliases) close to ``name``, best first ("did you mean ...")."""
        self.load_plugins()
        candidates = list(self._items) + list(self._aliases)
        return difflib.get_close_matches(self._normalize(name), candidates, n=n, cutoff=0.6)

    def get(self, name: str) -> T:
        return self._items[self.resolve(name)]

    __getitem__ = get

    def names(self) -> List[str]:
        """Canonical names, sorted (aliases not included)."""
        self.load_plugins()
        return sorted(self._items)

    def aliases(self) -> Dict[str, str]:
        self.load_plugins()
        return dict(self._aliases)

    def items(self) -> List[tuple]:
        return [(n, self._items[n]) for n in self.names()]

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            self.resolve(name)
        except UnknownNameError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {len(self._items)} registered)"
