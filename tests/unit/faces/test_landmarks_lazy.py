"""The 68-point landmark model (about 0.5 s to load) is read only once a face is found: a shoot without faces
never pays for it, while a missing model still fails on the first call."""
import numpy as np
import pytest

pytest.importorskip("dlib")


def test_no_face_no_landmark_model(monkeypatch):
    from piaa.faces import detect, models

    models.landmark_predictor.cache_clear()
    try:
        assert detect.detect_faces(np.full((300, 400, 3), 128, np.uint8)) == []
        assert models.landmark_predictor.cache_info().currsize == 0
        monkeypatch.setattr(models, "model_dir", lambda: models.Path("/nonexistent"))
        with pytest.raises(models.FaceModelMissingError):
            detect.detect_faces(np.zeros((64, 64, 3), np.uint8))
    finally:
        models.landmark_predictor.cache_clear()
