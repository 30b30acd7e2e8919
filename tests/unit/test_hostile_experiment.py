"""Wrongly typed ``[methods.X]`` options in an experiment file: a one-line PiaaError naming
the method and the options table, never a traceback -- whether the option breaks ``prepare`` or only the
per-person fit."""
import pytest
from test_evaluation_fixtures import FakeFeatures, write_experiment

from piaa.errors import PiaaError
from piaa.evaluation.experiment import load_experiment
from piaa.evaluation.runner import MethodFailed, RunOptions, run_experiment


@pytest.mark.parametrize("method, table, match", [
    ("probe", 'alphas = "abc"', r"failed on person .*ValueError.*check the \[methods.probe\] options"),
    ("probe-prior", 'mix = "x"', r"'probe-prior' cannot start .*check \[methods.probe-prior\]"),
    ("generic", '[methods.generic.head]\nepochs = "many"', r"'generic' cannot start"),
])
def test_wrongly_typed_method_options_are_one_line_errors(tmp_path, method, table, match):
    extra = f"\n{table}\n" if table.startswith("[") else f"\n[methods.{method}]\n{table}\n"
    exp = load_experiment(write_experiment(tmp_path, methods=[method], extra=extra))
    with pytest.raises(PiaaError, match=match) as info:
        run_experiment(exp, RunOptions(workdir=tmp_path / "w", features=FakeFeatures(), progress=False))
    assert "\n" not in str(info.value)
    if method == "probe":
        assert isinstance(info.value, MethodFailed)
