"""Every pluggable part sits on the one Registry: personalizers, evaluation methods, readers, backbones, scorers."""
from __future__ import annotations

import pytest

from piaa.errors import DuplicateNameError, InputError, PiaaError, UnknownNameError
from piaa.registry import Registry


def test_all_registries_are_the_one_class():
    from piaa.backbones.registry import BACKBONES
    from piaa.data.registry import READERS
    from piaa.evaluation.methods.registry import METHODS
    from piaa.personalize.registry import PERSONALIZERS

    for reg in (BACKBONES, READERS, METHODS, PERSONALIZERS):
        assert isinstance(reg, Registry) and len(reg) > 0


def test_method_registry_suggests_and_unregisters():
    from piaa.evaluation.methods import Method, get_method_class, register_method
    from piaa.evaluation.methods.registry import METHODS

    with pytest.raises(UnknownNameError, match="did you mean 'probe'"):
        get_method_class("prbe")

    @register_method
    class Spy(Method):
        name = "spy-registries"
        aliases = ("spy-alias",)

    try:
        assert get_method_class("spy-alias") is Spy
        with pytest.raises(DuplicateNameError):
            register_method(type("Spy2", (Method,), {"name": "spy-registries"}))
    finally:
        METHODS.unregister("spy-registries")
    assert "spy-registries" not in METHODS and "spy-alias" not in METHODS


def test_readers_reject_unknown_options_and_names(tmp_path):
    from piaa.data import load_dataset
    from piaa.data.registry import reader_options

    p = tmp_path / "r.csv"
    p.write_text("user,image,rating\n1,a,3\n")
    assert load_dataset("CSV", p).summary()["ratings"] == 1
    with pytest.raises(InputError, match=r"oasis-beauty: unknown option\(s\) subset; accepted: subsets, "):
        load_dataset("oasis_beauty", tmp_path, subset="subset1")
    assert "criterion" in reader_options("avt")
    with pytest.raises(UnknownNameError, match="did you mean 'koniq10k'"):
        load_dataset("koniq10", p)
    with pytest.raises(ValueError):  # the historic type of this error still matches
        load_dataset("nope", p)


def test_backbone_registry_errors_are_piaa_errors():
    from piaa.backbones import get_pretrained_cfg, register_backbone
    from piaa.backbones.registry import BACKBONES

    with pytest.raises(PiaaError, match="did you mean 'efficientnet_lite0'"):
        get_pretrained_cfg("efficientnet_lite_0")
    entry = BACKBONES.get("efficientnet_lite0")
    with pytest.raises(DuplicateNameError):
        register_backbone("efficientnet_lite0", entry.constructor, entry.cfg)
    register_backbone("arch-test-alias", entry.constructor, entry.cfg)
    from piaa.errors import PiaaDeprecationWarning

    with pytest.warns(PiaaDeprecationWarning, match=r"overwrite=\.\.\.\) is deprecated; use override"):
        register_backbone("arch-test-alias", entry.constructor, entry.cfg, overwrite=True)  # old keyword still works
    BACKBONES.unregister("arch-test-alias")
    assert "arch-test-alias" not in BACKBONES


def test_cli_turns_any_piaa_error_into_one_line(tmp_path, capsys):
    from piaa.cli.main import main

    bad = tmp_path / "bad.toml"
    bad.write_text("[model]\nnope = 1\n")
    assert main(["tasks", "train", str(bad), "--output", str(tmp_path / "bank")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "nope" in err[0]
    assert main(["evaluate", str(tmp_path / "absent.toml"), "--output", str(tmp_path / "r.json")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "absent.toml" in err[0]


def test_tomli_is_declared_for_python_before_3_11():
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    deps = text.split("dependencies = [", 1)[1].split("]", 1)[0]
    assert re.search(r"\"tomli[^\"]*;\s*python_version\s*<\s*'3\.11'\"", deps), "tomli must be a dependency on 3.10"


def test_experiment_with_a_misspelt_method_suggests_the_right_one():
    from piaa.evaluation.experiment import ExperimentError
    from piaa.evaluation.runner import resolve_methods

    with pytest.raises(ExperimentError, match="did you mean 'probe-prior' for 'probe-priors'"):
        resolve_methods(["probe-priors", "generic"], skip_missing=False, warnings=[])
