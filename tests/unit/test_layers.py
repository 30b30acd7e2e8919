"""Layers only point down: no module of src/piaa imports (at module level or inside a function) a higher layer.

Low to high (docs/architecture.md):
  0 foundations  errors, registry, state, paths, catalogue, metrics, io, data, backbones (and the package root,
                 whose public names are lazy)
  1 features, detail (the photo at 100 %), faces
  2 models
  3 personalize
  4 profiles, evaluation, training (asset builders)
  5 interfaces   cli, service, distributed
A module may import its own layer or any lower one. A new top-level package must be added to LAYERS.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"

LAYERS = {
    "piaa": 0, "errors": 0, "registry": 0, "state": 0, "paths": 0, "catalogue": 0, "metrics": 0, "io": 0,
    "data": 0, "backbones": 0, "assets": 0,
    "features": 1, "detail": 1, "faces": 1,
    "models": 2,
    "personalize": 3,
    "profiles": 4, "evaluation": 4, "training": 4,
    "cli": 5, "service": 5, "distributed": 5,
}
LAYER_NAMES = ["foundations", "features", "models", "personalize", "profiles/evaluation", "interfaces"]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def layer(module: str) -> int:
    parts = module.split(".")
    key = parts[1] if len(parts) > 1 else "piaa"
    if key not in LAYERS:
        raise KeyError(f"{module}: top-level part {key!r} has no layer; add it to LAYERS in {__file__}")
    return LAYERS[key]


def imports_of(path: Path):
    """(line, imported module) for every import in the file, at any depth, relative imports resolved."""
    mod = module_name(path)
    package = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield node.lineno, a.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield node.lineno, target
            for a in node.names:  # `from piaa import cli` names a package, not an attribute
                if target == "piaa" and a.name in LAYERS and a.name != "piaa":
                    yield node.lineno, f"piaa.{a.name}"
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == \
                "import_module" and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            yield node.lineno, node.args[0].value


def upward_imports():
    bad = []
    for path in sorted((SRC / "piaa").rglob("*.py")):
        me = module_name(path)
        for line, target in imports_of(path):
            if target != "piaa" and not target.startswith("piaa."):
                continue
            if layer(target) > layer(me):
                bad.append(f"{path.relative_to(SRC)}:{line}: {me} ({LAYER_NAMES[layer(me)]}) imports {target} "
                           f"({LAYER_NAMES[layer(target)]})")
    return bad


def test_no_module_imports_a_higher_layer():
    bad = upward_imports()
    assert not bad, "imports pointing up a layer:\n" + "\n".join(bad)


def test_the_package_root_imports_nothing_eagerly():
    tree = ast.parse((SRC / "piaa" / "__init__.py").read_text())
    assert not [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))
                and (getattr(n, "module", "") or "").startswith("piaa")]


def test_the_checker_catches_function_level_and_relative_imports(tmp_path):
    fake = tmp_path / "piaa" / "models"
    fake.mkdir(parents=True)
    (tmp_path / "piaa" / "__init__.py").write_text("")
    (fake / "__init__.py").write_text("")
    (fake / "x.py").write_text("def f():\n    from ..cli import main\n    import piaa.evaluation.runner\n"
                               "    from piaa import profiles\n")
    global SRC
    old, SRC = SRC, tmp_path
    try:
        found = upward_imports()
    finally:
        SRC = old
    assert len(found) == 3 and all("piaa/models/x.py" in f for f in found), found


@pytest.mark.parametrize("module,expected", [("piaa.state", 0), ("piaa.personalize.base", 3), ("piaa.cli.main", 5)])
def test_layer_of(module, expected):
    assert layer(module) == expected
