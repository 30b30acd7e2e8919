"""Speed and size of task-vector personalization with the shipped default bank, features cached.

    nice python bench/task_vectors_speed.py --repeats 20

Times (median over repeats, wall clock): fitting one person from 100 rated images (from cached pooled
features, including the fc1 projections and the zero-shot SROCC of every task), the same with the paper's
500 steps, scoring 1,000 images for a fitted person; and the size of a saved profile.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import task_vectors_common as C  # noqa: E402

from piaa.models.task_vectors.build import load_default_bank  # noqa: E402
from piaa.state import state_to_bytes  # noqa: E402
from piaa.personalize.task_vectors import TaskVectorPersonalizer  # noqa: E402


def _median_time(fn, repeats):
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None)
    ap.add_argument("--bank", default="default", help="bank directory to time (default: the shipped bank)")
    a = ap.parse_args(argv)
    import torch

    torch.set_num_threads(a.threads)
    from piaa.models.task_vectors.build import resolve_bank

    bank = load_default_bank() if a.bank == "default" else resolve_bank(a.bank)
    feats = C.FeatureTable(bank.spec)
    beauty, _ = C.load_oasis()
    user = beauty.splits["raters_subset1"][0]
    r = beauty.ratings_of(user).sort_index()
    X, y = feats(r.index[:100]), r.to_numpy(float)[:100]
    X1000 = feats.X[np.arange(1000) % len(feats.X)]
    est = TaskVectorPersonalizer(bank=bank).fit(X, y)
    out = {
        "bank": bank.fingerprint, "tasks": bank.num_tasks, "threads": a.threads,
        "fit_100_images_default_s": _median_time(lambda: TaskVectorPersonalizer(bank=bank).fit(X, y), a.repeats),
        "fit_100_images_paper_500_steps_s": _median_time(
            lambda: TaskVectorPersonalizer(bank=bank, **TaskVectorPersonalizer.PAPER).fit(X, y), max(3, a.repeats // 4)),
        "score_1000_images_s": _median_time(lambda: est.predict(X1000), a.repeats),
        "profile_bytes": len(state_to_bytes(est.state_dict())),
        "coef_shape": list(est.coef_.shape),
    }
    if bank.spec.pool == "multilevel" and bank.spec.backbone == "efficientnet_lite0":
        # tv-probe: the bank's inputs are the multilevel features the shipped taste prior is built on
        from piaa.personalize.tv_probe import TVProbePersonalizer

        off = np.full(len(y), 4.0)  # a generic score per image (its value does not change the cost)
        tvp = TVProbePersonalizer(bank=bank).fit(X, y, offset=off)
        out["fit_100_images_tv_probe_s"] = _median_time(
            lambda: TVProbePersonalizer(bank=bank).fit(X, y, offset=off), a.repeats)
        out["score_1000_images_tv_probe_s"] = _median_time(
            lambda: tvp.predict(X1000, offset=np.full(len(X1000), 4.0)), a.repeats)
        out["tv_probe_profile_bytes"] = len(state_to_bytes(tvp.state_dict()))
    print(json.dumps(out, indent=1))
    if a.out:
        Path(a.out).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
