"""Cull v2: the checks at 100 % inside a group (eyes, focus, motion), their plain-word reasons, the switches,
and the interfaces that carry them (`piaa cull --report`, `piaa score --detail/--faces`)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import List, Optional

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import gaussian_filter

from piaa.profiles.cull import CullSettings, choose, cull, reasons_by_path, report
from piaa.profiles.cull_checks import (REASON_EYES, REASON_MOTION, REASON_SOFT, REASON_SOFT_FACE, REASON_TASTE,
                                       FrameFacts, judge, parse_checks)


def F(s=0.5, eyes=None, subject="in-focus region", smear=False):
    """A frame's facts: sharpness ``s`` in every direction, or (``smear``) ``s`` along one direction only."""
    dirs = np.full(4, s / 0.55 if smear else s)
    if smear:
        dirs[0] = s
    return FrameFacts(sharpness=s, subject=subject, motion_blur=0.2, eyes=eyes, directions=dirs)


def test_parse_checks():
    assert parse_checks("all") == {"eyes", "focus", "motion"} == parse_checks(None)
    assert parse_checks("none") == frozenset()
    assert parse_checks(" focus, Motion ") == {"focus", "motion"}
    with pytest.raises(ValueError, match="unknown check blink"):
        parse_checks("eyes,blink")
    with pytest.raises(ValueError):
        CullSettings(checks={"smile"})


def test_closed_eyes_lose_then_soft_then_shaken():
    facts = [F(0.60, eyes="closed", subject="face"), F(0.58, eyes="open", subject="face"),
             F(0.40, eyes="open", subject="face"), F(0.45, eyes="unsure", subject="face", smear=True)]
    v = judge(facts)
    assert v.passed == [1]
    assert v.reasons == {0: [REASON_EYES], 2: [REASON_SOFT_FACE], 3: [REASON_MOTION]}
    assert facts[3].smear > 0.4 and facts[2].smear == pytest.approx(0.0)      # even loss: defocus
    # the sharpest frame is the one with closed eyes: the best *open-eyed* frame sets the bar
    assert judge([F(0.55, eyes="closed"), F(0.5, eyes="open"), F(0.49, eyes="open")]).passed == [1, 2]
    # everyone blinked, or no frame shows the eyes open (unsure / not found): the eyes cannot choose
    assert judge([F(0.5, eyes="closed"), F(0.3, eyes="closed")]).passed == [0]
    assert judge([F(0.5, eyes="closed"), F(0.3, eyes="unsure"), F(0.3, eyes=None)]).passed == [0]
    # "open" read on a soft face is no evidence: the sharp keeper with (truly) closed eyes stays
    assert judge([F(0.5, eyes="closed"), F(0.2, eyes="open")]).passed == [0]
    # no face: "soft focus"
    assert judge([F(0.5), F(0.3)]).reasons == {1: [REASON_SOFT]}


def test_each_check_can_be_turned_off():
    facts = [F(0.60, eyes="closed"), F(0.55, eyes="open"), F(0.30, eyes="open"), F(0.54, eyes="open", smear=True)]
    assert judge(facts, frozenset()).passed == [0, 1, 2, 3]
    assert judge(facts, frozenset({"eyes"})).passed == [1, 2, 3]
    assert judge(facts, frozenset({"focus"})).passed == [0, 1, 3]
    assert judge(facts, frozenset({"motion"})).passed == [0, 1, 2]
    assert judge(facts, frozenset({"focus"}), soft_margin=0.0).passed == [0]


def test_choose_gives_every_other_member_its_reasons():
    facts = [F(0.6), F(0.3), F(0.58)]
    v = judge(facts)
    taste = np.array([0.0, 9.0, 1.0])                                # the soft frame is the most beautiful
    _, groups = choose([[0, 1, 2]], taste, None, [None] * 3, verdicts={0: v})
    g = groups[0]
    assert g.pick == 2 and g.reasons == {1: [REASON_SOFT], 0: [REASON_TASTE]}
    _, groups = choose([[0, 1, 2]], taste, None, [None, 3.0, None], verdicts={0: v})
    assert groups[0].pick == 1 and "your own 3" in groups[0].reason   # the person's stars still win
    assert groups[0].reasons[0] == ["you rated another frame higher"]


# ---- end to end, with a face detector keeping the piaa.faces contract ---------------------------------------
@dataclass
class FakeFace:
    box: tuple
    confidence: float = 0.99
    eyes: str = "open"
    eyes_open_probability: Optional[float] = 0.9
    eye_boxes: List[tuple] = field(default_factory=list)
    landmarks: Optional[np.ndarray] = None


