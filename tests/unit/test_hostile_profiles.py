"""Hostile profile and XMP inputs: control characters in names,
sidecars in UTF-16 / ISO-8859-1 / CRLF / absurdly deep, decompression bombs, profile files that are not
profiles, infinite ratings, piaa's own predicted stars, personal scores beyond the scale."""
from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from PIL import Image
from test_profiles_support import STANDIN, FakeScorer, make_photos

from piaa.cli.main import main
from piaa.profiles import generic as gen
from piaa.profiles.exchange import ProfileFileError, export_profile, import_profile
from piaa.profiles.profile import Profile, onto_scale
from piaa.profiles.ratings_import import ProfileInputError, ratings_from_csv, ratings_from_xmp
from piaa.profiles.store import ProfileStore, check_name
from piaa.profiles.xmp import XMPError, new_packet, parse_packet
from piaa.profiles.xmp_write import apply_writes, plan_writes

NS = ('xmlns:x="adobe:ns:meta/" xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
      'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/"')


def sidecar_text(title="café", rating=None, decl="UTF-8", newline="\n"):
    r = f' xmp:Rating="{rating}"' if rating is not None else ""
    lines = [f'<?xml version="1.0" encoding="{decl}"?>', f'<x:xmpmeta {NS}>', " <rdf:RDF>",
             f'  <rdf:Description rdf:about=""{r}>', f"   <dc:title>{title}</dc:title>", "  </rdf:Description>",
             " </rdf:RDF>", "</x:xmpmeta>", ""]
    return newline.join(lines)


@pytest.fixture
def store(tmp_path):
    return ProfileStore(tmp_path / "p.sqlite")


@pytest.fixture
def anna(tmp_path, store):
    paths, ratings = make_photos(tmp_path / "shoot", 15, seed=5)
    prof = Profile.create("anna", ratings=dict(zip(map(str, paths), ratings)), method=STANDIN, store=store,
                          scorer=FakeScorer())
    return prof, paths


# ---- defect 1: control characters in names --------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["bad\x01name", "esc\x1b[31m", "new\nline", "zero\u200bwidth", "x" * 101, "a/b", ""])
def test_profile_names_must_be_printable(bad):
    with pytest.raises(ValueError, match="invalid profile name"):
        check_name(bad)


def test_import_with_control_character_name_is_refused(tmp_path, anna, store, capsys):
    out = tmp_path / "anna.json"
    assert main(["profile", "export", "anna", "--store", str(store.path), "-o", str(out)]) == 0
    assert main(["profile", "import", str(out), "--name", "bad\x01name", "--store", str(store.path)]) == 1
    assert "invalid profile name" in capsys.readouterr().err
    doc = json.loads(out.read_text())
    doc["name"] = "evil\x07"
    out.write_text(json.dumps(doc))
    assert main(["profile", "import", str(out), "--store", str(store.path)]) == 1
    assert store.names() == ["anna"]


