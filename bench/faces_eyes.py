"""Eyes open / closed on the labelled faces of bench/data (docs/faces.md): features, cross-validation, training
of the shipped eye model, and the end-to-end benchmark of ``piaa.faces.detect_faces``.

    PYTHONPATH=src .venv/bin/python bench/faces_eyes.py cv                 # compare eye decisions, 10x5-fold CV
    PYTHONPATH=src .venv/bin/python bench/faces_eyes.py train [--out PATH] # fit on every label, write the model
    PYTHONPATH=src .venv/bin/python bench/faces_eyes.py run                # detect_faces end to end (JSON)

Labels (``bench/data/eyes_labels.csv``: the largest face found in a photo of BIQ2021 / AGIQA-3K, judged by eye;
``turn``: the face was found on the photo turned by that many degrees, ``box`` is then its square around the
face's centre in the photo's pixels; ``pose``: hard poses noted by eye (lying, tilted, hand, profile);
``bench/data/faces_photo_sample.csv``: 200 random photos, face / no face) refer to images under
``../shared/data`` (never copied). Features are cached under /tmp/faces-eyes-cache.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
LABELS = HERE / "data" / "eyes_labels.csv"
PHOTOS = HERE / "data" / "faces_photo_sample.csv"
CACHE = Path("/tmp/faces-eyes-cache")


def _image_path(data: Path, source: str, image: str) -> Path:
    return data / {"biq2021": "biq2021", "agiqa3k": "agiqa3k"}[source] / "images" / image


def _load_rgb(path: Path) -> np.ndarray:
    from PIL import Image
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def read_labels(path: Path = LABELS):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def turn_of(row) -> float:
    return float(row.get("turn") or 0.0)


def roll_degrees(landmarks: np.ndarray) -> float:
    """The head's roll: the angle of the line through the two eye centres (68-point layout), in degrees."""
    right, left = landmarks[36:42].mean(axis=0), landmarks[42:48].mean(axis=0)
    return float(np.degrees(np.arctan2(left[1] - right[1], left[0] - right[0])))


HARD_ROLL = 20.0  # degrees of roll from which a face counts as tilted (hard pose) without being noted by eye


def is_hard(row, roll: float) -> bool:
    """A hard pose: noted by eye (lying, tilted, hand, profile), found on a turned copy, or rolled >= HARD_ROLL."""
    return bool(row.get("pose")) or turn_of(row) != 0 or abs(roll) >= HARD_ROLL


def labelled_features(data: Path, kinds=("open", "closed")):
    """(features, labels, rows, detector scores, head rolls) of the labelled faces of ``kinds``, on their
    labelled boxes (turned ones cut out upright)."""
    from piaa.faces.detect import face_crop, find_boxes
    from piaa.faces.eye_features import FEATURE_NAMES, eye_features
    rows = [r for r in read_labels() if r["label"] in kinds]
    CACHE.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha1(json.dumps([[r["image"], r["box"], turn_of(r)] for r in rows]).encode()).hexdigest()[:10]
    cache = CACHE / f"labelled_{'-'.join(kinds)}_{len(rows)}_{len(FEATURE_NAMES)}_{digest}.npz"
    if cache.is_file():
        z = np.load(cache)
        return z["X"], z["y"], rows, z["score"], z["roll"]
    X, score, roll = [], [], []
    for r in rows:
        rgb = _load_rgb(_image_path(data, r["source"], r["image"]))
        x, y, w, h = (float(v) for v in r["box"].split())
        crop = face_crop(rgb, (x, y, x + w, y + h), turn_of(r))
        grey = crop.pixels.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
        X.append(eye_features(grey, crop.landmarks))
        roll.append(roll_degrees(crop.to_native(crop.landmarks)))
        if turn_of(r):
            score.append(9.0)   # found on a turned copy: no upright score
            continue
        # the detector's own score for this face: the best overlapping detection (loose threshold)
        best = -9.0
        for (bx0, by0, bx1, by1), sc in find_boxes(rgb, threshold=-1.0):
            ix = max(0.0, min(bx1, x + w) - max(bx0, x)) * max(0.0, min(by1, y + h) - max(by0, y))
            if ix > 0.3 * w * h:
                best = max(best, sc)
        score.append(best)
    X, y, score = np.array(X), np.array([r["label"] == "open" for r in rows], float), np.array(score)
    np.savez(cache, X=X, y=y, score=score, roll=np.array(roll))
    return X, y, rows, score, np.array(roll)


def balanced_accuracy(y_true, y_pred) -> float:
    """Mean recall of open and closed; ``y_pred`` is "open" / "closed" / other (other counts as wrong)."""
    y_true = np.asarray(y_true)
    rec = [np.mean(np.asarray(y_pred)[y_true == c] == c) for c in ("open", "closed")]
    return float(np.mean(rec))


