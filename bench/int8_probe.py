"""Is int8 static quantization (ONNX Runtime's tools) good enough for the default model? Prints JSON.

    .venv/bin/python bench/int8_probe.py [--calibration 64] [--exclude-first 0] [--method minmax]

Calibrates activation ranges on BIQ2021 *training* photos (never the OASIS photos the speed check uses),
quantizes the verified fp32 export (QDQ, uint8 activations, int8 per-channel weights, every supported op;
optionally the first K convolutions left in float), then scores OASIS photos with fp32 and int8 through the
default model's head: network CPU ms per photo on one thread, SROCC and max |diff| of the scores (1-7).
The acceptance rule is SROCC >= 0.995 and max |diff| <= 0.05.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def main(argv=None) -> int:
    import onnx
    import onnxruntime as ort
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)

    from piaa.backbones import get_pretrained_cfg
    from piaa.backbones.preprocess import preprocess
    from piaa.features.engines import OnnxEngine, session_options
    from piaa.io.discovery import iter_image_files
    from piaa.io.images import load_image
    from piaa.metrics import srocc
    from piaa.models.scorer import load_scorer
    from piaa.paths import shared_data_dir

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calibration", type=int, default=64, help="BIQ2021 training photos for the ranges")
    ap.add_argument("--exclude-first", type=int, default=0, help="leave the first K convolutions in float")
    ap.add_argument("--method", choices=["minmax", "percentile", "entropy"], default="minmax")
    ap.add_argument("--photos", type=int, default=300, help="OASIS photos scored (every third)")
    args = ap.parse_args(argv)
    scorer = load_scorer()
    cfg = get_pretrained_cfg(scorer.backbone)
    fp32 = OnnxEngine(scorer.backbone, scorer.variant, intra_op_threads=1)
    data = shared_data_dir()
    names = [r["image"] for r in csv.DictReader(open(data / "biq2021" / "train.csv"))]
    pick = np.random.default_rng(0).choice(len(names), args.calibration, replace=False)
    arr = lambda p: preprocess(load_image(p, target_size=cfg.input_size), cfg)  # noqa: E731
    cal = np.stack([arr(data / "biq2021" / "images" / names[i]) for i in pick])

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.i = 0

        def get_next(self):
            if self.i >= len(cal):
                return None
            self.i += 8
            return {"images": cal[self.i - 8:self.i]}

    convs = [n.name for n in onnx.load(str(fp32.path)).graph.node if n.op_type == "Conv"]
    out = Path(tempfile.mkdtemp(prefix="piaa-int8-")) / "int8.onnx"
    method = {"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile,
              "entropy": CalibrationMethod.Entropy}[args.method]
    t0 = time.perf_counter()
    quantize_static(str(fp32.path), str(out), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, calibrate_method=method,
                    nodes_to_exclude=convs[:args.exclude_first])
    quant_s = time.perf_counter() - t0
    photos = iter_image_files(data / "oasis" / "images")[::3][:args.photos]
    X = np.stack([arr(p) for p in photos])
    sess = {"fp32": fp32.session, "int8": ort.InferenceSession(str(out), session_options(1))}
    feats, ms = {}, {}
    for _ in range(2):  # second round timed (warm)
        for k, s in sess.items():
            c0 = time.process_time()
            feats[k] = np.concatenate([s.run(None, {"images": X[i:i + 8]})[0] for i in range(0, len(X), 8)])
            ms[k] = round(1000 * (time.process_time() - c0) / len(X), 2)
    a, b = scorer.score_features(feats["fp32"]), scorer.score_features(feats["int8"])
    rep = {"calibration_photos": args.calibration, "method": args.method, "excluded_convs": args.exclude_first,
           "n_convs": len(convs), "quantize_s": round(quant_s, 1), "n_photos": len(photos),
           "network_cpu_ms_per_photo": ms, "speedup": round(ms["fp32"] / ms["int8"], 2),
           "score_srocc": round(float(srocc(a, b)), 5), "score_max_abs_diff": round(float(np.abs(a - b).max()), 4),
           "accepted": bool(srocc(a, b) >= 0.995 and np.abs(a - b).max() <= 0.05),
           "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime())}
    json.dump(rep, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
