"""The one Registry class and the PiaaError root."""
from __future__ import annotations

import pickle
import sys
import types

import pytest

from piaa.errors import DuplicateNameError, InputError, PiaaError, UnknownNameError
from piaa.registry import Registry


def test_decorator_call_aliases_and_lookup():
    reg = Registry("widget")

    @reg.register("round", aliases=("circle",))
    class Round:
        pass

    assert reg.register("square", 4) == 4
    assert reg.get("round") is Round and reg["circle"] is Round and reg.resolve("circle") == "round"
    assert reg.names() == ["round", "square"] and list(reg) == ["round", "square"] and len(reg) == 2
    assert "circle" in reg and "triangle" not in reg and 3 not in reg


def test_unknown_name_is_a_piaa_key_and_value_error_with_suggestions():
    reg = Registry("widget")
    reg.register("circle", 1)
    reg.register("square", 2)
    with pytest.raises(UnknownNameError) as info:
        reg.get("circel")
    err = info.value
    assert isinstance(err, PiaaError) and isinstance(err, KeyError) and isinstance(err, ValueError)
    assert str(err) == "unknown widget 'circel'; did you mean 'circle'? (known: circle, square)"
    assert err.suggestions == ["circle"]
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == str(err)
    with pytest.raises(UnknownNameError, match=r"unknown widget 'zzz' \(known: circle, square\)$"):
        reg.get("zzz")


def test_duplicates_refused_unless_override_and_unregister():
    reg = Registry("widget")
    reg.register("circle", 1, aliases=("round",))
    with pytest.raises(DuplicateNameError):
        reg.register("circle", 2)
    with pytest.raises(DuplicateNameError):
        reg.register("round", 2)  # an alias counts too
    reg.register("circle", 3, override=True)
    assert reg.get("circle") == 3
    assert reg.unregister("round") == 3  # by alias: removes the entry and its aliases
    assert "circle" not in reg and "round" not in reg
    with pytest.raises(UnknownNameError):
        reg.unregister("circle")


def test_normalize_and_validate():
    def positive(name, obj):
        if obj <= 0:
            raise InputError(f"{name}: must be positive")

    reg = Registry("database", normalize=lambda n: str(n).strip().lower().replace("_", "-"), validate=positive)
    reg.register("flickr-aes", 1, aliases=("flickr",))
    assert reg.get(" FLICKR_AES ") == 1 and reg.get("Flickr") == 1
    with pytest.raises(InputError):
        reg.register("bad", -1)
    assert "bad" not in reg


def test_plugins_imported_lazily_missing_skipped_broken_raised(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "piaa_test_plugin_ok.py").write_text(
        "from piaa_test_plugin_reg import REG\nREG.register('from-plugin', 1)\n")
    (tmp_path / "piaa_test_plugin_broken.py").write_text("import piaa_test_no_such_dependency\n")
    reg_mod = types.ModuleType("piaa_test_plugin_reg")
    reg_mod.REG = reg = Registry("widget", plugins=("piaa_test_plugin_ok", "piaa_test_plugin_absent"))
    monkeypatch.setitem(sys.modules, "piaa_test_plugin_reg", reg_mod)
    assert "piaa_test_plugin_ok" not in sys.modules  # nothing imported at construction
    assert reg.names() == ["from-plugin"]  # the absent plug-in is skipped
    assert "piaa_test_plugin_ok" in sys.modules
    monkeypatch.delitem(sys.modules, "piaa_test_plugin_ok")

    broken = Registry("widget", plugins=("piaa_test_plugin_broken",))
    with pytest.raises(ModuleNotFoundError, match="piaa_test_no_such_dependency"):
        broken.names()  # an error inside a present plug-in is never hidden
    with pytest.raises(ModuleNotFoundError):
        broken.names()  # ... not even on the second look-up


def test_domain_errors_share_the_root_and_keep_their_old_bases():
    from piaa.data.errors import RatingsFormatError
    from piaa.evaluation.experiment import ExperimentError
    from piaa.io.images import ImageLoadError
    from piaa.profiles.profile import MethodUnavailable
    from piaa.profiles.store import ProfileNotFound

    for cls, old in [(RatingsFormatError, ValueError), (ExperimentError, ValueError), (ImageLoadError, Exception),
                     (MethodUnavailable, ValueError), (ProfileNotFound, KeyError)]:
        assert issubclass(cls, PiaaError) and issubclass(cls, old), cls