def fake_detector(rgb):
    """A face where the synthetic frames put one (the middle of the frame); eyes closed when the frame's
    top-left pixel is white (the frames' texture stays within 25..225; cull hands the detector gray pixels)."""
    h, w = rgb.shape[:2]
    closed = rgb[0, 0].min() > 245
    box = (w // 3, h // 4, w // 3, h // 2)
    eye = (w // 3 + w // 12, h // 4 + h // 8, w // 10, h // 16)
    return [FakeFace(box, eyes="closed" if closed else "open", eye_boxes=[eye])]


def _texture(h, w, seed):
    rng = np.random.default_rng(seed)
    a = sum(gaussian_filter(rng.standard_normal((h, w, 1)), (s, s, 0)) * s for s in (0.7, 2, 6))
    a = a + np.array([0.0, 0.3, -0.3]) * a.std()
    return ((a - a.min()) / (a.max() - a.min()) * 200 + 25).astype(np.float32)


def _save(a, path, when):
    ex = Image.Exif()
    ex.get_ifd(0x8769)[0x9003] = when.strftime("%Y:%m:%d %H:%M:%S")
    Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).save(path, quality=95, exif=ex.tobytes())


@pytest.fixture(scope="module")
def burst(tmp_path_factory):
    """One burst of four 600 x 400 frames: sharp with closed eyes, sharp (the keeper), face soft, shaken."""
    d = tmp_path_factory.mktemp("burst")
    a = _texture(400, 600, 0)
    closed = a.copy()
    closed[:8, :8] = (255, 255, 255)
    face_soft = a.copy()
    face_soft[100:300, 200:400] = gaussian_filter(a, (2.5, 2.5, 0))[100:300, 200:400]
    from scipy.ndimage import uniform_filter1d

    shaken = uniform_filter1d(a, 11, axis=1)
    t = datetime(2026, 6, 1, 10, 0, 0)
    names = ["closed", "keeper", "face_soft", "shaken"]
    for k, (n, im) in enumerate(zip(names, (closed, a, face_soft, shaken))):
        _save(im, d / f"{k}_{n}.jpg", t + timedelta(seconds=k))
    return d, names


def test_cull_keeps_the_open_eyed_sharp_frame_and_says_why(burst):
    d, names = burst
    paths = sorted(str(p) for p in d.glob("*.jpg"))
    res = cull(paths, quality=None, detector=fake_detector)
    assert len(res.groups) == 1 and len(res.groups[0].members) == 4
    why = reasons_by_path(res)
    assert why[paths[1]]["pick"] and why[paths[1]]["reasons"] == []
    assert why[paths[0]]["reasons"] == [REASON_EYES]
    assert why[paths[2]]["reasons"] == [REASON_SOFT_FACE]
    assert why[paths[3]]["reasons"] in ([REASON_MOTION], [REASON_SOFT_FACE])
    rep = report(res)
    members = rep["group_list"][0]["members"]
    assert {"path", "pick", "taste", "quality", "combined", "taken", "your_rating", "error", "reasons"} <= set(members[0])
    assert rep["settings"]["checks"] == ["eyes", "focus", "motion"]
    assert members[0]["detail"]["subject"] == "face" and members[0]["detail"]["eyes"] == "open"
    off = cull(paths, quality=None, detector=fake_detector, settings=CullSettings(checks=frozenset()))
    assert all(r == [REASON_TASTE] for r in off.groups[0].reasons.values())


def test_cli_cull_report_has_reasons_and_refuses_a_bad_check(burst, tmp_path, capsys, monkeypatch):
    from piaa.cli.main import main
    from piaa.profiles import photo_detail

    monkeypatch.setattr(photo_detail, "default_detector", lambda turned=True: fake_detector)
    d, _ = burst
    rep_path, sheet = tmp_path / "r.json", tmp_path / "s.html"
    assert main(["cull", str(d), "-q", "--quality-model", "none", "--report", str(rep_path),
                 "--sheet", str(sheet)]) == 0
    out = capsys.readouterr().out
    assert "(eyes closed)" in out and "(soft focus on the face)" in out
    rep = json.loads(rep_path.read_text())
    assert sorted(tuple(m["reasons"]) for m in rep["group_list"][0]["members"])[0] == ()
    assert "eyes closed" in sheet.read_text()
    with pytest.raises(SystemExit) as bad:  # argparse's usage error, like a wrong choice
        main(["cull", str(d), "--checks", "eyes,blink"])
    assert bad.value.code == 2
    assert "unknown check blink" in capsys.readouterr().err


def test_cli_score_detail_and_faces_records(burst, capsys, monkeypatch):
    from piaa.cli.main import main
    from piaa.profiles import photo_detail

    monkeypatch.setattr(photo_detail, "default_detector", lambda turned=True: fake_detector)
    d, _ = burst
    p = str(sorted(d.glob("*.jpg"))[1])
    assert main(["score", p, "--faces", "--detail", "--format", "json", "-q"]) == 0
    rec = json.loads(capsys.readouterr().out)[0]
    for k in ("sharpness", "motion_blur", "noise", "clipping"):
        assert 0.0 <= rec[k] <= 1.0
    face = rec["faces"][0]
    assert face["box"] == [200, 100, 200, 200] and face["eyes"] == "open" and 0 < face["sharpness"] <= 1
    assert main(["score", p, "--faces", "--detail", "--format", "csv", "-q"]) == 0
    head, row = capsys.readouterr().out.strip().split("\n")
    assert head.endswith("sharpness,motion_blur,noise,clipping,faces,eyes,face_sharpness")
    assert row.split(",")[-3:-1] == ["1", "open"]
    assert main(["score", p, "--detail", "-q"]) == 0
    assert "motion_blur" in capsys.readouterr().out.split("\n")[0]
    assert main(["score", p, "--format", "json", "-q"]) == 0
    assert "sharpness" not in json.loads(capsys.readouterr().out)[0]   # only when asked


def test_plain_score_does_not_import_the_detail_pass():
    import subprocess
    import sys

    code = ("import sys; from piaa.cli.main import build_parser; build_parser(); "
            "print(any(m.startswith(('piaa.detail', 'piaa.faces', 'piaa.profiles.photo_detail', 'scipy')) "
            "for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "False", out.stderr


def test_the_services_burst_suggestion_carries_the_reasons():
    from piaa.profiles.bursts import suggest

    X = np.ones((3, 8))
    v = judge([F(0.6, eyes="open"), F(0.3), F(0.58, eyes="closed")])
    out = suggest(X, [None] * 3, np.array([0.0, 5.0, 1.0]), None, [None] * 3, [None] * 3, groups=[[0, 1, 2]],
                  verdicts={0: v})
    assert out[0].pick == 0 and out[0].reasons == [[], [REASON_SOFT], [REASON_EYES]]
    flagged = suggest(X, [None] * 3, np.array([0.0, 5.0, 1.0]), None, [None] * 3, [None, "pick", None],
                      groups=[[0, 1, 2]], verdicts={0: v})
    assert flagged[0].pick == 1 and flagged[0].reasons[1] == [] and flagged[0].reasons[0] == [
        "you flagged another frame as your pick"]


def test_score_faces_without_a_face_model_fails_in_one_line_before_scoring(burst, capsys, monkeypatch):
    from piaa.cli.main import main
    from piaa.profiles import photo_detail

    def missing(turned=True):
        raise photo_detail.FacesUnavailable("face detection is not available: install the faces extra")

    monkeypatch.setattr(photo_detail, "default_detector", missing)
    d, _ = burst
    assert main(["score", str(sorted(d.glob("*.jpg"))[0]), "--faces", "-q"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.strip() == "error: face detection is not available: install the faces extra"


def test_cull_without_a_face_model_goes_on_with_a_note(burst, monkeypatch):
    from piaa.profiles import photo_detail

    def missing(turned=True):
        raise photo_detail.FacesUnavailable("face detection is not available: no model")

    monkeypatch.setattr(photo_detail, "default_detector", missing)
    d, _ = burst
    paths = sorted(str(p) for p in d.glob("*.jpg"))
    res = cull(paths, quality=None)
    assert any("eyes are not checked" in n for n in res.notes)
    g = res.groups[0]
    assert all(f.eyes is None for f in g.facts.values())
    assert reasons_by_path(res)[paths[3]]["reasons"] in ([REASON_MOTION], [REASON_SOFT])


def test_cull_searches_turned_faces_only_when_asked(burst, monkeypatch, capsys):
    from piaa.cli.main import main
    from piaa.profiles import photo_detail

    asked = []

    def recording(turned=True):
        asked.append(turned)
        return fake_detector

    monkeypatch.setattr(photo_detail, "default_detector", recording)
    d, _ = burst
    paths = sorted(str(p) for p in d.glob("*.jpg"))
    cull(paths, quality=None)
    assert asked and not any(asked)                      # default: upright faces only (speed)
    asked.clear()
    assert main(["cull", str(d), "-q", "--quality-model", "none", "--turned-faces"]) == 0
    capsys.readouterr()
    assert asked and all(asked)


def test_the_detail_cache_keeps_each_detectors_faces_apart():
    from piaa.faces import detect_faces, detect_upright_faces
    from piaa.profiles.photo_detail import faces_key, is_default_detector, serialized

    assert faces_key(None, 640) == faces_key(detect_faces, 640) == "640"
    assert faces_key(detect_upright_faces, 640) == "640-upright"
    wrapped = serialized(detect_upright_faces)
    assert is_default_detector(wrapped) and faces_key(wrapped.inner, 640) == "640-upright"
    assert not is_default_detector(fake_detector)
