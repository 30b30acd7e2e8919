"""Choosing the training settings of the cached-feature heads on training images only.

For an OASIS fold (test subset s), the three training subsets are split: two train, the third validates (its
raters are different people, so the trait targets of the validation images are independent). Every candidate
setting is trained and scored on the validation subset: the generic score's SROCC against mean beauty, the
distribution loss and the trait head's mean correlation with its targets. The test subset is never read.

    python bench/pa_iaa_tuning.py --test-subset subset1 --output docs/benchmarks/pa_iaa_tuning.json
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from piaa.models.pa_iaa.build import default_shared_data, distribution_targets, extractor_inputs, traits_task
from piaa.models.pa_iaa.network import PAIAANet
from piaa.models.pa_iaa.train import PAPER_CONFIG, train_network


def run(data_root: Path, test_subset: str, val_subset: str, lrs, epochs_list, variant: str, hidden, seed: int = 0,
        personalize: bool = False, people: int = 40, split=None, lr_backbone: float = 1e-5,
        weighting: str = "residual"):
    from piaa.data import load_dataset

    ds = load_dataset("oasis-beauty", data_root / "oasis-beauty")
    subsets = sorted(k for k, v in ds.split_kinds.items() if v == "image")
    if test_subset not in subsets or val_subset not in subsets or val_subset == test_subset:
        raise SystemExit(f"--test-subset/--val-subset must be two different of {subsets}")
    train_imgs = [i for s in subsets if s not in (test_subset, val_subset) for i in ds.splits[s]]
    val_imgs = list(ds.splits[val_subset])
    from dataclasses import replace as dc_replace

    def part(images):
        return dc_replace(ds, ratings=ds.ratings[ds.ratings["image"].isin(set(images))].reset_index(drop=True))

    tr, va = part(train_imgs), part(val_imgs)
    root = Path(ds.images_root)
    sec_tr = traits_task(tr, root, seed=seed, weighting=weighting)
    traits = sec_tr.names
    sec_va = traits_task(va, root, traits=traits, weighting=weighting)
    inputs = extractor_inputs(variant=variant, split=split, progress=True)
    Da, Dv = distribution_targets(tr), distribution_targets(va)
    Xa = inputs([root / i for i in Da.index])
    Xp = inputs([root / i for i in sec_tr.images])
    Xv = inputs([root / i for i in Dv.index])
    Xvp = inputs([root / i for i in sec_va.images])
    val = {"X_a": Xv, "Y_a": Dv.to_numpy(np.float32), "X_p": Xvp, "Y_p": sec_va.targets.to_numpy(np.float32)}
    results = []
    for lr in lrs:  # lr decays per epoch whatever the total, so one run to max(epochs) holds every shorter run
        if personalize:  # one run per (lr, epochs): the fusion needs the network as it is at that epoch
            for epochs in epochs_list:
                cfg = replace(PAPER_CONFIG, lr_heads=lr, epochs=epochs, seed=seed, lr_backbone=lr_backbone)
                torch.manual_seed(seed)
                net = PAIAANet(0 if split else Xa.shape[1], tr.scale.values, len(traits), "traits", traits,
                               hidden=hidden, variant=variant, split=split)
                train_network(net, Xa, Da.to_numpy(np.float32), Xp, sec_tr.targets.to_numpy(np.float32), cfg)
                sd = np.asarray(Xa, dtype=np.float64).std(axis=0)
                stats = (np.asarray(Xa, dtype=np.float64).mean(axis=0), np.where(sd > 1e-8, sd, 1.0))
                rec = {"lr_heads": lr, "epochs": epochs, "personalization": val_personalization(
                    net, va, root, inputs, people=people, seed=seed, feature_stats=stats)}
                print(json.dumps(rec), file=sys.stderr)
                results.append(rec)
            continue
        cfg = replace(PAPER_CONFIG, lr_heads=lr, epochs=max(epochs_list), seed=seed, lr_backbone=lr_backbone)
        torch.manual_seed(seed)
        net = PAIAANet(0 if split else Xa.shape[1], tr.scale.values, len(traits), "traits", traits, hidden=hidden,
                       variant=variant, split=split)
        t0 = time.time()
        hist = train_network(net, Xa, Da.to_numpy(np.float32), Xp, sec_tr.targets.to_numpy(np.float32), cfg, val=val,
                             val_epochs=set(epochs_list))
        secs = round(time.time() - t0, 2)
        for epochs in epochs_list:
            h = hist[epochs - 1]
            rec = {"lr_heads": lr, "epochs": epochs, "hidden": list(hidden), "variant": variant, "split": split,
                   "lr_backbone": lr_backbone,
                   "seconds_total": secs}
            rec.update({k: h[k] for k in ("L_a", "L_p", "val_L_a", "val_L_p", "val_srocc", "val_second_r")})
            print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in rec.items()}),
                  file=sys.stderr)
            results.append(rec)
    return {"test_subset": test_subset, "val_subset": val_subset, "traits": traits, "weighting": weighting,
            "results": results}


FUSION_VARIANTS = {
    "ridge_loo_bias": {"solver": "ridge", "alpha": "loo", "bias": True},
    "ridge_loo_nobias": {"solver": "ridge", "alpha": "loo", "bias": False},
    "ridge_loo_scaled": {"solver": "ridge", "alpha": "loo", "generic_scale": True},
    "sgd_paper_300": {"solver": "sgd", "lr": 1e-4, "steps": 300, "bias": True},
    "sgd_paper_1000": {"solver": "sgd", "lr": 1e-4, "steps": 1000, "bias": True},
    "sgd_paper_3000": {"solver": "sgd", "lr": 1e-4, "steps": 3000, "bias": True},
    "sgd_paper_1000_nobias": {"solver": "sgd", "lr": 1e-4, "steps": 1000, "bias": False},
    "mlp": {"fusion": "mlp"},
}


def val_personalization(net, dataset, root: Path, inputs, shots=(10, 100), people: int = 40, trials: int = 3,
                        seed: int = 0, variants=FUSION_VARIANTS, feature_stats=None):
    """Per-person SROCC on validation people (raters of the validation subset, their own ratings only):
    the network's generic score alone, the ridge probe on its residual (reference) and each fusion variant. Returns {variant: {shots: mean SROCC}}."""
    from piaa.metrics import srocc
    from piaa.personalize.pa_iaa import PAIAAPersonalizer

    from piaa.personalize.probe import ProbePersonalizer

    images = dataset.image_ids
    X = np.asarray(inputs([root / i for i in images]), dtype=np.float32)
    out = net.predict_arrays(X)
    pos = {im: i for i, im in enumerate(images)}
    rng = np.random.default_rng(seed)
    users = sorted(dataset.user_ids)
    users = list(rng.permutation(users)[:people])
    res = {name: {k: [] for k in shots} for name in ["generic", "probe", *variants]}
    w_norm = {k: [] for k in shots}
    for u in users:
        r = dataset.ratings_of(u)
        idx = np.array([pos[i] for i in r.index])
        y = r.to_numpy(float)
        for k in shots:
            if len(y) <= k + 5:
                continue
            for t in range(trials):
                perm = np.random.default_rng(seed * 1000 + t).permutation(len(y))
                s, q = perm[:k], perm[k:]
                sub = {n: v[idx[s]] for n, v in out.items()}
                qry = {n: v[idx[q]] for n, v in out.items()}
                res["generic"][k].append(srocc(qry["score"], y[q]))
                # the per-person ridge probe on the network's input features, residual of s_a (reference)
                stats = {"feature_mean": feature_stats[0], "feature_scale": feature_stats[1]} if feature_stats else {}
                pr = ProbePersonalizer(**stats).fit(X[idx[s]], y[s], offset=sub["score"])
                res["probe"][k].append(srocc(pr.predict(X[idx[q]], offset=qry["score"]), y[q]))
                for name, kw in variants.items():
                    est = PAIAAPersonalizer(network=net, seed=t, **kw).fit(sub, y[s])
                    res[name][k].append(srocc(est.predict(qry), y[q]))
                    if name == "sgd_paper_1000":
                        w_norm[k].append(float(np.abs(est.w_).max()))
    summary = {name: {str(k): float(np.nanmean(v)) for k, v in d.items()} for name, d in res.items()}
    summary["sgd_paper_max_abs_w"] = {str(k): float(np.mean(v)) if v else None for k, v in w_norm.items()}
    return summary


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=default_shared_data(),
                    help="folder holding oasis-beauty/ and oasis/ (default: $PIAA_SHARED_DATA or ../shared/data)")
    ap.add_argument("--test-subset", default="subset1")
    ap.add_argument("--val-subset", default="subset2")
    ap.add_argument("--lrs", default="1e-4,1e-3,1e-2")
    ap.add_argument("--epochs", default="10,30")
    ap.add_argument("--variant", default="multilevel")
    ap.add_argument("--hidden", default="1024,512")
    ap.add_argument("--split", type=int, default=None,
                    help="finetune-top mode: also train backbone layers SPLIT..end on cached trunk activations")
    ap.add_argument("--lr-backbone", type=float, default=1e-5)
    ap.add_argument("--weighting", default="residual", choices=["centered", "zscore", "residual"],
                    help="rater weights of the trait targets")
    ap.add_argument("--personalize", action="store_true",
                    help="also score fusion variants on validation people at the best epoch of each lr")
    ap.add_argument("--people", type=int, default=40)
    ap.add_argument("--output", type=Path)
    a = ap.parse_args(argv)
    out = run(a.data, a.test_subset, a.val_subset, [float(x) for x in a.lrs.split(",")],
              [int(x) for x in a.epochs.split(",")], a.variant, [int(h) for h in a.hidden.split(",") if h],
              personalize=a.personalize, people=a.people, split=a.split, lr_backbone=a.lr_backbone,
              weighting=a.weighting)
    if a.output:
        from piaa.state import atomic_write_bytes

        atomic_write_bytes(a.output, json.dumps(out, indent=1).encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
