"""Number-of-tasks curve (Fig. 5 of Yeo et al.) through the evaluation runner, on any experiment file.

    nice python bench/task_vectors_ntasks_curve.py experiments/oasis_heldback_people.toml --out ntasks.json \
        --order beauty-all,valence,arousal,photo-quality,beauty-women,beauty-men --workdir ntasks.work

The fold's task bank is built once (every task of the file) and ``task-vectors`` is evaluated with the first
1, 2, ... tasks of ``--order`` (the method's ``tasks`` option: a subset of the same bank, so the curve measures
the mixing, not different task models). Other ``[test]`` settings (people, trials) come from the file or are
overridden with ``--max-people`` / ``--trials`` / ``--only-folds``.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main(argv=None) -> int:
    from piaa.evaluation.experiment import load_experiment
    from piaa.evaluation.runner import RunOptions, run_experiment

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("experiment")
    ap.add_argument("--order", default=None, help="comma-separated task names (default: the file's order)")
    ap.add_argument("--method", default="task-vectors")
    ap.add_argument("--max-people", type=int, default=None)
    ap.add_argument("--trials", type=int, default=None)
    ap.add_argument("--only-folds", default=None)
    ap.add_argument("--workdir", default="ntasks.work")
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)
    exp = load_experiment(a.experiment)
    order = a.order.split(",") if a.order else [t.name for t in exp.tasks]
    unknown = [n for n in order if n not in {t.name for t in exp.tasks}]
    if unknown:
        ap.error(f"--order names unknown task(s) {unknown}")
    if a.max_people:
        exp.test.max_people = a.max_people
    if a.trials:
        exp.test.trials = a.trials
    if a.only_folds:
        exp.test.only_folds = a.only_folds.split(",")
    base = dict(exp.method_options.get(a.method, {}))
    rows = []
    for n in range(1, len(order) + 1):
        exp.method_options[a.method] = {**base, "tasks": order[:n]}
        t0 = time.perf_counter()
        res = run_experiment(exp, RunOptions(workdir=Path(a.workdir), methods=[a.method], progress=False))
        shots = res["methods"][a.method]
        row = {"n_tasks": n, "added": order[n - 1], "seconds": round(time.perf_counter() - t0, 1),
               **{f"k{k}": round(v["srocc_mean"], 4) for k, v in shots.items()}}
        rows.append(row)
        print(json.dumps(row), flush=True)
    if a.out:
        Path(a.out).write_text(json.dumps({"experiment": str(a.experiment), "order": order, "curve": rows},
                                          indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
