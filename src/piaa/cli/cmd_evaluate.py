"""``piaa evaluate EXPERIMENT.toml --output RESULT.json``: run an evaluation protocol described in a file."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from piaa.cli.options import fail


EPILOG = """\
The experiment file (TOML) names the training tasks ([[tasks]]), the test people ([test]: ratings, folds,
shots, trials, seed, methods) and method options ([methods.<name>]); see docs/experiments.md.

Results: RESULT.json holds, per method and shot count, srocc_mean (mean over people of each person's mean over
trials), srocc_std (std over trials), plcc_mean, n_people, seconds_per_person and per_person SROCC. Finished
(method, fold) pairs are checkpointed in the workdir (default: RESULT.work/ beside the output), so re-running
the same command after an interruption resumes.

examples:
  piaa evaluate experiments/smoke.toml --output smoke.json --report smoke.md
  piaa evaluate experiments/oasis_intra.toml -o intra.json --report intra.md --methods generic,probe,crowd-oracle
"""


def register(subparsers):
    p = subparsers.add_parser("evaluate", help="run a PIAA evaluation experiment (folds, k-shot trials, methods)",
                              description=__doc__.split(":", 1)[1].strip(), epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("experiment", nargs="?", help="experiment TOML file")
    p.add_argument("-o", "--output", help="RESULT.json to write (required unless --list-methods)")
    p.add_argument("--report", help="also write a Markdown report here (and a per-person gain PNG beside it)")
    p.add_argument("--methods", help="comma-separated methods to run instead of [test] methods")
    p.add_argument("--workdir", help="folder for checkpoints and fold artifacts (default: OUTPUT.work/)")
    p.add_argument("--skip-missing", action="store_true",
                   help="skip methods that are not registered (with a warning) instead of failing")
    p.add_argument("--no-resume", action="store_true", help="ignore existing checkpoints and recompute everything")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    p.add_argument("--blas-threads", type=int, default=1,
                   help="numpy BLAS threads while methods run (default 1: per-person fits are small and extra "
                        "threads only contend; 0 = library default)")
    from piaa.cli.options import add_quiet

    add_quiet(p)
    p.add_argument("--list-methods", action="store_true", help="print the registered methods and exit")
    from piaa.cli.options import add_device

    add_device(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from piaa.cli.options import show_progress
    from piaa.evaluation.experiment import load_experiment
    from piaa.evaluation.methods.registry import get_method_class, list_methods

    if args.list_methods:
        for m in list_methods():
            cls = get_method_class(m)
            tag = " [reference]" if cls.reference else (" [zero-shot]" if cls.zero_shot else "")
            print(f"{m}{tag}: {cls.description}")
        print("METHOD@active (any method that learns from ratings, e.g. probe-prior@active): METHOD with supports "
              "chosen by the active selector; [test] query_fraction holds out the same query for both")
        return 0
    if not args.experiment or not args.output:
        return fail("give EXPERIMENT.toml and --output RESULT.json (see piaa evaluate --help)", 2)
    from piaa.cli.output import checked_output, write_output

    # before hours of work: a folder, a FIFO, an unwritable place (missing result folders are created)
    target, problem = checked_output(args.output, make_parents=True)
    if not problem and args.report:  # its plot is written beside it: a regular file
        problem = checked_output(args.report, allow_stream=False, make_parents=True)[1]
    if problem:
        return fail(problem, 2)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    from piaa.evaluation.report import gain_plot, markdown_report
    from piaa.evaluation.runner import RunOptions, run_experiment
    from piaa.state import atomic_write_bytes

    out = Path(args.output)
    workdir = Path(args.workdir) if args.workdir else out.with_name(out.name.rsplit(".", 1)[0] + ".work")
    methods = [m.strip() for m in args.methods.split(",") if m.strip()] if args.methods else None
    exp = load_experiment(args.experiment)  # ExperimentError / RatingsFormatError: one line from cli.main
    result = run_experiment(exp, RunOptions(workdir=workdir, methods=methods, skip_missing=args.skip_missing,
                                            resume=not args.no_resume, progress=show_progress(args),
                                            blas_threads=args.blas_threads or None))
    problem = write_output(target, json.dumps(result, indent=1, allow_nan=False) + "\n")
    if problem:
        return fail(problem)
    print(f"wrote {out}", file=sys.stderr)
    if args.report:
        rep = Path(args.report)
        png = rep.with_name(rep.name.rsplit(".", 1)[0] + "_gain.png")
        plotted = gain_plot(result, png)
        text = markdown_report(result, plot_name=png.name if plotted else None)
        atomic_write_bytes(rep, text.encode("utf-8"))
        print(f"wrote {rep}" + (f" and {png}" if plotted else ""), file=sys.stderr)
    _print_summary(result)
    return 0


def _print_summary(result: dict) -> None:
    for m, res in result["methods"].items():
        parts = [f"{k}-shot {c['srocc_mean']:.3f}±{c['srocc_std']:.3f} (n={c['n_people']})"
                 for k, c in res.items() if c.get("srocc_mean") is not None]
        print(f"{m}: " + "; ".join(parts))
