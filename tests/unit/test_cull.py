"""`piaa cull`: grouping by similarity + capture time, choosing the pick, marks in sidecars, reports."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageEnhance

from piaa.cli.main import main
from piaa.io.exif import capture_time
from piaa.profiles.cull import CullSettings, choose, group_indices
from piaa.profiles.xmp import parse_packet
from piaa.profiles.xmp_marks import LABEL, RATING, get_prop

T0 = datetime(2026, 6, 1, 10, 0, 0)


# ---- grouping on hand-made feature vectors ------------------------------------------------------------------
def _unit(dims):
    v = np.zeros(96)
    v[dims] = 1.0 / len(dims)
    return v


A, B, C, D = (_unit(list(range(k * 24, (k + 1) * 24))) for k in range(4))


def _mix(a, b, cos):
    """Non-negative features whose embedding (square root, unit norm) has cosine ``cos`` with ``a``'s."""
    return (cos ** 2) * a + (1 - cos ** 2) * b


def test_bursts_need_time_duplicates_do_not():
    s = CullSettings()
    burst_cos = (s.burst_similarity + s.duplicate_similarity) / 2        # similar, but not a duplicate
    dup_cos = (s.duplicate_similarity + 1) / 2
    X = np.stack([A, _mix(A, D, burst_cos), B, _mix(B, D, burst_cos), _mix(B, C, dup_cos), C])
    from piaa.profiles.cull import embed

    E = embed(X)
    assert np.allclose((E @ E.T)[0, 1], burst_cos) and np.allclose((E @ E.T)[2, 4], dup_cos)
    times = [T0, T0 + timedelta(seconds=1), T0 + timedelta(minutes=5), T0 + timedelta(minutes=30),
             T0 + timedelta(hours=2), T0 + timedelta(seconds=2)]
    as_sets = sorted(sorted(g) for g in group_indices(X, times))
    assert as_sets == [[0, 1], [2, 4], [3], [5]]      # 3 is like 2 but 25 minutes apart; 4 is a duplicate of 2
    far = [T0, T0 + timedelta(minutes=10)] + times[2:]
    assert sorted(sorted(g) for g in group_indices(X, far)) == [[0], [1], [2, 4], [3], [5]]
    assert sorted(sorted(g) for g in group_indices(X, [None] * 6)) == [[0], [1], [2, 4], [3], [5]]


def test_unscored_rows_stay_alone_and_groups_follow_capture_time():
    X = np.stack([A, A * 1.01, np.full(96, np.nan), A * 0.99])
    times = [T0 + timedelta(seconds=2), T0, T0 + timedelta(seconds=1), T0 + timedelta(seconds=1.5)]
    groups = group_indices(X, times)
    assert groups == [[1, 0, 3], [2]] or groups == [[1, 3, 0], [2]]
    assert groups[0][0] == 1


def test_choose_own_stars_then_taste_plus_quality():
    groups = [[0, 1, 2], [3, 4]]
    taste = np.array([1.0, 2.0, 3.0, 5.0, 4.0])
    own = [None, None, None, None, None]
    _, picks = choose(groups, taste, None, own)
    assert [p.pick for p in picks] == [2, 3]
    quality = np.array([9.0, 0.0, 0.0, 0.0, 0.0])
    _, picks = choose(groups, taste, quality, own, quality_weight=3.0)
    assert picks[0].pick == 0                                        # a much sharper photo wins with weight
    _, picks = choose(groups, taste, None, [2.0, 4.0, None, -1.0, None])
    assert picks[0].pick == 1 and "your own 4" in picks[0].reason     # the person's stars beat predictions
    assert picks[1].pick == 4                                        # never the photo they rejected
    with pytest.raises(ValueError):
        CullSettings(burst_seconds=-1)