def test_create_with_control_character_name_fails_before_the_work(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(gen, "load_generic", lambda name=None: pytest.fail("work started"))
    paths, ratings = make_photos(tmp_path / "shoot", 12)
    csv = tmp_path / "r.csv"
    csv.write_text("image,rating\n" + "".join(f"{p.name},{r:g}\n" for p, r in zip(paths, ratings)))
    assert main(["profile", "create", "bad\x01name", "--ratings", str(csv), "--images", str(paths[0].parent),
                 "--store", str(tmp_path / "s.sqlite")]) == 1
    assert "invalid profile name" in capsys.readouterr().err


def test_whatever_goes_into_xml_stays_well_formed(tmp_path):
    pkt = new_packet()
    pkt.set_predicted(4, 5.5, "bad\x01name\x1f<&>")
    again = parse_packet(pkt.to_bytes())
    assert again.rating() == 4 and again.is_predicted()


# ---- defect 5: sidecars are rewritten in their own encoding and line endings ------------------------------------
def _write_one(tmp_path, data: bytes, name="p.jpg"):
    img = tmp_path / name
    Image.new("RGB", (8, 8)).save(img)
    side = tmp_path / (name + ".xmp")
    side.write_bytes(data)
    actions = apply_writes(plan_writes([{"path": str(img), "stars": 4, "score": 5.0}]), {str(img): 5.0}, "anna")
    return side, actions


@pytest.mark.parametrize("codec,decl,bom", [("utf-16-le", "UTF-16", b"\xff\xfe"), ("utf-16-be", "UTF-16", b"\xfe\xff"),
                                            ("latin-1", "ISO-8859-1", b""), ("utf-8", "UTF-8", b"")])
def test_sidecar_rewritten_in_its_declared_encoding(tmp_path, codec, decl, bom):
    side, actions = _write_one(tmp_path, bom + sidecar_text(decl=decl).encode(codec))
    assert [a.action for a in actions] == ["update"]
    data = side.read_bytes()
    assert data.startswith(bom + '<?xml version="1.0" encoding="'.encode(codec))
    text = data[len(bom):].decode(codec)
    assert "<dc:title>café</dc:title>" in text and "cafÃ©" not in text
    pkt = parse_packet(data)
    assert pkt.rating() == 4 and pkt.is_predicted()
    import xml.dom.minidom

    xml.dom.minidom.parseString(data)  # any standard parser reads it


def test_profile_name_outside_latin1_becomes_a_character_reference(tmp_path):
    img = tmp_path / "p.jpg"
    Image.new("RGB", (8, 8)).save(img)
    (tmp_path / "p.jpg.xmp").write_bytes(sidecar_text(decl="ISO-8859-1").encode("latin-1"))
    apply_writes(plan_writes([{"path": str(img), "stars": 3, "score": 4.0}]), {str(img): 4.0}, "Ānna 写真")
    data = (tmp_path / "p.jpg.xmp").read_bytes()
    assert b"&#256;nna &#20889;&#30495;" in data and "café".encode("latin-1") in data  # refs outside latin-1
    pkt = parse_packet(data)
    assert pkt.rating() == 3 and pkt.descriptions()[0].get("{urn:x-piaa:xmp:1.0/}Profile") == "Ānna 写真"


def test_crlf_sidecar_keeps_crlf_only(tmp_path):
    side, _ = _write_one(tmp_path, sidecar_text(newline="\r\n").encode())
    data = side.read_bytes()
    assert data.count(b"\r\n") == data.count(b"\n") > 5
    assert parse_packet(data).rating() == 4


def test_absurdly_deep_sidecar_is_skipped_with_a_note_and_the_rest_are_written(tmp_path):
    deep = "<x:a>" * 3000 + "</x:a>" * 3000
    bad = sidecar_text().replace("<dc:title>café</dc:title>", f'<dc:title xmlns:x="urn:x">{deep}</dc:title>')
    Image.new("RGB", (8, 8)).save(tmp_path / "a.jpg")
    Image.new("RGB", (8, 8)).save(tmp_path / "b.jpg")
    (tmp_path / "a.jpg.xmp").write_text(bad)
    before = (tmp_path / "a.jpg.xmp").read_bytes()
    recs = [{"path": str(tmp_path / n), "stars": 3, "score": 4.0} for n in ("a.jpg", "b.jpg")]
    actions = apply_writes(plan_writes(recs), {r["path"]: 4.0 for r in recs}, "anna")
    assert [a.action for a in actions] == ["error", "create"]
    assert "nested too deeply" in actions[0].reason
    assert (tmp_path / "a.jpg.xmp").read_bytes() == before
    assert parse_packet((tmp_path / "b.jpg.xmp").read_bytes()).rating() == 3
    with pytest.raises(XMPError, match="nested too deeply"):
        parse_packet(bad.encode())


# ---- defect 6: a decompression bomb in a --from-xmp folder ------------------------------------------------------
def _bomb(path):
    """A PNG whose header claims 200 megapixels (above Pillow's hard limit), a few kB on disk."""
    Image.new("1", (20000, 10000)).save(path, optimize=True)


def _rated_folder(folder, n=12, seed=0):
    paths, ratings = make_photos(folder, n, seed=seed)
    for p, r in zip(paths, ratings):
        (p.parent / (p.name + ".xmp")).write_text(sidecar_text(rating=int(np.clip(round(r * 5 / 7), 1, 5))))
    return paths


def test_decompression_bomb_in_from_xmp_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(gen, "load_generic", lambda name=None: FakeScorer())
    d = tmp_path / "shoot"
    _rated_folder(d)
    _bomb(d / "bomb.png")
    (d / "bomb.png.xmp").write_text(sidecar_text(rating=5))
    _bomb(d / "unrated_bomb.png")  # no sidecar: its embedded XMP is looked for (headers only)
    rated = ratings_from_xmp(d)
    assert len(rated) == 13 and "1 unrated photo(s) skipped" in rated.notes[0]
    assert main(["profile", "create", "anna", "--from-xmp", str(d), "--method", STANDIN, "--no-assess",
                 "--store", str(tmp_path / "s.sqlite")]) == 0
    err = capsys.readouterr().err
    assert "bomb.png" in err and "left out" in err  # (the real decoder says "image too large")


# ---- defect 8: profile import validates the whole document ------------------------------------------------------
def _bad_docs(doc):
    def edit(fn):
        d = copy.deepcopy(doc)
        fn(d)
        return d

    arrays = list(doc["state"]["arrays"])
    return {
        "nan rating": (edit(lambda d: d["ratings"][0].update(score=float("nan"))), "finite"),
        "ratings: 5": (edit(lambda d: d.update(ratings=5)), "ratings"),
        "object name": (edit(lambda d: d.update(name={"a": 1})), "name"),
        "object image": (edit(lambda d: d["ratings"][0].update(image={"x": 1})), "image"),
        "bool score": (edit(lambda d: d["ratings"][0].update(score=True)), "number"),
        "scale abc": (edit(lambda d: d["meta"].update(scale="abc")), "scale"),
        "scale reversed": (edit(lambda d: d["meta"].update(scale=[7, 1])), "scale"),
        "missing array": (edit(lambda d: d["state"]["arrays"].pop(arrays[0])), "does not load"),
        "rating off scale": (edit(lambda d: d["ratings"][0].update(score=99)), "outside"),
        "array lies about size": (edit(lambda d: d["state"]["arrays"][arrays[0]].update(shape=[10 ** 6])), "bytes"),
        "no format": (edit(lambda d: d.pop("format")), "not a piaa profile"),
    }


def test_import_refuses_every_malformed_document(anna, store, tmp_path):
    doc = export_profile(store, "anna")
    for what, (bad, why) in _bad_docs(doc).items():
        with pytest.raises(ProfileFileError, match=why):
            import_profile(store, json.loads(json.dumps(bad)), name="copy")
        assert store.names() == ["anna"], what
    assert import_profile(store, doc, name="copy") == "copy"  # the good one still imports
    copy_prof = Profile.load("copy", store=store, scorer=FakeScorer())
    assert np.isfinite(copy_prof.score(anna[1][:3])).all()


def test_import_cli_depth_and_size_caps(tmp_path, store, capsys, monkeypatch):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 200_000 + "]" * 200_000)
    assert main(["profile", "import", str(deep), "--store", str(store.path)]) == 1
    assert "nested too deeply" in capsys.readouterr().err
    nested = tmp_path / "nested.json"
    nested.write_text('{"format": "piaa-profile", "meta": ' + "[" * 100 + "]" * 100 + "}")
    assert main(["profile", "import", str(nested), "--store", str(store.path)]) == 1
    assert "nested too deeply" in capsys.readouterr().err
    import piaa.profiles.exchange as ex

    monkeypatch.setattr(ex, "MAX_PROFILE_BYTES", 1000)
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"format": "piaa-profile", "pad": "x" * 5000}))
    assert main(["profile", "import", str(big), "--store", str(store.path)]) == 1
    assert "too large" in capsys.readouterr().err
    for text, why in (("{not json", "not JSON"), ("\xff\xfe", "not JSON")):
        (tmp_path / "x.json").write_text(text)
        assert main(["profile", "import", str(tmp_path / "x.json"), "--store", str(store.path)]) == 1
        assert why in capsys.readouterr().err
    assert store.names() == []


