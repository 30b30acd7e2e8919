"""Does `piaa cull` keep the sharp frame of a burst? Synthetic bursts from real photographs (prints JSON).

    # the photographs: Debian's wallpaper packages (photos only, listed in SOURCES)
    apt-get download plasma-workspace-wallpapers ukui-wallpapers gnome-backgrounds
    for f in *.deb; do dpkg-deb -x "$f" /tmp/detail-pkgs/ex; done
    .venv/bin/python bench/cull_bursts.py make --root /tmp/detail-pkgs/ex --out /tmp/detail-bursts
    .venv/bin/python bench/cull_bursts.py run --out /tmp/detail-bursts [--people]

**Bursts** (``make``): every photograph gives one burst per (blur kind, level, size): five near-identical frames
(each a different crop of the same scene, shifted by up to 12 px, exposure x0.97-1.03, JPEG quality 92, 0.4 s
apart in EXIF time), one sharp and four blurred at the frame's own (native) resolution — Gaussian defocus
(level "mild": sigma 1-1.5 px, "strong": 1.5-2 px) or linear motion blur at a random angle ("mild": 5-7 px,
"strong": 8-11 px). Sizes: 2,560 px wide and 800 px wide (the photo downscaled first, then blurred). Photos are
split by name into a training part (choose the margins) and a held-out part (report).

**People bursts** (``make --people``): AGIQA-3K images whose prompt names a person (generators that draw faces)
and BIQ2021 photos (never OASIS), 256 px as stored in the shared data, with a face found by
:func:`piaa.faces.detect_faces` on the original covering at least 2 % of it; four frames: the face in focus on a background
blurred by 2-3 px (the keeper), back focus (the face blurred by 1.5-2.5 px inside a feathered ellipse, the
background sharp) twice at two strengths, and soft all over (1.5-2 px).

**Run**: every shoot (all bursts of one kind/level/size) is culled once with the checks (piaa.profiles.cull_checks)
and once without (``--checks none``: the thumbnail-only cull). A burst counts as kept when its sharp frame
(keeper) is the pick of the group it fell in and that group holds at least two of its frames. The margins are
chosen on the training part (the highest hit rate, ties to the middle of the grid) and reported on the held-out
part.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter

#: Photographs among the wallpaper packages (the others are illustrations), relative to the extracted root.
SOURCES = [
    "usr/share/wallpapers/Autumn/contents/images/2560x1600.jpg",
    "usr/share/wallpapers/BytheWater/contents/images/2560x1600.jpg",
    "usr/share/wallpapers/ColdRipple/contents/images/2560x1600.jpg",
    "usr/share/wallpapers/ColorfulCups/contents/images/2560x1600.jpg",
    "usr/share/wallpapers/DarkestHour/contents/images/2560x1600.jpg",
    "usr/share/wallpapers/EveningGlow/contents/images/2560x1600.jpg",
    "usr/share/wallpapers/FallenLeaf/contents/images/2560x1600.jpg",
    "usr/share/wallpapers/Grey/contents/images/2560x1600.jpg",
    "usr/share/wallpapers/Kite/contents/images/2560x1600.jpg",
    "usr/share/wallpapers/OneStandsOut/contents/images/2560x1600.jpg",
    "usr/share/wallpapers/Path/contents/images/2560x1600.jpg",
    "usr/share/wallpapers/summer_1am/contents/images/2560x1600.jpg",
    "usr/share/wallpapers/Volna/contents/images/5120x2880.jpg",
]
LEVELS = {("defocus", "mild"): (1.0, 1.5), ("defocus", "strong"): (1.5, 2.0),
          ("motion", "mild"): (5, 7), ("motion", "strong"): (8, 11)}
SIZES = (2560, 800)
SHIFT = 12


def split_of(name: str) -> str:
    """"train" or "heldout", fixed by the photo's name."""
    return "train" if int(hashlib.sha1(name.encode()).hexdigest(), 16) % 2 == 0 else "heldout"


