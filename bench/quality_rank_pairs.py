"""Quality with ranking evidence: selection table, held-out test parts, and AVT-AI (evaluation only).

    PYTHONPATH=src .venv/bin/python bench/quality_rank_pairs.py OUT_DIR [--work-dir DIR]
    PYTHONPATH=src .venv/bin/python bench/quality_rank_pairs.py --pairs MODEL ... [--work-dir DIR]

Runs ``piaa train quality --databases biq2021,agiqa3k --native --rank-pairs`` (selection on the val parts, one
measurement on the test parts) writing OUT_DIR/piaa-quality-ranked-lite0.npz and OUT_DIR/train.json. When the
val parts chose no synthetic rows, the best step by val SROCC is also fitted (OUT_DIR/forced-step.npz) so the
report can say what the lever would have done. Then ``bench/avt_quality.py`` scores AVT-AI with ``quality`` and
the new file(s): AVT-AI never chooses anything here.

``--pairs``: per degradation kind, the share of the val-part (source, degraded copy) pairs that each MODEL orders
right and its mean score drop (features from the cache the first form filled).
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main(argv=None) -> int:
    import argparse

    import numpy as np

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import avt_quality

    from piaa.training import quality_ranking as R
    from piaa.training.quality_native import fit_blend

    ap = argparse.ArgumentParser()
    ap.add_argument("out", nargs="?")
    ap.add_argument("--work-dir", default=None)
    ap.add_argument("--pairs", nargs="+", default=None, metavar="MODEL")
    a = ap.parse_args(argv)
    if a.pairs:
        return pairs(a.pairs, Path(a.work_dir) if a.work_dir else None)
    if not a.out:
        ap.error("OUT_DIR is needed (or --pairs MODEL ...)")
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    model = out / f"{R.RANKED_QUALITY_MODEL}.npz"
    rep = R.train_ranked_quality_model(model, work_dir=Path(a.work_dir) if a.work_dir else None, progress=True)
    rep["seconds"] = round(time.perf_counter() - t0, 1)
    (out / "train.json").write_text(json.dumps(rep, indent=1, default=str))
    sel = rep["validation"]["selection"]
    print(json.dumps({k: sel[k] for k in ("step", "alpha", "weight")}), rep["validation"]["test"], flush=True)
    models = ["quality", str(model)]
    if sel["step"] is None:  # what the lever would do: best val SROCC among the synthetic steps
        key = max((k for k in sel["table"] if not k.startswith("step=0 ")),
                  key=lambda k: sel["table"][k]["val_mean_srocc"])
        step, alpha, weight = (float(kv.split("=")[1]) for kv in key.split())
        dbs, ys, Xs, start, tr, _ = R.prepare(work_dir=Path(a.work_dir) if a.work_dir else None)
        X, y = R._with_synthetic(np.concatenate(Xs), np.concatenate(ys), tr, step)
        head = fit_blend(X, y, start, alpha, weight)
        from piaa.training.quality_joint import save_quality_model
        from piaa.training.quality_native import NATIVE

        forced = out / "forced-step.npz"
        save_quality_model(forced, head, X, "piaa-quality-ranked-forced", "efficientnet_lite0", "multilevel",
                           "report only: the best synthetic step on val, not chosen", {"forced": key},
                           {"criterion": "quality", "head": "blend", "native": dict(NATIVE)}, {"forced": key})
        models.append(str(forced))
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        avt_quality.main(models)
    (out / "avt.json").write_text(buf.getvalue())
    avt = json.loads(buf.getvalue())
    print(json.dumps({m: avt["study2_image_quality"][m] for m in models}), flush=True)
    return 0


def pairs(models, work_dir) -> int:
    """Print per-kind pair accuracy and mean drop of each model on the val-part degraded copies."""
    import numpy as np

    from piaa.models.linear_head import head_from_state
    from piaa.models.scorer import model_path, read_model_file
    from piaa.training import quality_ranking as R

    _, _, _, start, _, va = R.prepare(work_dir=work_dir)
    out: dict = {"n_pairs": int(len(va["X"]))}
    for name in models:
        state = read_model_file(model_path(name))
        head = head_from_state(state)
        cols = slice(None) if state["meta"]["model"].get("native") else slice(0, start)  # whole-image models
        ps, pd = head.predict(va["src_X"][:, cols]), head.predict(va["X"][:, cols])
        r = {"all": round(R.pair_accuracy(ps, pd), 4)}
        for k in R.KINDS:
            m = va["kind"] == k
            r[k] = {"ordered_right": round(R.pair_accuracy(ps[m], pd[m]), 3),
                    "mean_drop": round(float(np.mean(ps[m] - pd[m])), 3)}
        out[name] = r
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