# ---- defect 9: infinite ratings, -0.5 in XMP -------------------------------------------------------------------
@pytest.mark.parametrize("value", ["inf", "-inf", "1e400", "Infinity"])
def test_infinite_rating_in_csv_is_a_clear_error(tmp_path, value, capsys):
    paths, ratings = make_photos(tmp_path / "shoot", 11)
    csv = tmp_path / "r.csv"
    rows = [f"{p.name},{r:g}" for p, r in zip(paths[:10], ratings)] + [f"{paths[10].name},{value}"]
    csv.write_text("image,rating\n" + "\n".join(rows) + "\n")
    with pytest.raises(ProfileInputError, match="not a finite number"):
        ratings_from_csv(csv)
    assert main(["profile", "create", "x", "--ratings", str(csv), "--store", str(tmp_path / "s.sqlite")]) == 1
    assert "not a finite number" in capsys.readouterr().err
    assert main(["profile", "create", "x", "--ratings", str(csv), "--scale", "1", "inf",
                 "--store", str(tmp_path / "s.sqlite")]) == 1
    assert "finite" in capsys.readouterr().err


def test_minus_half_in_xmp_is_not_rejected(tmp_path):
    for v, expect in (("-1", -1.0), ("0", 0.0), ("3", 3.0)):
        assert parse_packet(sidecar_text(rating=v).encode()).rating() == expect
    for v in ("-0.5", "-0.01", "nan", "inf", "6"):
        with pytest.raises(XMPError):
            parse_packet(sidecar_text(rating=v).encode()).rating()
    d = tmp_path / "shoot"
    paths = _rated_folder(d)
    (d / (paths[0].name + ".xmp")).write_text(sidecar_text(rating="-0.5"))
    rated = ratings_from_xmp(d)
    assert len(rated) == 11 and not any("rejected photo(s)" in n for n in rated.notes)
    assert any("-0.5" in n for n in rated.notes)


