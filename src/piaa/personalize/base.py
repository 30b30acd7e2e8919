"""The one contract every personalizer follows: scikit-learn's estimator semantics plus pickle-free state.

A personalizer is fitted to one person's rated images and predicts their scores for other images::

    from piaa.personalize import Personalizer, register_personalizer

    @register_personalizer("my-method")
    class MyPersonalizer(Personalizer):
        def __init__(self, strength: float = 1.0):   # parameters = the __init__ arguments, stored unchanged
            self.strength = strength

        def fit(self, X, y, *, offset=None):         # returns self; fitted attributes end in "_"
            ...
            self.coef_ = ...
            return self

        def predict(self, X, *, offset=None):
            self.check_fitted()
            ...

        def _get_state(self):                         # -> (json-able meta dict, {name: ndarray})
            return {"strength": self.strength}, {"coef_": self.coef_}

        @classmethod
        def _from_state(cls, meta, arrays):           # the base checks method name and version first
            est = cls(strength=meta["strength"])
            est.coef_ = arrays["coef_"]
            return est

The rules (checked for every registered personalizer by ``tests/unit/personalize/test_personalizer_contract.py``):

* **Parameters** are exactly the ``__init__`` arguments (no ``*args``/``**kwargs``), each stored under its own
  name and not changed by ``fit``. ``get_params()``/``set_params()``/``repr()`` derive from them; an unknown
  parameter raises :class:`~piaa.errors.InvalidParameterError`. Caches derived from a parameter (a resolved
  network or task bank) live in private attributes (leading ``_``) keyed by the parameter they came from.
* **Fitting**: ``fit(X, y, *, offset=None)`` returns ``self``; fitted state lives in public attributes ending in
  ``_`` (``is_fitted()`` looks for them); ``predict(X, *, offset=None)`` returns one float per row of ``X``
  and raises :class:`~piaa.errors.NotFittedError` before ``fit``.
* **offset** is the generic model's score of each image. ``uses_offset = True`` (the default) says the
  personalizer learns a correction on top of it (the probes); ``uses_offset = False`` says it computes its
  own starting score (PA_IAA fusion from its network, task vectors from the bank) and ignores ``offset``.
  Callers (profiles, the evaluation) read the class attribute instead of inspecting signatures.
* **State**: ``state_dict()`` -> ``{"meta": json-able dict, "arrays": {name: ndarray}}`` (saved without pickle
  by :mod:`piaa.state`); ``meta`` always carries ``method`` (the registered name) and ``version``
  (``state_version``). ``cls.from_state_dict(state, **resources)`` checks both once, here, and hands the rest
  to ``_from_state``; ``resources`` are large objects the state only references (``network=``, ``bank=``),
  accepted when ``_from_state`` names them.
* ``contract_example(rng)`` returns inputs the contract test can fit on without data files (default: random
  feature rows); override it when ``X`` is something else (network outputs, bank inputs).
"""
from __future__ import annotations

import inspect
from typing import Any, ClassVar, Dict, List, Tuple

import numpy as np

from piaa.errors import InvalidParameterError, NotFittedError, StateError


