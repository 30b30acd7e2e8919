"""The personalizer contract, checked over every registered personalizer (scikit-learn's check_estimator style).

Each personalizer supplies its own no-data inputs through ``contract_example(rng)``; a new personalizer is
covered the moment it is registered. Stand-ins that test modules register are left out (they are not shipped).
"""
from __future__ import annotations

import inspect

import numpy as np
import pytest

from piaa.errors import InvalidParameterError, NotFittedError, PiaaError, StateError
from piaa.personalize.base import Personalizer
from piaa.personalize.registry import PERSONALIZERS, get_personalizer_class, list_personalizers
from piaa.state import state_from_bytes, state_to_bytes

SHIPPED = [n for n in list_personalizers() if not get_personalizer_class(n).__module__.startswith("test_")]


def _example(name, seed=0):
    cls = get_personalizer_class(name)
    ex = cls.contract_example(np.random.default_rng(seed))
    return cls, ex


def _fit(cls, ex):
    return cls(**ex["params"]).fit(ex["X"], ex["y"], offset=ex["offset"])


def test_the_shipped_personalizers_are_all_registered():
    assert {"probe", "probe-prior", "pa-iaa", "task-vectors", "bestfit-ft"} <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_class_contract(name):
    cls = get_personalizer_class(name)
    assert issubclass(cls, Personalizer) and cls.method_name == name
    for meth in ("fit", "predict"):
        sig = inspect.signature(getattr(cls, meth))
        assert sig.parameters["offset"].kind is inspect.Parameter.KEYWORD_ONLY, f"{name}.{meth}: offset keyword-only"
        assert sig.parameters["offset"].default is None
    params = cls.param_names()
    defaults = cls()  # every parameter has a default
    assert list(defaults.get_params()) == params
    for p in params:  # parameters are stored unchanged under their own names
        assert getattr(defaults, p) is inspect.signature(cls.__init__).parameters[p].default
    assert set(cls.resource_params) <= set(params)


@pytest.mark.parametrize("name", SHIPPED)
def test_fit_predict_params_and_state_round_trip(name):
    cls, ex = _example(name)
    est = cls(**ex["params"])
    assert not est.is_fitted()
    with pytest.raises(NotFittedError):
        est.predict(ex["X"], offset=ex["offset"])
    with pytest.raises(NotFittedError):
        est.state_dict()
    before = {k: v for k, v in est.get_params().items()}
    assert est.fit(ex["X"], ex["y"], offset=ex["offset"]) is est
    after = est.get_params()
    assert all(after[k] is before[k] for k in before), "fit must not change parameters"
    assert est.is_fitted()
    assert [k for k in vars(est) if k.endswith("_") and not k.startswith("_")], "fitted attributes end in _"
    pred = np.asarray(est.predict(ex["X"], offset=ex["offset"]), dtype=float)
    assert pred.shape == (len(ex["y"]),) and np.isfinite(pred).all()

    # parameters round-trip: a clone from get_params fits to the same predictions
    clone = cls(**est.get_params())
    np.testing.assert_allclose(clone.fit(ex["X"], ex["y"], offset=ex["offset"]).predict(ex["X"], offset=ex["offset"]),
                               pred, rtol=1e-6, atol=1e-8)
    assert est.set_params(**est.get_params()) is est
    with pytest.raises(InvalidParameterError):
        est.set_params(no_such_parameter=1)
    with pytest.raises(TypeError):
        cls(no_such_parameter=1)

    # state round trip through bytes (no pickle) gives identical predictions
    state = est.state_dict()
    assert state["meta"]["method"] == name and state["meta"]["version"] == cls.state_version
    back = cls.from_state_dict(state_from_bytes(state_to_bytes(state)), **ex["resources"])
    np.testing.assert_array_equal(np.asarray(back.predict(ex["X"], offset=ex["offset"]), dtype=float), pred)


@pytest.mark.parametrize("name", SHIPPED)
def test_state_checks_method_and_version(name):
    cls, ex = _example(name)
    state = _fit(cls, ex).state_dict()
    other = dict(state, meta={**state["meta"], "method": "someone-else"})
    with pytest.raises(StateError, match="someone-else"):
        cls.from_state_dict(other, **ex["resources"])
    newer = dict(state, meta={**state["meta"], "version": cls.state_version + 1})
    with pytest.raises(StateError, match="version"):
        cls.from_state_dict(newer, **ex["resources"])
    with pytest.raises(InvalidParameterError):
        cls.from_state_dict(state, no_such_resource=1)


def test_registry_refuses_a_class_off_the_contract():
    class NotAPersonalizer:
        def fit(self, X, y):
            return self

    with pytest.raises(TypeError):
        PERSONALIZERS.register("not-a-personalizer", NotAPersonalizer)
    assert "not-a-personalizer" not in PERSONALIZERS

    class Varargs(Personalizer):
        def __init__(self, *args):
            self.args = args

    with pytest.raises(TypeError, match="explicitly"):
        PERSONALIZERS.register("varargs", Varargs)


def test_unknown_method_suggests_the_close_name():
    with pytest.raises(PiaaError, match="did you mean 'probe'") as info:
        get_personalizer_class("prob")
    assert isinstance(info.value, KeyError)
