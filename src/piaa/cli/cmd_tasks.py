"""``piaa tasks train CONFIG --output BANK`` / ``piaa tasks show BANK``: task banks for task-vector personalization."""
from __future__ import annotations

import json
import sys



def register(subparsers):
    p = subparsers.add_parser(
        "tasks", help="build and inspect task banks (task-vector personalization)",
        description="A task bank holds one fine-tuned task model per ratings source (database, rater population, "
                    "criterion) stored as task vectors τ_k = θ_k − θ_pre; `piaa profile create --method "
                    "task-vectors` fits a person's coefficients over them.")
    sub = p.add_subparsers(dest="tasks_command", metavar="ACTION")
    tr = sub.add_parser("train", help="train one task model per [[tasks]] entry of a config and save the bank",
                        description="CONFIG is TOML: [[tasks]] tables in the evaluation experiment format "
                                    "(ratings, images, scale, users, where, rating_column, single_user, criterion) "
                                    "and an optional [model] table (split, pool, hidden, head_steps, tau_dtype...). "
                                    "Example: configs/tasks_default.toml.")
    tr.add_argument("config", help="task config TOML")
    tr.add_argument("-o", "--output", required=True, help="bank directory to write (bank.json + params.npz)")
    tr.add_argument("--cache", default="default", help="feature cache file (default: the user cache)")
    tr.add_argument("--threads", type=int, default=None, help="torch threads")
    tr.add_argument("--backbone", default=None,
                    help="backbone of the task models instead of the config's [model] backbone (hf:REPO_OR_DIR "
                         "for a transformers vision model; docs/backbones.md)")
    from piaa.cli.options import add_device, add_quiet

    add_quiet(tr)
    add_device(tr)
    tr.set_defaults(func=run_train)
    sh = sub.add_parser("show", help="print a bank's tasks, scales and metrics")
    sh.add_argument("bank", help="bank directory, or 'default' for the bank shipped with piaa")
    sh.add_argument("--format", choices=["text", "json"], default="text")
    sh.set_defaults(func=run_show)
    p.set_defaults(func=lambda a: p.print_help() or 2)


def run_train(args) -> int:
    from piaa.cli.options import show_progress

    from piaa.models.task_vectors.build import build_bank
    from piaa.models.task_vectors.config import load_task_config
    from piaa.models.task_vectors.inputs import inputs_for_paths

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    spec, cfg, tau_dtype, tasks, warnings, prior = load_task_config(args.config)  # TaskConfigError -> cli.main
    if args.backbone:
        from dataclasses import replace

        from piaa.backbones.hf import canonical_spec

        spec = replace(spec, backbone=canonical_spec(args.backbone))
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    bank = build_bank(spec, tasks, lambda paths: inputs_for_paths(spec, paths, cache=args.cache,
                                                                  progress=show_progress(args)),
                      cfg, tau_dtype=tau_dtype, progress=show_progress(args), extra={"config": str(args.config)},
                      prior_ratings=prior)
    path = bank.save(args.output)
    print(f"wrote {path} ({bank.num_tasks} tasks, fingerprint {bank.fingerprint})")
    return 0


def run_show(args) -> int:
    from piaa.models.task_vectors.build import resolve_bank

    info = resolve_bank(args.bank).describe()
    if args.format == "json":
        print(json.dumps(info, indent=1))
        return 0
    s = info["spec"]
    print(f"bank {info['path']}  fingerprint {info['fingerprint']}")
    print(f"model: {s['backbone']} split {s['split']} pool {s['pool']} hidden {s['hidden']}; "
          f"{info['param_tensors']} tensors / {info['params_per_task']} values per task vector ({info['tau_dtype']})")
    print(f"{'task':28s} {'scale':>10s} {'images':>7s} {'train SROCC':>11s} {'prior SROCC':>11s}")
    for t in info["tasks"]:
        sc = t["scale"]
        print(f"{t['name']:28s} {sc[0]:>4g}..{sc[1]:<4g} {t.get('n_images_used', 0):>7d} "
              f"{t.get('train_srocc', float('nan')):>11.3f} {t.get('prior_srocc', float('nan')):>11.3f}")
    print("train SROCC: task model vs its own training means (in-sample); prior SROCC: mean per-person SROCC "
          "on the prior task's raters")
    return 0
