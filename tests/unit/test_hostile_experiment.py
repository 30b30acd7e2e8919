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


@pytest.mark.parametrize("secret", ["root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/:/bin/sh\n",
                                    "token=s3cr3t-value\n", "PRIVATE KEY s3cr3t,more s3cr3t\n1,2\n"])
def test_an_experiment_naming_any_file_never_prints_its_content(tmp_path, secret):
    """An experiment file may name any file as ratings; its first line came back in the error message."""
    exp_file = write_experiment(tmp_path)
    foreign = tmp_path / "foreign.txt"
    foreign.write_text(secret)
    exp_file.write_text(exp_file.read_text().replace('ratings = "data/ratings.csv"', f'ratings = "{foreign}"', 1))
    with pytest.raises(PiaaError) as info:
        run_experiment(load_experiment(exp_file),
                       RunOptions(workdir=tmp_path / "w", features=FakeFeatures(), progress=False))
    msg = str(info.value)
    assert "s3cr3t" not in msg and "root:" not in msg and "/bin/" not in msg, msg
    assert "foreign.txt" in msg                                # it still says which file is wrong