class Personalizer:
    """Base class of every personalizer (see the module docs for the contract)."""

    #: the registered name; set by :func:`piaa.personalize.registry.register_personalizer`
    method_name: ClassVar[str] = ""
    #: version of the ``state_dict`` layout; raise it when the layout changes (and read the old one in
    #: ``_from_state`` if you can)
    state_version: ClassVar[int] = 1
    #: True: ``fit``/``predict`` model ``y - offset`` (a correction to the generic score); False: offset ignored
    uses_offset: ClassVar[bool] = True
    #: parameters that name a resource (a network, a bank, a cache) rather than a setting; they are not
    #: stored in ``state_dict()["meta"]["params"]`` by :meth:`saved_params`
    resource_params: ClassVar[Tuple[str, ...]] = ()

    # ---- parameters ------------------------------------------------------------------------------------------
    @classmethod
    def param_names(cls) -> List[str]:
        """The ``__init__`` arguments, in order."""
        init = cls.__init__
        if init is object.__init__:
            return []
        names = []
        for p in inspect.signature(init).parameters.values():
            if p.name == "self":
                continue
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                raise TypeError(f"{cls.__name__}.__init__ must list its parameters explicitly (no *args/**kwargs)")
            names.append(p.name)
        return names

    def get_params(self, deep: bool = True) -> Dict[str, Any]:
        return {k: getattr(self, k) for k in self.param_names()}

    def set_params(self, **params) -> "Personalizer":
        known = self.param_names()
        for k in params:
            if k not in known:
                raise InvalidParameterError(f"{type(self).__name__} has no parameter {k!r}; parameters: "
                                            f"{', '.join(known) or 'none'}")
        for k, v in params.items():
            setattr(self, k, v)
        return self

    def saved_params(self) -> Dict[str, Any]:
        """The parameters as JSON values, without ``resource_params`` (what a state records to rebuild self)."""
        return {k: _json_value(v) for k, v in self.get_params().items() if k not in self.resource_params}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={_short_repr(v)}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # ---- fitting ---------------------------------------------------------------------------------------------
    def fit(self, X, y, *, offset=None) -> "Personalizer":
        raise NotImplementedError

    def predict(self, X, *, offset=None) -> np.ndarray:
        raise NotImplementedError

    def is_fitted(self) -> bool:
        return any(k.endswith("_") and not k.startswith("_") for k in vars(self))

    def check_fitted(self) -> None:
        if not self.is_fitted():
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit(X, y) first")

    # ---- state -----------------------------------------------------------------------------------------------
    def state_dict(self) -> Dict[str, Any]:
        """``{"meta": {...json..., "method", "version"}, "arrays": {name: ndarray}}``; no pickle anywhere."""
        self.check_fitted()
        meta, arrays = self._get_state()
        meta = dict(meta)
        meta["method"] = self.method_name or type(self).__name__
        meta["version"] = int(self.state_version)
        return {"meta": meta, "arrays": dict(arrays)}

    @classmethod
    def from_state_dict(cls, state: Dict[str, Any], **resources) -> "Personalizer":
        """Rebuild a fitted personalizer from ``state_dict()`` output; ``resources`` (e.g. ``network=``,
        ``bank=``) replace the objects the state references."""
        if not isinstance(state, dict) or "meta" not in state:
            raise StateError("not a personalizer state (expected a dict with 'meta' and 'arrays')")
        meta = state["meta"]
        want = cls.method_name or cls.__name__
        if meta.get("method") != want:
            raise StateError(f"not a {want} state (method={meta.get('method')!r})")
        version = meta.get("version", 1)
        if not isinstance(version, int) or version > cls.state_version:
            raise StateError(f"this {want} state has version {version!r}; this piaa reads versions up to "
                             f"{cls.state_version} (upgrade piaa or refit)")
        accepted = [p for p in inspect.signature(cls._from_state).parameters][2:]
        unknown = sorted(set(resources) - set(accepted))
        if unknown:
            raise InvalidParameterError(f"{cls.__name__}.from_state_dict got unknown resource(s) {unknown}; "
                                        f"accepted: {accepted or 'none'}")
        return cls._from_state(meta, dict(state.get("arrays", {})), **resources)

    def _get_state(self) -> Tuple[Dict[str, Any], Dict[str, np.ndarray]]:
        raise NotImplementedError

    @classmethod
    def _from_state(cls, meta: Dict[str, Any], arrays: Dict[str, np.ndarray]) -> "Personalizer":
        raise NotImplementedError

    # ---- the contract test's inputs --------------------------------------------------------------------------
    @classmethod
    def contract_example(cls, rng: np.random.Generator) -> Dict[str, Any]:
        """Inputs the contract test fits on: ``params`` (for ``__init__``), ``X``, ``y``, ``offset`` and the
        ``resources`` for ``from_state_dict``. Default: 40 random feature rows of width 8."""
        X = rng.normal(size=(40, 8))
        y = X[:, 0] + 0.5 * rng.normal(size=40)
        return {"params": {}, "X": X, "y": y, "offset": rng.normal(size=40), "resources": {}}


def _json_value(v: Any) -> Any:
    """A parameter value as plain JSON (tuples and arrays become lists, numpy scalars Python numbers)."""
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, (list, tuple, np.ndarray)):
        return [_json_value(x) for x in (v.tolist() if isinstance(v, np.ndarray) else v)]
    if isinstance(v, dict):
        return {str(k): _json_value(x) for k, x in v.items()}
    return v


def _short_repr(v: Any) -> str:
    if isinstance(v, np.ndarray):
        return f"<array {v.shape}>"
    lines = repr(v).splitlines() or [""]
    r = lines[0] + ("..." if len(lines) > 1 else "")
    return r if len(r) <= 60 else r[:57] + "..."
