"""The CLI's one error handler (``piaa.cli.main.main``): commands do not catch errors to report them.

A ``PiaaError`` raised anywhere under a command reaches ``main``, which prints ``error: <message>`` and exits
with the error's ``exit_code``; anything else is a bug and keeps its traceback. So in ``src/piaa/cli/``:

* no ``except Exception`` / ``except BaseException`` / bare ``except`` (they swallow real bugs);
* no handler reports an error itself (calls ``fail``/``_err`` or prints ``error:``): that is ``main``'s job;
  a narrow handler may only turn an OS error into a ``PiaaError`` (``raise``), or keep a partial answer
  (``profile show`` without its method, ``models`` past one unreadable file) -- checked by name below.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

CLI = Path(__file__).resolve().parents[2] / "src" / "piaa" / "cli"
BROAD = {"Exception", "BaseException"}
REPORTERS = {"fail", "_err"}


def _handlers():
    for p in sorted(CLI.glob("*.py")):
        for node in ast.walk(ast.parse(p.read_text(), str(p))):
            if isinstance(node, ast.ExceptHandler):
                yield p, node


def _names(expr):
    items = expr.elts if isinstance(expr, ast.Tuple) else [expr] if expr is not None else []
    return {e.id if isinstance(e, ast.Name) else getattr(e, "attr", "?") for e in items}


def test_no_broad_handlers_in_the_cli():
    bad = [f"{p.name}:{h.lineno}" for p, h in _handlers() if h.type is None or _names(h.type) & BROAD]
    assert not bad, "let it reach main(): a broad handler hides real bugs:\n" + "\n".join(bad)


def test_no_handler_reports_an_error_itself():
    bad = []
    for p, h in _handlers():
        if p.name == "main.py":
            continue
        for sub in ast.walk(ast.Module(body=h.body, type_ignores=[])):
            if isinstance(sub, ast.Call) and getattr(sub.func, "id", None) in REPORTERS:
                bad.append(f"{p.name}:{h.lineno}")
            if isinstance(sub, ast.Constant) and isinstance(sub.value, str) and sub.value.startswith("error:"):
                bad.append(f"{p.name}:{h.lineno}")
    assert not bad, "raise a PiaaError and let main() report it:\n" + "\n".join(sorted(set(bad)))


def test_main_turns_piaa_errors_into_one_line_and_keeps_bugs(monkeypatch, capsys):
    from piaa.cli import main as cli
    from piaa.errors import InputError, UsageError

    def run(exc):
        def func(args):
            raise exc

        parser = cli.build_parser()
        monkeypatch.setattr(cli, "build_parser", lambda: parser)
        parser.set_defaults(func=func)
        return cli.main([])

    assert run(InputError("bad value")) == 1
    assert capsys.readouterr().err == "error: bad value\n"
    assert run(UsageError("--x must be 1")) == 2
    assert capsys.readouterr().err == "error: --x must be 1\n"
    with pytest.raises(ZeroDivisionError):  # a bug: its traceback, not a tidy line
        run(ZeroDivisionError("bug"))
