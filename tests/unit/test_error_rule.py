"""The error rule (docs/architecture.md §3), checked over the source with ``ast``:

* a failure the user can cause (a bad value, a missing file, an unknown name, too little data) raises a
  ``PiaaError`` subclass; so ``raise ValueError/KeyError/FileNotFoundError/OSError(...)`` never appears --
  ``InputError``, ``MissingKeyError``, ``FileMissingError``, ``FileAccessError`` derive from those built-ins, so
  old ``except`` clauses still match;
* ``TypeError`` and ``RuntimeError`` stay for programming errors (a wrong argument type, registering something
  that is not a subclass, a method breaking the runner's contract): those are bugs and keep their traceback;
* no handler decides by an exception's message text (``"..." in str(exc)``): it catches a type.

The rule holds for every package, without a folder exempted. Its one documented exception: a pydantic validator
(a function decorated with ``field_validator``, ``model_validator`` or ``validator``, or handed to
``BeforeValidator``/``AfterValidator``) must raise ``ValueError``,
because that is what pydantic turns into a validation error (``service/schemas.py``, ``profiles/exchange.py``).

Every exception class piaa defines for the user is a ``PiaaError`` (``test_error_classes_are_piaa_errors``), so
``ActiveError(ValueError)``-style classes outside the root cannot come back."""
from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "piaa"
FORBIDDEN = {"ValueError", "KeyError", "FileNotFoundError", "OSError", "IOError"}
PYDANTIC_VALIDATORS = {"field_validator", "model_validator", "validator", "root_validator"}
# a plain function handed to one of these (``Annotated[int, BeforeValidator(f)]``) is a validator as well
PYDANTIC_WRAPPERS = {"BeforeValidator", "AfterValidator", "PlainValidator", "WrapValidator"}


def _files():
    yield from sorted(SRC.rglob("*.py"))


def _decorator_name(dec) -> str | None:
    f = dec.func if isinstance(dec, ast.Call) else dec
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None


def _raises_outside_validators(tree):
    """The ``raise`` nodes of ``tree``, skipping the bodies of pydantic validators (the documented exception)."""
    wrapped = {a.id for n in ast.walk(tree) if isinstance(n, ast.Call) and _decorator_name(n) in PYDANTIC_WRAPPERS
               for a in n.args[:1] if isinstance(a, ast.Name)}
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and (
                node.name in wrapped or any(_decorator_name(d) in PYDANTIC_VALIDATORS for d in node.decorator_list)):
            continue
        if isinstance(node, ast.Raise):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def test_user_facing_failures_raise_piaa_errors():
    bad = []
    for p in _files():
        for node in _raises_outside_validators(ast.parse(p.read_text(), str(p))):
            if isinstance(node.exc, ast.Call):
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


def test_error_classes_are_piaa_errors():
    """A class piaa defines on a built-in error type (``class X(ValueError)``) must be a ``PiaaError`` too."""
    builtin = FORBIDDEN | {"RuntimeError", "Exception", "TypeError"}
    bad = []
    for p in _files():
        tree = ast.parse(p.read_text(), str(p))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", None) for b in node.bases}
                if bases & builtin and not bases - builtin:
                    bad.append(f"{p.relative_to(SRC)}:{node.lineno} class {node.name}({', '.join(sorted(bases))})")
    # the root itself, and a private marker pydantic's JSON parsing needs as a plain ValueError
    bad = [b for b in bad if "class _" not in b and not b.startswith("errors.py:")]
    assert not bad, "derive from a piaa.errors class:\n" + "\n".join(bad)


def test_validator_exception_is_narrow():
    """The exemption covers validator bodies only: a raise ValueError beside one is still caught."""
    src = (
        "from pydantic import field_validator\n"
        "class M:\n"
        "    @field_validator('x')\n"
        "    def v(cls, x):\n"
        "        raise ValueError('fine here')\n"
        "def f():\n"
        "    raise ValueError('not here')\n"
    )
    found = [n.lineno for n in _raises_outside_validators(ast.parse(src))]
    assert found == [7]
