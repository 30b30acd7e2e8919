"""``piaa models``: the scoring models available, with what their numbers mean."""
from __future__ import annotations

import json
import sys


def register(subparsers):
    p = subparsers.add_parser("models", help="list the scoring models (score range, backbone, training data)",
                              description="List the embedded scoring models: score range, whether lower is "
                                          "better, backbone and feature variant, training data and measured "
                                          "4-fold SROCC.")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.set_defaults(func=run_models)


def run_models(args) -> int:
    from piaa.errors import PiaaError
    from piaa.models.scorer import DEFAULT_MODEL, QUALITY_MODEL, list_models, model_info

    infos = []
    for name in list_models():
        try:
            info = model_info(name)
        except PiaaError as exc:  # one unreadable model file: the others are still listed
            print(f"warning: {exc}", file=sys.stderr)
            continue
        info["default"] = name == DEFAULT_MODEL
        infos.append(info)
    if args.format == "json":
        keep = ("name", "default", "criterion", "score_range", "lower_better", "backbone", "variant", "training_data",
                "description", "metrics", "weights_dtype", "file")
        print(json.dumps([{k: i.get(k) for k in keep} for i in infos], indent=2))
        return 0 if infos else 1
    if not infos:
        print("no scoring models installed", file=sys.stderr)
        return 1
    for i in infos:
        lo, hi = i["score_range"]
        srocc = (i.get("metrics") or {}).get("srocc")
        lines = [
            f"{i['name']}{'  (default)' if i['default'] else ''}",
            f"  score range   {lo:g}-{hi:g}, {'lower' if i['lower_better'] else 'higher'} is better",
            f"  backbone      {i['backbone']} ({i['variant']} features)",
            f"  trained on    {i['training_data']}",
        ]
        if srocc is not None and i.get("criterion") == "quality" and "test" in i["metrics"]:
            t = i["metrics"]["test"]  # the joint photos + generated images model (piaa.training.quality_joint)
            seen = "whole image + native-resolution crops + BRISQUE statistics" if i.get("native") else "whole image"
            alias = ", alias 'quality'" if i["name"] == QUALITY_MODEL else ""
            lines.append(f"  what          perceptual quality of photos and AI-generated images ({seen}){alias}")
            lines.append("  held out      " + "  ".join(f"{db} SROCC {v['srocc']:.3f} PLCC {v['plcc']:.3f}"
                                                     for db, v in t.items()) + "  (seeded test parts of train.csv)")
        elif srocc is not None and i.get("criterion") == "quality":
            m = i["metrics"]
            lines.append("  what          technical photo quality (sharpness, noise, exposure) (photos only; 'quality' is piaa-quality-native-lite0)")
            lines.append(f"  5-fold CV     SROCC {m['srocc']:.3f}  PLCC {m['plcc']:.3f}  (BIQ2021 train.csv, "
                         f"validation folds)")
        elif srocc is not None:
            m = i["metrics"]
            lines.append(f"  4-fold GIAA   SROCC {m['srocc']:.3f}  PLCC {m['plcc']:.3f}  ACC {m['acc']:.3f}  "
                         f"EMD {m['emd']:.3f}  (OASIS beauty, held-out image subsets)")
        print("\n".join(lines))
    return 0
