"""The face the faces tests look at: Grace Hopper's portrait that matplotlib ships as sample data (a main
dependency), so no image is copied into the repo."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image


@pytest.fixture(scope="module")
def portrait() -> np.ndarray:
    import matplotlib
    path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    return np.asarray(Image.open(path).convert("RGB"))