def decide(prob, lo, hi):
    return np.where(prob >= hi, "open", np.where(prob <= lo, "closed", "unsure"))


def oof_probabilities(X, y, make, folds=5, repeats=10, seed=0):
    """Out-of-fold P(open) for every face, averaged over repeats of stratified k-fold."""
    rng = np.random.default_rng(seed)
    out = np.zeros((repeats, len(y)))
    for r in range(repeats):
        fold = np.empty(len(y), int)
        for c in (0, 1):
            idx = np.flatnonzero(y == c)
            rng.shuffle(idx)
            fold[idx] = np.arange(len(idx)) % folds
        for k in range(folds):
            te = fold == k
            out[r, te] = make().fit(X[~te], y[~te]).predict_proba(X[te])
    return out


def summarise(name, prob_runs, y, band=None):
    from piaa.faces.eyes import UNSURE_BAND
    lo, hi = band or UNSURE_BAND
    truth = np.where(y == 1, "open", "closed")
    bas, unsure = [], []
    for p in prob_runs:
        pred = decide(p, lo, hi)
        bas.append(balanced_accuracy(truth, pred))
        unsure.append(float(np.mean(pred == "unsure")))
    forced = [balanced_accuracy(truth, np.where(p >= 0.5, "open", "closed")) for p in prob_runs]
    return {"decision": name, "band": [lo, hi], "balanced_accuracy": round(float(np.mean(bas)), 3),
            "ba_std_over_repeats": round(float(np.std(bas)), 3), "unsure_share": round(float(np.mean(unsure)), 3),
            "balanced_accuracy_no_unsure_band": round(float(np.mean(forced)), 3)}


def cmd_cv(args) -> dict:
    from piaa.faces import eyes as eye_rule
    from piaa.faces.eye_features import FEATURE_NAMES
    from piaa.faces.eye_model import EyeStateModel
    X, y, rows, _, roll = labelled_features(args.data)
    ear = X[:, FEATURE_NAMES.index("ear_mean")]
    ear_prob = 1 / (1 + np.exp(-(ear - eye_rule.EAR_MIDPOINT) / eye_rule.EAR_SPREAD))
    out = {"n_open": int(y.sum()), "n_closed": int((1 - y).sum()), "folds": 5, "repeats": 10, "results": []}
    out["results"].append(summarise("eye aspect ratio rule (no training)", [ear_prob], y))
    ear_cols = [FEATURE_NAMES.index("ear_mean"), FEATURE_NAMES.index("ear_min")]
    out["results"].append(summarise("logistic on the eye aspect ratio", oof_probabilities(
        X[:, ear_cols], y, lambda: EyeStateModel(C=1.0)), y))
    hard = np.array([is_hard(r, ro) for r, ro in zip(rows, roll)])
    out["n_hard_open"], out["n_hard_closed"] = int(np.sum(hard & (y == 1))), int(np.sum(hard & (y == 0)))
    bands = [tuple(b) for b in np.reshape(args.bands, (-1, 2))] if args.bands else [None]
    for C in args.C:
        runs = oof_probabilities(X, y, lambda C=C: EyeStateModel(C=C))
        for band in bands:
            res = summarise(f"logistic on all eye features, C={C}", runs, y, band)
            res["hard_pose"] = summarise("", runs[:, hard], y[hard], band)["balanced_accuracy"]
            out["results"].append(res)
    return out


def cmd_train(args) -> dict:
    from piaa.faces.eye_features import FEATURE_NAMES
    from piaa.faces.eye_model import EyeStateModel
    X, y, _, _, _ = labelled_features(args.data)
    model = EyeStateModel(C=args.C[0]).fit(X, y, feature_names=FEATURE_NAMES)
    path = model.save(args.out)
    return {"written": str(path), "n_open": int(y.sum()), "n_closed": int((1 - y).sum()), "C": args.C[0]}


def _fold_models(args):
    """Photo -> eye model that never saw its label (stratified 5-fold over the labelled open / closed faces)."""
    from piaa.faces.eye_features import FEATURE_NAMES
    from piaa.faces.eye_model import EyeStateModel
    X, y, rows, _, _ = labelled_features(args.data)
    rng = np.random.default_rng(0)
    fold = np.empty(len(y), int)
    for c in (0, 1):
        idx = np.flatnonzero(y == c)
        rng.shuffle(idx)
        fold[idx] = np.arange(len(idx)) % 5
    models = [EyeStateModel(C=args.C[0]).fit(X[fold != k], y[fold != k], FEATURE_NAMES) for k in range(5)]
    return {(r["source"], r["image"]): models[k] for r, k in zip(rows, fold)}