# ---- defect 12: never learn from piaa's own predicted stars ------------------------------------------------------
def test_predicted_stars_are_never_learned(tmp_path, store, capsys, monkeypatch):
    monkeypatch.setattr(gen, "load_generic", lambda name=None: FakeScorer())
    d = tmp_path / "shoot"
    _rated_folder(d, 12)
    more, _ = make_photos(tmp_path / "more", 8, seed=9)
    for p in more:  # unrated photos in the same folder
        p.rename(d / ("new_" + p.name))
    assert main(["rank", str(d), "--write-xmp"]) == 0  # predicted stars for the 8 unrated photos only
    assert "8 create" in capsys.readouterr().err
    rated = ratings_from_xmp(d)
    assert len(rated) == 12 and all("new_" not in p.name for p in rated.paths)
    assert any("8 photo(s) carry stars piaa predicted" in n for n in rated.notes)
    # a prediction the person then changed is theirs
    side = d / ("new_" + more[0].name + ".xmp")
    side.write_text(_changed_rating(side.read_text()))
    rated = ratings_from_xmp(d)
    assert len(rated) == 13 and any("7 photo(s) carry stars piaa predicted" in n for n in rated.notes)


def _changed_rating(text):
    import re

    pkt = parse_packet(text.encode())
    new = 1 if pkt.rating() != 1 else 2
    return re.sub(r'xmp:Rating="\d"', f'xmp:Rating="{new}"', text)


# ---- defect 13: personal scores stay on the person's scale -------------------------------------------------------
def test_onto_scale_keeps_order_and_range():
    x = np.array([-50.0, -0.44, 0.9, 1.0, 1.5, 4.0, 6.0, 7.0, 8.4, 1e6, np.nan])
    y = onto_scale(x, (1.0, 7.0))
    ok = np.isfinite(y)
    assert (y[ok] >= 1.0).all() and (y[ok] <= 7.0).all()
    assert np.all(np.diff(y[:-2]) > 0)  # strictly increasing where float resolution allows
    assert y[5] == 4.0 and y[6] == 6.0  # the middle of the scale (1.6..6.4 on 1-7) is left alone  # the middle of the scale is left alone
    assert np.isnan(y[-1])


def test_profile_scores_and_stars_within_the_scale(anna, tmp_path, capsys):
    prof, paths = anna
    prof.estimator.coef_ = prof.estimator.coef_ * 40  # a personalizer whose correction overshoots a lot
    scores = prof.score(paths)
    lo, hi = prof.scale
    assert np.isfinite(scores).all() and (scores >= lo).all() and (scores <= hi).all()
    from test_profiles_support import colour_features

    F = colour_features([str(p) for p in paths])
    unclipped = np.c_[F, np.ones(len(F))] @ prof.estimator.coef_
    assert (unclipped.max() > 7 or unclipped.min() < 1)  # it really overshoots
    from piaa.metrics import rankdata

    assert np.array_equal(rankdata(scores), rankdata(unclipped))  # the order is the personalizer's
    recs = prof.rank(paths)
    assert all(lo <= r["score"] <= hi and 1 <= r["stars"] <= 5 for r in recs)
