"""``piaa models``: the scoring models available, with what their numbers mean.

Everything shown comes from one record per model (:class:`piaa.models.model_cfg.ScorerCfg`); this module only
lays it out."""
from __future__ import annotations

import argparse

import json
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("models", help="list the scoring models (score range, backbone, training data)",
                              description="List the embedded scoring models: what they measure, score range, "
                                          "whether lower is better, backbone and feature variant, training data "
                                          "and measured accuracy.")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.set_defaults(func=run_models)


def run_models(args: argparse.Namespace) -> int:
    from piaa.errors import PiaaError
    from piaa.models.model_cfg import scorer_cfg
    from piaa.models.scorer import list_models

    cfgs = []
    for name in list_models():
        try:
            cfgs.append(scorer_cfg(name))
        except PiaaError as exc:  # one unreadable model file: the others are still listed
            print(f"warning: {exc}", file=sys.stderr)
    if args.format == "json":
        keep = ("name", "default", "criterion", "what", "score_range", "lower_better", "backbone", "variant",
                "training_data", "description", "licence", "aliases", "metrics", "weights_dtype", "file")
        print(json.dumps([{k: c.to_json()[k] for k in keep} for c in cfgs], indent=2))
        return 0 if cfgs else 1
    if not cfgs:
        print("no scoring models installed", file=sys.stderr)
        return 1
    for c in cfgs:
        lo, hi = c.score_range
        lines = [
            f"{c.name}{'  (default)' if c.default else ''}",
            f"  what          {c.what}",
            f"  score range   {lo:g}-{hi:g}, {'lower' if c.lower_better else 'higher'} is better",
            f"  backbone      {c.backbone} ({c.variant} features)",
            f"  trained on    {c.training_data}",
        ]
        lines += [f"  {label:<13} {text}" for label, text in c.metrics_lines()]
        print("\n".join(lines))
    return 0
