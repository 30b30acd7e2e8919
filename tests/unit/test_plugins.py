"""Plug-ins: installed ``piaa.plugins`` entry points and piaa's own packages fill the registries on the first
look-up; engines and active-learning strategies are registries like the others."""
from __future__ import annotations

import sys
import textwrap
from importlib.metadata import EntryPoint

import pytest

from piaa import registry as reg
from piaa.errors import UnknownNameError
from piaa.registry import Registry


@pytest.fixture
def fresh_entry_points(monkeypatch):
    """As in a new process: the entry points not loaded yet (monkeypatch puts the flag back afterwards)."""
    monkeypatch.setattr(reg, "_entry_points_loaded", False)


def _fake_entry_points(monkeypatch, *eps):
    import importlib.metadata as md

    def entry_points(group=None):
        assert group == reg.ENTRY_POINT_GROUP
        return list(eps)

    monkeypatch.setattr(md, "entry_points", entry_points)


def test_an_installed_plugin_module_registers_on_the_first_look_up(tmp_path, monkeypatch, fresh_entry_points):
    widgets = Registry("widget")
    (tmp_path / "acme_widgets.py").write_text(textwrap.dedent("""
        from tests_plugin_target import WIDGETS
        WIDGETS.register("sprocket", object())
    """))
    target = type(sys)("tests_plugin_target")
    target.WIDGETS = widgets
    monkeypatch.setitem(sys.modules, "tests_plugin_target", target)
    monkeypatch.syspath_prepend(str(tmp_path))
    _fake_entry_points(monkeypatch, EntryPoint("acme", "acme_widgets", reg.ENTRY_POINT_GROUP))
    assert "sprocket" in widgets.names()
    sys.modules.pop("acme_widgets", None)


def test_an_entry_point_function_is_called_once(monkeypatch, fresh_entry_points):
    calls = []
    mod = type(sys)("acme_hook")
    mod.register = lambda: calls.append(1)
    monkeypatch.setitem(sys.modules, "acme_hook", mod)
    _fake_entry_points(monkeypatch, EntryPoint("acme", "acme_hook:register", reg.ENTRY_POINT_GROUP))
    Registry("gadget").names()
    Registry("gizmo").names()
    assert calls == [1]


def test_a_broken_plugin_is_not_silently_missing(monkeypatch, fresh_entry_points):
    _fake_entry_points(monkeypatch, EntryPoint("broken", "no_such_module_xyz", reg.ENTRY_POINT_GROUP))
    with pytest.raises(ModuleNotFoundError):
        Registry("widget").names()


def test_package_modules_are_found_without_a_list():
    names = reg.package_modules("piaa.personalize")
    assert {"piaa.personalize.probe", "piaa.personalize.pa_iaa", "piaa.personalize.tv_probe"} <= set(names)
    assert all(not n.rsplit(".", 1)[1].startswith("_") for n in names)
    from piaa.personalize.registry import list_personalizers

    assert {"probe", "probe-prior", "pa-iaa", "task-vectors", "tv-probe"} <= set(list_personalizers())


def test_engines_and_strategies_are_registries():
    from piaa.features.engines import ENGINES, available_engines, make_engine
    from piaa.personalize.active import STRATEGIES

    assert isinstance(ENGINES, Registry) and {"torch", "onnx"} <= set(ENGINES.names())
    assert available_engines()[-1] == "auto"
    with pytest.raises(UnknownNameError, match="unknown engine 'tensorrt'"):
        make_engine("efficientnet_lite0", "pooled", "tensorrt")
    assert isinstance(STRATEGIES, Registry) and "guarded" in STRATEGIES and "uncertainty" in STRATEGIES.names()
    with pytest.raises(UnknownNameError, match="did you mean 'kcenter'"):
        STRATEGIES.get("kcentre")