def motion_blur(a: np.ndarray, length: int, angle: float) -> np.ndarray:
    """Average of ``length`` copies of ``a`` (H, W, C float32) shifted along a rasterized line at ``angle``."""
    t = np.arange(length) - (length - 1) / 2.0
    dy = np.rint(t * np.sin(np.radians(angle))).astype(int)
    dx = np.rint(t * np.cos(np.radians(angle))).astype(int)
    p = int(max(np.abs(dy).max(), np.abs(dx).max()))
    pad = np.pad(a, ((p, p), (p, p), (0, 0)), mode="reflect")
    h, w = a.shape[:2]
    out = np.zeros_like(a)
    for y, x in zip(dy, dx):
        out += pad[p + y: p + y + h, p + x: p + x + w]
    return out / length


def defocus(a: np.ndarray, sigma: float) -> np.ndarray:
    return gaussian_filter(a, (sigma, sigma, 0))


def _save(a: np.ndarray, path: Path, when: datetime) -> None:
    im = Image.fromarray(np.clip(a + 0.5, 0, 255).astype(np.uint8))
    exif = Image.Exif()
    exif.get_ifd(0x8769)[36867] = when.strftime("%Y:%m:%d %H:%M:%S")
    exif.get_ifd(0x8769)[37521] = f"{when.microsecond // 10000:02d}"
    im.save(path, "JPEG", quality=92, exif=exif)


def _frames_of(base: np.ndarray, n: int, rng) -> list:
    """``n`` crops of ``base`` shifted by up to SHIFT px, exposure jittered (float32 arrays)."""
    h, w = base.shape[:2]
    out = []
    for _ in range(n):
        y, x = int(rng.integers(0, SHIFT + 1)), int(rng.integers(0, SHIFT + 1))
        f = base[y: y + h - SHIFT, x: x + w - SHIFT] * float(rng.uniform(0.97, 1.03))
        out.append(f.astype(np.float32))
    return out