# ---- end to end on photos --------------------------------------------------------------------------------------
def _scene(kind, size=(192, 144)):
    """Five unlike pictures (circles, stripes, clouds, checkerboard, text lines): distinct to the backbone."""
    rng = np.random.default_rng(kind)
    w, h = size
    if kind == 0:
        im = Image.new("RGB", size, (30, 90, 160))
        d = ImageDraw.Draw(im)
        for _ in range(12):
            x, y, r = rng.integers(0, w), rng.integers(0, h), rng.integers(8, 40)
            d.ellipse([x - r, y - r, x + r, y + r], fill=tuple(int(c) for c in rng.integers(0, 255, 3)))
        return im
    if kind == 1:
        a = np.zeros((h, w, 3), np.uint8)
        for i in range(0, h, 12):
            a[i:i + 6] = (220, 200, 40)
        a[:, :, 2] = np.linspace(0, 255, w)[None, :]
        return Image.fromarray(a)
    if kind == 2:
        return Image.fromarray(rng.integers(0, 255, (6, 8, 3)).astype(np.uint8)).resize(size, Image.BICUBIC)
    if kind == 3:
        yy, xx = np.mgrid[0:h, 0:w]
        c = ((xx // 16 + yy // 16) % 2) * 255
        return Image.fromarray(np.stack([c, c // 2, 255 - c], -1).astype(np.uint8))
    im = Image.new("RGB", size, (245, 245, 240))
    d = ImageDraw.Draw(im)
    for i in range(10):
        d.line([(10, 10 + 13 * i), (w - 10 - int(rng.integers(0, 60)), 10 + 13 * i)], fill=(20, 20, 20), width=3)
    return im


def _save(im, path, when):
    ex = Image.Exif()
    ex.get_ifd(0x8769)[0x9003] = when.strftime("%Y:%m:%d %H:%M:%S")
    ex.get_ifd(0x8769)[0x9291] = f"{when.microsecond // 10000:02d}"
    im.save(path, quality=92, exif=ex.tobytes())


@pytest.fixture(scope="module")
def shoot(tmp_path_factory):
    """Two bursts of 3 frames (slight re-framing / exposure), and 3 unrelated photos, with EXIF times."""
    d = tmp_path_factory.mktemp("shoot")
    t = T0
    k = 0
    truth = []
    for scene in (0, 1, 2, 3, 4):
        base = _scene(scene)
        frames = 3 if scene in (0, 2) else 1
        for j in range(frames):
            im = base if j == 0 else ImageEnhance.Brightness(
                base.crop((4 * j, 3 * j, 192 - 2 * j, 144 - 2 * j)).resize((192, 144))).enhance(1 + 0.05 * j)
            k += 1
            _save(im, d / f"IMG_{k:04d}.JPG", t + timedelta(seconds=0.4 * j))
            truth.append(scene)
        t += timedelta(seconds=45)
    return d, truth


def _copy(shoot, tmp_path):
    import shutil

    d = tmp_path / "s"
    shutil.copytree(shoot[0], d)
    return d


def test_capture_time_with_subseconds(shoot):
    assert capture_time(shoot[0] / "IMG_0002.JPG") == T0 + timedelta(seconds=0.4)
    assert capture_time(shoot[0] / "missing.jpg") is None


def test_cli_dry_run_groups_and_reports(shoot, tmp_path, capsys):
    d = _copy(shoot, tmp_path)
    report, sheet = tmp_path / "r.json", tmp_path / "sheet.html"
    assert main(["cull", str(d), "-q", "--report", str(report), "--sheet", str(sheet)]) == 0
    out, err = capsys.readouterr()
    assert not list(d.glob("*.xmp"))                                # dry run: nothing written
    rep = json.loads(report.read_text())
    groups = sorted(sorted(Path(m["path"]).name for m in g["members"]) for g in rep["group_list"])
    assert ["IMG_0001.JPG", "IMG_0002.JPG", "IMG_0003.JPG"] in groups
    assert ["IMG_0005.JPG", "IMG_0006.JPG", "IMG_0007.JPG"] in groups
    assert rep["groups_of_2_or_more"] == 2 and rep["picks"] == 2 and rep["rejects"] == 4
    assert all(sum(m["pick"] for m in g["members"]) == 1 for g in rep["group_list"])
    assert "dry run" in err and "9 culled, 0 errors" in err and "keep" in out
    html = sheet.read_text()
    assert html.count("data:image/jpeg;base64,") == 6 and 'class="pick"' in html


def test_cli_apply_marks_keeps_the_persons_stars_and_can_be_undone(shoot, tmp_path, capsys):
    d = _copy(shoot, tmp_path)
    own = d / "IMG_0003.JPG.xmp"                                    # the person gave the 3rd frame 2 stars
    own.write_text('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-'
                   'syntax-ns#"><rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
                   'xmp:Rating="2"/></rdf:RDF></x:xmpmeta>')
    before = own.read_bytes()
    assert main(["cull", str(d), "-q", "--apply", "--format", "json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    g1 = next(g for g in rep["group_list"] if any(m["path"].endswith("IMG_0001.JPG") for m in g["members"]))
    assert g1["pick"].endswith("IMG_0003.JPG") and "your own 2" in g1["why"]
    pick = parse_packet(own.read_bytes())
    assert get_prop(pick, RATING) == "2" and get_prop(pick, LABEL) == "Green"   # their stars untouched
    for name in ("IMG_0001.JPG", "IMG_0002.JPG"):
        assert get_prop(parse_packet((d / f"{name}.xmp").read_bytes()), RATING) == "-1"
    assert not (d / "IMG_0004.JPG.xmp").exists()                    # alone: no mark
    assert main(["cull", str(d), "-q", "--apply"]) == 0
    assert "6 unchanged" in capsys.readouterr().err
    assert main(["rank", str(d), "--clear-predictions"]) == 0
    assert sorted(p.name for p in d.glob("*.xmp")) == ["IMG_0003.JPG.xmp"] and own.read_bytes() == \
        parse_packet(before).to_bytes()


def test_cli_png_sheet_and_bad_options(shoot, tmp_path, capsys):
    d = _copy(shoot, tmp_path)
    png = tmp_path / "sheet.png"
    assert main(["cull", str(d), "-q", "--sheet", str(png), "--reject", "none", "--pick", "rating:5"]) == 0
    assert Image.open(png).format == "PNG"
    capsys.readouterr()
    with pytest.raises(SystemExit) as bad:  # argparse's usage error, as for any bad option value
        main(["cull", str(d), "--pick", "label:pink"])
    assert bad.value.code == 2 and "--pick: colour label" in capsys.readouterr().err
    assert main(["cull", str(d), "--sheet", str(tmp_path / "nope" / "s.html")]) == 2
    assert main(["cull", str(d), "--sheet", str(tmp_path / "s.pdf")]) == 2
    (tmp_path / "empty").mkdir()
    assert main(["cull", str(tmp_path / "empty")]) == 1
    assert "nothing to cull" in capsys.readouterr().err


def test_cli_uses_a_quality_model_when_given(shoot, tmp_path, capsys):
    """A scoring-model file standing in for the photo-quality model: its scores enter the pick."""
    from piaa.models.giaa import GenericHead
    from piaa.models.scorer import make_model_state
    from piaa.state import save_state

    rng = np.random.default_rng(0)
    X = np.abs(rng.standard_normal((40, 3120)))
    head = GenericHead((1, 7, 7), hidden=(16,), epochs=3, components=8).fit(X, rng.dirichlet(np.ones(7), size=40))
    model = tmp_path / "quality-test.npz"
    save_state(model, make_model_state(head, "quality-test", "efficientnet_lite0", "multilevel", "random numbers"))
    d = _copy(shoot, tmp_path)
    assert main(["cull", str(d), "-q", "--format", "json", "--quality-model", str(model),
                 "--quality-weight", "2"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["quality"] == "quality-test" and rep["settings"]["quality_weight"] == 2.0
    members = [m for g in rep["group_list"] for m in g["members"]]
    assert all(m["quality"] is not None for m in members)
    assert main(["cull", str(d), "-q", "--quality-model", str(tmp_path / "missing.npz")]) != 0
