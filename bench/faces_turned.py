"""The turned-face search on BIQ2021 / AGIQA-3K (docs/faces.md): candidates to label, and the choice of the
turns and the threshold on turned copies from the labels.

    PYTHONPATH=src .venv/bin/python bench/faces_turned.py search [--out /tmp/faces-turned.jsonl]
    PYTHONPATH=src .venv/bin/python bench/faces_turned.py choose [--search /tmp/faces-turned.jsonl]

``search``: every photo through the upright detector (dlib margin >= -0.5); a photo without an upright face
through the detector on its small copy turned by +-90 and +-45 degrees at margin -0.5; every detection's eyes by
the shipped eye model. Two processes; about 20 minutes for the 8,000 photos on the project's 2-core CPU.
``profile``: OpenCV's Haar profile-face cascade (needs ``opencv-python-headless`` 4.x, not a dependency) on the
200 random photos of bench/data/faces_photo_sample.csv: faces it finds where dlib (upright and turned) finds none,
and the face-less photos where it finds a face.
``speed``: the cost of the turned search on photos without a face (where it always runs): detect_faces with and
without it on the same photos, alternating, in one process (the 149 face-less photos of the random sample, and
the large photos listed in ``--large``).
``choose``: with the labels of bench/data/eyes_labels.csv, how many labelled faces and how many false faces each
setting of ``ROTATIONS`` and ``ROTATED_THRESHOLD`` would bring (on the photos without an upright face).
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
from multiprocessing import Pool
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
LABELS = HERE / "data" / "eyes_labels.csv"
TURNS = (90.0, -90.0, 45.0, -45.0)


def _one(item):
    from PIL import Image

    from piaa.faces import detect as D
    data, src, name = item
    with Image.open(Path(data) / src / "images" / name) as im:
        rgb = np.asarray(im.convert("RGB"))
    h, w = rgb.shape[:2]

    def judge(det):
        crop = D.face_crop(rgb, det.box, det.angle)
        state, prob = D.eye_state(crop, crop.to_native(crop.landmarks))
        return {"angle": det.angle, "score": round(det.score, 3), "box": det.upright_box(w, h),
                "sq": [round(v, 1) for v in det.box], "eyes": state, "p": None if prob is None else round(prob, 3)}
    ups = D.find_boxes(rgb)
    out = {"source": src, "image": name, "upright": [judge(D.Detection(b, s)) for b, s in ups], "turned": []}
    if not ups:
        out["turned"] = [judge(d) for a in TURNS for d in D.find_turned(rgb, a, threshold=-0.5)]
    return out


def cmd_search(args) -> dict:
    biq = sorted(p.name for p in (args.data / "biq2021" / "images").iterdir())
    items = [(str(args.data), "biq2021", n) for n in biq if n.startswith("ss03")]  # people first
    items += [(str(args.data), "agiqa3k", p.name) for p in sorted((args.data / "agiqa3k" / "images").iterdir())]
    items += [(str(args.data), "biq2021", n) for n in biq if not n.startswith("ss03")]
    with Pool(2) as pool, open(args.out, "w") as fh:
        for r in pool.imap(_one, items, chunksize=20):
            fh.write(json.dumps(r) + "\n")
    return {"written": str(args.out), "photos": len(items)}


def _chosen(turned, stages, threshold):
    """The detection detect_faces would keep first for a photo without an upright face (None: no face)."""
    for stage in stages:
        hits = [d for d in turned if d["angle"] in stage and d["score"] >= threshold]
        if hits:
            return max(hits, key=lambda d: d["score"])
    return None


def cmd_choose(args) -> dict:
    labels = {}
    for r in csv.DictReader(open(LABELS, newline="")):
        if r.get("turn"):
            x, y, w, h = (float(v) for v in r["box"].split())
            labels[(r["source"], r["image"])] = (r["label"], (x + w / 2, y + h / 2), max(w, h) / 2)
    photos = [json.loads(line) for line in open(args.search)]
    bare = [p for p in photos if not p["upright"]]
    settings = {"90 then 45": ((90.0, -90.0), (45.0, -45.0)), "90 only": ((90.0, -90.0),),
                "45 only": ((45.0, -45.0),), "90 and 45 together": (TURNS,)}
    out = {"photos": len(photos), "photos_without_an_upright_face": len(bare), "settings": []}
    for name, stages in settings.items():
        for t in args.thresholds:
            found = {"open": 0, "closed": 0, "other face": 0, "false": 0, "false called closed": 0,
                     "not labelled": 0}
            for p in bare:
                d = _chosen(p["turned"], stages, t)
                if d is None:
                    continue
                lab = labels.get((p["source"], p["image"]))
                cx, cy = (d["sq"][0] + d["sq"][2]) / 2, (d["sq"][1] + d["sq"][3]) / 2
                if lab is None or np.hypot(cx - lab[1][0], cy - lab[1][1]) > lab[2]:
                    found["not labelled"] += 1
                elif lab[0] in ("open", "closed"):
                    found[lab[0]] += 1
                elif lab[0] in ("noface", "animal", "artwork"):
                    found["false"] += 1
                    found["false called closed"] += d["eyes"] == "closed"
                else:
                    found["other face"] += 1
            out["settings"].append({"turns": name, "threshold": t, **found})
    return out


def cmd_profile(args) -> dict:
    import cv2
    from PIL import Image

    from piaa.faces import detect as D
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_profileface.xml")
    counts: dict = {}
    for r in csv.DictReader(open(HERE / "data" / "faces_photo_sample.csv", newline="")):
        with Image.open(args.data / r["source"] / "images" / r["image"]) as im:
            rgb = np.asarray(im.convert("RGB"))
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        grey = cv2.resize(grey, None, fx=2, fy=2) if max(grey.shape) < D.UPSAMPLE_BELOW else grey
        # both sides: the cascade knows one profile direction, the mirror image gives the other
        hits = len(cascade.detectMultiScale(grey, 1.1, 5)) + len(cascade.detectMultiScale(grey[:, ::-1].copy(), 1.1, 5))
        dlib_found = bool(D.find_faces(rgb))
        c = counts.setdefault(r["label"], {"photos": 0, "dlib": 0, "profile cascade": 0, "cascade only": 0})
        c["photos"] += 1
        c["dlib"] += dlib_found
        c["profile cascade"] += hits > 0
        c["cascade only"] += hits > 0 and not dlib_found
    return {"opencv": cv2.__version__, "by_label": counts}


def _time_pair(rgb) -> tuple:
    import time

    from piaa.faces import detect as D
    shipped = D.ROTATIONS
    out = []
    for turns in ((), shipped):
        D.ROTATIONS = turns
        t = time.perf_counter()
        D.detect_faces(rgb)
        out.append(time.perf_counter() - t)
    D.ROTATIONS = shipped
    return tuple(out)


def cmd_speed(args) -> dict:
    from PIL import Image

    def load(path):
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    sets = {"256-px photos without a face (random sample)": [
        args.data / r["source"] / "images" / r["image"]
        for r in csv.DictReader(open(HERE / "data" / "faces_photo_sample.csv", newline=""))
        if r["label"] == "no_person_face"]}
    if args.large:
        sets["large photos without a face"] = [Path(p) for p in args.large.read_text().split("\n") if p.strip()]
    out = {}
    for name, paths in sets.items():
        times = np.array([_time_pair(load(p)) for p in paths])
        out[name] = {"n": len(paths), "ms_upright_only": round(1000 * float(times[:, 0].mean()), 1),
                     "ms_with_turned_search": round(1000 * float(times[:, 1].mean()), 1),
                     "ratio": round(float(times[:, 1].sum() / times[:, 0].sum()), 2)}
    return out


def main(argv=None) -> int:
    from piaa.paths import shared_data_dir
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("command", choices=["search", "choose", "profile", "speed"])
    ap.add_argument("--data", type=Path, default=None, help="the shared data folder (default: ../shared/data)")
    ap.add_argument("--out", type=Path, default=Path("/tmp/faces-turned.jsonl"))
    ap.add_argument("--search", type=Path, default=Path("/tmp/faces-turned.jsonl"))
    ap.add_argument("--large", type=Path, default=None, help="speed: a file listing large photos without a face")
    ap.add_argument("--thresholds", type=float, nargs="+", default=[-0.25, 0.0, 0.25, 0.5])
    args = ap.parse_args(argv)
    args.data = args.data or shared_data_dir()
    result = {"search": cmd_search, "choose": cmd_choose, "profile": cmd_profile, "speed": cmd_speed}[args.command](args)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
