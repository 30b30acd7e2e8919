"""Experiment files: the TOML that describes one evaluation (tasks, test people, protocol, methods).

Parsing is strict on purpose: an unknown key is almost always a typo (``rating_colum``), and a typo that is
silently ignored changes the experiment without anyone noticing. Every error names the file and the table.
Relative paths resolve against the experiment file's folder, so an experiment runs the same from any cwd.
See ``docs/experiments.md`` for the format with a complete example.
"""
from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

from piaa.data.source_spec import (  # noqa: F401  (ExperimentError, SourceSpec, TaskSpec: re-exported)
    SOURCE_KEYS as _SOURCE_KEYS,
    TASK_KEYS as _TASK_KEYS,
    ExperimentError,
    SourceSpec,
    TaskSpec,
    check_keys as _check_keys,
    opt_bool as _opt_bool,
    path_value as _path,
    list_value as _list,
    int_value as _int,
    source_fields as _source_fields,
)


if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - python 3.10
    import tomli as tomllib


_TEST_KEYS = _SOURCE_KEYS | {
    "folds", "fold_column", "only_folds", "shots", "trials", "seed", "methods", "min_ratings", "max_people",
    "user_folds", "query_fraction",
}
_TOP_KEYS = {"name", "description", "generic", "tasks", "test", "methods"}


@dataclass
class TestSpec(SourceSpec):
    folds: Optional[Path] = None
    fold_column: str = "fold"
    only_folds: Optional[List[str]] = None
    # held-back people instead of held-back images: a number of seeded random folds of the test people, or a CSV
    # with columns user, <fold_column>
    user_folds: Union[None, int, Path] = None
    shots: List[int] = field(default_factory=lambda: [10, 100])
    trials: int = 10
    seed: int = 0
    methods: List[str] = field(default_factory=list)
    min_ratings: int = 0
    max_people: Optional[int] = None      # per fold, seeded random subset (smoke runs)
    # share of each person's rated images held out as the query before supports are drawn (the same query for
    # every method and k); None = the original protocol (query = the images outside the support), or 0.3 when a
    # METHOD@active is run (see piaa.evaluation.runner)
    query_fraction: Optional[float] = None


@dataclass
class Experiment:
    path: Optional[Path]
    name: str
    description: str
    tasks: List[TaskSpec]
    generic: str
    test: TestSpec
    method_options: Dict[str, Dict[str, Any]]
    raw: Dict[str, Any]

    @property
    def methods(self) -> List[str]:
        return list(self.test.methods)

    def fingerprint(self, method: Optional[str] = None) -> str:
        """A hash of everything that decides the results (of one method): a checkpoint from a different
        configuration must never be reused."""
        payload = {"tasks": [_jsonable(asdict(t)) for t in self.tasks], "generic": self.generic,
                   "test": _jsonable({k: v for k, v in asdict(self.test).items() if k != "methods"})}
        files = {str(f) for t in [*self.tasks, self.test] for f in (t.ratings, t.users) if f is not None}
        for f in (self.test.folds, self.test.user_folds):
            if isinstance(f, Path):
                files.add(str(f))
        payload["files"] = {f: _file_stamp(f) for f in sorted(files)}  # an edited ratings file invalidates too
        if method is not None:
            payload["method"] = method
            payload["options"] = self.method_options.get(method, {})
        blob = json.dumps(payload, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def describe(self) -> Dict[str, Any]:
        """The configuration as resolved (absolute paths), for the RESULT's ``experiment`` block."""
        return {
            "name": self.name, "description": self.description, "file": str(self.path) if self.path else None,
            "generic": self.generic, "tasks": [_jsonable(asdict(t)) for t in self.tasks],
            "test": _jsonable(asdict(self.test)), "method_options": self.method_options,
        }


def _file_stamp(path: str):
    try:
        st = Path(path).stat()
        return [st.st_size, st.st_mtime_ns]
    except OSError:
        return None


def _jsonable(d: Dict[str, Any]) -> Dict[str, Any]:
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in d.items() if v is not None}


def load_experiment(path) -> Experiment:
    """Read and validate an experiment TOML file."""
    path = Path(path)
    if not path.is_file():
        raise ExperimentError(f"{path}: experiment file not found")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ExperimentError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ExperimentError(f"{path}: not UTF-8 text") from None
    return parse_experiment(raw, base_dir=path.resolve().parent, path=path.resolve())