def make_bursts(root: Path, out: Path, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    meta = []
    t = datetime(2026, 6, 1, 9, 0, 0)
    for rel in SOURCES:
        src = root / rel
        name = src.parts[-4] if "wallpapers" in rel else src.stem
        split = split_of(name)
        photo = Image.open(src).convert("RGB")
        for size in SIZES:
            im = photo.resize((size, round(photo.size[1] * size / photo.size[0])), Image.LANCZOS) \
                if photo.size[0] != size else photo
            base = np.asarray(im, dtype=np.float32)
            for (kind, level), (lo, hi) in LEVELS.items():
                shoot = f"{kind}-{level}-{size}"
                d = out / split / shoot
                d.mkdir(parents=True, exist_ok=True)
                frames = _frames_of(base, 5, rng)
                sharp = int(rng.integers(0, 5))
                files = []
                for k, f in enumerate(frames):
                    if k != sharp:
                        f = defocus(f, float(rng.uniform(lo, hi))) if kind == "defocus" else \
                            motion_blur(f, int(rng.integers(lo, hi + 1)), float(rng.uniform(0, 180)))
                    p = d / f"{name}_{k}.jpg"
                    _save(f, p, t + timedelta(seconds=0.4 * k))
                    files.append(str(p))
                t += timedelta(minutes=2)
                meta.append({"split": split, "shoot": shoot, "kind": kind, "level": level, "size": size,
                             "source": name, "frames": files, "keeper": files[sharp]})
    return meta


# ---- people bursts ------------------------------------------------------------------------------------------
PEOPLE_WORDS = ("woman", "man ", "girl", "boy", "portrait", "face", "lady", "person", "child", "people")


def _ellipse_mask(shape, box, feather: float) -> np.ndarray:
    h, w = shape
    x, y, bw, bh = box
    cx, cy = x + bw / 2, y + bh / 2
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.sqrt(((xx - cx) / (0.75 * bw)) ** 2 + ((yy - cy) / (0.85 * bh)) ** 2)
    return np.clip((1.25 - r) / feather, 0, 1)[:, :, None]   # 1 inside, 0 outside, soft edge


def people_candidates(data: Path, n_biq: int = 1500) -> list:
    """(name, path) of photos that may show people: AGIQA-3K images whose prompt names a person, from the
    generators that draw faces (not AttnGAN / glide), and the first ``n_biq`` BIQ2021 photos by name."""
    import csv

    rows = list(csv.DictReader(open(data / "agiqa3k" / "train.csv")))
    out = [(r["image"], data / "agiqa3k" / "images" / r["image"]) for r in rows
           if r["generator"] not in ("AttnGAN", "glide")
           and any(wd in (r["prompt"] + " ").lower() for wd in PEOPLE_WORDS)]
    biq = sorted((data / "biq2021" / "images").iterdir())[:n_biq]
    return out + [(p.name, p) for p in biq]


def make_people(data: Path, out: Path, seed: int = 0, limit: int = 120) -> list:
    from piaa.faces import detect_faces

    rng = np.random.default_rng(seed + 1)
    meta = []
    t = datetime(2026, 6, 2, 9, 0, 0)
    for name, src in people_candidates(data):
        if len(meta) >= limit:
            break
        a = np.asarray(Image.open(src).convert("RGB"))
        faces = detect_faces(a)
        if not faces:
            continue
        box = faces[0].box
        if box[2] * box[3] < 0.02 * a.shape[0] * a.shape[1]:
            continue   # a face too small to judge focus on
        split = split_of(name)
        d = out / split / "people"
        d.mkdir(parents=True, exist_ok=True)
        base = a.astype(np.float32)
        m = _ellipse_mask(a.shape[:2], box, 0.3)
        keeper = m * base + (1 - m) * defocus(base, float(rng.uniform(2.0, 3.0)))
        back1 = m * defocus(base, float(rng.uniform(1.5, 2.0))) + (1 - m) * base
        back2 = m * defocus(base, float(rng.uniform(2.0, 2.5))) + (1 - m) * base
        soft = defocus(base, float(rng.uniform(1.5, 2.0)))
        frames = [keeper, back1, back2, soft]
        order = rng.permutation(4)
        files = []
        stem = Path(name).stem.replace(" ", "_").replace("(", "").replace(")", "")
        for k, j in enumerate(order):
            p = d / f"{stem}_{k}.jpg"
            _save(frames[j], p, t + timedelta(seconds=0.4 * k))
            files.append(str(p))
        t += timedelta(minutes=2)
        meta.append({"split": split, "shoot": "people", "kind": "people", "level": "-", "size": int(a.shape[1]),
                     "source": name, "frames": files, "keeper": files[int(np.flatnonzero(order == 0)[0])],
                     "face": [int(v) for v in box]})
    return meta


# ---- running the cull ---------------------------------------------------------------------------------------
def _hit(result, burst, chosen) -> bool:
    idx = {p: i for i, p in enumerate(result.paths)}
    k = idx[burst["keeper"]]
    mine = {idx[f] for f in burst["frames"]}
    for g, pick in chosen:
        if k in g:
            return pick == k and len(mine & set(g)) >= 2
    return False


def run(out: Path, margins_soft, margins_motion, people: bool) -> dict:
    from piaa.profiles.cull import CullSettings, choose, cull
    from piaa.profiles.cull_checks import judge

    meta = json.loads((out / "bursts.json").read_text())
    if people and (out / "people.json").exists():
        meta += json.loads((out / "people.json").read_text())
    shoots = sorted({(b["split"], b["shoot"]) for b in meta})
    runs = {}
    for split, shoot in shoots:
        bursts = [b for b in meta if b["split"] == split and b["shoot"] == shoot]
        paths = [f for b in bursts for f in b["frames"]]
        res = cull(paths, quality="auto", settings=CullSettings())
        base = cull(paths, quality="auto", settings=CullSettings(checks=frozenset()))
        runs[(split, shoot)] = (bursts, res, base)
        print(f"{split} {shoot}: {len(bursts)} bursts", file=sys.stderr)

    def hits(split, s_m, m_m, with_checks=True):
        rows = []
        for (sp, shoot), (bursts, res, base) in runs.items():
            if sp != split:
                continue
            if not with_checks:
                chosen = [(g.members, g.pick) for g in base.groups]
                rows += [(shoot, _hit(base, b, chosen)) for b in bursts]
                continue
            groups = [g.members for g in res.groups]
            verdicts = {gi: judge([g.facts[i] for i in g.members], res.settings.checks, s_m, m_m)
                        for gi, g in enumerate(res.groups) if len(g.members) > 1 and g.facts}
            _, cg = choose(groups, res.taste, res.quality, res.own_ratings, res.settings.quality_weight, verdicts)
            chosen = [(g.members, g.pick) for g in cg]
            rows += [(shoot, _hit(res, b, chosen)) for b in bursts]
        return rows

    def rate(rows, pred=lambda s: True):
        v = [h for s, h in rows if pred(s)]
        return (round(float(np.mean(v)), 4) if v else None, len(v))

    grid = []
    for s_m in margins_soft:
        for m_m in margins_motion:
            grid.append((rate(hits("train", s_m, m_m))[0] or 0.0, s_m, m_m))
    best = max(r for r, _, _ in grid)
    ties = [(s, m) for r, s, m in grid if r == best]
    s_m, m_m = ties[len(ties) // 2]
    report = {"chosen_on_train": {"soft_margin": s_m, "motion_margin": m_m, "train_hit_rate": best},
              "grid_train": [{"soft_margin": s, "motion_margin": m, "hit": r} for r, s, m in grid]}
    for split in ("train", "heldout"):
        after, before = hits(split, s_m, m_m), hits(split, s_m, m_m, with_checks=False)
        kinds = sorted({s for s, _ in after})
        report[split] = {
            "after": {"landscape_all": rate(after, lambda s: s != "people"), "people": rate(after, lambda s: s == "people"),
                      **{k: rate(after, lambda s, k=k: s == k) for k in kinds}},
            "before": {"landscape_all": rate(before, lambda s: s != "people"),
                       "people": rate(before, lambda s: s == "people"),
                       **{k: rate(before, lambda s, k=k: s == k) for k in kinds}}}
    return report


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    mk = sub.add_parser("make")
    mk.add_argument("--root", type=Path, required=True, help="where the wallpaper packages were extracted")
    mk.add_argument("--out", type=Path, required=True)
    mk.add_argument("--people", action="store_true", help="also people bursts from AGIQA-3K (needs piaa.faces)")
    mk.add_argument("--data", type=Path, default=None, help="shared data folder (default: piaa.paths)")
    mk.add_argument("--seed", type=int, default=0)
    rn = sub.add_parser("run")
    rn.add_argument("--out", type=Path, required=True)
    rn.add_argument("--people", action="store_true")
    rn.add_argument("--soft", default="0.04,0.06,0.08,0.10,0.12,0.15,0.20,0.25")
    rn.add_argument("--motion", default="0.1,0.15,0.2,0.3,1.0")
    a = ap.parse_args(argv)
    if a.cmd == "make":
        a.out.mkdir(parents=True, exist_ok=True)
        if a.people:
            from piaa.paths import shared_data_dir

            meta = make_people(a.data or shared_data_dir(), a.out, a.seed)
            (a.out / "people.json").write_text(json.dumps(meta, indent=1))
        else:
            meta = make_bursts(a.root, a.out, a.seed)
            (a.out / "bursts.json").write_text(json.dumps(meta, indent=1))
        print(json.dumps({"bursts": len(meta), "train": sum(m["split"] == "train" for m in meta)}))
        return 0
    rep = run(a.out, [float(x) for x in a.soft.split(",")], [float(x) for x in a.motion.split(",")], a.people)
    print(json.dumps(rep, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
