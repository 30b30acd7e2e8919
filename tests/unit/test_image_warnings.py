"""Pillow's warnings about a damaged photo become one warning in piaa's words naming the photo
(``warning: PATH: damaged EXIF metadata ignored``), never Pillow's raw ``file:line: UserWarning``."""
import io
import struct
import threading
import warnings

import numpy as np
import pytest
from PIL import Image

from piaa.io.decoder_warnings import ImageWarning
from piaa.io.images import load_image


def bad_exif_jpeg(path):
    """A JPEG whose EXIF IFD has an ImageDescription entry pointing past the end of the EXIF block."""
    ifd = struct.pack("<H", 1) + struct.pack("<HHII", 0x010E, 2, 400, 1000) + b"\0\0\0\0"
    exif = b"Exif\0\0" + b"II*\x00" + struct.pack("<I", 8) + ifd
    buf = io.BytesIO()
    Image.fromarray(np.full((40, 40, 3), 90, np.uint8)).save(buf, "JPEG", exif=exif)
    path.write_bytes(buf.getvalue())
    return path


def test_pillow_warning_becomes_one_image_warning_per_photo(tmp_path):
    a, b = bad_exif_jpeg(tmp_path / "a.jpg"), bad_exif_jpeg(tmp_path / "b.jpg")
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("default")
        for p in (a, b, a):
            assert load_image(p).size == (40, 40)
        load_image(b.read_bytes(), name=b)
    ours = [w for w in got if issubclass(w.category, ImageWarning)]
    assert [str(w.message) for w in ours[:2]] == [f"{a}: damaged EXIF metadata ignored",
                                                 f"{b}: damaged EXIF metadata ignored"]
    assert len(ours) >= 3  # the second file with the same damage is reported too (not deduplicated away)
    assert not [w for w in got if not issubclass(w.category, ImageWarning)]  # nothing raw from Pillow


def test_warnings_from_other_threads_are_not_swallowed(tmp_path):
    p = bad_exif_jpeg(tmp_path / "c.jpg")
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        t = threading.Thread(target=lambda: [load_image(p) for _ in range(20)])
        t.start()
        for _ in range(20):
            warnings.warn("unrelated", RuntimeWarning, stacklevel=1)
        t.join()
    assert sum(1 for w in got if w.category is RuntimeWarning) == 20


@pytest.fixture
def cli_model(tmp_path_factory):
    from test_distributed import LITE0_MULTILEVEL_DIM

    from piaa.models.giaa import GenericHead
    from piaa.models.scorer import make_model_state
    from piaa.state import save_state

    rng = np.random.default_rng(0)
    X = np.abs(rng.standard_normal((30, LITE0_MULTILEVEL_DIM)))
    head = GenericHead((1, 7, 7), hidden=(8,), epochs=2, components=4).fit(X, rng.dirichlet(np.ones(7), size=30))
    path = tmp_path_factory.mktemp("m") / "w-model.npz"
    save_state(path, make_model_state(head, "w-model", "efficientnet_lite0", "multilevel", "random numbers"))
    return str(path)


def test_score_cli_reports_damaged_metadata_in_piaas_words(tmp_path, cli_model, capsys):
    from piaa.cli.main import main

    p = bad_exif_jpeg(tmp_path / "d.jpg")
    assert main(["score", str(p), "--no-cache", "--model", cli_model]) == 0
    err = capsys.readouterr().err
    assert f"warning: {p}: damaged EXIF metadata ignored" in err
    assert "UserWarning" not in err and "TiffImagePlugin" not in err


def test_capture_time_reports_damaged_exif_in_piaas_words(tmp_path):
    from piaa.io.exif import capture_time

    p = bad_exif_jpeg(tmp_path / "e.jpg")
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("default")
        assert capture_time(p) is None
    assert [str(w.message) for w in got] == [f"{p}: damaged EXIF metadata ignored"]
