"""A person's stars, flags and labels both ways between piaa and XMP (piaa.profiles.xmp_person)."""
import numpy as np
from PIL import Image

from piaa.profiles.xmp_person import apply_person, plan_person, read_person

SIDE = """<?xml version="1.0" encoding="UTF-8"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/" {attrs}>
   <dc:subject><rdf:Bag><rdf:li>holiday</rdf:li></rdf:Bag></dc:subject>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""


def _photo(folder, name="p.jpg", xmp=None):
    p = folder / name
    Image.fromarray(np.full((8, 8, 3), 90, np.uint8)).save(p, **({"xmp": xmp.encode()} if xmp else {}))
    return p


def test_reads_the_persons_values_never_piaas_predictions(tmp_path):
    a = _photo(tmp_path, "a.jpg")
    (tmp_path / "a.jpg.xmp").write_text(SIDE.format(attrs='xmp:Rating="3" xmp:Label="Green"'))
    m = read_person(a)
    assert (m.stars, m.label, m.flag, m.source) == (3, "green", None, "sidecar")
    b = _photo(tmp_path, "b.jpg")
    (tmp_path / "b.jpg.xmp").write_text(SIDE.format(
        attrs='xmlns:piaa="urn:x-piaa:xmp:1.0/" xmp:Rating="5" piaa:PredictedRating="5"'))
    assert read_person(b).empty()                                  # piaa's own prediction is not the person's
    c = _photo(tmp_path, "c.jpg")
    (tmp_path / "c.jpg.xmp").write_text(SIDE.format(attrs='xmp:Rating="-1"'))
    assert read_person(c).flag == "reject" and read_person(c).stars is None
    assert read_person(_photo(tmp_path, "none.jpg")).empty()


def test_reads_embedded_xmp(tmp_path):
    xmp = SIDE.format(attrs='xmp:Rating="4" xmp:Label="Red"')
    p = _photo(tmp_path, "e.jpg", xmp=xmp)
    m = read_person(p)
    assert (m.stars, m.label, m.source) == (4, "red", "embedded")


def test_writes_stars_flag_label_and_reads_them_back(tmp_path):
    p = _photo(tmp_path)
    acts = plan_person([{"path": str(p), "stars": 4, "flag": "pick", "label": "blue"}])
    assert [a.action for a in acts] == ["create"]
    apply_person(acts)
    m = read_person(p)
    assert (m.stars, m.flag, m.label) == (4, "pick", "blue")
    assert [a.action for a in plan_person([{"path": str(p), "stars": 4, "flag": "pick", "label": "blue"}])] \
        == ["unchanged"]
    text = (tmp_path / "p.jpg.xmp").read_text()
    assert 'xmpDM:pick="1"' in text and 'digiKam:PickLabel="3"' in text


def test_replaces_a_prediction_keeps_another_tools_rating_and_the_rest(tmp_path):
    p = _photo(tmp_path)
    side = tmp_path / "p.jpg.xmp"
    side.write_text(SIDE.format(attrs='xmlns:piaa="urn:x-piaa:xmp:1.0/" xmp:Rating="5" piaa:PredictedRating="5"'))
    acts = apply_person(plan_person([{"path": str(p), "stars": 2}]))
    assert acts[0].action == "update"
    assert read_person(p).stars == 2 and "PredictedRating" not in side.read_text() and "holiday" in side.read_text()
    side.write_text(SIDE.format(attrs='xmp:Rating="3"'))              # set in another tool
    acts = plan_person([{"path": str(p), "stars": 5}])
    assert acts[0].action == "keep" and "3★" in acts[0].reason
    apply_person(acts)
    assert read_person(p).stars == 3
    apply_person(plan_person([{"path": str(p), "stars": 5}], overwrite=True))
    assert read_person(p).stars == 5


def test_a_reject_without_stars_is_written_as_rating_minus_one(tmp_path):
    p = _photo(tmp_path)
    apply_person(plan_person([{"path": str(p), "flag": "reject"}]))
    assert 'xmp:Rating="-1"' in (tmp_path / "p.jpg.xmp").read_text()
    assert read_person(p).flag == "reject"


def test_an_unreadable_sidecar_is_never_written(tmp_path):
    p = _photo(tmp_path)
    (tmp_path / "p.jpg.xmp").write_text("<not xml")
    acts = apply_person(plan_person([{"path": str(p), "stars": 3}]))
    assert acts[0].action == "error" and (tmp_path / "p.jpg.xmp").read_text() == "<not xml"
    assert read_person(p).error


def test_a_reject_with_stars_is_written_as_rejected_not_as_stars(tmp_path):
    """Stars beside a reject flag showed as 5★ in darktable and Lightroom: a reject is Rating -1, pick -1."""
    p = _photo(tmp_path)
    apply_person(plan_person([{"path": str(p), "stars": 5, "flag": "reject"}]))
    side = (tmp_path / "p.jpg.xmp").read_text()
    assert 'xmp:Rating="-1"' in side and 'xmpDM:pick="-1"' in side and 'Rating="5"' not in side
    m = read_person(p)
    assert (m.stars, m.flag) == (None, "reject")
    again = plan_person([{"path": str(p), "stars": 5, "flag": "reject"}])
    assert again[0].action == "unchanged"                                 # the plan agrees with what it wrote


def test_a_read_only_sidecar_is_never_written_even_with_overwrite(tmp_path):
    import os
    import stat

    from piaa.profiles.xmp_write import apply_writes, plan_writes

    p = _photo(tmp_path)
    side = tmp_path / "p.jpg.xmp"
    side.write_text(SIDE.format(attrs='xmp:Rating="3"'))
    os.chmod(side, 0o444)
    before = side.read_bytes()
    for overwrite in (False, True):
        plan = plan_person([{"path": str(p), "stars": 5}], overwrite=overwrite)
        assert plan[0].action == "read-only" and "3★" in plan[0].reason and str(tmp_path) not in plan[0].reason
        assert apply_person(plan)[0].action == "read-only"
        preds = plan_writes([{"path": str(p), "stars": 2, "score": 0.1}], overwrite=overwrite)
        assert preds[0].action == "read-only"
        assert apply_writes(preds, {})[0].action == "read-only"
    assert side.read_bytes() == before and stat.S_IMODE(side.stat().st_mode) == 0o444
    os.chmod(side, 0o644)                                                 # locked after the plan was made:
    plan = plan_person([{"path": str(p), "stars": 5}], overwrite=True)
    assert plan[0].action == "update"
    os.chmod(side, 0o444)
    assert apply_person(plan)[0].action == "read-only" and side.read_bytes() == before


def test_reasons_name_no_folder_and_no_command_line_option(tmp_path):
    from piaa.profiles.xmp_write import plan_writes

    p = _photo(tmp_path)
    (tmp_path / "p.jpg.xmp").write_text(SIDE.format(attrs='xmp:Rating="3"'))
    kept = plan_person([{"path": str(p), "stars": 5}], hint='"overwrite": true replaces it')[0]
    assert kept.action == "keep" and "--" not in kept.reason and str(tmp_path) not in kept.reason
    pred = plan_writes([{"path": str(p), "stars": 2, "score": 0.1}], option='"overwrite": true')[0]
    assert pred.action == "keep" and "--overwrite" not in pred.reason
    (tmp_path / "q.jpg").write_bytes(b"x")
    (tmp_path / "q.jpg.xmp").mkdir()                                      # a folder where the sidecar goes
    bad = apply_person(plan_person([{"path": str(tmp_path / "q.jpg"), "stars": 4}]))[0]
    assert bad.action == "error" and str(tmp_path) not in bad.reason