def parse_experiment(raw: Dict[str, Any], base_dir, path: Optional[Path] = None) -> Experiment:
    """Validate a parsed TOML document; relative paths resolve against ``base_dir``."""
    where = str(path) if path else "experiment"
    base_dir = Path(base_dir)
    _check_keys(raw, _TOP_KEYS, where, "top level")
    tasks_raw = raw.get("tasks")
    if not isinstance(tasks_raw, list) or not tasks_raw:
        raise ExperimentError(f"{where}: at least one [[tasks]] table is required (the generic model's training data)")
    tasks = []
    for i, t in enumerate(tasks_raw):
        label = f"[[tasks]] #{i + 1}"
        if not isinstance(t, dict):
            raise ExperimentError(f"{where}: {label} must be a table")
        _check_keys(t, _TASK_KEYS, where, label)
        if not t.get("name"):
            raise ExperimentError(f"{where}: {label} needs a name")
        label = f"[[tasks]] {t['name']!r}"
        spec = TaskSpec(**_source_fields(t, base_dir, where, label), name=str(t["name"]),
                        per_image=_opt_bool(t, "per_image", where, label))
        tasks.append(spec)
    names = [t.name for t in tasks]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ExperimentError(f"{where}: task name(s) used twice: {dup}")
    generic = raw.get("generic", names[0])
    if generic not in names:
        raise ExperimentError(f"{where}: generic = {generic!r} is not a task name; tasks: {names}")

    test_raw = raw.get("test")
    if not isinstance(test_raw, dict):
        raise ExperimentError(f"{where}: a [test] table is required (whose ratings to evaluate)")
    _check_keys(test_raw, _TEST_KEYS, where, "[test]")
    test = TestSpec(**_source_fields(test_raw, base_dir, where, "[test]"))
    if "folds" in test_raw:
        test.folds = _path(test_raw["folds"], base_dir, where, "[test] folds")
    test.fold_column = str(test_raw.get("fold_column", "fold"))
    if "user_folds" in test_raw:
        uf = test_raw["user_folds"]
        if "folds" in test_raw:
            raise ExperimentError(f"{where}: [test] has both folds (held-back images) and user_folds (held-back "
                                  f"people); choose one protocol")
        if isinstance(uf, int) and not isinstance(uf, bool):
            if uf < 2:
                raise ExperimentError(f"{where}: [test] user_folds must be at least 2, got {uf}")
            test.user_folds = uf
        elif isinstance(uf, str):
            test.user_folds = _path(uf, base_dir, where, "[test] user_folds")
        else:
            raise ExperimentError(f"{where}: [test] user_folds must be a number of folds or a CSV path "
                                  f"(columns user, fold), got {uf!r}")
    folded = test.folds is not None or test.user_folds is not None
    if "only_folds" in test_raw and not folded:
        raise ExperimentError(f"{where}: [test] only_folds needs folds = \"<folds CSV>\" or user_folds")
    if "fold_column" in test_raw and not (test.folds is not None or isinstance(test.user_folds, Path)):
        raise ExperimentError(f"{where}: [test] fold_column needs folds = \"<folds CSV>\" or a user_folds CSV")
    if "only_folds" in test_raw:
        test.only_folds = [str(f) for f in _list(test_raw["only_folds"], where, "[test] only_folds")]
    shots = _list(test_raw.get("shots", [10, 100]), where, "[test] shots")
    if not all(isinstance(k, int) and not isinstance(k, bool) and k >= 0 for k in shots):
        raise ExperimentError(f"{where}: [test] shots must be whole numbers >= 0, got {shots}")
    test.shots = sorted(set(shots))
    test.trials = _int(test_raw, "trials", 10, where, "[test]", lo=1)
    test.seed = _int(test_raw, "seed", 0, where, "[test]", lo=0)
    test.min_ratings = _int(test_raw, "min_ratings", 0, where, "[test]", lo=0)
    if "max_people" in test_raw:
        test.max_people = _int(test_raw, "max_people", None, where, "[test]", lo=1)
    if "query_fraction" in test_raw:
        qf = test_raw["query_fraction"]
        if isinstance(qf, bool) or not isinstance(qf, (int, float)) or not 0.0 < float(qf) < 1.0:
            raise ExperimentError(f"{where}: [test] query_fraction must be a number between 0 and 1 (exclusive), "
                                  f"got {qf!r}")
        test.query_fraction = float(qf)
    methods = _list(test_raw.get("methods", []), where, "[test] methods")
    if not methods:
        raise ExperimentError(f"{where}: [test] methods is empty; list the methods to compare, e.g. "
                              f'methods = ["generic", "probe", "crowd-oracle"]')
    test.methods = [str(m) for m in dict.fromkeys(methods)]

    opts = raw.get("methods", {})
    if not isinstance(opts, dict) or not all(isinstance(v, dict) for v in opts.values()):
        raise ExperimentError(f"{where}: [methods.<name>] entries must be tables of options")
    return Experiment(path=path, name=str(raw.get("name", path.stem if path else "experiment")),
                      description=str(raw.get("description", "")), tasks=tasks, generic=generic, test=test,
                      method_options={k: _resolve_backbones(v, base_dir) for k, v in opts.items()}, raw=raw)


def _resolve_backbones(options: Dict[str, Any], base_dir: Path) -> Dict[str, Any]:
    """A method's ``backbone``/``generic_backbone`` naming a local ``hf:`` folder resolves against the
    experiment's folder, like every other path in the file."""
    from piaa.backbones.hf import canonical_spec

    return {k: canonical_spec(v, base_dir) if k in ("backbone", "generic_backbone") and isinstance(v, str) else v
            for k, v in options.items()}
