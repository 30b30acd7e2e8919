"""Personal workflow: learn a person's taste from their ratings or their photo manager's stars, keep it in a
profile store, rank their photos and write predicted stars back to XMP.

Modules (one job each):

- ``core`` — the profile operations once, for the CLI and ``piaa serve``: fit (registry), self-assessment and its
  plain words, scores on the scale, similar photos, the export document

- ``ratings_import`` — CSV ``image,rating`` or XMP stars -> rated images (with clear refusals)
- ``xmp`` / ``xmp_files`` / ``xmp_write`` — XMP packets (RDF/XML), where they live, safe writing of stars
- ``assess`` — k-fold self-assessment against the generic model
- ``store`` / ``exchange`` — SQLite profile store, JSON export/import
- ``profile`` — ``piaa.Profile``: create / load / score / rank / explain
- ``ranking`` — ranking records and score-quantile stars
"""
from piaa.profiles.profile import MethodUnavailable, Profile, available_methods, default_method  # noqa: F401
from piaa.profiles.ratings_import import MIN_RATINGS, ProfileInputError  # noqa: F401
from piaa.profiles.store import ProfileStore  # noqa: F401