DEFAULT_MODEL = None  # run --eye-model: the eye model that stands in for the shipped one


def _detect_with(model, rgb):
    """detect_faces with ``model`` as the eye model (None: the shipped one, or ``--eye-model``)."""
    from piaa.faces import detect as D
    from piaa.faces.eye_model import shipped_model
    model = model if model is not None else DEFAULT_MODEL
    D.shipped_model = (lambda: model) if model is not None else shipped_model
    try:
        return D.detect_faces(rgb)
    finally:
        D.shipped_model = shipped_model


def _apply_detector_options(args) -> None:
    from piaa.faces import detect as D
    from piaa.faces import eyes as eye_rule
    if args.threshold is not None:
        D.DETECT_THRESHOLD = args.threshold
    if args.band is not None:
        eye_rule.UNSURE_BAND = tuple(args.band)
    if args.turns is not None:
        D.ROTATIONS = {"none": (), "90": ((90.0, -90.0),), "90,45": ((90.0, -90.0), (45.0, -45.0)),
                       "45": ((45.0, -45.0),), "90+45": ((90.0, -90.0, 45.0, -45.0),)}[args.turns]
    if args.rotated_threshold is not None:
        D.ROTATED_THRESHOLD = args.rotated_threshold


def _eyes_summary(truth, pred) -> dict:
    truth, pred = np.array(truth), np.array(pred)
    counts = {f"{t}->{p}": int(np.sum((truth == t) & (pred == p)))
              for t in ("open", "closed") for p in ("open", "closed", "unsure", "no face")}
    decided = np.isin(pred, ["open", "closed"])
    return {"balanced_accuracy_strict": round(balanced_accuracy(truth, pred), 3),
            "balanced_accuracy_decided_only": round(balanced_accuracy(truth[decided], pred[decided]), 3),
            "n_open": int(np.sum(truth == "open")), "n_closed": int(np.sum(truth == "closed")), "counts": counts}


def cmd_run(args) -> dict:
    """detect_faces end to end: eyes of the largest face (each photo judged by an eye model that did not see its
    label), no-face photos called closed, detector recall, speed, and the hard-pose subset on its own."""
    from piaa.faces import detect as D
    from piaa.faces import eyes as eye_rule
    from piaa.faces.eye_model import EyeStateModel
    global DEFAULT_MODEL
    DEFAULT_MODEL = EyeStateModel.load(args.eye_model) if args.eye_model else None
    _apply_detector_options(args)
    held_out = _fold_models(args) if args.model == "folds" else {}
    _, _, lab_rows, _, roll = labelled_features(args.data)
    hard = {(r["source"], r["image"]) for r, ro in zip(lab_rows, roll) if is_hard(r, ro)}
    batch = {(r["source"], r["image"]): r.get("labelled", "") for r in lab_rows}
    by_batch: dict = {}
    want = {(r["source"], r["image"]): r["label"] for r in read_labels()}
    truth, pred, hard_truth, hard_pred, times, turned_times = [], [], [], [], [], []
    false_closed, no_face_n, too_small = 0, 0, 0
    real_turned, turned_calls = D.find_turned, [0]

    def counted(*a, **k):
        turned_calls[0] += 1
        return real_turned(*a, **k)
    for key, label in sorted(want.items()):
        rgb = _load_rgb(_image_path(args.data, *key))
        turned_calls[0] = 0
        D.find_turned = counted
        t = time.perf_counter()
        faces = _detect_with(held_out.get(key), rgb)
        times.append(time.perf_counter() - t)
        D.find_turned = real_turned
        if turned_calls[0]:
            turned_times.append(times[-1])
        eyes = faces[0].eyes if faces else "no face"
        if label in ("open", "closed"):
            truth.append(label)
            pred.append(eyes)
            too_small += bool(faces) and faces[0].eyes_open_probability is None
            if key in hard:
                hard_truth.append(label)
                hard_pred.append(eyes)
            by_batch.setdefault(batch.get(key, ""), ([], []))
            by_batch[batch.get(key, "")][0].append(label)
            by_batch[batch.get(key, "")][1].append(eyes)
        elif label in ("noface", "animal", "artwork"):
            no_face_n += 1
            false_closed += eyes == "closed"
    found, with_face, sample_no_face, sample_closed, sample_found = 0, 0, 0, 0, 0
    for r in read_labels(PHOTOS):
        faces = _detect_with(None, _load_rgb(_image_path(args.data, r["source"], r["image"])))
        if r["label"] == "face":
            with_face += 1
            found += bool(faces)
        elif r["label"] == "no_person_face":
            sample_no_face += 1
            sample_found += bool(faces)
            sample_closed += bool(faces) and faces[0].eyes == "closed"
    every = _eyes_summary(truth, pred)
    out = {
        "detect_threshold": D.DETECT_THRESHOLD, "unsure_band": list(eye_rule.UNSURE_BAND),
        "rotations": [list(s) for s in D.ROTATIONS], "rotated_threshold": D.ROTATED_THRESHOLD,
        "eyes_balanced_accuracy_strict": every.pop("balanced_accuracy_strict"),
        "eyes_balanced_accuracy_decided_only": every.pop("balanced_accuracy_decided_only"), **every,
        "eye_model": args.model, "hard_pose": _eyes_summary(hard_truth, hard_pred),
        "by_labelling_date": {k: _eyes_summary(*v) for k, v in sorted(by_batch.items())},
        "unsure_because_eyes_too_small": too_small,
        "false_detections_called_closed": f"{false_closed}/{no_face_n}",
        "sample_no_face_photos_with_a_face_found": f"{sample_found}/{sample_no_face}",
        "sample_no_face_photos_called_closed": f"{sample_closed}/{sample_no_face}",
        "detector_recall_on_sample_faces": f"{found}/{with_face}",
        "ms_per_photo_256px": round(1000 * float(np.mean(times)), 1),
        "ms_per_photo_256px_with_turned_search": round(1000 * float(np.mean(turned_times or [0.0])), 1),
        "photos_with_turned_search": f"{len(turned_times)}/{len(times)}",
    }
    if args.no_face_files:
        out.update(_large_photos(args.no_face_files))
    return out


