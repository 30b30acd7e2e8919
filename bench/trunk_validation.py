"""Held-out parts of every trunk database: ImageNet Lite0 vs a fine-tuned trunk, same heads (prints JSON).

    PYTHONPATH=src .venv/bin/python bench/trunk_validation.py [--trunk DIR/trunk.npz] [--output FILE.json]

Quality, on the test parts of BIQ2021 and AGIQA-3K train.csv:
Rows (same seeded test parts, piaa.training.trunk.data.split_parts with the trunk's val/test/split_seed; heads
trained on the train+val parts; a trunk never saw a test photo -- checked):
  lite0 / BIQ only     today's recipe (GenericHead MLP on Lite0 multilevel features, BIQ2021 photos only)
  lite0 / both         the same head trained on BIQ2021 + AGIQA-3K
  trunk / both         the head on the fine-tuned trunk's multilevel features (the shipped quality model's recipe)
  trunk heads          the trunk's own linear quality heads (report.json of piaa train trunk)
Beauty, on the test part of OASIS (the trunk never saw those photos): the default model's head (GenericHead,
n_models=3, the 128-component option) trained on the other OASIS photos' rating distributions, per backbone --
one split, an indicator for whether the 4-fold ``piaa bench giaa --trunk-config`` is worth its cost.
Results: docs/benchmarks/trunk.md.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def validate_beauty(backbone: str, split: dict) -> dict:
    import numpy as np

    from piaa.metrics import plcc, srocc
    from piaa.models.giaa import GenericHead
    from piaa.training.quality_joint import check_unseen, drop_test_duplicates
    from piaa.training.oasis import extract_features
    from piaa.training.trunk.data import load_database, split_parts

    d = load_database("oasis")
    d.part = split_parts(d.names, d.strata, split["val"], split["test"], split["split_seed"])
    drop_test_duplicates(d)
    check_unseen([backbone], [d])
    X = extract_features(d.paths, [backbone], "multilevel", progress=False)
    D = d.targets["beauty"]
    tr, te = np.isin(d.part, ["train", "val"]), d.part == "test"
    from piaa.data.ratings import Scale

    head = GenericHead(Scale(1.0, 7.0, 7), n_models=3, components=128, epochs=30, seed=0).fit(X[tr], D[tr])
    p = head.predict(X[te])
    y = D[te] @ d.bucket_values["beauty"]
    return {"srocc": round(float(srocc(p, y)), 4), "plcc": round(float(plcc(p, y)), 4), "n_test": int(te.sum()),
            "n_train": int(tr.sum())}


def main(argv=None) -> int:
    from piaa.backbones.finetuned import read_trunk, register_trunk
    from piaa.catalogue import asset_path
    from piaa.training.quality_joint import validate_joint_quality

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trunk", type=Path, default=None, help="trunk.npz (default: the shipped piaa-aesthetic-lite0)")
    ap.add_argument("--output", type=Path, default=None)
    a = ap.parse_args(argv)
    path = a.trunk or asset_path("piaa-aesthetic-lite0")
    name = "trunk-under-test"
    register_trunk(name, path, override=True)
    meta = read_trunk(path)["meta"]
    rows = {}
    split = {k: meta["config"][k] for k in ("val", "test", "split_seed")}  # the ImageNet rows: the same parts
    for label, bbs, train_on in (("trunk / both", [name], ("biq2021", "agiqa3k")),
                                 ("lite0 / BIQ only", ["efficientnet_lite0"], ("biq2021",)),
                                 ("lite0 / both", ["efficientnet_lite0"], ("biq2021", "agiqa3k"))):
        rows[label] = validate_joint_quality(bbs, train_on=train_on, progress=sys.stderr.isatty(), split=split)
        print(label, json.dumps(rows[label]["test"]), file=sys.stderr, flush=True)
    for label, bb in (("beauty: trunk", name), ("beauty: lite0", "efficientnet_lite0")):
        rows[label] = validate_beauty(bb, split)
        print(label, json.dumps(rows[label]), file=sys.stderr, flush=True)
    heads = meta.get("test_float16_trunk_heads", {})
    rows["trunk heads"] = {"test": {"biq2021": {"srocc": heads.get("biq_quality"), "plcc": heads.get("biq_quality_plcc")},
                                    "agiqa3k": {"srocc": heads.get("agiqa_quality"),
                                                "plcc": heads.get("agiqa_quality_plcc")}}}
    out = {"trunk": str(path), "trunk_config": meta["config"], "rows": rows}
    text = json.dumps(out, indent=1)
    if a.output:
        a.output.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
