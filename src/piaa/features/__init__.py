"""Feature extraction with an on-disk cache (features are what every model in piaa is trained on)."""
from piaa.features.cache import FeatureCache  # noqa: F401
from piaa.features.extractor import FeatureExtractor, FeatureResult, open_cache  # noqa: F401