def _large_photos(list_file: Path) -> dict:
    """Photos without a face at full size (a list of paths): how many are called closed, and the time per photo
    of detect_faces against dlib's detector run on the full-resolution pixels (same process, same photos)."""
    from piaa.faces.models import face_detector
    paths = [Path(p) for p in list_file.read_text().split("\n") if p.strip()]
    closed, t_ours, t_full, megapixels = 0, [], [], []
    for p in paths:
        rgb = _load_rgb(p)
        megapixels.append(rgb.shape[0] * rgb.shape[1] / 1e6)
        t = time.perf_counter()
        faces = _detect_with(None, rgb)
        t_ours.append(time.perf_counter() - t)
        closed += bool(faces) and faces[0].eyes == "closed"
        if len(t_full) < 12 and megapixels[-1] >= 2:
            t = time.perf_counter()
            face_detector().run(rgb, 0, 0.0)
            t_full.append(time.perf_counter() - t)
    big = [t for t, mp in zip(t_ours, megapixels) if mp >= 2][:len(t_full)]
    return {"large_no_face_photos_called_closed": f"{closed}/{len(paths)}",
            "large_photos_median_megapixels": round(float(np.median(megapixels)), 1),
            "ms_per_large_photo": round(1000 * float(np.mean(t_ours)), 1),
            "speed_vs_full_resolution_detector": {"n": len(t_full), "ms_detect_faces": round(1000 * float(np.mean(big)), 1),
                                                  "ms_dlib_full_resolution": round(1000 * float(np.mean(t_full)), 1)}}


def main(argv=None) -> int:
    from piaa.paths import shared_data_dir
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("command", choices=["cv", "train", "run"])
    ap.add_argument("--data", type=Path, default=None, help="the shared data folder (default: ../shared/data)")
    ap.add_argument("--C", type=float, nargs="+", default=[0.1], help="inverse ridge strength(s)")
    ap.add_argument("--threshold", type=float, default=None, help="run: the detector threshold to use")
    ap.add_argument("--band", type=float, nargs=2, default=None, help="run: the unsure band LO HI of P(open)")
    ap.add_argument("--turns", choices=["none", "90", "90,45", "45", "90+45"], default=None,
                    help="run: turned searches while nothing is found (default: the shipped ROTATIONS)")
    ap.add_argument("--eye-model", type=Path, default=None,
                    help="run: an eye model JSON used where the shipped one would be (a model of an earlier commit)")
    ap.add_argument("--model", choices=["folds", "shipped"], default="folds",
                    help="run: eye model per photo: trained without its label (folds) or the shipped one")
    ap.add_argument("--rotated-threshold", type=float, default=None, help="run: margin on turned copies")
    ap.add_argument("--bands", type=float, nargs="+", default=None, help="cv: unsure bands LO HI LO HI ...")
    ap.add_argument("--no-face-files", type=Path, default=None,
                    help="run: a text file listing large photos without a face (one path a line)")
    ap.add_argument("--out", type=Path, default=HERE.parent / "src" / "piaa" / "assets" / "faces" / "eye_state.json")
    args = ap.parse_args(argv)
    args.data = args.data or shared_data_dir()
    result = {"cv": cmd_cv, "train": cmd_train, "run": cmd_run}[args.command](args)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
