"""The error rule (docs/architecture.md §3, issue 22 §3), checked over the source with ``ast``:

* a failure the user can cause (a bad value, a missing file, an unknown name, too little data) raises a
  ``PiaaError`` subclass; so ``raise ValueError/KeyError/FileNotFoundError/OSError(...)`` never appears --
  ``InputError``, ``MissingKeyError``, ``FileMissingError``, ``FileAccessError`` derive from those built-ins, so
  old ``except`` clauses still match;
* ``TypeError`` and ``RuntimeError`` stay for programming errors (a wrong argument type, registering something
  that is not a subclass, a method breaking the runner's contract): those are bugs and keep their traceback;
* no handler decides by an exception's message text (``"..." in str(exc)``): it catches a type.

``service/`` and ``profiles/`` are being restructured this session by another change and are checked once
they land (listed in ``PENDING``; in ``service/`` pydantic validators must raise ``ValueError``, so that
package will need its own rule)."""
from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "piaa"
FORBIDDEN = {"ValueError", "KeyError", "FileNotFoundError", "OSError", "IOError"}
PENDING = ("service", "profiles")


def _files():
    for p in sorted(SRC.rglob("*.py")):
        if p.relative_to(SRC).parts[0] not in PENDING:
            yield p


def test_user_facing_failures_raise_piaa_errors():
    bad = []
    for p in _files():
        for node in ast.walk(ast.parse(p.read_text(), str(p))):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                f = node.exc.func
                name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
                if name in FORBIDDEN:
                    bad.append(f"{p.relative_to(SRC)}:{node.lineno} raise {name}")
    assert not bad, "raise a piaa.errors class instead:\n" + "\n".join(bad)


def test_no_handler_matches_message_text():
    bad = []
    for p in _files():
        for node in ast.walk(ast.parse(p.read_text(), str(p))):
            if not isinstance(node, ast.ExceptHandler) or node.name is None:
                continue
            for sub in ast.walk(ast.Module(body=node.body, type_ignores=[])):
                if isinstance(sub, ast.Compare) and any(isinstance(op, (ast.In, ast.NotIn)) for op in sub.ops):
                    for side in [sub.left, *sub.comparators]:
                        if isinstance(side, ast.Call) and getattr(side.func, "id", None) == "str" and \
                                any(isinstance(a, ast.Name) and a.id == node.name for a in side.args):
                            bad.append(f"{p.relative_to(SRC)}:{sub.lineno}")
    assert not bad, "catch an exception type, not its message:\n" + "\n".join(bad)
